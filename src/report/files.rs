//! The output directory, written atomically: everything goes to a hidden
//! temporary sibling, marked first thing, that is renamed into place once
//! complete. A directory already there is moved aside, not deleted, until
//! the new one is in place; see [`super::outdir`] for which directories may
//! be replaced at all.

use super::chart::{
    ChartFormat, write_chart, write_compare_chart, write_compare_metrics_chart, write_health_chart,
    write_ownership_chart,
};
use super::html;
use super::outdir::{
    Inspect, MARKER, MARKER_TEXT, Refusal, Target, check, check_existing, remove_output_dir,
    remove_stale_siblings,
};
use crate::simulation::RunResult;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Writing outputs failed.
#[derive(Debug, Error)]
pub enum ReportError {
    /// The output path is one rebalance-sim will not write to.
    #[error("refusing to write the outputs to {}: {reason}", path.display())]
    Refused {
        /// The path, as given.
        path: PathBuf,
        /// Why, and what to do instead.
        reason: Refusal,
    },
    /// What is at the output path could not be read.
    #[error("cannot inspect {}: {source}", path.display())]
    Inspect {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file or directory could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// CSV encoding failed.
    #[error("cannot write {}: {source}", path.display())]
    Csv {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: csv::Error,
    },
    /// A chart could not be drawn.
    #[error("cannot draw {}: {message}", path.display())]
    Chart {
        /// The path.
        path: PathBuf,
        /// The cause.
        message: String,
    },
    /// The new outputs are in place, but the previous directory, moved
    /// aside, could not be removed.
    #[error(
        "the outputs are written, but the previous directory is left in {}: {source}",
        path.display()
    )]
    OldLeft {
        /// Where the previous directory is.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The new outputs could not be put in place, nor the previous
    /// directory moved back.
    #[error(
        "the previous output directory is left in {} and cannot be moved back: {source}",
        path.display()
    )]
    NotRestored {
        /// Where the previous directory is.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl ReportError {
    /// Whether the output path was refused (bad input), rather than
    /// writing failed.
    pub fn is_refused(&self) -> bool {
        matches!(self, ReportError::Refused { .. })
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes all outputs of `result` into `dir`, replacing a directory from
/// an earlier run. Refuses what [`super::check_output_dir`] refuses,
/// checked again here since the directory may have changed during the
/// run; `force` replaces a directory holding other files, deleting them.
/// On error no staging directory is left, and `dir` is as it was unless
/// the error is [`ReportError::OldLeft`] (the new outputs are in place).
pub fn write_outputs(result: &RunResult, dir: &Path, force: bool) -> Result<(), ReportError> {
    write_dir(dir, force, |tmp| write_all(result, tmp))
}

/// Writes a sweep's `sweep.csv` (one row per seed) and `sweep.json` into
/// `dir`, with the same rules and the same replacement as
/// [`write_outputs`].
pub fn write_sweep_outputs(
    summary: &crate::sweep::SweepSummary,
    rows: &[crate::sweep::SeedRow],
    dir: &Path,
    force: bool,
) -> Result<(), ReportError> {
    write_dir(dir, force, |tmp| write_sweep_files(summary, rows, tmp))
}

/// Writes a comparison's files ([`super::COMPARE_FILES`]) into `dir`,
/// with the same rules and the same replacement as [`write_outputs`].
pub fn write_compare_outputs(
    c: &crate::compare::Comparison,
    dir: &Path,
    force: bool,
) -> Result<(), ReportError> {
    write_dir(dir, force, |tmp| {
        write_csv(&tmp.join("compare.csv"), &c.metrics)?;
        write_runs_csv(&tmp.join("runs.csv"), c)?;
        write_json(&tmp.join("compare.json"), c)?;
        let md = tmp.join("compare.md");
        fs::write(&md, crate::compare::markdown_table(c)).map_err(io(&md))?;
        type Writer = fn(&crate::compare::Comparison, &Path, ChartFormat) -> Result<(), String>;
        let charts: [(&str, Writer); 2] = [
            ("compare", write_compare_chart),
            ("compare-metrics", write_compare_metrics_chart),
        ];
        for format in [ChartFormat::Png, ChartFormat::Svg] {
            for (name, write) in charts {
                let path = tmp.join(format!("{name}.{}", format.extension()));
                write(c, &path, format).map_err(|message| ReportError::Chart { path, message })?;
            }
        }
        let captions = [
            ("compare", "Throughput and backlog over time"),
            ("compare-metrics", "Key metrics"),
        ];
        let figures = inline_figures(tmp, &captions, "compare.html")?;
        let path = tmp.join("compare.html");
        fs::write(&path, super::compare_html::compare_report(c, &figures)).map_err(io(&path))
    })
}

/// `runs.csv`: a row per variant and seed, the columns of `sweep.csv`
/// after the variant's name.
fn write_runs_csv(path: &Path, c: &crate::compare::Comparison) -> Result<(), ReportError> {
    let csv_err = |source| ReportError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_path(path)
        .map_err(csv_err)?;
    let mut header = vec!["variant"];
    header.extend(crate::sweep::SeedRow::COLUMNS);
    w.write_record(&header).map_err(csv_err)?;
    for v in &c.variants {
        for row in &v.rows {
            w.serialize((&v.name, row)).map_err(csv_err)?;
        }
    }
    w.flush().map_err(io(path))
}

/// Writes `sweep.csv` and `sweep.json` into a directory being staged by
/// [`write_staged`].
pub fn write_sweep_files(
    summary: &crate::sweep::SweepSummary,
    rows: &[crate::sweep::SeedRow],
    tmp: &Path,
) -> Result<(), ReportError> {
    write_csv(&tmp.join("sweep.csv"), rows)?;
    write_json(&tmp.join("sweep.json"), summary)
}

/// Writes an output directory the way [`write_outputs`] does, with
/// `write` filling the staging directory (it may take long: a sweep runs
/// inside it, writing kept seeds under `seeds/` as they finish).
pub fn write_staged(
    dir: &Path,
    force: bool,
    write: impl FnOnce(&Path) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    write_dir(dir, force, write)
}

/// Writes the outputs of one run into `dir`, a new directory inside a
/// staging directory (a sweep's kept seed).
pub fn write_run_into(result: &RunResult, dir: &Path) -> Result<(), ReportError> {
    fs::create_dir(dir).map_err(io(dir))?;
    write_marker(dir)?;
    write_all(result, dir)
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), ReportError> {
    let mut json = serde_json::to_string_pretty(value).expect("the summary serializes");
    json.push('\n');
    fs::File::create(path)
        .and_then(|mut f| f.write_all(json.as_bytes()))
        .map_err(io(path))
}

/// Writes an output directory: `write` fills a staging directory beside
/// `dir`, which then replaces it.
fn write_dir(
    dir: &Path,
    force: bool,
    write: impl FnOnce(&Path) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let target = check(dir, force)?;
    fs::create_dir_all(&target.parent).map_err(io(&target.parent))?;
    remove_stale_siblings(&target);
    let tmp = target.sibling("tmp");
    // create_dir, not create_dir_all: never write into something already there.
    fs::create_dir(&tmp).map_err(io(&tmp))?;
    let done = write_marker(&tmp)
        .and_then(|()| write(&tmp))
        .and_then(|()| put_in_place(&target, &tmp, force));
    if done.is_err() {
        // Gone already if it was renamed into place.
        let _ = remove_output_dir(&tmp);
    }
    done
}

fn write_marker(dir: &Path) -> Result<(), ReportError> {
    let path = dir.join(MARKER);
    fs::write(&path, MARKER_TEXT).map_err(io(&path))
}

/// Renames `tmp` to the target. A directory already there is renamed to
/// `.NAME.old-PID` first, checked once more, and removed only once `tmp`
/// is in place; if that rename fails, it is moved back.
fn put_in_place(target: &Target, tmp: &Path, force: bool) -> Result<(), ReportError> {
    let dir = &target.dir;
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return fs::rename(tmp, dir).map_err(io(dir));
        }
        Err(source) => {
            return Err(ReportError::Inspect {
                path: dir.clone(),
                source,
            });
        }
        Ok(_) => {}
    }
    let old = target.sibling("old");
    fs::rename(dir, &old).map_err(io(dir))?;
    // Files may have been added, or the directory swapped for a link, since
    // the check; what was moved aside cannot change under us by name.
    let moved = match check_existing(&old) {
        Err(Inspect::Refused(reason)) if !(force && reason.forceable()) => {
            Err(ReportError::Refused {
                path: dir.clone(),
                reason,
            })
        }
        Err(Inspect::Io(source)) => Err(ReportError::Inspect {
            path: old.clone(),
            source,
        }),
        _ => fs::rename(tmp, dir).map_err(io(dir)),
    };
    if let Err(e) = moved {
        return match fs::rename(&old, dir) {
            Ok(()) => Err(e),
            Err(source) => Err(ReportError::NotRestored { path: old, source }),
        };
    }
    let removed = if force {
        fs::remove_dir_all(&old)
    } else {
        remove_output_dir(&old)
    };
    removed.map_err(|source| ReportError::OldLeft { path: old, source })
}

