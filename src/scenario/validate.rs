//! From raw TOML to a validated [`Scenario`]: defaults (Apache Kafka's),
//! cross-field checks, and the consumer timeline played through once so
//! that impossible sequences are caught before anything runs.

use super::error::{Diagnostic, ScenarioError, diagnostic_at};
use super::overrides::{self, Origin, Overridden};
use super::raw::*;
use super::*;
use crate::assign::{AssignorName, SIMULATED_ASSIGNORS};
use crate::coordinator::MigrationPolicy;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use toml::Spanned;

#[path = "chaos_config.rs"]
mod chaos_config;
#[path = "cluster_timeline.rs"]
mod cluster_timeline;

/// How long after a network cut heals a client may still wait for an
/// answer the cut dropped, plus 2 s to act on it: request.timeout.ms
/// (30 s), or for a classic JoinGroup the rebalance timeout + 5 s
/// (AbstractCoordinator.sendJoinGroupRequest: JOIN_GROUP_TIMEOUT_LAPSE);
/// no heartbeat goes out meanwhile (the heartbeat thread waits while the
/// member has not joined), so nothing notices sooner.
fn lost_answer_allowance(group: &GroupConfig, classic_members: bool) -> Duration {
    let request = Duration::from_secs(30);
    let join = group.rebalance_timeout + Duration::from_secs(5);
    let wait = if classic_members {
        request.max(join)
    } else {
        request
    };
    wait + Duration::from_secs(2)
}

/// `[[variants]]`: unique, valid names; each `set` key a dotted field path
/// and its value what `--set` takes (its TOML text).
fn build_variants(
    rep: &Reporter<'_>,
    raw: Vec<Spanned<RawVariant>>,
) -> Result<Vec<VariantSpec>, ScenarioError> {
    let mut out: Vec<VariantSpec> = Vec::new();
    for v in raw {
        let v = v.into_inner();
        check_name(rep, &v.name, "variant name")?;
        if out.iter().any(|o| &o.name == v.name.get_ref()) {
            return Err(rep.spanned(
                &v.name,
                format!(
                    "a second variant is named \"{}\"; give each its own name",
                    v.name.get_ref()
                ),
            ));
        }
        let mut overrides = Vec::new();
        let mut entries: Vec<(String, &toml::Value)> = Vec::new();
        flatten_set("", &v.set, &mut entries);
        for (key, value) in entries {
            overrides.push(format!("{key}={value}"));
        }
        out.push(VariantSpec {
            name: v.name.into_inner(),
            overrides,
        });
    }
    Ok(out)
}

/// `set = { group = { assignors = ["range"] } }` and
/// `set = { "group.assignors" = ["range"] }` alike: dotted keys to values.
fn flatten_set<'a>(prefix: &str, table: &'a toml::Table, out: &mut Vec<(String, &'a toml::Value)>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten_set(&key, t, out),
            v => out.push((key, v)),
        }
    }
}

/// Reports errors against the original file or the `--set` argument.
struct Reporter<'a> {
    file: &'a str,
    original: &'a str,
    edited: Overridden,
}

impl Reporter<'_> {
    fn at(&self, span: Option<Range<usize>>, message: impl Into<String>) -> ScenarioError {
        let message = message.into();
        let diag = match span {
            Some(span) => match self.edited.origin(span.start) {
                Origin::File(start) => {
                    let field = super::error::field_at(&self.edited.text, span.start);
                    diagnostic_at(
                        self.file,
                        self.original,
                        Some(start..start + span.len()),
                        field,
                        message,
                    )
                }
                Origin::Override(arg) => Diagnostic {
                    from_override: Some(arg.clone()),
                    ..diagnostic_at(
                        self.file,
                        "",
                        None,
                        Some(arg.split('=').next().unwrap_or_default().to_string()),
                        message,
                    )
                },
            },
            None => diagnostic_at(self.file, self.original, None, None, message),
        };
        ScenarioError::Invalid(Box::new(diag))
    }

    /// True when the text at `span` came from a `--set` argument.
    fn is_override(&self, span: Range<usize>) -> bool {
        matches!(self.edited.origin(span.start), Origin::Override(_))
    }

    fn spanned<T>(&self, s: &Spanned<T>, message: impl Into<String>) -> ScenarioError {
        self.at(Some(s.span()), message)
    }
}

pub(super) fn load(
    text: &str,
    file: &str,
    default_name: &str,
    overrides: &[String],
) -> Result<Scenario, ScenarioError> {
    // Syntax errors in the file come first, located in the file itself.
    if let Err(e) = toml::de::DeTable::parse(text) {
        let d = diagnostic_at(file, text, e.span(), None, e.message().to_string());
        return Err(ScenarioError::Invalid(Box::new(d)));
    }
    let edited = overrides::apply(text, file, overrides).map_err(ScenarioError::Invalid)?;
    let rep = Reporter {
        file,
        original: text,
        edited,
    };
    let raw: RawScenario =
        toml::from_str(&rep.edited.text).map_err(|e| rep.at(e.span(), e.message().to_string()))?;
    let mut scenario = build(&rep, raw, &sanitize_name(default_name))?;
    scenario.source = file.to_string();
    scenario.overrides = overrides.to_vec();
    scenario.text = rep.edited.text.clone();
    // The located checks above cover every rule; this is the same guard
    // the library applies to scenarios built in code.
    scenario.validate()?;
    Ok(scenario)
}

/// Parses scenario text with drawn `[[timeline]]` entries appended (see
/// [`Scenario::draw_chaos`]): its `[chaos]` is ignored, so the result is
/// the scenario the same text without `[chaos]` makes.
pub(super) fn load_drawn(text: &str, file: &str, name: &str) -> Result<Scenario, ScenarioError> {
    let rep = Reporter {
        file,
        original: text,
        edited: overrides::apply(text, file, &[]).map_err(ScenarioError::Invalid)?,
    };
    let mut raw: RawScenario =
        toml::from_str(text).map_err(|e| rep.at(e.span(), e.message().to_string()))?;
    raw.chaos = None;
    let mut scenario = build(&rep, raw, &sanitize_name(name))?;
    scenario.source = file.to_string();
    scenario.validate()?;
    Ok(scenario)
}

fn one_of<T: Copy>(
    rep: &Reporter<'_>,
    value: &Spanned<String>,
    choices: &[(&str, T)],
    extra: &str,
) -> Result<T, ScenarioError> {
    choices
        .iter()
        .find(|(name, _)| *name == value.get_ref().as_str())
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<String> = choices.iter().map(|(n, _)| format!("\"{n}\"")).collect();
            rep.spanned(
                value,
                format!(
                    "\"{}\" is not allowed; expected one of {}{extra}",
                    value.get_ref(),
                    names.join(", ")
                ),
            )
        })
}

/// Kafka's rule for topic names and `group.instance.id`
/// (`Topic.validate`, `JoinGroupRequest.validateGroupInstanceId`): 1 to 249
/// of `a-z A-Z 0-9 . _ -`, not `.` or `..`. Names of consumers and
/// scenarios (used in paths) follow it too.
pub(super) fn is_valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 249
        && n != "."
        && n != ".."
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A default scenario name made from a file name: every character outside
/// `a-z A-Z 0-9 . _ -` becomes `_`, so "my run+1 (ü).toml" runs as
/// `my_run_1__ü_` → `my_run_1____`.
pub(super) fn sanitize_name(stem: &str) -> String {
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(249)
        .collect();
    if name.is_empty() || name == "." || name == ".." {
        name = "scenario".into();
    }
    name
}

/// Kafka's internal topics (`Topic.INTERNAL_TOPICS` and the share-group
/// state topic): a group cannot consume them as ordinary topics.
const INTERNAL_TOPICS: [&str; 3] = [
    "__consumer_offsets",
    "__transaction_state",
    "__share_group_state",
];

