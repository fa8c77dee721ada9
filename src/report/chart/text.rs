//! Measuring text in the embedded font, and shortening it to fit.

use super::FONT;
use plotters::style::{FontDesc, FontFamily, FontStyle};

/// The embedded font at `size`, regular.
pub(super) fn regular(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT), size, FontStyle::Normal)
}

/// The embedded font at `size`, bold. (`FontDesc::style` would only mark
/// the regular font bold for SVG.)
pub(super) fn bold(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT), size, FontStyle::Bold)
}

/// Width of `text` at font size `size` (px).
pub(super) fn width(text: &str, size: f64) -> i32 {
    measure(text, &regular(size))
}

/// Width of `text` in `font` (px). Measured with the embedded font; should
/// that ever fail, a width no DejaVu Sans glyph exceeds on average, so that
/// labels never overlap.
pub(super) fn measure(text: &str, font: &FontDesc) -> i32 {
    match font.box_size(text) {
        Ok((w, _)) => w as i32,
        Err(_) => (text.chars().count() as f64 * font.get_size() * 0.7).ceil() as i32,
    }
}

/// Where to put the top of text of size `size` so that its capitals are
/// centred on `y` (px): the font's top-anchored text rises above its top.
pub(super) fn top_for_center(y: i32, size: f64) -> i32 {
    y - (0.19 * size).round() as i32
}

/// `text` if it fits in `max_px`, else its start and end with `…` in the
/// middle (the end of a name, like a partition number, tells names apart).
pub(super) fn fit(text: &str, size: f64, max_px: i32) -> String {
    fit_in(text, &regular(size), max_px)
}

/// [`fit`] in `font`.
pub(super) fn fit_in(text: &str, font: &FontDesc, max_px: i32) -> String {
    if measure(text, font) <= max_px {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    // The longest shortening that fits: widths grow with kept characters.
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if measure(&shorten(&chars, mid), font) <= max_px {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    shorten(&chars, lo)
}

/// The first and last of `keep` characters of `chars` around `…`.
fn shorten(chars: &[char], keep: usize) -> String {
    let tail = keep / 2;
    let head = keep - tail;
    let mut s: String = chars[..head].iter().collect();
    s.push('…');
    s.extend(&chars[chars.len() - tail..]);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_shortened_in_the_middle_to_fit() {
        super::super::register_font();
        let name = "payments-settlement-events-eu-west-and-a-very-long-suffix-17";
        assert_eq!(fit(name, 12.0, 10_000), name);
        let short = fit(name, 12.0, 150);
        assert!(width(&short, 12.0) <= 150, "{short}");
        assert!(
            short.starts_with("pay") && short.ends_with("-17"),
            "{short}"
        );
        assert!(short.contains('…'));
        assert_eq!(fit(name, 12.0, 0), "…");
    }
}
