//! Comparisons: several variants of a scenario (another assignor,
//! protocol, setting or file) run on the same seeds, so differences come
//! from the variants, not from the draws; summarised per metric as the
//! median and 95th percentile over the seeds with each variant's ratio to
//! the first, and over time as the median with a p5–p95 band.

mod table;
mod variants;

pub use table::{console_table, markdown_table, shown};
pub use variants::{VaryError, parse_vary, vary_combinations};

use crate::sweep::{FailingSeed, SeedRow, percentile};
use crate::{Scenario, Simulation, SimulationError};
use rayon::prelude::*;
use serde::Serialize;

/// One variant: its name and the scenario it runs.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Its name in tables and charts.
    pub name: String,
    /// The scenario, with the variant's overrides applied.
    pub scenario: Scenario,
}

/// The metrics of the comparison table: a [`SeedRow`] field, its label,
/// and the unit it is shown in.
pub const METRICS: [(&str, &str); 9] = [
    ("rebalances", "rebalances"),
    ("time_in_rebalance_ms", "time in rebalance (s)"),
    ("unowned_partition_seconds", "unowned partition-s"),
    ("max_lag", "peak lag (records)"),
    ("drain_ms", "time to drain lag (s)"),
    ("convergence_ms", "convergence (s)"),
    ("duplicates", "duplicates"),
    ("lost", "lost"),
    ("violations", "violations"),
];

/// Whether `field` is in milliseconds (shown in seconds).
pub fn is_millis(field: &str) -> bool {
    field.ends_with("_ms")
}

/// A value over time across seeds: the median and the p5–p95 band at
/// each sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    /// Sample times (s).
    pub time_s: Vec<f64>,
    /// 5th percentile over the seeds.
    pub p5: Vec<f64>,
    /// Median.
    pub p50: Vec<f64>,
    /// 95th percentile.
    pub p95: Vec<f64>,
}

impl Band {
    /// The band of `runs` (one series per seed, all sampled at `time_s`).
    fn of(time_s: Vec<f64>, runs: &[Vec<f64>]) -> Band {
        let at = |i: usize, p: f64| {
            let values: Vec<f64> = runs.iter().filter_map(|r| r.get(i).copied()).collect();
            if values.is_empty() {
                0.0
            } else {
                percentile(&values, p)
            }
        };
        let n = time_s.len();
        Band {
            p5: (0..n).map(|i| at(i, 5.0)).collect(),
            p50: (0..n).map(|i| at(i, 50.0)).collect(),
            p95: (0..n).map(|i| at(i, 95.0)).collect(),
            time_s,
        }
    }
}

/// One variant's results over the seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantResult {
    /// Its name.
    pub name: String,
    /// The scenario file it ran.
    pub source: String,
    /// The overrides that make it (`--set` arguments included).
    pub overrides: Vec<String>,
    /// The opt-in approximation it ran with; absent when exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximation: Option<crate::simulation::Approximation>,
    /// One row per seed, in seed order.
    #[serde(skip)]
    pub rows: Vec<SeedRow>,
    /// Records processed per second over time.
    pub throughput: Band,
    /// The backlog over time: records produced, not yet processed (the
    /// lag without the sawtooth of commits).
    pub backlog: Band,
    /// Its seeds that violated an invariant.
    pub failing: Vec<FailingSeed>,
}

/// One metric of one variant: a row of `compare.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRow {
    /// The metric ([`SeedRow`] field).
    pub metric: String,
    /// The variant.
    pub variant: String,
    /// Median over the seeds (`null`: infinite, a seed never converged or
    /// drained).
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// Smallest.
    pub min: Option<f64>,
    /// Largest.
    pub max: Option<f64>,
    /// The median divided by the first variant's (1 when both are 0;
    /// `null` when the first's is 0 and this one's not, or either is
    /// infinite).
    pub ratio_to_first: Option<f64>,
}

/// `compare.json`: the whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The first variant's scenario name.
    pub scenario: String,
    /// The seeds every variant ran, in order.
    pub seeds: Vec<u64>,
    /// The variants, in order.
    pub variants: Vec<VariantResult>,
    /// Statistics per metric and variant, metric by metric.
    pub metrics: Vec<MetricRow>,
}

impl Comparison {
    /// True when some run violated an invariant.
    pub fn failed(&self) -> bool {
        self.variants.iter().any(|v| !v.failing.is_empty())
    }

    /// The row of `metric` for variant `v`.
    pub fn metric(&self, metric: &str, variant: &str) -> Option<&MetricRow> {
        self.metrics
            .iter()
            .find(|m| m.metric == metric && m.variant == variant)
    }
}

/// What one run keeps: its row and the two series charted.
struct RunKeep {
    row: SeedRow,
    time_s: Vec<f64>,
    processed: Vec<f64>,
    backlog: Vec<f64>,
}

