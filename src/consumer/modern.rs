//! The KIP-848 consumer protocol in the consumer process (Kafka's
//! `AsyncKafkaConsumer` with `ConsumerMembershipManager` and
//! `ConsumerHeartbeatRequestManager`): heartbeats every interval the
//! broker gives, at once when joining or acknowledging, one in flight at a
//! time; an assignment received is reconciled from the application's
//! `poll()` — auto-commit of everything consumed first, then revoke what
//! is no longer assigned, add what is new, acknowledge; `max.poll.interval`
//! leaves the group (epoch -1, static -2) and rejoins at the next `poll()`;
//! FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID lose everything and rejoin at
//! epoch 0.

use super::membership::{ModernMember, ModernState};
use super::{Consumer, ConsumerEnv, ConsumerOutbox, ConsumerTimer};
use crate::assign::TopicPartition;
use crate::coordinator::protocol::{
    ConsumerHeartbeat, ConsumerHeartbeatResult, GroupError, LEAVE_GROUP_MEMBER_EPOCH,
    LEAVE_GROUP_STATIC_MEMBER_EPOCH, Request,
};
use crate::events::{Fact, StopReason};
use crate::scenario::CommitMode;
use crate::sim::{Time, TimerId};
use std::sync::Arc;

impl Consumer {
    fn modern(&mut self) -> Option<&mut ModernMember> {
        self.modern.as_mut()
    }

    /// The membership's part of `poll()` on the consumer protocol: lost
    /// partitions are given up and the member rejoins; a received
    /// assignment is reconciled; true when the application may fetch.
    pub(super) fn modern_poll(
        &mut self,
        now: Time,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) -> bool {
        match self.modern_state() {
            Some(ModernState::Fenced | ModernState::Stale) => {
                // onPartitionsLost runs on the application thread, then the
                // member rejoins with epoch 0 and a full heartbeat.
                self.rejoin_after_loss(now, out);
                false
            }
            Some(ModernState::Reconciling) => {
                self.start_reconciliation(now, env, out);
                self.modern_state() != Some(ModernState::Reconciling)
                    && !matches!(
                        self.modern_state(),
                        Some(ModernState::CommittingBeforeRevoke(_))
                    )
            }
            Some(ModernState::Stable | ModernState::Acknowledging) => true,
            _ => false,
        }
    }

    /// The application has a rebalance listener (its revoke callback
    /// commits): the lost callback then runs on the application thread at
    /// its next `poll()`; without one it completes at once on the
    /// background thread (`ConsumerMembershipManager
    /// .invokeOnPartitionsLostCallback`).
    fn has_rebalance_listener(&self) -> bool {
        self.group.commit_on_revoke
    }

    /// Partitions lost, epoch 0, a full heartbeat (`transitionToFenced`
    /// once the lost callback completed, or `maybeRejoinStaleMember`).
    fn rejoin_after_loss(&mut self, now: Time, out: &mut ConsumerOutbox) {
        self.lose_all(out);
        if let Some(m) = self.modern() {
            m.rejoin();
        }
        self.send_heartbeat_if_idle(now, out);
    }

    fn lose_all(&mut self, out: &mut ConsumerOutbox) {
        if !self.owned.is_empty() {
            out.facts.push(Fact::PartitionsLost {
                consumer: self.index,
                partitions: self.owned.take_all(),
            });
        }
        self.modern_fetch = None;
    }

    /// `maybeReconcile`: with auto-commit, everything consumed is
    /// committed first (`maybeAutoCommitSyncBeforeRevocation`); the
    /// revoke callback's commit of what it gives up otherwise.
    fn start_reconciliation(&mut self, now: Time, env: &ConsumerEnv<'_>, out: &mut ConsumerOutbox) {
        let Some(target) = self.modern().and_then(ModernMember::begin_reconciliation) else {
            // Nothing to reconcile, or only an acknowledgement to send.
            if self.modern_state() == Some(ModernState::Acknowledging) {
                self.send_heartbeat_if_idle(now, out);
            }
            return;
        };
        let revoked = self.revoked_by(&target);
        let token = match self.group.commit {
            CommitMode::Auto { .. } if !self.owned.is_empty() => Some(self.send_commit(out)),
            _ if self.group.commit_on_revoke && !revoked.is_empty() => {
                Some(self.send_commit_of(&revoked, out))
            }
            _ => None,
        };
        match (token, self.modern()) {
            (Some(token), Some(m)) => m.transition(ModernState::CommittingBeforeRevoke(token)),
            _ => self.finish_reconciliation(now, env, out),
        }
    }

