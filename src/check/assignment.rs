//! Invariant 1 (design §4): every assignment the group hands out gives each
//! partition to at most one member, only to a subscriber; once settled,
//! every subscribed partition is assigned.
//!
//! Observed on [`Fact::AssignmentComputed`]: the leader's result must also
//! have one list per member and name only partitions that exist, since a
//! custom assignor can return anything. A cooperative assignor (KIP-429)
//! may leave a partition unassigned while a member still owns it (it moves
//! in the next round), and must not hand a partition to a member while
//! another one still owns it (`ConsumerCoordinator.validateCooperativeAssignment`).

use super::{InvariantCheck, KafkaDefect};
use crate::assign::{Assignment, GroupSpec, TopicPartition};
use crate::events::Fact;
use std::collections::BTreeMap;

/// Checks invariant 1 on every assignment the leader computes.
#[derive(Debug, Default)]
pub struct AssignmentCheck {
    /// Set when the last violation found is one Kafka commits itself.
    defect: Option<KafkaDefect>,
}

impl InvariantCheck for AssignmentCheck {
    fn invariant(&self) -> u8 {
        1
    }

    fn observe(
        &mut self,
        fact: &Fact,
        _partition_name: &dyn Fn(usize) -> String,
    ) -> Option<String> {
        let Fact::AssignmentComputed {
            generation,
            group,
            assignment,
            cooperative,
            protocol,
            ..
        } = fact
        else {
            return None;
        };
        self.defect = None;
        if *cooperative {
            let found = check_cooperative_validity(group, assignment);
            return found.map(|m| format!("generation {generation}: {m}"));
        }
        let invalid = validity(group, assignment, false)?;
        if invalid.returned_claim && protocol == "sticky" {
            let defect = KafkaDefect::StickyReturnsUnsubscribedPartition;
            self.defect = Some(defect);
            return Some(format!(
                "generation {generation}: {} (as Kafka's StickyAssignor does: kafka defect {})",
                invalid.message,
                defect.id()
            ));
        }
        Some(format!("generation {generation}: {}", invalid.message))
    }

    fn take_kafka_defect(&mut self) -> Option<KafkaDefect> {
        self.defect.take()
    }
}

/// Why an assignment breaks invariant 1.
struct Invalid {
    message: String,
    /// The problem is a partition of a topic its member does not
    /// subscribe to, which that member itself claimed in its subscription
    /// (user data) from an older generation than the group's newest.
    returned_claim: bool,
}

impl Invalid {
    fn new(message: String) -> Self {
        Invalid {
            message,
            returned_claim: false,
        }
    }
}

/// Invariant 1 on one assignment: each partition at most once, only to a
/// subscriber of its topic, and every partition of a subscribed topic
/// assigned.
pub fn check_assignment_validity(group: &GroupSpec, assignment: &Assignment) -> Option<String> {
    validity(group, assignment, false).map(|i| i.message)
}

/// Invariant 1 on a cooperative assignment: as
/// [`check_assignment_validity`], except that a partition some member still
/// owns may stay unassigned this round; and no partition may be added to a
/// member while it is revoked from another (Kafka's
/// `validateCooperativeAssignment`).
pub fn check_cooperative_validity(group: &GroupSpec, assignment: &Assignment) -> Option<String> {
    if let Some(invalid) = validity(group, assignment, true) {
        return Some(invalid.message);
    }
    let mut assigned_to: BTreeMap<TopicPartition, usize> = BTreeMap::new();
    for (m, parts) in assignment.per_member.iter().enumerate() {
        for &tp in parts {
            assigned_to.insert(tp, m);
        }
    }
    // Revoked: owned by a member that does not keep it.
    for (y, member) in group.members.iter().enumerate() {
        for &tp in &member.owned {
            match assigned_to.get(&tp) {
                Some(&x) if x != y && !group.members[x].owned.contains(&tp) => {
                    return Some(format!(
                        "{} is handed to {} while {} still owns it (it must be revoked first)",
                        group.tp_name(tp),
                        group.members[x].id,
                        member.id
                    ));
                }
                _ => {}
            }
        }
    }
    None
}

