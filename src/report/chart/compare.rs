//! The charts of a comparison: throughput and lag over time with a line
//! per variant (the median over the seeds; lag as the backlog) in a p5–p95 band of its colour
//! (`compare.png`), and the key metrics as bars, the median with a p95
//! whisker (`compare-metrics.png`).

use super::legend::{Entry, Legend, Swatch};
use super::palette::consumer_color;
use super::{
    ChartFormat, DrawResult, FONT, Frame, WIDTH, Y_LABELS, axis_end, below_legend, count_label,
    head, register_font, render, time_axes, y_label_count, y_top,
};
use crate::compare::{Band, Comparison, METRICS, is_millis};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

const SIZE: (u32, u32) = (WIDTH, 1000);

/// The variants' legend: a line of each one's colour.
fn variant_legend(c: &Comparison, heading: &str) -> Legend {
    let mut entries = vec![Entry::new(Swatch::Heading, heading)];
    for (i, v) in c.variants.iter().enumerate() {
        // An approximate variant says so where the chart shows it.
        let label = match &v.approximation {
            Some(a) => format!("{} ({}, not exact)", v.name, a.setting()),
            None => v.name.clone(),
        };
        entries.push(Entry::new(Swatch::Line(consumer_color(i), 3), &label));
    }
    Legend::new(&[entries], 3)
}

fn title(c: &Comparison, what: &str) -> String {
    format!(
        "{} — {what}, {} variants over {} seeds",
        c.scenario,
        c.variants.len(),
        c.seeds.len()
    )
}

/// Draws throughput and lag over time for every variant of `c` to `path`.
pub fn write_compare_chart(c: &Comparison, path: &Path, format: ChartFormat) -> Result<(), String> {
    register_font();
    render!(path, SIZE, format, |root| draw_time(root, c))
}

fn draw_time<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Comparison) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let end = c
        .variants
        .iter()
        .filter_map(|v| v.backlog.time_s.last().copied())
        .fold(0.0, f64::max);
    let frame = Frame::new(Y_LABELS, axis_end((end * 1000.0) as u64));
    let legend = variant_legend(
        c,
        "Each line: a variant's median over the seeds; its shade: the 5th to 95th percentile",
    );
    let panels = head(root, &title(c, "throughput and lag"), &legend)?;
    let (upper, lower) = panels.split_vertically(panels.dim_in_pixel().1 / 2);
    // The first sample has no interval before it: no rate.
    panel(
        &upper,
        c,
        &frame,
        "Processed, records/s",
        "records / s",
        1,
        |v| &v.throughput,
    )?;
    panel(
        &lower,
        c,
        &frame,
        "Lag: the backlog, records produced and not yet processed",
        "records",
        0,
        |v| &v.backlog,
    )
}

/// One time panel: a band and a median line per variant.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Comparison,
    frame: &Frame,
    heading: &str,
    y_desc: &str,
    skip: usize,
    band: impl Fn(&crate::compare::VariantResult) -> &Band,
) -> DrawResult<DB> {
    let legend = Legend::new(&[vec![Entry::new(Swatch::Heading, heading)]], 1);
    let plot = below_legend(area, &legend)?;
    let max = c
        .variants
        .iter()
        .flat_map(|v| band(v).p95.iter().skip(skip).copied())
        .fold(0.0, f64::max);
    let y_max = y_top(max);
    let mut chart = time_axes(&plot, frame, y_max, y_desc)?;
    for (i, v) in c.variants.iter().enumerate() {
        let b = band(v);
        let color = consumer_color(i);
        let upper = b.time_s.iter().zip(&b.p95).skip(skip);
        let lower = b.time_s.iter().zip(&b.p5).skip(skip).rev();
        let outline: Vec<(f64, f64)> = upper.chain(lower).map(|(&t, &y)| (t, y)).collect();
        if outline.len() > 2 {
            chart.draw_series(std::iter::once(Polygon::new(
                outline,
                color.mix(0.15).filled(),
            )))?;
        }
    }
    for (i, v) in c.variants.iter().enumerate() {
        let b = band(v);
        let line: Vec<(f64, f64)> = b
            .time_s
            .iter()
            .zip(&b.p50)
            .skip(skip)
            .map(|(&t, &y)| (t, y))
            .collect();
        chart.draw_series(LineSeries::new(line, consumer_color(i).stroke_width(2)))?;
    }
    Ok(())
}

/// The metrics drawn as bars.
const BARS: [&str; 6] = [
    "rebalances",
    "time_in_rebalance_ms",
    "unowned_partition_seconds",
    "max_lag",
    "drain_ms",
    "duplicates",
];

/// Draws the key metrics of every variant of `c` as bars to `path`.
pub fn write_compare_metrics_chart(
    c: &Comparison,
    path: &Path,
    format: ChartFormat,
) -> Result<(), String> {
    register_font();
    render!(path, (WIDTH, 800), format, |root| draw_bars(root, c))
}

fn draw_bars<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Comparison) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let legend = variant_legend(
        c,
        "Bars: each variant's median over the seeds; whiskers: its 95th percentile",
    );
    let area = head(root, &title(c, "key metrics"), &legend)?;
    let cells = area.split_evenly((2, 3));
    for (cell, metric) in cells.iter().zip(BARS) {
        let label = METRICS
            .iter()
            .find(|(m, _)| *m == metric)
            .map_or(metric, |(_, l)| l);
        let unit = if is_millis(metric) { 1000.0 } else { 1.0 };
        let values: Vec<(Option<f64>, Option<f64>)> = c
            .variants
            .iter()
            .map(|v| {
                c.metric(metric, &v.name).map_or((None, None), |m| {
                    (m.p50.map(|x| x / unit), m.p95.map(|x| x / unit))
                })
            })
            .collect();
        let max = values
            .iter()
            .flat_map(|(a, b)| [*a, *b])
            .flatten()
            .fold(0.0, f64::max);
        let y_max = y_top(max);
        let n = c.variants.len().max(1) as f64;
        let mut chart = ChartBuilder::on(cell)
            .caption(label, (FONT, 16))
            .margin(12)
            .x_label_area_size(10)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..n, 0f64..y_max)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .label_style((FONT, 13))
            .light_line_style(WHITE.mix(0.0))
            .y_labels(y_label_count(y_max).min(6))
            .y_label_formatter(&|v| {
                if y_max < 10.0 {
                    format!("{v:.1}")
                } else {
                    count_label(v)
                }
            })
            .draw()?;
        for (i, (p50, p95)) in values.iter().enumerate() {
            let x = i as f64;
            let color = consumer_color(i);
            match p50 {
                Some(m) => {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(x + 0.15, 0.0), (x + 0.85, *m)],
                        color.filled(),
                    )))?;
                }
                // Never converged or drained: a hatched-looking full bar.
                None => {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(x + 0.15, 0.0), (x + 0.85, y_max)],
                        color.mix(0.25).filled(),
                    )))?;
                }
            }
            if let (Some(m), Some(top)) = (p50, p95) {
                let mid = x + 0.5;
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(mid, *m), (mid, *top)],
                    BLACK.stroke_width(2),
                )))?;
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(mid - 0.15, *top), (mid + 0.15, *top)],
                    BLACK.stroke_width(2),
                )))?;
            }
        }
    }
    Ok(())
}