fn check_rack(rep: &Reporter<'_>, rack: &Spanned<String>) -> Result<(), ScenarioError> {
    if rack.get_ref().trim().is_empty() {
        return Err(rep.spanned(
            rack,
            "an empty rack name; Kafka reads an empty client.rack or broker.rack as no rack at all, so leave the field out instead",
        ));
    }
    Ok(())
}

fn check_name(rep: &Reporter<'_>, name: &Spanned<String>, what: &str) -> Result<(), ScenarioError> {
    let n = name.get_ref();
    if is_valid_name(n) {
        Ok(())
    } else {
        Err(rep.spanned(
            name,
            format!(
                "\"{n}\" is not a valid {what}; use 1 to 249 of the characters a-z A-Z 0-9 . _ -"
            ),
        ))
    }
}

/// Why a `fetch_quantum` of `q` cannot be used in a run of `duration`:
/// consumers fetch what was visible at the last multiple of the quantum,
/// and before the first one nothing is.
pub(super) fn quantum_too_long(q: Duration, duration: Duration) -> String {
    format!(
        "{q} is not shorter than the run (scenario.duration = {duration}): consumers fetch \
         the log as it was at the last multiple of the quantum, so no fetch would return \
         a record; use a quantum well below the effects you look at, such as \"100ms\""
    )
}

fn build(
    rep: &Reporter<'_>,
    raw: RawScenario,
    default_name: &str,
) -> Result<Scenario, ScenarioError> {
    let meta = raw.scenario;
    let name = meta.name.unwrap_or_else(|| default_name.to_string());
    check_name(rep, &Spanned::new(0..0, name.clone()), "scenario name")
        .map_err(|_| rep.at(None, format!("scenario.name: \"{name}\" is not a valid name; use the characters a-z A-Z 0-9 . _ -")))?;
    let duration = meta
        .duration
        .as_ref()
        .map_or(Duration::from_secs(600), |d| d.get_ref().0);
    let sample_interval = meta
        .sample_interval
        .as_ref()
        .map_or(Duration::from_secs(1), |d| d.get_ref().0);
    let fetch_quantum = meta.fetch_quantum.as_ref().and_then(|q| q.get_ref().0);
    if let (Some(q), Some(spanned)) = (fetch_quantum, &meta.fetch_quantum) {
        if q >= duration {
            return Err(rep.spanned(spanned, quantum_too_long(q, duration)));
        }
    }
    use crate::limits::MAX_SAMPLES;
    if duration.micros() / sample_interval.micros() > MAX_SAMPLES {
        let message = format!(
            "{sample_interval} over {duration} would write more than {MAX_SAMPLES} rows; use a longer interval"
        );
        return Err(match (&meta.sample_interval, &meta.duration) {
            (Some(spanned), _) => rep.spanned(spanned, message),
            // The default 1 s: the duration is what is too long.
            (None, Some(spanned)) => rep.spanned(
                spanned,
                format!("at the default sample_interval, {message}"),
            ),
            (None, None) => rep.at(None, format!("scenario.sample_interval: {message}")),
        });
    }

    let mut raw_cluster = raw.cluster;
    let raw_links = std::mem::take(&mut raw_cluster.links);
    let cluster = build_cluster(rep, raw_cluster)?;
    let topics = build_topics(rep, raw.topics, cluster.brokers)?;
    let group = build_group(rep, raw.group, &cluster, &topics)?;
    let start_jitter = raw
        .consumers
        .start_jitter
        .map_or(group.heartbeat_interval, |d| d.0);
    let (consumers, defaults) = build_consumers(rep, raw.consumers, &group)?;
    let known_topics: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
    let (cluster_raw, consumer_raw): (Vec<_>, Vec<_>) = raw
        .timeline
        .into_iter()
        .partition(|e| cluster_timeline::is_cluster_event(e.get_ref()));
    let (consumers, timeline) = build_timeline(
        rep,
        consumer_raw,
        consumers,
        &defaults,
        duration,
        &known_topics,
    )?;
    let cluster_timeline = cluster_timeline::build(
        rep,
        cluster_raw,
        cluster.brokers,
        &consumers,
        &topics,
        duration,
    )?;
    let links = raw_links
        .iter()
        .map(|l| {
            let l = l.get_ref();
            let consumer = match cluster_timeline::node(rep, &l.from, &consumers, cluster.brokers)? {
                Node::Consumer(c) => c,
                _ => {
                    return Err(rep.spanned(
                        &l.from,
                        "a link's `from` is a consumer (consumers talk to brokers; links between brokers are not modelled)",
                    ));
                }
            };
            let broker = match &l.to {
                None => None,
                Some(to) => match cluster_timeline::node(rep, to, &consumers, cluster.brokers)? {
                    Node::Broker(b) => Some(b),
                    _ => {
                        return Err(rep.spanned(to, "a link's `to` is a broker, \"broker-0\" to the last"));
                    }
                },
            };
            Ok(LinkLatency {
                consumer,
                broker,
                latency: parse_dist(rep, &l.latency)?,
            })
        })
        .collect::<Result<Vec<_>, ScenarioError>>()?;
    let variants = build_variants(rep, raw.variants)?;
    if consumers.is_empty() {
        return Err(rep.at(
            None,
            "no consumers: set [consumers] count, add [[consumers.named]] entries, or join consumers in the [[timeline]]",
        ));
    }
    let consumer_protocol = group.protocol == GroupProtocol::Consumer
        || consumers
            .iter()
            .any(|c| c.protocol == GroupProtocol::Consumer)
        || timeline
            .iter()
            .any(|e| e.protocol == Some(GroupProtocol::Consumer));
    let convergence_bound = meta.convergence_bound.map_or_else(
        || {
            let classic = group.session_timeout
                + group.rebalance_timeout
                + group.rebalance_timeout
                + group.initial_rebalance_delay
                + group.heartbeat_interval
                + group.heartbeat_interval
                + Duration::from_secs(1);
            // KIP-848: a dead member is noticed after the broker's session
            // timeout, one that does not revoke after its rebalance
            // timeout; each handover waits up to two heartbeats and one
            // assignment interval.
            let consumer = group.consumer_session_timeout
                + group.rebalance_timeout
                + group.consumer_heartbeat_interval
                + group.consumer_heartbeat_interval
                + group.consumer_assignment_interval
                + Duration::from_secs(1);
            let mut bound = if consumer_protocol {
                classic.max(consumer)
            } else {
                classic
            };
            let cluster_faults =
                |f: fn(&ClusterAction) -> bool| cluster_timeline.iter().any(|e| f(&e.action));
            // A classic leader notices added partitions at its next
            // metadata refresh (metadata.max.age.ms).
            let classic_members = consumers
                .iter()
                .any(|c| c.protocol == GroupProtocol::Classic)
                || timeline
                    .iter()
                    .any(|e| e.protocol == Some(GroupProtocol::Classic));
            if classic_members
                && cluster_faults(|a| matches!(a, ClusterAction::AddPartitions { .. }))
            {
                bound = bound + crate::cluster::METADATA_MAX_AGE;
            }
            // A coordinator failover adds the lookup's backoff (up to
            // retry.backoff.max.ms) and the load; a request dropped just
            // before a heal is noticed after its timeout.
            if cluster_faults(|a| a.is_broker_fault()) {
                bound = bound + Duration::from_secs(2);
            }
            if cluster_faults(|a| matches!(a, ClusterAction::NetworkPartition { .. })) {
                bound = bound + lost_answer_allowance(&group, classic_members);
            }
            bound
        },
        |d| d.0,
    );
    let classic_members = consumers
        .iter()
        .any(|c| c.protocol == GroupProtocol::Classic);
    let chaos = match raw.chaos {
        None => None,
        Some(c) => Some(chaos_config::build(
            rep,
            c,
            chaos_config::Quiet {
                duration,
                bound: convergence_bound,
                bound_is_default: meta.convergence_bound.is_none(),
                classic_members,
                lost_answer: lost_answer_allowance(&group, classic_members),
            },
        )?),
    };
    Ok(Scenario {
        name,
        description: meta.description.unwrap_or_default(),
        source: String::new(),
        overrides: Vec::new(),
        default_seed: meta.seed.unwrap_or(1),
        duration,
        sample_interval,
        convergence_bound,
        fetch_quantum,
        cluster,
        topics,
        group,
        consumers,
        start_jitter,
        timeline,
        cluster_timeline,
        links,
        variants,
        chaos,
        text: String::new(),
    })
}

