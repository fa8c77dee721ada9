//! Shrinking a failing run: given a scenario and a seed that violate an
//! invariant, a smaller scenario that still violates the same one, found
//! by delta debugging (Zeller's ddmin) over the timeline's entries
//! (written ones and those `[chaos]` drew), then by lowering the consumer
//! count, dropping topics and named consumers, halving partition counts
//! and the run's length, until no step helps. Every candidate is a whole
//! scenario file run with the same seed, so the result is a standalone
//! file that `run` replays.

use crate::{RunResult, Scenario, Simulation, SimulationError};
use thiserror::Error;
use toml::{Table, Value};

/// Why a run cannot be shrunk.
#[derive(Debug, Error)]
pub enum ShrinkError {
    /// The scenario is not valid.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// The simulation refused it.
    #[error(transparent)]
    Simulation(#[from] SimulationError),
    /// The run keeps every invariant: there is nothing to shrink.
    #[error("seed {0} keeps every invariant: there is no failure to shrink")]
    NoViolation(u64),
}

/// How big a scenario is, in the dimensions shrinking lowers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// `[[timeline]]` entries.
    pub timeline_entries: usize,
    /// Consumers declared (`count` plus named ones).
    pub consumers: u64,
    /// Topics.
    pub topics: usize,
    /// Partitions over all topics.
    pub partitions: u64,
    /// Length of the run (ms).
    pub duration_ms: u64,
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = |count: u64, one: &str, many: &str| {
            format!("{count} {}", if count == 1 { one } else { many })
        };
        write!(
            f,
            "{}, {}, {}, {}, {}",
            n(
                self.timeline_entries as u64,
                "timeline entry",
                "timeline entries"
            ),
            n(self.consumers, "consumer", "consumers"),
            n(self.topics as u64, "topic", "topics"),
            n(self.partitions, "partition", "partitions"),
            crate::sim::Duration::from_millis(self.duration_ms)
        )
    }
}

/// One accepted step: what it removed or lowered, and the size after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What changed.
    pub what: String,
    /// The size after the step.
    pub size: Size,
}

/// The result.
#[derive(Debug, Clone)]
pub struct Shrunk {
    /// The invariant the original run and the shrunk one violate.
    pub invariant: u8,
    /// The original's size (its drawn faults counted as entries).
    pub original: Size,
    /// The shrunk scenario's size.
    pub size: Size,
    /// The accepted steps, in order.
    pub steps: Vec<Step>,
    /// Candidate runs tried.
    pub runs: u32,
    /// The shrunk scenario as TOML, without a header comment.
    pub text: String,
}

/// How a candidate is run: a scenario and a seed to a result.
pub type Runner<'a> = dyn Fn(Scenario, u64) -> Result<RunResult, SimulationError> + 'a;

/// The default runner: [`Simulation::new`].
pub fn simulate(s: Scenario, seed: u64) -> Result<RunResult, SimulationError> {
    Ok(Simulation::new(s, seed)?.run())
}

/// Shrinks `scenario` run with `seed`, trying at most `max_runs`
/// candidates; `step` is called with each accepted step as it is found.
pub fn shrink(
    scenario: &Scenario,
    seed: u64,
    max_runs: u32,
    runner: &Runner<'_>,
    step: &mut dyn FnMut(&Step),
) -> Result<Shrunk, ShrinkError> {
    let first = runner(scenario.clone(), seed)?;
    let invariant = first
        .summary
        .violations
        .first()
        .map(|v| v.invariant)
        .ok_or(ShrinkError::NoViolation(seed))?;
    // The drawn faults become written entries, so they can be removed one
    // by one; the file then needs no [chaos] (nor [[variants]]).
    let mut text = scenario.text.clone();
    if scenario.chaos.is_some() {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&scenario.drawn_timeline(seed));
    }
    let mut doc: Table = text.parse().map_err(|e: toml::de::Error| {
        crate::scenario::ScenarioError::Invalid(Box::new(crate::scenario::Diagnostic {
            file: scenario.source().to_string(),
            line: 0,
            column: 0,
            field: String::new(),
            message: e.message().to_string(),
            snippet: None,
            from_override: None,
        }))
    })?;
    doc.remove("chaos");
    doc.remove("variants");
    let meta = doc
        .entry("scenario")
        .or_insert_with(|| Value::Table(Table::new()));
    if let Value::Table(m) = meta {
        m.insert("seed".into(), Value::Integer(seed as i64));
        m.entry("name")
            .or_insert_with(|| Value::String(scenario.name.clone()));
    }
    let mut search = Search {
        scenario,
        seed,
        invariant,
        runner,
        runs: 0,
        max_runs,
    };
    let original = search.size(&doc);
    let mut steps = Vec::new();
    loop {
        let before = steps.len();
        search.ddmin_array(
            &mut doc,
            &["timeline"],
            "timeline entries",
            &mut steps,
            step,
        );
        search.lower_count(&mut doc, &mut steps, step);
        search.ddmin_array(
            &mut doc,
            &["consumers", "named"],
            "named consumers",
            &mut steps,
            step,
        );
        search.ddmin_array(&mut doc, &["topics"], "topics", &mut steps, step);
        search.halve_partitions(&mut doc, &mut steps, step);
        search.shorten(&mut doc, &mut steps, step);
        if steps.len() == before || search.runs >= max_runs {
            break;
        }
    }
    let size = search.size(&doc);
    Ok(Shrunk {
        invariant,
        original,
        size,
        steps,
        runs: search.runs,
        text: in_file_order(&doc),
    })
}

