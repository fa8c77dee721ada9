//! The reconciliation engine of the KIP-848 consumer group, as Kafka's
//! `CurrentAssignmentBuilder` (group-coordinator, `modern.consumer`)
//! computes it: given a member's current assignment and the target the
//! group's assignor computed for it, the next state of the member. A pure
//! function, table-tested below in the style of Kafka's
//! `CurrentAssignmentBuilderTest`.

use crate::assign::TopicPartition;

/// Where a member is in its reconciliation (`modern.MemberState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReconcileState {
    /// The member has its target assignment at the group's assignment
    /// epoch (or nothing is left it could get yet).
    Stable,
    /// The member must give up `pending_revocation` first; it stays at its
    /// epoch until a heartbeat shows it no longer owns any of them.
    UnrevokedPartitions,
    /// The member is at the target epoch but waits for partitions that
    /// other members still hold (or still have to revoke).
    UnreleasedPartitions,
}

impl ReconcileState {
    /// Kafka's name.
    pub fn name(self) -> &'static str {
        match self {
            ReconcileState::Stable => "STABLE",
            ReconcileState::UnrevokedPartitions => "UNREVOKED_PARTITIONS",
            ReconcileState::UnreleasedPartitions => "UNRELEASED_PARTITIONS",
        }
    }
}

/// A member's current assignment as the coordinator keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentAssignment {
    /// Reconciliation state.
    pub state: ReconcileState,
    /// Member epoch.
    pub epoch: i32,
    /// The epoch before the last bump (a heartbeat at this epoch is still
    /// accepted when it owns a subset of `assigned`: a lost response).
    pub previous_epoch: i32,
    /// Partitions the member may consume, sorted.
    pub assigned: Vec<TopicPartition>,
    /// Partitions it must revoke, sorted.
    pub pending_revocation: Vec<TopicPartition>,
}

impl CurrentAssignment {
    /// A member that just joined: epoch 0, nothing assigned.
    pub fn new_member() -> Self {
        CurrentAssignment {
            state: ReconcileState::Stable,
            epoch: 0,
            previous_epoch: 0,
            assigned: Vec::new(),
            pending_revocation: Vec::new(),
        }
    }

    fn with_epoch(&self, epoch: i32) -> (i32, i32) {
        // ConsumerGroupMember.Builder.updateMemberEpoch: the previous epoch
        // is the one replaced.
        (epoch, self.epoch)
    }
}

/// `CurrentAssignmentBuilder.build`: the member's next state towards
/// `target` at `target_epoch`. `owned` is what the member's heartbeat
/// reported (None: not sent, counts as still owning everything);
/// `held(tp)` is true when some member — this one included — holds `tp`
/// or has it pending revocation (Kafka's `currentPartitionEpoch != -1`).
pub fn reconcile(
    member: &CurrentAssignment,
    target_epoch: i32,
    target: &[TopicPartition],
    owned: Option<&[TopicPartition]>,
    held: &dyn Fn(TopicPartition) -> bool,
) -> CurrentAssignment {
    debug_assert!(target.windows(2).all(|w| w[0] < w[1]), "target sorted");
    match member.state {
        ReconcileState::Stable if member.epoch == target_epoch => member.clone(),
        ReconcileState::Stable | ReconcileState::UnreleasedPartitions => {
            next_assignment(member, member.epoch, target_epoch, target, owned, held)
        }
        ReconcileState::UnrevokedPartitions => {
            if owns_any(owned, &member.pending_revocation) {
                return member.clone();
            }
            next_assignment(member, member.epoch + 1, target_epoch, target, owned, held)
        }
    }
}

/// `ownsRevokedPartitions`: a heartbeat without owned partitions counts as
/// owning them all.
fn owns_any(owned: Option<&[TopicPartition]>, revoking: &[TopicPartition]) -> bool {
    match owned {
        None => true,
        Some(owned) => owned.iter().any(|tp| revoking.binary_search(tp).is_ok()),
    }
}

