//! OffsetCommit (`ClassicGroup.validateOffsetCommit`,
//! `OffsetMetadataManager.commitOffset`) and OffsetFetch.

use super::ClassicCoordinator;
use crate::coordinator::protocol::{Endpoint, GroupError, MemberId, Response};
use crate::coordinator::{CoordinatorOutbox, OffsetStore};
use crate::events::GroupState;
use crate::sim::Time;

impl ClassicCoordinator {
    /// `ClassicGroup.validateOffsetCommit` (a non-transactional commit;
    /// the group is never Dead here): generation < 0 in an Empty group is
    /// a simple commit; otherwise a member id, generation or instance id
    /// means a member, validated as `validateMember` does, whose
    /// generation must be the group's; a commit naming none of them is
    /// only taken by an Empty group; CompletingRebalance refuses members.
    fn validate_offset_commit(
        &self,
        id: &MemberId,
        instance: Option<&str>,
        generation: i32,
    ) -> Result<(), GroupError> {
        if !self.config.fencing {
            // What-if: no fencing, every commit is stored.
            return Ok(());
        }
        if generation < 0 && self.state == GroupState::Empty {
            return Ok(());
        }
        if generation >= 0 || !id.is_empty() || instance.is_some() {
            self.validate_member(id, instance)?;
            self.check_generation(generation)?;
        } else if self.state != GroupState::Empty {
            return Err(GroupError::UnknownMemberId);
        }
        if self.state == GroupState::CompletingRebalance {
            return Err(GroupError::RebalanceInProgress);
        }
        Ok(())
    }

    /// OffsetCommit: refused at once (Kafka throws the validation error),
    /// or stored and answered when its records are committed. In Stable
    /// and PreparingRebalance a commit keeps the member's session alive.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_commit(
        &mut self,
        now: Time,
        from: Endpoint,
        id: &MemberId,
        generation: i32,
        instance: Option<&str>,
        offsets: &[(usize, u64)],
        token: u64,
        store: &mut OffsetStore,
        out: &mut CoordinatorOutbox,
    ) {
        if let Err(e) = self.validate_offset_commit(id, instance, generation) {
            out.responses.push((
                from,
                Response::Commit {
                    token,
                    result: Err(e),
                },
            ));
            return;
        }
        if matches!(
            self.state,
            GroupState::Stable | GroupState::PreparingRebalance
        ) {
            if let Some(timeout) = self.members.get(id).map(|m| m.session_timeout) {
                self.reschedule_heartbeat(now, id, timeout, out);
            }
        }
        store.store_commit(offsets, id, &mut out.facts);
        let response = Response::Commit {
            token,
            result: Ok(()),
        };
        self.respond_logged(now, from, response, !offsets.is_empty(), out);
    }

    /// OffsetFetch with `require_stable` (as the Kafka consumer sends it):
    /// a write operation without records, so it reads every offset stored
    /// so far and answers once those are committed
    /// (`GroupCoordinatorService.fetchOffsets`).
    pub(super) fn handle_fetch(
        &mut self,
        now: Time,
        from: Endpoint,
        partitions: &[usize],
        token: u64,
        store: &OffsetStore,
        out: &mut CoordinatorOutbox,
    ) {
        let offsets = partitions.iter().map(|&p| (p, store.get(p))).collect();
        self.respond_after_writes(now, from, Response::Fetch { token, offsets }, out);
    }
}
