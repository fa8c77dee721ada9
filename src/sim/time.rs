//! Virtual time in whole microseconds.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point on the virtual clock, in microseconds since the start of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(pub u64);

/// A span of virtual time, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub u64);

impl Time {
    /// The start of every run.
    pub const ZERO: Time = Time(0);

    /// Microseconds since the start.
    pub fn micros(self) -> u64 {
        self.0
    }

    /// Milliseconds since the start (truncated).
    pub fn millis(self) -> u64 {
        self.0 / 1_000
    }

    /// Seconds since the start, as a float for reports.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// The span from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Time) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);

    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Duration {
        Duration(ms * 1_000)
    }

    /// A duration of `s` seconds.
    pub const fn from_secs(s: u64) -> Duration {
        Duration(s * 1_000_000)
    }

    /// Whole microseconds.
    pub fn micros(self) -> u64 {
        self.0
    }

    /// Whole milliseconds (truncated).
    pub fn millis(self) -> u64 {
        self.0 / 1_000
    }

    /// Seconds, as a float for reports.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(d.0))
    }
}

impl AddAssign<Duration> for Time {
    fn add_assign(&mut self, d: Duration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, d: Duration) -> Duration {
        Duration(self.0.saturating_add(d.0))
    }
}

impl Sub for Duration {
    type Output = Duration;
    fn sub(self, d: Duration) -> Duration {
        Duration(self.0.saturating_sub(d.0))
    }
}

impl fmt::Display for Duration {
    /// The shortest exact form among "250ms", "45s", "5m", "1h", "1500us".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        const UNITS: [(u64, &str); 4] = [
            (3_600_000_000, "h"),
            (60_000_000, "m"),
            (1_000_000, "s"),
            (1_000, "ms"),
        ];
        if us == 0 {
            return write!(f, "0s");
        }
        for (scale, unit) in UNITS {
            if us % scale == 0 {
                return write!(f, "{}{}", us / scale, unit);
            }
        }
        write!(f, "{us}us")
    }
}

impl fmt::Display for Time {
    /// Seconds with millisecond precision, e.g. "63.250s".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1_000_000, (self.0 / 1_000) % 1_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_in_their_largest_exact_unit() {
        assert_eq!(Duration::from_secs(45).to_string(), "45s");
        assert_eq!(Duration::from_millis(250).to_string(), "250ms");
        assert_eq!(Duration::from_secs(300).to_string(), "5m");
        assert_eq!(Duration(1500).to_string(), "1500us");
        assert_eq!(Duration::ZERO.to_string(), "0s");
    }

    #[test]
    fn times_print_as_seconds_with_millis() {
        assert_eq!(Time(63_250_000).to_string(), "63.250s");
    }
}
