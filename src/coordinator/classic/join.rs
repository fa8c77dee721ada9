//! JoinGroup and the join phase: new members (MEMBER_ID_REQUIRED for
//! dynamic ones), pending members, rejoining members, static
//! replacements, preparing a rebalance (with the delayed initial join)
//! and completing it into a new generation.

use super::append::Deferred;
use super::members::Member;
use super::{ClassicCoordinator, CoordinatorTimer, NEW_MEMBER_JOIN_TIMEOUT};
use crate::coordinator::CoordinatorOutbox;
use crate::coordinator::protocol::{
    Endpoint, GroupError, JoinRequest, JoinResult, MemberId, Response,
};
use crate::events::{Fact, GroupState};
use crate::sim::{Duration, Time};

impl ClassicCoordinator {
    /// `GMM.classicGroupJoinToClassicGroup`.
    pub(super) fn handle_join(
        &mut self,
        now: Time,
        from: Endpoint,
        req: JoinRequest,
        out: &mut CoordinatorOutbox,
    ) {
        if !self.supports_protocols(&req.protocols) {
            // GMM.classicGroupJoinToClassicGroup: ClassicGroup.supportsProtocols
            // fails the join.
            out.responses.push((
                from,
                Response::Join(Err(GroupError::InconsistentGroupProtocol)),
            ));
            return;
        }
        if !self.created {
            // The first JoinGroup creates the group, and its (empty)
            // metadata record is written.
            self.created = true;
            self.write(now, None, out);
        }
        if req.member_id.is_empty() {
            self.join_new_member(now, from, req, out);
        } else {
            self.join_existing_member(now, from, req, out);
        }
    }

    /// `GMM.classicGroupJoinNewMember`: a static member replaces its
    /// previous instance or is added; a dynamic one only gets an id
    /// (`classicGroupJoinNewDynamicMember`: every JoinGroup version the
    /// Kafka 4 client sends requires a known member id).
    fn join_new_member(
        &mut self,
        now: Time,
        from: Endpoint,
        req: JoinRequest,
        out: &mut CoordinatorOutbox,
    ) {
        let id = self.new_member_id(&req.client_id, req.instance_id.as_deref());
        if let Some(instance) = req.instance_id.clone() {
            match self.static_ids.get(&instance).cloned() {
                Some(old) => self.replace_static_member(now, from, instance, old, id, req, out),
                None => self.add_member(now, from, id, req, out),
            }
            return;
        }
        // Pending until it rejoins with the id; it counts against
        // completing a join phase, and expires after its session timeout.
        self.pending.insert(id.clone());
        self.reschedule_heartbeat(now, &id, req.session_timeout, out);
        out.facts.push(Fact::MemberIdRequired {
            consumer: from.consumer,
            member: id.to_string(),
        });
        out.responses
            .push((from, Response::MemberIdRequired { member_id: id }));
    }

    /// `GMM.classicGroupJoinExistingMember`.
    fn join_existing_member(
        &mut self,
        now: Time,
        from: Endpoint,
        req: JoinRequest,
        out: &mut CoordinatorOutbox,
    ) {
        let id = req.member_id.clone();
        if self.pending.contains(&id) {
            if req.instance_id.is_some() {
                // Kafka refuses this as an illegal state (a pending member
                // is never static); the simulated consumer never sends it.
                out.responses
                    .push((from, Response::Join(Err(GroupError::UnknownMemberId))));
                return;
            }
            return self.add_member(now, from, id, req, out);
        }
        if let Err(e) = self.validate_member(&id, req.instance_id.as_deref()) {
            out.responses.push((from, Response::Join(Err(e))));
            return;
        }
        let Some(member) = self.members.get(&id) else {
            return;
        };
        let matches = member.matches(&req);
        let is_leader = self.leader.as_deref() == Some(id.as_str());
        match self.state {
            GroupState::PreparingRebalance | GroupState::Assigning | GroupState::Reconciling => {
                // (The KIP-848 states never occur in a classic group.)
                self.update_member_then_rebalance(now, from, &id, req, "rejoined", out)
            }
            // The same metadata again (a lost JoinGroup response, say):
            // the current generation back, leader included.
            GroupState::CompletingRebalance if matches => {
                let result = self.current_generation(&id, is_leader);
                out.responses.push((from, Response::Join(Ok(result))));
            }
            GroupState::CompletingRebalance => {
                self.update_member_then_rebalance(now, from, &id, req, "rejoined", out)
            }
            // A leader's JoinGroup always rebalances (it may have seen a
            // metadata change the others cannot); a follower's unless
            // its whole subscription is unchanged.
            GroupState::Stable if is_leader || !matches => {
                self.update_member_then_rebalance(now, from, &id, req, "rejoined", out)
            }
            GroupState::Stable => {
                let result = self.current_generation(&id, false);
                out.responses.push((from, Response::Join(Ok(result))));
            }
            // Unreachable (an empty group has no member to validate);
            // Kafka answers UNKNOWN_MEMBER_ID.
            GroupState::Empty => out
                .responses
                .push((from, Response::Join(Err(GroupError::UnknownMemberId)))),
        }
    }

