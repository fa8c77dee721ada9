//! Everything a run measured, ready for the report writers.

use super::Simulation;
use crate::check::Violation;
use crate::metrics::{LogRow, Sample};
use crate::sim::Time;
use serde::Serialize;

/// How the group fared through one disruption: timeline events closer
/// together than the group's recovery, taken as one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disruption {
    /// When its first event happened (ms).
    pub at_ms: u64,
    /// Its events, e.g. `60.000s crash c2`, in time order.
    pub causes: Vec<String>,
    /// When its last fault was over (ms): a restart's downtime, a pause's
    /// or stall's length included.
    pub faults_end_ms: u64,
    /// Time from the first event until the group was whole again (every
    /// running consumer a stable member holding its share, every partition
    /// owned), all faults over (ms); null if it never was.
    pub converged_after_ms: Option<u64>,
    /// Committed-offset lag at the sample just before the first event.
    pub lag_before: u64,
    /// Largest committed-offset lag from the first event until drained
    /// (or the next disruption).
    pub peak_lag_after: u64,
    /// Backlog (records not yet processed) just before the first event.
    pub backlog_before: u64,
    /// Largest backlog from the first event until drained (or the next
    /// disruption).
    pub peak_backlog_after: u64,
    /// Time from the first event until the backlog was back to its level
    /// before (the highest sample of the 10 s before the event), after
    /// convergence (ms); null if not before the next disruption or the end.
    pub drained_after_ms: Option<u64>,
}

/// The opt-in approximations a run was made with (`summary.json`'s
/// `approximation`, absent from an exact run).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Approximation {
    /// `[scenario] fetch_quantum` in the tool's duration notation
    /// (`"100ms"`; written `"0.1s"`, it shows as `"100ms"`).
    pub fetch_quantum: String,
    /// The same in µs.
    pub fetch_quantum_us: u64,
    /// What it may change, in words (the README's stated bound).
    pub bound: String,
}

impl Approximation {
    /// The approximation of a run with this fetch quantum, if any.
    pub fn of(fetch_quantum: Option<crate::sim::Duration>) -> Option<Approximation> {
        fetch_quantum.map(|q| Approximation {
            fetch_quantum: q.to_string(),
            fetch_quantum_us: q.micros(),
            bound: format!(
                "records reach their consumer up to {q} later than in the exact model, \
                 and a caught-up consumer reads each {q} of records in polls of up to \
                 100 ms of processing: while consumers keep up, the backlog may exceed \
                 the exact run's by the records produced in {q} plus one linger, plus \
                 each consumer's batch in progress"
            ),
        })
    }

    /// The setting as written in a scenario: `fetch_quantum = 100ms`.
    pub fn setting(&self) -> String {
        format!("fetch_quantum = {}", self.fetch_quantum)
    }

