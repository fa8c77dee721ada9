//! Rebalancing on the classic protocol, eager or cooperative (KIP-429), as
//! Kafka's `ConsumerCoordinator` runs it. At `poll()` a member that must
//! rejoin runs onJoinPrepare — eager: commit, revoke everything; cooperative:
//! auto-commit, revoke nothing (subscriptions do not change here) — and
//! sends JoinGroup; the leader computes the assignment with the assignor
//! the group selected; SyncGroup hands each member its partitions. The
//! JoinGroup and SyncGroup responses take effect at the next `poll()`
//! (onJoinComplete): a cooperative member revokes `owned − assigned` (then
//! rejoins at once so a second rebalance can hand them over), adds
//! `assigned − owned`, and keeps consuming what it keeps throughout.
//! Committed offsets of new partitions are fetched before consuming them.
//! Heartbeats and `max.poll.interval` expulsion run on the heartbeat thread.

use super::membership::MemberState;
use super::{Consumer, ConsumerEnv, ConsumerOutbox, ConsumerTimer};
use crate::assign::{GroupSpec, MemberSpec, TopicPartition};
use crate::coordinator::protocol::Response;
use crate::coordinator::protocol::{
    GroupError, JoinRequest, JoinResult, MemberAssignments, MemberId, Request,
};
use crate::events::{Fact, StopReason};
use crate::scenario::CommitMode;
use crate::scenario::OffsetReset;
use crate::sim::{Time, TimerId};
use std::sync::Arc;

impl Consumer {
    /// The membership's part of `poll()`: acts on a response that arrived
    /// while the application was busy, starts a rebalance when one is
    /// needed; true when the application may fetch (always when stable; a
    /// cooperative member also while it rebalances).
    pub(super) fn membership_poll(
        &mut self,
        now: Time,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) -> bool {
        if self.modern.is_some() {
            return self.modern_poll(now, env, out);
        }
        if let Some(response) = self.deferred.take() {
            match response {
                Response::Join(result) => self.on_join(now, result, env, out),
                Response::Sync(result) => self.on_sync(now, result, env, out),
                _ => {}
            }
            if !self.poll.in_poll || !self.running {
                return false; // handling the response already polled
            }
        }
        match self.member.state() {
            MemberState::Unjoined => self.prepare_join(now, env, out),
            MemberState::Stable if self.member.rejoin_needed => self.prepare_join(now, env, out),
            MemberState::Stable => return true,
            _ => {} // waiting for a response
        }
        // A cooperative member keeps fetching what it owns through the
        // rebalance, onJoinPrepare's auto-commit included: poll() takes one
        // non-blocking join step, then fetches (ClassicKafkaConsumer.poll
        // passes waitForJoinGroup = false, KAFKA-8421), and only eager
        // members mark their partitions pending revocation for that commit
        // (ConsumerCoordinator.maybeMarkPartitionsPendingRevocation).
        self.strategy.cooperative
            && matches!(
                self.member.state(),
                MemberState::Committing(_)
                    | MemberState::Joining
                    | MemberState::Syncing
                    | MemberState::FetchingOffsets(_)
            )
    }

    /// onJoinPrepare: commit first — eager: auto-commit or the revoke
    /// callback, before revoking everything; cooperative: auto-commit only
    /// (nothing is revoked) — then send JoinGroup.
    fn prepare_join(&mut self, now: Time, env: &ConsumerEnv<'_>, out: &mut ConsumerOutbox) {
        let commits = if self.strategy.cooperative {
            matches!(self.group.commit, CommitMode::Auto { .. })
        } else {
            self.commits_before_revoke()
        };
        if self.member.in_generation() && !self.owned.is_empty() && commits {
            let token = self.send_commit(out);
            self.member.transition(MemberState::Committing(token));
            return;
        }
        self.revoke_then_join(now, env, out);
    }

