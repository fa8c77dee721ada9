//! Helpers shared by the assignor property tests.

use rebalance_sim::assign::{Assignment, GroupSpec, TopicPartition};
use std::collections::BTreeMap;

/// Each member's partitions keyed by member id, so results can be
/// compared whatever order the members were given in.
pub fn by_member(g: &GroupSpec, a: &Assignment) -> BTreeMap<String, Vec<TopicPartition>> {
    g.members
        .iter()
        .zip(&a.per_member)
        .map(|(m, p)| (m.id.clone(), p.clone()))
        .collect()
}

/// `g` with its members in a pseudo-random order drawn from `seed`
/// (Fisher–Yates with an LCG step).
pub fn shuffled(g: &GroupSpec, seed: u64) -> GroupSpec {
    let mut g = g.clone();
    let n = g.members.len();
    for i in (1..n).rev() {
        let j = (seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(i as u64)
            >> 33) as usize
            % (i + 1);
        g.members.swap(i, j);
    }
    g
}