fn build_cluster(rep: &Reporter<'_>, raw: RawCluster) -> Result<ClusterConfig, ScenarioError> {
    for rack in raw.racks.iter().flatten() {
        check_rack(rep, rack)?;
    }
    let min = raw
        .group_min_session_timeout
        .map_or(Duration::from_secs(6), |d| d.0);
    let max = raw
        .group_max_session_timeout
        .map_or(Duration::from_secs(1800), |d| d.0);
    if min > max {
        return Err(rep.at(
            None,
            format!("cluster.group_min_session_timeout ({min}) is above cluster.group_max_session_timeout ({max})"),
        ));
    }
    // GroupCoordinatorConfig: group.consumer.min/max.session.timeout.ms
    // 45 s / 60 s, group.consumer.min/max.heartbeat.interval.ms 5 s / 15 s.
    let bound =
        |v: Option<KafkaMs<1>>, default_s: u64| v.map_or(Duration::from_secs(default_s), |d| d.0);
    let consumer_session = (
        bound(raw.group_consumer_min_session_timeout, 45),
        bound(raw.group_consumer_max_session_timeout, 60),
    );
    let consumer_heartbeat = (
        bound(raw.group_consumer_min_heartbeat_interval, 5),
        bound(raw.group_consumer_max_heartbeat_interval, 15),
    );
    for ((lo, hi), name) in [
        (consumer_session, "group_consumer_min/max_session_timeout"),
        (
            consumer_heartbeat,
            "group_consumer_min/max_heartbeat_interval",
        ),
    ] {
        if lo > hi {
            return Err(rep.at(
                None,
                format!("cluster.{name}: the minimum ({lo}) is above the maximum ({hi})"),
            ));
        }
    }
    let brokers = raw.brokers.map_or(3, |c| c.0);
    Ok(ClusterConfig {
        brokers,
        racks: raw
            .racks
            .unwrap_or_default()
            .into_iter()
            .map(Spanned::into_inner)
            .collect(),
        network_latency: match &raw.network_latency {
            Some(v) => parse_dist(rep, v)?,
            // 1 ms on average with a small seeded jitter, so runs with
            // different seeds do not share one message timing.
            None => TimeDist::Uniform {
                min: Duration(800),
                max: Duration(1200),
            },
        },
        offsets_topic_partitions: raw.offsets_topic_partitions.map_or(50, |c| c.0),
        group_min_session_timeout: min,
        group_max_session_timeout: max,
        group_consumer_min_session_timeout: consumer_session.0,
        group_consumer_max_session_timeout: consumer_session.1,
        group_consumer_min_heartbeat_interval: consumer_heartbeat.0,
        group_consumer_max_heartbeat_interval: consumer_heartbeat.1,
        // Kafka 4.0's default (5 ms since KAFKA-16770's 10 ms was lowered
        // before the release); later releases default to -1, an adaptive
        // linger that flushes when the coordinator's queue is drained,
        // which an idle simulated coordinator does at once: 0 here.
        append_linger: raw.append_linger.map_or(Duration::from_millis(5), |d| d.0),
        // The offsets topic's followers fetch the batch and then report
        // it in their next fetch: two one-way trips of about 1 ms. A
        // single broker has no follower to wait for.
        replication_latency: raw.replication_latency.map_or(
            if brokers > 1 {
                Duration::from_millis(2)
            } else {
                Duration::ZERO
            },
            |d| d.0,
        ),
    })
}

