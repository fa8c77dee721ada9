//! Everything a run measured, ready for the report writers.

use super::Simulation;
use crate::check::Violation;
use crate::metrics::{LogRow, Sample};
use crate::sim::Time;
use serde::Serialize;

/// How the group fared after one timeline event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disruption {
    /// When the event happened (ms).
    pub at_ms: u64,
    /// The action (`crash`, `pause`, ...).
    pub action: &'static str,
    /// The consumer it hit.
    pub consumer: String,
    /// Time until the group was converged again (ms); null if it never was.
    pub converged_after_ms: Option<u64>,
    /// Largest total lag in the 30 s before the event.
    pub lag_before: u64,
    /// Largest total lag from the event until it drained (or the end).
    pub peak_lag_after: u64,
    /// Time until total lag was back to `lag_before` (ms); null if never.
    pub drained_after_ms: Option<u64>,
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
    /// Assignor used by the group leader.
    pub assignor: String,
    /// Times the group entered PreparingRebalance.
    pub rebalances: u32,
    /// The generation at the end.
    pub final_generation: i32,
    /// Time spent in PreparingRebalance or CompletingRebalance (ms).
    pub time_in_rebalance_ms: u64,
    /// Integral over time of subscribed partitions nobody consumed.
    pub unowned_partition_seconds: f64,
    /// Largest total lag sampled.
    pub max_lag: u64,
    /// Largest single-partition lag sampled.
    pub max_partition_lag: u64,
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
    /// Whether invariant 5 (convergence) was verified: true, false, or null when the run ended too early to tell.
    pub converged: Option<bool>,
    /// Time from the end of the last fault until the group was converged for
    /// good (ms); null if it was not converged at the end.
    pub convergence_ms: Option<u64>,
    /// Per timeline event: recovery times.
    pub disruptions: Vec<Disruption>,
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
    /// Spans during which the group rebalanced (seconds).
    pub rebalance_spans: Vec<(f64, f64)>,
    /// Timeline events: (seconds, label) for chart markers.
    pub markers: Vec<(f64, String)>,
    /// Ownership spans of subscribed partitions: (row label, consumer,
    /// start s, end s), rows in topic then partition order.
    pub ownership: Vec<(usize, usize, f64, f64)>,
    /// Row labels (`topic-partition`) of the ownership chart.
    pub partition_names: Vec<String>,
    /// Consumer names, by index.
    pub consumer_names: Vec<String>,
    /// The command that replays this run.
    pub replay: String,
}

const LAG_BASELINE_WINDOW_S: f64 = 30.0;

pub(super) fn build(sim: Simulation) -> RunResult {
    let scenario = &sim.scenario;
    let samples = sim.metrics.samples().to_vec();
    let end = Time::ZERO + scenario.duration;
    let disruptions = scenario
        .timeline
        .iter()
        .enumerate()
        .map(|(k, e)| {
            let at = Time::ZERO + e.at;
            let at_s = at.as_secs_f64();
            // Up to the next timeline event (or the end of this one's stall).
            let until = scenario
                .timeline
                .get(k + 1)
                .map_or(end, |n| Time::ZERO + n.at)
                .max(at + e.action.length());
            let lag_before = samples
                .iter()
                .filter(|s| s.time_s <= at_s && s.time_s >= at_s - LAG_BASELINE_WINDOW_S)
                .map(|s| s.lag_total)
                .max()
                .unwrap_or(0);
            let converged_at = sim.convergence.recovery_after(at, until);
            // Lag counts as drained once the group is whole again and the
            // total is back to what it was before the event.
            let drained = converged_at.and_then(|c| {
                let from = c.as_secs_f64().max(at_s + e.action.length().as_secs_f64());
                samples
                    .iter()
                    .filter(|s| s.time_s >= from)
                    .find(|s| s.lag_total <= lag_before)
            });
            let until_s = drained.map_or(f64::INFINITY, |s| s.time_s);
            let peak_lag_after = samples
                .iter()
                .filter(|s| s.time_s >= at_s && s.time_s <= until_s)
                .map(|s| s.lag_total)
                .max()
                .unwrap_or(0);
            Disruption {
                at_ms: at.millis(),
                action: e.action.name(),
                consumer: scenario.consumers[e.consumer].name.clone(),
                converged_after_ms: converged_at.map(|t| t.since(at).millis()),
                lag_before,
                peak_lag_after,
                drained_after_ms: drained.map(|s| ((s.time_s - at_s) * 1000.0).round() as u64),
            }
        })
        .collect();
    let last_fault = Time::ZERO + scenario.last_fault_end();
    let converged_at = sim.convergence.converged_since(last_fault);
    // Invariant 5 is only decided once its bound has passed.
    let converged = sim
        .convergence
        .was_checked()
        .then(|| sim.checker.violations().iter().all(|v| v.invariant != 5));
    let summary = Summary {
        scenario: scenario.name.clone(),
        seed: sim.seed,
        duration_ms: scenario.duration.millis(),
        assignor: sim.assignor.name().to_string(),
        rebalances: sim.metrics.rebalances(),
        final_generation: sim.coordinator.generation(),
        time_in_rebalance_ms: sim.metrics.time_in_rebalance().millis(),
        unowned_partition_seconds: sim.metrics.unowned_partition_seconds(),
        max_lag: samples.iter().map(|s| s.lag_total).max().unwrap_or(0),
        max_partition_lag: samples.iter().map(|s| s.lag_max).max().unwrap_or(0),
        records_produced: produced_total(&sim, end),
        records_processed: sim.ledger.processed(),
        duplicates: sim.ledger.duplicates(),
        lost: sim.ledger.lost(),
        skipped_by_reset: sim.ledger.skipped(),
        converged,
        convergence_ms: converged_at.map(|t| t.since(last_fault).millis()),
        disruptions,
        violations: sim.checker.violations().to_vec(),
        engine_events: sim.events_handled,
        trace_digest: sim.log.digest().hex(),
    };
    let rebalance_spans = sim
        .metrics
        .rebalance_spans()
        .iter()
        .map(|&(a, b)| (a.as_secs_f64(), b.unwrap_or(end).as_secs_f64()))
        .collect();
    let markers = scenario
        .timeline
        .iter()
        .map(|e| {
            (
                e.at.as_secs_f64(),
                format!(
                    "{} {}",
                    e.action.name(),
                    scenario.consumers[e.consumer].name
                ),
            )
        })
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
    RunResult {
        ownership,
        partition_names,
        consumer_names: sim.consumer_names.clone(),
        replay: replay_command(&scenario.source, sim.seed, &scenario.overrides),
        summary,
        samples,
        events: sim.log.rows().to_vec(),
        rebalance_spans,
        markers,
    }
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
