//! The `rebalance-sim` command line: parse, call the library, map errors to
//! exit codes (0 ok, 1 invariant violated, 2 bad input, 3 cannot write).

use anyhow::Context;
use clap::{Parser, Subcommand};
use rebalance_sim::assign::{format_assignment, parse_assign_input, run_rounds};
use rebalance_sim::report::{ReportError, check_output_dir, summary_table, write_outputs};
use rebalance_sim::{Engine, Scenario, Simulation};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod cli;

/// Deterministic, seeded simulator of Apache Kafka consumer-group rebalancing.
#[derive(Parser)]
#[command(name = "rebalance-sim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario file and write timeseries.csv, events.csv,
    /// summary.json and charts.
    ///
    /// Exit codes: 0 all invariants held, 1 an invariant was violated,
    /// 2 bad input (including a refused --out), 3 the outputs could not be
    /// written.
    Run {
        /// The scenario file (TOML).
        file: PathBuf,
        /// Seed of the run (default: the scenario's `seed`, else 1).
        #[arg(long)]
        seed: Option<u64>,
        /// Output directory (default: output/<scenario>/<seed>). It must be
        /// new, empty, or the output of an earlier run (it holds a
        /// .rebalance-sim-output marker and only the files a run writes),
        /// which is then replaced. Refused before the run: the current or
        /// the home directory or a parent of either, /, a file, a symbolic
        /// link, or a directory holding other files.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace an --out directory that holds other files: everything in
        /// it is deleted. Never overrides the other refusals of --out.
        #[arg(long)]
        force: bool,
        /// Override a scalar field, e.g. --set group.assignor=roundrobin
        /// (repeatable; arrays by index: topics.0.partitions=24).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
        /// Print the faults the scenario's [chaos] table draws with this
        /// seed as [[timeline]] entries, and run nothing: appended to the
        /// file in place of its [chaos] table, they replay the same run
        /// (same trace digest) as a fixed regression scenario.
        #[arg(long, conflicts_with_all = ["out", "force", "engine"])]
        emit_timeline: bool,
        /// `fast` (default) handles a consumer's wake-ups that can touch
        /// nothing else ahead of time; `reference` puts every event through
        /// the queue. The outputs are identical (tested); the reference is
        /// there to check the fast engine against.
        #[arg(long, value_enum, default_value_t = EngineArg::Fast)]
        engine: EngineArg,
    },
    /// Run a scenario over many seeds in parallel: one row per seed in
    /// sweep.csv, statistics per field and every failing seed with the
    /// command that replays it in sweep.json.
    ///
    /// Results are byte-identical for any --jobs, and shards (--shard I/N)
    /// together hold exactly the seeds of the whole sweep. Exit codes: 0
    /// every seed kept every invariant (and --fail-if does not hold), 1 a
    /// seed violated an invariant or --fail-if holds, 2 bad input, 3 the
    /// outputs could not be written.
    Sweep {
        /// The scenario file (TOML).
        file: PathBuf,
        /// Seeds: a range with both ends included (1..1000), one seed, or
        /// a list (1,5,9).
        #[arg(long, default_value = "1..100")]
        seeds: String,
        /// Runs at once (default: one per core). The results do not depend
        /// on it.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
        jobs: Option<u32>,
        /// Run only the I-th of N interleaved slices of the seeds, e.g.
        /// 2/8 (one per machine or CI job).
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Fail (exit 1) when this holds over the seeds, e.g.
        /// "p99(convergence_ms) > 60000 || max(lost) > 0". Statistics:
        /// p50 p90 p95 p99 min max mean sum count; fields: the columns of
        /// sweep.csv.
        #[arg(long, value_name = "EXPR")]
        fail_if: Option<String>,
        /// Also write JUnit XML here, one test case per seed (an existing
        /// file is replaced only if rebalance-sim wrote it).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Output directory (default: output/<scenario>/sweep), with the
        /// same rules as `run --out`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace an --out directory that holds other files (see run).
        #[arg(long)]
        force: bool,
        /// Override a scalar field, as for run.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Print nothing but errors (and no progress bar).
        #[arg(long, short)]
        quiet: bool,
        /// Also write the full outputs of these seeds' runs, in
        /// seeds/<seed>/ of the output directory.
        #[arg(long, value_enum)]
        keep: Option<cli::sweep::Keep>,
    },
    /// Run variants of a scenario on the same seeds and compare them side
    /// by side: median and 95th percentile over the seeds of each metric,
    /// and each variant's ratio to the first; compare.csv, compare.json,
    /// compare.md, runs.csv (a row per variant and seed) and charts.
    ///
    /// The variants: every FILE (several files are several variants), or
    /// the file's [[variants]] tables (a name and `set = {...}`
    /// overrides), each times every combination of the --vary values.
    /// Exit codes: 0 every run kept every invariant, 1 some run violated
    /// one (each listed with the command that replays it), 2 bad input, 3
    /// the outputs could not be written.
    Compare {
        /// The scenario files (TOML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// A field and the values it takes across the variants, e.g.
        /// --vary group.assignor=range,cooperative-sticky (repeatable: every
        /// combination is run; commas inside quotes or brackets belong to a
        /// value).
        #[arg(long, value_name = "KEY=V1,V2")]
        vary: Vec<String>,
        /// Seeds every variant runs: a range with both ends included, one
        /// seed, or a list.
        #[arg(long, default_value = "1..20")]
        seeds: String,
        /// Runs at once (default: one per core). The results do not depend
        /// on it.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
        jobs: Option<u32>,
        /// Output directory (default: output/<name>/compare, the name being
        /// the scenario's, or what the files' names share), with the same
        /// rules as `run --out`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace an --out directory that holds other files (see run).
        #[arg(long)]
        force: bool,
        /// Override a scalar field in every variant, as for run.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Print nothing but errors (and no progress bar).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Shrink a failing run: find a smaller scenario that, with the same
    /// seed, still violates the same invariant — delta debugging over the
    /// timeline's entries (written, and those [chaos] drew), then fewer
    /// consumers, topics and partitions and a shorter run — and write it
    /// as a standalone scenario file, with a comment saying what it was
    /// shrunk from. Prints each accepted step and the size after it.
    ///
    /// Exit codes: 0 the shrunk file was written, 2 bad input (including
    /// a run that violates no invariant: nothing to shrink), 3 the file
    /// could not be written.
    Shrink {
        /// The scenario file (TOML).
        file: PathBuf,
        /// The failing seed (default: the scenario's `seed`, else 1).
        #[arg(long)]
        seed: Option<u64>,
        /// Override a scalar field, as for run.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Where to write the shrunk scenario (default:
        /// output/<scenario>/shrunk-seed-<seed>.toml). An existing file is
        /// replaced only if `shrink` wrote it.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Give up after this many candidate runs (the smallest failing
        /// scenario found so far is written).
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
        max_runs: u32,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Merge the output directories of sweep shards (--shard I/N) into the
    /// result of the whole sweep: the same sweep.csv and sweep.json as one
    /// sweep over all the seeds. Exit codes as for sweep.
    Merge {
        /// The shards' output directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output directory, with the same rules as `run --out`.
        #[arg(long)]
        out: PathBuf,
        /// Fail (exit 1) when this holds over all the seeds (see sweep).
        #[arg(long, value_name = "EXPR")]
        fail_if: Option<String>,
        /// Also write JUnit XML here (see sweep).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Replace an --out directory that holds other files (see run).
        #[arg(long)]
        force: bool,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Run an assignor on a JSON description of a group and print the
    /// assignment, one line per member: `c1: t0-0 t0-3`.
    ///
    /// Input: {"assignor": "range", "topics": {"t0": 4},
    /// "members": {"c1": {"topics": ["t0"], "owned": [["t0", 0]],
    /// "generation": 1, "instance": "i1", "rack": "a"}}}
    /// (owned, generation, instance and rack are optional). A topic may be
    /// {"partitions": 6, "replica_racks": [["a","b"],["b","c"]]}.
    /// Assignors: range, roundrobin, sticky, cooperative-sticky, uniform,
    /// server-range.
    Assign {
        /// The JSON file, or - for standard input.
        file: String,
        /// Run this many rounds, feeding each result back as the members'
        /// owned partitions (next generation); each round is printed under
        /// a `# round N` header with what moved.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
        rounds: u32,
        /// Run the assignor this many times on the parsed input and print
        /// the median time of one call on stderr.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        repeat: Option<u32>,
    },
}

/// Failures, by exit code.
enum Failure {
    BadInput(anyhow::Error),
    Output(anyhow::Error),
    /// Standard output was closed (`| head`): not an error for a
    /// command-line tool, the program ends quietly with 0, as `cat` does.
    StdoutClosed,
}

/// `--engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EngineArg {
    Fast,
    Reference,
}

impl From<EngineArg> for Engine {
    fn from(e: EngineArg) -> Engine {
        match e {
            EngineArg::Fast => Engine::Fast,
            EngineArg::Reference => Engine::Reference,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run {
            file,
            seed,
            out,
            force,
            overrides,
            quiet,
            emit_timeline: true,
            engine,
        } => {
            let _ = (out, force, quiet, engine);
            emit_timeline(file, seed, overrides)
        }
        Command::Run {
            file,
            seed,
            out,
            force,
            overrides,
            quiet,
            emit_timeline: false,
            engine,
        } => run(file, seed, out, force, overrides, quiet, engine.into()),
        Command::Assign {
            file,
            rounds,
            repeat,
        } => assign(&file, rounds as usize, repeat),
        Command::Compare {
            files,
            vary,
            seeds,
            jobs,
            out,
            force,
            overrides,
            quiet,
        } => cli::compare::run(cli::compare::Args {
            files,
            vary,
            seeds,
            jobs,
            out,
            force,
            overrides,
            quiet,
        }),
        Command::Shrink {
            file,
            seed,
            overrides,
            out,
            max_runs,
            quiet,
        } => cli::shrink::run(file, seed, overrides, out, max_runs, quiet),
        Command::Merge {
            dirs,
            out,
            fail_if,
            junit,
            force,
            quiet,
        } => cli::sweep::merge(dirs, fail_if, junit, out, force, quiet),
        Command::Sweep {
            file,
            seeds,
            jobs,
            shard,
            fail_if,
            junit,
            out,
            force,
            overrides,
            quiet,
            keep,
        } => cli::sweep::sweep(cli::sweep::Args {
            file,
            seeds,
            jobs,
            shard,
            fail_if,
            junit,
            out,
            force,
            overrides,
            quiet,
            keep,
        }),
    };
    match outcome {
        Ok(code) => code,
        Err(Failure::StdoutClosed) => ExitCode::SUCCESS,
        Err(Failure::BadInput(e)) => {
            print_stderr(format_args!("error: {}", error_text(&e)));
            ExitCode::from(2)
        }
        Err(Failure::Output(e)) => {
            print_stderr(format_args!("error: {}", error_text(&e)));
            ExitCode::from(3)
        }
    }
}

/// The error and its causes, each once: the library's errors already say
/// their cause ("cannot read …: Is a directory"), which `{:#}` would
/// repeat.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// Writes `text` to `out` (standard output, locked and buffered by the
/// caller, who flushes it with [`finish_stdout`]).
fn print_stdout(out: &mut impl Write, text: &str) -> Result<(), Failure> {
    out.write_all(text.as_bytes()).map_err(stdout_failure)
}

/// Flushes standard output.
fn finish_stdout(mut out: impl Write) -> Result<(), Failure> {
    out.flush().map_err(stdout_failure)
}

fn stdout_failure(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Failure::StdoutClosed
    } else {
        Failure::Output(anyhow::Error::new(e).context("writing to standard output"))
    }
}

/// One line on standard error. `eprintln!` panics when stderr is closed;
/// a message nobody can read is dropped instead.
fn print_stderr(args: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

fn run(
    file: PathBuf,
    seed: Option<u64>,
    out: Option<PathBuf>,
    force: bool,
    overrides: Vec<String>,
    quiet: bool,
    engine: Engine,
) -> Result<ExitCode, Failure> {
    let scenario = Scenario::load(&file, &overrides).map_err(|e| Failure::BadInput(e.into()))?;
    let seed = seed.unwrap_or(scenario.default_seed);
    let dir = out.unwrap_or_else(|| {
        PathBuf::from("output")
            .join(&scenario.name)
            .join(seed.to_string())
    });
    let simulation = Simulation::new(scenario, seed)
        .map_err(|e| Failure::BadInput(e.into()))?
        .with_engine(engine);
    // Checked before the run so a bad --out costs nothing; write_outputs
    // checks again.
    check_output_dir(&dir, force).map_err(output_failure(&dir))?;
    let result = simulation.run();
    write_outputs(&result, &dir, force).map_err(output_failure(&dir))?;
    if !quiet {
        let mut out = BufWriter::new(std::io::stdout().lock());
        let table = summary_table(&result, &dir.display().to_string());
        match print_stdout(&mut out, &table).and_then(|()| finish_stdout(out)) {
            // The table is only a digest of the outputs already written: a
            // closed stdout does not hide a violated invariant's exit code.
            Ok(()) | Err(Failure::StdoutClosed) => {}
            Err(e) => return Err(e),
        }
    }
    let Some(first) = result.summary.violations.first() else {
        return Ok(ExitCode::SUCCESS);
    };
    print_stderr(format_args!(
        "invariant {} violated at {} ms: {}\nreplay with: {}",
        first.invariant, first.time_ms, first.message, result.replay
    ));
    Ok(ExitCode::from(1))
}

/// `run --emit-timeline`: the drawn faults of a `[chaos]` scenario, as
/// `[[timeline]]` entries, on standard output.
fn emit_timeline(
    file: PathBuf,
    seed: Option<u64>,
    overrides: Vec<String>,
) -> Result<ExitCode, Failure> {
    let scenario = Scenario::load(&file, &overrides).map_err(|e| Failure::BadInput(e.into()))?;
    if scenario.chaos.is_none() {
        return Err(Failure::BadInput(anyhow::anyhow!(
            "{}: --emit-timeline prints the faults a [chaos] table draws, and the file has none",
            file.display()
        )));
    }
    let seed = seed.unwrap_or(scenario.default_seed);
    let mut command = format!("rebalance-sim run {} --seed {seed}", file.display());
    for o in &overrides {
        command.push_str(&format!(" --set '{o}'"));
    }
    let text = format!(
        "# The faults [chaos] draws with seed {seed} ({command} --emit-timeline).\n\
         # Append these entries to the scenario and delete its [chaos] table: the\n\
         # result run with --seed {seed} replays this run exactly (with another\n\
         # seed: the same faults, that seed's other draws).\n{}",
        scenario.drawn_timeline(seed)
    );
    let mut out = BufWriter::new(std::io::stdout().lock());
    print_stdout(&mut out, &text)?;
    finish_stdout(out)?;
    Ok(ExitCode::SUCCESS)
}

/// A refused output path is bad input; anything else failed to write.
fn output_failure(dir: &Path) -> impl FnOnce(ReportError) -> Failure + '_ {
    move |e| {
        if e.is_refused() {
            Failure::BadInput(e.into())
        } else {
            Failure::Output(anyhow::Error::new(e).context(format!(
                "writing the outputs of the run to {}",
                dir.display()
            )))
        }
    }
}

fn assign(file: &str, rounds: usize, repeat: Option<u32>) -> Result<ExitCode, Failure> {
    let text = if file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the assignment input from standard input")
            .map_err(Failure::BadInput)?;
        s
    } else {
        std::fs::read_to_string(file)
            .with_context(|| format!("{file}: cannot read the assignment input"))
            .map_err(Failure::BadInput)?
    };
    let input = parse_assign_input(&text).map_err(|e| {
        Failure::BadInput(anyhow::anyhow!(
            "{}: {e}",
            if file == "-" { "<stdin>" } else { file }
        ))
    })?;
    let assignor = input.assignor.build();
    if let Some(n) = repeat {
        let mut times: Vec<std::time::Duration> = (0..n)
            .map(|_| {
                let start = std::time::Instant::now();
                std::hint::black_box(assignor.assign(std::hint::black_box(&input.group)));
                start.elapsed()
            })
            .collect();
        times.sort_unstable();
        let median = times[times.len() / 2];
        print_stderr(format_args!(
            "{}: median {:.3} ms over {n} runs ({} members, {} partitions)",
            assignor.name(),
            median.as_secs_f64() * 1e3,
            input.group.members.len(),
            input.group.total_partitions()
        ));
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    if rounds == 1 {
        let assignment = assignor.assign(&input.group);
        print_stdout(&mut out, &format_assignment(&input.group, &assignment))?;
        finish_stdout(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    for (i, round) in run_rounds(assignor.as_ref(), &input.group, rounds)
        .iter()
        .enumerate()
    {
        let header = format!(
            "# round {}: {} partitions moved, {} unassigned\n",
            i + 1,
            round.moved,
            round.unassigned
        );
        print_stdout(&mut out, &header)?;
        print_stdout(
            &mut out,
            &format_assignment(&input.group, &round.assignment),
        )?;
    }
    finish_stdout(out)?;
    Ok(ExitCode::SUCCESS)
}
