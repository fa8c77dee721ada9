//! `health.png`: how much of the group works over time: partitions nobody
//! owns, partitions held but not processed and their sum, the members the
//! coordinator sees, and the generation.

use super::annotate::{Band, draw_markers};
use super::legend::{Entry, Legend, Swatch};
use super::{
    ChartFormat, DrawResult, Frame, WIDTH, Y_LABELS, axis_end, below_band, below_legend, draw_band,
    head, register_font, render, sampled, time_panel, title_text, y_top,
};
use crate::metrics::Sample;
use crate::simulation::RunResult;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

const SIZE: (u32, u32) = (WIDTH, 1050);

/// Opaque, so that the rebalance shading does not tint it.
const NOT_PROCESSED: RGBColor = RGBColor(205, 205, 205);
const UNOWNED: RGBColor = RGBColor(214, 39, 40);
const STALLED: RGBColor = RGBColor(118, 72, 170);
/// Partitions whose leader is down: a broker problem, not the group's.
const UNAVAILABLE: RGBColor = RGBColor(230, 140, 20);
const MEMBERS: RGBColor = RGBColor(20, 130, 140);
const GENERATION: RGBColor = RGBColor(57, 59, 121);

/// Draws the group-health chart of `result` to `path`.
pub fn write_health_chart(
    result: &RunResult,
    path: &Path,
    format: ChartFormat,
) -> Result<(), String> {
    register_font();
    render!(path, SIZE, format, |root| draw(root, result))
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, r: &RunResult) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let frame = Frame::new(Y_LABELS, axis_end(r.summary.duration_ms));
    let band = Band::new(r, &frame);
    let legend = Legend::new(&[band.legend()], 2);
    let panels = head(root, &title_text(r, "group health"), &legend)?;
    let height = panels.dim_in_pixel().1;
    let (top, rest) = panels.split_vertically(height * 9 / 20);
    let (middle, bottom) = rest.split_vertically(height * 11 / 40);
    partitions(root, &top, r, &frame, &band)?;
    let members = steps(&r.samples, |s| s.members as f64);
    let member_entries = [
        Entry::new(Swatch::Heading, &sampled("Members", r)),
        Entry::new(
            Swatch::Line(MEMBERS, 2),
            "members of the group, as the coordinator sees them",
        ),
    ];
    step_panel(
        &middle,
        r,
        &frame,
        &member_entries,
        members,
        MEMBERS,
        "members",
    )?;
    let generations = steps(&r.samples, |s| s.generation.max(0) as f64);
    let generation_entries = [
        Entry::new(Swatch::Heading, &sampled("Generation", r)),
        Entry::new(
            Swatch::Line(GENERATION, 2),
            "the group's generation: one more each time a rebalance's join phase ends",
        ),
    ];
    step_panel(
        &bottom,
        r,
        &frame,
        &generation_entries,
        generations,
        GENERATION,
        "generation",
    )
}

/// Unowned and stalled partitions, and their sum, with `band` above the plot.
fn partitions<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    r: &RunResult,
    frame: &Frame,
    band: &Band,
) -> DrawResult<DB> {
    let any_unavailable = r.samples.iter().any(|s| s.unavailable_partitions > 0);
    let mut entries = vec![
        Entry::new(Swatch::Heading, &sampled("Partitions not processed", r)),
        Entry::new(
            Swatch::Fill(NOT_PROCESSED),
            "not processed: unowned + stalled",
        ),
        Entry::new(Swatch::Line(UNOWNED, 2), "unowned: nobody holds it"),
        Entry::new(
            Swatch::Line(STALLED, 2),
            "stalled: its holder is paused, stalled, or crashed and not yet expired",
        ),
    ];
    if any_unavailable {
        entries.push(Entry::new(
            Swatch::Line(UNAVAILABLE, 2),
            "unavailable: its leader is down or cut off from its holder (owned or not)",
        ));
    }
    let legend = Legend::new(&[entries], 2);
    let (plot, band_top) = below_band(&below_legend(area, &legend)?, band);
    let sum = steps(&r.samples, |s| {
        (s.unowned_partitions + s.stalled_partitions) as f64
    });
    let unavailable = steps(&r.samples, |s| s.unavailable_partitions as f64);
    let max = sum
        .iter()
        .chain(&unavailable)
        .map(|p| p.1)
        .fold(0.0, f64::max);
    let desc = format!("partitions (of {})", r.partition_names.len());
    let mut chart = time_panel(&plot, r, frame, y_top(max), &desc)?;
    chart.draw_series(
        AreaSeries::new(sum, 0.0, NOT_PROCESSED.filled())
            .border_style(RGBColor(120, 120, 120).stroke_width(1)),
    )?;
    draw_markers(&mut chart, r)?;
    let unowned = steps(&r.samples, |s| s.unowned_partitions as f64);
    let stalled = steps(&r.samples, |s| s.stalled_partitions as f64);
    chart.draw_series(LineSeries::new(stalled, STALLED.stroke_width(2)))?;
    chart.draw_series(LineSeries::new(unowned, UNOWNED.stroke_width(2)))?;
    if any_unavailable {
        chart.draw_series(LineSeries::new(unavailable, UNAVAILABLE.stroke_width(2)))?;
    }
    draw_band(root, band, band_top, &chart)
}

/// A panel of one step line, with a legend strip of `entries` above it.
fn step_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    r: &RunResult,
    frame: &Frame,
    entries: &[Entry],
    points: Vec<(f64, f64)>,
    color: RGBColor,
    y_desc: &str,
) -> DrawResult<DB> {
    let legend = Legend::new(&[entries.to_vec()], 1);
    let plot = below_legend(area, &legend)?;
    let max = points.iter().map(|p| p.1).fold(0.0, f64::max);
    let mut chart = time_panel(&plot, r, frame, y_top(max), y_desc)?;
    draw_markers(&mut chart, r)?;
    chart.draw_series(LineSeries::new(points, color.stroke_width(2)))?;
    Ok(())
}

/// `value` of each sample held until the next sample: counts change in
/// steps, not ramps.
fn steps(samples: &[Sample], value: impl Fn(&Sample) -> f64) -> Vec<(f64, f64)> {
    let mut points = Vec::with_capacity(samples.len() * 2);
    for (i, s) in samples.iter().enumerate() {
        if let Some(before) = i.checked_sub(1).map(|k| &samples[k]) {
            points.push((s.time_s, value(before)));
        }
        points.push((s.time_s, value(s)));
    }
    points
}
