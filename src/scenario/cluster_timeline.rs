//! The broker and network faults of a `[[timeline]]`: `broker-crash`,
//! `broker-shutdown`, `broker-restart`, `network-partition`,
//! `network-heal`, `add-partitions`, and the `rolling-broker-restart`
//! shorthand.

use super::*;
use std::collections::BTreeMap;

/// The actions handled here.
pub(super) const CLUSTER_ACTIONS: [&str; 7] = [
    "broker-crash",
    "broker-shutdown",
    "broker-restart",
    "network-partition",
    "network-heal",
    "add-partitions",
    "rolling-broker-restart",
];

/// True when `[[timeline]]` entry `e` is a cluster fault.
pub(super) fn is_cluster_event(e: &RawEvent) -> bool {
    CLUSTER_ACTIONS.contains(&e.action.get_ref().as_str())
}

/// Builds the cluster faults (sorted by time, file order for ties),
/// expanding `rolling-broker-restart` into a shutdown (or crash) and a
/// restart of each broker.
pub(super) fn build(
    rep: &Reporter<'_>,
    raw: Vec<Spanned<RawEvent>>,
    brokers: u32,
    consumers: &[ConsumerConfig],
    topics: &[TopicConfig],
    run_length: Duration,
) -> Result<Vec<ClusterEvent>, ScenarioError> {
    let mut out: Vec<(Duration, usize, ClusterEvent)> = Vec::new();
    // Partition counts as the timeline raises them, checked in time order.
    let mut raw = raw;
    raw.sort_by_key(|e| e.get_ref().at.get_ref().0);
    let mut counts: Vec<u32> = topics.iter().map(|t| t.partitions).collect();
    let mut total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    // Where each event (by its sequence number) was written.
    let mut spans: Vec<std::ops::Range<usize>> = Vec::new();
    for ev in raw {
        let span = ev.span();
        let e = ev.get_ref();
        let kind = e.action.get_ref().as_str();
        let at = e.at.get_ref().0;
        if at > run_length {
            return Err(rep.spanned(
                &e.at,
                format!("{at} is after the end of the run (scenario.duration = {run_length})"),
            ));
        }
        refuse_consumer_fields(rep, &ev, kind)?;
        let is_broker = kind.starts_with("broker-");
        let is_network = kind.starts_with("network-");
        if !is_broker && e.broker.is_some() {
            return Err(rep.spanned(&ev, format!("a {kind} takes no `broker`")));
        }
        if !is_network && (e.from.is_some() || e.to.is_some() || e.one_way.is_some()) {
            return Err(rep.spanned(
                &ev,
                "`from`, `to` and `one_way` apply to network-partition and network-heal only",
            ));
        }
        if kind != "rolling-broker-restart" && (e.brokers.is_some() || e.every.is_some()) {
            return Err(rep.spanned(
                &ev,
                "`brokers` and `every` apply to rolling-broker-restart only",
            ));
        }
        if kind != "rolling-broker-restart" && (e.downtime.is_some() || e.graceful.is_some()) {
            return Err(rep.spanned(
                &ev,
                format!(
                    "a {kind} takes no `downtime` or `graceful` (a broker-restart is its own event)"
                ),
            ));
        }
        if kind != "add-partitions" && (e.topic.is_some() || e.partitions.is_some()) {
            return Err(rep.spanned(&ev, "`topic` and `partitions` apply to add-partitions only"));
        }
        if kind != "network-partition" {
            if let Some(d) = &e.duration {
                return Err(rep.spanned(d, "`duration` applies to network-partition only"));
            }
        }
        let seq = out.len();
        let single = |action| {
            (
                at,
                seq,
                ClusterEvent {
                    at,
                    action,
                    via: None,
                },
            )
        };
        match kind {
            "broker-crash" | "broker-shutdown" | "broker-restart" => {
                let broker = broker_id(rep, &ev, e.broker.as_ref(), brokers)?;
                out.push(single(match kind {
                    "broker-crash" => ClusterAction::BrokerCrash { broker },
                    "broker-shutdown" => ClusterAction::BrokerShutdown { broker },
                    _ => ClusterAction::BrokerRestart { broker },
                }));
            }
            "network-partition" => {
                let cut = parse_cut(rep, e, consumers, brokers)?.ok_or_else(|| {
                    rep.spanned(
                        &ev,
                        "a network-partition needs `from` (a consumer name, \"broker-N\" or \"coordinator\"), and `to` unless it isolates `from` from everyone",
                    )
                })?;
                out.push(single(ClusterAction::NetworkPartition {
                    cut,
                    duration: e.duration.as_ref().map(|d| d.get_ref().0),
                }));
            }
            "network-heal" => {
                let cut = parse_cut(rep, e, consumers, brokers)?;
                out.push(single(ClusterAction::NetworkHeal { cut }));
            }
            "add-partitions" => {
                let (topic, partitions) = added(rep, &ev, topics, &counts)?;
                total += u64::from(partitions - counts[topic]);
                if total > crate::limits::MAX_TOTAL_PARTITIONS {
                    return Err(rep.spanned(
                        &ev,
                        format!(
                            "the topics would have {total} partitions, more than the {} rebalance-sim accepts",
                            crate::limits::MAX_TOTAL_PARTITIONS
                        ),
                    ));
                }
                counts[topic] = partitions;
                out.push(single(ClusterAction::AddPartitions { topic, partitions }));
            }
            _ => {
                let list: Vec<u32> = match &e.brokers {
                    Some(list) => {
                        for &b in list.get_ref() {
                            if b >= brokers {
                                return Err(rep.spanned(
                                    list,
                                    format!(
                                        "no broker {b}: [cluster] has brokers 0 to {}",
                                        brokers - 1
                                    ),
                                ));
                            }
                        }
                        list.get_ref().clone()
                    }
                    None => (0..brokers).collect(),
                };
                let every = e.every.map_or(Duration::from_secs(120), |d| d.0);
                let downtime = e.downtime.map_or(Duration::from_secs(30), |d| d.0);
                let graceful = e.graceful.unwrap_or(true);
                let total = list.len();
                for (i, &broker) in list.iter().enumerate() {
                    let down_at = at + Duration(every.micros() * i as u64);
                    let via = format!("rolling-broker-restart at {at}, {} of {total}", i + 1);
                    let stop = if graceful {
                        ClusterAction::BrokerShutdown { broker }
                    } else {
                        ClusterAction::BrokerCrash { broker }
                    };
                    for (when, action) in [
                        (down_at, stop),
                        (down_at + downtime, ClusterAction::BrokerRestart { broker }),
                    ] {
                        if when > run_length {
                            return Err(rep.spanned(
                                &ev,
                                format!("the rolling-broker-restart runs past the end of the run: broker {broker} at {when} (scenario.duration = {run_length})"),
                            ));
                        }
                        let seq = out.len();
                        out.push((
                            when,
                            seq,
                            ClusterEvent {
                                at: when,
                                action,
                                via: Some(via.clone()),
                            },
                        ));
                    }
                }
            }
        }
        spans.resize(out.len(), span);
    }
    out.sort_by_key(|(at, seq, _)| (*at, *seq));
    play_through(rep, &out, &spans)?;
    Ok(out.into_iter().map(|(_, _, e)| e).collect())
}

