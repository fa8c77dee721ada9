//! Membership: the member record, validation (`ClassicGroup.validateMember`),
//! removal and the leader chosen after it, heartbeats and their expiry
//! (session timeout, the new-member join timeout, pending members), and
//! LeaveGroup.

use super::hash_order::Slot;
use super::{ClassicCoordinator, CoordinatorTimer};
use crate::assign::{MemberSpec, TopicPartition};
use crate::coordinator::CoordinatorOutbox;
use crate::coordinator::protocol::{Endpoint, GroupError, JoinRequest, MemberId, Response};
use crate::events::{Fact, GroupState};
use crate::sim::{Duration, Time};

/// A member of the group (`ClassicGroupMember`).
#[derive(Debug, Clone)]
pub(super) struct Member {
    /// Where its parked JoinGroup or SyncGroup is answered.
    pub(super) endpoint: Endpoint,
    pub(super) instance_id: Option<String>,
    /// The subscription it last joined with (`id` is the member id).
    pub(super) metadata: MemberSpec,
    /// The assignors it supports, in order of preference (the JoinGroup
    /// protocols).
    pub(super) protocols: Vec<String>,
    pub(super) session_timeout: Duration,
    pub(super) rebalance_timeout: Duration,
    /// A JoinGroup is parked (`isAwaitingJoin`).
    pub(super) awaiting_join: bool,
    /// A SyncGroup is parked (`isAwaitingSync`).
    pub(super) awaiting_sync: bool,
    /// Added in the current rebalance (`isNew`): its heartbeat deadline is
    /// the new-member join timeout, and being parked does not keep it.
    pub(super) is_new: bool,
    pub(super) assignment: Vec<TopicPartition>,
    /// Its place in `ClassicGroup.members` iteration order.
    pub(super) slot: Slot,
}

/// Equality of what the consumer serialises in its JoinGroup protocol
/// (`ConsumerCoordinator.metadata`: topics, user data, owned partitions,
/// generation, rack); member and instance ids are not part of it. The
/// sticky assignors' user data (last assignment and its generation)
/// travels in `owned` and `generation` here.
fn same_subscription(a: &MemberSpec, b: &MemberSpec) -> bool {
    a.topics == b.topics
        && a.owned == b.owned
        && a.generation.unwrap_or(-1) == b.generation.unwrap_or(-1)
        && a.rack == b.rack
}

impl Member {
    /// `ClassicGroupMember.matches`: the request's protocols equal the
    /// member's, name and metadata bytes (the whole subscription).
    pub(super) fn matches(&self, req: &JoinRequest) -> bool {
        self.protocols == req.protocols && same_subscription(&self.metadata, &req.metadata)
    }

    /// `ClassicGroup.updateMember`: the new protocols and timeouts; the
    /// join future (parking) is the caller's.
    pub(super) fn update(&mut self, from: Endpoint, id: &str, req: JoinRequest) {
        self.endpoint = from;
        self.metadata = MemberSpec {
            id: id.to_string(),
            ..req.metadata
        };
        self.protocols = req.protocols;
        self.session_timeout = req.session_timeout;
        self.rebalance_timeout = req.rebalance_timeout;
    }

    /// `ClassicGroupMember.hasSatisfiedHeartbeat`.
    fn has_satisfied_heartbeat(&self) -> bool {
        !self.is_new && (self.awaiting_join || self.awaiting_sync)
    }
}

/// One heartbeat key of Kafka's timer: the deadline it was last
/// rescheduled to, and the time of the one queued timer event that checks
/// it (rescheduling later does not queue another; earlier does).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct HeartbeatTimer {
    deadline: Option<Time>,
    armed_at: Option<Time>,
}

impl ClassicCoordinator {
    /// `ClassicGroup.validateMember`: the instance id first (unknown →
    /// UNKNOWN_MEMBER_ID, mapped to another member → FENCED_INSTANCE_ID),
    /// then the member id.
    pub(super) fn validate_member(
        &self,
        id: &MemberId,
        instance: Option<&str>,
    ) -> Result<(), GroupError> {
        if let Some(instance) = instance {
            match self.static_ids.get(instance) {
                None => return Err(GroupError::UnknownMemberId),
                Some(existing) if existing != id => return Err(GroupError::FencedInstanceId),
                Some(_) => {}
            }
        }
        if self.members.contains_key(id) {
            Ok(())
        } else {
            Err(GroupError::UnknownMemberId)
        }
    }

    /// ILLEGAL_GENERATION unless `generation` is the group's.
    pub(super) fn check_generation(&self, generation: i32) -> Result<(), GroupError> {
        if generation == self.generation {
            Ok(())
        } else {
            Err(GroupError::IllegalGeneration)
        }
    }