fn build_topics(
    rep: &Reporter<'_>,
    raw: Spanned<Vec<RawTopic>>,
    brokers: u32,
) -> Result<Vec<TopicConfig>, ScenarioError> {
    if raw.get_ref().is_empty() {
        return Err(rep.spanned(&raw, "at least one [[topics]] entry is required"));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut total: u64 = 0;
    let span = raw.span();
    for t in raw.into_inner() {
        check_name(rep, &t.name, "topic name")?;
        if INTERNAL_TOPICS.contains(&t.name.get_ref().as_str()) {
            return Err(rep.spanned(
                &t.name,
                format!(
                    "\"{}\" is an internal Kafka topic (Topic.isInternal): it holds the brokers' own records, not an application's; pick another name",
                    t.name.get_ref()
                ),
            ));
        }
        total += u64::from(t.partitions.0);
        if total > crate::limits::MAX_TOTAL_PARTITIONS {
            return Err(rep.at(
                Some(span.clone()),
                format!(
                    "the topics have more than {} partitions in all; rebalance-sim's limit",
                    crate::limits::MAX_TOTAL_PARTITIONS
                ),
            ));
        }
        if !seen.insert(t.name.get_ref().clone()) {
            return Err(rep.spanned(
                &t.name,
                format!("topic \"{}\" is declared twice", t.name.get_ref()),
            ));
        }
        let load = match &t.load {
            Some(v) if t.produce_rate.is_some() => {
                return Err(rep.spanned(
                    v,
                    "give either `produce_rate` (constant) or `load` (a rate changing over time), not both",
                ));
            }
            Some(v) => Some(parse_load(rep, v)?),
            None => None,
        };
        let weights = parse_key_skew(rep, &t, t.partitions.0)?;
        let processing = match &t.processing {
            Some(v) => Some(parse_dist(rep, v)?),
            None => None,
        };
        out.push(TopicConfig {
            name: t.name.into_inner(),
            partitions: t.partitions.0,
            produce_rate: t.produce_rate.map_or(0.0, |r| r.0),
            load,
            weights,
            processing,
            linger: t.linger.map_or(Duration::from_millis(5), |d| d.0),
            replication_factor: match &t.replication_factor {
                None => brokers.min(3),
                Some(rf) if rf.get_ref().0 > brokers => {
                    return Err(rep.spanned(
                        rf,
                        format!(
                            "{} replicas need {} brokers, but [cluster] has {brokers}",
                            rf.get_ref().0,
                            rf.get_ref().0
                        ),
                    ));
                }
                Some(rf) => rf.get_ref().0,
            },
        });
    }
    Ok(out)
}

fn build_group(
    rep: &Reporter<'_>,
    mut raw: RawGroup,
    cluster: &ClusterConfig,
    topics: &[TopicConfig],
) -> Result<GroupConfig, ScenarioError> {
    let protocol = match &raw.protocol {
        Some(p) => parse_protocol(rep, p)?,
        None => GroupProtocol::Classic,
    };
    if protocol == GroupProtocol::Consumer {
        // A protocol switched by --set (a compare variant) leaves behind
        // the classic assignors the file gives: they no longer apply.
        if raw
            .protocol
            .as_ref()
            .is_some_and(|p| rep.is_override(p.span()))
        {
            if raw
                .assignor
                .as_ref()
                .is_some_and(|a| !rep.is_override(a.span()))
            {
                raw.assignor = None;
            }
            if raw
                .assignors
                .as_ref()
                .is_some_and(|l| !rep.is_override(l.span()))
            {
                raw.assignors = None;
            }
        }
        // The consumer protocol has no partition.assignment.strategy: the
        // broker assigns (ConsumerConfig rejects the setting with it).
        if let Some(a) = &raw.assignor {
            return Err(rep.spanned(a, CLIENT_ASSIGNOR_WITH_CONSUMER_PROTOCOL));
        }
        if let Some(list) = &raw.assignors {
            return Err(rep.spanned(list, CLIENT_ASSIGNOR_WITH_CONSUMER_PROTOCOL));
        }
        // ConsumerConfig.CONSUMER_PROTOCOL_UNSUPPORTED_CONFIGS: the broker
        // decides the session and the heartbeat interval.
        if let Some(s) = &raw.session_timeout {
            return Err(rep.spanned(
                s,
                "session.timeout.ms is not used with group.protocol = \"consumer\" (Kafka's client rejects it): the broker's group.consumer.session.timeout.ms applies; set consumer_session_timeout",
            ));
        }
        if let Some(h) = &raw.heartbeat_interval {
            return Err(rep.spanned(
                h,
                "heartbeat.interval.ms is not used with group.protocol = \"consumer\" (Kafka's client rejects it): the broker gives group.consumer.heartbeat.interval.ms; set consumer_heartbeat_interval",
            ));
        }
    }
    let remote_assignor = match &raw.remote_assignor {
        Some(name) => Some(server_assignor(rep, name)?),
        None => None,
    };
    let assignors = match (&raw.assignor, &raw.assignors) {
        // One of the two given by --set replaces the other, written in the
        // file (`--set group.assignor=roundrobin` on a file with a list).
        (Some(a), Some(list)) if rep.is_override(a.span()) && !rep.is_override(list.span()) => {
            vec![simulated_assignor(rep, a)?]
        }
        (Some(a), Some(list)) if rep.is_override(list.span()) && !rep.is_override(a.span()) => {
            parse_assignors(rep, list)?
        }
        (Some(a), Some(_)) => {
            return Err(rep.spanned(
                a,
                "give either `assignor` (one) or `assignors` (a list in order of preference), not both",
            ));
        }
        (Some(a), None) => vec![simulated_assignor(rep, a)?],
        (None, Some(list)) => parse_assignors(rep, list)?,
        // Kafka 4's default partition.assignment.strategy.
        (None, None) => vec![AssignorName::Range, AssignorName::CooperativeSticky],
    };
    let session_timeout = raw
        .session_timeout
        .as_ref()
        .map_or(Duration::from_secs(45), |s| s.get_ref().0);
    if let Some(s) = &raw.session_timeout {
        let (min, max) = (
            cluster.group_min_session_timeout,
            cluster.group_max_session_timeout,
        );
        if session_timeout < min || session_timeout > max {
            return Err(rep.spanned(
                s,
                format!(
                    "{session_timeout} is outside the broker's allowed range {min}..{max} \
                     (group.min/max.session.timeout.ms); the coordinator would reject the join with INVALID_SESSION_TIMEOUT"
                ),
            ));
        }
    }
    let heartbeat_interval = raw
        .heartbeat_interval
        .as_ref()
        .map_or(Duration::from_secs(3), |s| s.get_ref().0);
    if heartbeat_interval >= session_timeout {
        let message = format!(
            "{heartbeat_interval} must be lower than the session timeout ({session_timeout}), as Kafka's client requires"
        );
        return Err(match &raw.heartbeat_interval {
            Some(h) => rep.spanned(h, message),
            None => rep.spanned(
                raw.session_timeout
                    .as_ref()
                    .expect("only a set session timeout can be this short"),
                format!(
                    "{session_timeout} must be above the heartbeat interval ({heartbeat_interval})"
                ),
            ),
        });
    }
    let max_poll_interval = raw
        .max_poll_interval
        .map_or(Duration::from_secs(300), |d| d.0);
    let auto_offset_reset = match &raw.auto_offset_reset {
        Some(r) => one_of(
            rep,
            r,
            &[
                ("earliest", OffsetReset::Earliest),
                ("latest", OffsetReset::Latest),
            ],
            "",
        )?,
        None => OffsetReset::Latest,
    };
    #[derive(Clone, Copy)]
    enum Mode {
        Auto,
        Sync,
        Async,
        BeforeProcessing,
    }
    let mode = match &raw.commit {
        Some(c) => one_of(
            rep,
            c,
            &[
                ("auto", Mode::Auto),
                ("sync", Mode::Sync),
                ("async", Mode::Async),
                ("before-processing", Mode::BeforeProcessing),
            ],
            "",
        )?,
        None => Mode::Auto,
    };
    let commit = match mode {
        Mode::Auto => CommitMode::Auto {
            interval: raw
                .auto_commit_interval
                .map_or(Duration::from_secs(5), |d| d.0),
        },
        Mode::Sync => CommitMode::Sync,
        Mode::Async => CommitMode::Async,
        Mode::BeforeProcessing => CommitMode::BeforeProcessing,
    };
    let subscribed = match raw.topics {
        None => topics.iter().map(|t| t.name.clone()).collect(),
        Some(list) => {
            let mut names = Vec::new();
            for t in list {
                if !topics.iter().any(|x| &x.name == t.get_ref()) {
                    let known: Vec<&str> = topics.iter().map(|x| x.name.as_str()).collect();
                    return Err(rep.spanned(
                        &t,
                        format!(
                            "unknown topic \"{}\"; the [[topics]] are: {}",
                            t.get_ref(),
                            known.join(", ")
                        ),
                    ));
                }
                if !names.contains(t.get_ref()) {
                    names.push(t.into_inner());
                }
            }
            if names.is_empty() {
                return Err(rep.at(
                    None,
                    "group.topics: the group must subscribe to at least one topic",
                ));
            }
            names
        }
    };
    let id = match raw.id {
        Some(id) if id.get_ref().is_empty() => {
            return Err(rep.spanned(
                &id,
                "group.id must not be empty: the coordinator rejects JoinGroup with INVALID_GROUP_ID (GroupCoordinatorService.isGroupIdNotEmpty)",
            ));
        }
        Some(id) => id.into_inner(),
        None => "rebalance-sim".into(),
    };
    let consumer_ms = |v: &Option<Spanned<KafkaMs<1>>>,
                       default: Duration,
                       (min, max): (Duration, Duration),
                       name: &str,
                       bounds: &str|
     -> Result<Duration, ScenarioError> {
        let Some(s) = v else {
            // The default, brought within the broker's bounds as Kafka's
            // GroupCoordinatorConfig requires them to contain it.
            return Ok(default.max(min).min(max));
        };
        let d = s.get_ref().0;
        if d < min || d > max {
            return Err(rep.spanned(
                s,
                format!(
                    "{d} is outside the broker's allowed range {min}..{max} for {name} (set {bounds})"
                ),
            ));
        }
        Ok(d)
    };
    // GroupCoordinatorConfig: heartbeat 5 s, session 45 s by default.
    let consumer_heartbeat_interval = consumer_ms(
        &raw.consumer_heartbeat_interval,
        Duration::from_secs(5),
        (
            cluster.group_consumer_min_heartbeat_interval,
            cluster.group_consumer_max_heartbeat_interval,
        ),
        "group.consumer.heartbeat.interval.ms",
        "cluster.group_consumer_min/max_heartbeat_interval",
    )?;
    let consumer_session_timeout = consumer_ms(
        &raw.consumer_session_timeout,
        Duration::from_secs(45),
        (
            cluster.group_consumer_min_session_timeout,
            cluster.group_consumer_max_session_timeout,
        ),
        "group.consumer.session.timeout.ms",
        "cluster.group_consumer_min/max_session_timeout",
    )?;
    if let (Some(s), true) = (
        &raw.consumer_session_timeout,
        consumer_session_timeout <= consumer_heartbeat_interval,
    ) {
        return Err(rep.spanned(
            s,
            "group.consumer.session.timeout.ms must be longer than group.consumer.heartbeat.interval.ms",
        ));
    }
    let migration_policy = match &raw.migration_policy {
        Some(p) => one_of(
            rep,
            p,
            &[
                ("bidirectional", MigrationPolicy::Bidirectional),
                ("upgrade", MigrationPolicy::Upgrade),
                ("downgrade", MigrationPolicy::Downgrade),
                ("disabled", MigrationPolicy::Disabled),
            ],
            " (group.consumer.migration.policy)",
        )?,
        None => MigrationPolicy::Bidirectional,
    };
    Ok(GroupConfig {
        id,
        protocol,
        assignors,
        remote_assignor,
        migration_policy,
        consumer_heartbeat_interval,
        consumer_session_timeout,
        // Kafka 4.3 (KIP-1263): 1 s; 0 computes every new target at once.
        consumer_assignment_interval: raw
            .consumer_assignment_interval
            .map_or(Duration::from_secs(1), |d| d.0),
        session_timeout,
        heartbeat_interval,
        max_poll_interval,
        rebalance_timeout: raw.rebalance_timeout.map_or(max_poll_interval, |d| d.0),
        initial_rebalance_delay: raw
            .initial_rebalance_delay
            .map_or(Duration::from_secs(3), |d| d.0),
        max_poll_records: raw.max_poll_records.map_or(500, |c| c.0),
        auto_offset_reset,
        commit,
        commit_on_revoke: raw.commit_on_revoke.unwrap_or(true),
        fencing: raw.fencing.unwrap_or(true),
        topics: subscribed,
    })
}

const CLIENT_ASSIGNOR_WITH_CONSUMER_PROTOCOL: &str = "client-side assignors (partition.assignment.strategy) are not used with group.protocol = \"consumer\": the broker assigns; choose its assignor with remote_assignor = \"uniform\" or \"server-range\" (group.remote.assignor)";

/// `group.protocol`.
fn parse_protocol(
    rep: &Reporter<'_>,
    value: &Spanned<String>,
) -> Result<GroupProtocol, ScenarioError> {
    // Kafka takes the value in any case (GroupProtocol.of upper-cases it).
    let lower = Spanned::new(value.span(), value.get_ref().to_ascii_lowercase());
    one_of(
        rep,
        &lower,
        &[
            ("classic", GroupProtocol::Classic),
            ("consumer", GroupProtocol::Consumer),
        ],
        "",
    )
}

/// `group.remote.assignor`: a KIP-848 server-side assignor.
fn server_assignor(
    rep: &Reporter<'_>,
    name: &Spanned<String>,
) -> Result<AssignorName, ScenarioError> {
    one_of(
        rep,
        name,
        &[
            ("uniform", AssignorName::Uniform),
            ("server-range", AssignorName::ServerRange),
            // Kafka's name for its server-side RangeAssignor
            // (RangeAssignor.RANGE_ASSIGNOR_NAME); server-range here.
            ("range", AssignorName::ServerRange),
        ],
        " (server-side assignors of the consumer protocol; roundrobin, sticky and cooperative-sticky are client-side, set with `assignors` under group.protocol = \"classic\")",
    )
}

/// One assignor name, among those a simulated group can use.
fn simulated_assignor(
    rep: &Reporter<'_>,
    name: &Spanned<String>,
) -> Result<AssignorName, ScenarioError> {
    let choices: Vec<(&str, AssignorName)> = SIMULATED_ASSIGNORS
        .iter()
        .filter_map(|n| AssignorName::parse(n).map(|a| (*n, a)))
        .collect();
    one_of(
        rep,
        name,
        &choices,
        " (uniform and server-range are KIP-848 server-side assignors: use them with group.protocol = \"consumer\" and remote_assignor)",
    )
}

/// `partition.assignment.strategy` as a list: one or more simulated
/// assignors, none twice.
fn parse_assignors(
    rep: &Reporter<'_>,
    list: &Spanned<Vec<Spanned<String>>>,
) -> Result<Vec<AssignorName>, ScenarioError> {
    if list.get_ref().is_empty() {
        return Err(rep.spanned(
            list,
            "the list is empty; Kafka requires at least one assignor (partition.assignment.strategy)",
        ));
    }
    let mut out = Vec::new();
    for name in list.get_ref() {
        let a = simulated_assignor(rep, name)?;
        if out.contains(&a) {
            return Err(rep.spanned(name, format!("\"{a}\" is listed twice")));
        }
        out.push(a);
    }
    Ok(out)
}

/// Defaults for consumers created by a timeline `join`.
struct ConsumerDefaults {
    processing: TimeDist,
    static_membership: bool,
    rack: Option<String>,
    assignors: Vec<AssignorName>,
    protocol: GroupProtocol,
}

fn build_consumers(
    rep: &Reporter<'_>,
    raw: RawConsumers,
    group: &GroupConfig,
) -> Result<(Vec<ConsumerConfig>, ConsumerDefaults), ScenarioError> {
    let processing = match &raw.processing {
        Some(v) => parse_dist(rep, v)?,
        None => TimeDist::Constant(Duration::from_millis(1)),
    };
    if let Some(rack) = &raw.rack {
        check_rack(rep, rack)?;
    }
    let defaults = ConsumerDefaults {
        processing,
        static_membership: raw.static_membership.unwrap_or(false),
        rack: raw.rack.as_ref().map(|r| r.get_ref().clone()),
        assignors: group.assignors.clone(),
        protocol: group.protocol,
    };
    let mut out: Vec<ConsumerConfig> = (1..=raw.count.map_or(0, |c| c.0))
        .map(|i| new_consumer(format!("c{i}"), &defaults))
        .collect();
    let mut instances = BTreeMap::new();
    for c in &out {
        if let Some(i) = &c.instance_id {
            instances.insert(i.clone(), c.name.clone());
        }
    }
    for named in raw.named {
        let n = named.get_ref();
        check_name(rep, &n.name, "consumer name")?;
        if out.iter().any(|c| &c.name == n.name.get_ref()) {
            return Err(rep.spanned(
                &n.name,
                format!(
                    "consumer \"{}\" already exists (count = {} creates c1..c{}); pick another name",
                    n.name.get_ref(),
                    raw.count.map_or(0, |c| c.0),
                    raw.count.map_or(0, |c| c.0)
                ),
            ));
        }
        let mut c = new_consumer(n.name.get_ref().clone(), &defaults);
        if let Some(p) = &n.processing {
            c.processing = parse_dist(rep, p)?;
        }
        if let Some(i) = &n.instance_id {
            check_name(rep, i, "group.instance.id")?;
            c.instance_id = Some(i.get_ref().clone());
        }
        if let Some(rack) = &n.rack {
            check_rack(rep, rack)?;
            c.rack = Some(rack.get_ref().clone());
        }
        if let Some(list) = &n.assignors {
            c.assignors = parse_assignors(rep, list)?;
        }
        if let Some(p) = &n.protocol {
            c.protocol = parse_protocol(rep, p)?;
        }
        if let (Some(list), GroupProtocol::Consumer) = (&n.assignors, c.protocol) {
            return Err(rep.spanned(list, CLIENT_ASSIGNOR_WITH_CONSUMER_PROTOCOL));
        }
        if let Some(i) = &c.instance_id {
            if let Some(other) = instances.insert(i.clone(), c.name.clone()) {
                return Err(rep.spanned(
                    &named,
                    format!("instance id \"{i}\" is already used by consumer \"{other}\"; group.instance.id must be unique"),
                ));
            }
        }
        out.push(c);
    }
    Ok((out, defaults))
}

fn new_consumer(name: String, d: &ConsumerDefaults) -> ConsumerConfig {
    ConsumerConfig {
        instance_id: d.static_membership.then(|| name.clone()),
        name,
        rack: d.rack.clone(),
        processing: d.processing,
        starts_at_zero: true,
        assignors: d.assignors.clone(),
        protocol: d.protocol,
    }
}

const DIST_HELP: &str = "a duration such as \"2ms\", or a table: \
{ dist = \"uniform\", min = \"1ms\", max = \"3ms\" }, { dist = \"normal\", mean = \"2ms\", stddev = \"500us\" } \
or { dist = \"exponential\", mean = \"2ms\" }";

const LOAD_HELP: &str = "a table: { shape = \"steps\", steps = [{ at = \"0s\", rate = 1000 }, { at = \"2m\", rate = 10000 }] }, \
{ shape = \"ramp\", from = 1000, to = 5000, start = \"1m\", end = \"3m\" }, \
{ shape = \"bursts\", base = 1000, burst = 10000, every = \"10m\", length = \"2m\", start = \"1m\" } \
or { shape = \"sine\", mean = 1000, amplitude = 500, period = \"24h\", phase = \"0s\" }";

/// `[[topics]] load`: a production rate that changes over time.
fn parse_load(rep: &Reporter<'_>, v: &Spanned<toml::Value>) -> Result<RateShape, ScenarioError> {
    let fail = |m: String| rep.spanned(v, format!("load: {m}; expected {LOAD_HELP}"));
    let toml::Value::Table(t) = v.get_ref() else {
        return Err(fail("not a table".into()));
    };
    let rate_of = |value: Option<&toml::Value>, key: &str| -> Result<f64, ScenarioError> {
        let n = match value {
            Some(toml::Value::Integer(i)) => *i as f64,
            Some(toml::Value::Float(f)) => *f,
            Some(_) => {
                return Err(fail(format!(
                    "`{key}` must be records per second, a number"
                )));
            }
            None => return Err(fail(format!("`{key}` is missing"))),
        };
        if !n.is_finite() || !(0.0..=1e12).contains(&n) {
            return Err(fail(format!(
                "`{key}` = {n} is out of range (0 to 1e12 records/s)"
            )));
        }
        Ok(n)
    };
    let dur_of = |value: Option<&toml::Value>, key: &str, default: Option<Duration>| match value {
        None => default.ok_or_else(|| fail(format!("`{key}` is missing"))),
        Some(toml::Value::String(s)) => {
            parse_duration(s).map_err(|e| fail(format!("`{key}`: {e}")))
        }
        Some(_) => Err(fail(format!("`{key}` must be a quoted duration"))),
    };
    let shape = t
        .get("shape")
        .and_then(|s| s.as_str())
        .ok_or_else(|| fail("the table needs `shape`".into()))?;
    let allowed: &[&str] = match shape {
        "steps" => &["shape", "steps"],
        "ramp" => &["shape", "from", "to", "start", "end"],
        "bursts" => &["shape", "base", "burst", "every", "length", "start"],
        "sine" => &["shape", "mean", "amplitude", "period", "phase"],
        other => {
            return Err(fail(format!(
                "unknown shape \"{other}\" (steps, ramp, bursts, sine)"
            )));
        }
    };
    if let Some(k) = t.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(fail(format!("`{k}` does not belong to shape \"{shape}\"")));
    }
    Ok(match shape {
        "steps" => {
            let Some(toml::Value::Array(list)) = t.get("steps") else {
                return Err(fail("`steps` must be a list of { at, rate }".into()));
            };
            let mut steps = Vec::new();
            for s in list {
                let toml::Value::Table(s) = s else {
                    return Err(fail("each step is a table { at, rate }".into()));
                };
                let at = dur_of(s.get("at"), "at", None)?;
                if steps.last().is_some_and(|&(prev, _)| at <= prev) {
                    return Err(fail("steps must be in increasing `at` order".into()));
                }
                if steps.is_empty() && at != Duration::ZERO {
                    return Err(fail("the first step must be at \"0s\"".into()));
                }
                steps.push((at, rate_of(s.get("rate"), "rate")?));
            }
            if steps.is_empty() {
                return Err(fail("`steps` is empty".into()));
            }
            RateShape::Steps(steps)
        }
        "ramp" => {
            let start = dur_of(t.get("start"), "start", Some(Duration::ZERO))?;
            let end = dur_of(t.get("end"), "end", None)?;
            if end <= start {
                return Err(fail("`end` must be after `start`".into()));
            }
            RateShape::Ramp {
                from: rate_of(t.get("from"), "from")?,
                to: rate_of(t.get("to"), "to")?,
                start,
                end,
            }
        }
        "bursts" => {
            let every = dur_of(t.get("every"), "every", None)?;
            let length = dur_of(t.get("length"), "length", None)?;
            if length == Duration::ZERO || length > every {
                return Err(fail(
                    "`length` must be longer than zero and at most `every`".into(),
                ));
            }
            RateShape::Bursts {
                base: rate_of(t.get("base"), "base")?,
                burst: rate_of(t.get("burst"), "burst")?,
                every,
                length,
                start: dur_of(t.get("start"), "start", Some(Duration::ZERO))?,
            }
        }
        _ => {
            let mean = rate_of(t.get("mean"), "mean")?;
            let amplitude = rate_of(t.get("amplitude"), "amplitude")?;
            if amplitude > mean {
                return Err(fail(
                    "`amplitude` must be at most `mean` (a rate is never negative)".into(),
                ));
            }
            let period = dur_of(t.get("period"), "period", None)?;
            if period == Duration::ZERO {
                return Err(fail("`period` must be longer than zero".into()));
            }
            RateShape::Sine {
                mean,
                amplitude,
                period,
                phase: dur_of(t.get("phase"), "phase", Some(Duration::ZERO))?,
            }
        }
    })
}