    /// The current generation as a JoinGroup response; the member list
    /// only for the leader.
    fn current_generation(&self, id: &MemberId, with_members: bool) -> JoinResult {
        JoinResult {
            member_id: id.clone(),
            generation: self.generation,
            leader: self.leader.clone(),
            members: with_members.then(|| self.member_specs()),
            skip_assignment: false,
            protocol: self.protocol.clone().unwrap_or_default(),
        }
    }

    /// `GMM.updateMemberThenRebalanceOrCompleteJoin`.
    fn update_member_then_rebalance(
        &mut self,
        now: Time,
        from: Endpoint,
        id: &MemberId,
        req: JoinRequest,
        what: &str,
        out: &mut CoordinatorOutbox,
    ) {
        if let Some(m) = self.members.get_mut(id) {
            let before = m.protocols.clone();
            m.update(from, id, req);
            let after = m.protocols.clone();
            self.recount_protocols(&before, &after);
        }
        self.mark_join(id, true);
        self.maybe_prepare_rebalance_or_complete_join(now, format!("member {id} {what}"), out);
    }

    /// `GMM.addMemberThenRebalanceOrCompleteJoin`.
    fn add_member(
        &mut self,
        now: Time,
        from: Endpoint,
        id: MemberId,
        req: JoinRequest,
        out: &mut CoordinatorOutbox,
    ) {
        if self.state == GroupState::PreparingRebalance
            && self.previous_state == Some(GroupState::Empty)
        {
            self.new_member_added = true;
        }
        let slot = self.order.insert(&id);
        let member = Member {
            endpoint: from,
            instance_id: req.instance_id.clone(),
            metadata: crate::assign::MemberSpec {
                id: id.to_string(),
                ..req.metadata
            },
            protocols: req.protocols,
            session_timeout: req.session_timeout,
            rebalance_timeout: req.rebalance_timeout,
            awaiting_join: true,
            awaiting_sync: false,
            is_new: true,
            assignment: Vec::new(),
            slot,
        };
        self.recount_protocols(&[], &member.protocols);
        self.members.insert(id.clone(), member);
        self.awaiting_join += 1;
        self.pending.remove(&id);
        if let Some(i) = &req.instance_id {
            self.static_ids.insert(i.clone(), id.clone());
        }
        // ClassicGroup.add: the first member of a leaderless group leads.
        if self.leader.is_none() {
            self.leader = Some(id.clone());
        }
        out.facts.push(Fact::MemberAdded {
            member: id.to_string(),
            instance: req.instance_id,
        });
        // A parked new member cannot heartbeat, so its JoinGroup expires
        // after the new-member join timeout instead of the session.
        self.reschedule_heartbeat(now, &id, NEW_MEMBER_JOIN_TIMEOUT, out);
        self.maybe_prepare_rebalance_or_complete_join(now, format!("member {id} joined"), out);
    }

    /// `GMM.updateStaticMemberThenRebalanceOrCompleteJoin` with
    /// `ClassicGroup.replaceStaticMember`.
    #[allow(clippy::too_many_arguments)]
    fn replace_static_member(
        &mut self,
        now: Time,
        from: Endpoint,
        instance: String,
        old_id: MemberId,
        new_id: MemberId,
        req: JoinRequest,
        out: &mut CoordinatorOutbox,
    ) {
        let Some(old) = self.members.remove(&old_id) else {
            return;
        };
        self.order.remove(old.slot);
        self.heartbeats.remove(&old_id);
        // The old instance's parked requests are fenced at once.
        if old.awaiting_join {
            self.awaiting_join -= 1;
            out.responses.push((
                old.endpoint,
                Response::Join(Err(GroupError::FencedInstanceId)),
            ));
        }
        if old.awaiting_sync {
            out.responses.push((
                old.endpoint,
                Response::Sync(Err(GroupError::FencedInstanceId)),
            ));
        }
        let session_timeout = old.session_timeout;
        // Everything but the id carries over, the assignment included.
        // The old id stays in the pending-sync set if it was there: Kafka
        // does not move it, so the sync deadline still finds it missing.
        let member = Member {
            slot: self.order.insert(&new_id),
            awaiting_join: false,
            awaiting_sync: false,
            is_new: false,
            ..old
        };
        self.members.insert(new_id.clone(), member);
        self.static_ids.insert(instance.clone(), new_id.clone());
        if self.leader.as_ref() == Some(&old_id) {
            self.leader = Some(new_id.clone());
        }
        out.facts.push(Fact::MemberReplaced {
            instance: instance.clone(),
            old: old_id.to_string(),
            new: new_id.to_string(),
        });
        // Rescheduled with the session timeout it had before this request.
        self.reschedule_heartbeat(now, &new_id, session_timeout, out);
        let old_protocol = self.protocol.clone();
        if let Some(m) = self.members.get_mut(&new_id) {
            let before = m.protocols.clone();
            m.update(from, &new_id, req);
            let after = m.protocols.clone();
            self.recount_protocols(&before, &after);
        }
        self.mark_join(&new_id, true);
        let reason = format!("static member {new_id} replaced a previous instance");
        match self.state {
            GroupState::Stable => {
                if self.select_protocol().is_some() && self.select_protocol() == old_protocol {
                    // KIP-345: no rebalance; the member keeps its
                    // assignment, answered once the new id is stored.
                    self.write(now, Some(Deferred::StaticJoin { member: new_id }), out);
                } else {
                    self.maybe_prepare_rebalance_or_complete_join(now, reason, out);
                }
            }
            // The leader may already hold the old id in its assignment.
            GroupState::CompletingRebalance => self.prepare_rebalance(now, reason, out),
            GroupState::PreparingRebalance
            | GroupState::Empty
            | GroupState::Assigning
            | GroupState::Reconciling => self.maybe_complete_join_phase(now, out),
        }
    }

