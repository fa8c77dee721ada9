//! The charts of a run, as PNG and SVG: throughput and lag (`chart`),
//! partition ownership (`ownership`) and group health (`health`), each with
//! rebalances shaded and their causes and the timeline events labelled.
//! The font is embedded (DejaVu Sans), so nothing needs installing, and
//! text is measured with it, so labels are laid out the same in both
//! formats and on every machine.

mod annotate;
mod compare;
mod health;
mod legend;
mod ownership;
mod palette;
#[cfg(test)]
mod tests;
mod text;
mod throughput;

pub use compare::{write_compare_chart, write_compare_metrics_chart};
pub use health::write_health_chart;
pub use ownership::write_ownership_chart;
pub use throughput::write_chart;

use crate::simulation::RunResult;
use annotate::Band;
use legend::Legend;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::sync::Once;

/// Image format of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFormat {
    /// Bitmap.
    Png,
    /// Vector.
    Svg,
}

impl ChartFormat {
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            ChartFormat::Png => "png",
            ChartFormat::Svg => "svg",
        }
    }
}

/// Width of every chart (px).
const WIDTH: u32 = 1400;
const FONT: &str = "sans-serif";
/// Space left and right of a panel, and above and below it (px).
const MARGIN: i32 = 15;
/// Width of the y-axis labels of the time panels (px).
const Y_LABELS: i32 = 90;
/// Height of the x-axis labels (px).
const X_LABELS: i32 = 40;
/// Height of the chart title (px), and its font size.
const TITLE_HEIGHT: i32 = 40;
const TITLE_SIZE: f64 = 20.0;

const REBALANCE: RGBColor = RGBColor(255, 160, 60);
/// Text of rebalance causes: the shading's hue, dark enough to read.
const CAUSE: RGBColor = RGBColor(176, 84, 0);
const MARKER: RGBColor = RGBColor(80, 80, 80);

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded font always parses; a failure would only lose text.
        use plotters::style::{FontStyle, register_font};
        let _ = register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

/// Draws with `$draw` (a closure taking the root area) on the PNG or SVG
/// backend: expanded once per backend, so the closure is typed for each.
macro_rules! render {
    ($path:expr, $size:expr, $format:expr, $draw:expr) => {
        match $format {
            ChartFormat::Png => {
                let root = BitMapBackend::new($path, $size).into_drawing_area();
                ($draw)(&root).map_err(|e| e.to_string())?;
                root.present().map_err(|e| e.to_string())
            }
            ChartFormat::Svg => {
                let root = SVGBackend::new($path, $size).into_drawing_area();
                ($draw)(&root).map_err(|e| e.to_string())?;
                root.present().map_err(|e| e.to_string())
            }
        }
    };
}
use render;

type DrawError<DB> = DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>;
type DrawResult<DB> = Result<(), DrawError<DB>>;

/// A chart with time on x, in seconds, and a linear y.
type TimeChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The horizontal layout every panel of a chart shares, so that times line
/// up across panels and with the label band above them.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Left edge of the plotting area (px from the image's left).
    left: i32,
    /// Right edge of the plotting area (px).
    right: i32,
    /// The end of the time axis (s).
    end_s: f64,
}

impl Frame {
    /// The frame of panels whose y labels take `y_labels` px.
    fn new(y_labels: i32, end_s: f64) -> Frame {
        Frame {
            left: MARGIN + y_labels,
            right: WIDTH as i32 - MARGIN,
            end_s,
        }
    }

    /// Width of the plotting area (px).
    fn width(&self) -> i32 {
        (self.right - self.left).max(1)
    }

    /// Where time `t` is drawn (px).
    fn x(&self, t: f64) -> i32 {
        let share = (t / self.end_s).clamp(0.0, 1.0);
        self.left + (share * self.width() as f64).round() as i32
    }

    /// How long `px` pixels last (s).
    fn seconds(&self, px: i32) -> f64 {
        self.end_s * px as f64 / self.width() as f64
    }
}

/// The end of a run's time axis (s): never empty.
fn axis_end(duration_ms: u64) -> f64 {
    (duration_ms as f64 / 1000.0).max(1.0)
}

/// Draws the title at the top of `root` and `legend` below it; returns
/// the area left.
fn head<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    legend: &Legend,
) -> Result<DrawingArea<DB, Shift>, DrawError<DB>> {
    let font = text::bold(TITLE_SIZE);
    let title = text::fit_in(title, &font, WIDTH as i32 - 2 * MARGIN);
    let (w, _) = root.dim_in_pixel();
    let left = (w as i32 - text::measure(&title, &font)) / 2;
    let top = text::top_for_center(TITLE_HEIGHT / 2, TITLE_SIZE);
    root.draw(&Text::new(title, (left, top), font))?;
    below_legend(&root.split_vertically(TITLE_HEIGHT).1, legend)
}

/// Draws `legend` at the top of `area`; returns the area below it.
fn below_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    legend: &Legend,
) -> Result<DrawingArea<DB, Shift>, DrawError<DB>> {
    let (strip, rest) = area.split_vertically(legend.height());
    legend.draw(&strip)?;
    Ok(rest)
}

/// Leaves room for `band`'s rows at the top of `area`; returns the area
/// below and the band's top (px).
fn below_band<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    band: &Band,
) -> (DrawingArea<DB, Shift>, i32) {
    let top = area.get_base_pixel().1;
    (area.split_vertically(band.height()).1, top)
}

