//! The KIP-848 consumer group as Kafka 4's group coordinator runs it
//! (`GroupMetadataManager.consumerGroupHeartbeat`, `ConsumerGroup`,
//! `ConsumerGroupMember`): no barrier and no leader. A group epoch is
//! bumped when membership or subscriptions change; the target assignment
//! is recomputed by the server-side assignor when the group epoch is ahead
//! of the assignment epoch; each member is reconciled towards its target
//! on its own heartbeats ([`reconcile`]), and a partition goes to a member
//! only once nobody else holds it or has it pending revocation.
//!
//! Split by job: `heartbeat` (joining, epochs, leaving), `target` (the
//! assignor run), `reconcile` (the pure `CurrentAssignmentBuilder`), this
//! file (the group's state, timers, fencing and offset commits).

mod classic_members;
mod convert;
mod heartbeat;
pub mod reconcile;
mod target;
#[cfg(test)]
mod tests;

use super::protocol::{Endpoint, GroupError, MemberId, Response};
use super::{CoordinatorOutbox, OffsetStore};
use crate::assign::{AssignorSet, Subscription, TopicPartition, TopicSpec};
use crate::events::{Fact, GroupState};
use crate::sim::{Duration, SimRng, Time};
use reconcile::{CurrentAssignment, ReconcileState};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Broker-side settings of a consumer group.
#[derive(Debug, Clone)]
pub struct ConsumerGroupConfig {
    /// `group.consumer.heartbeat.interval.ms`, given to members.
    pub heartbeat_interval: Duration,
    /// `group.consumer.session.timeout.ms`.
    pub session_timeout: Duration,
    /// `group.consumer.assignment.interval.ms` (Kafka 4.3, KIP-1263): a
    /// new target is computed at most once per interval, by the first
    /// heartbeat after it; zero computes at once.
    pub assignment_interval: Duration,
    /// `group.consumer.assignors`: the server-side assignors, the first
    /// being the default.
    pub assignors: Vec<String>,
    /// OffsetCommit is fenced by member epoch (Kafka always is; `false` is
    /// a what-if that accepts a zombie's commit).
    pub fencing: bool,
    /// `group.consumer.migration.policy` allows the online downgrade.
    pub downgrade: bool,
}

/// Timers the consumer group sets; stale ones are recognised by token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerGroupTimer {
    /// A member's session may have expired.
    Session {
        /// The member.
        member: Arc<str>,
        /// Arming token.
        token: u64,
    },
    /// A member still at `epoch` has not revoked within its rebalance
    /// timeout (`scheduleConsumerGroupRebalanceTimeout`).
    Rebalance {
        /// The member.
        member: Arc<str>,
        /// The epoch it had to leave.
        epoch: i32,
        /// Arming token.
        token: u64,
    },
}

/// One member of the consumer group.
#[derive(Debug, Clone)]
struct Member {
    endpoint: Endpoint,
    instance_id: Option<String>,
    rack: Option<String>,
    subscription: Subscription,
    /// `group.remote.assignor` the member asked for.
    assignor: Option<String>,
    rebalance_timeout: Duration,
    current: CurrentAssignment,
    /// The session ends then unless a heartbeat moves it.
    session_deadline: Time,
    /// The pending session timer's token (one pending at a time).
    session_timer: Option<u64>,
    /// The pending rebalance timer's token.
    rebalance_timer: Option<u64>,
    /// Set for a member speaking the classic protocol (after an online
    /// upgrade).
    classic: Option<classic_members::ClassicMetadata>,
}

impl Member {
    fn is_reconciled_to(&self, epoch: i32) -> bool {
        self.current.state == ReconcileState::Stable && self.current.epoch == epoch
    }

    /// A static member that left with epoch -2 and may come back.
    fn is_away(&self) -> bool {
        self.current.epoch == super::protocol::LEAVE_GROUP_STATIC_MEMBER_EPOCH
    }
}