    /// After onJoinPrepare's commit (or without one): a member still in its
    /// generation revokes its partitions; one whose generation is gone
    /// (fenced, expelled) loses them and cannot commit. Then JoinGroup.
    pub(super) fn revoke_then_join(
        &mut self,
        now: Time,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if self.member.in_generation() {
            if self.strategy.cooperative {
                // Cooperative onJoinPrepare: only partitions of topics no
                // longer subscribed are revoked (ConsumerCoordinator).
                let gone: Vec<TopicPartition> = self
                    .owned
                    .partitions()
                    .into_iter()
                    .filter(|tp| self.subscription.binary_search(&tp.topic).is_err())
                    .collect();
                if !gone.is_empty() {
                    self.owned.remove(&gone, env.cluster);
                    out.facts.push(Fact::PartitionsRevoked {
                        consumer: self.index,
                        partitions: gone,
                    });
                }
            } else {
                self.revoke_all(out);
            }
        } else if !self.owned.is_empty() {
            out.facts.push(Fact::PartitionsLost {
                consumer: self.index,
                partitions: self.owned.take_all(),
            });
        }
        self.send_join(now, out);
    }

    pub(super) fn revoke_all(&mut self, out: &mut ConsumerOutbox) {
        if !self.owned.is_empty() {
            out.facts.push(Fact::PartitionsRevoked {
                consumer: self.index,
                partitions: self.owned.take_all(),
            });
        }
    }

    fn send_join(&mut self, _now: Time, out: &mut ConsumerOutbox) {
        self.member.rejoin_needed = false;
        self.member.transition(MemberState::Joining);
        let (member_id, generation) = self.member.wire_identity();
        // Cooperative members report what they own (ownedPartitions);
        // eager ones revoked everything, but sticky's user data still
        // carries the last assignment and its generation.
        let (owned, generation) = if self.strategy.cooperative {
            (self.owned.partitions(), generation)
        } else if self.strategy.remembers_assignment {
            self.member
                .last_assignment
                .clone()
                .unwrap_or((Vec::new(), -1))
        } else {
            (self.owned.partitions(), generation)
        };
        let metadata = MemberSpec {
            id: member_id.to_string(),
            instance_id: self.config.instance_id.clone(),
            rack: self.config.rack.clone(),
            topics: self.subscription.clone(),
            owned,
            generation: Some(generation),
        };
        out.requests.push(Request::Join(Box::new(JoinRequest {
            member_id,
            client_id: self.config.name.clone(),
            instance_id: self.config.instance_id.clone(),
            metadata,
            protocols: self.strategy.protocols.clone(),
            session_timeout: self.group.session_timeout,
            rebalance_timeout: self.group.rebalance_timeout,
        })));
    }

    /// Kafka's reaction to a group error: a fenced instance ends the
    /// process (false); otherwise the member drops what the error
    /// invalidated and will rejoin.
    pub(super) fn react_to(&mut self, error: GroupError, out: &mut ConsumerOutbox) -> bool {
        match error {
            // (The KIP-848 errors never answer a classic member.)
            GroupError::FencedInstanceId
            | GroupError::InconsistentGroupProtocol
            | GroupError::UnreleasedInstanceId
            | GroupError::FencedMemberEpoch
            | GroupError::StaleMemberEpoch
            | GroupError::GroupIdNotFound => {
                self.fatal(error, out);
                return false;
            }
            GroupError::RebalanceInProgress => self.member.rejoin_needed = true,
            GroupError::IllegalGeneration => self.member.reset_generation(false),
            GroupError::UnknownMemberId => self.member.reset_generation(true),
            // Not about the member: find the coordinator again (unless it
            // is only loading) and retry; generation and id are kept.
            GroupError::NotCoordinator
            | GroupError::CoordinatorNotAvailable
            | GroupError::CoordinatorLoadInProgress
            | GroupError::Disconnected => {
                if error.loses_coordinator() {
                    self.link.lose_coordinator();
                }
            }
        }
        true
    }

    /// A JoinGroup or SyncGroup failed: react, then join again at once
    /// (the member is inside `poll()` waiting for the rebalance).
    /// An error that reset the generation goes through onJoinPrepare again
    /// (AbstractCoordinator.resetStateAndRejoin sets needsJoinPrepare), so
    /// a cooperative member loses what it still owns before rejoining
    /// instead of keeping — and later committing — partitions of a
    /// generation it no longer belongs to.
    fn rejoin_after(
        &mut self,
        error: GroupError,
        now: Time,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if self.react_to(error, out) {
            if error.is_coordinator_error() {
                // joinGroupIfNeeded: a retriable failure sleeps
                // retry.backoff.ms, then JoinGroup goes to the coordinator
                // found again (a failed SyncGroup included).
                self.link.delay_next(now + super::requests::RETRY_BACKOFF);
            }
            if self.member.in_generation() {
                self.send_join(now, out);
            } else {
                self.revoke_then_join(now, env, out);
            }
        }
    }