    /// The setting with its bound, for the printed summaries.
    pub fn described(&self) -> String {
        format!("{} (not exact: {})", self.setting(), self.bound)
    }
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Seed of the run.
    pub seed: u64,
    /// Simulated time (ms).
    pub duration_ms: u64,
    /// The opt-in approximation the run was made with; absent when exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximation: Option<Approximation>,
    /// Assignor used by the group leader.
    pub assignor: String,
    /// Rebalances: new generations formed.
    pub rebalances: u32,
    /// The generation (classic) or group epoch (consumer group) at the end.
    pub final_generation: i32,
    /// The group's type at the end: "classic" or "consumer" (an online
    /// migration changes it).
    pub final_group_type: String,
    /// Time spent in PreparingRebalance or CompletingRebalance (ms).
    pub time_in_rebalance_ms: u64,
    /// Integral over time of subscribed partitions nobody held.
    pub unowned_partition_seconds: f64,
    /// Integral over time of subscribed partitions held but not processed:
    /// a paused or stalled holder, or a crashed member not yet expired.
    pub stalled_partition_seconds: f64,
    /// Integral over time of subscribed partitions whose leader was
    /// unreachable (a broker down and not yet replaced, no live replica,
    /// or a network cut between the leader and the partition's holder):
    /// counted apart from unowned and stalled ones.
    pub unavailable_partition_seconds: f64,
    /// Largest total lag sampled.
    pub max_lag: u64,
    /// Largest single-partition lag sampled.
    pub max_partition_lag: u64,
    /// Largest backlog sampled (records produced, never yet processed).
    pub max_backlog: u64,
    /// The backlog grows at the end of the run: consumers cannot keep up.
    pub lag_growing: bool,
    /// Slope of the backlog over the last quarter of the run (records/s).
    pub backlog_trend_per_s: f64,
    /// Records per second the consumers running at the end can process
    /// (from their mean processing time; null when that is zero).
    pub processing_capacity_per_s: Option<f64>,
    /// Records per second produced to subscribed topics.
    pub produce_rate_per_s: f64,
    /// Records produced to subscribed topics.
    pub records_produced: u64,
    /// Record processings, duplicates included.
    pub records_processed: u64,
    /// Records processed more than once.
    pub duplicates: u64,
    /// Records committed past without being processed.
    pub lost: u64,
    /// Records skipped by `auto.offset.reset` (never processed, not committed past by mistake).
    pub skipped_by_reset: u64,
    /// Of those, records of partitions added during the run
    /// (`add-partitions`) written before their first owner set its
    /// position (`auto.offset.reset = latest`).
    pub skipped_in_added_partitions: u64,
    /// Whether invariant 5 (convergence) was verified: true, false, or null when the run ended too early to tell.
    pub converged: Option<bool>,
    /// Time from the end of the last fault until the group was converged for
    /// good (ms); null if it was not converged at the end, or not within
    /// invariant 5's bound (`converged` false).
    pub convergence_ms: Option<u64>,
    /// Invariant 5's bound (ms): see the README.
    pub convergence_bound_ms: u64,
    /// When invariant 5 is decided (last fault end + bound, ms); after the
    /// end of the run when `converged` is null.
    pub convergence_check_ms: u64,
    /// Per timeline event: recovery times.
    pub disruptions: Vec<Disruption>,
    /// The most subscribed partitions unowned at once.
    pub max_unowned_partitions: u64,
    /// Records processed by zombies: consumers the coordinator had removed
    /// or replaced (fenced), still working on what they held.
    pub zombie_records: u64,
    /// Consumers that exited on a fatal group error, with when: "c3 at
    /// 61.002s" (they do not come back, and convergence is judged
    /// without them).
    pub fatal_exits: Vec<String>,
    /// Partition-seconds of zombie processing.
    pub zombie_partition_seconds: f64,
    /// Per kind of rebalance: how many, and what they cost.
    pub rebalance_costs: Vec<RebalanceCost>,
    /// Invariant violations (the first 100).
    pub violations: Vec<Violation>,
    /// Events handled by the engine.
    pub engine_events: u64,
    /// Digest of every fact of the run: equal digests, equal runs.
    pub trace_digest: String,
}

/// The outcome of one run.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The JSON summary.
    pub summary: Summary,
    /// The time series.
    pub samples: Vec<Sample>,
    /// The event log.
    pub events: Vec<LogRow>,
    /// Spans during which the group rebalanced, with their causes.
    pub rebalance_spans: Vec<RebalanceSpan>,
    /// Timeline events: (seconds, label) for chart markers.
    pub markers: Vec<(f64, String)>,
    /// Ownership spans of subscribed partitions: (row label, consumer,
    /// start s, end s), rows in topic then partition order.
    pub ownership: Vec<(usize, usize, f64, f64)>,
    /// Row labels (`topic-partition`) of the ownership chart.
    pub partition_names: Vec<String>,
    /// Consumer names, by index.
    pub consumer_names: Vec<String>,
    /// Ownership chart overlays: (row, consumer, start s, end s) where a
    /// crashed member still held the partition in the coordinator.
    pub orphaned: Vec<(usize, usize, f64, f64)>,
    /// (consumer, start s, end s) where a consumer was paused or stalled.
    pub blocked: Vec<(usize, f64, f64)>,
    /// `consumers.csv`.
    pub consumer_rows: Vec<ConsumerRow>,
    /// `partitions.csv`.
    pub partition_rows: Vec<PartitionRow>,
    /// The command that replays this run.
    pub replay: String,
    /// The scenario's `[scenario] description` (empty if none).
    pub description: String,
}

