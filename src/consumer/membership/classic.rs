//! The classic group protocol as the client runs it (eager rebalancing):
//! named member states with one transition function checked against a
//! table of valid predecessors (after Kafka's client `MemberState`), the
//! member id and generation as options, and the decisions of Kafka's
//! `AbstractCoordinator` / `ConsumerCoordinator` on each response.

use crate::assign::TopicPartition;
use crate::coordinator::protocol::MemberId;

/// Where the member is in the classic protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    /// Not in a group: just started, expelled by `max.poll.interval.ms`.
    Unjoined,
    /// onJoinPrepare: the commit before revoking is in flight (its token).
    Committing(u64),
    /// JoinGroup in flight (Kafka's PREPARING_REBALANCE).
    Joining,
    /// SyncGroup in flight (COMPLETING_REBALANCE).
    Syncing,
    /// Cooperative onJoinComplete: the revoke callback's commit of the
    /// partitions given up is in flight (its token).
    Revoking(u64),
    /// Assignment received; OffsetFetch for its positions in flight.
    FetchingOffsets(u64),
    /// Member of the current generation with positions for its partitions.
    Stable,
    /// Graceful close: the final commit is in flight.
    Closing(u64),
}

impl MemberState {
    /// Kafka-style name, for assertions and logs.
    pub fn name(self) -> &'static str {
        match self {
            MemberState::Unjoined => "UNJOINED",
            MemberState::Committing(_) => "COMMITTING_BEFORE_REVOKE",
            MemberState::Revoking(_) => "REVOKING",
            MemberState::Joining => "PREPARING_REBALANCE",
            MemberState::Syncing => "COMPLETING_REBALANCE",
            MemberState::FetchingOffsets(_) => "FETCHING_OFFSETS",
            MemberState::Stable => "STABLE",
            MemberState::Closing(_) => "CLOSING",
        }
    }

    /// Whether `self` may follow `from`.
    pub fn may_follow(self, from: MemberState) -> bool {
        use MemberState::*;
        match self {
            // The heartbeat thread expels a member in any joined state.
            Unjoined => !matches!(from, Unjoined | Joining),
            Committing(_) => matches!(from, Stable),
            // A failed JoinGroup or SyncGroup is retried at once.
            Joining => matches!(from, Unjoined | Committing(_) | Stable | Joining | Syncing),
            Syncing => matches!(from, Joining),
            Revoking(_) => matches!(from, Syncing),
            FetchingOffsets(_) => matches!(from, Syncing | Revoking(_)),
            // SyncGroup answered (AbstractCoordinator sets STABLE before
            // onJoinComplete); straight from Syncing when the assignment
            // is refused for not matching the subscription.
            Stable => matches!(from, FetchingOffsets(_) | Syncing),
            Closing(_) => matches!(from, Stable),
        }
    }

    /// True while the member holds a generation it completed (Kafka's
    /// `generationIfStable() != null` for commits).
    pub fn completed_rebalance(self) -> bool {
        matches!(
            self,
            MemberState::Stable
                | MemberState::FetchingOffsets(_)
                | MemberState::Committing(_)
                | MemberState::Revoking(_)
                | MemberState::Closing(_)
        )
    }

    /// True when the heartbeat thread beats for the member.
    pub fn heartbeats(self) -> bool {
        matches!(
            self,
            MemberState::Syncing
                | MemberState::Revoking(_)
                | MemberState::FetchingOffsets(_)
                | MemberState::Stable
                | MemberState::Committing(_)
        )
    }
}

/// The member's identity and protocol state.
#[derive(Debug, Clone)]
pub struct ClassicMember {
    state: MemberState,
    /// Assigned by the coordinator in a JoinGroup response.
    member_id: Option<MemberId>,
    /// The last member id the coordinator gave, kept when the member drops
    /// it (a leave, a fencing): the coordinator may remove that member
    /// later, and its holder's work is a zombie's from then on.
    last_member_id: Option<MemberId>,
    /// The generation the member belongs to (reset on fencing).
    generation: Option<i32>,
    /// A rebalance is needed: rejoin at the next `poll()`.
    pub rejoin_needed: bool,
    /// The last assignment received and its generation (sticky's user data).
    pub last_assignment: Option<(Vec<TopicPartition>, i32)>,
    /// (member id, generation) the heartbeat in flight was sent with.
    pub heartbeat_sent_for: Option<(MemberId, i32)>,
    /// The leader's view of its group's topics at its assignment: (topic
    /// id, partitions); `None` for a follower.
    pub metadata_snapshot: Option<Vec<(u32, u32)>>,
}

