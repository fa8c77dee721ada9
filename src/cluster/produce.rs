//! Production rates as exact integer arithmetic: records produced by a
//! time, and the time a given record is produced.

use crate::sim::Time;

/// A constant production rate, kept in milli-records per second so all
/// arithmetic is exact and identical on every machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceRate {
    milli_per_sec: u64,
}

const MICROS_X_MILLI: u128 = 1_000_000_000;

impl ProduceRate {
    /// `records_per_sec` rounded to a thousandth of a record per second.
    pub fn per_second(records_per_sec: f64) -> Self {
        ProduceRate {
            milli_per_sec: (records_per_sec * 1000.0).round() as u64,
        }
    }

    /// Records per second.
    pub fn records_per_sec(&self) -> f64 {
        self.milli_per_sec as f64 / 1000.0
    }

    /// Records produced in `[0, now]`.
    pub fn produced_by(&self, now: Time) -> u64 {
        (u128::from(self.milli_per_sec) * u128::from(now.micros()) / MICROS_X_MILLI) as u64
    }

    /// The earliest time by which `n` records exist (`None` if never).
    pub fn time_of_record(&self, n: u64) -> Option<Time> {
        if n == 0 {
            return Some(Time::ZERO);
        }
        if self.milli_per_sec == 0 {
            return None;
        }
        let rate = u128::from(self.milli_per_sec);
        let micros = (u128::from(n) * MICROS_X_MILLI).div_ceil(rate);
        u64::try_from(micros).ok().map(Time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_of_record_inverts_produced_by() {
        for rate in [0.5, 1.0, 3.0, 1234.567, 1e6] {
            let r = ProduceRate::per_second(rate);
            for n in [1u64, 2, 7, 1000, 123_456] {
                let t = r.time_of_record(n).unwrap();
                assert!(r.produced_by(t) >= n, "rate {rate} n {n}");
                assert!(
                    t.0 == 0 || r.produced_by(Time(t.0 - 1)) < n,
                    "rate {rate} n {n}"
                );
            }
        }
        assert_eq!(ProduceRate::per_second(0.0).time_of_record(1), None);
    }
}
