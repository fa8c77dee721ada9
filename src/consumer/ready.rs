//! Which owned partitions have records to fetch, found without scanning
//! them all: each partition is keyed by the topic-wide record count at
//! which its next record becomes visible, and a min segment tree over the
//! keys (in assignment order) finds the next partition at or after a
//! cursor whose key is within what the topic holds. A poll then costs
//! O(log n) per partition it reads from, not O(n) per poll. A consumer
//! owning few partitions (the usual case) keeps only the flat keys: a
//! scan of a few cache lines beats the tree's walk.

/// Keys of the partitions a consumer owns, in assignment order.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReadyIndex {
    /// Number of leaves (partitions).
    len: usize,
    /// First leaf of the tree (a power of two ≥ `len`); 0 when flat.
    base: usize,
    /// Heap-ordered minimum of each subtree; node 1 is the root. With at
    /// most [`FLAT_LIMIT`] partitions there is no tree: only the leaves,
    /// searched by a scan.
    tree: Vec<u64>,
}

/// Up to this many partitions, the index is searched by a scan of its
/// leaves (on the 20-partition consumers of the large bench case the scan
/// took the fetch from a third of the profile to a seventh; the limit
/// itself was not tuned).
const FLAT_LIMIT: usize = 64;

/// Key of a partition that never gets another record.
pub(crate) const NEVER: u64 = u64::MAX;

impl ReadyIndex {
    /// An index over `keys`, one per owned partition.
    pub fn new(keys: impl ExactSizeIterator<Item = u64>) -> Self {
        let len = keys.len();
        if len <= FLAT_LIMIT {
            return ReadyIndex {
                len,
                base: 0,
                tree: keys.collect(),
            };
        }
        let base = len.next_power_of_two();
        let mut tree = vec![NEVER; 2 * base];
        for (i, k) in keys.enumerate() {
            tree[base + i] = k;
        }
        for node in (1..base).rev() {
            tree[node] = tree[2 * node].min(tree[2 * node + 1]);
        }
        ReadyIndex { len, base, tree }
    }

    fn is_flat(&self) -> bool {
        self.len <= FLAT_LIMIT
    }

    fn leaves(&self) -> &[u64] {
        &self.tree[self.base..self.base + self.len]
    }

    /// Number of partitions indexed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Sets the key of partition `i`.
    pub fn set(&mut self, i: usize, key: u64) {
        debug_assert!(i < self.len, "partition {i} of {}", self.len);
        let mut node = self.base + i;
        self.tree[node] = key;
        if self.is_flat() {
            return;
        }
        while node > 1 {
            node /= 2;
            self.tree[node] = self.tree[2 * node].min(self.tree[2 * node + 1]);
        }
    }

    /// The first partition in `from..to` whose key is at most `visible`.
    pub fn first_ready(&self, from: usize, to: usize, visible: u64) -> Option<usize> {
        let to = to.min(self.len);
        if from >= to {
            return None;
        }
        if self.is_flat() {
            return self.leaves()[from..to]
                .iter()
                .position(|&k| k <= visible)
                .map(|k| from + k);
        }
        self.find(1, 0, self.base, from, to, visible)
    }

    fn find(
        &self,
        node: usize,
        lo: usize,
        hi: usize,
        from: usize,
        to: usize,
        visible: u64,
    ) -> Option<usize> {
        if hi <= from || lo >= to || self.tree[node] > visible {
            return None;
        }
        if hi - lo == 1 {
            return Some(lo);
        }
        let mid = (lo + hi) / 2;
        self.find(2 * node, lo, mid, from, to, visible)
            .or_else(|| self.find(2 * node + 1, mid, hi, from, to, visible))
    }

    /// The smallest key in `from..to` ([`NEVER`] if the range is empty).
    pub fn min_key(&self, from: usize, to: usize) -> u64 {
        if self.is_flat() {
            let to = to.min(self.len);
            return self.leaves()[from.min(to)..to]
                .iter()
                .copied()
                .min()
                .unwrap_or(NEVER);
        }
        let (mut lo, mut hi) = (from.min(self.len) + self.base, to.min(self.len) + self.base);
        let mut best = NEVER;
        while lo < hi {
            if lo % 2 == 1 {
                best = best.min(self.tree[lo]);
                lo += 1;
            }
            if hi % 2 == 1 {
                hi -= 1;
                best = best.min(self.tree[hi]);
            }
            lo /= 2;
            hi /= 2;
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_first(keys: &[u64], from: usize, to: usize, v: u64) -> Option<usize> {
        (from..to.min(keys.len())).find(|&i| keys[i] <= v)
    }

    #[test]
    fn agrees_with_a_scan() {
        // A small deterministic pseudo-random walk over keys and queries.
        let mut x: u64 = 12345;
        let mut step = || {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            x >> 40
        };
        for len in [0usize, 1, 2, 3, 5, 8, 13, 64, 65, 100, 300] {
            let mut keys: Vec<u64> = (0..len).map(|_| step() % 50).collect();
            let mut index = ReadyIndex::new(keys.iter().copied());
            for _ in 0..200 {
                if len > 0 {
                    let i = (step() as usize) % len;
                    let k = if step() % 7 == 0 { NEVER } else { step() % 50 };
                    keys[i] = k;
                    index.set(i, k);
                }
                let from = (step() as usize) % (len + 1);
                let to = (step() as usize) % (len + 2);
                let v = step() % 60;
                assert_eq!(
                    index.first_ready(from, to, v),
                    brute_first(&keys, from, to, v)
                );
                let min = (from..to.min(len)).map(|i| keys[i]).min().unwrap_or(NEVER);
                assert_eq!(index.min_key(from, to), min);
            }
        }
    }
}
