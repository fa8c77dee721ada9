//! `ownership.png`: one row per subscribed partition (the first
//! [`MAX_ROWS`]), coloured by the consumer that owns it, hatched while that
//! owner holds it without processing it, blank while nobody owns it.

use super::annotate::{self, Band};
use super::legend::{Entry, Legend, Swatch};
use super::palette::{consumer_color, faded};
use super::{
    CAUSE, ChartFormat, DrawResult, FONT, Frame, MARGIN, TITLE_HEIGHT, TimeChart, WIDTH, X_LABELS,
    axis_end, below_band, draw_band, hatch, head, register_font, render, seconds_label, text,
    title_text,
};
use crate::simulation::RunResult;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// The label of the lane above the rows where rebalances show even when
/// every row is owned.
const LANE: &str = "rebalancing";
/// Most partitions drawn.
const MAX_ROWS: usize = 120;
/// Height of a row (px).
const ROW_PX: i32 = 14;
const NAME_SIZE: f64 = 12.0;
/// Widest row label (px); longer names are shortened in the middle.
const MAX_NAME_PX: i32 = 360;
/// Widest consumer name in the legend (px).
const MAX_CONSUMER_PX: i32 = 220;
/// Most legend lines; consumers beyond are counted as `+N more`.
const LEGEND_LINES: usize = 8;
/// Space above and below the plot (px).
const PLOT_TOP: i32 = 8;
const PLOT_BOTTOM: i32 = 4;
/// How much of its owner's colour a bar shows: a little light, so that the
/// marks on it stay visible.
const OWNED_SHARE: f64 = 0.9;
/// Narrowest hatched span drawn (px), so a short stall shows.
const MIN_HATCH_PX: i32 = 2;

/// Draws the partition-ownership timeline of `result` to `path`.
pub fn write_ownership_chart(
    result: &RunResult,
    path: &Path,
    format: ChartFormat,
) -> Result<(), String> {
    register_font();
    let layout = Layout::new(result);
    let size = (WIDTH, layout.height());
    render!(path, size, format, |root| draw(root, result, &layout))
}

/// What decides the chart's size: rows, their labels, legend and band.
struct Layout {
    /// Rows drawn.
    rows: usize,
    /// Their labels, shortened to fit.
    names: Vec<String>,
    frame: Frame,
    legend: Legend,
    band: Band,
}

impl Layout {
    fn new(r: &RunResult) -> Layout {
        let rows = r.partition_names.len().min(MAX_ROWS);
        let names: Vec<String> = r.partition_names[..rows]
            .iter()
            .map(|n| text::fit(n, NAME_SIZE, MAX_NAME_PX))
            .collect();
        let widest = names
            .iter()
            .map(|n| text::width(n, NAME_SIZE))
            .fold(text::width(LANE, NAME_SIZE), i32::max);
        let frame = Frame::new(widest + 12, axis_end(r.summary.duration_ms));
        let band = Band::new(r, &frame);
        let mut marks = vec![
            Entry::new(
                Swatch::Hatch(RGBColor(90, 90, 90)),
                "hatched: held but not processed (owner paused or stalled, or crashed and not yet expired)",
            ),
            Entry::new(Swatch::Blank, "blank: nobody owns it"),
        ];
        marks.extend(band.legend());
        let legend = Legend::new(&[marks, consumer_entries(r, rows)], LEGEND_LINES);
        Layout {
            rows,
            names,
            frame,
            legend,
            band,
        }
    }

    /// Height of the image (px): the plot is exactly the rows and the
    /// rebalance lane.
    fn height(&self) -> u32 {
        let plot = (self.rows.max(1) + 1) as i32 * ROW_PX;
        let fixed = TITLE_HEIGHT + PLOT_TOP + PLOT_BOTTOM + X_LABELS + MARGIN;
        (fixed + self.legend.height() + self.band.height() + plot) as u32
    }
}

/// A legend entry per consumer seen in the rows drawn, in index order.
fn consumer_entries(r: &RunResult, rows: usize) -> Vec<Entry> {
    let mut seen: Vec<usize> = r
        .ownership
        .iter()
        .chain(&r.orphaned)
        .filter(|o| o.0 < rows)
        .map(|o| o.1)
        .collect();
    seen.sort_unstable();
    seen.dedup();
    let mut entries = vec![Entry::new(Swatch::Heading, "Owners:")];
    entries.extend(seen.into_iter().map(|c| {
        let name = consumer_name(r, c);
        Entry::new(
            Swatch::Fill(faded(consumer_color(c), OWNED_SHARE)),
            &text::fit(&name, 14.0, MAX_CONSUMER_PX),
        )
    }));
    entries
}

fn consumer_name(r: &RunResult, c: usize) -> String {
    r.consumer_names
        .get(c)
        .cloned()
        .unwrap_or_else(|| format!("#{c}"))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &RunResult,
    layout: &Layout,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let total = r.partition_names.len();
    let mut title = title_text(r, "partition ownership");
    if layout.rows < total {
        title.push_str(&format!(" (first {} of {total} partitions)", layout.rows));
    }
    let below = head(root, &title, &layout.legend)?;
    let (area, band_top) = below_band(&below, &layout.band);
    let frame = &layout.frame;
    // The rows, and the rebalance lane above them.
    let lane = layout.rows.max(1) as f64;
    let top = lane + 0.5;
    let mut chart = ChartBuilder::on(&area)
        .margin_left(MARGIN)
        .margin_right(MARGIN)
        .margin_top(PLOT_TOP)
        .margin_bottom(PLOT_BOTTOM)
        .x_label_area_size(X_LABELS)
        .y_label_area_size(frame.left - MARGIN)
        .build_cartesian_2d(0f64..frame.end_s, -0.5f64..top)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .disable_y_mesh()
        .y_labels(0)
        .light_line_style(WHITE.mix(0.0))
        .x_label_formatter(&seconds_label)
        .draw()?;
    annotate::shade_rebalances(&mut chart, r, frame, (-0.5, top))?;
    let by_row = spans_by_row(r, layout.rows);
    owned(&mut chart, &by_row)?;
    held_idle(root, &chart, r, &by_row)?;
    annotate::rebalance_lane(&mut chart, r, frame, (lane - 0.4, lane + 0.4))?;
    annotate::draw_markers(&mut chart, r)?;
    row_labels(root, &chart, layout)?;
    draw_band(root, &layout.band, band_top, &chart)
}