/// A rebalance: from entering PreparingRebalance until Stable (or Empty).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RebalanceSpan {
    /// Start (s).
    pub start_s: f64,
    /// End (s; the end of the run if it never settled).
    pub end_s: f64,
    /// `join`, `leave`, `rejoin`, `session expiry`, `max.poll.interval
    /// expiry`, `static replacement`, `sync timeout`.
    pub kind: &'static str,
    /// What started it, in a few words: `session expiry c2`, `join c3`,
    /// `leave c1`, `max.poll.interval expiry c1`, `rejoin c4`,
    /// `sync timeout`, `static replacement c2`.
    pub cause: String,
    /// Partitions that stopped being processed at some point in it.
    pub partitions_stopped: usize,
    /// The most partitions unowned at once during it.
    pub max_unowned: u64,
    /// Unowned partition-seconds during it.
    pub unowned_partition_seconds: f64,
}

/// The kind and short cause of a rebalance from the coordinator's reason,
/// naming the consumer behind the member id (`<client.id>-<suffix>`).
fn rebalance_label(sim: &Simulation, at: Time, reason: &str) -> (&'static str, String) {
    let member = reason
        .split_whitespace()
        .find(|w| w.contains('-'))
        .unwrap_or_default();
    let consumer = member
        .rsplit_once('-')
        .map_or(member, |(client, _)| client)
        .to_string();
    let poll_timeout = || {
        sim.metrics.poll_timeouts().iter().any(|&(t, c)| {
            sim.consumer_names[c] == consumer && t <= at && at.since(t).micros() <= 1_000_000
        })
    };
    let kind = rebalance_kind(reason, poll_timeout());
    let cause = if consumer.is_empty() || kind == "sync timeout" {
        kind.to_string()
    } else {
        format!("{kind} {consumer}")
    };
    (kind, cause)
}

/// The kind of a rebalance, from the coordinator's reason.
fn rebalance_kind(reason: &str, after_poll_timeout: bool) -> &'static str {
    if reason.contains("rebalance timeout") {
        "rebalance timeout"
    } else if reason.contains("online upgrade") || reason.contains("online downgrade") {
        "migration"
    } else if reason.contains("session expired") {
        "session expiry"
    } else if reason.contains(" left") && after_poll_timeout {
        "max.poll.interval expiry"
    } else if reason.contains(" left") {
        "leave"
    } else if reason.contains("replaced") {
        "static replacement"
    } else if reason.contains("rejoined") {
        "rejoin"
    } else if reason.contains("joined") {
        "join"
    } else if reason.contains("did not sync") {
        "sync timeout"
    } else if reason.contains("partitions were added") {
        "partitions added"
    } else if reason.contains("changed its subscription") {
        "subscription change"
    } else {
        "other"
    }
}

/// What the rebalances of one kind cost, added up (`summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RebalanceCost {
    /// `join`, `leave`, `rejoin`, `session expiry`, ...
    pub kind: String,
    /// Rebalances of this kind.
    pub rebalances: usize,
    /// Partitions that stopped being processed, summed over them.
    pub partitions_stopped: usize,
    /// Unowned partition-seconds during them.
    pub unowned_partition_seconds: f64,
    /// The most partitions unowned at once in any of them.
    pub max_unowned: u64,
}

