//! What every time chart marks: rebalances shaded (never thinner than a
//! few pixels), timeline events as vertical lines, and a band of labels
//! above the plots naming each event and each rebalance's cause, stacked on
//! rows so that no two labels overlap.

use super::legend::{Entry, Swatch};
use super::palette::faded;
use super::{CAUSE, DrawResult, Frame, MARKER, REBALANCE, TimeChart, text};
use crate::simulation::{RebalanceSpan, RunResult};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;

/// Narrowest rebalance drawn (px): a 6 ms rebalance in a long run stays visible.
const MIN_REBALANCE_PX: i32 = 4;
/// Opacity of the rebalance shading: light enough to see the data through.
const REBALANCE_ALPHA: f64 = 0.3;
/// Font size of band labels.
const SIZE: f64 = 13.0;
/// Height of one row of labels (px).
const ROW_HEIGHT: i32 = 17;
/// Most rows of labels; what does not fit is counted, not drawn.
const MAX_ROWS: usize = 6;
/// Space between labels on a row, and inside a label's box (px).
const GAP: i32 = 10;
const PAD: i32 = 3;
/// Names listed in a label of events at the same instant before `+N more`.
const MAX_NAMES: usize = 4;

/// A label before it is placed: its text, colour, and the x (px) of what
/// it names.
struct Label {
    x: i32,
    text: String,
    color: RGBColor,
}

/// A label on its row.
struct Placed {
    label: Label,
    /// Left edge of its box (px).
    left: i32,
    /// Width of its box (px).
    width: i32,
    /// 0 is the row nearest the plot.
    row: usize,
}

/// The labels of a chart's events and rebalance causes, placed on rows.
pub(super) struct Band {
    placed: Vec<Placed>,
    rows: usize,
    omitted: usize,
    /// The opt-in approximation the run was made with, named in the
    /// legend so a chart shown on its own still says so.
    approximation: Option<String>,
}

impl Band {
    /// Labels for `r`'s timeline events and rebalances on `frame`.
    pub(super) fn new(r: &RunResult, frame: &Frame) -> Band {
        let mut labels = event_labels(&r.markers, frame);
        labels.extend(cause_labels(&r.rebalance_spans, &r.markers, frame));
        // Stable: events before causes at the same x.
        labels.sort_by_key(|l| l.x);
        Band {
            approximation: r.summary.approximation.as_ref().map(|a| a.setting()),
            ..stack(labels, frame)
        }
    }

    /// Height the band takes (px); 0 without labels.
    pub(super) fn height(&self) -> i32 {
        if self.rows == 0 {
            0
        } else {
            self.rows as i32 * ROW_HEIGHT + PAD
        }
    }

    /// Draws the labels in the band starting at `top` (px from the top of
    /// `root`, the whole image), each with a line down to `plot_top`.
    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        top: i32,
        plot_top: i32,
    ) -> DrawResult<DB> {
        let row_top = |row: usize| top + (self.rows - 1 - row) as i32 * ROW_HEIGHT;
        // Leaders first: a label on a lower row is drawn over a leader
        // passing behind it.
        for p in &self.placed {
            let y = row_top(p.row) + ROW_HEIGHT / 2;
            root.draw(&PathElement::new(
                vec![(p.label.x, y), (p.label.x, plot_top)],
                p.label.color.mix(0.6).stroke_width(1),
            ))?;
        }
        for p in &self.placed {
            let y = row_top(p.row);
            root.draw(&Rectangle::new(
                [(p.left, y + 1), (p.left + p.width, y + ROW_HEIGHT - 1)],
                WHITE.filled(),
            ))?;
            root.draw(&Rectangle::new(
                [(p.left, y + 1), (p.left + p.width, y + ROW_HEIGHT - 1)],
                p.label.color.mix(0.5).stroke_width(1),
            ))?;
            root.draw(&Text::new(
                p.label.text.clone(),
                (p.left + PAD, text::top_for_center(y + ROW_HEIGHT / 2, SIZE)),
                text::regular(SIZE).color(&p.label.color),
            ))?;
        }
        Ok(())
    }

    /// Legend entries explaining the band and the marks in the plots.
    pub(super) fn legend(&self) -> Vec<Entry> {
        let mut entries = vec![
            Entry::new(
                Swatch::Fill(faded(REBALANCE, REBALANCE_ALPHA)),
                "rebalancing (label in orange: what started it)",
            ),
            Entry::new(Swatch::Tick(MARKER), "timeline event (label in grey)"),
        ];
        if self.omitted > 0 {
            entries.push(Entry::new(
                Swatch::None,
                &format!(
                    "{} {} left out for lack of room (see events.csv)",
                    self.omitted,
                    if self.omitted == 1 { "label" } else { "labels" }
                ),
            ));
        }
        if let Some(setting) = &self.approximation {
            entries.push(Entry::new(
                Swatch::None,
                &format!("not exact: {setting} (see summary.json)"),
            ));
        }
        entries
    }
}