    fn fatal(&mut self, error: GroupError, out: &mut ConsumerOutbox) {
        out.facts.push(Fact::RejoinNeeded {
            consumer: self.index,
            cause: format!("{error}: the application gets an exception and exits"),
        });
        self.poll.batch = None;
        self.stop(StopReason::Fatal, out);
    }

    /// The heartbeat thread's beat: a member in a generation sends a
    /// heartbeat; the next beat is armed either way.
    pub(super) fn heartbeat_due(&mut self, now: Time, out: &mut ConsumerOutbox) {
        if self.member.state().heartbeats() && self.member.in_generation() {
            let (member_id, generation) = self.member.wire_identity();
            self.member.heartbeat_sent_for = Some((member_id.clone(), generation));
            out.requests.push(Request::Heartbeat {
                member_id,
                instance_id: self.config.instance_id.clone(),
                generation,
            });
        }
        self.arm_heartbeat(now, out);
    }

    pub(super) fn arm_heartbeat(&mut self, now: Time, out: &mut ConsumerOutbox) {
        let id: TimerId = self.heartbeat.arm();
        out.timers.push((
            now + self.group.heartbeat_interval,
            ConsumerTimer::Heartbeat(id),
        ));
    }

    /// The metadata refresh (`metadata.max.age.ms`): a classic leader whose
    /// group's topics gained partitions since its assignment rejoins
    /// (`ConsumerCoordinator.rejoinNeededOrPending`: "cached metadata has
    /// changed"); the leader's JoinGroup always rebalances.
    pub(super) fn metadata_refreshed(
        &mut self,
        now: Time,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        let id = self.metadata_timer.arm();
        out.timers.push((
            now + crate::cluster::METADATA_MAX_AGE,
            ConsumerTimer::MetadataRefresh(id),
        ));
        if self.modern.is_some() || self.member.rejoin_needed {
            return;
        }
        let Some(snapshot) = &self.member.metadata_snapshot else {
            return;
        };
        let changed = snapshot
            .iter()
            .any(|&(t, n)| env.cluster.topics[t as usize].partitions != n);
        if !changed {
            return;
        }
        self.member.rejoin_needed = true;
        out.facts.push(Fact::RejoinNeeded {
            consumer: self.index,
            cause: "metadata refresh: the group's topics have more partitions (the leader rejoins)"
                .into(),
        });
        if self.poll.in_poll {
            self.drive_poll(now, env, out);
        }
    }

    /// The `max.poll.interval.ms` check runs again at `at` (the member was
    /// not in a group when it fired).
    pub(super) fn recheck_poll_timeout(&mut self, at: Time, out: &mut ConsumerOutbox) {
        let id = self.poll.poll_timeout.arm();
        out.timers.push((at, ConsumerTimer::PollTimeout(id)));
    }

    pub(super) fn report_poll_timeout(&self, now: Time, out: &mut ConsumerOutbox) {
        out.facts.push(Fact::PollTimeout {
            consumer: self.index,
            gap_ms: now.since(self.poll.last_poll).millis(),
        });
    }

    /// `max.poll.interval.ms` passed since the last `poll()`.
    pub(super) fn poll_timed_out(&mut self, now: Time, out: &mut ConsumerOutbox) {
        if self.modern.is_some() {
            return self.modern_poll_timed_out(now, out);
        }
        let in_group = self.member.member_id().is_some()
            && !matches!(
                self.member.state(),
                MemberState::Unjoined | MemberState::Joining
            );
        if !in_group {
            // The heartbeat thread checks again once the member is back in
            // a generation (Kafka re-checks whenever it is enabled).
            if self.member.state() != MemberState::Unjoined {
                self.recheck_poll_timeout(now + self.group.heartbeat_interval, out);
            }
            return;
        }
        self.report_poll_timeout(now, out);
        if !self.is_static() {
            out.requests.push(Request::Leave {
                member_id: self.member.wire_identity().0,
            });
        }
        // The heartbeat thread resets the generation and member id; the
        // application finds out at its next poll (partitions lost).
        self.member.reset_generation(true);
        self.member.transition(MemberState::Unjoined);
    }

