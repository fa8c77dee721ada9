//! Invariants (design §4), each checked as the run goes:
//! 1. every assignment gives each partition to at most one member, only to
//!    subscribers, and (eager) assigns every subscribed partition;
//! 3. committed offsets never go backwards;
//! 4. under at-least-once settings no record is lost;
//! 5. after the last fault the group converges within a bound;
//! 6. the assignor keeps its balance promise.

use crate::assign::{Assignment, BalancePromise, GroupSpec, check_promise};
use crate::events::Fact;
use crate::sim::Time;
use serde::Serialize;

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// When it was detected (ms).
    pub time_ms: u64,
    /// Invariant number, as in the design.
    pub invariant: u8,
    /// What went wrong.
    pub message: String,
}

/// Watches facts and reports violations.
#[derive(Debug)]
pub struct Checker {
    promise: BalancePromise,
    committed: Vec<Option<u64>>,
    violations: Vec<Violation>,
}

/// Most violations kept in full; later ones are only counted.
const MAX_KEPT: usize = 100;

impl Checker {
    /// A checker for `partitions` partitions and an assignor promising `promise`.
    pub fn new(partitions: usize, promise: BalancePromise) -> Self {
        Checker {
            promise,
            committed: vec![None; partitions],
            violations: Vec::new(),
        }
    }

    /// Looks at one fact; returns the violations it reveals.
    pub fn observe(
        &mut self,
        now: Time,
        fact: &Fact,
        partition_name: impl Fn(usize) -> String,
    ) -> Vec<Fact> {
        let mut found = Vec::new();
        match fact {
            Fact::AssignmentComputed {
                generation,
                group,
                assignment,
                ..
            } => {
                if let Some(m) = check_assignment_validity(group, assignment) {
                    found.push((1, format!("generation {generation}: {m}")));
                }
                if let Some(m) = check_promise(self.promise, group, assignment) {
                    found.push((
                        6,
                        format!("generation {generation}: balance promise broken: {m}"),
                    ));
                }
            }
            Fact::CommitStored {
                partition,
                offset,
                member,
            } => {
                let previous = self.committed[*partition].replace(*offset);
                if let Some(prev) = previous.filter(|&p| p > *offset) {
                    found.push((
                        3,
                        format!(
                            "committed offset of {} went back from {prev} to {offset} (commit by {})",
                            partition_name(*partition),
                            if member.is_empty() { "a non-member" } else { member }
                        ),
                    ));
                }
            }
            _ => {}
        }
        found
            .into_iter()
            .map(|(invariant, message)| self.record(now, invariant, message))
            .collect()
    }

    /// Records a violation found elsewhere (end-of-run checks).
    pub fn record(&mut self, now: Time, invariant: u8, message: String) -> Fact {
        if self.violations.len() < MAX_KEPT {
            self.violations.push(Violation {
                time_ms: now.millis(),
                invariant,
                message: message.clone(),
            });
        }
        Fact::Violation { invariant, message }
    }

    /// Violations so far (the first [`MAX_KEPT`]).
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }
}

/// Invariant 1 on one assignment: each partition at most once, only to a
/// subscriber of its topic, and every partition of a subscribed topic
/// assigned.
pub fn check_assignment_validity(group: &GroupSpec, assignment: &Assignment) -> Option<String> {
    if assignment.per_member.len() != group.members.len() {
        return Some(format!(
            "the assignor returned {} member lists for {} members",
            assignment.per_member.len(),
            group.members.len()
        ));
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
                return Some(format!(
                    "member {} got partition {} of topic id {}, which does not exist ({} topics)",
                    member.id,
                    tp.partition,
                    tp.topic,
                    group.topics.len()
                ));
            };
            if tp.partition >= topic.partitions {
                return Some(format!(
                    "member {} got {}, which does not exist",
                    member.id,
                    group.tp_name(tp)
                ));
            }
            if !member.subscribes(tp.topic) {
                return Some(format!(
                    "member {} got {} but does not subscribe to {}",
                    member.id,
                    group.tp_name(tp),
                    topic.name
                ));
            }
            let slot = &mut owner[offsets[tp.topic as usize] + tp.partition as usize];
            if let Some(other) = slot.replace(m) {
                if other == m {
                    return Some(format!(
                        "{} is listed twice for member {}",
                        group.tp_name(tp),
                        member.id
                    ));
                }
                return Some(format!(
                    "{} is assigned to both {} and {}",
                    group.tp_name(tp),
                    group.members[other].id,
                    member.id
                ));
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
        if let Some(p) = (0..topic.partitions).find(|&p| owner[offsets[t] + p as usize].is_none()) {
            return Some(format!(
                "{}-{p} is subscribed but assigned to nobody",
                topic.name
            ));
        }
    }
    None
}
