//! A colour per consumer: a familiar qualitative palette for the first
//! twelve, then colours generated from the index alone, so any number of
//! consumers get colours without a table and every run the same ones.

use plotters::style::RGBColor;

/// The first consumers' colours (Tableau 10, then two darker ones).
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

/// Hue step between generated colours: the golden angle keeps every run of
/// consecutive consumers spread over the colour wheel.
const GOLDEN_ANGLE: f64 = 137.507_764;

/// The colour of consumer `index`. Past the palette, hues step by the
/// golden angle while lightness and saturation cycle, so neighbours differ
/// in both hue and brightness.
pub(super) fn consumer_color(index: usize) -> RGBColor {
    if let Some(&c) = PALETTE.get(index) {
        return c;
    }
    let k = index - PALETTE.len();
    // The offset keeps the first generated colours clear of the palette's.
    let hue = (330.0 + k as f64 * GOLDEN_ANGLE) % 360.0;
    let lightness = [0.5, 0.65, 0.35][k % 3];
    let saturation = [0.75, 0.55][(k / 3) % 2];
    hsl(hue, saturation, lightness)
}

/// `color` blended with white: `share` of the colour is kept.
pub(super) fn faded(color: RGBColor, share: f64) -> RGBColor {
    let mix = |c: u8| (255.0 - (255.0 - c as f64) * share).round() as u8;
    RGBColor(mix(color.0), mix(color.1), mix(color.2))
}

/// HSL (hue in degrees, saturation and lightness in 0..=1) to RGB.
fn hsl(hue: f64, saturation: f64, lightness: f64) -> RGBColor {
    let chroma = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let sector = hue / 60.0;
    let x = chroma * (1.0 - (sector % 2.0 - 1.0).abs());
    let (r, g, b) = match sector as u32 {
        0 => (chroma, x, 0.0),
        1 => (x, chroma, 0.0),
        2 => (0.0, chroma, x),
        3 => (0.0, x, chroma),
        4 => (x, 0.0, chroma),
        _ => (chroma, 0.0, x),
    };
    let m = lightness - chroma / 2.0;
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    RGBColor(byte(r), byte(g), byte(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distance(a: RGBColor, b: RGBColor) -> i32 {
        [(a.0, b.0), (a.1, b.1), (a.2, b.2)]
            .iter()
            .map(|&(x, y)| (x as i32 - y as i32).abs())
            .sum()
    }

    #[test]
    fn neighbouring_consumers_get_clearly_different_colours() {
        for i in 0..2000 {
            let (a, b) = (consumer_color(i), consumer_color(i + 1));
            assert!(distance(a, b) > 60, "c{i} {a:?} and c{} {b:?}", i + 1);
        }
        assert_eq!(consumer_color(100_000), consumer_color(100_000));
    }

    #[test]
    fn the_first_generated_colours_are_all_distinct() {
        let colors: Vec<RGBColor> = (0..60).map(consumer_color).collect();
        for (i, a) in colors.iter().enumerate() {
            for b in &colors[i + 1..] {
                assert!(distance(*a, *b) > 20, "{a:?} and {b:?}");
            }
        }
    }
}
