//! Repeated assignment: each result fed back as what members own, as the
//! next rebalance would see it (how cooperative assignors hand partitions
//! over in two rounds).

use super::{Assignment, Assignor, GroupSpec};

/// One round's result and what it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    /// The assignment.
    pub assignment: Assignment,
    /// Partitions some member owned before the round that none of the
    /// members claiming them holds after it: given to another member or
    /// withheld (a stale duplicate claim dropped while its rightful owner
    /// keeps the partition is not a move).
    pub moved: usize,
    /// Partitions of subscribed topics nobody got (withheld by a
    /// cooperative assignor until their owner revoked them).
    pub unassigned: usize,
}

/// Runs `rounds` rounds of `assignor` on `group`, feeding each result back
/// as the members' owned partitions with the next generation.
pub fn run_rounds(assignor: &dyn Assignor, group: &GroupSpec, rounds: usize) -> Vec<Round> {
    let mut spec = group.clone();
    let mut generation = group
        .members
        .iter()
        .filter_map(|m| m.generation)
        .max()
        .unwrap_or(0);
    let subscribed: u64 = (0..group.topics.len() as u32)
        .filter(|&t| group.members.iter().any(|m| m.subscribes(t)))
        .map(|t| u64::from(group.topics[t as usize].partitions))
        .sum();
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let assignment = assignor.assign(&spec);
        let moved = moved_partitions(&spec, &assignment);
        let assigned: u64 = assignment.per_member.iter().map(|v| v.len() as u64).sum();
        // Input may already carry i32::MAX: later rounds then share it
        // rather than overflow.
        generation = generation.saturating_add(1);
        for (m, now) in spec.members.iter_mut().zip(&assignment.per_member) {
            m.owned.clone_from(now);
            m.generation = Some(generation);
        }
        out.push(Round {
            assignment,
            moved,
            unassigned: subscribed.saturating_sub(assigned) as usize,
        });
    }
    out
}

/// Distinct partitions claimed before the round and held after it by none
/// of the members that claimed them.
fn moved_partitions(spec: &GroupSpec, assignment: &Assignment) -> usize {
    use std::collections::BTreeMap;
    // Per partition: whether some member that claimed it still holds it.
    let mut kept: BTreeMap<super::TopicPartition, bool> = BTreeMap::new();
    for (m, now) in spec.members.iter().zip(&assignment.per_member) {
        for tp in &m.owned {
            let holds = now.binary_search(tp).is_ok();
            *kept.entry(*tp).or_insert(false) |= holds;
        }
    }
    kept.values().filter(|&&k| !k).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::{CooperativeStickyAssignor, MemberSpec, TopicPartition, TopicSpec};

    #[test]
    fn cooperative_sticky_hands_over_in_two_rounds() {
        let owned = |ps: &[u32]| ps.iter().map(|&p| TopicPartition::new(0, p)).collect();
        let member = |id: &str, ps: &[u32]| MemberSpec {
            id: id.into(),
            topics: vec![0].into(),
            owned: owned(ps),
            generation: Some(1),
            ..Default::default()
        };
        let group = GroupSpec {
            topics: vec![TopicSpec::new("t", 4)],
            members: vec![member("a", &[0, 1]), member("b", &[2, 3]), member("c", &[])],
        };
        let rounds = run_rounds(&CooperativeStickyAssignor, &group, 2);
        assert_eq!(
            rounds[0].unassigned, 1,
            "one partition is withheld in round 1"
        );
        assert_eq!(rounds[0].moved, 1);
        assert_eq!(rounds[1].unassigned, 0, "and handed over in round 2");
        let sizes: Vec<usize> = rounds[1]
            .assignment
            .per_member
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes.iter().sum::<usize>(), 4);
        assert!(sizes.iter().all(|s| (1..=2).contains(s)));
    }

    /// A stale duplicate claim dropped while the rightful owner keeps the
    /// partition is not a move (a review found 4 "moved" where 2 changed
    /// hands): a (generation 5) owns t-0..2, b (generation 4) still claims
    /// t-0 and t-1; a keeps t-0, t-1 and t-2 are withheld.
    #[test]
    fn a_dropped_stale_claim_is_not_a_move() {
        let owned = |ps: &[u32]| ps.iter().map(|&p| TopicPartition::new(0, p)).collect();
        let member = |id: &str, ps: &[u32], generation| MemberSpec {
            id: id.into(),
            topics: vec![0].into(),
            owned: owned(ps),
            generation,
            ..Default::default()
        };
        let group = GroupSpec {
            topics: vec![TopicSpec::new("t", 3)],
            members: vec![
                member("a", &[0, 1, 2], Some(5)),
                member("b", &[0, 1], Some(4)),
                member("c", &[], None),
            ],
        };
        let round = &run_rounds(&CooperativeStickyAssignor, &group, 1)[0];
        assert_eq!(round.assignment.per_member[0], owned(&[0]));
        assert_eq!((round.moved, round.unassigned), (2, 2));
    }
}
