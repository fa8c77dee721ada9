//! SyncGroup: the leader's assignment (stored through the log before the
//! group is Stable), parked followers, and the pending-sync deadline.

use super::ClassicCoordinator;
use super::append::Deferred;
use crate::assign::TopicPartition;
use crate::coordinator::CoordinatorOutbox;
use crate::coordinator::protocol::{Endpoint, GroupError, MemberAssignments, MemberId, Response};
use crate::events::GroupState;
use crate::sim::Time;
use std::collections::BTreeMap;

impl ClassicCoordinator {
    /// `GMM.classicGroupSync` / `classicGroupSyncToClassicGroup`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_sync(
        &mut self,
        now: Time,
        from: Endpoint,
        id: &MemberId,
        instance: Option<&str>,
        generation: i32,
        assignment: Option<MemberAssignments>,
        out: &mut CoordinatorOutbox,
    ) {
        // validateSyncGroup: the member (instance id first), then the
        // generation; an empty group knows nobody.
        let valid = if self.state == GroupState::Empty {
            Err(GroupError::UnknownMemberId)
        } else {
            self.validate_member(id, instance)
                .and(self.check_generation(generation))
        };
        if let Err(e) = valid {
            out.responses.push((from, Response::Sync(Err(e))));
            return;
        }
        match self.state {
            GroupState::PreparingRebalance | GroupState::Assigning | GroupState::Reconciling => out
                .responses
                .push((from, Response::Sync(Err(GroupError::RebalanceInProgress)))),
            GroupState::CompletingRebalance => {
                if let Some(m) = self.members.get_mut(id) {
                    m.awaiting_sync = true;
                    m.endpoint = from;
                }
                self.remove_pending_sync(id);
                if self.leader.as_deref() == Some(id) {
                    // Members the leader left out get nothing; the group
                    // becomes Stable only once the assignment is stored.
                    let mut stored = BTreeMap::new();
                    for (member, partitions) in assignment.iter().flat_map(|a| a.iter()) {
                        let mut partitions = partitions.clone();
                        // An assignment is a set: keep it sorted whatever
                        // the leader's assignor returned.
                        partitions.sort_unstable();
                        stored.insert(member.clone(), partitions);
                    }
                    let then = Deferred::Assignment {
                        generation,
                        assignment: stored,
                    };
                    self.write(now, Some(then), out);
                }
            }
            GroupState::Stable => {
                self.remove_pending_sync(id);
                let partitions = self
                    .members
                    .get(id)
                    .map(|m| m.assignment.clone())
                    .unwrap_or_default();
                out.responses.push((from, Response::Sync(Ok(partitions))));
            }
            GroupState::Empty => {}
        }
    }

    /// `GMM.removePendingSyncMember`: the deadline is cancelled once
    /// everyone has synced.
    fn remove_pending_sync(&mut self, id: &MemberId) {
        self.pending_sync.remove(id);
        if self.pending_sync.is_empty() {
            self.sync_token += 1;
        }
    }

    /// The leader's assignment is stored (the append future of its
    /// SyncGroup): if the group still completes that generation, every
    /// member gets its part and the group is Stable.
    pub(super) fn assignment_stored(
        &mut self,
        now: Time,
        generation: i32,
        mut assignment: BTreeMap<String, Vec<TopicPartition>>,
        out: &mut CoordinatorOutbox,
    ) {
        if self.state != GroupState::CompletingRebalance || generation != self.generation {
            return;
        }
        for (id, m) in self.members.iter_mut() {
            m.assignment = assignment.remove(id.as_str()).unwrap_or_default();
        }
        self.propagate_sync(now, Ok(()), out);
        let reason = match &self.leader {
            Some(leader) => format!("leader {leader} sent the assignment"),
            None => "the leader's assignment is stored".to_string(),
        };
        self.set_state(GroupState::Stable, reason, out);
        self.write_record();
    }

    /// `GMM.propagateAssignment`: answers every parked SyncGroup (with its
    /// assignment, or the error) and restarts those members' sessions.
    pub(super) fn propagate_sync(
        &mut self,
        now: Time,
        result: Result<(), GroupError>,
        out: &mut CoordinatorOutbox,
    ) {
        let mut answered = Vec::new();
        for (id, m) in self.members.iter_mut() {
            if m.awaiting_sync {
                m.awaiting_sync = false;
                let response = result.map(|()| m.assignment.clone());
                out.responses.push((m.endpoint, Response::Sync(response)));
                answered.push((id.clone(), m.session_timeout));
            }
        }
        for (id, timeout) in answered {
            self.reschedule_heartbeat(now, &id, timeout, out);
        }
    }

    /// `GMM.expirePendingSync`: members that did not sync are removed and
    /// the group rebalances.
    pub(super) fn on_sync_deadline(&mut self, now: Time, token: u64, out: &mut CoordinatorOutbox) {
        if token != self.sync_token
            || self.pending_sync.is_empty()
            || !matches!(
                self.state,
                GroupState::CompletingRebalance | GroupState::Stable
            )
        {
            return;
        }
        let late: Vec<MemberId> = self.pending_sync.iter().cloned().collect();
        for id in &late {
            // An id a static member was replaced under is no member any
            // more; Kafka still counts it.
            self.remove_member(
                id,
                "did not send SyncGroup within the rebalance timeout",
                out,
            );
        }
        self.prepare_rebalance(now, format!("{} member(s) did not sync", late.len()), out);
    }
}
