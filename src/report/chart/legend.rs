//! Legends drawn in a strip of their own above a plot, so they never cover
//! data: entries wrap onto as many lines as allowed, and what does not fit
//! is summed up as `+N more`.

use super::{DrawResult, MARGIN, WIDTH, hatch, text};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontDesc;

const SIZE: f64 = 14.0;
const LINE_HEIGHT: i32 = 22;
const SWATCH: i32 = 22;
/// Space after a swatch, and between entries (px).
const AFTER_SWATCH: i32 = 6;
const BETWEEN: i32 = 20;

/// How an entry shows what it names.
#[derive(Debug, Clone, Copy)]
pub(super) enum Swatch {
    /// A line of this colour and width (px).
    Line(RGBColor, u32),
    /// A box filled with this colour.
    Fill(RGBColor),
    /// A hatched box, faded in this colour.
    Hatch(RGBColor),
    /// An empty box: nothing drawn there.
    Blank,
    /// A vertical line.
    Tick(RGBColor),
    /// Bold text, no swatch: what the strip is about.
    Heading,
    /// Plain text, no swatch.
    None,
}

/// A legend entry.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    swatch: Swatch,
    text: String,
}

impl Entry {
    fn font(&self) -> FontDesc<'static> {
        match self.swatch {
            Swatch::Heading => text::bold(SIZE),
            _ => text::regular(SIZE),
        }
    }

    /// An entry showing `swatch`, saying `text`.
    pub(super) fn new(swatch: Swatch, text: &str) -> Entry {
        Entry {
            swatch,
            text: text.to_string(),
        }
    }

    fn width(&self) -> i32 {
        let swatch = match self.swatch {
            Swatch::Heading | Swatch::None => 0,
            _ => SWATCH + AFTER_SWATCH,
        };
        swatch + text::measure(&self.text, &self.font())
    }
}

/// Entries placed on lines.
pub(super) struct Legend {
    /// (x px, line, entry).
    placed: Vec<(i32, usize, Entry)>,
    lines: usize,
}

impl Legend {
    /// Lays out `sections`, each starting on a new line, on at most
    /// `max_lines` lines across the chart's width.
    pub(super) fn new(sections: &[Vec<Entry>], max_lines: usize) -> Legend {
        let (left, right) = (MARGIN + 10, WIDTH as i32 - MARGIN);
        let mut placed: Vec<(i32, usize, Entry)> = Vec::new();
        let mut line = 0;
        let mut x = left;
        let total: usize = sections.iter().map(Vec::len).sum();
        let mut seen = 0;
        'sections: for (s, section) in sections.iter().enumerate() {
            if s > 0 && x > left {
                line += 1;
                x = left;
            }
            for entry in section {
                let w = entry.width();
                if x > left && x + w > right {
                    line += 1;
                    x = left;
                }
                if line >= max_lines {
                    break 'sections;
                }
                placed.push((x, line, entry.clone()));
                x += w + BETWEEN;
                seen += 1;
            }
        }
        if seen < total {
            more(&mut placed, total - seen, right);
        }
        let lines = placed.iter().map(|p| p.1 + 1).max().unwrap_or(0);
        Legend { placed, lines }
    }

    /// Height of the strip (px).
    pub(super) fn height(&self) -> i32 {
        self.lines as i32 * LINE_HEIGHT + 6
    }

    /// Draws the legend in `area`, a strip [`Self::height`] high.
    pub(super) fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        for (x, line, entry) in &self.placed {
            let y = 4 + *line as i32 * LINE_HEIGHT;
            let text_x = match entry.swatch {
                Swatch::Heading | Swatch::None => *x,
                _ => x + SWATCH + AFTER_SWATCH,
            };
            swatch(area, entry.swatch, (*x, y + 3), (x + SWATCH, y + 17))?;
            let top = text::top_for_center(y + 10, SIZE);
            area.draw(&Text::new(entry.text.clone(), (text_x, top), entry.font()))?;
        }
        Ok(())
    }
}

/// Replaces entries at the end of the last line by `+N more` until it fits.
fn more(placed: &mut Vec<(i32, usize, Entry)>, mut hidden: usize, right: i32) {
    let last_line = placed.last().map_or(0, |p| p.1);
    let left = MARGIN + 10;
    loop {
        let text = format!("+{hidden} more");
        let x = match placed.last() {
            Some((x, line, e)) if *line == last_line => x + e.width() + BETWEEN,
            _ => left,
        };
        if x == left || x + text::width(&text, SIZE) <= right {
            placed.push((x, last_line, Entry::new(Swatch::None, &text)));
            return;
        }
        placed.pop();
        hidden += 1;
    }
}

/// Draws `swatch` in the box from `a` to `b`.
fn swatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    swatch: Swatch,
    a: (i32, i32),
    b: (i32, i32),
) -> DrawResult<DB> {
    let mid = (a.1 + b.1) / 2;
    match swatch {
        Swatch::Line(color, width) => area.draw(&PathElement::new(
            vec![(a.0, mid), (b.0, mid)],
            color.stroke_width(width),
        )),
        Swatch::Fill(color) => area.draw(&Rectangle::new([a, b], color.filled())),
        Swatch::Hatch(color) => hatch(area, a, b, color),
        Swatch::Blank => area.draw(&Rectangle::new([a, b], BLACK.mix(0.4).stroke_width(1))),
        Swatch::Tick(color) => {
            let x = (a.0 + b.0) / 2;
            area.draw(&PathElement::new(
                vec![(x, a.1 - 2), (x, b.1 + 2)],
                color.stroke_width(1),
            ))
        }
        Swatch::Heading | Swatch::None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_that_do_not_fit_are_summed_up() {
        super::super::register_font();
        let many: Vec<Entry> = (0..100_000)
            .map(|i| Entry::new(Swatch::Fill(BLACK), &format!("c{i}")))
            .collect();
        let legend = Legend::new(&[vec![Entry::new(Swatch::Blank, "nobody")], many], 3);
        assert_eq!(legend.lines, 3);
        let (x, line, last) = legend.placed.last().expect("entries");
        assert_eq!(*line, 2);
        let shown = legend.placed.len() - 2;
        assert_eq!(last.text, format!("+{} more", 100_000 - shown));
        assert!(x + last.width() <= WIDTH as i32 - MARGIN);
    }

    #[test]
    fn a_short_legend_takes_one_line() {
        super::super::register_font();
        let entries = vec![
            Entry::new(Swatch::Heading, "Lag"),
            Entry::new(Swatch::Line(BLACK, 2), "backlog"),
        ];
        let legend = Legend::new(&[entries], 3);
        assert_eq!(legend.lines, 1);
        assert_eq!(legend.placed.len(), 2);
    }
}
