//! The group coordinator moving between brokers (`CoordinatorRuntime`,
//! `GroupMetadataManager.onLoaded` / `onUnloaded`): it runs on the leader
//! of the group's `__consumer_offsets` partition. When that leader dies
//! or moves, the group state in memory is gone; clients connected to the
//! old broker see their requests fail (a disconnect if it died,
//! NOT_COORDINATOR if it only lost leadership) and look the coordinator up
//! again; FindCoordinator answers COORDINATOR_NOT_AVAILABLE while the
//! partition has no leader. The new leader loads the group from the log
//! (offsets always, a classic group from its last record, a consumer group
//! whole) and answers COORDINATOR_LOAD_IN_PROGRESS until it is done.

use super::{ConsumerEvent, Event, Simulation};
use crate::coordinator::protocol::{Endpoint, GroupError, Request, Response};
use crate::coordinator::{CoordinatorOutbox, GroupCoordinator, GroupImage};
use crate::events::Fact;
use crate::sim::Duration;

/// How long a new coordinator takes to replay the group's
/// `__consumer_offsets` partition (the simulator's figure: Kafka's depends
/// on the size of that log).
pub const COORDINATOR_LOAD_TIME: Duration = Duration::from_millis(100);

/// Where the group coordinator runs.
#[derive(Clone)]
pub enum Host {
    /// Serving on this broker.
    Active(u32),
    /// This broker leads the partition and is loading the group.
    Loading {
        /// The broker.
        broker: u32,
        /// Number of this load (a later move makes it stale).
        load: u32,
        /// What it loads.
        image: GroupImage,
    },
    /// No live leader: nobody serves the group.
    Unavailable {
        /// What the next leader will load.
        image: GroupImage,
    },
}

impl Host {
    pub(super) fn broker(&self) -> Option<u32> {
        match self {
            Host::Active(b) | Host::Loading { broker: b, .. } => Some(*b),
            Host::Unavailable { .. } => None,
        }
    }
}

impl Simulation {
    fn broker_up(&self, b: u32) -> bool {
        self.cluster.leadership().is_none_or(|l| l.is_up(b))
    }

    /// Sends a consumer's request to `broker` (the coordinator it knows;
    /// `None` when nothing can fail and requests go straight to the
    /// coordinator).
    pub(super) fn send_request(
        &mut self,
        c: usize,
        from: Endpoint,
        broker: Option<u32>,
        request: Request,
    ) {
        if let Some(b) = broker {
            if self.dropped_to_broker(c, b) {
                return self.lost(c);
            }
        }
        let to = broker.unwrap_or(self.cluster.coordinator);
        let at = self.network.arrival_at_broker(c, to, self.now);
        self.queue
            .push(at, Event::CoordinatorRequest(from, broker, request));
    }

    /// A FindCoordinator to `broker` (`leastLoadedNode`).
    pub(super) fn send_find_coordinator(&mut self, c: usize, from: Endpoint, broker: u32) {
        if self.dropped_to_broker(c, broker) {
            return self.lost(c);
        }
        let at = self.network.arrival_at_broker(c, broker, self.now);
        self.queue.push(at, Event::FindCoordinator { from, broker });
    }

    /// A message to or from consumer `c` was dropped by the network: it
    /// learns through its request timeout.
    fn lost(&mut self, c: usize) {
        self.with_consumer(c, |cons, _, _, out| cons.message_lost(out));
    }

    /// A request reached `broker`: what the broker does with it. `Some`:
    /// the coordinator handles it; otherwise an error was answered.
    pub(super) fn admit(
        &mut self,
        from: Endpoint,
        broker: u32,
        request: Request,
    ) -> Option<Request> {
        if !self.broker_up(broker) {
            // Connection refused: everything in flight on it fails.
            self.fail_connection(from, broker, GroupError::Disconnected);
            return None;
        }
        let error = match &self.host {
            Host::Active(b) if *b == broker => return Some(request),
            Host::Loading { broker: b, .. } if *b == broker => {
                if let Request::Heartbeat { .. } = request {
                    // GroupCoordinatorService.heartbeat: "the group is still
                    // loading, so blindly respond".
                    self.respond(from, broker, Response::Heartbeat(Ok(())));
                    return None;
                }
                GroupError::CoordinatorLoadInProgress
            }
            _ => GroupError::NotCoordinator,
        };
        if let Some(response) = request.error_response(error) {
            self.respond(from, broker, response);
        }
        None
    }

