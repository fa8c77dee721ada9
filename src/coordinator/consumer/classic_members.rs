//! Classic-protocol members of a consumer group, after an online upgrade
//! converted their classic group (`GroupMetadataManager
//! .classicGroupJoinToConsumerGroup`, `classicGroupSyncToConsumerGroup`,
//! `classicGroupHeartbeatToConsumerGroup`, `classicGroupLeaveToConsumerGroup`).
//! They keep speaking JoinGroup / SyncGroup / Heartbeat: a JoinGroup is
//! answered at once (no barrier) with the member epoch as generation,
//! after the member was reconciled with the partitions its subscription
//! says it owns; SyncGroup returns what it may consume; a heartbeat asks
//! it to rejoin (REBALANCE_IN_PROGRESS) whenever its reconciliation can
//! move on, which is how it revokes and then receives partitions.

use super::reconcile::{CurrentAssignment, ReconcileState};
use super::{ConsumerGroupCoordinator, Member};
use crate::assign::TopicPartition;
use crate::coordinator::CoordinatorOutbox;
use crate::coordinator::protocol::{
    Endpoint, GroupError, JoinRequest, JoinResult, MemberId, Response,
};
use crate::events::Fact;
use crate::sim::{Duration, Time};
use rand::RngCore;
use std::sync::Arc;

/// What a classic member keeps in a consumer group
/// (`ConsumerGroupMember.classicMemberMetadata`).
#[derive(Debug, Clone)]
pub(super) struct ClassicMetadata {
    /// Its JoinGroup `session.timeout.ms`.
    pub(super) session_timeout: Duration,
    /// Its assignors, in order of preference.
    pub(super) protocols: Vec<String>,
}

impl ConsumerGroupCoordinator {
    /// JoinGroup from a classic member.
    pub fn handle_classic_join(
        &mut self,
        now: Time,
        from: Endpoint,
        req: JoinRequest,
        out: &mut CoordinatorOutbox,
    ) {
        if req.member_id.is_empty() && req.instance_id.is_none() {
            // JoinGroupRequest.requiresKnownMemberId: a new id, then rejoin.
            let id = format!("{}-{:012x}", req.client_id, self.rng.next_u64() >> 16);
            out.facts.push(Fact::MemberIdRequired {
                consumer: from.consumer,
                member: id.clone(),
            });
            out.responses.push((
                from,
                Response::MemberIdRequired {
                    member_id: MemberId::from(id.as_str()),
                },
            ));
            return;
        }
        let id: Arc<str> = if req.member_id.is_empty() {
            let prefix = req.instance_id.as_deref().unwrap_or(&req.client_id);
            Arc::from(format!("{prefix}-{:012x}", self.rng.next_u64() >> 16))
        } else {
            Arc::from(req.member_id.as_str())
        };
        let classic = ClassicMetadata {
            session_timeout: req.session_timeout,
            protocols: req.protocols.clone(),
        };
        let mut bump = self.metadata_changed();
        let existing = match &req.instance_id {
            Some(instance) => self.static_ids.get(instance).cloned(),
            None => self.members.contains_key(&id).then(|| id.clone()),
        };
        match existing {
            Some(old) if old != id => {
                // A static member's new instance replaces the old one,
                // keeping its assignment (no release check for classic).
                self.replace_with(from, &old, &id, req.instance_id.clone(), out);
            }
            Some(_) => {}
            None => {
                self.insert_classic_member(from, &id, &req, classic.clone(), out);
                bump = true;
            }
        }
        if let Some(m) = self.members.get_mut(&id) {
            m.endpoint = from;
            m.classic = Some(classic);
            m.rebalance_timeout = req.rebalance_timeout;
            m.rack = req.metadata.rack.clone();
            if m.subscription != req.metadata.topics {
                m.subscription = req.metadata.topics.clone();
                bump = true;
            }
        }
        if bump {
            self.bump_epoch(&format!("classic member {id} joined"), out);
        }
        self.maybe_compute_target(now, out);
        let owned: Vec<TopicPartition> = req.metadata.owned.clone();
        self.maybe_reconcile(now, &id, Some(&owned), out);
        self.restart_session(now, &id, out);
        self.update_state(&format!("classic member {id} joined"), out);
        let Some(m) = self.members.get(&id) else {
            return;
        };
        let member_id = MemberId::from(&*id);
        let protocol = req.protocols.first().cloned().unwrap_or_default();
        out.responses.push((
            from,
            Response::Join(Ok(JoinResult {
                member_id: member_id.clone(),
                generation: m.current.epoch,
                leader: Some(member_id),
                members: None,
                skip_assignment: false,
                protocol,
            })),
        ));
    }

