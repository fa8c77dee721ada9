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
    /// The latest assignment received, not yet reconciled.
    pub target: Option<Vec<TopicPartition>>,
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

    /// Back to epoch 0, everything to send again: the member rejoins.
    pub fn rejoin(&mut self) {
        self.epoch = 0;
        self.target = None;
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

    #[test]
    fn a_rejoin_starts_over_at_epoch_zero_with_a_full_request() {
        let mut m = ModernMember::new(Arc::from("c1-0001"));
        m.set_epoch(5);
        m.send_all = false;
        m.target = Some(vec![TopicPartition::new(0, 1)]);
        m.transition(Stable);
        m.transition(Fenced);
        m.rejoin();
        assert_eq!((m.epoch(), m.send_all, m.target.is_none()), (0, true, true));
        assert_eq!(m.state(), Joining);
    }
}
