//! Whether the group has converged: Stable, every running consumer a
//! member of the current generation holding exactly what the coordinator
//! gave it, and every subscribed partition owned.

use crate::cluster::Cluster;
use crate::consumer::Consumer;
use crate::coordinator::ClassicCoordinator;
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

    /// The first time at or after `t` the group was converged, if any.
    pub fn converged_at_or_after(&self, t: Time) -> Option<Time> {
        let mut state_at_t = false;
        for &(at, c) in &self.transitions {
            if at <= t {
                state_at_t = c;
            } else if c {
                return Some(if state_at_t { t } else { at });
            }
        }
        state_at_t.then_some(t)
    }

    /// The first time strictly after `t` the group became converged.
    pub fn next_convergence_after(&self, t: Time) -> Option<Time> {
        self.transitions
            .iter()
            .find(|&&(at, c)| at > t && c)
            .map(|&(at, _)| at)
    }
}

/// Evaluates convergence now.
pub fn is_converged(
    coordinator: &ClassicCoordinator,
    consumers: &[Consumer],
    paused_until: &[Option<Time>],
    subscribed: &[bool],
    cluster: &Cluster,
) -> bool {
    let running = consumers.iter().filter(|c| c.is_running()).count();
    if running == 0 {
        // Nobody left to consume: settled once the group is empty.
        return coordinator.state() == GroupState::Empty;
    }
    if coordinator.state() != GroupState::Stable || !coordinator.all_synced() {
        return false;
    }
    if running != coordinator.member_count() {
        return false;
    }
    let mut owned = vec![false; subscribed.len()];
    for m in coordinator.members() {
        let c = &consumers[m.endpoint.consumer];
        let healthy = c.is_running()
            && c.is_stable()
            && paused_until[m.endpoint.consumer].is_none()
            && c.member_id() == m.id
            && c.generation() == coordinator.generation()
            && c.assigned() == m.assignment;
        if !healthy {
            return false;
        }
        for &tp in m.assignment {
            owned[cluster.index_of(tp)] = true;
        }
    }
    subscribed.iter().zip(&owned).all(|(&s, &o)| !s || o)
}
