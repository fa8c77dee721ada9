//! What an online upgrade takes from a classic group
//! (`ConsumerGroup.fromClassicGroup`): its generation and each member with
//! its subscription, timeouts and last assignment; and the requests parked
//! in a join or sync phase, which the conversion answers with
//! REBALANCE_IN_PROGRESS (`GroupMetadataManager.convertToConsumerGroup`).

use super::ClassicCoordinator;
use crate::assign::{MemberSpec, TopicPartition};
use crate::coordinator::protocol::{Endpoint, MemberId};
use crate::sim::Duration;

/// One classic member as the conversion sees it.
#[derive(Debug, Clone)]
pub struct ExportedMember {
    /// Member id.
    pub id: MemberId,
    /// The process behind it.
    pub endpoint: Endpoint,
    /// `group.instance.id`.
    pub instance_id: Option<String>,
    /// Its last subscription.
    pub metadata: MemberSpec,
    /// Its assignors.
    pub protocols: Vec<String>,
    /// `session.timeout.ms` of its JoinGroup.
    pub session_timeout: Duration,
    /// Its rebalance timeout.
    pub rebalance_timeout: Duration,
    /// The partitions of its last generation.
    pub assignment: Vec<TopicPartition>,
}

/// A request parked in the classic group, to be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parked {
    /// A JoinGroup waits for the join phase.
    Join(Endpoint),
    /// A SyncGroup waits for the leader's assignment.
    Sync(Endpoint),
}

/// The classic group's state for an online upgrade.
#[derive(Debug, Clone)]
pub struct ClassicExport {
    /// The generation (the consumer group's first epoch).
    pub generation: i32,
    /// Members in member-id order.
    pub members: Vec<ExportedMember>,
    /// Requests waiting for an answer.
    pub parked: Vec<Parked>,
}

/// The classic group's `GroupMetadata` record, as a new coordinator
/// replays it after a failover (`GroupMetadataManager.replay`): written
/// when the leader's SyncGroup completes, when the group becomes Empty,
/// and when a static member is replaced — never at the end of a join
/// phase, so a generation that did not complete its sync is not in it.
#[derive(Debug, Clone)]
pub struct ClassicRecord {
    /// The generation.
    pub generation: i32,
    /// The selected protocol (assignor).
    pub protocol: Option<String>,
    /// The leader.
    pub leader: Option<MemberId>,
    /// Members in member-id order, with their assignments.
    pub members: Vec<ExportedMember>,
}

impl ClassicCoordinator {
    /// Writes the group's record (kept when the scenario can fail over).
    pub(super) fn write_record(&mut self) {
        if !self.config.keeps_record {
            return;
        }
        let export = self.export();
        self.record = Some(std::sync::Arc::new(ClassicRecord {
            generation: export.generation,
            protocol: self.protocol.clone(),
            leader: self.leader.clone(),
            members: export.members,
        }));
    }

    /// The last record written, if any.
    pub fn record(&self) -> Option<std::sync::Arc<ClassicRecord>> {
        self.record.clone()
    }

    /// The group a new coordinator loads from `record` (`GMM.replay`, then
    /// `onLoaded`): Stable at the record's generation with its members and
    /// assignments (Empty without members), every member's session
    /// restarted from `now` (`rescheduleClassicGroupMemberHeartbeat`).
    pub fn from_record(
        config: super::CoordinatorConfig,
        rng: crate::sim::SimRng,
        record: &ClassicRecord,
        now: crate::sim::Time,
        out: &mut crate::coordinator::CoordinatorOutbox,
    ) -> Self {
        let mut c = ClassicCoordinator::new(config, rng);
        c.created = true;
        c.generation = record.generation;
        let state = if record.members.is_empty() {
            crate::events::GroupState::Empty
        } else {
            crate::events::GroupState::Stable
        };
        c.state = state;
        c.previous_state = Some(state);
        c.add_exported(record.members.clone(), now, out);
        c.leader = record.leader.clone().filter(|l| c.members.contains_key(l));
        c.protocol = record.protocol.clone();
        c.record = Some(std::sync::Arc::new(record.clone()));
        c
    }