/// Per kind: the rebalances of `summary.rebalances` by their own cause
/// (`kinds`, one per generation formed or epoch bumped), and the cost of
/// the periods of rebalancing each kind started (`spans`). On the consumer
/// protocol one period can hold several epoch bumps (a leave, then the
/// restarted member's join): each is counted under its own kind, the
/// period's cost under the kind that started it.
fn rebalance_costs(kinds: &[&'static str], spans: &[RebalanceSpan]) -> Vec<RebalanceCost> {
    type ByKind = std::collections::BTreeMap<&'static str, RebalanceCost>;
    fn row<'a>(by_kind: &'a mut ByKind, kind: &'static str) -> &'a mut RebalanceCost {
        by_kind.entry(kind).or_insert_with(|| RebalanceCost {
            kind: kind.to_string(),
            rebalances: 0,
            partitions_stopped: 0,
            unowned_partition_seconds: 0.0,
            max_unowned: 0,
        })
    }
    let mut by_kind = ByKind::new();
    for &kind in kinds {
        row(&mut by_kind, kind).rebalances += 1;
    }
    for s in spans {
        let cost = row(&mut by_kind, s.kind);
        cost.partitions_stopped += s.partitions_stopped;
        cost.unowned_partition_seconds =
            crate::metrics::round3(cost.unowned_partition_seconds + s.unowned_partition_seconds);
        cost.max_unowned = cost.max_unowned.max(s.max_unowned);
    }
    by_kind.into_values().collect()
}

/// One row of `consumers.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsumerRow {
    /// Consumer name.
    pub consumer: String,
    /// Record processings, duplicates included.
    pub records_processed: u64,
    /// Records it processed that had been processed before.
    pub duplicates: u64,
    /// Sum over partitions of the time it owned them (s).
    pub owned_partition_seconds: f64,
    /// Time its running process waited on the group protocol (joins,
    /// syncs, offset fetches) without consuming (s).
    pub rebalance_wait_s: f64,
    /// Commits that failed.
    pub commits_failed: u64,
}

/// One row of `partitions.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartitionRow {
    /// `topic-partition`.
    pub partition: String,
    /// Owners over time: `c1 0.000-60.000; c3 63.204-240.000` (seconds).
    pub owners: String,
    /// Times the partition changed hands or was given up.
    pub ownership_changes: usize,
    /// Largest committed-offset lag sampled.
    pub lag_max: u64,
    /// Records of it processed more than once.
    pub duplicates: u64,
}

