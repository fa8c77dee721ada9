//! `rebalance-sim sweep`: one scenario over many seeds, in parallel, with
//! a progress bar on a terminal.

use super::super::{Failure, finish_stdout, output_failure, print_stderr, print_stdout};
use rebalance_sim::Scenario;
use rebalance_sim::report::{
    ReportError, check_output_dir, write_run_into, write_staged, write_sweep_files,
    write_sweep_outputs,
};
use rebalance_sim::sweep::{
    FailIf, JUNIT_MARK, SeedRow, Shard, SweepSummary, junit, parse_seeds, run_seeds,
};
use std::io::{BufWriter, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

/// The command line of `sweep`.
pub struct Args {
    pub file: PathBuf,
    pub seeds: String,
    pub jobs: Option<u32>,
    pub shard: Option<String>,
    pub fail_if: Option<String>,
    pub junit: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub force: bool,
    pub overrides: Vec<String>,
    pub quiet: bool,
    pub keep: Option<Keep>,
}

/// `--keep`: which seeds' full run outputs a sweep writes, under
/// `seeds/<seed>/` of its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Keep {
    /// The seeds that violated an invariant.
    Failing,
    /// Every seed.
    All,
}

fn bad(e: impl Into<anyhow::Error>) -> Failure {
    Failure::BadInput(e.into())
}

pub fn sweep(a: Args) -> Result<ExitCode, Failure> {
    let scenario = Scenario::load(&a.file, &a.overrides).map_err(bad)?;
    let mut seeds = parse_seeds(&a.seeds).map_err(bad)?;
    // Rows are in seed order, so shards merge into the same result.
    seeds.sort_unstable();
    if let Some(s) = &a.shard {
        seeds = Shard::parse(s).map_err(bad)?.of(&seeds);
    }
    let fail_if = parse_fail_if(a.fail_if.as_deref())?;
    let dir = a
        .out
        .unwrap_or_else(|| PathBuf::from("output").join(&scenario.name).join("sweep"));
    check_output_dir(&dir, a.force).map_err(output_failure(&dir))?;
    if let Some(path) = &a.junit {
        check_junit_path(path)?;
    }
    let jobs = a.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |j| j as usize,
    );
    let bar = (!a.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(seeds.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} seeds  {per_sec}  ETA {eta}",
            )
            .expect("a valid template"),
        );
        bar
    });
    scenario.validate().map_err(bad)?;
    let mut done: Option<(SweepSummary, Vec<SeedRow>)> = None;
    let invalid = std::sync::Mutex::new(None);
    // The sweep runs inside the staging directory, so kept seeds are
    // written as they finish (memory follows the jobs, not the seeds).
    let written = write_staged(&dir, a.force, |tmp| {
        let kept = tmp.join("seeds");
        if a.keep.is_some() {
            std::fs::create_dir(&kept).map_err(|source| ReportError::Io {
                path: kept.clone(),
                source,
            })?;
        }
        let failed_write: std::sync::Mutex<Option<ReportError>> = std::sync::Mutex::new(None);
        let rows = run_seeds(
            &scenario,
            &seeds,
            jobs,
            &|n| {
                if let Some(b) = &bar {
                    b.set_position(n);
                }
            },
            &|seed, r| {
                let wanted = match a.keep {
                    None => false,
                    Some(Keep::All) => true,
                    Some(Keep::Failing) => !r.summary.violations.is_empty(),
                };
                if wanted {
                    if let Err(e) = write_run_into(r, &kept.join(seed.to_string())) {
                        let mut slot = failed_write.lock().unwrap_or_else(|p| p.into_inner());
                        slot.get_or_insert(e);
                    }
                }
            },
        );
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                // Validated above, so not expected; reported as bad input.
                let message = e.to_string();
                *invalid.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                return Err(ReportError::Io {
                    path: tmp.to_path_buf(),
                    source: std::io::Error::other(message),
                });
            }
        };
        if let Some(e) = failed_write.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        let summary = SweepSummary::of(&scenario, &rows, fail_if.as_ref());
        write_sweep_files(&summary, &rows, tmp)?;
        done = Some((summary, rows));
        Ok(())
    });
    if let Some(e) = invalid.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(bad(e));
    }
    written.map_err(output_failure(&dir))?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let Some((summary, rows)) = done else {
        return Err(Failure::Output(anyhow::anyhow!("the sweep wrote nothing")));
    };
    report(&summary, &rows, &dir, a.junit.as_ref(), a.quiet)
}

