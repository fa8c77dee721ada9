//! Durations as written in scenario files: "500us", "250ms", "45s", "5m",
//! "1h", with an optional decimal fraction ("1.5s").

use crate::sim::Duration;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// What a duration may look like, for error messages.
pub const DURATION_HELP: &str =
    "a duration such as \"500us\", \"250ms\", \"45s\", \"1.5s\", \"5m\" or \"1h\"";

/// Parses "250ms", "45s", "1.5s", "5m"... into microseconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.starts_with('-') {
        return Err(format!("\"{text}\" is negative; expected {DURATION_HELP}"));
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("\"{text}\" has no unit; expected {DURATION_HELP}"))?;
    let (number, unit) = s.split_at(split);
    let scale: u64 = match unit.trim() {
        "us" | "µs" => 1,
        "ms" => 1_000,
        "s" => 1_000_000,
        "m" | "min" => 60_000_000,
        "h" => 3_600_000_000,
        other => {
            return Err(format!(
                "\"{text}\" has unknown unit \"{other}\"; expected {DURATION_HELP}"
            ));
        }
    };
    let (whole, frac) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    if whole.is_empty() && frac.is_empty() || frac.contains('.') {
        return Err(format!(
            "\"{text}\" is not a number with a unit; expected {DURATION_HELP}"
        ));
    }
    let overflow = || {
        format!(
            "\"{text}\" is too long; at most {} microseconds (about {} hours)",
            u64::MAX,
            u64::MAX / 3_600_000_000
        )
    };
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| overflow())?
    };
    let mut micros = whole.checked_mul(scale).ok_or_else(overflow)?;
    // Exact decimal fraction: digits beyond the microsecond are rejected.
    let mut unit_scale = scale;
    for digit in frac.bytes() {
        if unit_scale % 10 != 0 {
            return Err(format!("\"{text}\" is finer than a microsecond"));
        }
        unit_scale /= 10;
        micros = micros
            .checked_add(u64::from(digit - b'0') * unit_scale)
            .ok_or_else(overflow)?;
    }
    Ok(Duration(micros))
}

/// Serde helper: deserialize a [`Duration`] from a string like "45s".
pub fn deserialize_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(DURATION_HELP)
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Duration, E> {
            parse_duration(s).map_err(E::custom)
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Duration, E> {
            Err(E::custom(format!(
                "{n} has no unit; expected {DURATION_HELP} (quoted)"
            )))
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<Duration, E> {
            Err(E::custom(format!(
                "{n} has no unit; expected {DURATION_HELP} (quoted)"
            )))
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_fractions() {
        assert_eq!(parse_duration("250ms"), Ok(Duration(250_000)));
        assert_eq!(parse_duration("45s"), Ok(Duration(45_000_000)));
        assert_eq!(parse_duration("5m"), Ok(Duration(300_000_000)));
        assert_eq!(parse_duration("1h"), Ok(Duration(3_600_000_000)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration(1_500_000)));
        assert_eq!(parse_duration("0.25ms"), Ok(Duration(250)));
        assert_eq!(parse_duration("700us"), Ok(Duration(700)));
    }

    #[test]
    fn rejects_bad_forms() {
        assert!(parse_duration("45").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("5 days").is_err());
        assert!(parse_duration("1.2.3s").is_err());
        assert!(parse_duration("0.0001ms").is_err());
        assert!(parse_duration("99999999999999999999s").is_err());
    }

    #[test]
    fn says_what_is_wrong() {
        let said = |text: &str| parse_duration(text).expect_err(text);
        assert!(said("-1s").starts_with("\"-1s\" is negative; expected"));
        assert!(said(" -5ms").contains("is negative"));
        assert!(said("99999999999999h").contains("is too long; at most"));
        assert!(said("0.0001us").contains("finer than a microsecond"));
        assert!(said("1 fortnight").contains("unknown unit \"fortnight\""));
    }
}