pub(super) fn build(sim: Simulation) -> RunResult {
    let scenario = &sim.scenario;
    let samples = sim.metrics.samples().to_vec();
    let end = Time::ZERO + scenario.duration;
    let disruptions = disruptions(&sim, &samples);
    let last_fault = Time::ZERO + scenario.last_fault_end();
    let converged_at = sim.convergence.converged_since(last_fault);
    let capacity = capacity(&sim, &samples);
    // Invariant 5 is only decided once its bound has passed.
    let converged = sim
        .convergence
        .was_checked()
        .then(|| sim.checker.violations().iter().all(|v| v.invariant != 5));
    let summary = Summary {
        scenario: scenario.name.clone(),
        seed: sim.seed,
        duration_ms: scenario.duration.millis(),
        approximation: Approximation::of(scenario.fetch_quantum),
        assignor: sim.last_protocol.clone().unwrap_or_else(|| {
            sim.scenario
                .group
                .assignors
                .first()
                .map_or_else(String::new, |a| a.as_str().to_string())
        }),
        rebalances: sim.metrics.rebalances(),
        final_generation: sim.coordinator.generation(),
        final_group_type: if sim.coordinator.is_consumer_group() {
            "consumer".to_string()
        } else {
            "classic".to_string()
        },
        time_in_rebalance_ms: sim.metrics.time_in_rebalance().millis(),
        unowned_partition_seconds: sim.metrics.unowned_partition_seconds(),
        stalled_partition_seconds: sim.metrics.stalled_partition_seconds(),
        unavailable_partition_seconds: sim.metrics.unavailable_partition_seconds(end),
        max_lag: samples.iter().map(|s| s.lag_total).max().unwrap_or(0),
        max_partition_lag: samples.iter().map(|s| s.lag_max).max().unwrap_or(0),
        max_backlog: samples.iter().map(|s| s.backlog_total).max().unwrap_or(0),
        lag_growing: capacity.growing,
        backlog_trend_per_s: capacity.trend,
        processing_capacity_per_s: capacity.capacity,
        produce_rate_per_s: capacity.produce_rate,
        records_produced: produced_total(&sim, end),
        records_processed: sim.ledger.processed(),
        duplicates: sim.ledger.duplicates(),
        lost: sim.ledger.lost(),
        skipped_by_reset: sim.ledger.skipped(),
        skipped_in_added_partitions: sim.skipped_in_added,
        converged,
        // A group that broke invariant 5 did not converge, whatever it
        // did later: its time would only say where the run stopped.
        convergence_ms: converged_at
            .filter(|_| converged != Some(false))
            .map(|t| t.since(last_fault).millis()),
        convergence_bound_ms: scenario.convergence_bound.millis(),
        convergence_check_ms: (last_fault + scenario.convergence_bound).millis(),
        disruptions,
        max_unowned_partitions: sim.metrics.coverage().max_unowned(),
        zombie_records: sim.metrics.zombie_totals().0,
        fatal_exits: sim
            .metrics
            .fatal_exits()
            .iter()
            .map(|&(at, c)| format!("{} at {:.3}s", sim.consumer_names[c], at.as_secs_f64()))
            .collect(),
        zombie_partition_seconds: sim.metrics.zombie_totals().1,
        rebalance_costs: Vec::new(),
        violations: sim.checker.violations().to_vec(),
        engine_events: sim.events_handled,
        trace_digest: sim.log.digest().hex(),
    };
    let rebalance_spans: Vec<RebalanceSpan> = sim
        .metrics
        .rebalance_spans()
        .iter()
        .map(|r| RebalanceSpan {
            start_s: r.start.as_secs_f64(),
            end_s: r.end.unwrap_or(end).as_secs_f64(),
            kind: rebalance_label(&sim, r.start, &r.reason).0,
            cause: rebalance_label(&sim, r.start, &r.reason).1,
            partitions_stopped: r.partitions_stopped,
            max_unowned: r.max_unowned,
            unowned_partition_seconds: crate::metrics::round3(r.unowned_micros as f64 / 1e6),
        })
        .collect();
    let mut summary = summary;
    let kinds: Vec<&'static str> = sim
        .metrics
        .rebalance_causes()
        .iter()
        .map(|(at, reason)| rebalance_label(&sim, *at, reason).0)
        .collect();
    summary.rebalance_costs = rebalance_costs(&kinds, &rebalance_spans);
    let markers = faults(scenario)
        .into_iter()
        .map(|f| (f.at.as_secs_f64(), f.label))
        .collect();
    // Rows of the ownership chart: subscribed partitions in order.
    let mut row_of = vec![usize::MAX; sim.subscribed.len()];
    let mut partition_names = Vec::new();
    for (i, &s) in sim.subscribed.iter().enumerate() {
        if s {
            row_of[i] = partition_names.len();
            partition_names.push(sim.cluster.tp_name(sim.cluster.partition_at(i)));
        }
    }
    let ownership = sim
        .metrics
        .ownership()
        .spans()
        .iter()
        .filter(|s| row_of[s.partition] != usize::MAX)
        .map(|s| {
            (
                row_of[s.partition],
                s.consumer,
                s.start.as_secs_f64(),
                s.end.unwrap_or(end).as_secs_f64(),
            )
        })
        .collect();
    let orphaned = sim
        .metrics
        .coverage()
        .orphan_spans()
        .iter()
        .filter(|s| row_of[s.0] != usize::MAX)
        .map(|&(p, c, a, b)| (row_of[p], c, a.as_secs_f64(), b.as_secs_f64()))
        .collect();
    let blocked = sim
        .metrics
        .coverage()
        .blocked_spans()
        .iter()
        .map(|&(c, a, b)| (c, a.as_secs_f64(), b.unwrap_or(end).as_secs_f64()))
        .collect();
    let consumer_rows = consumer_rows(&sim, end);
    let partition_rows = partition_rows(&sim, &row_of, &partition_names, end);
    RunResult {
        orphaned,
        blocked,
        consumer_rows,
        partition_rows,
        ownership,
        partition_names,
        consumer_names: sim.consumer_names.clone(),
        replay: replay_command(&scenario.source, sim.seed, &scenario.overrides),
        description: scenario.description.clone(),
        summary,
        samples,
        events: sim.log.rows().to_vec(),
        rebalance_spans,
        markers,
    }
}