/// Places labels in x order on the first row with room, the rows nearest
/// the plot first; a label that fits nowhere is counted as omitted.
fn stack(labels: Vec<Label>, frame: &Frame) -> Band {
    let mut row_ends: Vec<i32> = Vec::new();
    let mut placed = Vec::new();
    let mut omitted = 0;
    for label in labels {
        let width = text::width(&label.text, SIZE) + 2 * PAD;
        // Right of its line, or left of it where the plot ends.
        let left = if label.x + 2 + width <= frame.right {
            label.x + 2
        } else {
            (label.x - 2 - width).max(frame.left)
        };
        let row = match row_ends.iter().position(|&end| end + GAP <= left) {
            Some(row) => row,
            None if row_ends.len() < MAX_ROWS => {
                row_ends.push(i32::MIN);
                row_ends.len() - 1
            }
            None => {
                omitted += 1;
                continue;
            }
        };
        row_ends[row] = left + width;
        placed.push(Placed {
            label,
            left,
            width,
            row,
        });
    }
    Band {
        placed,
        rows: row_ends.len(),
        omitted,
        approximation: None,
    }
}

/// The longest a label may be: it must fit left or right of any line.
fn max_label_px(frame: &Frame) -> i32 {
    frame.width() * 2 / 5
}

/// One label per instant at which timeline events happen: `leave c1, c2,
/// c3, c4` for events of one kind, kinds separated by `;`.
fn event_labels(markers: &[(f64, String)], frame: &Frame) -> Vec<Label> {
    let mut order: Vec<usize> = (0..markers.len()).collect();
    order.sort_by(|&a, &b| markers[a].0.total_cmp(&markers[b].0));
    let mut labels = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let t = markers[order[i]].0;
        let same = order[i..]
            .iter()
            .take_while(|&&k| same_instant(markers[k].0, t))
            .count();
        let texts = order[i..i + same].iter().map(|&k| markers[k].1.as_str());
        labels.push(Label {
            x: frame.x(t),
            text: text::fit(&merge(texts), SIZE, max_label_px(frame)),
            color: MARKER,
        });
        i += same;
    }
    labels
}

/// Whether two times are the same instant, to the millisecond of the log.
fn same_instant(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.0005
}

/// `leave c1, c2; crash c3` from `leave c1`, `leave c2`, `crash c3`.
fn merge<'a>(texts: impl Iterator<Item = &'a str>) -> String {
    let mut kinds: Vec<(&str, Vec<&str>)> = Vec::new();
    for t in texts {
        let (kind, who) = t.split_once(' ').unwrap_or((t, ""));
        match kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, names)) => names.push(who),
            None => kinds.push((kind, vec![who])),
        }
    }
    let parts: Vec<String> = kinds
        .iter()
        .map(|(kind, names)| {
            let mut s = format!("{kind} {}", names[..names.len().min(MAX_NAMES)].join(", "));
            if names.len() > MAX_NAMES {
                s.push_str(&format!(" +{} more", names.len() - MAX_NAMES));
            }
            s
        })
        .collect();
    parts.join("; ")
}

/// One label per rebalance, at its start: its cause, and when the cause
/// came long after the last timeline event of the same consumer, that
/// event (`session expiry c2 — 44 s after crash c2`), which links the
/// crash to the rebalance it caused.
fn cause_labels(spans: &[RebalanceSpan], markers: &[(f64, String)], frame: &Frame) -> Vec<Label> {
    // Timeline events by consumer, in time order.
    let mut by_consumer: BTreeMap<&str, Vec<(f64, &str)>> = BTreeMap::new();
    for (t, label) in markers {
        let who = label.split_once(' ').map_or("", |(_, who)| who);
        by_consumer.entry(who).or_default().push((*t, label));
    }
    for events in by_consumer.values_mut() {
        events.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    spans
        .iter()
        .map(|span| {
            let who = span.cause.rsplit_once(' ').map_or("", |(_, who)| who);
            let before = by_consumer.get(who).and_then(|events| {
                let n = events.partition_point(|e| e.0 <= span.start_s);
                n.checked_sub(1).map(|k| events[k])
            });
            let text = match before {
                Some((t, event)) if span.start_s - t >= 1.0 => {
                    format!("{} — {:.0} s after {event}", span.cause, span.start_s - t)
                }
                _ => span.cause.clone(),
            };
            Label {
                x: frame.x(span.start_s),
                text: text::fit(&text, SIZE, max_label_px(frame)),
                color: CAUSE,
            }
        })
        .collect()
}

/// Shades `r`'s rebalances over the y range `y`, each at least
/// [`MIN_REBALANCE_PX`] wide.
pub(super) fn shade_rebalances<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    r: &RunResult,
    frame: &Frame,
    y: (f64, f64),
) -> DrawResult<DB> {
    rebalances(chart, r, frame, y, REBALANCE_ALPHA)
}