    fn revoked_by(&self, target: &[TopicPartition]) -> Vec<TopicPartition> {
        self.owned
            .partitions()
            .into_iter()
            .filter(|tp| target.binary_search(tp).is_err())
            .collect()
    }

    /// Revoke, assign, acknowledge: the owned partitions become the
    /// target, and the acknowledging heartbeat goes out at once.
    pub(super) fn finish_reconciliation(
        &mut self,
        now: Time,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        let Some(target) = self
            .modern()
            .and_then(ModernMember::complete_reconciliation)
        else {
            return;
        };
        let revoked = self.revoked_by(&target);
        if !revoked.is_empty() {
            self.owned.remove(&revoked, env.cluster);
            out.facts.push(Fact::PartitionsRevoked {
                consumer: self.index,
                partitions: revoked,
            });
        }
        let owned = self.owned.partitions();
        let added: Vec<TopicPartition> = target
            .iter()
            .copied()
            .filter(|tp| owned.binary_search(tp).is_err())
            .collect();
        self.owned.add(&added, env.cluster);
        let epoch = self.modern.as_ref().map_or(0, |m| m.epoch());
        out.facts.push(Fact::PartitionsAssigned {
            consumer: self.index,
            generation: epoch,
            partitions: added,
        });
        self.commits.restart_auto_commit(now, self.group.commit);
        let unpositioned = self.owned.unpositioned();
        if !unpositioned.is_empty() {
            self.fetch_token += 1;
            self.modern_fetch = Some(self.fetch_token);
            out.requests.push(Request::Fetch {
                partitions: unpositioned,
                token: self.fetch_token,
            });
        }
        self.send_heartbeat_if_idle(now, out);
    }

    /// OffsetFetch answered: positions for the new partitions.
    pub(super) fn on_modern_fetch(
        &mut self,
        now: Time,
        token: u64,
        offsets: Vec<(usize, Option<u64>)>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if self.modern_fetch != Some(token) {
            return;
        }
        self.modern_fetch = None;
        let unpositioned = self.owned.unpositioned();
        let offsets = offsets
            .into_iter()
            .filter(|(p, _)| unpositioned.contains(p))
            .collect();
        self.apply_fetched_positions(now, offsets, env, out);
        self.drive_poll(now, env, out);
    }

    /// The heartbeat timer: a beat is due.
    pub(super) fn modern_heartbeat_due(&mut self, now: Time, out: &mut ConsumerOutbox) {
        let Some(m) = self.modern.as_mut() else {
            return;
        };
        if matches!(m.state(), ModernState::Fenced | ModernState::Stale) {
            return; // no heartbeats until the member rejoins
        }
        if m.in_flight {
            m.due = true; // sent as soon as the one in flight is answered
            return;
        }
        self.send_heartbeat(now, out);
    }

    /// Sends a heartbeat now unless one is in flight (then it follows the
    /// answer).
    pub(super) fn send_heartbeat_if_idle(&mut self, now: Time, out: &mut ConsumerOutbox) {
        match self.modern.as_mut() {
            Some(m) if m.in_flight => m.due = true,
            Some(_) => self.send_heartbeat(now, out),
            None => {}
        }
    }

