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
    /// differ by at most one (roundrobin, sticky, uniform).
    TotalWhenSubscriptionsEqual,
}

/// Checks `assignment` against `promise`; returns a description of the
/// first broken promise.
pub fn check_promise(
    promise: BalancePromise,
    group: &GroupSpec,
    assignment: &Assignment,
) -> Option<String> {
    match promise {
        BalancePromise::None => None,
        BalancePromise::PerTopic => {
            let mut counts = vec![Vec::new(); group.topics.len()];
            for (m, member) in group.members.iter().enumerate() {
                for &t in &member.topics {
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