/// Plays the cluster timeline through once: a broker is crashed or shut
/// down only while up and restarted only while down, a heal heals a cut in
/// force, and cuts are between a consumer and a broker.
fn play_through(
    rep: &Reporter<'_>,
    events: &[(Duration, usize, ClusterEvent)],
    spans: &[std::ops::Range<usize>],
) -> Result<(), ScenarioError> {
    let mut down: BTreeMap<u32, Duration> = BTreeMap::new();
    // Cuts in force: (the cut, healed at if timed).
    let mut cuts: Vec<(Cut, Option<Duration>)> = Vec::new();
    for (at, seq, e) in events {
        let at = *at;
        let span = || Some(spans[*seq].clone());
        cuts.retain(|(_, until)| until.is_none_or(|u| u > at));
        match e.action {
            ClusterAction::BrokerCrash { broker } | ClusterAction::BrokerShutdown { broker } => {
                if let Some(since) = down.get(&broker) {
                    return Err(rep.at(
                        span(),
                        format!("broker {broker} is down at {at} (since {since}); `broker-restart` it first"),
                    ));
                }
                down.insert(broker, at);
            }
            ClusterAction::BrokerRestart { broker } => {
                if down.remove(&broker).is_none() {
                    return Err(rep.at(
                        span(),
                        format!("broker {broker} is running at {at}; only a crashed or shut down broker restarts"),
                    ));
                }
            }
            ClusterAction::NetworkPartition { cut, duration } => {
                let broker_side = |n: Node| matches!(n, Node::Broker(_) | Node::Coordinator);
                if broker_side(cut.from) && cut.to.is_some_and(broker_side) {
                    return Err(rep.at(
                        span(),
                        "links between brokers are not modelled (the controller and replication never fail); cut a consumer's links",
                    ));
                }
                if cut.to.is_none() && broker_side(cut.from) {
                    return Err(rep.at(
                        span(),
                        "isolating a broker is not modelled (links between brokers never fail); crash it, or cut consumers from it",
                    ));
                }
                cuts.push((cut, duration.map(|d| at + d)));
            }
            ClusterAction::NetworkHeal { cut: None } => {
                if cuts.is_empty() {
                    return Err(rep.at(
                        span(),
                        format!("nothing is cut at {at}: no network-partition is in force"),
                    ));
                }
                cuts.clear();
            }
            ClusterAction::NetworkHeal { cut: Some(c) } => {
                let before = cuts.len();
                cuts.retain(|(k, _)| *k != c);
                if cuts.len() == before {
                    return Err(rep.at(
                        span(),
                        format!("no network-partition with these `from`, `to` and `one_way` is in force at {at}; a heal names a cut as it was written (or names none to heal every cut)"),
                    ));
                }
            }
            ClusterAction::AddPartitions { .. } => {}
        }
    }
    Ok(())
}