    /// `HeartbeatState.buildRequestData`: member id, epoch and instance id
    /// always; subscription, rebalance timeout, assignor and rack when
    /// every field is due (joining, after an error); the owned partitions
    /// then and whenever they changed (the acknowledgement).
    fn send_heartbeat(&mut self, now: Time, out: &mut ConsumerOutbox) {
        let owned = self.owned.partitions();
        let subscription = self.subscription.clone();
        let instance_id = self.config.instance_id.clone();
        let rack = self.config.rack.clone();
        let rebalance_timeout = self.group.rebalance_timeout;
        let assignor = self.group.remote_assignor.map(|a| a.as_str().to_string());
        let fallback_interval = self.group.consumer_heartbeat_interval;
        let Some(m) = self.modern.as_mut() else {
            return;
        };
        let all = m.send_all;
        let owned_changed = m.owned_sent.as_ref() != Some(&owned);
        let subscription_changed = m.subscription_sent.as_ref() != Some(&subscription);
        let request = ConsumerHeartbeat {
            member_id: m.member_id().clone(),
            instance_id,
            member_epoch: m.epoch(),
            rack: if all { rack } else { None },
            rebalance_timeout: all.then_some(rebalance_timeout),
            subscription: (all || subscription_changed).then(|| subscription.clone()),
            assignor: if all { assignor } else { None },
            owned: (all || owned_changed).then(|| owned.clone()),
        };
        m.owned_sent = Some(owned);
        m.subscription_sent = Some(subscription);
        m.in_flight = true;
        m.due = false;
        // onHeartbeatRequestGenerated: the acknowledgement sent, the member
        // is stable.
        m.acknowledged();
        let interval = m.interval.unwrap_or(fallback_interval);
        out.requests
            .push(Request::ConsumerHeartbeat(Box::new(request)));
        let id: TimerId = self.heartbeat.arm();
        out.timers
            .push((now + interval, ConsumerTimer::Heartbeat(id)));
    }

    /// A heartbeat response.
    pub(super) fn on_modern_heartbeat(
        &mut self,
        now: Time,
        sent_epoch: i32,
        result: Result<ConsumerHeartbeatResult, GroupError>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if sent_epoch < 0 {
            return; // a leave: the answer is ignored
        }
        let listener = self.has_rebalance_listener();
        let Some(m) = self.modern.as_mut() else {
            return;
        };
        m.in_flight = false;
        if matches!(
            m.state(),
            ModernState::Fenced | ModernState::Stale | ModernState::Closing(_)
        ) {
            return;
        }
        match result {
            Ok(r) => {
                m.send_all = false;
                m.set_epoch(r.member_epoch);
                m.interval = Some(r.heartbeat_interval);
                if let Some(assignment) = r.assignment {
                    m.receive_assignment(assignment);
                }
                if m.state() == ModernState::Joining {
                    m.transition(ModernState::Stable);
                }
            }
            Err(GroupError::FencedMemberEpoch | GroupError::UnknownMemberId) => {
                let error = result.err().map_or("", |e| e.name());
                m.transition(ModernState::Fenced);
                out.facts.push(Fact::RejoinNeeded {
                    consumer: self.index,
                    cause: format!("heartbeat: {error}: partitions lost, rejoin at epoch 0"),
                });
                if !listener {
                    // No callback to wait for: lost and rejoining now.
                    self.rejoin_after_loss(now, out);
                    return;
                }
            }
            Err(
                e @ (GroupError::UnreleasedInstanceId
                | GroupError::FencedInstanceId
                | GroupError::GroupIdNotFound
                | GroupError::InconsistentGroupProtocol),
            ) => {
                out.facts.push(Fact::RejoinNeeded {
                    consumer: self.index,
                    cause: format!("{e}: the application gets an exception and exits"),
                });
                self.poll.batch = None;
                self.stop(StopReason::Fatal, out);
                return;
            }
            Err(e) if e.is_coordinator_error() => {
                // Heartbeat request manager: the coordinator is found again
                // (unless it only loads: backoff) and the next heartbeat is
                // full, with the same member id and epoch.
                m.send_all = true;
                if e.loses_coordinator() {
                    self.link.lose_coordinator();
                } else {
                    self.link.delay_next(now + super::requests::RETRY_BACKOFF);
                }
                self.send_heartbeat(now, out);
                return;
            }
            Err(_) => m.send_all = true,
        }
        let urgent =
            matches!(m.state(), ModernState::Joining | ModernState::Acknowledging) || m.due;
        if urgent {
            self.send_heartbeat(now, out);
        }
        // The application thread, blocked in poll(), handles the change.
        if self.poll.in_poll
            && matches!(
                self.modern_state(),
                Some(ModernState::Reconciling | ModernState::Fenced)
            )
        {
            self.drive_poll(now, env, out);
        }
    }

