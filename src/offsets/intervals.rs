//! A set of disjoint half-open offset ranges, merged on insert.

/// Disjoint, sorted, non-adjacent `[start, end)` ranges. The highest
/// range is kept inline: consumption almost always extends it, and a
/// ledger of thousands of partitions then touches no heap memory per
/// processed range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntervalSet {
    /// Every range below `last`, sorted.
    earlier: Vec<(u64, u64)>,
    /// The highest range (`None` only when the set is empty).
    last: Option<(u64, u64)>,
}

impl IntervalSet {
    /// The end of the highest range, if any.
    pub fn end(&self) -> Option<u64> {
        self.last.map(|(_, e)| e)
    }

    /// Adds `[from, to)`; returns how many offsets were already present.
    pub fn insert(&mut self, from: u64, to: u64) -> u64 {
        if from >= to {
            return 0;
        }
        match &mut self.last {
            None => {
                self.last = Some((from, to));
                return 0;
            }
            // Fast paths: consumption mostly extends the last range.
            Some(last) if last.1 == from => {
                last.1 = to;
                return 0;
            }
            Some(last) if last.1 < from => {
                self.earlier.push(*last);
                *last = (from, to);
                return 0;
            }
            Some(_) => {}
        }
        let overlap = self.covered_in(from, to);
        let mut ranges = self.ranges();
        // First range that ends at or after `from` (touching ranges merge).
        let lo = ranges.partition_point(|&(_, e)| e < from);
        // First range that starts after `to`.
        let hi = ranges.partition_point(|&(s, _)| s <= to);
        let (mut start, mut end) = (from, to);
        if lo < hi {
            start = start.min(ranges[lo].0);
            end = end.max(ranges[hi - 1].1);
        }
        ranges.splice(lo..hi, [(start, end)]);
        self.last = ranges.pop();
        self.earlier = ranges;
        overlap
    }

    /// Every range, sorted.
    fn ranges(&self) -> Vec<(u64, u64)> {
        let mut all = self.earlier.clone();
        all.extend(self.last);
        all
    }

    /// How many offsets of `[from, to)` are in the set.
    pub fn covered_in(&self, from: u64, to: u64) -> u64 {
        if from >= to {
            return 0;
        }
        let overlap = |&(s, e): &(u64, u64)| e.min(to).saturating_sub(s.max(from));
        let in_last = self.last.as_ref().map_or(0, overlap);
        match self.last {
            // Nothing below the last range reaches `from`.
            Some((s, _)) if s <= from => in_last,
            _ => {
                let lo = self.earlier.partition_point(|&(_, e)| e <= from);
                let below: u64 = self.earlier[lo..]
                    .iter()
                    .take_while(|&&(s, _)| s < to)
                    .map(overlap)
                    .sum();
                below + in_last
            }
        }
    }

    /// Number of disjoint ranges.
    pub fn len(&self) -> usize {
        self.earlier.len() + usize::from(self.last.is_some())
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.last.is_none()
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
            for w in set.ranges().windows(2) {
                prop_assert!(w[0].1 < w[1].0, "ranges must stay disjoint and non-adjacent");
            }
        }
    }
}