/// A cluster fault with a consumer's fields is an error, named.
fn refuse_consumer_fields(
    rep: &Reporter<'_>,
    ev: &Spanned<RawEvent>,
    kind: &str,
) -> Result<(), ScenarioError> {
    let e = ev.get_ref();
    let stray = [
        ("consumer", e.consumer.is_some()),
        ("consumers", e.consumers.is_some()),
        ("count", e.count.is_some()),
        ("assignors", e.assignors.is_some()),
        ("protocol", e.protocol.is_some()),
        ("processing", e.processing.is_some()),
        ("topics", e.topics.is_some()),
    ];
    match stray.iter().find(|(_, set)| *set) {
        Some((field, _)) => Err(rep.spanned(
            ev,
            format!(
                "a {kind} takes no `{field}` (a network fault names its nodes with `from` and `to`)"
            ),
        )),
        None => Ok(()),
    }
}

/// The topic and new count of an `add-partitions`: a known topic without
/// key skew, more partitions than it has by then.
fn added(
    rep: &Reporter<'_>,
    ev: &Spanned<RawEvent>,
    topics: &[TopicConfig],
    counts: &[u32],
) -> Result<(usize, u32), ScenarioError> {
    let e = ev.get_ref();
    let (Some(name), Some(count)) = (&e.topic, &e.partitions) else {
        return Err(rep.spanned(
            ev,
            "an add-partitions needs `topic` and `partitions` (the new count), e.g. topic = \"orders\", partitions = 24",
        ));
    };
    let Some(topic) = topics.iter().position(|t| &t.name == name.get_ref()) else {
        let known: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
        return Err(rep.spanned(
            name,
            format!(
                "unknown topic \"{}\"; the [[topics]] are: {}",
                name.get_ref(),
                known.join(", ")
            ),
        ));
    };
    if topics[topic].weights.is_some() {
        return Err(rep.spanned(
            name,
            format!(
                "topic \"{}\" has key skew (partition_weights or key_skew), which is per partition: partitions cannot be added to it here",
                name.get_ref()
            ),
        ));
    }
    let n_now = counts[topic];
    let n = *count.get_ref();
    if n <= n_now {
        return Err(rep.spanned(
            count,
            format!(
                "topic \"{}\" has {n_now} partitions by then; Kafka only adds partitions, so `partitions` must be more than {n_now}",
                name.get_ref()
            ),
        ));
    }
    if n > crate::limits::MAX_PARTITIONS_PER_TOPIC {
        return Err(rep.spanned(
            count,
            format!(
                "{n} is more than the {} partitions per topic rebalance-sim accepts",
                crate::limits::MAX_PARTITIONS_PER_TOPIC
            ),
        ));
    }
    Ok((topic, n))
}

