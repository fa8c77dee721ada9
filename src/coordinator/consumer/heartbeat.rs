//! `ConsumerGroupHeartbeat` on the coordinator
//! (`GroupMetadataManager.consumerGroupHeartbeat`): get or create the
//! member (static members through their instance id), validate its epoch,
//! update its subscription (bumping the group epoch when it changed or the
//! member is new), recompute the target when the group epoch is ahead of
//! it, reconcile the member, restart its session and answer. Leaves come
//! as heartbeats with a negative epoch (`consumerGroupLeave`).

use super::reconcile::{CurrentAssignment, ReconcileState, reconcile};
use super::{ConsumerGroupCoordinator, ConsumerGroupTimer, Member};
use crate::assign::TopicPartition;
use crate::coordinator::CoordinatorOutbox;
use crate::coordinator::protocol::{
    ConsumerHeartbeat, ConsumerHeartbeatResult, Endpoint, GroupError, LEAVE_GROUP_MEMBER_EPOCH,
    LEAVE_GROUP_STATIC_MEMBER_EPOCH, Response,
};
use crate::sim::Time;
use std::sync::Arc;

impl ConsumerGroupCoordinator {
    /// Handles one heartbeat and answers it.
    pub fn handle_heartbeat(
        &mut self,
        now: Time,
        from: Endpoint,
        hb: ConsumerHeartbeat,
        out: &mut CoordinatorOutbox,
    ) {
        let sent_epoch = hb.member_epoch;
        let result = if sent_epoch == LEAVE_GROUP_MEMBER_EPOCH
            || sent_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH
        {
            self.leave(&hb, out)
        } else {
            self.heartbeat(now, from, hb, out)
        };
        out.responses
            .push((from, Response::ConsumerHeartbeat { sent_epoch, result }));
    }

    fn heartbeat(
        &mut self,
        now: Time,
        from: Endpoint,
        hb: ConsumerHeartbeat,
        out: &mut CoordinatorOutbox,
    ) -> Result<ConsumerHeartbeatResult, GroupError> {
        let id = hb.member_id.clone();
        let new_member = self.get_or_subscribe(from, &hb, out)?;
        let before = self.members.get(&id).map(|m| m.current.assigned.clone());
        let metadata_changed = self.metadata_changed();
        let mut subscription_changed = false;
        if let Some(m) = self.members.get_mut(&id) {
            m.endpoint = from;
            if let Some(t) = hb.rebalance_timeout {
                m.rebalance_timeout = t;
            }
            if hb.rack.is_some() {
                m.rack = hb.rack.clone();
            }
            if hb.assignor.is_some() {
                m.assignor = hb.assignor.clone();
            }
            if let Some(sub) = &hb.subscription {
                if *sub != m.subscription {
                    m.subscription = sub.clone();
                    subscription_changed = true;
                }
            }
        }
        let why = if new_member {
            Some(format!("member {id} joined"))
        } else if subscription_changed {
            Some(format!("member {id} changed its subscription"))
        } else if metadata_changed {
            Some(format!(
                "subscription metadata {} (member {id} heartbeat)",
                self.metadata_reason
            ))
        } else {
            None
        };
        if let Some(why) = why {
            self.bump_epoch(&why, out);
        }
        self.maybe_compute_target(now, out);
        self.maybe_reconcile(now, &id, hb.owned.as_deref(), out);
        self.restart_session(now, &id, out);
        self.update_state(&format!("member {id} heartbeat"), out);
        let m = self.members.get(&id).ok_or(GroupError::UnknownMemberId)?;
        // The assignment goes back on a full request or when it changed.
        let full = hb.member_epoch == 0
            || (hb.rebalance_timeout.is_some() && hb.subscription.is_some() && hb.owned.is_some());
        let changed = before.as_ref() != Some(&m.current.assigned);
        Ok(ConsumerHeartbeatResult {
            member_epoch: m.current.epoch,
            heartbeat_interval: self.config.heartbeat_interval,
            assignment: (full || changed).then(|| m.current.assigned.clone()),
        })
    }

