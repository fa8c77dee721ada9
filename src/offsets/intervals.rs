//! A set of disjoint half-open offset ranges, merged on insert.

/// Disjoint, sorted, non-adjacent `[start, end)` ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntervalSet {
    ranges: Vec<(u64, u64)>,
}

impl IntervalSet {
    /// The end of the highest range, if any.
    pub fn end(&self) -> Option<u64> {
        self.ranges.last().map(|&(_, e)| e)
    }

    /// Adds `[from, to)`; returns how many offsets were already present.
    pub fn insert(&mut self, from: u64, to: u64) -> u64 {
        if from >= to {
            return 0;
        }
        // Fast path: consumption mostly extends the last range.
        if let Some(last) = self.ranges.last_mut() {
            if last.1 == from {
                last.1 = to;
                return 0;
            }
            if last.1 < from {
                self.ranges.push((from, to));
                return 0;
            }
        } else {
            self.ranges.push((from, to));
            return 0;
        }
        let overlap = self.covered_in(from, to);
        // First range that ends at or after `from` (touching ranges merge).
        let lo = self.ranges.partition_point(|&(_, e)| e < from);
        // First range that starts after `to`.
        let hi = self.ranges.partition_point(|&(s, _)| s <= to);
        let (mut start, mut end) = (from, to);
        if lo < hi {
            start = start.min(self.ranges[lo].0);
            end = end.max(self.ranges[hi - 1].1);
        }
        self.ranges.splice(lo..hi, [(start, end)]);
        overlap
    }

    /// How many offsets of `[from, to)` are in the set.
    pub fn covered_in(&self, from: u64, to: u64) -> u64 {
        if from >= to {
            return 0;
        }
        let lo = self.ranges.partition_point(|&(_, e)| e <= from);
        self.ranges[lo..]
            .iter()
            .take_while(|&&(s, _)| s < to)
            .map(|&(s, e)| e.min(to) - s.max(from))
            .sum()
    }

    /// Number of disjoint ranges.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_a_bitmap(ops in prop::collection::vec((0u64..200, 0u64..40), 1..40)) {
            let mut set = IntervalSet::default();
            let mut bits = vec![false; 256];
            for (from, len) in ops {
                let to = from + len;
                let expected = (from..to).filter(|&i| bits[i as usize]).count() as u64;
                prop_assert_eq!(set.insert(from, to), expected);
                for i in from..to { bits[i as usize] = true; }
                for (a, b) in [(0u64, 256u64), (from / 2, to + 3), (7, 9)] {
                    let want = (a..b).filter(|&i| bits[i as usize]).count() as u64;
                    prop_assert_eq!(set.covered_in(a, b), want);
                }
            }
            for w in set.ranges.windows(2) {
                prop_assert!(w[0].1 < w[1].0, "ranges must stay disjoint and non-adjacent");
            }
        }
    }
}