/// `[[topics]] partition_weights` or `key_skew = { zipf = s }`: how keys
/// spread over partitions. Zipf weights are 1000 / (p + 1)^s, at least 1.
fn parse_key_skew(
    rep: &Reporter<'_>,
    t: &RawTopic,
    partitions: u32,
) -> Result<Option<Vec<u32>>, ScenarioError> {
    match (&t.partition_weights, &t.key_skew) {
        (Some(w), Some(_)) => {
            Err(rep.spanned(w, "give either `partition_weights` or `key_skew`, not both"))
        }
        (Some(w), None) => {
            let list = w.get_ref();
            if list.len() != partitions as usize {
                return Err(rep.spanned(
                    w,
                    format!(
                        "{} weights for {partitions} partitions: give one per partition",
                        list.len()
                    ),
                ));
            }
            if list.iter().all(|&x| x == 0) || list.iter().any(|&x| x > 1_000_000) {
                return Err(rep.spanned(w, "weights must be 0 to 1,000,000 and not all 0"));
            }
            Ok(Some(list.clone()))
        }
        (None, Some(v)) => {
            let zipf = match v.get_ref() {
                toml::Value::Table(t) if t.len() == 1 => match t.get("zipf") {
                    Some(toml::Value::Float(f)) => Some(*f),
                    Some(toml::Value::Integer(i)) => Some(*i as f64),
                    _ => None,
                },
                _ => None,
            };
            match zipf {
                Some(s) if s.is_finite() && (0.0..=4.0).contains(&s) => Ok(Some(
                    (0..partitions)
                        .map(|p| (1000.0 / libm::pow(f64::from(p) + 1.0, s)).round().max(1.0) as u32)
                        .collect(),
                )),
                _ => Err(rep.spanned(
                    v,
                    "key_skew: expected { zipf = s } with an exponent s from 0 to 4 (partition p gets keys in proportion to 1 / (p + 1)^s)",
                )),
            }
        }
        (None, None) => Ok(None),
    }
}