/// `computeNextAssignment`.
fn next_assignment(
    member: &CurrentAssignment,
    epoch_if_revoking: i32,
    target_epoch: i32,
    target: &[TopicPartition],
    owned: Option<&[TopicPartition]>,
    held: &dyn Fn(TopicPartition) -> bool,
) -> CurrentAssignment {
    let current = &member.assigned;
    // Kept = current ∩ target; revoking = current − kept.
    let (kept, revoking): (Vec<TopicPartition>, Vec<TopicPartition>) = current
        .iter()
        .partition(|tp| target.binary_search(tp).is_ok());
    // To assign = target − kept − partitions someone still holds.
    let mut unreleased = false;
    let mut to_assign = Vec::new();
    for &tp in target {
        if kept.binary_search(&tp).is_ok() {
            continue;
        }
        if held(tp) {
            unreleased = true;
        } else {
            to_assign.push(tp);
        }
    }
    if !revoking.is_empty() && owns_any(owned, &revoking) {
        let (epoch, previous_epoch) = member.with_epoch(epoch_if_revoking);
        return CurrentAssignment {
            state: ReconcileState::UnrevokedPartitions,
            epoch,
            previous_epoch,
            assigned: kept,
            pending_revocation: revoking,
        };
    }
    let mut assigned = kept;
    assigned.extend(to_assign);
    assigned.sort_unstable();
    let (epoch, previous_epoch) = member.with_epoch(target_epoch);
    CurrentAssignment {
        state: if unreleased {
            ReconcileState::UnreleasedPartitions
        } else {
            ReconcileState::Stable
        },
        epoch,
        previous_epoch,
        assigned,
        pending_revocation: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::ReconcileState::*;
    use super::*;

    fn tps(list: &[(u32, u32)]) -> Vec<TopicPartition> {
        let mut v: Vec<TopicPartition> = list
            .iter()
            .map(|&(t, p)| TopicPartition::new(t, p))
            .collect();
        v.sort_unstable();
        v
    }

    fn member(
        state: ReconcileState,
        epoch: i32,
        assigned: &[(u32, u32)],
        pending: &[(u32, u32)],
    ) -> CurrentAssignment {
        CurrentAssignment {
            state,
            epoch,
            previous_epoch: epoch - 1,
            assigned: tps(assigned),
            pending_revocation: tps(pending),
        }
    }

    /// (state, epoch, assigned, pending revocation).
    type Expected = (
        ReconcileState,
        i32,
        &'static [(u32, u32)],
        &'static [(u32, u32)],
    );

    struct Case {
        name: &'static str,
        current: CurrentAssignment,
        target_epoch: i32,
        target: &'static [(u32, u32)],
        /// None: the heartbeat did not report owned partitions.
        owned: Option<&'static [(u32, u32)]>,
        /// Partitions held by other members (or pending their revocation).
        held_elsewhere: &'static [(u32, u32)],
        /// (state, epoch, assigned, pending revocation)
        expect: Expected,
    }

    /// The cases of Kafka's `CurrentAssignmentBuilderTest`, one row each:
    /// current assignment, target, what others hold → next state.
    #[test]
    fn reconciliation_table() {
        let cases = [
            Case {
                name: "StableToStable",
                current: member(Stable, 10, &[(0, 1), (0, 2), (1, 4)], &[]),
                target_epoch: 11,
                target: &[(0, 1), (0, 2), (1, 4)],
                owned: None,
                held_elsewhere: &[],
                expect: (Stable, 11, &[(0, 1), (0, 2), (1, 4)], &[]),
            },
            Case {
                name: "StableToStableWithNewPartitions",
                current: member(Stable, 10, &[(0, 1), (0, 2)], &[]),
                target_epoch: 11,
                target: &[(0, 1), (0, 2), (0, 3)],
                owned: Some(&[(0, 1), (0, 2)]),
                held_elsewhere: &[],
                expect: (Stable, 11, &[(0, 1), (0, 2), (0, 3)], &[]),
            },
            Case {
                name: "StableToUnrevokedPartitions",
                current: member(Stable, 10, &[(0, 1), (0, 2), (1, 4), (1, 5)], &[]),
                target_epoch: 11,
                target: &[(0, 2), (0, 3), (1, 5), (1, 6)],
                owned: None,
                held_elsewhere: &[],
                expect: (
                    UnrevokedPartitions,
                    10,
                    &[(0, 2), (1, 5)],
                    &[(0, 1), (1, 4)],
                ),
            },
            Case {
                name: "StableToUnreleasedPartitions",
                current: member(Stable, 10, &[(0, 1), (0, 2)], &[]),
                target_epoch: 11,
                target: &[(0, 1), (0, 2), (0, 3)],
                owned: None,
                held_elsewhere: &[(0, 3)],
                expect: (UnreleasedPartitions, 11, &[(0, 1), (0, 2)], &[]),
            },
            Case {
                name: "StableToUnreleasedPartitionsWithOwnedPartitionsNotHavingRevokedPartitions",
                current: member(Stable, 10, &[(0, 1), (0, 2)], &[]),
                target_epoch: 11,
                target: &[(0, 2), (0, 3)],
                // The member already dropped 0-1 itself.
                owned: Some(&[(0, 2)]),
                held_elsewhere: &[(0, 3)],
                expect: (UnreleasedPartitions, 11, &[(0, 2)], &[]),
            },
            Case {
                name: "UnrevokedPartitionsToStable",
                current: member(
                    UnrevokedPartitions,
                    10,
                    &[(0, 2), (1, 5)],
                    &[(0, 1), (1, 4)],
                ),
                target_epoch: 11,
                target: &[(0, 2), (0, 3), (1, 5), (1, 6)],
                owned: Some(&[(0, 2), (1, 5)]),
                held_elsewhere: &[],
                expect: (Stable, 11, &[(0, 2), (0, 3), (1, 5), (1, 6)], &[]),
            },
            Case {
                name: "RemainsInUnrevokedPartitions (owned not sent)",
                current: member(
                    UnrevokedPartitions,
                    10,
                    &[(0, 2), (1, 5)],
                    &[(0, 1), (1, 4)],
                ),
                target_epoch: 12,
                target: &[(0, 3), (1, 6)],
                owned: None,
                held_elsewhere: &[],
                expect: (
                    UnrevokedPartitions,
                    10,
                    &[(0, 2), (1, 5)],
                    &[(0, 1), (1, 4)],
                ),
            },
            Case {
                name: "RemainsInUnrevokedPartitions (still owns one)",
                current: member(
                    UnrevokedPartitions,
                    10,
                    &[(0, 2), (1, 5)],
                    &[(0, 1), (1, 4)],
                ),
                target_epoch: 12,
                target: &[(0, 3), (1, 6)],
                owned: Some(&[(0, 1), (0, 2), (1, 5)]),
                held_elsewhere: &[],
                expect: (
                    UnrevokedPartitions,
                    10,
                    &[(0, 2), (1, 5)],
                    &[(0, 1), (1, 4)],
                ),
            },
            Case {
                name: "UnrevokedPartitionsToUnrevokedPartitions",
                current: member(
                    UnrevokedPartitions,
                    10,
                    &[(0, 2), (0, 3), (1, 5), (1, 6)],
                    &[(0, 1), (1, 4)],
                ),
                target_epoch: 12,
                target: &[(0, 3), (1, 6)],
                owned: Some(&[(0, 2), (0, 3), (1, 5), (1, 6)]),
                held_elsewhere: &[],
                expect: (
                    UnrevokedPartitions,
                    11,
                    &[(0, 3), (1, 6)],
                    &[(0, 2), (1, 5)],
                ),
            },
            Case {
                name: "UnrevokedPartitionsToUnreleasedPartitions",
                current: member(
                    UnrevokedPartitions,
                    11,
                    &[(0, 2), (0, 3), (1, 5), (1, 6)],
                    &[(0, 1), (1, 4)],
                ),
                target_epoch: 11,
                target: &[(0, 2), (0, 3), (0, 4), (1, 5), (1, 6), (1, 7)],
                owned: Some(&[(0, 2), (0, 3), (1, 5), (1, 6)]),
                held_elsewhere: &[(0, 4), (1, 7)],
                expect: (
                    UnreleasedPartitions,
                    11,
                    &[(0, 2), (0, 3), (1, 5), (1, 6)],
                    &[],
                ),
            },
            Case {
                name: "UnreleasedPartitionsToStable",
                current: member(
                    UnreleasedPartitions,
                    11,
                    &[(0, 2), (0, 3), (1, 5), (1, 6)],
                    &[],
                ),
                target_epoch: 12,
                target: &[(0, 2), (0, 3), (1, 5), (1, 6)],
                owned: Some(&[(0, 2), (0, 3), (1, 5), (1, 6)]),
                held_elsewhere: &[],
                expect: (Stable, 12, &[(0, 2), (0, 3), (1, 5), (1, 6)], &[]),
            },
            Case {
                name: "UnreleasedPartitionsToStableWithNewPartitions",
                current: member(
                    UnreleasedPartitions,
                    11,
                    &[(0, 2), (0, 3), (1, 5), (1, 6)],
                    &[],
                ),
                target_epoch: 11,
                target: &[(0, 2), (0, 3), (0, 4), (1, 5), (1, 6), (1, 7)],
                owned: Some(&[(0, 2), (0, 3), (1, 5), (1, 6)]),
                held_elsewhere: &[],
                expect: (
                    Stable,
                    11,
                    &[(0, 2), (0, 3), (0, 4), (1, 5), (1, 6), (1, 7)],
                    &[],
                ),
            },
            Case {
                name: "UnreleasedPartitionsToUnreleasedPartitions",
                current: member(
                    UnreleasedPartitions,
                    11,
                    &[(0, 2), (0, 3), (1, 5), (1, 6)],
                    &[],
                ),
                target_epoch: 11,
                target: &[(0, 2), (0, 3), (0, 4), (1, 5), (1, 6), (1, 7)],
                owned: Some(&[(0, 2), (0, 3), (1, 5), (1, 6)]),
                held_elsewhere: &[(0, 4), (1, 7)],
                expect: (
                    UnreleasedPartitions,
                    11,
                    &[(0, 2), (0, 3), (1, 5), (1, 6)],
                    &[],
                ),
            },
            Case {
                name: "UnreleasedPartitionsToUnrevokedPartitions",
                current: member(
                    UnreleasedPartitions,
                    11,
                    &[(0, 2), (0, 3), (1, 5), (1, 6)],
                    &[],
                ),
                target_epoch: 12,
                target: &[(0, 3), (0, 4), (1, 6), (1, 7)],
                owned: Some(&[(0, 2), (0, 3), (1, 5), (1, 6)]),
                held_elsewhere: &[],
                expect: (
                    UnrevokedPartitions,
                    11,
                    &[(0, 3), (1, 6)],
                    &[(0, 2), (1, 5)],
                ),
            },
            Case {
                name: "NewMemberGetsOnlyFreePartitions",
                current: CurrentAssignment::new_member(),
                target_epoch: 3,
                target: &[(0, 0), (0, 1)],
                owned: Some(&[]),
                held_elsewhere: &[(0, 1)],
                expect: (UnreleasedPartitions, 3, &[(0, 0)], &[]),
            },
        ];
        for case in cases {
            let held_elsewhere = tps(case.held_elsewhere);
            let own_current: Vec<TopicPartition> = case
                .current
                .assigned
                .iter()
                .chain(&case.current.pending_revocation)
                .copied()
                .collect();
            // Partition epochs cover this member's partitions too.
            let held = |tp: TopicPartition| {
                held_elsewhere.binary_search(&tp).is_ok() || own_current.contains(&tp)
            };
            let owned = case.owned.map(tps);
            let next = reconcile(
                &case.current,
                case.target_epoch,
                &tps(case.target),
                owned.as_deref(),
                &held,
            );
            let (state, epoch, assigned, pending) = case.expect;
            assert_eq!(next.state, state, "{}: state", case.name);
            assert_eq!(next.epoch, epoch, "{}: epoch", case.name);
            assert_eq!(next.assigned, tps(assigned), "{}: assigned", case.name);
            assert_eq!(
                next.pending_revocation,
                tps(pending),
                "{}: pending",
                case.name
            );
        }
    }

    #[test]
    fn stable_at_the_target_epoch_stays_as_it_is() {
        let m = member(Stable, 7, &[(0, 0)], &[]);
        let next = reconcile(&m, 7, &tps(&[(0, 0), (0, 1)]), None, &|_| false);
        assert_eq!(next, m);
    }

    #[test]
    fn the_previous_epoch_is_the_one_replaced() {
        let m = member(Stable, 7, &[(0, 0)], &[]);
        let next = reconcile(&m, 9, &tps(&[(0, 0)]), None, &|_| false);
        assert_eq!((next.epoch, next.previous_epoch), (9, 7));
    }
}