    /// `getOrMaybeSubscribe{Dynamic,Static}ConsumerGroupMember` with
    /// `throwIfConsumerGroupMemberEpochIsInvalid`; true when a member was
    /// created.
    fn get_or_subscribe(
        &mut self,
        from: Endpoint,
        hb: &ConsumerHeartbeat,
        out: &mut CoordinatorOutbox,
    ) -> Result<bool, GroupError> {
        let id = &hb.member_id;
        let joining = hb.member_epoch == 0;
        match (&hb.instance_id, joining) {
            // Kafka 4.3 (KAFKA-19233): epoch 0 from a known member is a
            // rejoin after fencing and is always accepted.
            (None, true) if self.members.contains_key(id) => Ok(false),
            (None, _) => match self.members.get(id) {
                Some(m) => check_epoch(m, hb.member_epoch, hb.owned.as_deref()).map(|_| false),
                None if joining => {
                    self.insert_member(from, hb, CurrentAssignment::new_member(), out);
                    Ok(true)
                }
                None => Err(GroupError::UnknownMemberId),
            },
            (Some(instance), true) => match self.static_ids.get(instance).cloned() {
                None => {
                    self.insert_member(from, hb, CurrentAssignment::new_member(), out);
                    Ok(true)
                }
                Some(old) => {
                    let old_member = self.members.get(&old).ok_or(GroupError::UnknownMemberId)?;
                    // throwIfInstanceIdIsUnreleased: between two
                    // consumer-protocol instances, only a member that sent
                    // its static leave (epoch -2) may be replaced; a classic
                    // one always is (it sends no such leave).
                    if old_member.classic.is_none()
                        && old_member.current.epoch != LEAVE_GROUP_STATIC_MEMBER_EPOCH
                    {
                        return Err(GroupError::UnreleasedInstanceId);
                    }
                    self.replace_static(from, hb, &old, out);
                    Ok(false)
                }
            },
            (Some(instance), false) => match self.static_ids.get(instance) {
                None => Err(GroupError::UnknownMemberId),
                Some(holder) if holder != id => Err(GroupError::FencedInstanceId),
                Some(holder) => {
                    let m = self
                        .members
                        .get(holder)
                        .ok_or(GroupError::UnknownMemberId)?;
                    check_epoch(m, hb.member_epoch, hb.owned.as_deref()).map(|_| false)
                }
            },
        }
    }

    fn insert_member(
        &mut self,
        from: Endpoint,
        hb: &ConsumerHeartbeat,
        current: CurrentAssignment,
        out: &mut CoordinatorOutbox,
    ) {
        let member = Member {
            endpoint: from,
            instance_id: hb.instance_id.clone(),
            rack: hb.rack.clone(),
            subscription: hb.subscription.clone().unwrap_or_else(|| Arc::from([])),
            assignor: hb.assignor.clone(),
            rebalance_timeout: hb.rebalance_timeout.unwrap_or(self.config.session_timeout),
            current,
            session_deadline: Time::ZERO,
            session_timer: None,
            rebalance_timer: None,
            classic: None,
        };
        self.add_member(hb.member_id.clone(), member, out);
    }

    /// A new instance takes over a static member that left with epoch -2:
    /// its assignment carries over at epoch 0, without a group epoch bump
    /// (`ConsumerGroupMember.Builder(existing, newMemberId)`, `replaceMember`).
    fn replace_static(
        &mut self,
        from: Endpoint,
        hb: &ConsumerHeartbeat,
        old: &Arc<str>,
        out: &mut CoordinatorOutbox,
    ) {
        self.replace_with(from, old, &hb.member_id, hb.instance_id.clone(), out);
        if let Some(m) = self.members.get_mut(&hb.member_id) {
            m.classic = None;
        }
    }