fn write_all(result: &RunResult, dir: &Path) -> Result<(), ReportError> {
    write_csv(&dir.join("timeseries.csv"), &result.samples)?;
    write_csv(&dir.join("events.csv"), &result.events)?;
    write_csv(&dir.join("consumers.csv"), &result.consumer_rows)?;
    write_csv(&dir.join("partitions.csv"), &result.partition_rows)?;
    write_json(&dir.join("summary.json"), &result.summary)?;
    type Writer = fn(&RunResult, &Path, ChartFormat) -> Result<(), String>;
    let charts: [(&str, Writer, &str); 3] = [
        ("chart", write_chart, "Throughput and lag"),
        ("ownership", write_ownership_chart, "Partition ownership"),
        ("health", write_health_chart, "Group health"),
    ];
    for format in [ChartFormat::Png, ChartFormat::Svg] {
        for (name, write, _) in charts {
            let path = dir.join(format!("{name}.{}", format.extension()));
            write(result, &path, format).map_err(|message| ReportError::Chart { path, message })?;
        }
    }
    // The page embeds the SVGs just written, so it shows exactly the charts
    // beside it, drawn once.
    let captions: Vec<(&str, &str)> = charts.iter().map(|&(n, _, c)| (n, c)).collect();
    let figures = inline_figures(dir, &captions, "report.html")?;
    let path = dir.join("report.html");
    fs::write(&path, html::run_report(result, &figures)).map_err(io(&path))
}

