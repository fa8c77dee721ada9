//! What a sweep writes: `sweep.csv` (one row per seed, in seed order),
//! `sweep.json` (statistics per field, failing seeds with the command
//! that replays each, the `--fail-if` verdict), and JUnit XML.

use super::{FailIf, FieldStats, SeedRow, field_stats};
use crate::Scenario;
use crate::simulation::Approximation;
use serde::Serialize;

/// A failing seed and how to replay it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FailingSeed {
    /// The seed.
    pub seed: u64,
    /// Its first violated invariant.
    pub invariant: u8,
    /// The command that replays it.
    pub replay: String,
}

impl FailingSeed {
    /// The seeds of `rows` that violated an invariant, each with the
    /// command that replays it on `scenario`.
    pub fn of(scenario: &Scenario, rows: &[SeedRow]) -> Vec<FailingSeed> {
        rows.iter()
            .filter_map(|r| {
                r.first_violation.map(|invariant| FailingSeed {
                    seed: r.seed,
                    invariant,
                    replay: crate::simulation::replay_command(
                        scenario.source(),
                        r.seed,
                        scenario.overrides(),
                    ),
                })
            })
            .collect()
    }
}

/// The `--fail-if` verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The expression as given.
    pub expression: String,
    /// It holds: the sweep fails.
    pub holds: bool,
    /// The conditions that hold, with their values.
    pub because: Vec<String>,
}

/// `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepSummary {
    /// Scenario name.
    pub scenario: String,
    /// Seeds run, in order.
    pub seeds: usize,
    /// First and last seed run.
    pub first_seed: Option<u64>,
    /// Last seed run.
    pub last_seed: Option<u64>,
    /// The opt-in approximation every seed ran with; absent when exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximation: Option<Approximation>,
    /// Statistics per field over the seeds.
    pub fields: Vec<FieldStats>,
    /// Seeds that violated an invariant.
    pub failing: Vec<FailingSeed>,
    /// The `--fail-if` verdict, if one was given.
    pub fail_if: Option<Verdict>,
}

impl SweepSummary {
    /// The summary of `rows` (a sweep, or merged shards, in seed order).
    pub fn of(scenario: &Scenario, rows: &[SeedRow], fail_if: Option<&FailIf>) -> SweepSummary {
        Self::from_rows(
            &scenario.name,
            Approximation::of(scenario.fetch_quantum),
            rows,
            FailingSeed::of(scenario, rows),
            fail_if,
        )
    }

    /// The summary of `rows` (sorted by seed) of scenario `name`, run
    /// with `approximation`, whose failing seeds are `failing` (merged
    /// shards bring their own).
    pub fn from_rows(
        name: &str,
        approximation: Option<Approximation>,
        rows: &[SeedRow],
        failing: Vec<FailingSeed>,
        fail_if: Option<&FailIf>,
    ) -> SweepSummary {
        let fail_if = fail_if.map(|e| {
            let mut because = Vec::new();
            let values = |f: &str| -> Vec<f64> { rows.iter().filter_map(|r| r.value(f)).collect() };
            let holds = e.holds(&values, &mut because);
            Verdict {
                expression: e.text.clone(),
                holds,
                because,
            }
        });
        SweepSummary {
            scenario: name.to_string(),
            seeds: rows.len(),
            first_seed: rows.first().map(|r| r.seed),
            last_seed: rows.last().map(|r| r.seed),
            approximation,
            fields: field_stats(rows),
            failing,
            fail_if,
        }
    }

    /// True when the sweep fails: a violation, or `--fail-if` holds.
    pub fn failed(&self) -> bool {
        !self.failing.is_empty() || self.fail_if.as_ref().is_some_and(|v| v.holds)
    }
}

/// The first line of the JUnit files rebalance-sim writes (an existing
/// file is only ever replaced if it starts with it).
pub const JUNIT_MARK: &str = "<!-- written by rebalance-sim sweep -->";

