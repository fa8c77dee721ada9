//! Invariant 2 (design §4): no two members that the coordinator considers
//! current process the same partition at the same time. A fenced zombie's
//! processing (a member the coordinator removed or replaced) is not a
//! violation: it is measured as zombie records and partition-seconds.
//!
//! Fed each processed batch range with whether its consumer was a current
//! member when the batch ended; per partition, the latest-ending batch of
//! a current member is kept, and an overlapping batch of another current
//! member is a violation.

use crate::sim::Time;

/// Who processed a partition last, and over which span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    consumer: usize,
    since: Time,
    until: Time,
}

/// Checks invariant 2.
#[derive(Debug, Default)]
pub struct ExclusiveCheck {
    last: Vec<Option<Span>>,
}

impl ExclusiveCheck {
    /// A checker for `partitions` partitions.
    pub fn new(partitions: usize) -> Self {
        ExclusiveCheck {
            last: vec![None; partitions],
        }
    }

    /// Consumer `consumer`, a current member, processed partition `p`
    /// from `since` to `until`; the violation if another current member
    /// was processing it meanwhile. `name(c)` names consumers.
    pub fn processed(
        &mut self,
        consumer: usize,
        p: usize,
        since: Time,
        until: Time,
        name: &dyn Fn(usize) -> String,
        partition: &dyn Fn(usize) -> String,
    ) -> Option<String> {
        let slot = self.last.get_mut(p)?;
        let found = match *slot {
            Some(prev) if prev.consumer != consumer && since < prev.until && prev.since < until => {
                Some(format!(
                    "{} was processed by {} ({}..{}) and {} ({}..{}) at the same time, both current members",
                    partition(p),
                    name(prev.consumer),
                    prev.since,
                    prev.until,
                    name(consumer),
                    since,
                    until
                ))
            }
            _ => None,
        };
        if slot.is_none_or(|prev| until >= prev.until) {
            *slot = Some(Span {
                consumer,
                since,
                until,
            });
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Time {
        Time(ms * 1000)
    }

    /// (consumer, since ms, until ms) batches of one partition in the order
    /// they are reported → whether each is a violation.
    /// (name, batches as (consumer, since ms, until ms), expected).
    type Case = (&'static str, Vec<(usize, u64, u64)>, Vec<bool>);

    #[test]
    fn overlapping_batches_of_two_current_members_trip_it() {
        let cases: Vec<Case> = vec![
            (
                "one member",
                vec![(0, 0, 10), (0, 10, 20)],
                vec![false, false],
            ),
            (
                "a hand-over",
                vec![(0, 0, 10), (1, 12, 20)],
                vec![false, false],
            ),
            (
                "planted: overlap",
                vec![(0, 0, 10), (1, 5, 15)],
                vec![false, true],
            ),
            (
                "planted: a long batch reported last",
                vec![(1, 5, 6), (0, 0, 10)],
                vec![false, true],
            ),
        ];
        for (name, batches, expected) in cases {
            let mut c = ExclusiveCheck::new(1);
            let found: Vec<bool> = batches
                .iter()
                .map(|&(consumer, a, b)| {
                    c.processed(consumer, 0, t(a), t(b), &|c| format!("c{c}"), &|_| {
                        "t-0".into()
                    })
                    .is_some()
                })
                .collect();
            assert_eq!(found, expected, "{name}");
        }
    }
}