/// Groups timeline events into disruptions and measures each.
/// One fault of either timeline, for the disruption table and the chart
/// markers.
struct Fault {
    at: crate::sim::Duration,
    length: crate::sim::Duration,
    label: String,
}

/// The consumer and cluster faults merged in time order (consumer events
/// first at equal times, as they are scheduled).
fn faults(scenario: &crate::scenario::Scenario) -> Vec<Fault> {
    let mut all: Vec<Fault> = scenario
        .timeline
        .iter()
        .map(|e| Fault {
            at: e.at,
            length: e.action.length(),
            label: format!(
                "{} {}",
                e.action.name(),
                scenario.consumers[e.consumer].name
            ),
        })
        .collect();
    all.extend(scenario.cluster_timeline.iter().map(|e| Fault {
        at: e.at,
        length: e.action.length(),
        label: e.action.label(scenario),
    }));
    all.sort_by_key(|f| f.at);
    all
}

/// How far back before a disruption its backlog's usual level is taken
/// (s): the drain target.
const DRAIN_BASELINE_S: f64 = 10.0;

fn disruptions(sim: &Simulation, samples: &[Sample]) -> Vec<Disruption> {
    let scenario = &sim.scenario;
    let timeline = faults(scenario);
    let conv = &sim.convergence;
    let mut out = Vec::new();
    let mut k = 0;
    while k < timeline.len() {
        let start = Time::ZERO + timeline[k].at;
        let mut faults_end = start + timeline[k].length;
        let mut members = vec![k];
        // Events that start before the group recovered join this one.
        let end = Time::ZERO + scenario.duration;
        let recovery = loop {
            // Effects can trail their event (a leave takes hold at the next
            // poll): a break before the next event belongs to this one. An
            // event that never broke the group (a short stall) is over at
            // once as far as membership goes; its stalled partitions are
            // counted in stalled_partition_seconds.
            let window_end = timeline.get(k + 1).map_or(end, |n| Time::ZERO + n.at);
            let recovery = match conv.first_break(start, window_end.max(faults_end)) {
                None => Some(start),
                Some(broke) => conv.first_converged_from(broke.max(faults_end)),
            };
            match timeline.get(k + 1) {
                Some(next) if recovery.is_none_or(|r| Time::ZERO + next.at <= r) => {
                    k += 1;
                    members.push(k);
                    faults_end = faults_end.max(Time::ZERO + next.at + next.length);
                }
                _ => break recovery,
            }
        };
        k += 1;
        let at_s = start.as_secs_f64();
        // The next disruption's window is its own: nothing after it is
        // this one's peak or drain.
        let next_s = timeline
            .get(k)
            .map_or(f64::INFINITY, |n| n.at.as_secs_f64());
        let before = samples.iter().rev().find(|s| s.time_s <= at_s);
        let backlog_before = before.map_or(0, |s| s.backlog_total);
        // Drained once the group is whole and the faults are over (a broker
        // outage never breaks the group, but its backlog builds until the
        // election), back to the backlog's level before the event: the
        // highest of the samples in the DRAIN_BASELINE before it, so that
        // one low sample does not set a level the group never returns to.
        let baseline = samples
            .iter()
            .filter(|s| s.time_s <= at_s && s.time_s >= at_s - DRAIN_BASELINE_S)
            .map(|s| s.backlog_total)
            .max()
            .unwrap_or(backlog_before);
        let drained = recovery.and_then(|r| {
            let from = r.max(faults_end).as_secs_f64();
            samples
                .iter()
                .take_while(|s| s.time_s < next_s)
                .find(|s| s.time_s >= from && s.backlog_total <= baseline)
        });
        let until_s = drained.map_or(next_s, |s| s.time_s);
        let after = || {
            samples
                .iter()
                .filter(move |s| s.time_s >= at_s && s.time_s <= until_s && s.time_s < next_s)
        };
        out.push(Disruption {
            at_ms: start.millis(),
            causes: members
                .iter()
                .map(|&i| format!("{:.3}s {}", timeline[i].at.as_secs_f64(), timeline[i].label))
                .collect(),
            faults_end_ms: faults_end.millis(),
            converged_after_ms: recovery.map(|t| t.since(start).millis()),
            lag_before: before.map_or(0, |s| s.lag_total),
            peak_lag_after: after().map(|s| s.lag_total).max().unwrap_or(0),
            backlog_before,
            peak_backlog_after: after().map(|s| s.backlog_total).max().unwrap_or(0),
            drained_after_ms: drained.map(|s| ((s.time_s - at_s) * 1000.0).round() as u64),
        });
    }
    out
}

