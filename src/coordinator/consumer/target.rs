//! The target assignment (`GroupMetadataManager.updateTargetAssignment`,
//! `TargetAssignmentBuilder`): the group's server-side assignor run over
//! every member's subscription, with each member's current target as the
//! stickiness input.

use super::ConsumerGroupCoordinator;
use crate::assign::{Assignor, GroupSpec, MemberSpec};
use crate::coordinator::CoordinatorOutbox;
use crate::events::Fact;
use std::collections::BTreeMap;
use std::sync::Arc;

impl ConsumerGroupCoordinator {
    /// The assignor the group uses: the one most members ask for through
    /// `group.remote.assignor` (`ConsumerGroup.preferredServerAssignor`),
    /// else the broker's first. Kafka breaks a tie by `HashMap` order; here
    /// the broker's list order breaks it, then the name.
    pub(super) fn preferred_assignor(&self) -> String {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(a) = &m.assignor {
                *counts.entry(a.as_str()).or_default() += 1;
            }
        }
        let rank = |name: &str| {
            self.config
                .assignors
                .iter()
                .position(|a| a == name)
                .unwrap_or(usize::MAX)
        };
        counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| rank(b.0).cmp(&rank(a.0))))
            .map(|(name, _)| name.to_string())
            .or_else(|| self.config.assignors.first().cloned())
            .unwrap_or_else(|| "uniform".to_string())
    }

    /// Recomputes the target assignment at the group epoch.
    pub(super) fn compute_target(&mut self, out: &mut CoordinatorOutbox) {
        let name = self.preferred_assignor();
        let members: Vec<MemberSpec> = self
            .members
            .iter()
            .map(|(id, m)| MemberSpec {
                id: id.to_string(),
                instance_id: m.instance_id.clone(),
                rack: m.rack.clone(),
                topics: m.subscription.clone(),
                owned: self.target.get(id).cloned().unwrap_or_default(),
                generation: None,
            })
            .collect();
        let group = Arc::new(GroupSpec {
            topics: self.topics.as_ref().clone(),
            members,
        });
        let assignor: Option<&dyn Assignor> = self.assignors.get(&name);
        let (assignment, promise) = match assignor {
            Some(a) => (a.assign(&group), a.promise()),
            None => (
                crate::assign::Assignment::empty(group.members.len()),
                crate::assign::BalancePromise::None,
            ),
        };
        let assignment = Arc::new(assignment);
        self.target.clear();
        for ((id, _), parts) in self.members.iter().zip(&assignment.per_member) {
            let mut parts: Vec<_> = parts
                .iter()
                .copied()
                .filter(|&tp| group.contains(tp))
                .collect();
            parts.sort_unstable();
            parts.dedup();
            self.target.insert(id.clone(), parts);
        }
        self.assignment_epoch = self.group_epoch;
        // Every member is now behind the new assignment epoch until it
        // reconciles to it.
        let epoch = self.assignment_epoch;
        self.unreconciled = self
            .members
            .values()
            .filter(|m| !m.is_reconciled_to(epoch))
            .count();
        out.facts.push(Fact::AssignmentComputed {
            generation: self.group_epoch,
            leader: "group coordinator".to_string(),
            protocol: name,
            promise,
            // A target is a whole assignment: every partition goes to one
            // subscriber. Reconciliation, not the assignor, withholds a
            // partition until its previous owner has revoked it.
            cooperative: false,
            group,
            assignment,
        });
    }
}