    /// A response from `broker` to a consumer (dropped by a cut link).
    pub(super) fn respond(&mut self, to: Endpoint, broker: u32, response: Response) {
        if self.dropped_from_broker(broker, to.consumer) {
            return self.lost(to.consumer);
        }
        self.send_to_consumer(to, broker, ConsumerEvent::Response(response));
    }

    /// The consumer's connection to the coordinator broke: it learns after
    /// the messages already on their way.
    fn fail_connection(&mut self, to: Endpoint, broker: u32, error: GroupError) {
        self.send_to_consumer(to, broker, ConsumerEvent::ConnectionFailed(error));
    }

    /// `kind` reaches consumer `to` over its link from `broker`, after
    /// what is already on its way.
    fn send_to_consumer(&mut self, to: Endpoint, broker: u32, kind: ConsumerEvent) {
        let at = self
            .network
            .arrival_at_consumer(to.consumer, broker, self.now);
        self.queue.push(
            at,
            Event::Consumer {
                consumer: to.consumer,
                incarnation: to.incarnation,
                connection: to.connection,
                kind,
            },
        );
    }

    /// FindCoordinator reached `broker`.
    pub(super) fn find_coordinator(&mut self, from: Endpoint, broker: u32) {
        let result = if !self.broker_up(broker) {
            Err(GroupError::Disconnected)
        } else {
            self.host
                .broker()
                .ok_or(GroupError::CoordinatorNotAvailable)
        };
        self.respond(from, broker, Response::FindCoordinator(result));
    }

    /// The leader of the group's `__consumer_offsets` partition changed or
    /// became unreachable.
    pub(super) fn coordinator_location_changed(&mut self) {
        let next = self.cluster.coordinator_broker();
        let old = self.host.broker();
        if next == old {
            return;
        }
        // What the next leader will load: the active group's log as of now,
        // or what an unfinished load was loading.
        let image = match &self.host {
            Host::Active(_) => self.coordinator.image(),
            Host::Loading { image, .. } | Host::Unavailable { image } => image.clone(),
        };
        // The old group's timers die with it.
        self.group_incarnation += 1;
        if let Some(b) = old {
            let error = if self.broker_up(b) {
                GroupError::NotCoordinator
            } else {
                GroupError::Disconnected
            };
            for c in 0..self.consumers.len() {
                let consumer = &self.consumers[c];
                if consumer.is_running() && consumer.coordinator_broker() == Some(b) {
                    let to = Endpoint {
                        consumer: c,
                        incarnation: self.processes[c].incarnation,
                        connection: consumer.connection(),
                    };
                    self.fail_connection(to, b, error);
                }
            }
        }
        self.load_count += 1;
        self.host = match next {
            Some(broker) => {
                let load = self.load_count;
                self.queue.push(
                    self.now + COORDINATOR_LOAD_TIME,
                    Event::CoordinatorLoaded(load),
                );
                Host::Loading {
                    broker,
                    load,
                    image,
                }
            }
            None => Host::Unavailable { image },
        };
        self.apply_facts(vec![Fact::Cluster {
            event: "coordinator_moved",
            subject: "group coordinator".into(),
            detail: match next {
                Some(b) => format!(
                    "broker {b} now leads __consumer_offsets-{} and loads the group{}",
                    self.cluster.offsets_partition,
                    old.map(|o| format!(" (was broker {o})"))
                        .unwrap_or_default()
                ),
                None => format!(
                    "__consumer_offsets-{} has no live leader: COORDINATOR_NOT_AVAILABLE",
                    self.cluster.offsets_partition
                ),
            },
        }]);
    }

    /// The new coordinator finished loading the group.
    pub(super) fn coordinator_loaded(&mut self, load: u32) {
        let (broker, image) = match &self.host {
            Host::Loading {
                broker,
                load: l,
                image,
            } if *l == load => (*broker, image.clone()),
            _ => return,
        };
        let mut out = CoordinatorOutbox::default();
        self.coordinator = GroupCoordinator::load(image, &self.group_setup, self.now, &mut out);
        self.group_incarnation += 1;
        self.host = Host::Active(broker);
        let detail = format!(
            "{} group loaded: {} members, {} {}, state {}",
            if self.coordinator.is_consumer_group() {
                "consumer"
            } else {
                "classic"
            },
            self.coordinator.member_count(),
            if self.coordinator.is_consumer_group() {
                "epoch"
            } else {
                "generation"
            },
            self.coordinator.generation(),
            self.coordinator.state().name()
        );
        let mut facts = vec![Fact::Cluster {
            event: "coordinator_loaded",
            subject: format!("broker-{broker}"),
            detail,
        }];
        // The group is in the state its log gives (a join phase in progress
        // when the old coordinator went is not in it:
        // GroupMetadataManager loads the last stored generation), which
        // the metrics and the event log must follow.
        let loaded = self.coordinator.state();
        if loaded != self.metrics.group_state() {
            facts.push(Fact::StateChanged {
                state: loaded,
                generation: self.coordinator.generation(),
                reason: format!("loaded by broker-{broker}"),
            });
        }
        self.apply_facts(facts);
        self.apply_coordinator(out);
    }

