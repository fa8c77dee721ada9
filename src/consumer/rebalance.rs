//! Eager rebalancing on the classic protocol, as Kafka's
//! `ConsumerCoordinator` runs it: at `poll()` a member that must rejoin
//! commits, revokes everything and sends JoinGroup; the leader computes the
//! assignment; SyncGroup hands each member its partitions, whose committed
//! offsets are fetched before consuming. Heartbeats and `max.poll.interval`
//! expulsion run on the heartbeat thread.

use super::membership::MemberState;
use super::{Consumer, ConsumerEnv, ConsumerOutbox, ConsumerTimer};
use crate::assign::{GroupSpec, MemberSpec, TopicPartition};
use crate::coordinator::protocol::{
    GroupError, JoinRequest, JoinResult, MemberAssignments, Request,
};
use crate::events::{Fact, StopReason};
use crate::scenario::OffsetReset;
use crate::sim::{Time, TimerId};
use std::sync::Arc;

impl Consumer {
    /// The membership's part of `poll()`: starts a rebalance when one is
    /// needed; true when the application may fetch.
    pub(super) fn membership_poll(&mut self, now: Time, out: &mut ConsumerOutbox) -> bool {
        match self.member.state() {
            MemberState::Unjoined => self.prepare_join(now, out),
            MemberState::Stable if self.member.rejoin_needed => self.prepare_join(now, out),
            MemberState::Stable => return true,
            _ => {} // waiting for a response
        }
        false
    }

    /// onJoinPrepare: commit (auto-commit, or the revoke callback), revoke
    /// everything (eager), then send JoinGroup.
    fn prepare_join(&mut self, now: Time, out: &mut ConsumerOutbox) {
        if self.member.in_generation() && !self.owned.is_empty() && self.commits_before_revoke() {
            let token = self.send_commit(out);
            self.member.transition(MemberState::Committing(token));
            return;
        }
        self.revoke_then_join(now, out);
    }

    /// After onJoinPrepare's commit (or without one): a member still in its
    /// generation revokes its partitions; one whose generation is gone
    /// (fenced, expelled) loses them and cannot commit. Then JoinGroup.
    pub(super) fn revoke_then_join(&mut self, now: Time, out: &mut ConsumerOutbox) {
        if self.member.in_generation() {
            self.revoke_all(out);
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
        // Eager members revoked everything; sticky's user data still
        // carries the last assignment and its generation.
        let (owned, generation) = if self.remembers_assignment {
            self.member
                .last_assignment
                .clone()
                .unwrap_or((Vec::new(), -1))
        } else {
            (self.owned.partitions(), generation)
        };
        let metadata = MemberSpec {
            id: member_id.clone(),
            instance_id: self.config.instance_id.clone(),
            rack: self.config.rack.clone(),
            topics: self.subscription.clone(),
            owned,
            generation: Some(generation),
        };
        out.requests.push(Request::Join(JoinRequest {
            member_id,
            client_id: self.config.name.clone(),
            instance_id: self.config.instance_id.clone(),
            metadata,
            protocol: self.group.assignor.as_str().to_string(),
            session_timeout: self.group.session_timeout,
            rebalance_timeout: self.group.rebalance_timeout,
        }));
    }

    /// Kafka's reaction to a group error: a fenced instance ends the
    /// process (false); otherwise the member drops what the error
    /// invalidated and will rejoin.
    pub(super) fn react_to(&mut self, error: GroupError, out: &mut ConsumerOutbox) -> bool {
        match error {
            GroupError::FencedInstanceId => {
                self.fatal(error, out);
                return false;
            }
            GroupError::RebalanceInProgress => self.member.rejoin_needed = true,
            GroupError::IllegalGeneration => self.member.reset_generation(false),
            GroupError::UnknownMemberId => self.member.reset_generation(true),
        }
        true
    }

    /// A JoinGroup or SyncGroup failed: react, then join again at once
    /// (the member is inside `poll()` waiting for the rebalance).
    fn rejoin_after(&mut self, error: GroupError, now: Time, out: &mut ConsumerOutbox) {
        if self.react_to(error, out) {
            self.send_join(now, out);
        }
    }

    fn fatal(&mut self, error: GroupError, out: &mut ConsumerOutbox) {
        out.facts.push(Fact::RejoinNeeded {
            consumer: self.index,
            cause: format!("{error}: the application gets an exception and exits"),
        });
        self.poll.batch = None;
        self.stop(StopReason::Crash, out);
    }

    /// The heartbeat thread's beat: a member in a generation sends a
    /// heartbeat; the next beat is armed either way.
    pub(super) fn heartbeat_due(&mut self, now: Time, out: &mut ConsumerOutbox) {
        if self.member.state().heartbeats() && self.member.in_generation() {
            let (member_id, generation) = self.member.wire_identity();
            self.member.heartbeat_sent_for = Some((member_id.clone(), generation));
            out.requests.push(Request::Heartbeat {
                member_id,
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

    /// `max.poll.interval.ms` passed since the last `poll()`.
    pub(super) fn poll_timed_out(&mut self, now: Time, out: &mut ConsumerOutbox) {
        let in_group = self.member.member_id().is_some()
            && !matches!(
                self.member.state(),
                MemberState::Unjoined | MemberState::Joining
            );
        if !in_group {
            // The heartbeat thread checks again once the member is back in
            // a generation (Kafka re-checks whenever it is enabled).
            if self.member.state() != MemberState::Unjoined {
                let id = self.poll.poll_timeout.arm();
                out.timers.push((
                    now + self.group.heartbeat_interval,
                    ConsumerTimer::PollTimeout(id),
                ));
            }
            return;
        }
        out.facts.push(Fact::PollTimeout {
            consumer: self.index,
            gap_ms: now.since(self.poll.last_poll).millis(),
        });
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
        let joined = match result {
            Ok(r) => r,
            Err(e) => return self.rejoin_after(e, now, out),
        };
        self.member
            .joined(joined.member_id.clone(), joined.generation);
        let assignment = match (&joined.members, joined.skip_assignment) {
            (Some(members), false) => Some(self.compute_assignment(&joined, members, env, out)),
            _ => None,
        };
        self.member.transition(MemberState::Syncing);
        out.requests.push(Request::Sync {
            member_id: joined.member_id,
            generation: joined.generation,
            assignment,
        });
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
        let assignment = Arc::new(env.assignor.assign(&group));
        out.facts.push(Fact::AssignmentComputed {
            generation: joined.generation,
            leader: joined.member_id.clone(),
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
        let partitions = match result {
            Ok(p) => p,
            Err(e) => return self.rejoin_after(e, now, out),
        };
        self.owned.assign(&partitions, env.cluster);
        let assigned = self.owned.partitions();
        let generation = self.member.generation().unwrap_or(-1);
        self.member.last_assignment = Some((assigned.clone(), generation));
        out.facts.push(Fact::PartitionsAssigned {
            consumer: self.index,
            generation,
            partitions: assigned,
        });
        self.fetch_token += 1;
        let token = self.fetch_token;
        self.member.transition(MemberState::FetchingOffsets(token));
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
        self.member.transition(MemberState::Stable);
        out.facts.push(Fact::Consuming {
            consumer: self.index,
            partitions: self.owned.len(),
            resets,
        });
        self.drive_poll(now, env, out);
    }

    pub(super) fn on_heartbeat(
        &mut self,
        now: Time,
        result: Result<(), GroupError>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        let sent_for = self.member.heartbeat_sent_for.take();
        if sent_for != Some(self.member.wire_identity())
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