fn broker_id(
    rep: &Reporter<'_>,
    ev: &Spanned<RawEvent>,
    field: Option<&Spanned<u32>>,
    brokers: u32,
) -> Result<u32, ScenarioError> {
    let kind = ev.get_ref().action.get_ref();
    let Some(b) = field else {
        return Err(rep.spanned(ev, format!("a {kind} needs `broker`, e.g. broker = 0")));
    };
    if *b.get_ref() >= brokers {
        return Err(rep.spanned(
            b,
            format!(
                "no broker {}: [cluster] has brokers 0 to {}",
                b.get_ref(),
                brokers - 1
            ),
        ));
    }
    Ok(*b.get_ref())
}

/// `from`, `to`, `one_way` of a network fault; `None` when `from` is not
/// given (a heal of everything).
fn parse_cut(
    rep: &Reporter<'_>,
    e: &RawEvent,
    consumers: &[ConsumerConfig],
    brokers: u32,
) -> Result<Option<Cut>, ScenarioError> {
    let Some(from) = &e.from else {
        if let Some(to) = &e.to {
            return Err(rep.spanned(to, "`to` needs `from`"));
        }
        if e.one_way.is_some() {
            return Err(rep.spanned(&e.action, "`one_way` needs `from` and `to`"));
        }
        return Ok(None);
    };
    let from_node = node(rep, from, consumers, brokers)?;
    let to_node = match &e.to {
        Some(to) => {
            let n = node(rep, to, consumers, brokers)?;
            if n == from_node {
                return Err(rep.spanned(to, "`from` and `to` are the same node"));
            }
            Some(n)
        }
        None => None,
    };
    if to_node.is_none() && e.one_way.is_some() {
        return Err(rep.spanned(&e.action, "`one_way` needs `to`"));
    }
    Ok(Some(Cut {
        from: from_node,
        to: to_node,
        one_way: e.one_way.unwrap_or(false),
    }))
}

pub(super) fn node(
    rep: &Reporter<'_>,
    name: &Spanned<String>,
    consumers: &[ConsumerConfig],
    brokers: u32,
) -> Result<Node, ScenarioError> {
    let text = name.get_ref();
    if text == "coordinator" {
        return Ok(Node::Coordinator);
    }
    if let Some(i) = consumers.iter().position(|c| &c.name == text) {
        return Ok(Node::Consumer(i));
    }
    if let Some(id) = text.strip_prefix("broker-") {
        if let Ok(b) = id.parse::<u32>() {
            if b < brokers {
                return Ok(Node::Broker(b));
            }
        }
    }
    let known: Vec<&str> = consumers.iter().map(|c| c.name.as_str()).collect();
    Err(rep.spanned(
        name,
        format!(
            "unknown node \"{text}\"; a node is a consumer ({}), a broker (\"broker-0\" to \"broker-{}\") or \"coordinator\" (the broker hosting the group coordinator at that time)",
            known.join(", "),
            brokers - 1
        ),
    ))
}
