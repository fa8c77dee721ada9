//! The online upgrade: a classic group becomes a consumer group when a
//! consumer-protocol member joins it (`ConsumerGroup.fromClassicGroup`).
//! The group epoch and the assignment epoch start at the classic
//! generation; every member is STABLE at it with its last classic
//! assignment as both its current and its target assignment, keeps its
//! classic session timeout, and goes on speaking the classic protocol.

use super::classic_members::ClassicMetadata;
use super::reconcile::{CurrentAssignment, ReconcileState};
use super::{ConsumerGroupConfig, ConsumerGroupCoordinator, Member};
use crate::assign::{AssignorSet, MemberSpec, TopicSpec};
use crate::coordinator::CoordinatorOutbox;
use crate::coordinator::classic::{ClassicExport, ExportedMember, Parked};
use crate::coordinator::protocol::{GroupError, MemberId, Response};
use crate::sim::{SimRng, Time};
use std::sync::Arc;

impl ConsumerGroupCoordinator {
    /// The consumer group an online upgrade makes of `classic` at `now`;
    /// requests parked in the classic group are answered
    /// REBALANCE_IN_PROGRESS.
    pub fn from_classic(
        config: ConsumerGroupConfig,
        topics: Vec<TopicSpec>,
        assignors: AssignorSet,
        rng: SimRng,
        classic: ClassicExport,
        now: Time,
        out: &mut CoordinatorOutbox,
    ) -> Self {
        let mut group = ConsumerGroupCoordinator::new(config, topics, assignors, rng);
        let epoch = classic.generation;
        group.group_epoch = epoch;
        group.assignment_epoch = epoch;
        group.metadata_unrecorded = true;
        group.metadata_reason = "refreshed after the conversion";
        for m in classic.members {
            let id: Arc<str> = Arc::from(m.id.as_str());
            let mut assigned = m.assignment.clone();
            assigned.sort_unstable();
            assigned.dedup();
            let member = Member {
                endpoint: m.endpoint,
                instance_id: m.instance_id.clone(),
                rack: m.metadata.rack.clone(),
                subscription: m.metadata.topics.clone(),
                assignor: None,
                rebalance_timeout: m.rebalance_timeout,
                current: CurrentAssignment {
                    state: ReconcileState::Stable,
                    epoch,
                    previous_epoch: epoch,
                    assigned: assigned.clone(),
                    pending_revocation: Vec::new(),
                },
                session_deadline: Time::ZERO,
                session_timer: None,
                rebalance_timer: None,
                classic: Some(ClassicMetadata {
                    session_timeout: m.session_timeout,
                    protocols: m.protocols.clone(),
                }),
            };
            group.add_member_quietly(id.clone(), member);
            if let Some(instance) = m.instance_id {
                group.static_ids.insert(instance, id.clone());
            }
            group.target.insert(id.clone(), assigned);
            group.restart_session(now, &id, out);
        }
        for parked in classic.parked {
            match parked {
                Parked::Join(to) => out
                    .responses
                    .push((to, Response::Join(Err(GroupError::RebalanceInProgress)))),
                Parked::Sync(to) => out
                    .responses
                    .push((to, Response::Sync(Err(GroupError::RebalanceInProgress)))),
            }
        }
        group.update_state("converted from a classic group (online upgrade)", out);
        group
    }
}

impl ConsumerGroupCoordinator {
    /// True once (and then no more) when the group must become a classic
    /// group: its last consumer-protocol member left.
    pub fn take_downgrade(&mut self) -> bool {
        std::mem::take(&mut self.downgrade_pending)
    }

    /// The members for `ClassicGroup.fromConsumerGroup`: every member
    /// (all classic now) with its target assignment.
    pub fn export_for_downgrade(&self) -> Vec<ExportedMember> {
        self.members
            .iter()
            .map(|(id, m)| {
                let target = self.target.get(id).cloned().unwrap_or_default();
                ExportedMember {
                    id: MemberId::from(&**id),
                    endpoint: m.endpoint,
                    instance_id: m.instance_id.clone(),
                    metadata: MemberSpec {
                        id: id.to_string(),
                        instance_id: m.instance_id.clone(),
                        rack: m.rack.clone(),
                        topics: m.subscription.clone(),
                        owned: target.clone(),
                        generation: Some(self.group_epoch),
                    },
                    protocols: m
                        .classic
                        .as_ref()
                        .map(|c| c.protocols.clone())
                        .unwrap_or_default(),
                    session_timeout: m
                        .classic
                        .as_ref()
                        .map_or(self.config.session_timeout, |c| c.session_timeout),
                    rebalance_timeout: m.rebalance_timeout,
                    assignment: target,
                }
            })
            .collect()
    }
}