    pub(super) fn on_join(
        &mut self,
        now: Time,
        result: Result<JoinResult, GroupError>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if self.member.state() != MemberState::Joining {
            return;
        }
        if !self.poll.in_poll {
            // The heartbeat thread is off in PREPARING_REBALANCE: the
            // response is read at the next poll() (AbstractCoordinator).
            self.deferred = Some(Response::Join(result));
            return;
        }
        let joined = match result {
            Ok(r) => r,
            Err(e) => return self.rejoin_after(e, now, env, out),
        };
        self.member
            .joined(joined.member_id.clone(), joined.generation);
        // The heartbeat thread is enabled with its timers reset when the
        // JoinGroup response arrives (AbstractCoordinator:
        // heartbeat.resetTimeouts): the next beat is one interval from now.
        self.arm_heartbeat(now, out);
        let assignment = match (&joined.members, joined.skip_assignment) {
            (Some(members), false) => Some(self.compute_assignment(&joined, members, env, out)),
            _ => None,
        };
        // ConsumerCoordinator: only the leader watches the group's topics
        // for metadata changes (assignmentSnapshot, set in
        // onLeaderElected, cleared for followers).
        self.member.metadata_snapshot = joined.members.as_ref().map(|members| {
            let mut topics: Vec<u32> = members
                .iter()
                .flat_map(|m| m.topics.iter().copied())
                .collect();
            topics.sort_unstable();
            topics.dedup();
            topics
                .into_iter()
                .map(|t| (t, env.cluster.topics[t as usize].partitions))
                .collect()
        });
        self.member.transition(MemberState::Syncing);
        out.requests.push(Request::Sync {
            member_id: joined.member_id,
            instance_id: self.config.instance_id.clone(),
            generation: joined.generation,
            assignment,
        });
    }

    /// AbstractCoordinator.JoinGroupResponseHandler on MEMBER_ID_REQUIRED:
    /// take the id (no generation yet) and send JoinGroup again at once,
    /// without a second onJoinPrepare.
    pub(super) fn on_member_id_required(
        &mut self,
        now: Time,
        member_id: MemberId,
        out: &mut ConsumerOutbox,
    ) {
        if self.member.state() != MemberState::Joining {
            return;
        }
        self.member.member_id_required(member_id);
        self.send_join(now, out);
    }

    fn compute_assignment(
        &mut self,
        joined: &JoinResult,
        members: &Arc<Vec<MemberSpec>>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) -> MemberAssignments {
        let group = Arc::new(GroupSpec {
            topics: env.cluster.topic_specs(),
            members: members.as_ref().clone(),
        });
        // The group's selected protocol is one this leader supports; its
        // own first choice stands in if the coordinator named none.
        let assignor = env.assignors.get(&joined.protocol).or_else(|| {
            self.strategy
                .protocols
                .first()
                .and_then(|p| env.assignors.get(p))
        });
        let (assignment, promise, cooperative, protocol) = match assignor {
            Some(a) => (
                a.assign(&group),
                a.promise(),
                a.rebalance_protocol() == crate::assign::RebalanceProtocol::Cooperative,
                a.name().to_string(),
            ),
            None => (
                crate::assign::Assignment::empty(group.members.len()),
                crate::assign::BalancePromise::None,
                false,
                joined.protocol.clone(),
            ),
        };
        let assignment = Arc::new(assignment);
        out.facts.push(Fact::AssignmentComputed {
            generation: joined.generation,
            leader: joined.member_id.to_string(),
            protocol,
            promise,
            cooperative,
            group: group.clone(),
            assignment: assignment.clone(),
        });
        // A custom assignor may return partitions that do not exist, or
        // too few or too many member lists. Kafka's client would fail on
        // such an assignment; the simulator reports it as invariant 1
        // (from the fact above) and carries on with what is valid: unknown
        // partitions are dropped, lists beyond the members ignored (zip),
        // missing ones mean no partitions, a partition listed twice for
        // one member is kept once.
        let per_member = group
            .members
            .iter()
            .zip(&assignment.per_member)
            .map(|(m, parts)| {
                let mut valid: Vec<TopicPartition> = parts
                    .iter()
                    .copied()
                    .filter(|&tp| env.cluster.contains(tp))
                    .collect();
                valid.sort_unstable();
                valid.dedup();
                (m.id.clone(), valid)
            })
            .collect();
        Arc::new(per_member)
    }