fn parse_dist(rep: &Reporter<'_>, v: &Spanned<toml::Value>) -> Result<TimeDist, ScenarioError> {
    // A duration's own error says what a duration looks like; here the
    // help for a distribution replaces it.
    let fail = |m: String| {
        let reason = m.split("; expected").next().unwrap_or_default();
        rep.spanned(v, format!("{reason}; expected {DIST_HELP}"))
    };
    let dur = |value: Option<&toml::Value>, key: &str| -> Result<Duration, ScenarioError> {
        let s = value
            .ok_or_else(|| fail(format!("`{key}` is missing")))?
            .as_str()
            .ok_or_else(|| fail(format!("`{key}` must be a quoted duration")))?;
        parse_duration(s).map_err(|e| fail(format!("`{key}`: {e}")))
    };
    match v.get_ref() {
        toml::Value::String(s) => parse_duration(s).map(TimeDist::Constant).map_err(fail),
        toml::Value::Table(t) => {
            let dist = t
                .get("dist")
                .and_then(|d| d.as_str())
                .ok_or_else(|| fail("the table needs `dist`".into()))?;
            let allowed: &[&str] = match dist {
                "constant" => &["dist", "value"],
                "uniform" => &["dist", "min", "max"],
                "normal" => &["dist", "mean", "stddev"],
                "exponential" => &["dist", "mean"],
                other => {
                    return Err(fail(format!(
                        "unknown dist \"{other}\" (constant, uniform, normal, exponential)"
                    )));
                }
            };
            if let Some(k) = t.keys().find(|k| !allowed.contains(&k.as_str())) {
                return Err(fail(format!(
                    "`{k}` does not apply to dist \"{dist}\" (allowed: {})",
                    allowed.join(", ")
                )));
            }
            Ok(match dist {
                "constant" => TimeDist::Constant(dur(t.get("value"), "value")?),
                "uniform" => {
                    let (min, max) = (dur(t.get("min"), "min")?, dur(t.get("max"), "max")?);
                    if min > max {
                        return Err(fail(format!("min ({min}) is above max ({max})")));
                    }
                    TimeDist::Uniform { min, max }
                }
                "normal" => TimeDist::Normal {
                    mean: dur(t.get("mean"), "mean")?,
                    stddev: dur(t.get("stddev"), "stddev")?,
                },
                _ => TimeDist::Exponential {
                    mean: dur(t.get("mean"), "mean")?,
                },
            })
        }
        other => Err(fail(format!("found {}", other.type_str()))),
    }
}

