//! Properties of the classic client-side assignors over random groups:
//! validity, independence from input order, the balance promise, and
//! agreement with a literal transcription of Kafka's Java algorithms.

mod common;

use common::{by_member, shuffled};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use rebalance_sim::assign::{
    Assignment, Assignor, GroupSpec, MemberSpec, RangeAssignor, RoundRobinAssignor, TopicPartition,
    TopicSpec, check_promise, kafka_member_order,
};
use rebalance_sim::check::check_assignment_validity;

fn group() -> impl Strategy<Value = GroupSpec> {
    (prop::collection::vec(0u32..13, 1..5), 1usize..8)
        .prop_flat_map(|(parts, members)| {
            let topics = parts.len();
            let member = (
                prop::collection::vec(any::<bool>(), topics),
                prop::option::weighted(0.3, "[a-c][0-9]{0,2}"),
                "[a-z]{1,3}[0-9]{0,2}",
            );
            (Just(parts), prop::collection::vec(member, members))
        })
        .prop_map(|(parts, raw)| {
            let topics = parts
                .iter()
                .enumerate()
                .map(|(i, &p)| TopicSpec::new(format!("t{i}"), p))
                .collect();
            let mut seen_ids = std::collections::BTreeSet::new();
            let mut seen_instances = std::collections::BTreeSet::new();
            let members = raw
                .into_iter()
                .enumerate()
                .map(|(i, (subs, instance, id))| {
                    let id = if seen_ids.insert(id.clone()) {
                        id
                    } else {
                        format!("{id}-{i}")
                    };
                    seen_ids.insert(id.clone());
                    let instance = instance.filter(|x| seen_instances.insert(x.clone()));
                    MemberSpec {
                        id,
                        instance_id: instance,
                        topics: subs
                            .iter()
                            .enumerate()
                            .filter(|(_, s)| **s)
                            .map(|(t, _)| t as u32)
                            .collect(),
                        ..Default::default()
                    }
                })
                .collect();
            GroupSpec { topics, members }
        })
}

/// Kafka's RangeAssignor, transcribed loop for loop (no racks).
fn reference_range(g: &GroupSpec) -> Assignment {
    let mut out = Assignment::empty(g.members.len());
    for (t, topic) in g.topics.iter().enumerate() {
        let mut subs: Vec<usize> = (0..g.members.len())
            .filter(|&m| g.members[m].subscribes(t as u32))
            .collect();
        subs.sort_by(|&a, &b| kafka_member_order(&g.members[a], &g.members[b]));
        if subs.is_empty() {
            continue;
        }
        let n = topic.partitions as usize / subs.len();
        let extra = topic.partitions as usize % subs.len();
        for (i, &m) in subs.iter().enumerate() {
            let start = n * i + i.min(extra);
            let len = n + usize::from(i < extra);
            for p in start..start + len {
                out.per_member[m].push(TopicPartition::new(t as u32, p as u32));
            }
        }
    }
    out.normalize()
}

/// Kafka's RoundRobinAssignor with its circular iterator and linear skip.
fn reference_roundrobin(g: &GroupSpec) -> Assignment {
    let mut out = Assignment::empty(g.members.len());
    let mut order: Vec<usize> = (0..g.members.len()).collect();
    order.sort_by(|&a, &b| kafka_member_order(&g.members[a], &g.members[b]));
    let mut it = 0;
    for (t, topic) in g.topics.iter().enumerate() {
        if !g.members.iter().any(|m| m.subscribes(t as u32)) {
            continue;
        }
        for p in 0..topic.partitions {
            while !g.members[order[it % order.len()]].subscribes(t as u32) {
                it += 1;
            }
            out.per_member[order[it % order.len()]].push(TopicPartition::new(t as u32, p));
            it += 1;
        }
    }
    out.normalize()
}

fn check_all(
    assignor: &dyn Assignor,
    reference: fn(&GroupSpec) -> Assignment,
    g: &GroupSpec,
    seed: u64,
) -> Result<(), TestCaseError> {
    let a = assignor.assign(g);
    prop_assert_eq!(check_assignment_validity(g, &a), None);
    prop_assert_eq!(check_promise(assignor.promise(), g, &a), None);
    prop_assert_eq!(&by_member(g, &a), &by_member(g, &reference(g)));
    // Same result whatever order the members come in.
    let shuffled = shuffled(g, seed);
    prop_assert_eq!(
        by_member(g, &a),
        by_member(&shuffled, &assignor.assign(&shuffled))
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("tests/proptest-regressions/assign_props.txt"))),
        ..ProptestConfig::with_cases(512)
    })]

    #[test]
    fn range_is_valid_balanced_per_topic_and_matches_kafka(g in group(), seed in any::<u64>()) {
        check_all(&RangeAssignor, reference_range, &g, seed)?;
    }

    #[test]
    fn roundrobin_is_valid_and_matches_kafka(g in group(), seed in any::<u64>()) {
        check_all(&RoundRobinAssignor, reference_roundrobin, &g, seed)?;
    }
}
