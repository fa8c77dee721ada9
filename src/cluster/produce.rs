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
        // In 64 bits while the product fits (every realistic run: 2^64 µs·
        // milli-records is 10 hours at 500,000 records/s), else in 128;
        // the quotient is the same. It is asked on every fetch.
        match self.milli_per_sec.checked_mul(now.micros()) {
            Some(product) => product / MICROS_X_MILLI as u64,
            None => {
                (u128::from(self.milli_per_sec) * u128::from(now.micros()) / MICROS_X_MILLI) as u64
            }
        }
    }

    /// The earliest time by which `n` records exist (`None` if never).
    pub fn time_of_record(&self, n: u64) -> Option<Time> {
        if n == 0 {
            return Some(Time::ZERO);
        }
        if self.milli_per_sec == 0 {
            return None;
        }
        if let Some(scaled) = n.checked_mul(MICROS_X_MILLI as u64) {
            // In 64 bits when it fits, as in `produced_by`.
            return Some(Time(scaled.div_ceil(self.milli_per_sec)));
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

    /// The 64-bit fast paths give the 128-bit quotients on both sides of
    /// the point where the product stops fitting.
    #[test]
    fn the_64_bit_paths_agree_with_128_bit_arithmetic() {
        for milli in [1u64, 999, 2_400_000, 100_000_000, 1 << 40] {
            let r = ProduceRate {
                milli_per_sec: milli,
            };
            let edge = u64::MAX / milli;
            for t in [
                0,
                1,
                3_600_000_000,
                edge - 1,
                edge,
                edge.saturating_add(1),
                u64::MAX / 2,
            ] {
                let want = (u128::from(milli) * u128::from(t) / MICROS_X_MILLI) as u64;
                assert_eq!(r.produced_by(Time(t)), want, "milli {milli} t {t}");
            }
            let edge_n = u64::MAX / MICROS_X_MILLI as u64;
            for n in [1, 7, edge_n - 1, edge_n, edge_n + 1, u64::MAX] {
                let want =
                    u64::try_from((u128::from(n) * MICROS_X_MILLI).div_ceil(u128::from(milli)))
                        .ok()
                        .map(Time);
                assert_eq!(r.time_of_record(n), want, "milli {milli} n {n}");
            }
        }
    }
}

/// A topic's production over time: how many records exist by a time, and
/// when the n-th one is produced. Constant rates, steps and bursts are
/// exact integer arithmetic; ramps and sines use `f64` (the same IEEE
/// operations and `libm` on every machine, so runs stay reproducible).
#[derive(Debug, Clone, PartialEq)]
pub enum Production {
    /// One rate throughout.
    Constant(ProduceRate),
    /// Piecewise constant: from `starts[i]` (µs) at `milli[i]`
    /// milli-records per second; `cum[i]` is what was produced before.
    Steps {
        /// Segment starts, µs, the first 0.
        starts: Vec<u64>,
        /// Rates, milli-records per second.
        milli: Vec<u64>,
        /// Production before each start, milli-record-µs per second.
        cum: Vec<u128>,
    },
    /// A linear ramp between two rates (records per second).
    Ramp {
        /// Rate until `start`.
        from: f64,
        /// Rate from `end`.
        to: f64,
        /// µs.
        start: u64,
        /// µs.
        end: u64,
    },
    /// Periodic bursts over a base rate (milli-records per second).
    Bursts {
        /// Rate outside bursts.
        base: u64,
        /// Rate inside bursts.
        burst: u64,
        /// µs between burst starts.
        every: u64,
        /// µs each burst lasts.
        length: u64,
        /// µs of the first burst.
        start: u64,
    },
    /// A sine around a mean (records per second, µs).
    Sine {
        /// Mean rate.
        mean: f64,
        /// Amplitude, at most `mean`.
        amplitude: f64,
        /// µs per cycle.
        period: u64,
        /// µs of shift.
        phase: u64,
    },
}

/// The step in force at `t` µs (`starts` begins at 0).
fn step_at(starts: &[u64], t: u64) -> usize {
    starts.partition_point(|&s| s <= t).saturating_sub(1)
}

fn milli(rate: f64) -> u64 {
    (rate * 1000.0).round() as u64
}

impl Production {
    /// The production of a topic with constant `rate` or `shape`.
    pub fn new(rate: f64, shape: Option<&crate::scenario::RateShape>) -> Self {
        use crate::scenario::RateShape;
        match shape {
            None => Production::Constant(ProduceRate::per_second(rate)),
            Some(RateShape::Steps(steps)) => {
                let mut starts = Vec::new();
                let mut rates = Vec::new();
                for &(at, r) in steps {
                    starts.push(at.micros());
                    rates.push(milli(r));
                }
                if starts.first() != Some(&0) {
                    starts.insert(0, 0);
                    rates.insert(0, 0);
                }
                let mut cum = vec![0u128; starts.len()];
                for i in 1..starts.len() {
                    cum[i] = cum[i - 1]
                        + u128::from(rates[i - 1]) * u128::from(starts[i] - starts[i - 1]);
                }
                Production::Steps {
                    starts,
                    milli: rates,
                    cum,
                }
            }
            Some(&RateShape::Ramp {
                from,
                to,
                start,
                end,
            }) => Production::Ramp {
                from,
                to,
                start: start.micros(),
                end: end.micros().max(start.micros()),
            },
            Some(&RateShape::Bursts {
                base,
                burst,
                every,
                length,
                start,
            }) => Production::Bursts {
                base: milli(base),
                burst: milli(burst),
                every: every.micros().max(1),
                length: length.micros().min(every.micros().max(1)),
                start: start.micros(),
            },
            Some(&RateShape::Sine {
                mean,
                amplitude,
                period,
                phase,
            }) => Production::Sine {
                mean,
                amplitude: amplitude.min(mean),
                period: period.micros().max(1),
                phase: phase.micros(),
            },
        }
    }

    /// Records produced in `[0, now]`.
    pub fn produced_by(&self, now: Time) -> u64 {
        let t = now.micros();
        match self {
            Production::Constant(r) => r.produced_by(now),
            Production::Steps { starts, milli, cum } => {
                let i = step_at(starts, t);
                let total = cum[i] + u128::from(milli[i]) * u128::from(t - starts[i]);
                (total / MICROS_X_MILLI) as u64
            }
            &Production::Ramp {
                from,
                to,
                start,
                end,
            } => {
                let secs = |us: u64| us as f64 / 1e6;
                let before = from * secs(t.min(start));
                let d = secs(end - start);
                let into = secs(t.clamp(start, end) - start);
                let ramp = if d > 0.0 {
                    from * into + (to - from) * into * into / (2.0 * d)
                } else {
                    0.0
                };
                let after = to * secs(t.saturating_sub(end));
                libm::floor(before + ramp + after).max(0.0) as u64
            }
            &Production::Bursts {
                base,
                burst,
                every,
                length,
                start,
            } => {
                let mut total = u128::from(base) * u128::from(t);
                if t > start {
                    let since = t - start;
                    let bursting = (since / every) * length + (since % every).min(length);
                    // During bursts the rate is `burst` instead of `base`.
                    let extra = i128::from(burst as i64 - base as i64) * i128::from(bursting);
                    total = (total as i128 + extra).max(0) as u128;
                }
                (total / MICROS_X_MILLI) as u64
            }
            &Production::Sine {
                mean,
                amplitude,
                period,
                phase,
            } => {
                let p = period as f64 / 1e6;
                let w = 2.0 * core::f64::consts::PI / p;
                let ph = phase as f64 / 1e6;
                let secs = t as f64 / 1e6;
                let integral =
                    mean * secs + amplitude / w * (libm::cos(w * ph) - libm::cos(w * (secs + ph)));
                libm::floor(integral).max(0.0) as u64
            }
        }
    }

    /// The earliest time by which `n` records exist (`None` if never).
    pub fn time_of_record(&self, n: u64) -> Option<Time> {
        if let Production::Constant(r) = self {
            return r.time_of_record(n);
        }
        if n == 0 {
            return Some(Time::ZERO);
        }
        // Monotone in time: double an upper bound, then bisect.
        let mut hi: u64 = 1_000_000;
        while self.produced_by(Time(hi)) < n {
            if hi > (1u64 << 61) {
                return None;
            }
            hi *= 2;
        }
        let mut lo = 0u64;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.produced_by(Time(mid)) >= n {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Some(Time(lo))
    }

    /// The production rate at `t`, records per second.
    pub fn rate_at(&self, t: Time) -> f64 {
        let us = t.micros();
        match self {
            Production::Constant(r) => r.records_per_sec(),
            Production::Steps { starts, milli, .. } => milli[step_at(starts, us)] as f64 / 1000.0,
            &Production::Ramp {
                from,
                to,
                start,
                end,
            } => {
                if us <= start {
                    from
                } else if us >= end {
                    to
                } else {
                    from + (to - from) * (us - start) as f64 / (end - start) as f64
                }
            }
            &Production::Bursts {
                base,
                burst,
                every,
                length,
                start,
            } => {
                let bursting = us >= start && (us - start) % every < length;
                (if bursting { burst } else { base }) as f64 / 1000.0
            }
            &Production::Sine {
                mean,
                amplitude,
                period,
                phase,
            } => {
                let w = 2.0 * core::f64::consts::PI / (period as f64 / 1e6);
                mean + amplitude * libm::sin(w * ((us + phase) as f64 / 1e6))
            }
        }
    }
}

#[cfg(test)]
mod shape_tests {
    use super::*;
    use crate::scenario::RateShape;
    use crate::sim::Duration;

    fn secs(s: u64) -> Time {
        Time::ZERO + Duration::from_secs(s)
    }

    /// Each shape's produced totals match its closed form, and the inverse
    /// finds the first instant a record exists.
    #[test]
    fn shapes_match_their_closed_forms() {
        let steps = Production::new(
            0.0,
            Some(&RateShape::Steps(vec![
                (Duration::ZERO, 100.0),
                (Duration::from_secs(10), 1000.0),
            ])),
        );
        assert_eq!(steps.produced_by(secs(10)), 1000);
        assert_eq!(steps.produced_by(secs(20)), 11_000);
        let ramp = Production::new(
            0.0,
            Some(&RateShape::Ramp {
                from: 0.0,
                to: 100.0,
                start: Duration::ZERO,
                end: Duration::from_secs(10),
            }),
        );
        // ∫ 10 t dt over 10 s = 500, then 100/s.
        assert_eq!(ramp.produced_by(secs(10)), 500);
        assert_eq!(ramp.produced_by(secs(12)), 700);
        let bursts = Production::new(
            0.0,
            Some(&RateShape::Bursts {
                base: 10.0,
                burst: 100.0,
                every: Duration::from_secs(60),
                length: Duration::from_secs(10),
                start: Duration::from_secs(30),
            }),
        );
        // 120 s: 10/s throughout plus 90/s during 2 bursts of 10 s.
        assert_eq!(bursts.produced_by(secs(120)), 1200 + 1800);
        assert_eq!(bursts.rate_at(secs(35)), 100.0);
        assert_eq!(bursts.rate_at(secs(45)), 10.0);
        let sine = Production::new(
            0.0,
            Some(&RateShape::Sine {
                mean: 100.0,
                amplitude: 50.0,
                period: Duration::from_secs(100),
                phase: Duration::ZERO,
            }),
        );
        // Whole cycles produce the mean.
        assert_eq!(sine.produced_by(secs(200)), 20_000);
        // Half a cycle: mean × 50 + amplitude × 100 / π.
        let half = 5000.0 + 50.0 * 100.0 / core::f64::consts::PI;
        assert_eq!(sine.produced_by(secs(50)), half.floor() as u64);
        for shape in [&steps, &ramp, &bursts, &sine] {
            for n in [1u64, 17, 500, 2999] {
                let t = shape.time_of_record(n).expect("produced eventually");
                assert!(shape.produced_by(t) >= n);
                assert!(t.micros() == 0 || shape.produced_by(Time(t.micros() - 1)) < n);
            }
        }
    }
}
