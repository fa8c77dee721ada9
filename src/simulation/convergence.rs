//! Whether the group has converged: Stable, every running consumer a
//! member of the current generation holding exactly what the coordinator
//! gave it, and every subscribed partition owned.

use crate::cluster::Cluster;
use crate::consumer::Consumer;
use crate::coordinator::{ClassicCoordinator, ConsumerGroupCoordinator, GroupCoordinator};
use crate::events::GroupState;
use crate::sim::Time;

/// Tracks convergence over time.
#[derive(Debug, Default)]
pub struct Convergence {
    converged: bool,
    transitions: Vec<(Time, bool)>,
    checked: bool,
    lapse_reported: bool,
}

impl Convergence {
    /// Not converged, nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the state after an event.
    pub fn update(&mut self, now: Time, converged: bool) {
        if converged != self.converged {
            self.converged = converged;
            self.transitions.push((now, converged));
        }
    }

    /// Converged right now.
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// Notes that invariant 5 was evaluated during the run.
    pub fn mark_checked(&mut self) {
        self.checked = true;
    }

    /// True once a loss of convergence after the check was reported.
    pub fn lapse_reported(&self) -> bool {
        self.lapse_reported
    }

    /// Notes that a loss of convergence after the check was reported.
    pub fn report_lapse(&mut self) {
        self.lapse_reported = true;
    }

    /// True when invariant 5 was evaluated during the run.
    pub fn was_checked(&self) -> bool {
        self.checked
    }

    /// Since when the group has been converged without interruption,
    /// counted from `t` at the earliest; `None` if it is not converged now.
    pub fn converged_since(&self, t: Time) -> Option<Time> {
        if !self.converged {
            return None;
        }
        let last_rise = self
            .transitions
            .iter()
            .rev()
            .find(|&&(_, c)| c)
            .map_or(Time::ZERO, |&(at, _)| at);
        Some(last_rise.max(t))
    }

    /// Whether the group was converged at `t`, after everything that
    /// happened at `t`.
    pub fn converged_at(&self, t: Time) -> bool {
        self.transitions
            .iter()
            .take_while(|&&(at, _)| at <= t)
            .last()
            .is_some_and(|&(_, c)| c)
    }

    /// When the group first stopped being converged in `from..to`: `from`
    /// itself if it was not converged just before; `None` if it stayed
    /// converged throughout.
    pub fn first_break(&self, from: Time, to: Time) -> Option<Time> {
        let before = self
            .transitions
            .iter()
            .take_while(|&&(at, _)| at < from)
            .last()
            .is_some_and(|&(_, c)| c);
        if !before {
            return Some(from);
        }
        self.transitions
            .iter()
            .find(|&&(at, c)| at >= from && at < to && !c)
            .map(|&(at, _)| at)
    }

    /// The first time at or after `t` at which the group is converged.
    pub fn first_converged_from(&self, t: Time) -> Option<Time> {
        if self.converged_at(t) {
            return Some(t);
        }
        self.transitions
            .iter()
            .find(|&&(at, c)| at > t && c)
            .map(|&(at, _)| at)
    }
}

/// Consumers running, and running and settled (stable, not paused), as
/// the simulation counts them.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    /// Running processes.
    pub running: usize,
    /// Running, stable in their generation, not paused.
    pub settled: usize,
}

/// Evaluates convergence now: O(1) unless every running consumer is
/// settled, then one pass over the members and partitions.
pub fn is_converged(
    coordinator: &GroupCoordinator,
    consumers: &[Consumer],
    counts: Counts,
    subscribed: &[bool],
    cluster: &Cluster,
) -> bool {
    match coordinator {
        GroupCoordinator::Classic(c) => {
            classic_converged(c, consumers, counts, subscribed, cluster)
        }
        GroupCoordinator::Consumer(g) => {
            consumer_converged(g, consumers, counts, subscribed, cluster)
        }
    }
}

/// A KIP-848 group has converged when it is Stable (every member at the
/// assignment epoch with its whole target), every running consumer is such
/// a member owning exactly its assignment, and every subscribed partition
/// is owned.
fn consumer_converged(
    group: &ConsumerGroupCoordinator,
    consumers: &[Consumer],
    counts: Counts,
    subscribed: &[bool],
    cluster: &Cluster,
) -> bool {
    if counts.running == 0 {
        return group.state() == GroupState::Empty;
    }
    if group.state() != GroupState::Stable
        || counts.running != group.member_count()
        || counts.settled != counts.running
    {
        return false;
    }
    let members = group.members().map(|m| {
        let c = &consumers[m.endpoint.consumer];
        let healthy = c.is_running()
            && c.member_id() == Some(m.id)
            && c.generation() == Some(m.epoch)
            && m.epoch == group.assignment_epoch()
            && c.owns_exactly(m.assigned);
        healthy.then_some(m.assigned)
    });
    all_healthy_and_covering(members, subscribed, cluster)
}

/// True when every member is healthy (`Some` of its partitions) and
/// together they own every subscribed partition.
fn all_healthy_and_covering<'a>(
    members: impl Iterator<Item = Option<&'a [crate::assign::TopicPartition]>>,
    subscribed: &[bool],
    cluster: &Cluster,
) -> bool {
    let mut owned = vec![false; subscribed.len()];
    for assigned in members {
        let Some(assigned) = assigned else {
            return false;
        };
        for &tp in assigned {
            owned[cluster.index_of(tp)] = true;
        }
    }
    subscribed.iter().zip(&owned).all(|(&s, &o)| !s || o)
}

fn classic_converged(
    coordinator: &ClassicCoordinator,
    consumers: &[Consumer],
    counts: Counts,
    subscribed: &[bool],
    cluster: &Cluster,
) -> bool {
    debug_assert_eq!(
        counts.running,
        consumers.iter().filter(|c| c.is_running()).count()
    );
    if counts.running == 0 {
        // Nobody left to consume: settled once the group is empty.
        return coordinator.state() == GroupState::Empty;
    }
    if coordinator.state() != GroupState::Stable
        || !coordinator.all_synced()
        || counts.running != coordinator.member_count()
        || counts.settled != counts.running
    {
        return false;
    }
    // Running, stable and not paused hold for everyone (the counts).
    let members = coordinator.members().map(|m| {
        let c = &consumers[m.endpoint.consumer];
        let healthy = c.is_running()
            && c.member_id().is_some_and(|id| *id == *m.id)
            && c.generation() == Some(coordinator.generation())
            && c.owns_exactly(m.assignment);
        healthy.then_some(m.assignment)
    });
    all_healthy_and_covering(members, subscribed, cluster)
}