    pub(super) fn on_sync(
        &mut self,
        now: Time,
        result: Result<Vec<TopicPartition>, GroupError>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if self.member.state() != MemberState::Syncing {
            return;
        }
        if !self.poll.in_poll {
            // onJoinComplete runs in poll() (ConsumerCoordinator).
            self.deferred = Some(Response::Sync(result));
            return;
        }
        let mut assigned = match result {
            Ok(p) => p,
            Err(e) => return self.rejoin_after(e, now, env, out),
        };
        assigned.sort_unstable();
        assigned.dedup();
        if let Some(&foreign) = assigned
            .iter()
            .find(|tp| self.subscription.binary_search(&tp.topic).is_err())
        {
            return self.reject_assignment(foreign, now, env, out);
        }
        let revoked: Vec<TopicPartition> = self
            .owned
            .partitions()
            .into_iter()
            .filter(|tp| assigned.binary_search(tp).is_err())
            .collect();
        // Auto-commit's timer restarts with the new assignment
        // (ConsumerCoordinator.onJoinComplete).
        self.commits.restart_auto_commit(now, self.group.commit);
        if !revoked.is_empty() && self.group.commit_on_revoke && self.member.in_generation() {
            // The revoke callback commits what it gives up; the group is
            // Stable, so the commit is accepted.
            let token = self.send_commit_of(&revoked, out);
            self.member.transition(MemberState::Revoking(token));
            self.pending_assignment = Some((assigned, revoked));
            return;
        }
        self.complete_join(assigned, revoked, env, out);
    }

    /// ConsumerCoordinator.onJoinComplete: an assignment that names a
    /// topic the member does not subscribe to (`SubscriptionState.
    /// checkAssignmentMatchedSubscription`) is not applied — no partition
    /// is taken or revoked, the assignor's memory (sticky's user data) and
    /// the auto-commit timer stay as they were — and the member, Stable in
    /// the new generation, joins again at once (`requestRejoin`; the loop
    /// in `joinGroupIfNeeded` runs onJoinPrepare again). It happens when
    /// the subscription changed after JoinGroup, and with the eager sticky
    /// assignor, which can give a partition back to its previous owner
    /// without checking that owner's subscription.
    fn reject_assignment(
        &mut self,
        foreign: TopicPartition,
        now: Time,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        self.member.transition(MemberState::Stable);
        self.member.rejoin_needed = true;
        let topic = &env.cluster.topics[foreign.topic as usize].name;
        out.facts.push(Fact::RejoinNeeded {
            consumer: self.index,
            cause: format!(
                "received assignment does not match the current subscription ({topic}-{})",
                foreign.partition
            ),
        });
        self.prepare_join(now, env, out);
    }

    /// onJoinComplete after the revoke callback: give up `revoked`, take
    /// the new partitions, rejoin at once if something was revoked, and
    /// fetch the committed offsets of what is new.
    pub(super) fn complete_join(
        &mut self,
        assigned: Vec<TopicPartition>,
        revoked: Vec<TopicPartition>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if !revoked.is_empty() {
            self.owned.remove(&revoked, env.cluster);
            out.facts.push(Fact::PartitionsRevoked {
                consumer: self.index,
                partitions: revoked,
            });
            // KIP-429: a member that gave partitions up rejoins at once, so
            // a second rebalance can hand them to their new owners.
            self.member.rejoin_needed = true;
        }
        let owned = self.owned.partitions();
        let added: Vec<TopicPartition> = assigned
            .iter()
            .copied()
            .filter(|tp| owned.binary_search(tp).is_err())
            .collect();
        self.owned.add(&added, env.cluster);
        let generation = self.member.generation().unwrap_or(-1);
        self.member.last_assignment = Some((assigned, generation));
        out.facts.push(Fact::PartitionsAssigned {
            consumer: self.index,
            generation,
            partitions: added,
        });
        self.fetch_token += 1;
        let token = self.fetch_token;
        self.member.transition(MemberState::FetchingOffsets(token));
        out.requests.push(Request::Fetch {
            partitions: self.owned.unpositioned(),
            token,
        });
    }