    /// `ClassicGroup.supportsProtocols`: any protocols start an empty group;
    /// otherwise one must be supported by every member.
    pub(super) fn supports_protocols(&self, protocols: &[String]) -> bool {
        if self.members.is_empty() {
            return !protocols.is_empty();
        }
        protocols.iter().any(|p| self.all_support(p))
    }

    /// True when every member supports `protocol` (counted, as Kafka's
    /// `ClassicGroup.supportedProtocols`, so a join does not scan the group).
    fn all_support(&self, protocol: &str) -> bool {
        self.supported.get(protocol).copied().unwrap_or(0) == self.members.len()
    }

    /// A member's protocols changed from `before` to `after`.
    pub(super) fn recount_protocols(&mut self, before: &[String], after: &[String]) {
        for p in before {
            if let Some(n) = self.supported.get_mut(p) {
                *n -= 1;
                if *n == 0 {
                    self.supported.remove(p);
                }
            }
        }
        for p in after {
            *self.supported.entry(p.clone()).or_default() += 1;
        }
    }

    /// `ClassicGroup.selectProtocol`: each member votes for the first of
    /// its protocols that every member supports; the most votes win, ties
    /// going to the first in Java `HashMap` order of the names (the order
    /// Kafka's stream over its vote map visits them).
    pub(super) fn select_protocol(&self) -> Option<String> {
        debug_assert!(self.supported.values().all(|&n| n <= self.members.len()));
        let candidate = |p: &String| self.all_support(p);
        let mut votes: std::collections::BTreeMap<&str, u32> = Default::default();
        for m in self.members.values() {
            if let Some(p) = m.protocols.iter().find(|p| candidate(p)) {
                *votes.entry(p.as_str()).or_default() += 1;
            }
        }
        let names: Vec<&str> = votes.keys().copied().collect();
        let most = votes.values().copied().max()?;
        crate::assign::java_hashmap_order(&names)
            .into_iter()
            .map(|i| names[i])
            .find(|n| votes[n] == most)
            .map(str::to_string)
    }

    /// `GMM.maybePrepareRebalanceOrCompleteJoin`.
    pub(super) fn maybe_prepare_rebalance_or_complete_join(
        &mut self,
        now: Time,
        reason: String,
        out: &mut CoordinatorOutbox,
    ) {
        // ClassicGroup.canRebalance: PreparingRebalance follows these.
        if matches!(
            self.state,
            GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
        ) {
            self.prepare_rebalance(now, reason, out);
        } else {
            self.maybe_complete_join_phase(now, out);
        }
    }

    /// `GMM.maybeCompleteJoinPhase`: never during the initial rebalance,
    /// which its delay timer ends.
    pub(super) fn maybe_complete_join_phase(&mut self, now: Time, out: &mut CoordinatorOutbox) {
        if self.state == GroupState::PreparingRebalance
            && self.previous_state != Some(GroupState::Empty)
            && self.all_members_joined()
        {
            self.complete_join(now, out);
        }
    }

