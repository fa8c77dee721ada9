//! Invariant 3 (design §4): committed offsets never go backwards (except
//! explicit seeks).
//!
//! Observed on [`Fact::CommitStored`]: each stored commit is compared with
//! the one stored before it for the same partition. The simulated consumers
//! never seek, so there is no exception to allow yet.

use super::InvariantCheck;
use crate::events::Fact;

/// Checks invariant 3: the last committed offset of every partition.
#[derive(Debug)]
pub struct CommittedCheck {
    committed: Vec<Option<u64>>,
}

impl CommittedCheck {
    /// A checker for `partitions` partitions (dense indices), none committed.
    pub fn new(partitions: usize) -> Self {
        CommittedCheck {
            committed: vec![None; partitions],
        }
    }
}

impl InvariantCheck for CommittedCheck {
    fn invariant(&self) -> u8 {
        3
    }

    fn observe(&mut self, fact: &Fact, partition_name: &dyn Fn(usize) -> String) -> Option<String> {
        let Fact::CommitStored {
            partition,
            offset,
            member,
        } = fact
        else {
            return None;
        };
        debug_assert!(
            *partition < self.committed.len(),
            "commit for partition {partition} of {}",
            self.committed.len()
        );
        // Compared with the last stored commit, even one that went back:
        // each step back is reported once.
        let previous = self.committed[*partition].replace(*offset);
        let prev = previous.filter(|&p| p > *offset)?;
        Some(format!(
            "committed offset of {} went back from {prev} to {offset} (commit by {})",
            partition_name(*partition),
            if member.is_empty() {
                "a non-member"
            } else {
                member
            }
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::fixtures::feed;

    fn commit(partition: usize, offset: u64, member: &str) -> Fact {
        Fact::CommitStored {
            partition,
            offset,
            member: member.into(),
        }
    }

    #[test]
    fn a_commit_going_back_trips_it_and_forward_commits_do_not() {
        let cases: Vec<(&str, Vec<Fact>, Vec<&str>)> = vec![
            (
                "forward, and the same offset again",
                vec![commit(0, 5, "a"), commit(0, 9, "a"), commit(0, 9, "b")],
                vec![],
            ),
            (
                "partitions are independent",
                vec![commit(0, 9, "a"), commit(1, 2, "b")],
                vec![],
            ),
            (
                "a commit going back",
                vec![commit(1, 10, "a"), commit(1, 4, "b")],
                vec!["committed offset of p1 went back from 10 to 4 (commit by b)"],
            ),
            (
                "by a non-member, then forward from the lower offset",
                vec![commit(0, 10, "a"), commit(0, 4, ""), commit(0, 7, "a")],
                vec!["committed offset of p0 went back from 10 to 4 (commit by a non-member)"],
            ),
            (
                "each step back",
                vec![commit(0, 10, "a"), commit(0, 8, "a"), commit(0, 3, "a")],
                vec![
                    "committed offset of p0 went back from 10 to 8 (commit by a)",
                    "committed offset of p0 went back from 8 to 3 (commit by a)",
                ],
            ),
        ];
        for (name, facts, expected) in cases {
            let found = feed(&mut CommittedCheck::new(2), &facts);
            assert_eq!(found, expected, "{name}");
        }
    }
}