    /// A commit answered while reconciling or closing.
    pub(super) fn modern_commit_done(
        &mut self,
        now: Time,
        token: u64,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) -> bool {
        match self.modern_state() {
            Some(ModernState::CommittingBeforeRevoke(t)) if t == token => {
                self.finish_reconciliation(now, env, out);
                if self.poll.in_poll {
                    self.drive_poll(now, env, out);
                }
                true
            }
            Some(ModernState::Closing(t)) if t == token => {
                self.finish_modern_close(out);
                true
            }
            _ => false,
        }
    }

    /// `max.poll.interval.ms` expired (the heartbeat manager's check):
    /// leave at once with epoch -1 (static -2) and go STALE.
    pub(super) fn modern_poll_timed_out(&mut self, now: Time, out: &mut ConsumerOutbox) {
        if matches!(self.modern_state(), Some(ModernState::Closing(_))) {
            // Already leaving: close() ends with its leave, or gives up at
            // its timeout (a commit it waits for may go unanswered).
            return;
        }
        let in_group = self
            .modern
            .as_ref()
            .is_some_and(|m| m.state().in_group() && m.epoch() > 0);
        if !in_group {
            self.recheck_poll_timeout(now + self.group.consumer_heartbeat_interval, out);
            return;
        }
        self.report_poll_timeout(now, out);
        self.send_leave(out);
        if let Some(m) = self.modern() {
            m.transition(ModernState::Stale);
        }
        if !self.has_rebalance_listener() {
            // The lost callback completes at once; the rejoin still waits
            // for the application's next poll().
            self.lose_all(out);
        }
    }

    fn send_leave(&mut self, out: &mut ConsumerOutbox) {
        let epoch = if self.is_static() {
            LEAVE_GROUP_STATIC_MEMBER_EPOCH
        } else {
            LEAVE_GROUP_MEMBER_EPOCH
        };
        let instance_id = self.config.instance_id.clone();
        let Some(m) = self.modern.as_ref() else {
            return;
        };
        out.requests
            .push(Request::ConsumerHeartbeat(Box::new(ConsumerHeartbeat {
                member_id: m.member_id().clone(),
                instance_id,
                member_epoch: epoch,
                rack: None,
                rebalance_timeout: None,
                subscription: None,
                assignor: None,
                owned: None,
            })));
    }

    /// Graceful close: auto-commit everything consumed (sync), then
    /// revoke and leave (`releaseAssignmentAndLeaveGroup`).
    pub(super) fn begin_modern_close(&mut self, out: &mut ConsumerOutbox) {
        self.poll.in_poll = false;
        let in_group = self
            .modern
            .as_ref()
            .is_some_and(|m| m.state().in_group() && m.epoch() > 0);
        if in_group && self.commits_before_revoke() && !self.owned.is_empty() {
            let token = self.send_commit(out);
            if let Some(m) = self.modern() {
                m.transition(ModernState::Closing(token));
            }
            return;
        }
        self.finish_modern_close(out);
    }

    pub(super) fn finish_modern_close(&mut self, out: &mut ConsumerOutbox) {
        let in_group = self.modern.as_ref().is_some_and(|m| {
            m.epoch() > 0 && !matches!(m.state(), ModernState::Fenced | ModernState::Stale)
        });
        if in_group {
            if self.is_static() && !self.owned.is_empty() {
                // Epoch -2: the coordinator keeps the member and its
                // partitions until the session expires or the instance
                // returns.
                out.facts.push(Fact::PartitionsOrphaned {
                    consumer: self.index,
                    member: self.member_id().unwrap_or_default().to_string(),
                    partitions: self.owned.partitions(),
                });
            }
            self.revoke_all(out);
            self.send_leave(out);
        }
        self.stop(StopReason::Graceful, out);
    }

    /// A new member for a process start on the consumer protocol, with a
    /// client-generated id (KIP-1082).
    pub(super) fn new_modern_member(&mut self) -> ModernMember {
        let suffix = rand::RngCore::next_u64(&mut self.id_rng) >> 16;
        ModernMember::new(Arc::from(format!("{}-{suffix:012x}", self.config.name)))
    }
}