struct Search<'a> {
    scenario: &'a Scenario,
    seed: u64,
    invariant: u8,
    runner: &'a Runner<'a>,
    runs: u32,
    max_runs: u32,
}

fn get<'t>(doc: &'t Table, path: &[&str]) -> Option<&'t Value> {
    let (last, parents) = path.split_last()?;
    let mut t = doc;
    for p in parents {
        t = t.get(*p)?.as_table()?;
    }
    t.get(*last)
}

fn get_mut<'t>(doc: &'t mut Table, path: &[&str]) -> Option<&'t mut Value> {
    let (last, parents) = path.split_last()?;
    let mut t = doc;
    for p in parents {
        t = t.get_mut(*p)?.as_table_mut()?;
    }
    t.get_mut(*last)
}

impl Search<'_> {
    /// True when `doc` is a valid scenario whose run with the seed still
    /// violates the invariant.
    fn fails(&mut self, doc: &Table) -> bool {
        if self.runs >= self.max_runs {
            return false;
        }
        let Ok(text) = toml::to_string(doc) else {
            return false;
        };
        let Ok(s) = Scenario::from_toml(&text, self.scenario.source(), &self.scenario.name, &[])
        else {
            return false;
        };
        self.runs += 1;
        (self.runner)(s, self.seed).is_ok_and(|r| {
            r.summary
                .violations
                .iter()
                .any(|v| v.invariant == self.invariant)
        })
    }

    fn size(&self, doc: &Table) -> Size {
        let len = |path: &[&str]| get(doc, path).and_then(Value::as_array).map_or(0, Vec::len);
        let count = get(doc, &["consumers", "count"])
            .and_then(Value::as_integer)
            .map_or(0, |c| c.max(0) as u64);
        let partitions = get(doc, &["topics"])
            .and_then(Value::as_array)
            .map_or(0, |ts| {
                ts.iter()
                    .filter_map(|t| t.get("partitions").and_then(Value::as_integer))
                    .map(|p| p.max(0) as u64)
                    .sum()
            });
        let duration_ms = get(doc, &["scenario", "duration"])
            .and_then(Value::as_str)
            .and_then(|d| crate::scenario::parse_duration(d).ok())
            .map_or(600_000, |d| d.millis());
        Size {
            timeline_entries: len(&["timeline"]),
            consumers: count + len(&["consumers", "named"]) as u64,
            topics: len(&["topics"]),
            partitions,
            duration_ms,
        }
    }

    fn accept(
        &self,
        doc: &Table,
        what: String,
        steps: &mut Vec<Step>,
        report: &mut dyn FnMut(&Step),
    ) {
        let s = Step {
            what,
            size: self.size(doc),
        };
        report(&s);
        steps.push(s);
    }

    /// ddmin over the array at `path`: removes chunks of it, halving the
    /// chunk size when no chunk can go.
    fn ddmin_array(
        &mut self,
        doc: &mut Table,
        path: &[&str],
        what: &str,
        steps: &mut Vec<Step>,
        report: &mut dyn FnMut(&Step),
    ) {
        let Some(items) = get(doc, path).and_then(Value::as_array).cloned() else {
            return;
        };
        let mut items = items;
        let mut chunks = 2usize;
        while !items.is_empty() {
            let size = items.len().div_ceil(chunks.min(items.len()));
            let mut removed = false;
            let mut start = 0;
            while start < items.len() {
                let end = (start + size).min(items.len());
                let mut rest = items.clone();
                rest.drain(start..end);
                let mut candidate = doc.clone();
                if rest.is_empty() {
                    // An empty array of tables cannot be written: drop the key.
                    remove_at(&mut candidate, path);
                } else if let Some(v) = get_mut(&mut candidate, path) {
                    *v = Value::Array(rest.clone());
                }
                if self.fails(&candidate) {
                    *doc = candidate;
                    let n = end - start;
                    items = rest;
                    self.accept(doc, format!("removed {n} {what}"), steps, report);
                    removed = true;
                    chunks = (chunks - 1).max(2);
                    break;
                }
                start = end;
            }
            if !removed {
                if size <= 1 {
                    break;
                }
                chunks = (chunks * 2).min(items.len());
            }
        }
    }

    /// Lowers `consumers.count`: halves it while the failure stays, then
    /// steps it down by one.
    fn lower_count(
        &mut self,
        doc: &mut Table,
        steps: &mut Vec<Step>,
        report: &mut dyn FnMut(&Step),
    ) {
        let Some(mut count) = get(doc, &["consumers", "count"]).and_then(Value::as_integer) else {
            return;
        };
        let mut try_count = |this: &mut Self, doc: &mut Table, to: i64| {
            let mut candidate = doc.clone();
            if let Some(v) = get_mut(&mut candidate, &["consumers", "count"]) {
                *v = Value::Integer(to);
            }
            if this.fails(&candidate) {
                *doc = candidate;
                this.accept(doc, format!("consumers.count {to}"), steps, report);
                true
            } else {
                false
            }
        };
        while count > 1 && try_count(self, doc, count / 2) {
            count /= 2;
        }
        while count > 0 && try_count(self, doc, count - 1) {
            count -= 1;
        }
    }

    /// Halves each topic's partition count while the failure stays.
    fn halve_partitions(
        &mut self,
        doc: &mut Table,
        steps: &mut Vec<Step>,
        report: &mut dyn FnMut(&Step),
    ) {
        let topics = get(doc, &["topics"])
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        for i in 0..topics {
            loop {
                let mut candidate = doc.clone();
                let Some(Value::Array(ts)) = get_mut(&mut candidate, &["topics"]) else {
                    return;
                };
                let Some(Value::Table(t)) = ts.get_mut(i) else {
                    break;
                };
                let Some(p) = t.get("partitions").and_then(Value::as_integer) else {
                    break;
                };
                if p <= 1 {
                    break;
                }
                let name = t
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string();
                t.insert("partitions".into(), Value::Integer(p / 2));
                if !self.fails(&candidate) {
                    break;
                }
                *doc = candidate;
                self.accept(
                    doc,
                    format!(
                        "topic {name}: {} partition{}",
                        p / 2,
                        if p / 2 == 1 { "" } else { "s" }
                    ),
                    steps,
                    report,
                );
            }
        }
    }

    /// Shortens the run: the shortest length, in whole seconds, a bisection
    /// finds that still fails.
    fn shorten(&mut self, doc: &mut Table, steps: &mut Vec<Step>, report: &mut dyn FnMut(&Step)) {
        let current = self.size(doc).duration_ms / 1000;
        let (mut lo, mut hi) = (0u64, current);
        let mut best = None;
        while hi > lo + 1 {
            let mid = (lo + hi) / 2;
            let mut candidate = doc.clone();
            let meta = candidate
                .entry("scenario")
                .or_insert_with(|| Value::Table(Table::new()));
            if let Value::Table(m) = meta {
                m.insert("duration".into(), Value::String(format!("{mid}s")));
            }
            if self.fails(&candidate) {
                hi = mid;
                best = Some(candidate);
            } else {
                lo = mid;
            }
        }
        if let Some(b) = best {
            *doc = b;
            self.accept(doc, format!("duration {hi}s"), steps, report);
        }
    }
}

/// The document as TOML with its tables in the order of a scenario file
/// (`[scenario]` first, the timeline last), not alphabetical.
fn in_file_order(doc: &Table) -> String {
    const ORDER: [&str; 6] = [
        "scenario",
        "cluster",
        "topics",
        "group",
        "consumers",
        "timeline",
    ];
    let mut keys: Vec<&String> = doc.keys().collect();
    keys.sort_by_key(|k| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
    let mut out = String::new();
    for k in keys {
        let mut one = Table::new();
        one.insert(k.clone(), doc[k.as_str()].clone());
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&toml::to_string(&one).unwrap_or_default());
    }
    out
}

fn remove_at(doc: &mut Table, path: &[&str]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut t = doc;
    for p in parents {
        match t.get_mut(*p).and_then(Value::as_table_mut) {
            Some(next) => t = next,
            None => return,
        }
    }
    t.remove(*last);
}