/// What a consumer is doing at some point of the timeline, for validation.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Life {
    Running,
    Stopped,
    DownUntil(Duration),
    PausedUntil(Duration),
}

/// A consumer's state at `at`, from its state after its previous event
/// (`None`: no event yet).
pub(super) fn life_at(previous: Option<Life>, starts_at_zero: bool, at: Duration) -> Life {
    let initial = if starts_at_zero {
        Life::Running
    } else {
        Life::Stopped
    };
    match previous.unwrap_or(initial) {
        Life::DownUntil(t) | Life::PausedUntil(t) if t <= at => Life::Running,
        s => s,
    }
}

/// What `action` at `at` does to a consumer in `state`, or why it cannot
/// happen.
pub(super) fn next_life(
    state: Life,
    action: Action,
    at: Duration,
    name: &str,
) -> Result<Life, String> {
    Ok(match (state, action) {
        (Life::Stopped, Action::Join) => Life::Running,
        (Life::Running, Action::Join) => {
            return Err(format!("consumer \"{name}\" is already running at {at}"));
        }
        (Life::Running, Action::Leave | Action::Crash) => Life::Stopped,
        (Life::PausedUntil(_), Action::Crash) => Life::Stopped,
        (Life::Running, Action::Restart { downtime, .. }) => Life::DownUntil(at + downtime),
        (Life::Running, Action::Pause { duration }) => Life::PausedUntil(at + duration),
        (Life::Running, Action::Stall { .. } | Action::Slow { .. } | Action::Subscribe) => {
            Life::Running
        }
        (Life::Stopped, _) => {
            return Err(format!(
                "consumer \"{name}\" is not running at {at}; `join` it first"
            ));
        }
        (Life::DownUntil(t), _) => {
            return Err(format!("consumer \"{name}\" is restarting until {t}"));
        }
        (Life::PausedUntil(t), _) => {
            return Err(format!(
                "consumer \"{name}\" is paused until {t}; only `crash` can happen during a pause"
            ));
        }
    })
}

/// A timeline entry and the shorthand it came from, if any.
type Expanded = (Spanned<RawEvent>, Option<String>);

/// Expands the shorthands into the events they stand for, each labelled
/// with where it came from: `rolling-restart` (a `restart` of each of
/// `consumers`, default all declared ones, `every` apart), `scale-out`
/// (`count` new consumers join, `every` apart), `scale-in` (the last
/// `count` consumers leave, `every` apart).
fn expand_shorthands(
    rep: &Reporter<'_>,
    raw: Vec<Spanned<RawEvent>>,
    consumers: &[ConsumerConfig],
) -> Result<Vec<Expanded>, ScenarioError> {
    let mut names: Vec<String> = consumers.iter().map(|c| c.name.clone()).collect();
    // Consumers joined by name elsewhere in the timeline exist too.
    for e in &raw {
        if let Some(c) = &e.get_ref().consumer {
            if !names.contains(c.get_ref()) {
                names.push(c.get_ref().clone());
            }
        }
    }
    let mut out = Vec::new();
    for ev in raw {
        let e = ev.get_ref();
        let kind = e.action.get_ref().as_str();
        if !matches!(kind, "rolling-restart" | "scale-out" | "scale-in") {
            out.push((ev, None));
            continue;
        }
        if e.consumer.is_some() {
            return Err(rep.spanned(
                &ev,
                format!("a {kind} names its consumers with `consumers` (rolling-restart) or `count` (scale-out, scale-in), not `consumer`"),
            ));
        }
        let every = e.every.map_or(Duration::from_secs(30), |d| d.0);
        let at = e.at.get_ref().0;
        let targets: Vec<String> = match kind {
            "rolling-restart" => {
                if e.count.is_some() {
                    return Err(
                        rep.spanned(&ev, "a rolling-restart takes `consumers`, not `count`")
                    );
                }
                match &e.consumers {
                    Some(list) => {
                        for n in list.get_ref() {
                            if !names.contains(n) {
                                return Err(rep.spanned(
                                    list,
                                    format!(
                                        "unknown consumer \"{n}\"; known consumers: {}",
                                        names.join(", ")
                                    ),
                                ));
                            }
                        }
                        list.get_ref().clone()
                    }
                    None => consumers.iter().map(|c| c.name.clone()).collect(),
                }
            }
            _ => {
                if e.consumers.is_some() {
                    return Err(
                        rep.spanned(&ev, format!("a {kind} takes `count`, not `consumers`"))
                    );
                }
                let Some(count) = e.count else {
                    return Err(rep.spanned(&ev, format!("a {kind} needs `count`, e.g. count = 2")));
                };
                if kind == "scale-out" {
                    let mut fresh = Vec::new();
                    let mut k = 1;
                    while fresh.len() < count.0 as usize {
                        let name = format!("c{k}");
                        if !names.contains(&name) {
                            names.push(name.clone());
                            fresh.push(name);
                        }
                        k += 1;
                    }
                    fresh
                } else {
                    let n = count.0 as usize;
                    if n > names.len() {
                        return Err(rep.spanned(
                            &ev,
                            format!("scale-in of {n} consumers, but only {} exist", names.len()),
                        ));
                    }
                    names[names.len() - n..].iter().rev().cloned().collect()
                }
            }
        };
        let total = targets.len();
        let step = match kind {
            "rolling-restart" => "restart",
            "scale-out" => "join",
            _ => "leave",
        };
        for (i, name) in targets.into_iter().enumerate() {
            let mut one = e.clone();
            one.action = Spanned::new(e.action.span(), step.to_string());
            one.consumer = Some(Spanned::new(e.action.span(), name));
            one.consumers = None;
            one.every = None;
            one.count = None;
            one.at = Spanned::new(e.at.span(), Dur(at + Duration(every.micros() * i as u64)));
            if step != "restart" {
                one.downtime = None;
                one.graceful = None;
            }
            let via = format!("{kind} at {at}, {} of {total}", i + 1);
            out.push((Spanned::new(ev.span(), one), Some(via)));
        }
    }
    Ok(out)
}