/// Whether the consumers keep up at the end of the run.
struct Capacity {
    growing: bool,
    trend: f64,
    capacity: Option<f64>,
    produce_rate: f64,
}

/// The backlog's least-squares slope over the last quarter of the run,
/// against what the running consumers can process.
fn capacity(sim: &Simulation, samples: &[Sample]) -> Capacity {
    let produce_rate: f64 = sim
        .cluster
        .topics
        .iter()
        .enumerate()
        .filter(|(t, _)| {
            let first = sim.cluster.topics[*t].first_index as usize;
            sim.subscribed.get(first).copied().unwrap_or(false)
        })
        // A shaped load: the rate at the end is what must be kept up with.
        .map(|(_, t)| t.rate.rate_at(Time::ZERO + sim.scenario.duration))
        .sum();
    let mut capacity = Some(0.0);
    for (c, config) in sim.consumers.iter().zip(&sim.scenario.consumers) {
        if !c.is_running() {
            continue;
        }
        let mean = crate::consumer::mean_time(&config.processing).micros();
        capacity = match (capacity, mean) {
            (_, 0) | (None, _) => None,
            (Some(sum), m) => Some(sum + 1e6 / m as f64),
        };
    }
    let from = sim.scenario.duration.as_secs_f64() * 0.75;
    let window: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s.time_s >= from)
        .map(|s| (s.time_s, s.backlog_total as f64))
        .collect();
    // Under a quantum longer than the sample interval the backlog rises
    // between fetches by design: the last sample of each whole quantum
    // (the same phase of each) shows the trend, all of them the sawtooth.
    let (window, enough) = match sim.scenario.fetch_quantum {
        Some(q) if q > sim.scenario.sample_interval => {
            // Samples of the same phase: two show a trend.
            (last_per_quantum(window, q, sim.scenario.duration), 2)
        }
        _ => (window, 3),
    };
    let trend = slope(&window);
    let rising = match (window.first(), window.last()) {
        (Some(a), Some(b)) => b.1 > a.1,
        _ => false,
    };
    // Noise of one batch here and there is not growth: the slope must be a
    // visible share of the produce rate.
    let growing = window.len() >= enough && rising && trend > 0.01 * produce_rate.max(1.0);
    Capacity {
        growing,
        trend: crate::metrics::round3(trend),
        capacity: capacity.map(crate::metrics::round3),
        produce_rate: crate::metrics::round3(produce_rate),
    }
}

