//! Seed sweeps: one scenario over many seeds, run in parallel (rayon),
//! collected in seed order so the result is byte-identical for any number
//! of jobs, and for shards merged back together. Each seed keeps a row of
//! its summary's numbers (never its time series or events), so memory
//! grows with the seeds' rows, not with their runs.

mod expr;
mod report;
mod seeds;

pub use expr::{ExprError, FailIf, Stat, percentile};
pub use report::{
    FailingSeed, JUNIT_MARK, MergeError, ShardResult, SweepSummary, Verdict, junit, merge,
    read_shard,
};
pub use seeds::{MAX_SEEDS, SeedsError, Shard, parse_seeds};

use crate::{RunResult, Scenario, Simulation, SimulationError};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One seed's results: a row of `sweep.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedRow {
    /// The seed.
    pub seed: u64,
    /// Rebalances (generations formed, or group-epoch bumps).
    pub rebalances: u32,
    /// Time spent rebalancing (ms).
    pub time_in_rebalance_ms: u64,
    /// Unowned partition-seconds.
    pub unowned_partition_seconds: f64,
    /// Stalled partition-seconds.
    pub stalled_partition_seconds: f64,
    /// Unavailable partition-seconds (leader down).
    pub unavailable_partition_seconds: f64,
    /// Largest total lag sampled.
    pub max_lag: u64,
    /// Largest backlog sampled.
    pub max_backlog: u64,
    /// From the end of the last fault until the group converged for good
    /// (empty when it did not).
    pub convergence_ms: Option<u64>,
    /// The longest time a disruption's lag took to drain, from the end
    /// of its faults (0 without disruptions; empty when one never
    /// drained).
    pub drain_ms: Option<u64>,
    /// Records processed more than once.
    pub duplicates: u64,
    /// Records committed past without being processed.
    pub lost: u64,
    /// Records processed by zombies.
    pub zombie_records: u64,
    /// Invariant violations.
    pub violations: usize,
    /// The first violation's invariant (empty when none).
    pub first_violation: Option<u8>,
    /// Engine events.
    pub engine_events: u64,
    /// The run's trace digest.
    pub trace_digest: String,
}

impl SeedRow {
    /// The row of one run.
    pub fn of(seed: u64, r: &RunResult) -> SeedRow {
        let s = &r.summary;
        SeedRow {
            seed,
            rebalances: s.rebalances,
            time_in_rebalance_ms: s.time_in_rebalance_ms,
            unowned_partition_seconds: s.unowned_partition_seconds,
            stalled_partition_seconds: s.stalled_partition_seconds,
            unavailable_partition_seconds: s.unavailable_partition_seconds,
            max_lag: s.max_lag,
            max_backlog: s.max_backlog,
            convergence_ms: s.convergence_ms,
            drain_ms: s
                .disruptions
                .iter()
                .try_fold(0u64, |worst, d| d.drained_after_ms.map(|t| worst.max(t))),
            duplicates: s.duplicates,
            lost: s.lost,
            zombie_records: s.zombie_records,
            violations: s.violations.len(),
            first_violation: s.violations.first().map(|v| v.invariant),
            engine_events: s.engine_events,
            trace_digest: s.trace_digest.clone(),
        }
    }

    /// The columns of `sweep.csv`, in order.
    pub const COLUMNS: [&'static str; 17] = [
        "seed",
        "rebalances",
        "time_in_rebalance_ms",
        "unowned_partition_seconds",
        "stalled_partition_seconds",
        "unavailable_partition_seconds",
        "max_lag",
        "max_backlog",
        "convergence_ms",
        "drain_ms",
        "duplicates",
        "lost",
        "zombie_records",
        "violations",
        "first_violation",
        "engine_events",
        "trace_digest",
    ];

    /// The numeric fields statistics are taken over, by name.
    pub const FIELDS: [&'static str; 14] = [
        "rebalances",
        "time_in_rebalance_ms",
        "unowned_partition_seconds",
        "stalled_partition_seconds",
        "unavailable_partition_seconds",
        "max_lag",
        "max_backlog",
        "convergence_ms",
        "drain_ms",
        "duplicates",
        "lost",
        "zombie_records",
        "violations",
        "engine_events",
    ];