fn build_timeline(
    rep: &Reporter<'_>,
    raw: Vec<Spanned<RawEvent>>,
    mut consumers: Vec<ConsumerConfig>,
    defaults: &ConsumerDefaults,
    run_length: Duration,
    known_topics: &[String],
) -> Result<(Vec<ConsumerConfig>, Vec<TimelineEvent>), ScenarioError> {
    let raw = expand_shorthands(rep, raw, &consumers)?;
    let mut events: Vec<(Spanned<RawEvent>, usize, Option<String>)> = raw
        .into_iter()
        .enumerate()
        .map(|(i, (e, via))| (e, i, via))
        .collect();
    events.sort_by_key(|(e, i, _)| (e.get_ref().at.get_ref().0, *i));

    let mut life: BTreeMap<String, Life> = BTreeMap::new();
    let mut out = Vec::new();
    for (ev, _, via) in &events {
        let e = ev.get_ref();

        // Fields of the broker, network and topic faults.
        let cluster_field = [
            e.broker.as_ref().map(|b| ("broker", b.span())),
            e.brokers.as_ref().map(|b| ("brokers", b.span())),
            e.from.as_ref().map(|f| ("from", f.span())),
            e.to.as_ref().map(|t| ("to", t.span())),
            e.topic.as_ref().map(|t| ("topic", t.span())),
            e.partitions.as_ref().map(|p| ("partitions", p.span())),
            e.one_way.map(|_| ("one_way", ev.span())),
        ]
        .into_iter()
        .flatten()
        .next();
        if let Some((field, span)) = cluster_field {
            return Err(rep.at(
                Some(span),
                format!(
                    "`{field}` belongs to the broker, network and topic faults, not to a {}",
                    e.action.get_ref()
                ),
            ));
        }
        if e.consumers.is_some() || e.every.is_some() || e.count.is_some() {
            return Err(rep.spanned(
                ev,
                "`consumers`, `every` and `count` belong to the shorthands rolling-restart, scale-out and scale-in",
            ));
        }
        let at = e.at.get_ref().0;
        if at > run_length {
            return Err(rep.spanned(
                &e.at,
                format!("{at} is after the end of the run (scenario.duration = {run_length})"),
            ));
        }
        let kind = one_of(
            rep,
            &e.action,
            &[
                ("join", 0),
                ("leave", 1),
                ("crash", 2),
                ("restart", 3),
                ("pause", 4),
                ("stall", 5),
                ("slow", 6),
                ("subscribe", 7),
            ],
            &format!(
                ", the shorthands \"rolling-restart\", \"scale-out\", \"scale-in\", or a cluster fault: {}",
                cluster_timeline::CLUSTER_ACTIONS
                    .iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )?;
        let Some(consumer_field) = &e.consumer else {
            return Err(rep.spanned(
                &e.action,
                format!("a {} needs `consumer`", e.action.get_ref()),
            ));
        };
        let length = || {
            e.duration.as_ref().map(|d| d.get_ref().0).ok_or_else(|| {
                rep.spanned(
                    ev,
                    format!(
                        "a {} needs `duration`, e.g. duration = \"30s\"",
                        e.action.get_ref()
                    ),
                )
            })
        };
        let action = match kind {
            0 => Action::Join,
            1 => Action::Leave,
            2 => Action::Crash,
            3 => Action::Restart {
                downtime: e.downtime.map_or(Duration::ZERO, |d| d.0),
                graceful: e.graceful.unwrap_or(true),
            },
            4 => Action::Pause {
                duration: length()?,
            },
            5 => Action::Stall {
                duration: length()?,
            },
            7 => Action::Subscribe,
            _ => Action::Slow {
                processing: match &e.processing {
                    Some(v) => parse_dist(rep, v)?,
                    None => {
                        return Err(rep.spanned(
                            ev,
                            "a slow needs `processing`, the new per-record time, e.g. processing = \"5ms\"",
                        ));
                    }
                },
            },
        };
        if let (Some(p), false) = (&e.processing, kind == 6) {
            return Err(rep.spanned(p, "`processing` applies to `slow` only"));
        }
        let topics = match (&e.topics, kind == 7) {
            (Some(list), true) => {
                let mut names: Vec<String> = Vec::new();
                for t in list.get_ref() {
                    if !known_topics.contains(t.get_ref()) {
                        return Err(rep.spanned(
                            t,
                            format!(
                                "unknown topic \"{}\"; the [[topics]] are: {}",
                                t.get_ref(),
                                known_topics.join(", ")
                            ),
                        ));
                    }
                    if !names.contains(t.get_ref()) {
                        names.push(t.get_ref().clone());
                    }
                }
                if names.is_empty() {
                    return Err(rep.spanned(list, "a subscription needs at least one topic"));
                }
                Some(names)
            }
            (None, true) => {
                return Err(rep.spanned(
                    ev,
                    "a subscribe needs `topics`, e.g. topics = [\"orders\", \"payments\"]",
                ));
            }
            (Some(list), false) => {
                return Err(rep.spanned(list, "`topics` applies to `subscribe` only"));
            }
            (None, false) => None,
        };
        if let (Some(d), true) = (&e.duration, kind < 4 || kind == 6) {
            return Err(rep.spanned(d, "`duration` applies to `pause` and `stall` only"));
        }
        if (e.downtime.is_some() || e.graceful.is_some()) && kind != 3 {
            return Err(rep.spanned(ev, "`downtime` and `graceful` apply to `restart` only"));
        }
        let name = consumer_field.get_ref();
        let index = match consumers.iter().position(|c| &c.name == name) {
            Some(i) => i,
            None if kind == 0 => {
                check_name(rep, consumer_field, "consumer name")?;
                let mut c = new_consumer(name.clone(), defaults);
                c.starts_at_zero = false;
                consumers.push(c);
                consumers.len() - 1
            }
            None => {
                let known: Vec<&str> = consumers.iter().map(|c| c.name.as_str()).collect();
                return Err(rep.spanned(
                    consumer_field,
                    format!(
                        "unknown consumer \"{name}\"; known consumers: {} (a `join` creates a new one)",
                        if known.is_empty() { "none".to_string() } else { known.join(", ") }
                    ),
                ));
            }
        };
        let first_event = !life.contains_key(name);
        if first_event && kind == 0 {
            consumers[index].starts_at_zero = false;
        }
        let state = life_at(life.get(name).copied(), consumers[index].starts_at_zero, at);
        let next = next_life(state, action, at, name)
            .map_err(|message| rep.spanned(&e.action, message))?;
        life.insert(name.clone(), next);
        let assignors = match &e.assignors {
            Some(list) if kind == 0 || kind == 3 => Some(parse_assignors(rep, list)?),
            Some(list) => {
                return Err(rep.spanned(
                    list,
                    "`assignors` applies to `join` and `restart` only (the process starts with them)",
                ));
            }
            None => None,
        };
        let protocol = match &e.protocol {
            Some(p) if kind == 0 || kind == 3 => Some(parse_protocol(rep, p)?),
            Some(p) => {
                return Err(rep.spanned(
                    p,
                    "`protocol` applies to `join` and `restart` only (the process starts with it)",
                ));
            }
            None => None,
        };
        if let (Some(list), GroupProtocol::Consumer) =
            (&e.assignors, protocol.unwrap_or(consumers[index].protocol))
        {
            return Err(rep.spanned(list, CLIENT_ASSIGNOR_WITH_CONSUMER_PROTOCOL));
        }
        out.push(TimelineEvent {
            at,
            consumer: index,
            action,
            assignors,
            protocol,
            via: via.clone(),
            topics,
        });
    }
    Ok((consumers, out))
}