/// JUnit XML: one test suite, one test case per seed, a failure for each
/// seed that violated an invariant (and one for a `--fail-if` that holds).
pub fn junit(summary: &SweepSummary, rows: &[SeedRow]) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let verdict_fails = summary.fail_if.as_ref().is_some_and(|v| v.holds);
    let failures = summary.failing.len() + usize::from(verdict_fails);
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{JUNIT_MARK}\n<testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        esc(&summary.scenario),
        rows.len() + usize::from(summary.fail_if.is_some())
    );
    for r in rows {
        x.push_str(&format!(
            "  <testcase classname=\"{}\" name=\"seed {}\"",
            esc(&summary.scenario),
            r.seed
        ));
        match summary.failing.iter().find(|f| f.seed == r.seed) {
            Some(f) => x.push_str(&format!(
                ">\n    <failure message=\"invariant {} violated\">replay with: {}</failure>\n  </testcase>\n",
                f.invariant,
                esc(&f.replay)
            )),
            None => x.push_str("/>\n"),
        }
    }
    if let Some(v) = &summary.fail_if {
        x.push_str(&format!(
            "  <testcase classname=\"{}\" name=\"fail-if {}\"",
            esc(&summary.scenario),
            esc(&v.expression)
        ));
        if v.holds {
            x.push_str(&format!(
                ">\n    <failure message=\"--fail-if holds\">{}</failure>\n  </testcase>\n",
                esc(&v.because.join("; "))
            ));
        } else {
            x.push_str("/>\n");
        }
    }
    x.push_str("</testsuite>\n");
    x
}

/// One shard's results read back: its scenario, rows and failing seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardResult {
    /// Scenario name.
    pub scenario: String,
    /// The opt-in approximation it ran with (`sweep.json`'s
    /// `approximation`), if any.
    pub approximation: Option<Approximation>,
    /// Rows, by seed.
    pub rows: Vec<SeedRow>,
    /// Failing seeds with their replay commands.
    pub failing: Vec<FailingSeed>,
}

/// Why shards cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A file could not be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The shards are of different scenarios.
    #[error("the shards are of different scenarios: {0:?} and {1:?}")]
    Scenarios(String, String),
    /// The shards were run with different approximations.
    #[error(
        "the shards were run with different approximations (fetch_quantum {0} and {1}): their results do not merge"
    )]
    Approximations(String, String),
    /// A seed is in two shards.
    #[error("seed {0} is in two of the shards")]
    Duplicate(u64),
    /// Nothing to merge.
    #[error("no shard directories given")]
    Empty,
}

/// Reads `DIR/sweep.csv` and `DIR/sweep.json` of one shard.
pub fn read_shard(dir: &std::path::Path) -> Result<ShardResult, MergeError> {
    let err = |path: &std::path::Path, message: String| MergeError::Read {
        path: path.display().to_string(),
        message,
    };
    let csv_path = dir.join("sweep.csv");
    let mut reader =
        csv::Reader::from_path(&csv_path).map_err(|e| err(&csv_path, e.to_string()))?;
    let rows = reader
        .deserialize::<SeedRow>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(&csv_path, e.to_string()))?;
    let json_path = dir.join("sweep.json");
    let text = std::fs::read_to_string(&json_path).map_err(|e| err(&json_path, e.to_string()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| err(&json_path, e.to_string()))?;
    let scenario = v["scenario"]
        .as_str()
        .ok_or_else(|| err(&json_path, "no \"scenario\" field: not a sweep.json".into()))?
        .to_string();
    let failing: Vec<FailingSeed> = serde_json::from_value(v["failing"].clone())
        .map_err(|e| err(&json_path, format!("\"failing\": {e}")))?;
    let approximation: Option<Approximation> = v
        .get("approximation")
        .map(|a| serde_json::from_value(a.clone()))
        .transpose()
        .map_err(|e| err(&json_path, format!("\"approximation\": {e}")))?;
    Ok(ShardResult {
        scenario,
        approximation,
        rows,
        failing,
    })
}

/// Merges shards into the result of the whole sweep: rows and failing
/// seeds in seed order.
pub fn merge(shards: Vec<ShardResult>) -> Result<ShardResult, MergeError> {
    let mut it = shards.into_iter();
    let mut all = it.next().ok_or(MergeError::Empty)?;
    for s in it {
        if s.scenario != all.scenario {
            return Err(MergeError::Scenarios(all.scenario, s.scenario));
        }
        if s.approximation != all.approximation {
            let quantum = |a: &Option<Approximation>| {
                a.as_ref()
                    .map_or_else(|| "exact".to_string(), |a| a.fetch_quantum.clone())
            };
            return Err(MergeError::Approximations(
                quantum(&all.approximation),
                quantum(&s.approximation),
            ));
        }
        all.rows.extend(s.rows);
        all.failing.extend(s.failing);
    }
    all.rows.sort_by_key(|r| r.seed);
    if let Some(w) = all.rows.windows(2).find(|w| w[0].seed == w[1].seed) {
        return Err(MergeError::Duplicate(w[0].seed));
    }
    all.failing.sort_by_key(|f| f.seed);
    Ok(all)
}