fn validity(group: &GroupSpec, assignment: &Assignment, cooperative: bool) -> Option<Invalid> {
    if assignment.per_member.len() != group.members.len() {
        return Some(Invalid::new(format!(
            "the assignor returned {} member lists for {} members",
            assignment.per_member.len(),
            group.members.len()
        )));
    }
    let offsets: Vec<usize> = group
        .partition_bases()
        .into_iter()
        .map(|b| b as usize)
        .collect();
    let mut owner: Vec<Option<usize>> = vec![None; group.total_partitions() as usize];
    for (m, parts) in assignment.per_member.iter().enumerate() {
        let member = &group.members[m];
        for &tp in parts {
            let Some(topic) = group.topics.get(tp.topic as usize) else {
                return Some(Invalid::new(format!(
                    "member {} got partition {} of topic id {}, which does not exist ({} topics)",
                    member.id,
                    tp.partition,
                    tp.topic,
                    group.topics.len()
                )));
            };
            if tp.partition >= topic.partitions {
                return Some(Invalid::new(format!(
                    "member {} got {}, which does not exist",
                    member.id,
                    group.tp_name(tp)
                )));
            }
            if !member.subscribes(tp.topic) {
                // A generation of `None` counts as -1 (DEFAULT_GENERATION).
                let generation = |m: &crate::assign::MemberSpec| m.generation.unwrap_or(-1);
                let newest = group.members.iter().map(generation).max();
                return Some(Invalid {
                    message: format!(
                        "member {} got {} but does not subscribe to {}",
                        member.id,
                        group.tp_name(tp),
                        topic.name
                    ),
                    returned_claim: member.owned.contains(&tp) && Some(generation(member)) < newest,
                });
            }
            let slot = &mut owner[offsets[tp.topic as usize] + tp.partition as usize];
            if let Some(other) = slot.replace(m) {
                if other == m {
                    return Some(Invalid::new(format!(
                        "{} is listed twice for member {}",
                        group.tp_name(tp),
                        member.id
                    )));
                }
                return Some(Invalid::new(format!(
                    "{} is assigned to both {} and {}",
                    group.tp_name(tp),
                    group.members[other].id,
                    member.id
                )));
            }
        }
    }
    let subscribed: Vec<bool> = (0..group.topics.len() as u32)
        .map(|t| group.members.iter().any(|m| m.subscribes(t)))
        .collect();
    for (t, topic) in group.topics.iter().enumerate() {
        if !subscribed[t] {
            continue;
        }
        let still_owned = |p: u32| {
            cooperative
                && group
                    .members
                    .iter()
                    .any(|m| m.owned.contains(&TopicPartition::new(t as u32, p)))
        };
        if let Some(p) = (0..topic.partitions)
            .find(|&p| owner[offsets[t] + p as usize].is_none() && !still_owned(p))
        {
            return Some(Invalid::new(format!(
                "{}-{p} is subscribed but assigned to nobody",
                topic.name
            )));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::TopicPartition;
    use crate::check::fixtures::{Lists, computed, feed, group};

    #[test]
    fn planted_bugs_trip_it_and_valid_assignments_do_not() {
        // a subscribes to t, b to t and u; nobody to v, which stays unassigned.
        let g = group(
            &[("t", 4), ("u", 2), ("v", 1)],
            &[("a", &["t"]), ("b", &["t", "u"])],
        );
        let t = |p| TopicPartition::new(0, p);
        let u = |p| TopicPartition::new(1, p);
        let b = vec![t(2), t(3), u(0), u(1)];
        let cases: Vec<(&str, Lists, Option<&str>)> = vec![
            ("valid", vec![vec![t(0), t(1)], b.clone()], None),
            (
                "a partition given twice",
                vec![vec![t(0), t(1), t(2)], b.clone()],
                Some("generation 1: t-2 is assigned to both a and b"),
            ),
            (
                "a partition listed twice for one member",
                vec![vec![t(0), t(0), t(1)], b.clone()],
                Some("generation 1: t-0 is listed twice for member a"),
            ),
            (
                "an unsubscribed partition",
                vec![vec![t(0), t(1), u(0)], vec![t(2), t(3), u(1)]],
                Some("generation 1: member a got u-0 but does not subscribe to u"),
            ),
            (
                "an unassigned partition",
                vec![vec![t(0), t(1)], vec![t(2), t(3), u(0)]],
                Some("generation 1: u-1 is subscribed but assigned to nobody"),
            ),
            (
                "a partition that does not exist",
                vec![vec![t(0), t(1), t(9)], b.clone()],
                Some("generation 1: member a got t-9, which does not exist"),
            ),
            (
                "a topic that does not exist",
                vec![vec![t(0), t(1), TopicPartition::new(5, 0)], b.clone()],
                Some(
                    "generation 1: member a got partition 0 of topic id 5, which does not exist (3 topics)",
                ),
            ),
            (
                "a member list missing",
                vec![b.clone()],
                Some("generation 1: the assignor returned 1 member lists for 2 members"),
            ),
        ];
        for (name, per_member, expected) in cases {
            let found = feed(&mut AssignmentCheck::default(), &[computed(&g, per_member)]);
            let expected: Vec<String> = expected.into_iter().map(String::from).collect();
            assert_eq!(found, expected, "{name}");
        }
    }

    /// The eager sticky assignor's known defect is named as Kafka's, and
    /// only when its conditions all hold: assignor `sticky`, the member
    /// claimed the partition itself, from an older generation.
    #[test]
    fn a_returned_claim_of_the_sticky_assignor_is_named_as_kafkas_defect() {
        let mut g = group(
            &[("a", 2), ("b", 2)],
            &[("c1", &["a", "b"]), ("c2", &["b"])],
        );
        let a = |p| TopicPartition::new(0, p);
        let b = |p| TopicPartition::new(1, p);
        g.members[0].owned = vec![a(0), b(0), b(1)];
        g.members[0].generation = Some(2);
        g.members[1].owned = vec![a(1)];
        g.members[1].generation = Some(1);
        let lists = vec![vec![a(0), b(0), b(1)], vec![a(1)]];
        let by = |g: &GroupSpec, name: &str| {
            let mut fact = computed(g, lists.clone());
            if let Fact::AssignmentComputed { protocol, .. } = &mut fact {
                *protocol = name.into();
            }
            fact
        };
        let plain = "generation 1: member c2 got a-1 but does not subscribe to a";
        let named = format!(
            "{plain} (as Kafka's StickyAssignor does: kafka defect sticky-returns-unsubscribed-partition)"
        );
        let mut check = AssignmentCheck::default();
        assert_eq!(feed(&mut check, &[by(&g, "sticky")]), vec![named]);
        assert_eq!(
            check.take_kafka_defect(),
            Some(KafkaDefect::StickyReturnsUnsubscribedPartition)
        );
        assert_eq!(check.take_kafka_defect(), None, "asked once");
        // Any other assignor: a plain violation.
        let mut check = AssignmentCheck::default();
        assert_eq!(feed(&mut check, &[by(&g, "range")]), vec![plain]);
        assert_eq!(check.take_kafka_defect(), None);
        // Not the member's own claim, or a claim of the newest generation.
        let mut not_claimed = g.clone();
        not_claimed.members[1].owned.clear();
        let mut newest = g.clone();
        newest.members[1].generation = Some(2);
        for other in [not_claimed, newest] {
            let mut check = AssignmentCheck::default();
            assert_eq!(feed(&mut check, &[by(&other, "sticky")]), vec![plain]);
            assert_eq!(check.take_kafka_defect(), None);
        }
    }

    #[test]
    fn other_facts_are_not_its_business() {
        let fact = Fact::CommitStored {
            partition: 0,
            offset: 3,
            member: "a".into(),
        };
        assert_eq!(
            feed(&mut AssignmentCheck::default(), &[fact]),
            Vec::<String>::new()
        );
    }
}
