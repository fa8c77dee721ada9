//! Broker faults as the simulation applies them: crashes, controlled
//! shutdowns and restarts change partition leadership (see
//! `cluster::Leadership`); each change freezes or thaws log ends, is
//! counted by the availability metric, logged, and shown to the
//! consumers that fetch; a move of the group's `__consumer_offsets`
//! partition moves the group coordinator.

use super::{Event, Simulation};
use crate::cluster::{LEADER_IMBALANCE_CHECK_INTERVAL, LeaderChange, fence_time};
use crate::consumer::ConsumerOutbox;
use crate::events::Fact;
use crate::scenario::ClusterAction;
use crate::sim::{Duration, Time, rng_stream};

impl Simulation {
    /// The phase of broker `b`'s heartbeats to the controller (seeded).
    fn broker_heartbeat_phase(&self, b: u32) -> Duration {
        let mut rng = rng_stream(self.seed, &format!("broker/{b}/heartbeat"));
        let every = crate::cluster::BROKER_HEARTBEAT_INTERVAL.micros();
        Duration(rand::Rng::random_range(&mut rng, 0..every))
    }

    /// Applies a broker fault of the timeline.
    pub(super) fn broker_fault(&mut self, action: ClusterAction) {
        let now = self.now;
        match action {
            ClusterAction::BrokerCrash { broker } => {
                if !self.broker_is_up(broker) {
                    return;
                }
                self.cluster_fact("broker_crashed", broker, "the process died; the controller fences it after broker.session.timeout.ms (9 s) since its last heartbeat".into());
                let changes = self
                    .cluster
                    .change_leadership(now, |l| l.crash(broker, now));
                let phase = self.broker_heartbeat_phase(broker);
                self.queue.push(
                    fence_time(now, phase),
                    Event::BrokerFence {
                        broker,
                        crashed: now,
                    },
                );
                self.leadership_changed(&format!("broker {broker} crashed"), changes);
            }
            ClusterAction::BrokerShutdown { broker } => {
                if !self.broker_is_up(broker) {
                    return;
                }
                let changes = self.cluster.change_leadership(now, |l| l.shut_down(broker));
                let moved = changes.iter().filter(|c| c.available).count();
                let stranded = changes.len() - moved;
                let detail = match stranded {
                    0 => format!(
                        "controlled shutdown: leadership of its {moved} partitions moved to other in-sync replicas first"
                    ),
                    _ => format!(
                        "controlled shutdown: leadership of {moved} partitions moved to other in-sync replicas first; {stranded} have no other live replica and are unavailable until it returns"
                    ),
                };
                self.cluster_fact("broker_stopped", broker, detail);
                self.leadership_changed(&format!("broker {broker} shut down"), changes);
            }
            ClusterAction::BrokerRestart { broker } => {
                if self.broker_is_up(broker) {
                    return;
                }
                let changes = self.cluster.change_leadership(now, |l| l.restart(broker));
                self.cluster_fact(
                    "broker_started",
                    broker,
                    "registered with the controller; its replicas rejoin the ISR".into(),
                );
                self.leadership_changed(&format!("broker {broker} restarted"), changes);
            }
            _ => {}
        }
    }

    /// `add-partitions`: the topic has more partitions from now on. They
    /// are subscribed at once; producers write to them after their next
    /// metadata refresh (see `cluster::Layout`); a consumer group bumps
    /// its epoch at its next heartbeat; a classic group waits for its
    /// leader's metadata refresh.
    pub(super) fn add_partitions(&mut self, topic: usize, partitions: u32) {
        let name = self.scenario.topics[topic].name.clone();
        let Some(id) = self.cluster.topic_id(&name) else {
            return;
        };
        let before = self.cluster.topics[id as usize].partitions;
        self.cluster.add_partitions(id, partitions);
        let first = self.cluster.topics[id as usize].first_index as usize;
        if self.added.is_empty() {
            self.added = vec![false; self.cluster.partition_count()];
        }
        for p in first + before as usize..first + partitions as usize {
            self.added[p] = true;
            self.ledger.expect_from_start(p);
        }
        let specs = self.cluster.topic_specs();
        self.group_setup.topics = specs.clone();
        self.coordinator.topics_changed(specs);
        // Subscribed first: the convergence the fact triggers sees them.
        self.refresh_subscribed();
        self.apply_facts(vec![Fact::Cluster {
            event: "partitions_added",
            subject: name,
            detail: format!(
                "{before} -> {partitions} partitions; producers write to the new ones after their metadata refresh (metadata.max.age.ms)"
            ),
        }]);
    }

