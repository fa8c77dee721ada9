//! The balance an assignor promises (invariant 6 of the design).

use super::{Assignment, GroupSpec};

/// What balance an assignor guarantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalancePromise {
    /// No promise (custom assignors).
    None,
    /// Per topic, subscribers' counts differ by at most one (range).
    PerTopic,
    /// When all members subscribe to the same topics, members' total counts
    /// differ by at most one (roundrobin).
    TotalWhenSubscriptionsEqual,
    /// Kafka's notion of balance for any subscriptions (sticky family,
    /// uniform): counts within one with equal subscriptions, and otherwise
    /// no member could take a partition of a topic it subscribes to from a
    /// member holding at least two more partitions.
    KafkaBalanced,
}

/// Checks `assignment` against `promise`; returns a description of the
/// first broken promise. Balance is only defined for an assignment that
/// fits the group ([`GroupSpec::fits`]); for any other this returns `None`
/// (invariant 1 reports it).
pub fn check_promise(
    promise: BalancePromise,
    group: &GroupSpec,
    assignment: &Assignment,
) -> Option<String> {
    if !group.fits(assignment) {
        return None;
    }
    match promise {
        BalancePromise::None => None,
        BalancePromise::PerTopic => {
            let mut counts = vec![Vec::new(); group.topics.len()];
            for (m, member) in group.members.iter().enumerate() {
                for &t in member.topics.iter() {
                    let n = assignment.per_member[m]
                        .iter()
                        .filter(|tp| tp.topic == t)
                        .count();
                    counts[t as usize].push((n, m));
                }
            }
            counts.iter().enumerate().find_map(|(t, c)| {
                let min = c.iter().min()?;
                let max = c.iter().max()?;
                (max.0 > min.0 + 1).then(|| {
                    format!(
                        "topic {}: member {} has {} partitions but member {} has {}",
                        group.topics[t].name,
                        group.members[max.1].id,
                        max.0,
                        group.members[min.1].id,
                        min.0
                    )
                })
            })
        }
        BalancePromise::KafkaBalanced => check_promise(
            BalancePromise::TotalWhenSubscriptionsEqual,
            group,
            assignment,
        )
        .or_else(|| kafka_balance_violation(group, assignment)),
        BalancePromise::TotalWhenSubscriptionsEqual => {
            let first = group.members.first()?;
            if group.members.iter().any(|m| m.topics != first.topics) {
                return None;
            }
            let counts: Vec<(usize, usize)> = assignment
                .per_member
                .iter()
                .enumerate()
                .map(|(m, v)| (v.len(), m))
                .collect();
            let min = counts.iter().min()?;
            let max = counts.iter().max()?;
            (max.0 > min.0 + 1).then(|| {
                format!(
                    "member {} has {} partitions but member {} has {} (equal subscriptions)",
                    group.members[max.1].id, max.0, group.members[min.1].id, min.0
                )
            })
        }
    }
}

/// Kafka's balance check (`isBalanced` of the sticky assignors): a member
/// with at least two fewer partitions than another must not subscribe to
/// any topic of which that other member holds a partition. `None` for an
/// assignment that does not fit the group ([`GroupSpec::fits`]).
pub fn kafka_balance_violation(group: &GroupSpec, assignment: &Assignment) -> Option<String> {
    if !group.fits(assignment) {
        return None;
    }
    let n = group.members.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&m| assignment.per_member[m].len());
    // For each topic, the largest count among members holding one of its partitions.
    let mut holder: Vec<(usize, usize)> = vec![(0, usize::MAX); group.topics.len()];
    for (m, parts) in assignment.per_member.iter().enumerate() {
        for tp in parts {
            let h = &mut holder[tp.topic as usize];
            if parts.len() > h.0 || h.1 == usize::MAX {
                *h = (parts.len(), m);
            }
        }
    }
    for &m in &order {
        let size = assignment.per_member[m].len();
        for &t in group.members[m].topics.iter() {
            let (big, other) = holder[t as usize];
            if other != usize::MAX && big >= size + 2 {
                return Some(format!(
                    "member {} has {size} partitions and subscribes to {}, but member {} holds {big} including one of that topic",
                    group.members[m].id, group.topics[t as usize].name, group.members[other].id
                ));
            }
        }
    }
    None
}