    /// Field `name` as a number. A run that never converged (or drained)
    /// counts as converging at infinity (the worst), so percentiles see it.
    pub fn value(&self, name: &str) -> Option<f64> {
        Some(match name {
            "rebalances" => f64::from(self.rebalances),
            "time_in_rebalance_ms" => self.time_in_rebalance_ms as f64,
            "unowned_partition_seconds" => self.unowned_partition_seconds,
            "stalled_partition_seconds" => self.stalled_partition_seconds,
            "unavailable_partition_seconds" => self.unavailable_partition_seconds,
            "max_lag" => self.max_lag as f64,
            "max_backlog" => self.max_backlog as f64,
            "convergence_ms" => self.convergence_ms.map_or(f64::INFINITY, |v| v as f64),
            "drain_ms" => self.drain_ms.map_or(f64::INFINITY, |v| v as f64),
            "duplicates" => self.duplicates as f64,
            "lost" => self.lost as f64,
            "zombie_records" => self.zombie_records as f64,
            "violations" => self.violations as f64,
            "engine_events" => self.engine_events as f64,
            _ => return None,
        })
    }
}

/// The statistics of one field over a sweep's seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldStats {
    /// Field name.
    pub field: String,
    /// Nearest-rank percentiles and extremes (`null`: infinite, a seed
    /// that never converged).
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Smallest.
    pub min: Option<f64>,
    /// Largest.
    pub max: Option<f64>,
    /// Average (`null` when some value is infinite).
    pub mean: Option<f64>,
}

/// Statistics of every field over `rows`.
pub fn field_stats(rows: &[SeedRow]) -> Vec<FieldStats> {
    let finite = |v: f64| v.is_finite().then_some(crate::metrics::round3(v));
    SeedRow::FIELDS
        .iter()
        .map(|&f| {
            let values: Vec<f64> = rows.iter().filter_map(|r| r.value(f)).collect();
            let stat = |s: Stat| finite(s.of(&values));
            FieldStats {
                field: f.to_string(),
                p50: stat(Stat::Percentile(50.0)),
                p90: stat(Stat::Percentile(90.0)),
                p99: stat(Stat::Percentile(99.0)),
                min: stat(Stat::Min),
                max: stat(Stat::Max),
                mean: stat(Stat::Mean),
            }
        })
        .collect()
}

/// Runs `scenario` with each of `seeds` on `jobs` threads; `progress` is
/// called after each run with how many are done, and `keep` with each
/// run's whole result (to write or inspect it: it is dropped after).
/// Rows come back in the order of `seeds`, whatever the jobs.
pub fn run_seeds(
    scenario: &Scenario,
    seeds: &[u64],
    jobs: usize,
    progress: &(dyn Fn(u64) + Sync),
    keep: &(dyn Fn(u64, &RunResult) + Sync),
) -> Result<Vec<SeedRow>, SimulationError> {
    scenario.validate()?;
    let scenario = Arc::new(scenario.clone());
    let done = std::sync::atomic::AtomicU64::new(0);
    let one = |seed: u64| -> Result<SeedRow, SimulationError> {
        let r = Simulation::new((*scenario).clone(), seed)?.run();
        keep(seed, &r);
        let row = SeedRow::of(seed, &r);
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(n);
        Ok(row)
    };
    if jobs == 1 {
        return seeds.iter().map(|&s| one(s)).collect();
    }
    with_jobs(jobs, || seeds.par_iter().map(|&s| one(s)).collect())
}

/// Runs `f` on a pool of `jobs` threads (its parallel iterators use
/// them); on rayon's global pool if the system refuses the threads, so
/// the results are the same, only the parallelism differs.
pub(crate) fn with_jobs<R: Send>(jobs: usize, f: impl FnOnce() -> R + Send) -> R {
    match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_in_seed_order_for_any_jobs() {
        let s = Scenario::from_toml(
            "[scenario]\nduration = \"20s\"\n[[topics]]\nname = \"t\"\npartitions = 3\nproduce_rate = 30\n[consumers]\ncount = 2\n",
            "t.toml",
            "t",
            &[],
        )
        .unwrap();
        let seeds = [5, 1, 3, 2];
        let one = run_seeds(&s, &seeds, 1, &|_| {}, &|_, _| {}).unwrap();
        let two = run_seeds(&s, &seeds, 2, &|_| {}, &|_, _| {}).unwrap();
        assert_eq!(one, two);
        assert_eq!(one.iter().map(|r| r.seed).collect::<Vec<_>>(), seeds);
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(&one[0]).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(
            text.lines().next().unwrap(),
            SeedRow::COLUMNS.join(","),
            "COLUMNS is the header of sweep.csv"
        );
        let stats = field_stats(&one);
        assert_eq!(stats.len(), SeedRow::FIELDS.len());
    }
}