/// Draws `band` from `band_top` on `root`, the whole image, its lines
/// ending on `chart`'s plot.
fn draw_band<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    band: &Band,
    band_top: i32,
    chart: &TimeChart<'_, DB>,
) -> DrawResult<DB> {
    band.draw(root, band_top, plot_top(chart))
}

/// `scenario — what, assignor A, seed S`, the scenario name shortened if
/// it would crowd out the rest.
fn title_text(r: &RunResult, what: &str) -> String {
    let s = &r.summary;
    format!(
        "{} — {what}, assignor {}, seed {}",
        text::fit_in(&s.scenario, &text::bold(TITLE_SIZE), 500),
        s.assignor,
        s.seed
    )
}

/// `12,345`.
fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// Labels of a count axis: whole numbers only, so a small range does not
/// repeat `1` at 0.5, 1.0 and 1.5.
fn count_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-6 {
        thousands(*v)
    } else {
        String::new()
    }
}

/// Seconds on the time axis.
fn seconds_label(v: &f64) -> String {
    format!("{v:.0}")
}

/// A panel of `r` over time on `area`: axes from 0 to `y_max` across
/// `frame`, rebalances shaded; the caller draws the series, then
/// [`annotate::draw_markers`] over them.
fn time_panel<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    r: &RunResult,
    frame: &Frame,
    y_max: f64,
    y_desc: &str,
) -> Result<TimeChart<'a, DB>, DrawError<DB>> {
    let mut chart = time_axes(area, frame, y_max, y_desc)?;
    annotate::shade_rebalances(&mut chart, r, frame, (0.0, y_max))?;
    Ok(chart)
}

/// Axes from 0 to `y_max` across `frame`, time in seconds on x: the plot
/// of every time panel, before anything is drawn on it.
fn time_axes<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    frame: &Frame,
    y_max: f64,
    y_desc: &str,
) -> Result<TimeChart<'a, DB>, DrawError<DB>> {
    let mut chart = ChartBuilder::on(area)
        .margin_left(MARGIN)
        .margin_right(MARGIN)
        .margin_top(8)
        .margin_bottom(4)
        .x_label_area_size(X_LABELS)
        .y_label_area_size(frame.left - MARGIN)
        .build_cartesian_2d(0f64..frame.end_s, 0f64..y_max)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc(y_desc)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .light_line_style(WHITE.mix(0.0))
        .y_labels(y_label_count(y_max))
        .y_label_formatter(&count_label)
        .x_label_formatter(&seconds_label)
        .draw()?;
    Ok(chart)
}

/// The y (px from the image's top) of the top of `chart`'s plot.
fn plot_top<DB: DrawingBackend>(chart: &TimeChart<'_, DB>) -> i32 {
    let y = chart.y_range().end;
    chart.backend_coord(&(0.0, y)).1
}

/// How many y labels to ask for: on a short axis, one per whole number, so
/// that no tick is left without a label.
fn y_label_count(y_max: f64) -> usize {
    if y_max <= 10.0 {
        (y_max.floor() as usize + 1).max(2)
    } else {
        10
    }
}

/// The top of a y axis that shows `max` with headroom; 1 when everything is 0.
fn y_top(max: f64) -> f64 {
    if max > 0.0 { max * 1.1 } else { 1.0 }
}

/// Space between hatch lines (px).
const HATCH_STEP: i32 = 6;

/// Fills the box from `a` to `b` (px in `area`) with `color` faded and
/// crossed by diagonal lines of it: what a hatched owner means, held but
/// not processed.
fn hatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    a: (i32, i32),
    b: (i32, i32),
    color: RGBColor,
) -> DrawResult<DB> {
    let (x0, x1) = (a.0.min(b.0), a.0.max(b.0));
    let (y0, y1) = (a.1.min(b.1), a.1.max(b.1));
    let fill = palette::faded(color, 0.3).filled();
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], fill))?;
    // The lines x + y = k, k on one grid for the whole image, so that boxes
    // side by side continue each other's lines.
    let mut k = (x0 + y0).div_euclid(HATCH_STEP) * HATCH_STEP;
    while k <= x1 + y1 {
        let bottom = if k - y1 < x0 {
            (x0, k - x0)
        } else {
            (k - y1, y1)
        };
        let top = if k - y0 > x1 {
            (x1, k - x1)
        } else {
            (k - y0, y0)
        };
        if bottom.0 <= top.0 && bottom.1 >= top.1 {
            area.draw(&PathElement::new(vec![bottom, top], color.stroke_width(1)))?;
        }
        k += HATCH_STEP;
    }
    Ok(())
}

/// `1`, `0.5`, `0.125`: seconds without trailing zeros.
fn secs(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The time between samples (s), if there are two.
fn sample_interval(r: &RunResult) -> Option<f64> {
    match r.samples.as_slice() {
        [a, b, ..] if b.time_s > a.time_s => Some(b.time_s - a.time_s),
        _ => None,
    }
}

/// `heading (sampled every 1 s)`, when the run has an interval.
fn sampled(heading: &str, r: &RunResult) -> String {
    match sample_interval(r) {
        Some(dt) => format!("{heading} (sampled every {} s)", secs(dt)),
        None => heading.to_string(),
    }
}
