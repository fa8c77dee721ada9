//! The group coordinator moving between brokers.

use super::Simulation;
use crate::events::Fact;

impl Simulation {
    /// The leader of the group's `__consumer_offsets` partition changed or
    /// became unreachable.
    pub(super) fn coordinator_location_changed(&mut self) {
        let at = self.cluster.coordinator_broker();
        self.apply_facts(vec![Fact::Cluster {
            event: "coordinator_moved",
            subject: "group coordinator".into(),
            detail: match at {
                Some(b) => format!("now on broker {b}"),
                None => "unavailable: __consumer_offsets partition has no live leader".into(),
            },
        }]);
    }

    /// A broker or network fault of the cluster timeline.
    pub(super) fn cluster_event(&mut self, i: usize) {
        let event = self.scenario.cluster_timeline[i].clone();
        if let Some(via) = &event.via {
            self.apply_facts(vec![Fact::Cluster {
                event: "timeline",
                subject: event.action.name().into(),
                detail: via.clone(),
            }]);
        }
        if event.action.is_broker_fault() {
            self.broker_fault(event.action);
        }
    }
}