/// A member as the rest of the simulation may see it.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerMemberView<'a> {
    /// Member id.
    pub id: &'a str,
    /// The consumer process behind it.
    pub endpoint: Endpoint,
    /// Member epoch.
    pub epoch: i32,
    /// Reconciliation state.
    pub state: ReconcileState,
    /// The partitions it may consume.
    pub assigned: &'a [TopicPartition],
}

/// One consumer group's coordinator (KIP-848 consumer protocol). Cloned
/// as the image a new coordinator loads after a failover: every change of
/// a consumer group is a record in `__consumer_offsets`.
#[derive(Clone)]
pub struct ConsumerGroupCoordinator {
    config: ConsumerGroupConfig,
    assignors: AssignorSet,
    topics: Arc<Vec<TopicSpec>>,
    state: GroupState,
    group_epoch: i32,
    assignment_epoch: i32,
    members: BTreeMap<Arc<str>, Member>,
    /// `group.instance.id` → member id.
    static_ids: BTreeMap<String, Arc<str>>,
    /// The target assignment per member id.
    target: BTreeMap<Arc<str>, Vec<TopicPartition>>,
    /// Who holds each partition, assigned or pending revocation
    /// (`ConsumerGroup.currentPartitionEpoch`).
    holders: BTreeMap<TopicPartition, Arc<str>>,
    /// Members not reconciled to the assignment epoch (kept as a count so
    /// the group's state is O(1) to derive).
    unreconciled: usize,
    /// Static members away (epoch -2), counted among `unreconciled`.
    away: usize,
    /// When the last target assignment was computed.
    last_assignment_at: Option<Time>,
    next_token: u64,
    /// Draws member ids for classic members (MEMBER_ID_REQUIRED).
    rng: SimRng,
    /// The last consumer-protocol member left a group of classic members:
    /// the coordinator converts it back to a classic group.
    downgrade_pending: bool,
    /// Converted from a classic group: no subscription metadata recorded
    /// yet, so the next heartbeat's metadata refresh finds it changed and
    /// bumps the group epoch (`hasMetadataExpired`, `fromClassicGroup`
    /// writes none).
    metadata_unrecorded: bool,
    /// Why the metadata is to be refreshed (for the epoch bump's reason).
    metadata_reason: &'static str,
}

impl ConsumerGroupCoordinator {
    /// An empty group over `topics` (the cluster's, in name order) whose
    /// server-side assignors are found in `assignors`.
    pub fn new(
        config: ConsumerGroupConfig,
        topics: Vec<TopicSpec>,
        assignors: AssignorSet,
        rng: SimRng,
    ) -> Self {
        ConsumerGroupCoordinator {
            config,
            assignors,
            topics: Arc::new(topics),
            state: GroupState::Empty,
            group_epoch: 0,
            assignment_epoch: 0,
            members: BTreeMap::new(),
            static_ids: BTreeMap::new(),
            target: BTreeMap::new(),
            holders: BTreeMap::new(),
            unreconciled: 0,
            away: 0,
            last_assignment_at: None,
            next_token: 0,
            rng,
            downgrade_pending: false,
            metadata_unrecorded: false,
            metadata_reason: "",
        }
    }

    /// The group's state (`ConsumerGroup.maybeUpdateGroupState`).
    pub fn state(&self) -> GroupState {
        self.state
    }

    /// The group epoch.
    pub fn group_epoch(&self) -> i32 {
        self.group_epoch
    }

    /// The epoch of the current target assignment.
    pub fn assignment_epoch(&self) -> i32 {
        self.assignment_epoch
    }

    /// True while `member_id` is a member.
    pub fn is_member(&self, member_id: &str) -> bool {
        self.members.contains_key(member_id)
    }

    /// The member's epoch, if it is a member.
    pub fn member_epoch(&self, member_id: &str) -> Option<i32> {
        self.members.get(member_id).map(|m| m.current.epoch)
    }