    fn broker_is_up(&self, b: u32) -> bool {
        self.cluster.leadership().is_some_and(|l| l.is_up(b))
    }

    /// The controller fences broker `broker` if it is still the crash of
    /// `crashed` (not restarted, or crashed again, since).
    pub(super) fn fence_broker(&mut self, broker: u32, crashed: Time) {
        let still = self.cluster.leadership().is_some_and(|l| {
            l.broker(broker) == crate::cluster::BrokerState::Crashed { at: crashed }
        });
        if !still {
            return;
        }
        let now = self.now;
        let changes = self.cluster.change_leadership(now, |l| l.fence(broker));
        self.cluster_fact(
            "broker_fenced",
            broker,
            format!(
                "no heartbeat for broker.session.timeout.ms; {} partitions get new leaders from the ISR",
                changes.iter().filter(|c| c.available).count()
            ),
        );
        self.leadership_changed(&format!("broker {broker} fenced"), changes);
    }

    /// The preferred-leader election scheduled when leaders became
    /// imbalanced.
    pub(super) fn leader_balance_check(&mut self) {
        self.balance_scheduled = false;
        let now = self.now;
        let changes = self
            .cluster
            .change_leadership(now, |l| l.rebalance_preferred());
        if !changes.is_empty() {
            self.leadership_changed("preferred leader election", changes);
        }
    }

    /// `maybeScheduleNextBalancePartitionLeaders`: an election
    /// `leader.imbalance.check.interval.seconds` from now once leaders are
    /// imbalanced.
    fn maybe_schedule_balance(&mut self) {
        let imbalanced = self.cluster.leadership().is_some_and(|l| l.is_imbalanced());
        if imbalanced && !self.balance_scheduled {
            self.balance_scheduled = true;
            self.queue.push(
                self.now + LEADER_IMBALANCE_CHECK_INTERVAL,
                Event::LeaderBalanceCheck,
            );
        }
    }

    fn cluster_fact(&mut self, event: &'static str, broker: u32, detail: String) {
        self.apply_facts(vec![Fact::Cluster {
            event,
            subject: format!("broker-{broker}"),
            detail,
        }]);
    }

    /// Follows `changes` through: log ends, metrics, the event log, the
    /// consumers, and the coordinator's location.
    fn leadership_changed(&mut self, cause: &str, changes: Vec<LeaderChange>) {
        let data = self.cluster.partition_count();
        let mut lost = Vec::new();
        let mut back = Vec::new();
        let mut moved = 0;
        let mut coordinator_changed = false;
        for c in &changes {
            if c.partition >= data {
                coordinator_changed = true;
                continue;
            }
            if c.was_available != c.available {
                self.metrics
                    .set_unavailable(self.now, c.partition, !c.available);
                let tp = self.cluster.partition_at(c.partition);
                if c.available {
                    back.push(tp)
                } else {
                    lost.push(tp)
                }
            } else {
                moved += 1;
            }
        }
        if !lost.is_empty() || !back.is_empty() || moved > 0 {
            let names = |tps: &[crate::assign::TopicPartition]| {
                crate::metrics::list_partitions(tps, &|tp| self.cluster.tp_name(tp))
            };
            let mut parts = Vec::new();
            if !lost.is_empty() {
                parts.push(format!("unavailable: {}", names(&lost)));
            }
            if !back.is_empty() {
                parts.push(format!("available again: {}", names(&back)));
            }
            if moved > 0 {
                parts.push(format!("{moved} moved without an outage"));
            }
            self.apply_facts(vec![Fact::Cluster {
                event: "leaders_changed",
                subject: cause.to_string(),
                detail: parts.join("; "),
            }]);
        }
        if !lost.is_empty() || !back.is_empty() {
            for c in 0..self.consumers.len() {
                if self.consumers[c].is_running() {
                    self.with_consumer(c, |cons, now, env, out: &mut ConsumerOutbox| {
                        cons.leaders_changed(now, env, out)
                    });
                }
            }
        }
        if coordinator_changed {
            self.coordinator_location_changed();
        }
        self.update_cut_off();
        self.maybe_schedule_balance();
    }
}
