//! The output directory, written atomically: everything goes to a hidden
//! temporary sibling that is renamed into place once complete.

use super::chart::{ChartFormat, write_chart, write_ownership_chart};
use crate::simulation::RunResult;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Writing outputs failed.
#[derive(Debug, Error)]
pub enum ReportError {
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// CSV encoding failed.
    #[error("cannot write {path}: {source}")]
    Csv {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: csv::Error,
    },
    /// A chart could not be drawn.
    #[error("cannot draw {path}: {message}")]
    Chart {
        /// The path.
        path: PathBuf,
        /// The cause.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes all outputs of `result` into `dir` (replacing it if present).
pub fn write_outputs(result: &RunResult, dir: &Path) -> Result<(), ReportError> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io(parent))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let written = write_all(result, &tmp);
    if let Err(e) = written {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(io(dir))?;
    }
    fs::rename(&tmp, dir).map_err(io(dir))
}

fn write_all(result: &RunResult, dir: &Path) -> Result<(), ReportError> {
    write_csv(&dir.join("timeseries.csv"), &result.samples)?;
    write_csv(&dir.join("events.csv"), &result.events)?;
    let summary = dir.join("summary.json");
    let mut json = serde_json::to_string_pretty(&result.summary).expect("summary serializes");
    json.push('\n');
    fs::File::create(&summary)
        .and_then(|mut f| f.write_all(json.as_bytes()))
        .map_err(io(&summary))?;
    for format in [ChartFormat::Png, ChartFormat::Svg] {
        let path = dir.join(format!("chart.{}", format.extension()));
        write_chart(result, &path, format)
            .map_err(|message| ReportError::Chart { path, message })?;
        let path = dir.join(format!("ownership.{}", format.extension()));
        write_ownership_chart(result, &path, format)
            .map_err(|message| ReportError::Chart { path, message })?;
    }
    Ok(())
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