    /// OffsetFetch failed on a coordinator error: retried (after the
    /// backoff, at the coordinator found again) while the partitions still
    /// wait for positions (`fetchCommittedOffsets`,
    /// `OffsetFetchRequestState`).
    pub(super) fn on_fetch_failed(
        &mut self,
        now: Time,
        token: u64,
        error: GroupError,
        out: &mut ConsumerOutbox,
    ) {
        let waiting = if self.modern.is_some() {
            self.modern_fetch == Some(token)
        } else {
            self.member.state() == MemberState::FetchingOffsets(token)
        };
        if !waiting {
            return;
        }
        if error.loses_coordinator() {
            self.link.lose_coordinator();
        }
        self.link.delay_next(now + super::requests::RETRY_BACKOFF);
        out.requests.push(Request::Fetch {
            partitions: self.owned.unpositioned(),
            token,
        });
    }

    pub(super) fn on_fetch(
        &mut self,
        now: Time,
        token: u64,
        offsets: Vec<(usize, Option<u64>)>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if self.member.state() != MemberState::FetchingOffsets(token) {
            return;
        }
        self.apply_fetched_positions(now, offsets, env, out);
        self.member.transition(MemberState::Stable);
        self.drive_poll(now, env, out);
    }

    /// Positions from an OffsetFetch answer: the committed offset, else
    /// `auto.offset.reset`; then the member consumes.
    pub(super) fn apply_fetched_positions(
        &mut self,
        now: Time,
        offsets: Vec<(usize, Option<u64>)>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        let mut resets = 0;
        let positions: Vec<(usize, u64)> = offsets
            .into_iter()
            .map(|(partition, committed)| {
                let position = committed.unwrap_or_else(|| {
                    let position = match self.group.auto_offset_reset {
                        OffsetReset::Earliest => 0,
                        OffsetReset::Latest => env
                            .cluster
                            .log_end_offset(env.cluster.partition_at(partition), now),
                    };
                    out.facts.push(Fact::OffsetReset {
                        consumer: self.index,
                        partition,
                        position,
                    });
                    resets += 1;
                    position
                });
                (partition, position)
            })
            .collect();
        self.owned.set_positions(&positions, env.cluster);
        out.facts.push(Fact::Consuming {
            consumer: self.index,
            partitions: self.owned.len(),
            resets,
        });
    }

    pub(super) fn on_heartbeat(
        &mut self,
        now: Time,
        result: Result<(), GroupError>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        let sent_for = self.member.heartbeat_sent_for.take();
        // Compared without building the wire identity (heartbeats are the
        // most frequent response).
        let current = sent_for.as_ref().is_some_and(|(id, generation)| {
            self.member.member_id() == Some(id)
                && self.member.generation().unwrap_or(-1) == *generation
        });
        if !current
            || matches!(
                self.member.state(),
                MemberState::Joining | MemberState::Unjoined
            )
        {
            return; // an answer about a generation we already left
        }
        let Err(error) = result else {
            return;
        };
        if error.is_coordinator_error() {
            // HeartbeatResponseHandler / failHeartbeat: the coordinator is
            // looked up again and the next beat follows the retry backoff;
            // the member keeps its generation and partitions.
            self.react_to(error, out);
            let id: TimerId = self.heartbeat.arm();
            out.timers.push((
                now + super::requests::RETRY_BACKOFF,
                ConsumerTimer::Heartbeat(id),
            ));
            return;
        }
        if !self.react_to(error, out) {
            return;
        }
        out.facts.push(Fact::RejoinNeeded {
            consumer: self.index,
            cause: format!("heartbeat: {error}"),
        });
        if self.poll.in_poll {
            self.drive_poll(now, env, out);
        }
    }
}