/// The last of `points` (time in seconds, value) in each quantum `q` that
/// ends by `end` (a quantum cut off by the end of the run is left out), in
/// time order.
fn last_per_quantum(
    points: Vec<(f64, f64)>,
    q: crate::sim::Duration,
    end: crate::sim::Duration,
) -> Vec<(f64, f64)> {
    let q = q.micros().max(1);
    let period = |t: f64| (libm::round(t * 1e6) as u64) / q;
    let mut kept: Vec<(f64, f64)> = Vec::new();
    for p in points {
        if (period(p.0) + 1).saturating_mul(q) > end.micros() {
            break;
        }
        match kept.last_mut() {
            Some(last) if period(last.0) == period(p.0) => *last = p,
            _ => kept.push(p),
        }
    }
    kept
}

fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx == 0.0 { 0.0 } else { sxy / sxx }
}

fn consumer_rows(sim: &Simulation, end: Time) -> Vec<ConsumerRow> {
    let mut owned = vec![0u64; sim.consumer_names.len()];
    for span in sim.metrics.ownership().spans() {
        owned[span.consumer] += span.end.unwrap_or(end).since(span.start).micros();
    }
    sim.metrics
        .consumer_stats()
        .iter()
        .enumerate()
        .map(|(c, stats)| ConsumerRow {
            consumer: sim.consumer_names[c].clone(),
            records_processed: stats.records_processed,
            duplicates: stats.duplicates,
            owned_partition_seconds: crate::metrics::round3(owned[c] as f64 / 1e6),
            rebalance_wait_s: crate::metrics::round3(stats.rebalance_wait_micros as f64 / 1e6),
            commits_failed: stats.commits_failed,
        })
        .collect()
}

fn partition_rows(
    sim: &Simulation,
    row_of: &[usize],
    names: &[String],
    end: Time,
) -> Vec<PartitionRow> {
    let mut owners: Vec<Vec<String>> = vec![Vec::new(); names.len()];
    for span in sim.metrics.ownership().spans() {
        let row = row_of[span.partition];
        if row != usize::MAX {
            owners[row].push(format!(
                "{} {:.3}-{:.3}",
                sim.consumer_names[span.consumer],
                span.start.as_secs_f64(),
                span.end.unwrap_or(end).as_secs_f64()
            ));
        }
    }
    let mut rows = Vec::with_capacity(names.len());
    for (i, &row) in row_of.iter().enumerate() {
        if row == usize::MAX {
            continue;
        }
        rows.push(PartitionRow {
            partition: names[row].clone(),
            ownership_changes: owners[row].len(),
            owners: owners[row].join("; "),
            lag_max: sim.partition_lag_max[i],
            duplicates: sim.ledger.partition_duplicates(i),
        });
    }
    rows
}

fn produced_total(sim: &Simulation, end: Time) -> u64 {
    sim.subscribed
        .iter()
        .enumerate()
        .filter(|(_, s)| **s)
        .map(|(i, _)| sim.cluster.log_end_offset(sim.cluster.partition_at(i), end))
        .sum()
}

/// `rebalance-sim run FILE --seed N [--set k=v ...]`, shell-quoted.
pub fn replay_command(source: &str, seed: u64, overrides: &[String]) -> String {
    let mut cmd = format!("rebalance-sim run {} --seed {seed}", shell_quote(source));
    for o in overrides {
        cmd.push_str(" --set ");
        cmd.push_str(&shell_quote(o));
    }
    cmd
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