/// `rebalance-sim merge DIR...`: shards back into one sweep.
pub fn merge(
    dirs: Vec<PathBuf>,
    fail_if: Option<String>,
    junit_path: Option<PathBuf>,
    out: PathBuf,
    force: bool,
    quiet: bool,
) -> Result<ExitCode, Failure> {
    let fail_if = parse_fail_if(fail_if.as_deref())?;
    check_output_dir(&out, force).map_err(output_failure(&out))?;
    if let Some(path) = &junit_path {
        check_junit_path(path)?;
    }
    let shards = dirs
        .iter()
        .map(|d| rebalance_sim::sweep::read_shard(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    let all = rebalance_sim::sweep::merge(shards).map_err(bad)?;
    let summary = SweepSummary::from_rows(
        &all.scenario,
        all.approximation,
        &all.rows,
        all.failing,
        fail_if.as_ref(),
    );
    write_sweep_outputs(&summary, &all.rows, &out, force).map_err(output_failure(&out))?;
    report(&summary, &all.rows, &out, junit_path.as_ref(), quiet)
}

/// Writes the JUnit file, prints a sweep's table, and says how it ended.
fn report(
    summary: &SweepSummary,
    rows: &[SeedRow],
    dir: &std::path::Path,
    junit_path: Option<&PathBuf>,
    quiet: bool,
) -> Result<ExitCode, Failure> {
    if let Some(path) = junit_path {
        std::fs::write(path, junit(summary, rows)).map_err(|e| {
            Failure::Output(anyhow::Error::new(e).context(format!("writing {}", path.display())))
        })?;
    }
    if !quiet {
        let mut out = BufWriter::new(std::io::stdout().lock());
        match print_stdout(&mut out, &table(summary, dir)).and_then(|()| finish_stdout(out)) {
            Ok(()) | Err(Failure::StdoutClosed) => {}
            Err(e) => return Err(e),
        }
    }
    if let Some(first) = summary.failing.first() {
        print_stderr(format_args!(
            "{} of {} seeds violated an invariant; the first: seed {} (invariant {})\nreplay with: {}",
            summary.failing.len(),
            summary.seeds,
            first.seed,
            first.invariant,
            first.replay
        ));
    }
    if let Some(v) = summary.fail_if.as_ref().filter(|v| v.holds) {
        print_stderr(format_args!(
            "--fail-if {:?} holds: {}",
            v.expression,
            v.because.join("; ")
        ));
    }
    Ok(if summary.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn parse_fail_if(text: Option<&str>) -> Result<Option<FailIf>, Failure> {
    text.map(|e| FailIf::parse(e, &SeedRow::FIELDS))
        .transpose()
        .map_err(bad)
}

/// `--junit FILE` may be new or a JUnit file this tool wrote: never
/// anything else of the user's.
fn check_junit_path(path: &std::path::Path) -> Result<(), Failure> {
    match std::fs::symlink_metadata(path) {
        Err(_) => Ok(()),
        Ok(m) if m.is_file() => {
            let ours =
                std::fs::read_to_string(path).is_ok_and(|t| t.lines().nth(1) == Some(JUNIT_MARK));
            if ours {
                Ok(())
            } else {
                Err(bad(anyhow::anyhow!(
                    "--junit {}: the file exists and was not written by rebalance-sim; give a new path",
                    path.display()
                )))
            }
        }
        Ok(_) => Err(bad(anyhow::anyhow!(
            "--junit {}: not a regular file; give a new path",
            path.display()
        ))),
    }
}

/// The console summary of a sweep.
fn table(s: &SweepSummary, dir: &std::path::Path) -> String {
    let mut t = format!(
        "  scenario          {} ({} seeds{})\n",
        s.scenario,
        s.seeds,
        match (s.first_seed, s.last_seed) {
            (Some(a), Some(b)) => format!(", {a}..{b}"),
            _ => String::new(),
        }
    );
    t.push_str("  field                                 p50          p99          max\n");
    let num = |v: Option<f64>| v.map_or_else(|| "never".to_string(), |v| format!("{v}"));
    for f in &s.fields {
        if matches!(
            f.field.as_str(),
            "engine_events" | "stalled_partition_seconds"
        ) {
            continue;
        }
        t.push_str(&format!(
            "  {:<32} {:>12} {:>12} {:>12}\n",
            f.field,
            num(f.p50),
            num(f.p99),
            num(f.max)
        ));
    }
    if let Some(a) = &s.approximation {
        t.push_str(&format!("  approximation     {}\n", a.described()));
    }
    t.push_str(&format!("  failing seeds     {}\n", s.failing.len()));
    for f in s.failing.iter().take(10) {
        t.push_str(&format!(
            "    seed {}: invariant {}: {}\n",
            f.seed, f.invariant, f.replay
        ));
    }
    if s.failing.len() > 10 {
        t.push_str(&format!("    ... ({} in sweep.json)\n", s.failing.len()));
    }
    if let Some(v) = &s.fail_if {
        t.push_str(&format!(
            "  fail-if           {} {}\n",
            v.expression,
            if v.holds {
                format!("HOLDS: {}", v.because.join("; "))
            } else {
                "does not hold".into()
            }
        ));
    }
    t.push_str(&format!("  output            {}\n", dir.display()));
    t
}
