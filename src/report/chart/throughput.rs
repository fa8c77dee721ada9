//! `chart.png`: throughput (produced and processed records per second)
//! and lag (the backlog, with the committed-offset lag beside it).

use super::annotate::{Band, draw_markers};
use super::legend::{Entry, Legend, Swatch};
use super::{
    ChartFormat, DrawResult, Frame, WIDTH, Y_LABELS, axis_end, below_band, below_legend, draw_band,
    head, register_font, render, sample_interval, secs, thousands, time_panel, title_text, y_top,
};
use crate::simulation::RunResult;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

const SIZE: (u32, u32) = (WIDTH, 1000);

const PRODUCED: RGBColor = RGBColor(31, 119, 180);
const PROCESSED: RGBColor = RGBColor(44, 160, 44);
const BACKLOG: RGBColor = RGBColor(178, 24, 43);
/// The committed-offset lag: the backlog's hue, lighter, as it is the
/// noisier, secondary measure.
const LAG: RGBColor = RGBColor(240, 150, 120);

/// Draws the throughput and lag chart of `result` to `path`.
pub fn write_chart(result: &RunResult, path: &Path, format: ChartFormat) -> Result<(), String> {
    register_font();
    render!(path, SIZE, format, |root| draw(root, result))
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, r: &RunResult) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let s = &r.summary;
    let title = format!(
        "{}: {} rebalances, {:.1} unowned partition-s, {} duplicates, {} lost",
        title_text(r, "throughput and lag"),
        s.rebalances,
        s.unowned_partition_seconds,
        thousands(s.duplicates as f64),
        thousands(s.lost as f64)
    );
    let frame = Frame::new(Y_LABELS, axis_end(s.duration_ms));
    let band = Band::new(r, &frame);
    let legend = Legend::new(&[band.legend()], 2);
    let panels = head(root, &title, &legend)?;
    let (upper, lower) = panels.split_vertically(panels.dim_in_pixel().1 / 2);
    throughput(root, &upper, r, &frame, &band)?;
    lag(&lower, r, &frame)
}

/// The throughput panel, with `band` above its plot.
fn throughput<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    r: &RunResult,
    frame: &Frame,
    band: &Band,
) -> DrawResult<DB> {
    let heading = match sample_interval(r) {
        Some(dt) => format!("Throughput, records/s over each {} s sample", secs(dt)),
        None => "Throughput, records/s".to_string(),
    };
    let legend = Legend::new(
        &[vec![
            Entry::new(Swatch::Heading, &heading),
            Entry::new(
                Swatch::Line(PRODUCED, 2),
                "produced to the subscribed topics",
            ),
            Entry::new(
                Swatch::Line(PROCESSED, 2),
                "processed (duplicates included), each batch spread over the time it took",
            ),
        ]],
        2,
    );
    let (plot, band_top) = below_band(&below_legend(area, &legend)?, band);
    // The first sample has no interval before it: no rate.
    let rates = r.samples.iter().skip(1);
    let produced: Vec<(f64, f64)> = rates
        .clone()
        .map(|x| (x.time_s, x.produced_per_s))
        .collect();
    let processed: Vec<(f64, f64)> = rates.map(|x| (x.time_s, x.processed_per_s)).collect();
    let max = produced
        .iter()
        .chain(&processed)
        .map(|p| p.1)
        .fold(0.0, f64::max);
    let mut chart = time_panel(&plot, r, frame, y_top(max), "records / s")?;
    draw_markers(&mut chart, r)?;
    chart.draw_series(LineSeries::new(produced, PRODUCED.stroke_width(2)))?;
    chart.draw_series(LineSeries::new(processed, PROCESSED.stroke_width(2)))?;
    draw_band(root, band, band_top, &chart)
}

/// The lag panel: the backlog as the main line, the committed-offset lag
/// thinner and lighter behind it.
fn lag<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    r: &RunResult,
    frame: &Frame,
) -> DrawResult<DB> {
    let legend = Legend::new(
        &[vec![
            Entry::new(Swatch::Heading, "Lag, records"),
            Entry::new(
                Swatch::Line(BACKLOG, 3),
                "backlog: produced, not yet processed",
            ),
            Entry::new(
                Swatch::Line(LAG, 1),
                "committed-offset lag: log end − committed offset (drops at each commit)",
            ),
        ]],
        2,
    );
    let plot = below_legend(area, &legend)?;
    let backlog: Vec<(f64, f64)> = r
        .samples
        .iter()
        .map(|x| (x.time_s, x.backlog_total as f64))
        .collect();
    let committed: Vec<(f64, f64)> = r
        .samples
        .iter()
        .map(|x| (x.time_s, x.lag_total as f64))
        .collect();
    let max = backlog
        .iter()
        .chain(&committed)
        .map(|p| p.1)
        .fold(0.0, f64::max);
    let mut chart = time_panel(&plot, r, frame, y_top(max), "records")?;
    draw_markers(&mut chart, r)?;
    chart.draw_series(LineSeries::new(committed, LAG.stroke_width(1)))?;
    chart.draw_series(LineSeries::new(backlog, BACKLOG.stroke_width(3)))?;
    Ok(())
}