    /// `GMM.prepareRebalance`.
    pub(super) fn prepare_rebalance(
        &mut self,
        now: Time,
        reason: String,
        out: &mut CoordinatorOutbox,
    ) {
        if self.state == GroupState::CompletingRebalance {
            // resetAndPropagateAssignmentWithError.
            for m in self.members.values_mut() {
                m.assignment.clear();
            }
            self.propagate_sync(now, Err(GroupError::RebalanceInProgress), out);
        }
        // removeSyncExpiration.
        self.pending_sync.clear();
        self.sync_token += 1;
        let initial = self.state == GroupState::Empty;
        if initial {
            // A new group: more time for the members to join.
            let delay = self.config.initial_rebalance_delay;
            let remaining = self.max_rebalance_timeout() - delay;
            self.join_token += 1;
            out.timers.push((
                now + delay,
                CoordinatorTimer::InitialDelay {
                    token: self.join_token,
                    delay,
                    remaining,
                },
            ));
        }
        self.set_state(GroupState::PreparingRebalance, reason, out);
        if initial {
            return;
        }
        // maybeCompleteJoinElseSchedule.
        if self.all_members_joined() {
            self.complete_join(now, out);
        } else {
            self.join_token += 1;
            out.timers.push((
                now + self.max_rebalance_timeout(),
                CoordinatorTimer::JoinDeadline {
                    token: self.join_token,
                },
            ));
        }
    }

    /// `GMM.tryCompleteInitialRebalanceElseSchedule`: a joiner during the
    /// delay extends it, up to the rebalance timeout.
    pub(super) fn on_initial_delay(
        &mut self,
        now: Time,
        token: u64,
        delay: Duration,
        remaining: Duration,
        out: &mut CoordinatorOutbox,
    ) {
        if token != self.join_token {
            return;
        }
        if self.new_member_added && remaining > Duration::ZERO {
            self.new_member_added = false;
            let next = self.config.initial_rebalance_delay.min(remaining);
            out.timers.push((
                now + next,
                CoordinatorTimer::InitialDelay {
                    token,
                    delay: next,
                    // Kafka subtracts the delay just waited, not the next.
                    remaining: remaining - delay,
                },
            ));
        } else {
            self.complete_join(now, out);
        }
    }

    /// `GMM.completeClassicGroupJoin`.
    pub(super) fn complete_join(&mut self, now: Time, out: &mut CoordinatorOutbox) {
        self.join_token += 1;
        // Dynamic members that did not rejoin are removed; static ones
        // stay in the new generation with their last metadata (KIP-345):
        // the leader assigns them partitions, and they leave only by
        // session expiry or by not syncing in time.
        let missing: Vec<MemberId> = self
            .members
            .iter()
            .filter(|(_, m)| !m.awaiting_join && m.instance_id.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        for id in &missing {
            self.remove_member(id, "did not rejoin within the rebalance timeout", out);
        }
        if !self.elect_joined_leader() && !self.members.is_empty() {
            // Nobody rejoined (only static members that did not): wait
            // another rebalance timeout for their sessions to expire.
            out.timers.push((
                now + self.max_rebalance_timeout(),
                CoordinatorTimer::JoinDeadline {
                    token: self.join_token,
                },
            ));
            return;
        }
        // ClassicGroup.initNextGeneration.
        self.generation += 1;
        self.pending_sync.clear();
        if self.members.is_empty() {
            self.protocol = None;
            self.set_state(GroupState::Empty, "no members left".into(), out);
            self.write(now, None, out);
            self.write_record();
            return;
        }
        self.protocol = self.select_protocol();
        let Some(leader) = self.leader.clone() else {
            return; // elect_joined_leader found one
        };
        out.facts.push(Fact::GenerationStarted {
            generation: self.generation,
            leader: leader.to_string(),
            members: self.members.len(),
        });
        self.set_state(
            GroupState::CompletingRebalance,
            format!("generation {} formed", self.generation),
            out,
        );
        let specs = self.member_specs();
        let ids: Vec<MemberId> = self.members.keys().cloned().collect();
        for id in ids {
            let Some(m) = self.members.get_mut(&id) else {
                continue;
            };
            if m.awaiting_join {
                m.awaiting_join = false;
                self.awaiting_join -= 1;
                let result = JoinResult {
                    member_id: id.clone(),
                    generation: self.generation,
                    leader: Some(leader.clone()),
                    members: (id == leader).then(|| specs.clone()),
                    skip_assignment: false,
                    protocol: self.protocol.clone().unwrap_or_default(),
                };
                out.responses.push((m.endpoint, Response::Join(Ok(result))));
            }
            m.is_new = false;
            // Every member's session restarts here, static stragglers
            // included.
            let timeout = m.session_timeout;
            self.reschedule_heartbeat(now, &id, timeout, out);
            self.pending_sync.insert(id);
        }
        // schedulePendingSync.
        self.sync_token += 1;
        out.timers.push((
            now + self.max_rebalance_timeout(),
            CoordinatorTimer::SyncDeadline {
                token: self.sync_token,
            },
        ));
    }
}