/// Runs every variant on every seed (`jobs` at once) and compares them;
/// `progress` is called after each run with how many are done.
pub fn compare(
    variants: &[Variant],
    seeds: &[u64],
    jobs: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Comparison, SimulationError> {
    for v in variants {
        v.scenario.validate()?;
    }
    let done = std::sync::atomic::AtomicU64::new(0);
    let pairs: Vec<(usize, u64)> = (0..variants.len())
        .flat_map(|v| seeds.iter().map(move |&s| (v, s)))
        .collect();
    let one = |&(v, seed): &(usize, u64)| -> Result<RunKeep, SimulationError> {
        let r = Simulation::new(variants[v].scenario.clone(), seed)?.run();
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(n);
        Ok(RunKeep {
            row: SeedRow::of(seed, &r),
            time_s: r.samples.iter().map(|s| s.time_s).collect(),
            processed: r.samples.iter().map(|s| s.processed_per_s).collect(),
            backlog: r.samples.iter().map(|s| s.backlog_total as f64).collect(),
        })
    };
    let runs: Vec<RunKeep> = if jobs <= 1 {
        pairs.iter().map(one).collect::<Result<_, _>>()?
    } else {
        crate::sweep::with_jobs(jobs, || pairs.par_iter().map(one).collect::<Result<_, _>>())?
    };
    let mut results = Vec::new();
    for (i, v) in variants.iter().enumerate() {
        let mine = &runs[i * seeds.len()..(i + 1) * seeds.len()];
        let time_s = mine.first().map(|r| r.time_s.clone()).unwrap_or_default();
        let processed: Vec<Vec<f64>> = mine.iter().map(|r| r.processed.clone()).collect();
        let backlog: Vec<Vec<f64>> = mine.iter().map(|r| r.backlog.clone()).collect();
        let rows: Vec<SeedRow> = mine.iter().map(|r| r.row.clone()).collect();
        let failing = FailingSeed::of(&v.scenario, &rows);
        results.push(VariantResult {
            name: v.name.clone(),
            source: v.scenario.source().to_string(),
            overrides: v.scenario.overrides().to_vec(),
            approximation: crate::simulation::Approximation::of(v.scenario.fetch_quantum),
            throughput: Band::of(time_s.clone(), &processed),
            backlog: Band::of(time_s, &backlog),
            rows,
            failing,
        });
    }
    let metrics = metric_rows(&results);
    Ok(Comparison {
        scenario: variants
            .first()
            .map(|v| v.scenario.name.clone())
            .unwrap_or_default(),
        seeds: seeds.to_vec(),
        variants: results,
        metrics,
    })
}

/// Statistics of every metric of every variant, metric by metric.
fn metric_rows(variants: &[VariantResult]) -> Vec<MetricRow> {
    let finite = |v: f64| v.is_finite().then_some(crate::metrics::round3(v));
    let mut out = Vec::new();
    for (metric, _) in METRICS {
        let mut first_p50: Option<Option<f64>> = None;
        for v in variants {
            let values: Vec<f64> = v.rows.iter().filter_map(|r| r.value(metric)).collect();
            let stat = |p: f64| {
                if values.is_empty() {
                    None
                } else {
                    finite(percentile(&values, p))
                }
            };
            let p50 = stat(50.0);
            let base = *first_p50.get_or_insert(p50);
            out.push(MetricRow {
                metric: metric.to_string(),
                variant: v.name.clone(),
                p50,
                p95: stat(95.0),
                min: stat(0.0),
                max: stat(100.0),
                ratio_to_first: ratio(p50, base),
            });
        }
    }
    out
}

/// `value / base`: 1 when both are 0, none when only the base is 0 or
/// either is missing (infinite).
pub fn ratio(value: Option<f64>, base: Option<f64>) -> Option<f64> {
    match (value, base) {
        (Some(v), Some(b)) if b != 0.0 => Some(crate::metrics::round3(v / b)),
        (Some(0.0), Some(_)) => Some(1.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_to_the_first() {
        assert_eq!(ratio(Some(3.0), Some(2.0)), Some(1.5));
        assert_eq!(ratio(Some(0.0), Some(0.0)), Some(1.0));
        assert_eq!(ratio(Some(1.0), Some(0.0)), None);
        assert_eq!(ratio(None, Some(2.0)), None);
        assert_eq!(ratio(Some(2.0), None), None);
    }

    #[test]
    fn a_band_takes_percentiles_per_sample() {
        let runs = vec![vec![1.0, 10.0], vec![2.0, 20.0], vec![3.0, 30.0]];
        let b = Band::of(vec![0.0, 1.0], &runs);
        assert_eq!(b.p50, [2.0, 20.0]);
        assert_eq!(b.p5, [1.0, 10.0]);
        assert_eq!(b.p95, [3.0, 30.0]);
    }

    #[test]
    fn variants_share_seeds_and_keep_their_order() {
        let base = "[scenario]\nduration = \"30s\"\n[[topics]]\nname = \"t\"\npartitions = 6\nproduce_rate = 60\n[consumers]\ncount = 3\n[[timeline]]\nat = \"10s\"\naction = \"crash\"\nconsumer = \"c1\"\n";
        let load = |o: &[&str]| {
            let o: Vec<String> = o.iter().map(|s| s.to_string()).collect();
            Scenario::from_toml(base, "t.toml", "t", &o).unwrap()
        };
        let variants = vec![
            Variant {
                name: "range".into(),
                scenario: load(&[]),
            },
            Variant {
                name: "coop".into(),
                scenario: load(&["group.assignor=cooperative-sticky"]),
            },
        ];
        let c = compare(&variants, &[3, 4], 2, &|_| {}).unwrap();
        assert_eq!(c.variants.len(), 2);
        for v in &c.variants {
            assert_eq!(v.rows.iter().map(|r| r.seed).collect::<Vec<_>>(), [3, 4]);
        }
        let one = compare(&variants, &[3, 4], 1, &|_| {}).unwrap();
        assert_eq!(one, c, "any number of jobs");
        let r = c.metric("rebalances", "range").unwrap();
        assert_eq!(r.ratio_to_first, Some(1.0));
        assert_eq!(c.metrics.len(), METRICS.len() * 2);
    }
}