    /// `maybeReconcile`: moves the member towards its target unless it is
    /// reconciled to the assignment epoch already; (re)arms or cancels its
    /// rebalance timeout.
    pub(super) fn maybe_reconcile(
        &mut self,
        now: Time,
        id: &Arc<str>,
        owned: Option<&[TopicPartition]>,
        out: &mut CoordinatorOutbox,
    ) {
        let epoch = self.assignment_epoch;
        let Some(m) = self.members.get(id) else {
            return;
        };
        if m.is_reconciled_to(epoch) {
            return;
        }
        let target = self.target.get(id).map_or(&[][..], |t| t.as_slice());
        let holders = &self.holders;
        let next = reconcile(&m.current, epoch, target, owned, &|tp| {
            holders.contains_key(&tp)
        });
        if next == m.current {
            return;
        }
        let revoking = next.state == ReconcileState::UnrevokedPartitions;
        let next_epoch = next.epoch;
        self.set_current(id, next);
        let token = self.token();
        let Some(m) = self.members.get_mut(id) else {
            return;
        };
        if revoking {
            m.rebalance_timer = Some(token);
            out.consumer_timers.push((
                now + m.rebalance_timeout,
                ConsumerGroupTimer::Rebalance {
                    member: id.clone(),
                    epoch: next_epoch,
                    token,
                },
            ));
        } else {
            m.rebalance_timer = None;
        }
    }

    /// Replaces the member's current assignment, keeping the partition
    /// holders and the count of unreconciled members right.
    fn set_current(&mut self, id: &Arc<str>, next: CurrentAssignment) {
        let epoch = self.assignment_epoch;
        let Some(m) = self.members.get(id) else {
            return;
        };
        let was = m.is_reconciled_to(epoch);
        let was_away = m.is_away();
        let old = m.current.clone();
        self.release(id, &old);
        self.hold(id, &next);
        if let Some(m) = self.members.get_mut(id) {
            m.current = next;
            let is = m.is_reconciled_to(epoch);
            match (was, is) {
                (true, false) => self.unreconciled += 1,
                (false, true) => self.unreconciled -= 1,
                _ => {}
            }
            match (was_away, m.is_away()) {
                (false, true) => self.away += 1,
                (true, false) => self.away -= 1,
                _ => {}
            }
        }
    }

    /// `consumerGroupLeave`: epoch -1 removes the member (bumping the group
    /// epoch); a static member's -2 keeps it, with its assigned partitions,
    /// until its session times out or a new instance replaces it.
    fn leave(
        &mut self,
        hb: &ConsumerHeartbeat,
        out: &mut CoordinatorOutbox,
    ) -> Result<ConsumerHeartbeatResult, GroupError> {
        let id = match &hb.instance_id {
            None => {
                if !self.members.contains_key(&hb.member_id) {
                    return Err(GroupError::UnknownMemberId);
                }
                hb.member_id.clone()
            }
            Some(instance) => match self.static_ids.get(instance) {
                None => return Err(GroupError::UnknownMemberId),
                Some(holder) if *holder != hb.member_id => {
                    return Err(GroupError::FencedInstanceId);
                }
                Some(holder) => holder.clone(),
            },
        };
        if hb.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH && hb.instance_id.is_some() {
            let Some(m) = self.members.get(&id) else {
                return Err(GroupError::UnknownMemberId);
            };
            let mut next = m.current.clone();
            next.epoch = LEAVE_GROUP_STATIC_MEMBER_EPOCH;
            next.pending_revocation.clear();
            self.set_current(&id, next);
            if let Some(m) = self.members.get_mut(&id) {
                m.rebalance_timer = None;
            }
            self.update_state(&format!("static member {id} away (epoch -2)"), out);
        } else {
            self.fence(&id, "left the group", out);
        }
        Ok(ConsumerHeartbeatResult {
            member_epoch: hb.member_epoch,
            heartbeat_interval: self.config.heartbeat_interval,
            assignment: None,
        })
    }
}

/// `throwIfConsumerGroupMemberEpochIsInvalid`: an epoch ahead of the
/// member's is fenced; one behind is accepted only if it is the previous
/// epoch and the member owns a subset of its assignment (the response with
/// the new epoch was lost).
fn check_epoch(
    member: &Member,
    received: i32,
    owned: Option<&[TopicPartition]>,
) -> Result<(), GroupError> {
    let current = &member.current;
    if received > current.epoch {
        return Err(GroupError::FencedMemberEpoch);
    }
    if received < current.epoch {
        let subset = owned.is_some_and(|owned| {
            owned
                .iter()
                .all(|tp| current.assigned.binary_search(tp).is_ok())
        });
        if received != current.previous_epoch || !subset {
            return Err(GroupError::FencedMemberEpoch);
        }
    }
    Ok(())
}