impl ClassicMember {
    /// A new process: not in a group, about to join.
    pub fn new() -> Self {
        ClassicMember {
            state: MemberState::Unjoined,
            member_id: None,
            last_member_id: None,
            generation: None,
            rejoin_needed: true,
            last_assignment: None,
            heartbeat_sent_for: None,
            metadata_snapshot: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> MemberState {
        self.state
    }

    /// Moves to `to`; the table of valid predecessors must allow it.
    pub fn transition(&mut self, to: MemberState) {
        debug_assert!(
            to.may_follow(self.state),
            "member state {} cannot follow {}",
            to.name(),
            self.state.name()
        );
        self.state = to;
    }

    /// The member id, once the coordinator gave one.
    pub fn member_id(&self) -> Option<&MemberId> {
        self.member_id.as_ref()
    }

    /// The member id last given by the coordinator, even if dropped since.
    pub fn last_member_id(&self) -> Option<&MemberId> {
        self.last_member_id.as_ref()
    }

    /// The generation, while the member has one.
    pub fn generation(&self) -> Option<i32> {
        self.generation
    }

    /// Member id and generation as sent on the wire ("" and -1 for none).
    pub fn wire_identity(&self) -> (MemberId, i32) {
        (
            self.member_id.clone().unwrap_or_default(),
            self.generation.unwrap_or(-1),
        )
    }

    /// Both a member id and a generation: the member is in a generation.
    pub fn in_generation(&self) -> bool {
        self.member_id.is_some() && self.generation.is_some()
    }

    /// The JoinGroup response made the member part of `generation` as
    /// `member_id`.
    pub fn joined(&mut self, member_id: MemberId, generation: i32) {
        self.last_member_id = Some(member_id.clone());
        self.member_id = Some(member_id);
        self.generation = Some(generation);
    }

    /// MEMBER_ID_REQUIRED: the coordinator gave an id; no generation yet.
    pub fn member_id_required(&mut self, member_id: MemberId) {
        self.last_member_id = Some(member_id.clone());
        self.member_id = Some(member_id);
        self.generation = None;
    }

    /// Kafka's `resetGenerationOnResponseError` / `resetStateAndRejoin`:
    /// the generation is gone (and the member id with it if asked).
    pub fn reset_generation(&mut self, reset_member_id: bool) {
        self.generation = None;
        if reset_member_id {
            self.member_id = None;
        }
        self.rejoin_needed = true;
    }

    /// True when the member is stable in its generation with nothing to
    /// rejoin for.
    pub fn is_stable(&self) -> bool {
        self.state == MemberState::Stable && !self.rejoin_needed
    }
}

impl Default for ClassicMember {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::MemberState::*;
    use super::*;

    /// (from, to, allowed): the classic member's transitions as a table.
    #[test]
    fn transitions_follow_the_table_of_valid_predecessors() {
        let table = [
            (Unjoined, Joining, true),
            (Unjoined, Syncing, false),
            (Unjoined, Stable, false),
            (Stable, Committing(1), true),
            (Stable, Joining, true),
            (Stable, Closing(1), true),
            (Stable, Unjoined, true),
            (Committing(1), Joining, true),
            (Committing(1), Unjoined, true),
            (Committing(1), Stable, false),
            (Joining, Syncing, true),
            (Joining, Joining, true),
            (Joining, Unjoined, false),
            (Joining, Stable, false),
            (Syncing, FetchingOffsets(2), true),
            (Syncing, Joining, true),
            // An assignment that does not match the subscription.
            (Syncing, Stable, true),
            (FetchingOffsets(2), Stable, true),
            (FetchingOffsets(2), Unjoined, true),
            (FetchingOffsets(2), Joining, false),
            (Syncing, Revoking(3), true),
            (Revoking(3), FetchingOffsets(4), true),
            (Revoking(3), Unjoined, true),
            (Stable, Revoking(3), false),
            (Closing(1), Unjoined, true),
            (Closing(1), Joining, false),
        ];
        for (from, to, allowed) in table {
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
    fn identity_is_kept_as_options_and_sent_as_kafkas_wire_values() {
        let mut m = ClassicMember::new();
        assert_eq!(m.wire_identity(), (MemberId::default(), -1));
        assert!(!m.in_generation());
        m.joined("c1-1".into(), 3);
        assert_eq!(m.wire_identity(), (MemberId::from("c1-1"), 3));
        m.reset_generation(false);
        assert_eq!(
            (m.member_id().map(MemberId::as_str), m.generation()),
            (Some("c1-1"), None)
        );
        assert!(m.rejoin_needed);
        m.reset_generation(true);
        assert_eq!(m.member_id(), None);
    }
}