    /// Number of members.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Members in member-id order.
    pub fn members(&self) -> impl Iterator<Item = ConsumerMemberView<'_>> {
        self.members.iter().map(|(id, m)| ConsumerMemberView {
            id,
            endpoint: m.endpoint,
            epoch: m.current.epoch,
            state: m.current.state,
            assigned: &m.current.assigned,
        })
    }

    /// The member's target assignment.
    pub fn target_of(&self, member_id: &str) -> &[TopicPartition] {
        self.target.get(member_id).map_or(&[], |t| t.as_slice())
    }

    /// After a failover, the group as a new coordinator loaded it
    /// (`GroupMetadataManager.onLoaded`): epochs and assignments as they
    /// were; every member's session restarts from `now`, and members that
    /// must still revoke get their rebalance timeout again.
    pub fn on_loaded(&mut self, now: Time, out: &mut CoordinatorOutbox) {
        let ids: Vec<Arc<str>> = self.members.keys().cloned().collect();
        for id in ids {
            if let Some(m) = self.members.get_mut(&id) {
                m.session_timer = None;
                m.rebalance_timer = None;
            }
            self.restart_session(now, &id, out);
            let token = self.token();
            let Some(m) = self.members.get_mut(&id) else {
                continue;
            };
            if m.current.state == ReconcileState::UnrevokedPartitions {
                m.rebalance_timer = Some(token);
                out.consumer_timers.push((
                    now + m.rebalance_timeout,
                    ConsumerGroupTimer::Rebalance {
                        member: id.clone(),
                        epoch: m.current.epoch,
                        token,
                    },
                ));
            }
        }
    }

    /// Handles a timer set earlier.
    pub fn on_timer(&mut self, now: Time, timer: ConsumerGroupTimer, out: &mut CoordinatorOutbox) {
        match timer {
            ConsumerGroupTimer::Session { member, token } => {
                let Some(m) = self.members.get_mut(&member) else {
                    return;
                };
                if m.session_timer != Some(token) {
                    return;
                }
                if now < m.session_deadline {
                    let at = m.session_deadline;
                    let token = self.arm_session(&member, at, out);
                    debug_assert!(token.is_some());
                    return;
                }
                m.session_timer = None;
                out.facts.push(Fact::SessionExpired {
                    member: member.to_string(),
                });
                self.fence(&member, "session timeout", out);
            }
            ConsumerGroupTimer::Rebalance {
                member,
                epoch,
                token,
            } => {
                let fire = self
                    .members
                    .get(&member)
                    .is_some_and(|m| m.rebalance_timer == Some(token) && m.current.epoch == epoch);
                if fire {
                    self.fence(&member, "rebalance timeout: partitions not revoked", out);
                }
            }
        }
    }

    fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    /// Arms `member`'s session timer at `at`.
    fn arm_session(
        &mut self,
        member: &Arc<str>,
        at: Time,
        out: &mut CoordinatorOutbox,
    ) -> Option<u64> {
        let token = self.token();
        let m = self.members.get_mut(member)?;
        m.session_timer = Some(token);
        out.consumer_timers.push((
            at,
            ConsumerGroupTimer::Session {
                member: member.clone(),
                token,
            },
        ));
        Some(token)
    }

    /// `scheduleConsumerGroupSessionTimeout`: the session restarts now
    /// (one timer stays pending; it re-arms itself when the deadline
    /// moved).
    fn restart_session(&mut self, now: Time, member: &Arc<str>, out: &mut CoordinatorOutbox) {
        let Some(m) = self.members.get_mut(member) else {
            return;
        };
        // A classic member's session is the one its JoinGroup asked for.
        let timeout = m
            .classic
            .as_ref()
            .map_or(self.config.session_timeout, |c| c.session_timeout);
        let deadline = now + timeout;
        m.session_deadline = deadline;
        if m.session_timer.is_none() {
            self.arm_session(member, deadline, out);
        }
    }

    /// `consumerGroupFenceMember`: the member and its target go, what it
    /// held is free, and the group epoch is bumped.
    fn fence(&mut self, member: &Arc<str>, reason: &'static str, out: &mut CoordinatorOutbox) {
        // validateOnlineDowngradeWithFencedMember: the last consumer-protocol
        // member leaves a group of classic members (more than one member
        // before it leaves): convert instead of bumping the epoch.
        let downgrade = self.config.downgrade
            && self.members.len() > 1
            && self
                .members
                .get(member)
                .is_some_and(|m| m.classic.is_none())
            && self
                .members
                .iter()
                .all(|(id, m)| id == member || m.classic.is_some());
        let Some(m) = self.remove_member(member) else {
            return;
        };
        self.target.remove(member);
        if let Some(instance) = &m.instance_id {
            if self.static_ids.get(instance) == Some(member) {
                self.static_ids.remove(instance);
            }
        }
        out.facts.push(Fact::MemberRemoved {
            member: member.to_string(),
            reason,
        });
        if downgrade {
            self.downgrade_pending = true;
            return;
        }
        // Worded as the classic group's reasons, which the rebalance
        // accounting classifies.
        let why = match reason {
            "session timeout" => format!("member {member} session expired"),
            "left the group" => format!("member {member} left"),
            other => format!("member {member} removed ({other})"),
        };
        self.bump_epoch(&why, out);
    }

    /// Adds `member` under `id`: counted, its partitions held.
    fn add_member_quietly(&mut self, id: Arc<str>, member: Member) {
        if !member.is_reconciled_to(self.assignment_epoch) {
            self.unreconciled += 1;
        }
        if member.is_away() {
            self.away += 1;
        }
        let current = member.current.clone();
        self.members.insert(id.clone(), member);
        self.hold(&id, &current);
    }

    /// Adds a new member and reports it.
    fn add_member(&mut self, id: Arc<str>, member: Member, out: &mut CoordinatorOutbox) {
        let instance = member.instance_id.clone();
        self.add_member_quietly(id.clone(), member);
        if let Some(instance) = &instance {
            self.static_ids.insert(instance.clone(), id.clone());
        }
        out.facts.push(Fact::MemberAdded {
            member: id.to_string(),
            instance,
        });
    }

    /// Takes `id` out of the member table, its partitions released.
    fn remove_member(&mut self, id: &Arc<str>) -> Option<Member> {
        let m = self.members.remove(id)?;
        if !m.is_reconciled_to(self.assignment_epoch) {
            self.unreconciled -= 1;
        }
        if m.is_away() {
            self.away -= 1;
        }
        self.release(id, &m.current);
        Some(m)
    }

    /// Recomputes the target when the group epoch is ahead of it and the
    /// assignment interval has passed since the last computation
    /// (`canComputeNextTargetAssignment`); meanwhile members reconcile
    /// towards the previous target.
    /// The topics as the group last recorded them.
    pub fn topics(&self) -> &[TopicSpec] {
        &self.topics
    }

    /// The topics' metadata changed (partitions added): the coordinator
    /// learns it at once from the metadata image, and the next heartbeat
    /// of any member refreshes the subscription metadata and bumps the
    /// group epoch (`GroupMetadataManager.onNewMetadataImage` only flags
    /// the group; `consumerGroupHeartbeat` acts on it).
    pub fn topics_changed(&mut self, topics: Vec<TopicSpec>) {
        self.topics = Arc::new(topics);
        self.metadata_unrecorded = true;
        self.metadata_reason = "refreshed: partitions were added";
    }

    /// The subscription metadata is refreshed: a converted group's first
    /// refresh, and the first after partitions were added, bump the epoch.
    fn metadata_changed(&mut self) -> bool {
        std::mem::take(&mut self.metadata_unrecorded)
    }

    fn maybe_compute_target(&mut self, now: Time, out: &mut CoordinatorOutbox) {
        let interval_passed = self
            .last_assignment_at
            .is_none_or(|at| now >= at + self.config.assignment_interval);
        if self.group_epoch > self.assignment_epoch && interval_passed {
            self.last_assignment_at = Some(now);
            self.compute_target(out);
        }
    }

    /// Forgets the partitions `current` held for `member`.
    fn release(&mut self, member: &Arc<str>, current: &CurrentAssignment) {
        for tp in current.assigned.iter().chain(&current.pending_revocation) {
            if self.holders.get(tp) == Some(member) {
                self.holders.remove(tp);
            }
        }
    }

    /// Records the partitions `current` holds for `member`.
    fn hold(&mut self, member: &Arc<str>, current: &CurrentAssignment) {
        for &tp in current.assigned.iter().chain(&current.pending_revocation) {
            let previous = self.holders.insert(tp, member.clone());
            debug_assert!(
                previous.as_ref().is_none_or(|p| p == member),
                "partition {tp:?} given to {member} while {previous:?} holds it"
            );
        }
    }

    fn bump_epoch(&mut self, reason: &str, out: &mut CoordinatorOutbox) {
        self.group_epoch += 1;
        out.facts.push(Fact::EpochBumped {
            epoch: self.group_epoch,
            members: self.members.len(),
            reason: reason.to_string(),
        });
        self.update_state(reason, out);
    }

    /// `ConsumerGroup.maybeUpdateGroupState`.
    fn update_state(&mut self, reason: &str, out: &mut CoordinatorOutbox) {
        let state = if self.members.is_empty() {
            GroupState::Empty
        } else if self.group_epoch > self.assignment_epoch {
            GroupState::Assigning
        } else if self.unreconciled > self.away {
            // Kafka reads RECONCILING while a static member is away (its
            // epoch -2 is not the target's); here a group whose only
            // non-reconciled members are away reads Stable: nothing is
            // being rebalanced, their partitions are just not processed.
            GroupState::Reconciling
        } else {
            GroupState::Stable
        };
        if state != self.state {
            self.state = state;
            out.facts.push(Fact::StateChanged {
                state,
                generation: self.group_epoch,
                reason: reason.to_string(),
            });
        }
    }

    /// OffsetCommit (`ConsumerGroup.validateOffsetCommit`): a commit with a
    /// negative epoch is taken by an empty group; otherwise the member must
    /// exist (UNKNOWN_MEMBER_ID) at exactly that epoch (STALE_MEMBER_EPOCH).
    #[allow(clippy::too_many_arguments)]
    pub fn handle_commit(
        &mut self,
        from: Endpoint,
        member_id: &MemberId,
        epoch: i32,
        offsets: &[(usize, u64)],
        token: u64,
        store: &mut OffsetStore,
        out: &mut CoordinatorOutbox,
    ) {
        let valid = if !self.config.fencing || (epoch < 0 && self.members.is_empty()) {
            Ok(())
        } else {
            match self.members.get(member_id.as_str()) {
                None => Err(GroupError::UnknownMemberId),
                // validateMemberEpoch: ILLEGAL_GENERATION for classic
                // members, STALE_MEMBER_EPOCH for the others.
                Some(m) if m.current.epoch != epoch && m.classic.is_some() => {
                    Err(GroupError::IllegalGeneration)
                }
                Some(m) if m.current.epoch != epoch => Err(GroupError::StaleMemberEpoch),
                Some(_) => Ok(()),
            }
        };
        if valid.is_ok() {
            store.store_commit(offsets, member_id, &mut out.facts);
        }
        out.responses.push((
            from,
            Response::Commit {
                token,
                result: valid,
            },
        ));
    }

    /// OffsetFetch: the committed offsets.
    pub fn handle_fetch(
        &self,
        from: Endpoint,
        partitions: &[usize],
        token: u64,
        store: &OffsetStore,
        out: &mut CoordinatorOutbox,
    ) {
        let offsets = partitions.iter().map(|&p| (p, store.get(p))).collect();
        out.responses
            .push((from, Response::Fetch { token, offsets }));
    }
}
