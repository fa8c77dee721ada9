//! `rebalance-sim compare`: variants of a scenario (its `[[variants]]`,
//! `--vary` values, or several files) on the same seeds, side by side.

use super::super::{Failure, finish_stdout, output_failure, print_stderr, print_stdout};
use rebalance_sim::Scenario;
use rebalance_sim::compare::{Variant, compare, console_table, parse_vary, vary_combinations};
use rebalance_sim::report::{check_output_dir, write_compare_outputs};
use rebalance_sim::sweep::parse_seeds;
use std::io::{BufWriter, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

/// The command line of `compare`.
pub struct Args {
    pub files: Vec<PathBuf>,
    pub vary: Vec<String>,
    pub seeds: String,
    pub jobs: Option<u32>,
    pub out: Option<PathBuf>,
    pub force: bool,
    pub overrides: Vec<String>,
    pub quiet: bool,
}

fn bad(e: impl Into<anyhow::Error>) -> Failure {
    Failure::BadInput(e.into())
}

/// The variants the command line asks for: each file's `[[variants]]`
/// (or the file as written), times every combination of the `--vary`s.
fn variants(a: &Args) -> Result<(Vec<Variant>, Option<String>), Failure> {
    let varies = a
        .vary
        .iter()
        .map(|v| parse_vary(v))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    let combos = vary_combinations(&varies).map_err(bad)?;
    let mut out: Vec<Variant> = Vec::new();
    for file in &a.files {
        let base = Scenario::load(file, &a.overrides).map_err(bad)?;
        let bases: Vec<(String, Vec<String>)> = if base.variants.is_empty() {
            vec![(base.name.clone(), Vec::new())]
        } else {
            base.variants
                .iter()
                .map(|v| {
                    let name = if a.files.len() > 1 {
                        format!("{} {}", base.name, v.name)
                    } else {
                        v.name.clone()
                    };
                    (name, v.overrides.clone())
                })
                .collect()
        };
        // One file without [[variants]]: the --vary values name the variants.
        let named_by_vary = a.files.len() == 1 && base.variants.is_empty() && !a.vary.is_empty();
        for (base_name, base_overrides) in &bases {
            for (combo_name, combo_overrides) in &combos {
                let name = match (named_by_vary, combo_name.is_empty()) {
                    (true, _) => combo_name.clone(),
                    (false, true) => base_name.clone(),
                    (false, false) => format!("{base_name} {combo_name}"),
                };
                let mut overrides = a.overrides.clone();
                overrides.extend(base_overrides.iter().cloned());
                overrides.extend(combo_overrides.iter().cloned());
                let scenario = Scenario::load(file, &overrides).map_err(|e| {
                    bad(anyhow::Error::new(e).context(format!("variant \"{name}\"")))
                })?;
                // Two files with the same scenario name: `name (2)`.
                let taken = |n: &str| out.iter().any(|v| v.name == n);
                let name = if taken(&name) {
                    (2..)
                        .map(|k| format!("{name} ({k})"))
                        .find(|n| !taken(n))
                        .unwrap_or(name)
                } else {
                    name
                };
                out.push(Variant { name, scenario });
            }
        }
    }
    let shared = if a.files.len() > 1 {
        shorten(&mut out)
    } else {
        None
    };
    if out.len() < 2 {
        return Err(bad(anyhow::anyhow!(
            "compare needs at least two variants: give several files, [[variants]] in the file, or --vary KEY=V1,V2"
        )));
    }
    Ok((out, shared))
}

/// Several files named `rolling-restart-eager`, `rolling-restart-static`:
/// the variants become `eager` and `static`, the part they share is the
/// comparison's name.
fn shorten(variants: &mut [Variant]) -> Option<String> {
    let first = variants.first()?.name.clone();
    let mut cut = 0;
    for (i, c) in first.char_indices() {
        if c == '-' || c == '_' {
            let prefix = &first[..=i];
            if variants
                .iter()
                .all(|v| v.name.starts_with(prefix) && v.name.len() > prefix.len())
            {
                cut = i + 1;
            } else {
                break;
            }
        }
    }
    if cut == 0 {
        return None;
    }
    for v in variants.iter_mut() {
        v.name = v.name[cut..].to_string();
    }
    Some(first[..cut - 1].to_string())
}

pub fn run(a: Args) -> Result<ExitCode, Failure> {
    let (variants, shared) = variants(&a)?;
    let mut seeds = parse_seeds(&a.seeds).map_err(bad)?;
    seeds.sort_unstable();
    let name = shared.unwrap_or_else(|| variants[0].scenario.name.clone());
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(&name).join("compare"));
    check_output_dir(&dir, a.force).map_err(output_failure(&dir))?;
    let jobs = a.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |j| j as usize,
    );
    let total = (variants.len() * seeds.len()) as u64;
    let bar = (!a.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} runs  {per_sec}  ETA {eta}",
            )
            .expect("a valid template"),
        );
        bar
    });
    let mut comparison = compare(&variants, &seeds, jobs, &|n| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    })
    .map_err(bad)?;
    comparison.scenario = name;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    write_compare_outputs(&comparison, &dir, a.force).map_err(output_failure(&dir))?;
    if !a.quiet {
        let mut out = BufWriter::new(std::io::stdout().lock());
        let table = console_table(&comparison, &dir.display().to_string());
        match print_stdout(&mut out, &table).and_then(|()| finish_stdout(out)) {
            Ok(()) | Err(Failure::StdoutClosed) => {}
            Err(e) => return Err(e),
        }
    }
    let failing: Vec<_> = comparison
        .variants
        .iter()
        .flat_map(|v| v.failing.iter().map(move |f| (v, f)))
        .collect();
    if let Some((v, f)) = failing.first() {
        print_stderr(format_args!(
            "{} runs violated an invariant; the first: variant \"{}\" seed {} (invariant {})\nreplay with: {}",
            failing.len(),
            v.name,
            f.seed,
            f.invariant,
            f.replay
        ));
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
