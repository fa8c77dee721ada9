//! Java iteration orders that Apache Kafka's assignors depend on.
//!
//! Kafka's sticky assignors iterate member subscriptions in the order of a
//! `java.util.HashMap` keyed by member id, and that order decides which
//! members keep extra partitions. To give the same answers we reproduce
//! the order: ascending bucket index of the spread `String.hashCode`, in a
//! table grown from 16 by doubling past a 0.75 load factor; within a
//! bucket, insertion order. Members are inserted in member-id order, so
//! the result does not depend on the order members are listed in.

use super::java_string_order;

/// `String.hashCode()`.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// `HashMap.hash()`: the hash with its high bits folded into the low ones.
fn spread(h: i32) -> u32 {
    let h = h as u32;
    h ^ (h >> 16)
}

/// Table size of a default `new HashMap<>()` holding `n` entries.
fn default_capacity(n: usize) -> usize {
    let mut cap = 16usize;
    while n > cap * 3 / 4 {
        cap *= 2;
    }
    cap
}

/// Indices of `keys` in the iteration order of a `java.util.HashMap` with
/// default capacity, filled in Java string order of the keys.
pub fn java_hashmap_order(keys: &[&str]) -> Vec<usize> {
    java_hashmap_order_ranked(keys, &java_string_order(keys))
}

/// As [`java_hashmap_order`], given the keys' indices already in Java
/// string order.
pub fn java_hashmap_order_ranked(keys: &[&str], by_name: &[usize]) -> Vec<usize> {
    let mask = (default_capacity(keys.len()) - 1) as u32;
    // Bucket first; within a bucket, insertion (name) order.
    let mut keyed: Vec<(u32, u32, usize)> = by_name
        .iter()
        .enumerate()
        .map(|(rank, &i)| (spread(java_string_hash(keys[i])) & mask, rank as u32, i))
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_hash_matches_java() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn consumer_ids_iterate_as_in_kafkas_tests() {
        // Kafka's tests see consumer4, consumer3, consumer2, consumer1.
        let keys = ["consumer1", "consumer2", "consumer3", "consumer4"];
        let order: Vec<&str> = java_hashmap_order(&keys)
            .into_iter()
            .map(|i| keys[i])
            .collect();
        assert_eq!(order, ["consumer4", "consumer3", "consumer2", "consumer1"]);
    }

    #[test]
    fn capacity_grows_past_three_quarters() {
        assert_eq!(default_capacity(12), 16);
        assert_eq!(default_capacity(13), 32);
        assert_eq!(default_capacity(0), 16);
    }
}
