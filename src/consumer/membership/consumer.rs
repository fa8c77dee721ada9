//! The KIP-848 consumer protocol as the client runs it (Kafka's
//! `AbstractMembershipManager` / `ConsumerMembershipManager` and the
//! `ConsumerHeartbeatRequestManager`'s request state): named member states
//! with a table of valid predecessors, the member id the client generated
//! (KIP-1082) and its epoch, the last assignment received, and what the
//! next heartbeat must carry.

use crate::assign::TopicPartition;
use std::sync::Arc;

/// Where the member is (`MemberState` of the Kafka client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModernState {
    /// Sending the full heartbeat with epoch 0 and waiting for the answer.
    Joining,
    /// An assignment was received and waits for the application's next
    /// `poll()` to be reconciled.
    Reconciling,
    /// Before revoking: the auto-commit of everything consumed is in
    /// flight (its token).
    CommittingBeforeRevoke(u64),
    /// Reconciled: the acknowledging heartbeat (with the owned
    /// partitions) is to be sent.
    Acknowledging,
    /// In the group with nothing to reconcile.
    Stable,
    /// FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID: the partitions are lost at
    /// the next `poll()`, then the member rejoins with epoch 0.
    Fenced,
    /// `max.poll.interval.ms` expired: the member left (partitions lost)
    /// and rejoins at the next `poll()`.
    Stale,
    /// Graceful close: the commit before leaving is in flight (its token).
    Closing(u64),
}

impl ModernState {
    /// Kafka-style name.
    pub fn name(self) -> &'static str {
        match self {
            ModernState::Joining => "JOINING",
            ModernState::Reconciling => "RECONCILING",
            ModernState::CommittingBeforeRevoke(_) => "RECONCILING (commit before revoke)",
            ModernState::Acknowledging => "ACKNOWLEDGING",
            ModernState::Stable => "STABLE",
            ModernState::Fenced => "FENCED",
            ModernState::Stale => "STALE",
            ModernState::Closing(_) => "PREPARE_LEAVING",
        }
    }

    /// Whether `self` may follow `from` (after the client's
    /// `MemberState.getPreviousValidStates`).
    pub fn may_follow(self, from: ModernState) -> bool {
        use ModernState::*;
        match self {
            Joining => matches!(from, Fenced | Stale | Joining),
            Reconciling => matches!(
                from,
                Joining | Stable | Acknowledging | Reconciling | CommittingBeforeRevoke(_)
            ),
            CommittingBeforeRevoke(_) => matches!(from, Reconciling),
            Acknowledging => matches!(from, Reconciling | CommittingBeforeRevoke(_)),
            Stable => matches!(from, Acknowledging | Joining | Reconciling),
            Fenced => !matches!(from, Stale | Closing(_)),
            Stale => !matches!(from, Closing(_)),
            Closing(_) => !matches!(from, Closing(_)),
        }
    }

    /// True while the member takes part in the group with an epoch.
    pub fn in_group(self) -> bool {
        !matches!(
            self,
            ModernState::Joining | ModernState::Fenced | ModernState::Stale
        )
    }
}

/// The member's identity and protocol state.
#[derive(Debug, Clone)]
pub struct ModernMember {
    state: ModernState,
    member_id: Arc<str>,
    /// Member epoch (0 until the first response).
    epoch: i32,
    /// The latest assignment received, not yet reconciled (Kafka's
    /// `currentTargetAssignment` while it differs from the current one).
    pub target: Option<Vec<TopicPartition>>,
    /// The assignment last reconciled (`currentAssignment`); `None` from
    /// joining until the first reconciliation (`LocalAssignment.NONE`),
    /// which is not the same as an empty assignment.
    pub current: Option<Vec<TopicPartition>>,
    /// The target a reconciliation in progress applies, fixed when it
    /// started (`maybeReconcile`'s resolved assignment): a newer target
    /// received meanwhile waits for the next reconciliation.
    pub reconciling: Option<Vec<TopicPartition>>,
    /// A heartbeat is in flight (one at a time).
    pub in_flight: bool,
    /// The next heartbeat carries every field (joining, after an error).
    pub send_all: bool,
    /// The interval passed (or a beat is urgent) while one was in flight.
    pub due: bool,
    /// The owned partitions last sent (owned partitions go again when
    /// they change).
    pub owned_sent: Option<Vec<TopicPartition>>,
    /// The subscription last sent (it goes again when it changes).
    pub subscription_sent: Option<crate::assign::Subscription>,
    /// `group.consumer.heartbeat.interval.ms` as the broker gave it.
    pub interval: Option<crate::sim::Duration>,
}

