//! Writing a run's outputs: `timeseries.csv`, `events.csv`,
//! `summary.json`, charts, `report.html` (all of it on one page) and a
//! marker file, into a directory that appears
//! whole or not at all and only ever replaces what rebalance-sim wrote; and
//! the summary table printed on the terminal.

mod chart;
mod compare_html;
mod files;
mod html;
mod outdir;
mod table;

pub use chart::{
    ChartFormat, write_chart, write_compare_chart, write_compare_metrics_chart, write_health_chart,
    write_ownership_chart,
};
pub use files::{
    ReportError, write_compare_outputs, write_outputs, write_run_into, write_staged,
    write_sweep_files, write_sweep_outputs,
};
pub use outdir::{COMPARE_FILES, MARKER, OUTPUT_FILES, Refusal, check_output_dir};
pub use table::summary_table;
