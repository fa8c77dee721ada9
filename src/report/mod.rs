//! Writing a run's outputs: `timeseries.csv`, `events.csv`,
//! `summary.json` and charts, into a directory that appears whole or not
//! at all; and the summary table printed on the terminal.

mod chart;
mod files;
mod table;

pub use chart::{ChartFormat, write_chart, write_ownership_chart};
pub use files::{ReportError, write_outputs};
pub use table::summary_table;
