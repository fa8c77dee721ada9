//! Time to process a batch of `n` records, drawn in O(1) whatever `n`:
//! sums of per-record draws use their exact or normal-approximated
//! distribution, so records are never simulated one by one. Math goes
//! through `libm` so results are identical on every platform.

use crate::scenario::TimeDist;
use crate::sim::{Duration, SimRng};
use rand::Rng;

/// Below this many records, uniform sums are drawn record by record.
const EXACT_SUM_LIMIT: u32 = 16;

/// Time to process `n` records with per-record time `dist`.
pub fn batch_time(dist: &TimeDist, n: u32, rng: &mut SimRng) -> Duration {
    if n == 0 {
        return Duration::ZERO;
    }
    let nf = f64::from(n);
    let micros = match *dist {
        TimeDist::Constant(d) => return Duration(d.micros().saturating_mul(u64::from(n))),
        TimeDist::Uniform { min, max } => {
            let (a, b) = (min.micros() as f64, max.micros() as f64);
            if n <= EXACT_SUM_LIMIT {
                (0..n).map(|_| a + (b - a) * rng.random::<f64>()).sum()
            } else {
                let mean = nf * (a + b) / 2.0;
                let sd = libm::sqrt(nf / 12.0) * (b - a);
                (mean + sd * standard_normal(rng)).clamp(nf * a, nf * b)
            }
        }
        TimeDist::Normal { mean, stddev } => {
            let m = nf * mean.micros() as f64;
            let sd = libm::sqrt(nf) * stddev.micros() as f64;
            (m + sd * standard_normal(rng)).max(0.0)
        }
        TimeDist::Exponential { mean } => gamma(nf, rng) * mean.micros() as f64,
    };
    Duration(libm::round(micros) as u64)
}

/// Mean per-record time, for reports.
pub fn mean_time(dist: &TimeDist) -> Duration {
    match *dist {
        TimeDist::Constant(d) => d,
        TimeDist::Uniform { min, max } => Duration(min.micros().midpoint(max.micros())),
        TimeDist::Normal { mean, .. } | TimeDist::Exponential { mean } => mean,
    }
}

/// Box–Muller.
fn standard_normal(rng: &mut SimRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
}

/// Gamma(shape, 1) for shape >= 1 (Marsaglia–Tsang): the sum of `shape`
/// unit exponentials.
fn gamma(shape: f64, rng: &mut SimRng) -> f64 {
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / libm::sqrt(9.0 * d);
    loop {
        let x = standard_normal(rng);
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u: f64 = 1.0 - rng.random::<f64>();
        if libm::log(u) < 0.5 * x * x + d - d * v + d * libm::log(v) {
            return d * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng_stream;

    fn mean_of(dist: TimeDist, n: u32) -> f64 {
        let mut rng = rng_stream(1, "t");
        let runs = 2000;
        (0..runs)
            .map(|_| batch_time(&dist, n, &mut rng).micros() as f64)
            .sum::<f64>()
            / runs as f64
    }

    #[test]
    fn batch_means_match_per_record_means() {
        let ms = Duration::from_millis(1);
        let cases = [
            TimeDist::Uniform {
                min: Duration(500),
                max: Duration(1500),
            },
            TimeDist::Normal {
                mean: ms,
                stddev: Duration(300),
            },
            TimeDist::Exponential { mean: ms },
        ];
        for dist in cases {
            for n in [1, 10, 500] {
                let got = mean_of(dist, n) / f64::from(n);
                assert!((got - 1000.0).abs() < 60.0, "{dist:?} n={n}: {got}");
            }
        }
        assert_eq!(
            batch_time(&TimeDist::Constant(ms), 7, &mut rng_stream(1, "t")),
            Duration(7000)
        );
    }

    #[test]
    fn the_longest_durations_do_not_overflow() {
        let max = Duration(u64::MAX);
        let uniform = TimeDist::Uniform { min: max, max };
        assert_eq!(mean_time(&uniform), max);
        let mut rng = rng_stream(1, "t");
        for dist in [
            uniform,
            TimeDist::Constant(max),
            TimeDist::Normal {
                mean: max,
                stddev: max,
            },
            TimeDist::Exponential { mean: max },
        ] {
            assert_eq!(batch_time(&dist, u32::MAX, &mut rng), max, "{dist:?}");
        }
    }
}
