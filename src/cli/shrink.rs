//! `rebalance-sim shrink`: a failing run made small, as a scenario file.

use super::super::{Failure, print_stderr, print_stdout};
use rebalance_sim::Scenario;
use rebalance_sim::shrink::{Step, shrink, simulate};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The first line of every file `shrink` writes: what it may replace.
pub const SHRUNK_MARK: &str = "# Shrunk by rebalance-sim shrink";

fn bad(e: impl Into<anyhow::Error>) -> Failure {
    Failure::BadInput(e.into())
}

pub fn run(
    file: PathBuf,
    seed: Option<u64>,
    overrides: Vec<String>,
    out: Option<PathBuf>,
    max_runs: u32,
    quiet: bool,
) -> Result<ExitCode, Failure> {
    let scenario = Scenario::load(&file, &overrides).map_err(bad)?;
    let seed = seed.unwrap_or(scenario.default_seed);
    let out = out.unwrap_or_else(|| {
        PathBuf::from("output")
            .join(&scenario.name)
            .join(format!("shrunk-seed-{seed}.toml"))
    });
    check_target(&out)?;
    let mut report = |s: &Step| {
        if !quiet {
            let _ = writeln!(std::io::stdout(), "  {:<40} {}", s.what, s.size);
        }
    };
    let shrunk = shrink(&scenario, seed, max_runs, &simulate, &mut report).map_err(bad)?;
    let mut from = format!("{} --seed {seed}", file.display());
    for o in &overrides {
        from.push_str(&format!(" --set '{o}'"));
    }
    let rest = format!(
        "# It still violates invariant {}. Original: {}.\n# Shrunk: {} ({} candidate runs). Replay: rebalance-sim run {}\n\n{}",
        shrunk.invariant,
        shrunk.original,
        shrunk.size,
        shrunk.runs,
        out.display(),
        shrunk.text
    );
    // The checksum tells a file shrink wrote from one edited since.
    let text = format!(
        "{SHRUNK_MARK} from {from} (checksum {:016x}).\n{rest}",
        fnv1a(rest.as_bytes())
    );
    write_new(&out, &text)?;
    if shrunk.steps.is_empty() && !quiet {
        print_stderr(format_args!(
            "no smaller scenario fails within --max-runs {max_runs} ({} runs tried): the file written is the original, made standalone",
            shrunk.runs
        ));
    }
    if !quiet {
        let mut o = std::io::stdout().lock();
        print_stdout(
            &mut o,
            &format!(
                "  invariant {} still violated: {} -> {}\n  written to {}\n",
                shrunk.invariant,
                shrunk.original,
                shrunk.size,
                out.display()
            ),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The output may be new or a file `shrink` wrote, never anything else.
fn check_target(path: &Path) -> Result<(), Failure> {
    match std::fs::symlink_metadata(path) {
        Err(_) => Ok(()),
        Ok(m) if m.is_file() => {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if !text.starts_with(SHRUNK_MARK) {
                return Err(bad(anyhow::anyhow!(
                    "--out {}: the file exists and was not written by rebalance-sim shrink; give a new path",
                    path.display()
                )));
            }
            if unedited(&text) {
                Ok(())
            } else {
                Err(bad(anyhow::anyhow!(
                    "--out {}: the file was written by shrink and edited since; give a new path, or move it away",
                    path.display()
                )))
            }
        }
        Ok(_) => Err(bad(anyhow::anyhow!(
            "--out {}: not a regular file; give a new path",
            path.display()
        ))),
    }
}

/// True when the checksum on the first line of a shrunk file matches the
/// rest of it.
fn unedited(text: &str) -> bool {
    let Some((first, rest)) = text.split_once('\n') else {
        return false;
    };
    let sum = first
        .rsplit_once("(checksum ")
        .and_then(|(_, s)| s.strip_suffix(")."))
        .and_then(|h| u64::from_str_radix(h, 16).ok());
    sum == Some(fnv1a(rest.as_bytes()))
}

/// FNV-1a, 64 bits: a checksum, not a guard against tampering.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes `text` to `path` through a temporary sibling renamed into place
/// (so a reader never sees half a file), creating missing directories.
fn write_new(path: &Path, text: &str) -> Result<(), Failure> {
    let fail = |e: std::io::Error| {
        Failure::Output(anyhow::Error::new(e).context(format!("writing {}", path.display())))
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    check_target(path)?;
    let name = path
        .file_name()
        .map_or_else(|| "shrunk".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}
