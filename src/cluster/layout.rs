//! How a topic's records are dealt to its partitions when partitions are
//! added: in epochs of the producers' partition count. Records before the
//! producers' metadata refresh that shows the new partitions go round-robin
//! over the old count; records after it over the new one. A partition's
//! count stays a closed form of the topic-wide record count, and so does
//! its inverse.

/// One epoch: from the topic-wide record count `from` on, records are
/// dealt round-robin over `partitions` partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch {
    /// Topic-wide record count where the epoch starts.
    pub from: u64,
    /// Partitions written to in it.
    pub partitions: u32,
}

/// The epochs of one topic, the first from record 0, `from` increasing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    epochs: Vec<Epoch>,
}

/// Of `produced` records dealt round-robin over `partitions`, how many
/// partition `p` holds.
pub fn round_robin_share(produced: u64, partitions: u32, p: u32) -> u64 {
    let parts = u64::from(partitions);
    let p = u64::from(p);
    produced / parts + u64::from(produced % parts > p)
}

impl Layout {
    /// Epochs as given; the first must start at 0 and `from` must not go
    /// down (equal starts: the later epoch wins).
    pub fn new(mut epochs: Vec<Epoch>) -> Self {
        debug_assert!(epochs.first().is_some_and(|e| e.from == 0));
        debug_assert!(epochs.windows(2).all(|w| w[0].from <= w[1].from));
        epochs.dedup_by(|later, earlier| {
            let same = later.from == earlier.from;
            if same {
                *earlier = *later;
            }
            same
        });
        Layout { epochs }
    }

    /// A topic that never grows.
    pub fn fixed(partitions: u32) -> Self {
        Layout {
            epochs: vec![Epoch {
                from: 0,
                partitions,
            }],
        }
    }

    /// True when the topic never grows.
    pub fn is_fixed(&self) -> bool {
        self.epochs.len() == 1
    }

    /// Of `produced` records of the topic, how many partition `p` holds.
    pub fn share(&self, produced: u64, p: u32) -> u64 {
        if let [only] = self.epochs.as_slice() {
            // The common case (a topic that never grows), on every fetch.
            return round_robin_share(produced, only.partitions, p);
        }
        let mut total = 0;
        for (k, e) in self.epochs.iter().enumerate() {
            if produced <= e.from {
                break;
            }
            let end = self.epochs.get(k + 1).map_or(u64::MAX, |n| n.from);
            if p < e.partitions {
                total += round_robin_share(produced.min(end) - e.from, e.partitions, p);
            }
        }
        total
    }

    /// The topic-wide record count at which partition `p` holds
    /// `offset + 1` records, if ever.
    pub fn records_needed(&self, p: u32, offset: u64) -> Option<u64> {
        if let [only] = self.epochs.as_slice() {
            return offset
                .checked_mul(u64::from(only.partitions))?
                .checked_add(u64::from(p) + 1);
        }
        // The (offset + 1)-th record of p, counted from epoch to epoch.
        let mut left = offset;
        for (k, e) in self.epochs.iter().enumerate() {
            if p >= e.partitions {
                continue;
            }
            let parts = u64::from(e.partitions);
            let within = match self.epochs.get(k + 1) {
                Some(n) => round_robin_share(n.from - e.from, e.partitions, p),
                None => u64::MAX,
            };
            if left < within {
                // Record number left of p in this epoch is the
                // (p + left * parts + 1)-th of the epoch.
                return left
                    .checked_mul(parts)?
                    .checked_add(u64::from(p) + 1)?
                    .checked_add(e.from);
            }
            left -= within;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grown() -> Layout {
        // 2 partitions for the first 5 records, then 4.
        Layout::new(vec![
            Epoch {
                from: 0,
                partitions: 2,
            },
            Epoch {
                from: 5,
                partitions: 4,
            },
        ])
    }

    #[test]
    fn records_are_dealt_per_epoch() {
        let l = grown();
        // Records 0..5 over 2: p0 gets 0, 2, 4; p1 gets 1, 3. Then 5, 6,
        // 7, 8 go to p0..p3.
        let at = |n| (0..4).map(|p| l.share(n, p)).collect::<Vec<_>>();
        assert_eq!(at(5), [3, 2, 0, 0]);
        assert_eq!(at(9), [4, 3, 1, 1]);
        for n in 0..40 {
            assert_eq!(at(n).iter().sum::<u64>(), n);
        }
    }

    #[test]
    fn records_needed_inverts_share() {
        let l = grown();
        for p in 0..4 {
            for offset in 0..10 {
                let n = l
                    .records_needed(p, offset)
                    .expect("the last epoch is unbounded");
                assert!(l.share(n, p) > offset, "p{p} offset {offset}: n {n}");
                assert!(l.share(n - 1, p) <= offset, "p{p} offset {offset}: n {n}");
            }
        }
        assert_eq!(Layout::fixed(3).records_needed(1, 0), Some(2));
    }
}