    /// Parks (or releases) a member's JoinGroup in the join phase.
    pub(super) fn mark_join(&mut self, id: &MemberId, awaiting: bool) {
        if let Some(m) = self.members.get_mut(id) {
            if m.awaiting_join != awaiting {
                m.awaiting_join = awaiting;
                if awaiting {
                    self.awaiting_join += 1;
                } else {
                    self.awaiting_join -= 1;
                }
            }
        }
    }

    /// `ClassicGroup.hasAllMembersJoined`: every member parked in the join
    /// and no pending member still to come.
    pub(super) fn all_members_joined(&self) -> bool {
        debug_assert_eq!(
            self.awaiting_join,
            self.members.values().filter(|m| m.awaiting_join).count(),
            "the count of parked JoinGroups follows the members"
        );
        self.awaiting_join == self.members.len() && self.pending.is_empty()
    }

    /// The first member, in `ClassicGroup.members` iteration order, that
    /// `keep` accepts.
    pub(super) fn first_in_map_order(&self, keep: impl Fn(&Member) -> bool) -> Option<MemberId> {
        self.members
            .iter()
            .filter(|(_, m)| keep(m))
            .min_by_key(|(_, m)| self.order.rank(m.slot))
            .map(|(id, _)| id.clone())
    }

    /// `ClassicGroup.maybeElectNewJoinedLeader`: keeps a leader that
    /// rejoined, else takes the first member awaiting join in map order;
    /// false when there is no leader or nobody rejoined.
    pub(super) fn elect_joined_leader(&mut self) -> bool {
        let Some(leader) = &self.leader else {
            return false;
        };
        if self.members.get(leader).is_some_and(|m| m.awaiting_join) {
            return true;
        }
        match self.first_in_map_order(|m| m.awaiting_join) {
            Some(id) => {
                self.leader = Some(id);
                true
            }
            None => false,
        }
    }

    /// `ClassicGroup.remove` (and the cancelled heartbeat): a removed
    /// leader is succeeded by the first remaining member in map order.
    pub(super) fn remove_member(
        &mut self,
        id: &MemberId,
        reason: &'static str,
        out: &mut CoordinatorOutbox,
    ) -> Option<Member> {
        let m = self.members.remove(id)?;
        self.recount_protocols(&m.protocols, &[]);
        self.order.remove(m.slot);
        if m.awaiting_join {
            self.awaiting_join -= 1;
        }
        if let Some(i) = &m.instance_id {
            self.static_ids.remove(i);
        }
        self.pending_sync.remove(id);
        self.heartbeats.remove(id);
        if self.leader.as_deref() == Some(id) {
            self.leader = self.first_in_map_order(|_| true);
        }
        out.facts.push(Fact::MemberRemoved {
            member: id.to_string(),
            reason,
        });
        Some(m)
    }

    /// `GMM.rescheduleClassicGroupMemberHeartbeat`: the member's
    /// heartbeat deadline is `timeout` from now.
    pub(super) fn reschedule_heartbeat(
        &mut self,
        now: Time,
        id: &MemberId,
        timeout: Duration,
        out: &mut CoordinatorOutbox,
    ) {
        let at = now + timeout;
        let timer = match self.heartbeats.get_mut(id) {
            Some(t) => t,
            None => self.heartbeats.entry(id.clone()).or_default(),
        };
        timer.deadline = Some(at);
        if timer.armed_at.is_none_or(|armed| at < armed) {
            timer.armed_at = Some(at);
            out.timers
                .push((at, CoordinatorTimer::SessionCheck { member: id.clone() }));
        }
    }

    /// A heartbeat timer fired: `GMM.expireClassicGroupMemberHeartbeat`
    /// once the deadline has really passed.
    pub(super) fn on_session_timer(
        &mut self,
        now: Time,
        id: &MemberId,
        out: &mut CoordinatorOutbox,
    ) {
        let Some(timer) = self.heartbeats.get_mut(id) else {
            return;
        };
        if timer.armed_at != Some(now) {
            return; // superseded by an earlier check
        }
        timer.armed_at = None;
        match timer.deadline {
            None => return,
            Some(deadline) if deadline > now => {
                timer.armed_at = Some(deadline);
                out.timers.push((
                    deadline,
                    CoordinatorTimer::SessionCheck { member: id.clone() },
                ));
                return;
            }
            Some(_) => timer.deadline = None,
        }
        if self.pending.remove(id) {
            // GMM.removePendingMemberAndUpdateClassicGroup.
            self.heartbeats.remove(id);
            out.facts.push(Fact::PendingMemberRemoved {
                member: id.to_string(),
                reason: "did not rejoin with its member id within the session timeout",
            });
            if self.state == GroupState::PreparingRebalance && self.all_members_joined() {
                self.complete_join(now, out);
            }
            return;
        }
        let Some(m) = self.members.get(id) else {
            self.heartbeats.remove(id);
            return;
        };
        if m.has_satisfied_heartbeat() {
            // Parked in a join or sync: kept, and Kafka schedules no new
            // deadline (completing the join or the sync does).
            return;
        }
        self.expire_member(now, id, out);
    }