    /// True when the network drops messages from consumer `c` to `broker`.
    fn dropped_to_broker(&self, c: usize, broker: u32) -> bool {
        self.links.cuts(
            crate::scenario::Node::Consumer(c),
            crate::scenario::Node::Broker(broker),
        )
    }

    /// True when the network drops messages from `broker` to consumer `c`.
    fn dropped_from_broker(&self, broker: u32, c: usize) -> bool {
        self.links.cuts(
            crate::scenario::Node::Broker(broker),
            crate::scenario::Node::Consumer(c),
        )
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
        match event.action {
            a if a.is_broker_fault() => self.broker_fault(a),
            crate::scenario::ClusterAction::AddPartitions { topic, partitions } => {
                self.add_partitions(topic, partitions)
            }
            a => self.network_fault(a),
        }
    }
}

impl Simulation {
    /// A network fault of the timeline.
    fn network_fault(&mut self, action: crate::scenario::ClusterAction) {
        use crate::scenario::ClusterAction;
        match action {
            ClusterAction::NetworkPartition { cut, duration } => {
                self.links.cut(cut, self.host.broker());
                self.update_reachability();
                self.apply_facts(vec![Fact::Cluster {
                    event: "network_partitioned",
                    subject: self.describe_cut(&cut),
                    detail: match duration {
                        Some(d) => format!("messages dropped for {d}"),
                        None => "messages dropped until a network-heal".into(),
                    },
                }]);
                if let Some(d) = duration {
                    self.queue.push(self.now + d, Event::Heal(cut));
                }
            }
            ClusterAction::NetworkHeal { cut } => self.heal(cut),
            _ => {}
        }
    }

    /// Tells each consumer which brokers it can no longer fetch from.
    fn update_reachability(&mut self) {
        for c in 0..self.consumers.len() {
            self.apply_reachability(c);
        }
        self.update_cut_off();
    }

    /// Marks the partitions whose holder a network cut separates from
    /// their leader as unavailable (to it). Called when cuts, leaders or
    /// holders change; only costs anything while a cut is in force or was.
    pub(super) fn update_cut_off(&mut self) {
        use crate::scenario::Node;
        if !self.links.any() && !self.cut_off_marked {
            return;
        }
        self.cut_off_marked = self.links.any();
        for p in 0..self.received_by.len() {
            let cut = self.received_by[p].is_some_and(|(c, _)| {
                self.cluster.leader_of(p).is_some_and(|b| {
                    self.links.cuts(Node::Consumer(c), Node::Broker(b))
                        || self.links.cuts(Node::Broker(b), Node::Consumer(c))
                })
            });
            self.metrics.set_cut_off(self.now, p, cut);
        }
    }

    /// Tells consumer `c` which brokers it cannot reach both ways (a fetch
    /// needs its request and its response).
    pub(super) fn apply_reachability(&mut self, c: usize) {
        use crate::scenario::Node;
        let brokers = self.cluster.brokers.len() as u32;
        let unreachable: Vec<u32> = (0..brokers)
            .filter(|&b| {
                self.links.cuts(Node::Consumer(c), Node::Broker(b))
                    || self.links.cuts(Node::Broker(b), Node::Consumer(c))
            })
            .collect();
        self.with_consumer(c, |cons, now, env, out| {
            cons.reachability_changed(now, unreachable, env, out)
        });
    }

    /// The cut links (all, when `None`) carry messages again.
    pub(super) fn heal(&mut self, cut: Option<crate::scenario::Cut>) {
        self.links.heal(cut);
        self.update_reachability();
        let subject = cut.map_or_else(|| "every link".to_string(), |c| self.describe_cut(&c));
        self.apply_facts(vec![Fact::Cluster {
            event: "network_healed",
            subject,
            detail: String::new(),
        }]);
    }

    fn describe_cut(&self, cut: &crate::scenario::Cut) -> String {
        cut.describe(&self.scenario.consumers)
    }
}