impl ModernMember {
    /// A new process with its client-generated member id, about to join.
    pub fn new(member_id: Arc<str>) -> Self {
        ModernMember {
            state: ModernState::Joining,
            member_id,
            epoch: 0,
            target: None,
            current: None,
            reconciling: None,
            in_flight: false,
            send_all: true,
            due: false,
            owned_sent: None,
            subscription_sent: None,
            interval: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> ModernState {
        self.state
    }

    /// Moves to `to`; the table of valid predecessors must allow it.
    pub fn transition(&mut self, to: ModernState) {
        debug_assert!(
            to.may_follow(self.state),
            "member state {} cannot follow {}",
            to.name(),
            self.state.name()
        );
        self.state = to;
    }

    /// The member id.
    pub fn member_id(&self) -> &Arc<str> {
        &self.member_id
    }

    /// The member epoch.
    pub fn epoch(&self) -> i32 {
        self.epoch
    }

    /// The epoch the coordinator answered with.
    pub fn set_epoch(&mut self, epoch: i32) {
        self.epoch = epoch;
    }

    /// An assignment in a heartbeat response
    /// (`AbstractMembershipManager.processAssignmentReceived`): it
    /// replaces the target unless equal to the latest one received
    /// (`LocalAssignment.updateWith`); a new target, even one equal to what
    /// the member owns, is reconciled (and acknowledged); with nothing to
    /// reconcile a joining or reconciling member is stable. A
    /// reconciliation in progress goes on with the target it started with.
    pub fn receive_assignment(&mut self, assignment: Vec<TopicPartition>) {
        let latest = self.target.as_ref().or(self.current.as_ref());
        if latest != Some(&assignment) || self.current.is_none() {
            self.target = Some(assignment);
        }
        if self.target.is_some() {
            match self.state {
                ModernState::CommittingBeforeRevoke(_) => {}
                _ => self.transition(ModernState::Reconciling),
            }
        } else if matches!(self.state, ModernState::Reconciling | ModernState::Joining) {
            self.transition(ModernState::Stable);
        }
    }

    /// `maybeReconcile` from the application's `poll()`: the target to
    /// reconcile, or `None` when there is none or it only needs an
    /// acknowledgement — the same partitions as the current assignment
    /// (the local epoch is bumped and the member goes ACKNOWLEDGING
    /// without a commit or a callback).
    pub fn begin_reconciliation(&mut self) -> Option<Vec<TopicPartition>> {
        let target = self.target.clone()?;
        if self.current.as_ref() == Some(&target) {
            self.target = None;
            self.transition(ModernState::Acknowledging);
            return None;
        }
        self.reconciling = Some(target.clone());
        Some(target)
    }

    /// The reconciliation in progress is applied: its target becomes the
    /// current assignment, a newer target stays to be reconciled, and the
    /// member acknowledges.
    pub fn complete_reconciliation(&mut self) -> Option<Vec<TopicPartition>> {
        let applied = self.reconciling.take()?;
        if self.target.as_ref() == Some(&applied) {
            self.target = None;
        }
        self.current = Some(applied.clone());
        self.transition(ModernState::Acknowledging);
        Some(applied)
    }

    /// The acknowledging heartbeat went out (`onHeartbeatRequestGenerated`):
    /// stable, or reconciling again when a newer target came meanwhile.
    pub fn acknowledged(&mut self) {
        if self.state == ModernState::Acknowledging {
            let next = if self.target.is_some() {
                ModernState::Reconciling
            } else {
                ModernState::Stable
            };
            self.transition(next);
        }
    }

    /// Back to epoch 0, everything to send again: the member rejoins.
    pub fn rejoin(&mut self) {
        self.epoch = 0;
        self.target = None;
        self.current = None;
        self.reconciling = None;
        self.send_all = true;
        self.owned_sent = None;
        self.subscription_sent = None;
        self.transition(ModernState::Joining);
    }
}

#[cfg(test)]
mod tests {
    use super::ModernState::*;
    use super::*;

    /// (from, to, allowed): the client's transitions as a table.
    #[test]
    fn transitions_follow_the_table_of_valid_predecessors() {
        let cases = [
            (Joining, Reconciling, true),
            (Joining, Stable, true),
            (Stable, Reconciling, true),
            (Reconciling, CommittingBeforeRevoke(1), true),
            (CommittingBeforeRevoke(1), Acknowledging, true),
            (Reconciling, Acknowledging, true),
            (Acknowledging, Stable, true),
            (Acknowledging, Reconciling, true),
            (Stable, Fenced, true),
            (Fenced, Joining, true),
            (Stable, Stale, true),
            (Stale, Joining, true),
            (Stable, Closing(2), true),
            (Stable, Acknowledging, false),
            (Joining, CommittingBeforeRevoke(1), false),
            (Stale, Fenced, false),
            (Closing(2), Stale, false),
            (Stable, Joining, false),
        ];
        for (from, to, allowed) in cases {
            assert_eq!(
                to.may_follow(from),
                allowed,
                "{} -> {}",
                from.name(),
                to.name()
            );
        }
    }

    fn tps(ps: &[u32]) -> Vec<TopicPartition> {
        ps.iter().map(|&p| TopicPartition::new(0, p)).collect()
    }

    /// A member in `state` with `current` reconciled, `target` pending and
    /// `reconciling` in progress.
    fn member(
        state: ModernState,
        current: Option<&[u32]>,
        target: Option<&[u32]>,
        reconciling: Option<&[u32]>,
    ) -> ModernMember {
        let mut m = ModernMember::new(Arc::from("c1-0001"));
        m.state = state;
        m.current = current.map(tps);
        m.target = target.map(tps);
        m.reconciling = reconciling.map(tps);
        m
    }

    /// (state, current, target, in progress, assignment received) →
    /// (next state, target): `processAssignmentReceived` with
    /// `LocalAssignment.updateWith` as a table.
    #[test]
    fn an_assignment_received_replaces_the_target_as_kafka_does() {
        type Row<'a> = (
            ModernState,
            Option<&'a [u32]>,
            Option<&'a [u32]>,
            Option<&'a [u32]>,
            &'a [u32],
            ModernState,
            Option<&'a [u32]>,
        );
        let rows: [Row; 9] = [
            // The first assignment after joining is reconciled, even empty.
            (Joining, None, None, None, &[], Reconciling, Some(&[])),
            (Joining, None, None, None, &[1], Reconciling, Some(&[1])),
            // The assignment already reconciled: nothing to do.
            (Stable, Some(&[1]), None, None, &[1], Stable, None),
            (
                Acknowledging,
                Some(&[1]),
                None,
                None,
                &[1],
                Acknowledging,
                None,
            ),
            // A new one: reconciling.
            (
                Stable,
                Some(&[1]),
                None,
                None,
                &[1, 2],
                Reconciling,
                Some(&[1, 2]),
            ),
            (
                Acknowledging,
                Some(&[1]),
                None,
                None,
                &[2],
                Reconciling,
                Some(&[2]),
            ),
            // A newer target replaces one not yet reconciled, even when it
            // is what the member owns (it is then only acknowledged).
            (
                Reconciling,
                Some(&[1]),
                Some(&[2]),
                None,
                &[1],
                Reconciling,
                Some(&[1]),
            ),
            // The same target again: unchanged.
            (
                Reconciling,
                Some(&[1]),
                Some(&[2]),
                None,
                &[2],
                Reconciling,
                Some(&[2]),
            ),
            // During a reconciliation in progress the newer target waits.
            (
                CommittingBeforeRevoke(7),
                Some(&[1]),
                Some(&[2]),
                Some(&[2]),
                &[1],
                CommittingBeforeRevoke(7),
                Some(&[1]),
            ),
        ];
        for (state, current, target, reconciling, received, next, next_target) in rows {
            let mut m = member(state, current, target, reconciling);
            m.receive_assignment(tps(received));
            assert_eq!(
                (m.state(), m.target.clone()),
                (next, next_target.map(tps)),
                "{} current {current:?} target {target:?} receives {received:?}",
                state.name()
            );
            assert_eq!(m.reconciling, reconciling.map(tps), "in progress kept");
        }
    }

    /// A target equal to the current assignment is acknowledged without a
    /// reconciliation (`maybeReconcile`: bump the local epoch, ACKNOWLEDGING).
    #[test]
    fn a_target_equal_to_the_current_assignment_is_only_acknowledged() {
        let mut m = member(Reconciling, Some(&[1]), Some(&[1]), None);
        assert_eq!(m.begin_reconciliation(), None);
        assert_eq!((m.state(), m.target.is_none()), (Acknowledging, true));
        m.acknowledged();
        assert_eq!(m.state(), Stable);
        // After joining, the current assignment is NONE: even an empty
        // target is reconciled (the assign callback runs).
        let mut joined = member(Reconciling, None, Some(&[]), None);
        assert_eq!(joined.begin_reconciliation(), Some(vec![]));
        assert_eq!(joined.reconciling, Some(vec![]));
    }

    /// A reconciliation in progress applies the target it started with;
    /// a newer one received meanwhile is reconciled after the
    /// acknowledgement (`onHeartbeatRequestGenerated`).
    #[test]
    fn a_newer_target_is_reconciled_after_the_one_in_progress() {
        let mut m = member(Reconciling, Some(&[1]), Some(&[2]), None);
        assert_eq!(m.begin_reconciliation(), Some(tps(&[2])));
        m.transition(CommittingBeforeRevoke(3));
        m.receive_assignment(tps(&[1, 3]));
        assert_eq!(m.complete_reconciliation(), Some(tps(&[2])));
        assert_eq!(m.current, Some(tps(&[2])));
        assert_eq!(m.state(), Acknowledging);
        m.acknowledged();
        assert_eq!(m.state(), Reconciling);
        assert_eq!(m.begin_reconciliation(), Some(tps(&[1, 3])));
        assert_eq!(m.complete_reconciliation(), Some(tps(&[1, 3])));
        assert_eq!(m.target, None);
        m.acknowledged();
        assert_eq!(m.state(), Stable);
    }

    #[test]
    fn a_rejoin_starts_over_at_epoch_zero_with_a_full_request() {
        let mut m = ModernMember::new(Arc::from("c1-0001"));
        m.set_epoch(5);
        m.send_all = false;
        m.target = Some(vec![TopicPartition::new(0, 1)]);
        m.current = Some(vec![]);
        m.reconciling = Some(vec![]);
        m.transition(Stable);
        m.transition(Fenced);
        m.rejoin();
        assert_eq!((m.epoch(), m.send_all, m.target.is_none()), (0, true, true));
        assert_eq!((m.current.is_none(), m.reconciling.is_none()), (true, true));
        assert_eq!(m.state(), Joining);
    }
}