/// Draws `r`'s rebalances as solid boxes over the y range `y`: a lane of
/// their own where the data would cover the shading.
pub(super) fn rebalance_lane<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    r: &RunResult,
    frame: &Frame,
    y: (f64, f64),
) -> DrawResult<DB> {
    rebalances(chart, r, frame, y, 0.5)
}

/// A box per rebalance with opacity `alpha`, at least [`MIN_REBALANCE_PX`]
/// wide.
fn rebalances<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    r: &RunResult,
    frame: &Frame,
    (y0, y1): (f64, f64),
    alpha: f64,
) -> DrawResult<DB> {
    let min = frame.seconds(MIN_REBALANCE_PX);
    let end = frame.end_s;
    chart.draw_series(r.rebalance_spans.iter().map(|span| {
        // Widened to the right, and kept inside the axis at the end; a
        // widened one darker, as a thin pale strip is easily missed.
        let narrow = span.end_s - span.start_s < min;
        let b = span.end_s.max(span.start_s + min).min(end);
        let a = span.start_s.min(b - min).max(0.0);
        let alpha = if narrow {
            (2.0 * alpha).min(1.0)
        } else {
            alpha
        };
        Rectangle::new([(a, y0), (b, y1)], REBALANCE.mix(alpha).filled())
    }))?;
    Ok(())
}

/// Draws `r`'s timeline events as vertical lines across `chart`.
pub(super) fn draw_markers<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    r: &RunResult,
) -> DrawResult<DB> {
    let y = chart.y_range();
    chart.draw_series(r.markers.iter().map(|(t, _)| {
        PathElement::new(
            vec![(*t, y.start), (*t, y.end)],
            MARKER.mix(0.7).stroke_width(1),
        )
    }))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        Frame::new(90, 240.0)
    }

    #[test]
    fn events_at_the_same_instant_share_one_label() {
        let markers: Vec<(f64, String)> = ["leave c1", "leave c2", "crash c5", "leave c3"]
            .iter()
            .map(|m| (120.0, m.to_string()))
            .chain([(10.0, "join c9".to_string())])
            .collect();
        super::super::register_font();
        let labels = event_labels(&markers, &frame());
        let texts: Vec<&str> = labels.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["join c9", "leave c1, c2, c3; crash c5"]);
        let many = (0..30).map(|i| format!("join c{i}"));
        let merged = merge(many.collect::<Vec<_>>().iter().map(String::as_str));
        assert_eq!(merged, "join c0, c1, c2, c3 +26 more");
    }

    #[test]
    fn nearby_labels_go_on_different_rows_and_never_overlap() {
        super::super::register_font();
        let f = frame();
        let labels: Vec<Label> = (0..12)
            .map(|i| Label {
                x: f.x(40.0 + i as f64),
                text: format!("crash consumer-{i}"),
                color: MARKER,
            })
            .collect();
        let band = stack(labels, &f);
        assert_eq!(band.rows, MAX_ROWS);
        assert!(band.omitted > 0);
        for a in &band.placed {
            for b in &band.placed {
                let apart = a.left + a.width + GAP <= b.left || b.left + b.width + GAP <= a.left;
                assert!(std::ptr::eq(a, b) || a.row != b.row || apart);
            }
        }
    }

    #[test]
    fn a_delayed_cause_names_the_event_behind_it() {
        super::super::register_font();
        let spans = [
            RebalanceSpan {
                start_s: 103.96,
                end_s: 106.5,
                cause: "session expiry c2".into(),
                ..Default::default()
            },
            RebalanceSpan {
                start_s: 0.1,
                end_s: 6.1,
                cause: "join c3".into(),
                ..Default::default()
            },
        ];
        let markers = [(60.0, "crash c2".to_string())];
        let labels = cause_labels(&spans, &markers, &frame());
        assert_eq!(labels[0].text, "session expiry c2 — 44 s after crash c2");
        assert_eq!(labels[1].text, "join c3");
    }
}
