//! Invariant 5 (design §4): after the last fault the group converges within
//! a bound derived from the timeouts, and stays converged.
//!
//! Whether the group is converged right now is the simulation's to track
//! (it knows the consumers); it also decides when to ask: once when the
//! bound has passed, and after that on every membership change until a
//! lapse is reported. What breaks the invariant, and how it is told, is
//! decided here.

use super::InvariantCheck;
use crate::events::GroupState;
use crate::sim::{Duration, Time};

/// The group as the simulation sees it when the bound has passed.
#[derive(Debug, Clone, Copy)]
pub struct GroupAtBound {
    /// Converged, as the simulation tracks it.
    pub converged: bool,
    /// The coordinator's state.
    pub state: GroupState,
    /// Consumers stable in their generation.
    pub stable: usize,
    /// Consumer processes running.
    pub running: usize,
}

/// Checks invariant 5 for one run: its last fault and its bound.
#[derive(Debug)]
pub struct ConvergenceCheck {
    last_fault_end: Time,
    bound: Duration,
}

impl ConvergenceCheck {
    /// A checker for a run whose last fault ends at `last_fault_end`,
    /// allowed `bound` to converge after it.
    pub fn new(last_fault_end: Time, bound: Duration) -> Self {
        ConvergenceCheck {
            last_fault_end,
            bound,
        }
    }

    /// When the group must be converged.
    fn deadline(&self) -> Time {
        self.last_fault_end + self.bound
    }

    /// The violation when the bound has passed (`now`) and the group is
    /// not converged.
    pub fn at_bound(&self, now: Time, group: &GroupAtBound) -> Option<String> {
        debug_assert_eq!(now, self.deadline(), "asked before or after the bound");
        (!group.converged).then(|| {
            format!(
                "the group did not converge within {} after the last fault ended at {}: state {}, {} of {} running consumers stable",
                self.bound,
                self.last_fault_end,
                group.state.name(),
                group.stable,
                group.running,
            )
        })
    }

    /// The violation when, after the bound, the group was converged
    /// (`was`) and at `now` is not (`is`): no fault is left in the
    /// timeline, so it cannot stay stable on its own.
    pub fn after_bound(&self, now: Time, was: bool, is: bool, state: GroupState) -> Option<String> {
        debug_assert!(now >= self.deadline(), "asked before the bound");
        (was && !is).then(|| {
            format!(
                "the group stopped being stable at {now} although no fault was left in the timeline (state {}): it does not stay converged",
                state.name()
            )
        })
    }
}

impl InvariantCheck for ConvergenceCheck {
    fn invariant(&self) -> u8 {
        5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> ConvergenceCheck {
        ConvergenceCheck::new(
            Time::ZERO + Duration::from_secs(60),
            Duration::from_secs(30),
        )
    }

    fn group(converged: bool, state: GroupState, stable: usize) -> GroupAtBound {
        GroupAtBound {
            converged,
            state,
            stable,
            running: 3,
        }
    }

    #[test]
    fn a_group_not_converged_at_the_bound_trips_it() {
        let at = Time::ZERO + Duration::from_secs(90);
        let cases = [
            ("converged", group(true, GroupState::Stable, 3), None),
            (
                "still rebalancing",
                group(false, GroupState::PreparingRebalance, 0),
                Some(
                    "the group did not converge within 30s after the last fault ended at 60.000s: state PreparingRebalance, 0 of 3 running consumers stable",
                ),
            ),
            (
                "Stable, but not every consumer holds its assignment",
                group(false, GroupState::Stable, 3),
                Some(
                    "the group did not converge within 30s after the last fault ended at 60.000s: state Stable, 3 of 3 running consumers stable",
                ),
            ),
        ];
        for (name, group, expected) in cases {
            assert_eq!(check().at_bound(at, &group).as_deref(), expected, "{name}");
        }
    }

    #[test]
    fn losing_convergence_after_the_bound_trips_it() {
        let at = Time(123_456_789);
        let lapse = "the group stopped being stable at 123.456s although no fault was left in the timeline (state PreparingRebalance): it does not stay converged";
        let cases = [
            ("stays converged", true, true, None),
            ("converges late", false, true, None),
            ("stays unconverged", false, false, None),
            ("stops being converged", true, false, Some(lapse)),
        ];
        for (name, was, is, expected) in cases {
            let found = check().after_bound(at, was, is, GroupState::PreparingRebalance);
            assert_eq!(found.as_deref(), expected, "{name}");
        }
    }
}
