//! Which seeds a sweep runs: `--seeds 1..1000` (both ends included),
//! `--seeds 7`, or `--seeds 1,5,9`; and `--shard I/N`, the I-th of N
//! interleaved slices, so shards run on different machines together make
//! exactly the whole sweep.

use thiserror::Error;

/// A `--seeds` or `--shard` value that cannot be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SeedsError {
    /// The seeds are not `A..B`, `N` or `A,B,C`.
    #[error(
        "--seeds {0:?}: expected a range like 1..1000 (both ends included), one seed, or a list like 1,5,9"
    )]
    Seeds(String),
    /// The range is empty or too large.
    #[error("--seeds {0:?}: {1}")]
    Range(String, String),
    /// The shard is not `I/N` with 1 ≤ I ≤ N.
    #[error("--shard {0:?}: expected I/N with 1 <= I <= N, e.g. 2/8")]
    Shard(String),
}

/// The most seeds one sweep runs (its rows are kept in memory).
pub const MAX_SEEDS: u64 = 10_000_000;

/// Parses `--seeds`.
pub fn parse_seeds(text: &str) -> Result<Vec<u64>, SeedsError> {
    let bad = || SeedsError::Seeds(text.to_string());
    let t = text.trim();
    if let Some((a, b)) = t.split_once("..") {
        let a: u64 = a.trim().parse().map_err(|_| bad())?;
        let b: u64 = b
            .trim()
            .trim_start_matches('=')
            .parse()
            .map_err(|_| bad())?;
        if b < a {
            return Err(SeedsError::Range(text.into(), format!("{b} is below {a}")));
        }
        if b - a >= MAX_SEEDS {
            return Err(SeedsError::Range(
                text.into(),
                format!(
                    "more than {MAX_SEEDS} seeds in one command; give a smaller range (a sweep can be split over machines with --shard)"
                ),
            ));
        }
        return Ok((a..=b).collect());
    }
    let seeds: Vec<u64> = t
        .split(',')
        .map(|s| s.trim().parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let mut sorted = seeds.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != seeds.len() {
        return Err(SeedsError::Range(
            text.into(),
            "a seed is listed twice".into(),
        ));
    }
    Ok(seeds)
}

/// A slice of a sweep: the `index`-th (from 1) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which slice, from 1.
    pub index: u64,
    /// How many slices.
    pub count: u64,
}

impl Shard {
    /// Parses `I/N`.
    pub fn parse(text: &str) -> Result<Shard, SeedsError> {
        let bad = || SeedsError::Shard(text.to_string());
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The seeds of this shard: every `count`-th from the `index`-th, so
    /// each shard gets a share of early and late seeds.
    pub fn of(&self, seeds: &[u64]) -> Vec<u64> {
        seeds
            .iter()
            .enumerate()
            .filter(|(k, _)| *k as u64 % self.count == self.index - 1)
            .map(|(_, &s)| s)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_lists_and_errors() {
        assert_eq!(parse_seeds("1..5").unwrap(), [1, 2, 3, 4, 5]);
        assert_eq!(parse_seeds("7").unwrap(), [7]);
        assert_eq!(parse_seeds("3, 1,9").unwrap(), [3, 1, 9]);
        assert!(matches!(parse_seeds("5..1"), Err(SeedsError::Range(..))));
        assert!(matches!(parse_seeds("1,1"), Err(SeedsError::Range(..))));
        assert!(matches!(parse_seeds("a..b"), Err(SeedsError::Seeds(_))));
        assert!(matches!(
            parse_seeds("0..10000000"),
            Err(SeedsError::Range(..))
        ));
    }

    #[test]
    fn shards_partition_the_seeds() {
        let seeds: Vec<u64> = (1..=10).collect();
        let mut all: Vec<u64> = (1..=3)
            .flat_map(|i| Shard { index: i, count: 3 }.of(&seeds))
            .collect();
        all.sort_unstable();
        assert_eq!(all, seeds);
        assert_eq!(Shard::parse("2/3").unwrap().of(&seeds), [2, 5, 8]);
        for bad in ["0/3", "4/3", "1", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }
}