/// The y of row `row` of `rows` (the first at the top).
fn row_y(rows: usize, row: usize) -> f64 {
    rows.max(1) as f64 - 1.0 - row as f64
}

/// Each drawn row's ownership spans, (consumer, start s, end s) in start
/// order: where a zombie still holds a partition the group gave to a new
/// owner, the new owner comes last.
fn spans_by_row(r: &RunResult, rows: usize) -> Vec<Vec<(usize, f64, f64)>> {
    let mut by_row = vec![Vec::new(); rows];
    for &(row, consumer, a, b) in r.ownership.iter().filter(|o| o.0 < rows) {
        by_row[row].push((consumer, a, b));
    }
    for spans in &mut by_row {
        spans.sort_by(|x, y| x.1.total_cmp(&y.1));
    }
    by_row
}

/// A bar per ownership span, in its owner's colour, later owners on top.
fn owned<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    by_row: &[Vec<(usize, f64, f64)>],
) -> DrawResult<DB> {
    let rows = by_row.len();
    let bars = by_row.iter().enumerate().flat_map(|(row, spans)| {
        spans.iter().map(move |&(consumer, a, b)| {
            let y = row_y(rows, row);
            let color = faded(consumer_color(consumer), OWNED_SHARE).filled();
            Rectangle::new([(a, y - 0.4), (b, y + 0.4)], color)
        })
    });
    chart.draw_series(bars)?;
    Ok(())
}

/// Hatches what is held but not processed: partitions a crashed member
/// still holds in the coordinator, and those of a paused or stalled owner.
fn held_idle<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &TimeChart<'_, DB>,
    r: &RunResult,
    by_row: &[Vec<(usize, f64, f64)>],
) -> DrawResult<DB> {
    let rows = by_row.len();
    let mut idle: Vec<(usize, usize, f64, f64)> =
        r.orphaned.iter().filter(|o| o.0 < rows).copied().collect();
    // Each owner's spans together, to find those a block overlaps.
    let mut by_owner: Vec<&(usize, usize, f64, f64)> =
        r.ownership.iter().filter(|o| o.0 < rows).collect();
    by_owner.sort_by_key(|o| o.1);
    for &(consumer, a, b) in &r.blocked {
        let from = by_owner.partition_point(|o| o.1 < consumer);
        for &&(row, _, start, end) in by_owner[from..].iter().take_while(|o| o.1 == consumer) {
            idle.push((row, consumer, start.max(a), end.min(b)));
        }
    }
    for (row, consumer, a, b) in idle {
        for (s, e) in unshadowed(&by_row[row], consumer, a, b) {
            hatch_span(root, chart, rows, (row, consumer, s, e))?;
        }
    }
    Ok(())
}

/// The parts of `a..b` where no consumer but `consumer` owns the row:
/// where the group has given the partition to another, that owner shows.
fn unshadowed(spans: &[(usize, f64, f64)], consumer: usize, a: f64, b: f64) -> Vec<(f64, f64)> {
    let mut pieces = Vec::new();
    let mut from = a;
    for &(other, start, end) in spans {
        if other == consumer || end <= from || start >= b {
            continue;
        }
        if start > from {
            pieces.push((from, start));
        }
        from = end;
        if from >= b {
            return pieces;
        }
    }
    if from < b {
        pieces.push((from, b));
    }
    pieces
}

/// Hatches row `row` from `a` to `b` (s) in `consumer`'s colour.
fn hatch_span<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &TimeChart<'_, DB>,
    rows: usize,
    (row, consumer, a, b): (usize, usize, f64, f64),
) -> DrawResult<DB> {
    let y = row_y(rows, row);
    let (x0, y0) = chart.backend_coord(&(a, y + 0.4));
    let (x1, y1) = chart.backend_coord(&(b, y - 0.4));
    let x1 = x1.max(x0 + MIN_HATCH_PX);
    hatch(root, (x0, y0), (x1, y1), consumer_color(consumer))
}

/// The partition names left of the rows, or a note when there are none.
fn row_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &TimeChart<'_, DB>,
    layout: &Layout,
) -> DrawResult<DB> {
    let right = layout.frame.left - 6;
    let style = text::regular(NAME_SIZE)
        .into_text_style(root)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (row, name) in layout.names.iter().enumerate() {
        let (_, y) = chart.backend_coord(&(0.0, row_y(layout.rows, row)));
        root.draw(&Text::new(name.clone(), (right, y), style.clone()))?;
    }
    let (_, y) = chart.backend_coord(&(0.0, layout.rows.max(1) as f64));
    let lane = style.color(&CAUSE);
    root.draw(&Text::new(LANE.to_string(), (right, y), lane))?;
    if layout.rows == 0 {
        let (_, y) = chart.backend_coord(&(0.0, 0.0));
        root.draw(&Text::new(
            "no subscribed partitions".to_string(),
            (layout.frame.left + 10, y - 7),
            (FONT, 14).into_font(),
        ))?;
    }
    Ok(())
}
