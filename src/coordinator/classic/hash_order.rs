//! The iteration order of `ClassicGroup.members`, a `java.util.HashMap`
//! keyed by member id. Kafka picks a new leader from that order: the
//! first key when the leader is removed (`ClassicGroup.remove`) and the
//! first member awaiting join when the leader did not rejoin
//! (`ClassicGroup.maybeElectNewJoinedLeader`). Reproducing it is a
//! computed order, never an iteration over a Rust hash map.
//!
//! A `HashMap` iterates its table from bucket 0 up, and each bucket's
//! chain in insertion order (a resize splits a chain into two while
//! keeping that order, and a doubled table's bucket only receives keys
//! from one old bucket). The table starts at 16 buckets and doubles when
//! an insertion takes the size past three quarters of it, or when a key
//! lands in a chain of 8 or more while the table has fewer than 64
//! buckets (`HashMap.putVal` → `treeifyBin` resizes instead of making a
//! tree). It never shrinks. Chains of more than 8 in a table of 64 or
//! more buckets become red-black trees in Java, which insert a key after
//! its tree parent instead of at the end; that needs 9 random member ids
//! in one bucket, and this model keeps insertion order there.

use crate::assign::java_string_hash;
use std::collections::BTreeMap;

/// Where a key sits in the iteration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Slot {
    /// `HashMap.hash(key)`: the hash with its high half folded in.
    hash: u32,
    /// Insertion sequence.
    seq: u64,
}

/// The table of one `HashMap<String, _>` (sizes only; the keys live in
/// the coordinator's own maps).
#[derive(Debug, Clone)]
pub(super) struct HashOrder {
    capacity: usize,
    /// Keys per bucket.
    buckets: Vec<u32>,
    /// Keys per hash, to recount buckets after a resize.
    hashes: BTreeMap<u32, u32>,
    size: usize,
    next_seq: u64,
}

/// `HashMap`'s first table size, load factor 3/4, and the chain length
/// and table size of `TREEIFY_THRESHOLD` / `MIN_TREEIFY_CAPACITY`.
const INITIAL_CAPACITY: usize = 16;
const TREEIFY_THRESHOLD: u32 = 8;
const MIN_TREEIFY_CAPACITY: usize = 64;

impl HashOrder {
    /// An empty `new HashMap<>()`.
    pub(super) fn new() -> Self {
        HashOrder {
            capacity: INITIAL_CAPACITY,
            buckets: vec![0; INITIAL_CAPACITY],
            hashes: BTreeMap::new(),
            size: 0,
            next_seq: 0,
        }
    }

    fn bucket(&self, hash: u32) -> usize {
        hash as usize & (self.capacity - 1)
    }

    fn resize(&mut self) {
        self.capacity *= 2;
        self.buckets = vec![0; self.capacity];
        let mask = self.capacity - 1;
        for (&h, &n) in &self.hashes {
            self.buckets[h as usize & mask] += n;
        }
    }

    /// `put` of a new key: where it lands in the order.
    pub(super) fn insert(&mut self, key: &str) -> Slot {
        let h = java_string_hash(key) as u32;
        let hash = h ^ (h >> 16);
        let b = self.bucket(hash);
        let chain = self.buckets[b];
        self.buckets[b] += 1;
        *self.hashes.entry(hash).or_default() += 1;
        if chain >= TREEIFY_THRESHOLD && self.capacity < MIN_TREEIFY_CAPACITY {
            self.resize();
        }
        self.size += 1;
        if self.size > self.capacity / 4 * 3 {
            self.resize();
        }
        self.next_seq += 1;
        Slot {
            hash,
            seq: self.next_seq,
        }
    }

    /// `remove` of a key that was inserted at `slot`.
    pub(super) fn remove(&mut self, slot: Slot) {
        let b = self.bucket(slot.hash);
        self.buckets[b] = self.buckets[b].saturating_sub(1);
        if let Some(n) = self.hashes.get_mut(&slot.hash) {
            *n -= 1;
            if *n == 0 {
                self.hashes.remove(&slot.hash);
            }
        }
        self.size = self.size.saturating_sub(1);
    }

    /// A key comparing as the iteration order does, for the current table.
    pub(super) fn rank(&self, slot: Slot) -> (usize, u64) {
        (self.bucket(slot.hash), slot.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(map: &HashOrder, keys: &[(&str, Slot)]) -> Vec<String> {
        let mut v: Vec<_> = keys.to_vec();
        v.sort_by_key(|(_, s)| map.rank(*s));
        v.into_iter().map(|(k, _)| k.to_string()).collect()
    }

    #[test]
    fn iterates_as_java_hashmap_keyset() {
        // new HashMap<>() with consumer1..4 put in order iterates
        // consumer4, consumer3, consumer2, consumer1 (Kafka's own tests
        // rely on this order).
        let mut map = HashOrder::new();
        let keys: Vec<(&str, Slot)> = ["consumer1", "consumer2", "consumer3", "consumer4"]
            .into_iter()
            .map(|k| (k, map.insert(k)))
            .collect();
        assert_eq!(
            order(&map, &keys),
            ["consumer4", "consumer3", "consumer2", "consumer1"]
        );
    }

    #[test]
    fn a_thirteenth_key_doubles_the_table_and_removal_never_shrinks_it() {
        let mut map = HashOrder::new();
        let slots: Vec<Slot> = (0..12).map(|i| map.insert(&format!("m{i}"))).collect();
        assert_eq!(map.capacity, 16);
        let extra = map.insert("m12");
        assert_eq!(map.capacity, 32);
        map.remove(extra);
        for s in slots {
            map.remove(s);
        }
        assert_eq!((map.capacity, map.size), (32, 0));
        assert!(map.buckets.iter().all(|&n| n == 0));
    }

    #[test]
    fn a_long_chain_in_a_small_table_resizes_instead_of_treeifying() {
        // "Aa" and "BB" share String.hashCode, so every string made of 4
        // such pairs does too: 9 keys in one bucket of a 16-bucket table.
        let keys: Vec<String> = (0..9u32)
            .map(|i| {
                (0..4)
                    .map(|b| if i >> b & 1 == 1 { "Aa" } else { "BB" })
                    .collect()
            })
            .collect();
        assert!(
            keys.iter()
                .all(|k| java_string_hash(k) == java_string_hash(&keys[0]))
        );
        let mut map = HashOrder::new();
        for k in &keys[..8] {
            map.insert(k);
        }
        assert_eq!(map.capacity, 16);
        map.insert(&keys[8]);
        assert_eq!(map.capacity, 32, "the 9th key in one chain resizes");
    }
}
