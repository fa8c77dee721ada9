//! The throughput and lag chart, with rebalances shaded and timeline
//! events marked, as PNG and SVG. The font is embedded (DejaVu Sans), so
//! nothing needs installing.

use crate::simulation::RunResult;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
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

const SIZE: (u32, u32) = (1400, 900);
const FONT: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded font always parses; a failure would only lose text.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
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

/// Draws the chart of `result` to `path`.
pub fn write_chart(result: &RunResult, path: &Path, format: ChartFormat) -> Result<(), String> {
    register_font();
    render!(path, SIZE, format, |root| draw(root, result))
}

const PRODUCED: RGBColor = RGBColor(31, 119, 180);
const PROCESSED: RGBColor = RGBColor(44, 160, 44);
const LAG: RGBColor = RGBColor(214, 39, 40);
const REBALANCE: RGBColor = RGBColor(255, 160, 60);
const MARKER: RGBColor = RGBColor(90, 90, 90);

/// A named, coloured line.
type Series<'a> = (&'a str, RGBColor, &'a [(f64, f64)]);

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, r: &RunResult) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let s = &r.summary;
    let title = format!(
        "{} — assignor {}, seed {}: {} rebalances, {:.1} unowned partition-s, {} duplicates, {} lost",
        s.scenario,
        s.assignor,
        s.seed,
        s.rebalances,
        s.unowned_partition_seconds,
        s.duplicates,
        s.lost
    );
    let root = root.titled(&title, (FONT, 22).into_font().style(FontStyle::Bold))?;
    let (top, bottom) = root.split_vertically(SIZE.1 / 2 - 20);
    let end = s.duration_ms as f64 / 1000.0;

    let throughput_max = r
        .samples
        .iter()
        .map(|x| x.produced_per_s.max(x.processed_per_s))
        .fold(1.0, f64::max)
        * 1.15;
    let produced: Vec<(f64, f64)> = r
        .samples
        .iter()
        .skip(1)
        .map(|x| (x.time_s, x.produced_per_s))
        .collect();
    let processed: Vec<(f64, f64)> = r
        .samples
        .iter()
        .skip(1)
        .map(|x| (x.time_s, x.processed_per_s))
        .collect();
    panel(
        &top,
        r,
        end,
        throughput_max,
        "records / s",
        &[
            ("produced", PRODUCED, &produced),
            ("processed", PROCESSED, &processed),
        ],
    )?;

    let lag_max = r
        .samples
        .iter()
        .map(|x| x.lag_total as f64)
        .fold(1.0, f64::max)
        * 1.15;
    let lag: Vec<(f64, f64)> = r
        .samples
        .iter()
        .map(|x| (x.time_s, x.lag_total as f64))
        .collect();
    panel(
        &bottom,
        r,
        end,
        lag_max,
        "lag (records, log end − committed)",
        &[("total lag", LAG, &lag)],
    )?;
    Ok(())
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    r: &RunResult,
    end: f64,
    y_max: f64,
    y_desc: &str,
    series: &[Series<'_>],
) -> DrawResult<DB> {
    let mut chart = ChartBuilder::on(area)
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..end.max(1.0), 0f64..y_max)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc(y_desc)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .y_label_formatter(&|v| thousands(*v))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    chart
        .draw_series(r.rebalance_spans.iter().map(|span| {
            let (a, b) = (span.start_s, span.end_s);
            Rectangle::new(
                [(a, 0.0), (b.max(a + end / 500.0), y_max)],
                REBALANCE.mix(0.25).filled(),
            )
        }))?
        .label("rebalancing")
        .legend(|(x, y)| {
            Rectangle::new([(x, y - 6), (x + 20, y + 6)], REBALANCE.mix(0.4).filled())
        });
    for (t, label) in &r.markers {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(*t, 0.0), (*t, y_max)],
            MARKER.stroke_width(1),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            label.clone(),
            (*t, y_max * 0.97),
            (FONT, 14).into_font().color(&MARKER),
        )))?;
    }
    for &(name, color, data) in series {
        chart
            .draw_series(LineSeries::new(data.iter().copied(), color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

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

/// Most partitions drawn in the ownership chart.
const MAX_ROWS: usize = 120;

/// A qualitative palette for consumers (cycled).
const PALETTE: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(57, 59, 121),
    RGBColor(173, 73, 74),
];

/// Draws the partition-ownership timeline of `result` to `path`: one row
/// per subscribed partition, coloured by owning consumer, white where
/// nobody owns it, rebalances shaded.
pub fn write_ownership_chart(
    result: &RunResult,
    path: &Path,
    format: ChartFormat,
) -> Result<(), String> {
    register_font();
    let rows = result.partition_names.len().min(MAX_ROWS);
    let height = (rows as u32 * 14 + 220).clamp(420, 2000);
    let size = (SIZE.0, height);
    render!(path, size, format, |root| draw_ownership(
        root, result, rows
    ))
}

fn draw_ownership<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &RunResult,
    rows: usize,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let s = &r.summary;
    let shown = if rows < r.partition_names.len() {
        format!(" (first {rows} of {} partitions)", r.partition_names.len())
    } else {
        String::new()
    };
    let title = format!(
        "{} — partition ownership, assignor {}, seed {}{shown}",
        s.scenario, s.assignor, s.seed
    );
    let root = root.titled(&title, (FONT, 22).into_font().style(FontStyle::Bold))?;
    let (legend_area, chart_area) = root.split_vertically(40);

    // Legend: one swatch per consumer that owned something.
    let mut owners: Vec<usize> = r.ownership.iter().map(|o| o.1).collect();
    owners.sort_unstable();
    owners.dedup();
    let mut x = 100;
    for c in owners {
        let color = PALETTE[c % PALETTE.len()];
        legend_area.draw(&Rectangle::new([(x, 12), (x + 18, 28)], color.filled()))?;
        let name = &r.consumer_names[c];
        legend_area.draw(&Text::new(
            name.clone(),
            (x + 24, 12),
            (FONT, 15).into_font(),
        ))?;
        x += 36 + 9 * name.chars().count() as i32;
        if x > SIZE.0 as i32 - 120 {
            break;
        }
    }

    let end = (s.duration_ms as f64 / 1000.0).max(1.0);
    let top = rows as f64 - 0.5;
    let names = &r.partition_names;
    let label = move |v: &f64| {
        let row = (top - 0.5 - v).round();
        if row >= 0.0 && (row as usize) < rows && (v - v.round()).abs() < 1e-9 {
            names[row as usize].clone()
        } else {
            String::new()
        }
    };
    let mut chart = ChartBuilder::on(&chart_area)
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(110)
        .build_cartesian_2d(0f64..end, -0.5f64..top)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 16))
        .disable_y_mesh()
        .light_line_style(WHITE.mix(0.0))
        .y_labels(rows.max(1))
        .y_label_formatter(&label)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    chart.draw_series(r.rebalance_spans.iter().map(|span| {
        let (a, b) = (span.start_s, span.end_s);
        Rectangle::new(
            [(a, -0.5), (b.max(a + end / 500.0), top)],
            REBALANCE.mix(0.25).filled(),
        )
    }))?;
    chart.draw_series(r.ownership.iter().filter(|o| o.0 < rows).map(
        |&(row, consumer, a, b)| {
            let y = top - 0.5 - row as f64;
            let color = PALETTE[consumer % PALETTE.len()];
            Rectangle::new([(a, y - 0.4), (b, y + 0.4)], color.mix(0.85).filled())
        },
    ))?;
    for (t, text) in &r.markers {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(*t, -0.5), (*t, top)],
            MARKER.stroke_width(1),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            text.clone(),
            (*t, top),
            (FONT, 14).into_font().color(&MARKER),
        )))?;
    }
    Ok(())
}