    /// Adds exported members as they were, each with its session restarted
    /// at `now`; the first becomes the leader if none is set.
    fn add_exported(
        &mut self,
        members: Vec<ExportedMember>,
        now: crate::sim::Time,
        out: &mut crate::coordinator::CoordinatorOutbox,
    ) {
        for m in members {
            let slot = self.order.insert(&m.id);
            let member = super::members::Member {
                endpoint: m.endpoint,
                instance_id: m.instance_id.clone(),
                metadata: MemberSpec {
                    id: m.id.to_string(),
                    ..m.metadata
                },
                protocols: m.protocols,
                session_timeout: m.session_timeout,
                rebalance_timeout: m.rebalance_timeout,
                awaiting_join: false,
                awaiting_sync: false,
                is_new: false,
                assignment: m.assignment,
                slot,
            };
            self.recount_protocols(&[], &member.protocols);
            if let Some(i) = &m.instance_id {
                self.static_ids.insert(i.clone(), m.id.clone());
            }
            // ClassicGroup.add: the first member leads.
            if self.leader.is_none() {
                self.leader = Some(m.id.clone());
            }
            let timeout = member.session_timeout;
            self.members.insert(m.id.clone(), member);
            self.reschedule_heartbeat(now, &m.id, timeout, out);
        }
    }

    /// Before the group is converted: responses waiting on the
    /// coordinator's log (commits, heartbeats) are sent now, a little
    /// early — the conversion's own records follow theirs in the same log
    /// in Kafka — and the group-state writes are dropped with the group.
    pub fn flush_for_conversion(&mut self, out: &mut crate::coordinator::CoordinatorOutbox) {
        for then in self.log.committed(u64::MAX) {
            if let super::append::Deferred::Respond(to, response) = then {
                out.responses.push((to, response));
            }
        }
    }

    /// The group's members and parked requests, for an online upgrade.
    pub fn export(&self) -> ClassicExport {
        let mut members: Vec<ExportedMember> = self
            .members
            .iter()
            .map(|(id, m)| ExportedMember {
                id: id.clone(),
                endpoint: m.endpoint,
                instance_id: m.instance_id.clone(),
                metadata: m.metadata.clone(),
                protocols: m.protocols.clone(),
                session_timeout: m.session_timeout,
                rebalance_timeout: m.rebalance_timeout,
                assignment: m.assignment.clone(),
            })
            .collect();
        members.sort_by(|a, b| a.id.cmp(&b.id));
        let parked = self
            .members
            .iter()
            .filter_map(|(_, m)| {
                if m.awaiting_join {
                    Some(Parked::Join(m.endpoint))
                } else if m.awaiting_sync {
                    Some(Parked::Sync(m.endpoint))
                } else {
                    None
                }
            })
            .collect::<Vec<_>>();
        ClassicExport {
            generation: self.generation,
            members,
            parked,
        }
    }
}

impl ClassicCoordinator {
    /// The classic group an online downgrade makes of a consumer group
    /// whose last consumer-protocol member left (`ClassicGroup
    /// .fromConsumerGroup`, then `prepareRebalance`): Stable at the
    /// consumer group's epoch with each member's target assignment, then a
    /// rebalance the members join through their next heartbeat.
    pub fn from_downgrade(
        config: super::CoordinatorConfig,
        rng: crate::sim::SimRng,
        generation: i32,
        members: Vec<ExportedMember>,
        now: crate::sim::Time,
        out: &mut crate::coordinator::CoordinatorOutbox,
    ) -> Self {
        let mut c = ClassicCoordinator::new(config, rng);
        c.created = true;
        c.generation = generation;
        c.state = crate::events::GroupState::Stable;
        c.previous_state = Some(crate::events::GroupState::Stable);
        c.add_exported(members, now, out);
        c.protocol = c.select_protocol();
        c.prepare_rebalance(
            now,
            "online downgrade: the last consumer-protocol member left".into(),
            out,
        );
        c
    }
}
