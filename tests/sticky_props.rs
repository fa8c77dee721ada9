//! Properties of the sticky family and the KIP-848 assignors over random
//! groups: validity, balance, stickiness when one member joins or leaves,
//! and independence from the order of the input.

mod common;

use common::{by_member, shuffled};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use rebalance_sim::assign::{
    Assignment, Assignor, CooperativeStickyAssignor, GroupSpec, MemberSpec, ServerRangeAssignor,
    StickyAssignor, TopicSpec, UniformAssignor, kafka_balance_violation, run_rounds,
};
use rebalance_sim::check::check_assignment_validity;

const RACKS: [&str; 3] = ["a", "b", "c"];

#[derive(Debug, Clone)]
struct Raw {
    partitions: Vec<u32>,
    replica_racks: Vec<Vec<Vec<usize>>>,
    members: Vec<(Vec<bool>, Option<usize>, Option<usize>)>,
    equal: bool,
}

fn raw() -> impl Strategy<Value = Raw> {
    (
        prop::collection::vec(0u32..14, 1..5),
        1usize..8,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(|(partitions, members, equal, racks)| {
            let topics = partitions.len();
            let replica = prop::collection::vec(prop::collection::vec(0usize..3, 1..3), 0..4);
            let member = (
                prop::collection::vec(any::<bool>(), topics),
                prop::option::weighted(if racks { 0.7 } else { 0.01 }, 0usize..3),
                prop::option::weighted(0.2, 0usize..100),
            );
            (
                Just(partitions),
                prop::collection::vec(replica, topics),
                prop::collection::vec(member, members),
                Just(equal),
            )
                .prop_map(|(partitions, replica_racks, members, equal)| Raw {
                    partitions,
                    replica_racks,
                    members,
                    equal,
                })
        })
}

fn build(raw: &Raw) -> GroupSpec {
    let topics = raw
        .partitions
        .iter()
        .enumerate()
        .map(|(i, &p)| TopicSpec {
            name: format!("t{i}"),
            partitions: p,
            replica_racks: raw.replica_racks[i]
                .iter()
                .map(|e| e.iter().map(|&r| RACKS[r].to_string()).collect())
                .collect(),
        })
        .collect();
    let members = raw
        .members
        .iter()
        .enumerate()
        .map(|(i, (subs, rack, instance))| MemberSpec {
            id: format!("m{i}"),
            instance_id: instance.map(|x| format!("i{x}-{i}")),
            rack: rack.map(|r| RACKS[r].to_string()),
            topics: if raw.equal {
                (0..raw.partitions.len() as u32).collect()
            } else {
                subs.iter()
                    .enumerate()
                    .filter(|(_, s)| **s)
                    .map(|(t, _)| t as u32)
                    .collect()
            },
            ..Default::default()
        })
        .collect();
    GroupSpec { topics, members }
}

fn sizes_within_one(a: &Assignment) -> bool {
    let sizes: Vec<usize> = a.per_member.iter().map(Vec::len).collect();
    sizes.iter().max().unwrap_or(&0) - sizes.iter().min().unwrap_or(&0) <= 1
}

fn equal_subscriptions(g: &GroupSpec) -> bool {
    g.members.windows(2).all(|w| w[0].topics == w[1].topics)
}

/// Feeds `a` back as owned partitions with generation `generation`.
fn with_owned(g: &GroupSpec, a: &Assignment, generation: i32) -> GroupSpec {
    let mut g = g.clone();
    for (m, now) in g.members.iter_mut().zip(&a.per_member) {
        m.owned.clone_from(now);
        m.generation = Some(generation);
    }
    g
}

/// The settled result: rounds until one changes nothing (cooperative
/// assignors hand partitions over in a second round; with rack-aware mode
/// on, Kafka's sticky logic revokes partitions that have no rack
/// information from racked members at every round, which can take a few
/// more rounds to settle).
fn settle(assignor: &dyn Assignor, g: &GroupSpec) -> (Assignment, usize) {
    let rounds = run_rounds(assignor, g, 10);
    let last = rounds
        .iter()
        .position(|r| r.moved == 0 && r.unassigned == 0)
        .unwrap_or(rounds.len() - 1);
    let moved = rounds[..=last].iter().map(|r| r.moved).sum();
    (rounds[last].assignment.clone(), moved)
}

/// The fewest moves a balanced result allows after `g` gains a member
/// with nothing (equal subscriptions, owners balanced before).
fn min_moves_after_join(sizes: &[usize], total: usize) -> usize {
    let n = sizes.len() + 1;
    let (min_q, extra) = (total / n, total % n);
    let kept_base: usize = sizes.iter().map(|&s| s.min(min_q)).sum();
    let can_keep_extra = sizes.iter().filter(|&&s| s > min_q).count().min(extra);
    total - kept_base - can_keep_extra
}

fn assignors() -> Vec<(&'static str, Box<dyn Assignor>)> {
    vec![
        ("sticky", Box::new(StickyAssignor)),
        ("cooperative-sticky", Box::new(CooperativeStickyAssignor)),
        ("uniform", Box::new(UniformAssignor)),
        ("server-range", Box::new(ServerRangeAssignor)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("tests/proptest-regressions/sticky_props.txt"))),
        ..ProptestConfig::with_cases(400)
    })]

    /// Valid, balanced, and the same whatever order the members come in,
    /// from scratch and from a previous assignment with churn.
    #[test]
    fn valid_balanced_and_order_independent(raw in raw(), seed in any::<u64>()) {
        let g = build(&raw);
        for (name, a) in assignors() {
            let (fresh, _) = settle(a.as_ref(), &g);
            prop_assert_eq!(check_assignment_validity(&g, &fresh), None, "{}", name);
            if equal_subscriptions(&g) && name != "server-range" {
                prop_assert!(sizes_within_one(&fresh), "{name}: {:?}", fresh);
            } else if name == "sticky" || name == "cooperative-sticky" || name == "uniform" {
                prop_assert_eq!(kafka_balance_violation(&g, &fresh), None, "{}", name);
            }
            // Drop the last member and add a new one: the previous result
            // becomes what the others own.
            let mut next = with_owned(&g, &fresh, 1);
            next.members.pop();
            next.members.push(MemberSpec { id: "new".into(), topics: g.members[0].topics.clone(), ..Default::default() });
            let one_round = a.assign(&next);
            let shuffled_next = shuffled(&next, seed);
            prop_assert_eq!(by_member(&next, &one_round), by_member(&shuffled_next, &a.assign(&shuffled_next)), "{}", name);
            if name == "cooperative-sticky" {
                // First round: nothing given to a member while another still owns it.
                for (m, parts) in one_round.per_member.iter().enumerate() {
                    for tp in parts {
                        let owner = next.members.iter().position(|o| o.owned.contains(tp));
                        prop_assert!(owner.is_none_or(|o| o == m), "{tp:?} moved in one round");
                    }
                }
            } else {
                prop_assert_eq!(check_assignment_validity(&next, &one_round), None, "{}", name);
            }
        }
    }

    /// From a balanced assignment (equal subscriptions), one member joining
    /// moves only as many partitions as balance requires; one leaving moves
    /// only its own.
    #[test]
    fn join_and_leave_move_the_minimum(mut raw in raw(), leaver in any::<prop::sample::Index>()) {
        raw.equal = true;
        for m in &mut raw.members { m.1 = None; }
        let g = build(&raw);
        let total = g.total_partitions() as usize;
        for (name, a) in assignors() {
            if name == "server-range" {
                continue; // not sticky, by design
            }
            let (before, _) = settle(a.as_ref(), &g);
            let sizes: Vec<usize> = before.per_member.iter().map(Vec::len).collect();
            let base = with_owned(&g, &before, 1);

            let mut joined = base.clone();
            joined.members.push(MemberSpec { id: "joiner".into(), topics: g.members[0].topics.clone(), ..Default::default() });
            let (after, moved) = settle(a.as_ref(), &joined);
            prop_assert!(sizes_within_one(&after), "{name}");
            prop_assert_eq!(moved, min_moves_after_join(&sizes, total), "{} join: sizes {:?}", name, sizes);

            if g.members.len() > 1 {
                let mut left = base.clone();
                let gone = left.members.remove(leaver.index(g.members.len()));
                let (after, moved) = settle(a.as_ref(), &left);
                prop_assert!(sizes_within_one(&after), "{name}");
                prop_assert_eq!(moved, 0, "{} leave: the others keep everything", name);
                let owned_by_gone = after.per_member.iter().flatten().filter(|tp| gone.owned.contains(tp)).count();
                prop_assert_eq!(owned_by_gone, gone.owned.len(), "{} leave: the leaver's partitions are reassigned", name);
            }
        }
    }
}