    /// `GMM.removeMemberAndUpdateClassicGroup` on heartbeat expiry.
    fn expire_member(&mut self, now: Time, id: &MemberId, out: &mut CoordinatorOutbox) {
        let Some(m) = self.members.get(id) else {
            return;
        };
        let reason = if m.is_new {
            "new member join timeout: no generation formed within 5 minutes of its JoinGroup"
        } else {
            out.facts.push(Fact::SessionExpired {
                member: id.to_string(),
            });
            "session timeout"
        };
        if m.awaiting_join {
            // A new member timing out in a join retries with a fresh id.
            out.responses
                .push((m.endpoint, Response::Join(Err(GroupError::UnknownMemberId))));
        }
        self.remove_member(id, reason, out);
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => self
                .maybe_prepare_rebalance_or_complete_join(
                    now,
                    format!("member {id} session expired"),
                    out,
                ),
            // Directly, not through maybeCompleteJoinPhase: this completes
            // an initial rebalance too.
            GroupState::PreparingRebalance if self.all_members_joined() => {
                self.complete_join(now, out)
            }
            _ => {}
        }
    }

    /// `GMM.classicGroupHeartbeatToClassicGroup`. Validation errors are
    /// thrown in Kafka and answered at once; the other results are those
    /// of a write operation without records, sent after pending writes.
    pub(super) fn handle_heartbeat(
        &mut self,
        now: Time,
        from: Endpoint,
        id: &MemberId,
        instance: Option<&str>,
        generation: i32,
        out: &mut CoordinatorOutbox,
    ) {
        let valid = self
            .validate_member(id, instance)
            .and(self.check_generation(generation));
        if let Err(e) = valid {
            out.responses.push((from, Response::Heartbeat(Err(e))));
            return;
        }
        let result = match self.state {
            GroupState::Empty => Err(GroupError::UnknownMemberId),
            GroupState::PreparingRebalance | GroupState::Assigning | GroupState::Reconciling => {
                Err(GroupError::RebalanceInProgress)
            }
            GroupState::CompletingRebalance | GroupState::Stable => Ok(()),
        };
        let timeout = self.members.get(id).map(|m| m.session_timeout);
        if let (Some(timeout), false) = (timeout, self.state == GroupState::Empty) {
            self.reschedule_heartbeat(now, id, timeout, out);
        }
        self.respond_after_writes(now, from, Response::Heartbeat(result), out);
    }

    /// `GMM.classicGroupLeaveToClassicGroup` for one member id (the
    /// simulated consumers leave one at a time, never by instance id).
    pub(super) fn handle_leave(&mut self, now: Time, id: &MemberId, out: &mut CoordinatorOutbox) {
        if self.pending.remove(id) {
            self.heartbeats.remove(id);
            out.facts.push(Fact::PendingMemberRemoved {
                member: id.to_string(),
                reason: "left the group",
            });
        } else if self.validate_member(id, None).is_ok() {
            // GMM.removeCurrentMemberFromClassicGroup.
            if let Some(m) = self.members.get(id).filter(|m| m.awaiting_join) {
                out.responses
                    .push((m.endpoint, Response::Join(Err(GroupError::UnknownMemberId))));
            }
            self.remove_member(id, "left the group", out);
        } else {
            return;
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.maybe_prepare_rebalance_or_complete_join(now, format!("member {id} left"), out)
            }
            GroupState::PreparingRebalance | GroupState::Assigning | GroupState::Reconciling => {
                self.maybe_complete_join_phase(now, out)
            }
            GroupState::Empty => {}
        }
    }

    /// What the log tells a static member replacing another in Stable.
    pub(super) fn static_join_stored(&mut self, id: &MemberId, out: &mut CoordinatorOutbox) {
        let Some(m) = self.members.get(id) else {
            return;
        };
        if !m.awaiting_join {
            return; // a rebalance answered it already
        }
        let is_leader = self.leader.as_ref() == Some(id);
        if is_leader && self.state == GroupState::PreparingRebalance {
            // Kafka's callback cannot list the members now
            // (currentClassicGroupMembers refuses PreparingRebalance): the
            // JoinGroup stays parked for the rebalance under way.
            return;
        }
        let endpoint = m.endpoint;
        let result = crate::coordinator::protocol::JoinResult {
            member_id: id.clone(),
            generation: self.generation,
            leader: self.leader.clone(),
            members: is_leader.then(|| self.member_specs()),
            // KIP-814: a returning static leader must not reassign.
            skip_assignment: is_leader,
            protocol: self.protocol.clone().unwrap_or_default(),
        };
        self.mark_join(id, false);
        out.responses.push((endpoint, Response::Join(Ok(result))));
        // The replacement's record is what a new coordinator loads.
        self.write_record();
    }
}