    fn insert_classic_member(
        &mut self,
        from: Endpoint,
        id: &Arc<str>,
        req: &JoinRequest,
        classic: ClassicMetadata,
        out: &mut CoordinatorOutbox,
    ) {
        let member = Member {
            endpoint: from,
            instance_id: req.instance_id.clone(),
            rack: req.metadata.rack.clone(),
            subscription: req.metadata.topics.clone(),
            assignor: None,
            rebalance_timeout: req.rebalance_timeout,
            current: CurrentAssignment::new_member(),
            session_deadline: Time::ZERO,
            session_timer: None,
            rebalance_timer: None,
            classic: Some(classic),
        };
        self.add_member(id.clone(), member, out);
    }

    /// The member a classic request names, validated as
    /// `ConsumerGroup.validateMember` and by generation (ILLEGAL_GENERATION
    /// for classic members).
    fn classic_member(
        &self,
        member_id: &MemberId,
        generation: Option<i32>,
    ) -> Result<Arc<str>, GroupError> {
        let (id, m) = self
            .members
            .get_key_value(member_id.as_str())
            .ok_or(GroupError::UnknownMemberId)?;
        if generation.is_some_and(|g| g != m.current.epoch) {
            return Err(GroupError::IllegalGeneration);
        }
        Ok(id.clone())
    }

    /// SyncGroup from a classic member: what it may consume now.
    pub fn handle_classic_sync(
        &mut self,
        now: Time,
        from: Endpoint,
        member_id: &MemberId,
        generation: i32,
        out: &mut CoordinatorOutbox,
    ) {
        let result = self
            .classic_member(member_id, Some(generation))
            .and_then(|id| {
                let m = &self.members[&id];
                if self.group_epoch > m.current.epoch
                    && m.current.state != ReconcileState::UnrevokedPartitions
                {
                    return Err(GroupError::RebalanceInProgress);
                }
                Ok((id, m.current.assigned.clone()))
            });
        let result = result.map(|(id, assigned)| {
            self.restart_session(now, &id, out);
            assigned
        });
        out.responses.push((from, Response::Sync(result)));
    }

    /// Heartbeat from a classic member: REBALANCE_IN_PROGRESS when its
    /// reconciliation can progress (its epoch is behind the group's, it
    /// must revoke, or partitions it waits for are free now).
    pub fn handle_classic_heartbeat(
        &mut self,
        now: Time,
        from: Endpoint,
        member_id: &MemberId,
        generation: i32,
        out: &mut CoordinatorOutbox,
    ) {
        let result = self
            .classic_member(member_id, Some(generation))
            .and_then(|id| {
                self.restart_session(now, &id, out);
                let m = &self.members[&id];
                let target = self.target.get(&id).map_or(&[][..], |t| t.as_slice());
                let released = m.current.state == ReconcileState::UnreleasedPartitions
                    && target.iter().any(|tp| {
                        m.current.assigned.binary_search(tp).is_err()
                            && !self.holders.contains_key(tp)
                    });
                if m.current.epoch < self.group_epoch
                    || m.current.state == ReconcileState::UnrevokedPartitions
                    || released
                {
                    Err(GroupError::RebalanceInProgress)
                } else {
                    Ok(())
                }
            });
        out.responses.push((from, Response::Heartbeat(result)));
    }

    /// LeaveGroup from a classic member: it is fenced (removed, epoch
    /// bumped).
    pub fn handle_classic_leave(&mut self, member_id: &MemberId, out: &mut CoordinatorOutbox) {
        if let Ok(id) = self.classic_member(member_id, None) {
            self.fence(&id, "left the group", out);
        }
    }

    /// A static member's new instance replaces `old` under `new`, keeping
    /// its assignment at epoch 0 (`replaceMember`).
    pub(super) fn replace_with(
        &mut self,
        from: Endpoint,
        old: &Arc<str>,
        new: &Arc<str>,
        instance: Option<String>,
        out: &mut CoordinatorOutbox,
    ) {
        let Some(mut member) = self.remove_member(old) else {
            return;
        };
        let target = self.target.remove(old).unwrap_or_default();
        member.current.epoch = 0;
        member.current.previous_epoch = 0;
        member.endpoint = from;
        member.session_timer = None;
        member.rebalance_timer = None;
        self.add_member_quietly(new.clone(), member);
        self.target.insert(new.clone(), target);
        if let Some(instance) = instance {
            self.static_ids.insert(instance.clone(), new.clone());
            out.facts.push(Fact::MemberReplaced {
                instance,
                old: old.to_string(),
                new: new.to_string(),
            });
        }
    }
}