/// The charts `NAME.svg` just written in `dir`, read back as inline SVG
/// for `page`: (name, caption, SVG) each.
fn inline_figures<'a>(
    dir: &Path,
    captions: &[(&'a str, &'a str)],
    page: &str,
) -> Result<Vec<(&'a str, &'a str, String)>, ReportError> {
    captions
        .iter()
        .map(|&(name, caption)| {
            let path = dir.join(format!("{name}.svg"));
            let text = fs::read_to_string(&path).map_err(io(&path))?;
            let svg = html::inline_svg(&text).ok_or_else(|| ReportError::Chart {
                path: path.clone(),
                message: format!("not an SVG document, cannot embed it in {page}"),
            })?;
            Ok((name, caption, svg))
        })
        .collect()
}

fn write_csv<T: serde::Serialize>(path: &Path, rows: &[T]) -> Result<(), ReportError> {
    let csv_err = |source| ReportError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut w = csv::Writer::from_path(path).map_err(csv_err)?;
    for row in rows {
        w.serialize(row).map_err(csv_err)?;
    }
    w.flush().map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A target `out` in a fresh directory, and a staging directory for it.
    fn setup() -> (tempfile::TempDir, Target, PathBuf) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let target = check(&tmp.path().join("out"), false).expect("a new directory");
        let staging = target.sibling("tmp");
        fs::create_dir(&staging).expect("mkdir");
        write_marker(&staging).expect("marker");
        fs::write(staging.join("summary.json"), "new").expect("write");
        (tmp, target, staging)
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("readable")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_marked_directory_is_replaced_and_the_old_one_removed() {
        let (tmp, target, staging) = setup();
        fs::create_dir(&target.dir).expect("mkdir");
        write_marker(&target.dir).expect("marker");
        fs::write(target.dir.join("summary.json"), "old").expect("write");
        put_in_place(&target, &staging, false).expect("replaced");
        assert_eq!(
            fs::read_to_string(target.dir.join("summary.json")).expect("read"),
            "new"
        );
        assert_eq!(names(tmp.path()), ["out"]);
    }

    #[test]
    fn files_added_after_the_check_are_found_and_put_back() {
        let (tmp, target, staging) = setup();
        fs::create_dir(&target.dir).expect("mkdir");
        fs::write(target.dir.join("notes.txt"), "mine").expect("write");
        let err = put_in_place(&target, &staging, false).expect_err("refused");
        assert!(
            matches!(&err, ReportError::Refused { reason: Refusal::ForeignFiles(f), .. } if f == &["notes.txt"]),
            "{err}"
        );
        assert_eq!(names(&target.dir), ["notes.txt"]);
        assert!(
            staging.is_dir(),
            "write_outputs removes the staging directory"
        );
        assert_eq!(names(tmp.path()).len(), 2, "no .old directory left");
    }

    #[test]
    fn a_failed_rename_moves_the_old_directory_back() {
        let (tmp, target, staging) = setup();
        fs::create_dir(&target.dir).expect("mkdir");
        write_marker(&target.dir).expect("marker");
        remove_output_dir(&staging).expect("removed, so renaming it fails");
        let err = put_in_place(&target, &staging, false).expect_err("rename fails");
        assert!(matches!(err, ReportError::Io { .. }), "{err}");
        assert_eq!(names(&target.dir), [MARKER]);
        assert_eq!(names(tmp.path()), ["out"]);
    }
}
