//! One run: builds the cluster, coordinator and consumers from a scenario,
//! pops events in (time, sequence) order, routes requests and responses
//! through the network, applies timeline faults, and feeds every fact to
//! the offset ledger, the checker, the metrics and the event log.

mod agenda;
mod brokers;
mod convergence;
mod failover;
mod links;
mod network;
mod result;

pub use result::{
    Approximation, ConsumerRow, Disruption, PartitionRow, RebalanceCost, RebalanceSpan, RunResult,
    Summary, replay_command,
};

use crate::assign::Assignor;
use crate::assign::AssignorSet;
use crate::check::Checker;
use crate::check::convergence::GroupAtBound;
use crate::cluster::Cluster;
use crate::consumer::{Consumer, ConsumerEnv, ConsumerOutbox, ConsumerTimer, Strategy};
use crate::coordinator::protocol::{Endpoint, Request, Response};
use crate::coordinator::{
    ConsumerGroupConfig, ConsumerGroupTimer, CoordinatorConfig, CoordinatorOutbox,
    CoordinatorTimer, GroupCoordinator, GroupSetup, OffsetStore,
};
use crate::events::{Fact, GroupState};
use crate::metrics::{EventLog, Metrics, SamplePoint};
use crate::offsets::OffsetLedger;
use crate::scenario::GroupProtocol;
use crate::scenario::{Action, Scenario, ScenarioError};
use crate::sim::{Duration, Time, rng_stream};
use convergence::Convergence;
use network::Network;
use std::sync::Arc;
use thiserror::Error;

/// How a run is carried out. Both engines give identical outputs (tested
/// on every example scenario and on random ones); the reference is the
/// plain one-event-at-a-time model the fast one is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// Every event goes through the queue.
    Reference,
    /// A consumer's wake-up in a blocked `poll()` that can touch nothing
    /// but the consumer itself (nothing reaches it before, no fault,
    /// sample or check falls in between) is handled when it is set,
    /// instead of going through the queue.
    #[default]
    Fast,
}

/// A timer a consumer set while an event is handled. A poll wake-up is
/// handled ahead of time after the event if it can be (fast engine);
/// every other timer is queued at once.
#[derive(Debug)]
struct SetTimer {
    consumer: usize,
    at: Time,
    /// Its place among the consumer's own timers.
    local: u64,
    incarnation: u32,
    timer: ConsumerTimer,
}

/// Why a simulation cannot be built.
#[derive(Debug, Error)]
pub enum SimulationError {
    /// The scenario breaks a rule (see [`Scenario::validate`]).
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

#[derive(Debug)]
enum Event {
    Consumer {
        consumer: usize,
        incarnation: u32,
        /// For a response or a connection failure: the connection it came
        /// on (kept here, beside the incarnation, to keep events small).
        connection: u32,
        kind: ConsumerEvent,
    },
    /// A request reaching the broker it was sent to (`None`: the
    /// coordinator, in runs where nothing can fail).
    CoordinatorRequest(Endpoint, Option<u32>, Request),
    /// A FindCoordinator reaching a broker.
    FindCoordinator {
        from: Endpoint,
        broker: u32,
    },
    /// A new coordinator finished loading the group (the load's number).
    CoordinatorLoaded(u32),
    /// A timer of the group as it was when the timer was set (its
    /// incarnation: a conversion to the other group type drops the old
    /// group's timers).
    CoordinatorTimer(u32, CoordinatorTimer),
    ConsumerGroupTimer(u32, ConsumerGroupTimer),
    Timeline(usize),
    /// A broker or network fault of the scenario's cluster timeline.
    Cluster(usize),
    /// The controller fences a broker that crashed at `crashed`.
    BrokerFence {
        broker: u32,
        crashed: Time,
    },
    /// The controller's periodic preferred-leader check.
    LeaderBalanceCheck,
    /// A timed network partition is over.
    Heal(crate::scenario::Cut),
    RestartUp(usize),
    /// A stall of the consumer's application thread is over.
    StallOver {
        consumer: usize,
        incarnation: u32,
    },
    Sample,
    ConvergenceCheck,
    End,
}

#[derive(Debug)]
enum ConsumerEvent {
    Timer(ConsumerTimer),
    /// A response (on the event's connection).
    Response(Response),
    /// The connection to the coordinator broke: requests in flight fail.
    ConnectionFailed(crate::coordinator::protocol::GroupError),
    PauseOver,
}

/// What the simulation keeps about one consumer process beside the
/// consumer itself. Every consumer event reads it, so it is one record
/// (one cache line; three vectors cost three misses per event in a group
/// of 100,000).
#[derive(Debug, Clone, Copy, Default)]
#[repr(align(64))]
struct Process {
    /// Incremented at every start: events for an earlier run are dropped.
    incarnation: u32,
    /// A stalled process handles nothing until then.
    paused_until: Option<Time>,
    /// A graceful restart in progress: started again at this time, once
    /// stopped.
    restart_at: Option<Time>,
    /// The application thread is stalled until then (in the incarnation
    /// given): a stall during a stall blocks it until the later end.
    stalled_until: Option<(u32, Time)>,
    /// Timers the consumer has set so far, over all its runs: the next
    /// one's place among its own events at equal times
    /// ([`EventQueue::push_local`]).
    timers_set: u64,
}

/// A simulation of one scenario with one seed.
pub struct Simulation {
    scenario: Arc<Scenario>,
    seed: u64,
    queue: agenda::Agenda,
    now: Time,
    network: Network,
    cluster: Cluster,
    coordinator: GroupCoordinator,
    /// What the coordinator needs to build a group of either type.
    group_setup: GroupSetup,
    /// Bumped whenever the group changes type (timers of the group before
    /// are dropped).
    group_incarnation: u32,
    consumers: Vec<Consumer>,
    processes: Vec<Process>,
    assignors: AssignorSet,
    /// With a custom assignor: every consumer's strategy.
    custom_strategy: Option<Strategy>,
    /// The assignor the group selected last (the summary's `assignor`).
    last_protocol: Option<String>,
    ledger: OffsetLedger,
    checker: Checker,
    metrics: Metrics,
    log: EventLog,
    convergence: Convergence,
    subscribed: Vec<bool>,
    consumer_names: Vec<String>,
    /// Consumers running, and of those the ones stable and not paused:
    /// kept as counts so the convergence check is O(1) until every
    /// consumer is settled (a full check on every membership fact made N
    /// joins cost O(N²)).
    running: usize,
    settled: usize,
    /// A `subscribe` event happened: consumers' subscriptions differ, and
    /// the subscribed partitions follow who runs.
    subscriptions_vary: bool,
    /// Largest committed lag sampled, per partition (`partitions.csv`).
    partition_lag_max: Vec<u64>,
    /// The group's committed offsets: outside the coordinator's group
    /// state, as `__consumer_offsets` outlives any coordinator.
    committed: OffsetStore,
    /// Per partition, the consumer that last received it in an assignment
    /// and has not given it up since, and when it received it.
    received_by: Vec<Option<(usize, Time)>>,
    /// Per consumer, when the coordinator last removed or replaced its
    /// member: from then on its processing is a zombie's.
    membership_ended_at: Vec<Option<Time>>,
    events_handled: u64,
    /// Brokers or links can fail: consumers route requests through their
    /// coordinator link.
    faults: bool,
    /// Where the group coordinator runs (see `failover`).
    host: failover::Host,
    /// Coordinator loads so far (a load finishing after a later move is
    /// stale).
    load_count: u32,
    /// Network cuts in force.
    links: links::Links,
    /// A preferred-leader election is scheduled.
    balance_scheduled: bool,
    /// Some partition was marked cut off from its holder (see
    /// `update_cut_off`).
    cut_off_marked: bool,
    /// Partitions are added in this run: consumers refresh metadata.
    metadata_refresh: bool,
    /// Per partition: added during the run (`add-partitions`).
    added: Vec<bool>,
    /// Records of added partitions skipped by `auto.offset.reset`.
    skipped_in_added: u64,
    /// An empty outbox whose buffers the next consumer event reuses.
    spare_outbox: ConsumerOutbox,
    /// Wake-ups set by the event being handled (fast engine).
    wakes: Vec<SetTimer>,
    /// Times of every timeline and cluster-timeline entry and of the
    /// convergence check, sorted: one-off events a consumer may not be run
    /// ahead across.
    fault_times: Vec<Time>,
    /// When the next sample is taken.
    next_sample: Time,
    /// A wake-up is being handled ahead of time.
    #[cfg(debug_assertions)]
    running_ahead: bool,
}

impl Simulation {
    /// A simulation whose consumers use the built-in assignors their
    /// scenario names; the scenario is validated first.
    pub fn new(scenario: Scenario, seed: u64) -> Result<Self, SimulationError> {
        Self::build(scenario, seed, AssignorSet::builtin(), None)
    }

    /// A simulation in which every consumer advertises `assignor` (e.g.
    /// your own) as its only `partition.assignment.strategy`, eager or
    /// cooperative as it declares; the scenario is validated first.
    pub fn with_assignor(
        scenario: Scenario,
        seed: u64,
        assignor: Arc<dyn Assignor>,
    ) -> Result<Self, SimulationError> {
        let mut set = AssignorSet::builtin();
        set.insert(assignor.clone());
        let strategy = Strategy::from_assignors(&[assignor.as_ref()]);
        Self::build(scenario, seed, set, Some(strategy))
    }

    fn build(
        scenario: Scenario,
        seed: u64,
        assignors: AssignorSet,
        everyone: Option<Strategy>,
    ) -> Result<Self, SimulationError> {
        scenario.validate()?;
        // Random faults become timeline entries before anything runs.
        let scenario = Arc::new(if scenario.chaos.is_some() {
            scenario.draw_chaos(seed)?
        } else {
            scenario
        });
        let cluster = Cluster::new(&scenario, seed);
        let partitions = cluster.partition_count();
        let group = Arc::new(scenario.group.clone());
        let subscription: crate::assign::Subscription = {
            let mut ids: Vec<u32> = group
                .topics
                .iter()
                .filter_map(|t| cluster.topic_id(t))
                .collect();
            ids.sort_unstable();
            ids.into()
        };
        let mut subscribed = vec![false; partitions];
        for &t in subscription.iter() {
            let topic = &cluster.topics[t as usize];
            for p in 0..topic.partitions {
                subscribed[(topic.first_index + p) as usize] = true;
            }
        }
        let consumers: Vec<Consumer> = scenario
            .consumers
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let rng = rng_stream(seed, &format!("consumer/{}/processing", c.name));
                let id_rng = rng_stream(seed, &format!("consumer/{}/member-id", c.name));
                let strategy = everyone
                    .clone()
                    .unwrap_or_else(|| Strategy::of(&c.assignors, &assignors));
                Consumer::new(
                    i,
                    c.clone(),
                    group.clone(),
                    subscription.clone(),
                    strategy,
                    (rng, id_rng),
                )
            })
            .collect();
        let group_setup = GroupSetup {
            classic: CoordinatorConfig {
                initial_rebalance_delay: group.initial_rebalance_delay,
                append_linger: scenario.cluster.append_linger,
                replication_latency: scenario.cluster.replication_latency,
                fencing: group.fencing,
                keeps_record: scenario.has_broker_faults(),
            },
            consumer: ConsumerGroupConfig {
                heartbeat_interval: group.consumer_heartbeat_interval,
                session_timeout: group.consumer_session_timeout,
                assignment_interval: group.consumer_assignment_interval,
                // GroupCoordinatorConfig.CONSUMER_GROUP_ASSIGNORS_DEFAULT:
                // uniform, then range.
                assignors: vec!["uniform".into(), "server-range".into()],
                fencing: group.fencing,
                downgrade: group.migration_policy.allows_downgrade(),
            },
            topics: cluster.topic_specs(),
            assignors: assignors.clone(),
            seed,
            migration: group.migration_policy,
        };
        let coordinator = GroupCoordinator::new(
            &group_setup,
            group.protocol == GroupProtocol::Consumer,
            rng_stream(seed, "coordinator/member-ids"),
        );
        let n = consumers.len();
        let mut sim = Simulation {
            seed,
            queue: agenda::Agenda::new(n),
            now: Time::ZERO,
            network: Network::new(
                seed,
                scenario.cluster.network_latency,
                scenario.links.clone(),
                &scenario
                    .consumers
                    .iter()
                    .map(|c| c.name.clone())
                    .collect::<Vec<_>>(),
            ),
            coordinator,
            group_setup,
            group_incarnation: 0,
            processes: vec![Process::default(); n],
            checker: Checker::new(
                partitions,
                Time::ZERO + scenario.last_fault_end(),
                scenario.convergence_bound,
            ),
            assignors,
            custom_strategy: everyone,
            last_protocol: None,
            ledger: OffsetLedger::new(partitions),
            metrics: Metrics::new(subscribed.clone(), n, scenario.sample_interval),
            partition_lag_max: vec![0; partitions],
            received_by: vec![None; partitions],
            membership_ended_at: vec![None; n],
            committed: OffsetStore::new(partitions),
            log: EventLog::new(),
            convergence: Convergence::new(),
            consumer_names: scenario.consumers.iter().map(|c| c.name.clone()).collect(),
            subscribed,
            consumers,
            cluster,
            scenario,
            running: 0,
            settled: 0,
            subscriptions_vary: false,
            events_handled: 0,
            faults: false,
            host: failover::Host::Active(0),
            load_count: 0,
            links: links::Links::default(),
            balance_scheduled: false,
            cut_off_marked: false,
            metadata_refresh: false,
            added: Vec::new(),
            skipped_in_added: 0,
            spare_outbox: ConsumerOutbox::default(),
            wakes: Vec::new(),
            fault_times: Vec::new(),
            next_sample: Time::ZERO,
            #[cfg(debug_assertions)]
            running_ahead: false,
        };
        sim.metadata_refresh = sim.scenario.adds_partitions();
        sim.host = failover::Host::Active(sim.cluster.coordinator);
        sim.faults = sim.scenario.has_broker_faults() || sim.scenario.has_network_faults();
        sim.schedule_initial();
        // Only the timeline can reach a consumer between its own events
        // when there are no broker or network faults, no added partitions
        // and no subscription changes; otherwise the run is the
        // reference's, and the agenda keeps no bookkeeping (the fast
        // engine runs ahead exactly while it does).
        let may_run_ahead = !sim.faults
            && !sim.metadata_refresh
            && !sim
                .scenario
                .timeline
                .iter()
                .any(|e| matches!(e.action, Action::Subscribe));
        if !may_run_ahead {
            sim.queue.stop_tracking();
        }
        let mut times: Vec<Time> = (sim.scenario.timeline.iter().map(|e| e.at))
            .chain(sim.scenario.cluster_timeline.iter().map(|e| e.at))
            .map(|at| Time::ZERO + at)
            .collect();
        times.push(Time::ZERO + sim.scenario.last_fault_end() + sim.scenario.convergence_bound);
        times.sort_unstable();
        sim.fault_times = times;
        Ok(sim)
    }

    /// Runs with `engine` (the default is [`Engine::Fast`]). Choosing the
    /// reference is final: a later `with_engine(Engine::Fast)` keeps it.
    pub fn with_engine(mut self, engine: Engine) -> Self {
        if engine == Engine::Reference {
            self.queue.stop_tracking();
        }
        self
    }

    fn schedule_initial(&mut self) {
        for (i, c) in self.scenario.consumers.iter().enumerate() {
            if c.starts_at_zero {
                let at = self.start_offset(i);
                self.queue.push(at, Event::RestartUp(i));
            }
        }
        for (i, e) in self.scenario.timeline.iter().enumerate() {
            self.queue.push(Time::ZERO + e.at, Event::Timeline(i));
        }
        for (i, e) in self.scenario.cluster_timeline.iter().enumerate() {
            self.queue.push(Time::ZERO + e.at, Event::Cluster(i));
        }
        self.queue.push(Time::ZERO, Event::Sample);
        let check_at =
            Time::ZERO + self.scenario.last_fault_end() + self.scenario.convergence_bound;
        if check_at <= Time::ZERO + self.scenario.duration {
            self.queue.push(check_at, Event::ConvergenceCheck);
        }
        self.queue
            .push(Time::ZERO + self.scenario.duration, Event::End);
    }

    /// When consumer `i`, started with the run, actually starts: a seeded
    /// instant in `[0, start_jitter)`, and never after its first timeline
    /// event (which must find it running).
    fn start_offset(&self, i: usize) -> Time {
        let jitter = self.scenario.start_jitter.micros();
        if jitter == 0 {
            return Time::ZERO;
        }
        let name = &self.scenario.consumers[i].name;
        let mut rng = rng_stream(self.seed, &format!("consumer/{name}/start"));
        let first_event = self
            .scenario
            .timeline
            .iter()
            .find(|e| e.consumer == i)
            .map_or(u64::MAX, |e| e.at.micros());
        Time(rand::Rng::random_range(&mut rng, 0..jitter).min(first_event))
    }

    /// Runs to the end of the scenario and returns everything measured.
    pub fn run(mut self) -> RunResult {
        while let Some((at, event)) = self.queue.pop() {
            self.now = at;
            self.events_handled += 1;
            if let Event::End = event {
                break;
            }
            self.handle(event);
            if !self.wakes.is_empty() {
                self.run_ahead();
            }
        }
        self.finish()
    }

    /// Handles the wake-ups just set that can touch nothing but their
    /// consumer before they are due, as the reference would at their time
    /// (same state, same inputs: the cluster's logs are a function of
    /// time), and queues the others. Handled ones count as events, so
    /// `engine_events` is the reference's.
    ///
    /// One handler may arm a consumer's wake-up twice; the earlier one is
    /// then stale, and a stale Poll timer is a no-op that sets nothing
    /// (`Consumer::on_timer`), so the order in which the two are looked
    /// at does not matter.
    fn run_ahead(&mut self) {
        let now = self.now;
        while let Some(w) = self.wakes.pop() {
            if self.wake_is_local(&w) {
                self.now = w.at;
                self.events_handled += 1;
                #[cfg(debug_assertions)]
                {
                    self.running_ahead = true;
                }
                self.consumer_event(w.consumer, ConsumerEvent::Timer(w.timer));
                #[cfg(debug_assertions)]
                {
                    self.running_ahead = false;
                }
                self.now = now;
            } else {
                self.queue_timer(w);
            }
        }
    }

    /// Queues a consumer's timer at its place among the consumer's own.
    fn queue_timer(&mut self, w: SetTimer) {
        self.queue.push_local(
            w.at,
            w.consumer as u32,
            w.local,
            Event::Consumer {
                consumer: w.consumer,
                incarnation: w.incarnation,
                connection: 0,
                kind: ConsumerEvent::Timer(w.timer),
            },
        );
    }

    /// Whether `w` can be handled now for its time: it is due later than
    /// now and before anything that could reach its consumer — an event
    /// addressed to it or a request of its own still queued, a timeline
    /// entry, a sample, the convergence check, the end — and the consumer
    /// would only fetch. At its time the reference handles, before it,
    /// only events that do not touch this consumer (other events at that
    /// time run first; other consumers' timers touch only them).
    fn wake_is_local(&self, w: &SetTimer) -> bool {
        let end = Time::ZERO + self.scenario.duration;
        let first_fault = self.fault_times.partition_point(|&t| t < self.now);
        let horizon = self
            .fault_times
            .get(first_fault)
            .map_or(end, |&t| t.min(end))
            .min(self.next_sample);
        w.at > self.now
            && w.at < horizon
            && w.incarnation == self.processes[w.consumer].incarnation
            && self.processes[w.consumer].paused_until.is_none()
            && self.queue.quiet_until(w.consumer, w.at)
            && self.consumers[w.consumer].wake_is_local(w.at)
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Consumer {
                consumer,
                incarnation,
                connection,
                kind,
            } => {
                if incarnation != self.processes[consumer].incarnation {
                    return; // meant for a previous run of the process
                }
                let on_connection = matches!(
                    kind,
                    ConsumerEvent::Response(_) | ConsumerEvent::ConnectionFailed(_)
                );
                if on_connection && connection != self.consumers[consumer].connection() {
                    // Lost with a connection the client has given up on.
                    return;
                }
                if let Some(until) = self.processes[consumer].paused_until {
                    if self.now < until && !matches!(kind, ConsumerEvent::PauseOver) {
                        // A stalled process handles nothing until it resumes.
                        self.queue.push(
                            until,
                            Event::Consumer {
                                consumer,
                                incarnation,
                                connection,
                                kind,
                            },
                        );
                        return;
                    }
                }
                self.consumer_event(consumer, kind);
            }
            Event::CoordinatorRequest(from, Some(broker), request) => {
                if let Some(request) = self.admit(from, broker, request) {
                    self.deliver(from, request);
                }
            }
            Event::CoordinatorRequest(from, None, request) => self.deliver(from, request),
            Event::FindCoordinator { from, broker } => self.find_coordinator(from, broker),
            Event::CoordinatorLoaded(load) => self.coordinator_loaded(load),
            Event::CoordinatorTimer(incarnation, timer) => {
                if incarnation != self.group_incarnation {
                    return;
                }
                let mut out = CoordinatorOutbox::default();
                self.coordinator.on_classic_timer(self.now, timer, &mut out);
                self.apply_coordinator(out);
            }
            Event::ConsumerGroupTimer(incarnation, timer) => {
                if incarnation != self.group_incarnation {
                    return;
                }
                let was = self.coordinator.is_consumer_group();
                let mut out = CoordinatorOutbox::default();
                self.coordinator
                    .on_consumer_timer(self.now, timer, &self.group_setup, &mut out);
                self.note_conversion(was);
                self.apply_coordinator(out);
            }
            Event::Timeline(i) => self.timeline(i),
            Event::Cluster(i) => self.cluster_event(i),
            Event::BrokerFence { broker, crashed } => self.fence_broker(broker, crashed),
            Event::LeaderBalanceCheck => self.leader_balance_check(),
            Event::Heal(cut) => self.heal(Some(cut)),
            Event::RestartUp(c) => self.start_consumer(c),
            Event::StallOver {
                consumer,
                incarnation,
            } => {
                // A later stall that began before this one ended holds it.
                let process = &mut self.processes[consumer];
                if process.stalled_until == Some((incarnation, self.now)) {
                    process.stalled_until = None;
                    self.apply_facts(vec![Fact::StallEnded { consumer }]);
                }
            }
            Event::Sample => {
                self.sample();
                self.next_sample = self.now + self.scenario.sample_interval;
                self.queue.push(self.next_sample, Event::Sample);
            }
            Event::ConvergenceCheck => self.check_convergence(),
            Event::End => {}
        }
    }

    /// The group coordinator handles a request.
    fn deliver(&mut self, from: Endpoint, request: Request) {
        let was = self.coordinator.is_consumer_group();
        let mut out = CoordinatorOutbox::default();
        self.coordinator.handle(
            self.now,
            from,
            request,
            &self.group_setup,
            &mut self.committed,
            &mut out,
        );
        self.note_conversion(was);
        self.apply_coordinator(out);
    }

    /// (running, running and settled) for consumer `c`.
    fn health(&self, c: usize) -> (bool, bool) {
        let consumer = &self.consumers[c];
        let running = consumer.is_running();
        (
            running,
            running && consumer.is_stable() && self.processes[c].paused_until.is_none(),
        )
    }

    /// Updates the running and settled counts after consumer `c` changed
    /// from `before`.
    fn count_health(&mut self, c: usize, before: (bool, bool)) {
        let after = self.health(c);
        let step = |count: &mut usize, was: bool, is: bool| match (was, is) {
            (false, true) => *count += 1,
            (true, false) => *count -= 1,
            _ => {}
        };
        step(&mut self.running, before.0, after.0);
        step(&mut self.settled, before.1, after.1);
    }

    fn set_paused(&mut self, c: usize, until: Option<Time>) {
        let before = self.health(c);
        self.processes[c].paused_until = until;
        self.count_health(c, before);
    }

    fn with_consumer(
        &mut self,
        c: usize,
        f: impl FnOnce(&mut Consumer, Time, &ConsumerEnv<'_>, &mut ConsumerOutbox),
    ) {
        // The outbox's buffers are reused from one consumer event to the
        // next (most events are polls: allocating them each time showed in
        // profiles).
        let mut out = std::mem::take(&mut self.spare_outbox);
        let env = ConsumerEnv {
            cluster: &self.cluster,
            assignors: &self.assignors,
            latency: self.network.mean_for(c),
            faults: self.faults,
            metadata_refresh: self.metadata_refresh,
        };
        let before = self.health(c);
        let epoch_before = self.consumers[c].generation();
        f(&mut self.consumers[c], self.now, &env, &mut out);
        self.consumers[c].route(self.now, &mut out);
        self.count_health(c, before);
        // A KIP-848 member learns a new epoch from a heartbeat response
        // that may carry no fact; convergence depends on it.
        let epoch_changed = self.consumers[c].generation() != epoch_before;
        if self.subscriptions_vary && self.consumers[c].is_running() != before.0 {
            self.refresh_subscribed();
        }
        self.apply_consumer(c, out);
        if epoch_changed && self.consumers[c].is_consumer_protocol() {
            self.update_convergence();
        }
        if let Some(at) = self.processes[c].restart_at {
            if !self.consumers[c].is_running() {
                self.processes[c].restart_at = None;
                self.queue.push(at.max(self.now), Event::RestartUp(c));
            }
        }
    }

    fn consumer_event(&mut self, c: usize, kind: ConsumerEvent) {
        match kind {
            ConsumerEvent::Timer(t) => {
                self.with_consumer(c, |cons, now, env, out| cons.on_timer(now, t, env, out))
            }
            ConsumerEvent::Response(r) => {
                self.with_consumer(c, |cons, now, env, out| cons.on_response(now, r, env, out))
            }
            ConsumerEvent::ConnectionFailed(error) => self
                .with_consumer(c, |cons, now, env, out| {
                    cons.connection_failed(now, error, env, out)
                }),
            ConsumerEvent::PauseOver => {
                if self.processes[c]
                    .paused_until
                    .is_some_and(|u| u <= self.now)
                {
                    self.set_paused(c, None);
                    self.apply_facts(vec![Fact::ConsumerResumed { consumer: c }]);
                }
            }
        }
    }

    fn start_consumer(&mut self, c: usize) {
        if self.consumers[c].is_running() {
            return;
        }
        self.processes[c].incarnation += 1;
        self.set_paused(c, None);
        self.with_consumer(c, |cons, now, env, out| cons.start(now, env, out));
        if self.faults {
            // A process starting during a network cut cannot fetch across it.
            self.apply_reachability(c);
        }
    }

    fn timeline(&mut self, i: usize) {
        let event = self.scenario.timeline[i].clone();
        let c = event.consumer;
        if let Some(via) = &event.via {
            self.apply_facts(vec![Fact::ShorthandStep {
                consumer: c,
                action: event.action.name(),
                via: via.clone(),
            }]);
        }
        if let (Some(list), None) = (&event.assignors, &self.custom_strategy) {
            // The process starts (again) with another assignment strategy.
            let strategy = Strategy::of(list, &self.assignors);
            self.consumers[c].set_strategy(strategy);
        }
        if let Some(protocol) = event.protocol {
            // The process starts (again) speaking another group.protocol.
            self.consumers[c].set_protocol(protocol);
        }
        match event.action {
            Action::Join => self.start_consumer(c),
            Action::Leave => {
                self.with_consumer(c, |cons, now, _, out| cons.request_close(now, out))
            }
            Action::Crash => self.crash(c),
            Action::Restart { downtime, graceful } => {
                let up = self.now + downtime;
                if graceful {
                    self.processes[c].restart_at = Some(up);
                    self.with_consumer(c, |cons, now, _, out| cons.request_close(now, out));
                } else {
                    self.crash(c);
                    self.queue.push(up, Event::RestartUp(c));
                }
            }
            Action::Subscribe => {
                let mut ids: Vec<u32> = event
                    .topics
                    .iter()
                    .flatten()
                    .filter_map(|t| self.cluster.topic_id(t))
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                if ids.is_empty() {
                    return;
                }
                self.apply_facts(vec![Fact::SubscriptionChanged {
                    consumer: c,
                    topics: event.topics.clone().unwrap_or_default(),
                }]);
                let ids: crate::assign::Subscription = ids.into();
                self.with_consumer(c, |cons, now, env, out| cons.subscribe(now, ids, env, out));
                self.refresh_subscribed();
            }
            Action::Slow { processing } => {
                self.consumers[c].set_processing(processing);
                self.apply_facts(vec![Fact::ProcessingChanged {
                    consumer: c,
                    mean: crate::consumer::mean_time(&processing),
                }]);
            }
            Action::Stall { duration } => {
                let incarnation = self.processes[c].incarnation;
                // Stalls are intervals of a blocked thread: one starting
                // during another blocks it until the later of the two ends,
                // so only the time past the current end is added.
                let current = self.processes[c]
                    .stalled_until
                    .filter(|&(i, end)| i == incarnation && end > self.now)
                    .map(|(_, end)| end);
                let until = current.map_or(self.now + duration, |end| end.max(self.now + duration));
                let added = match current {
                    Some(end) => until.since(end),
                    None => duration,
                };
                self.apply_facts(vec![Fact::ConsumerStalled { consumer: c, until }]);
                if added > Duration::ZERO {
                    self.processes[c].stalled_until = Some((incarnation, until));
                    self.queue.push(
                        until,
                        Event::StallOver {
                            consumer: c,
                            incarnation,
                        },
                    );
                    self.with_consumer(c, |cons, now, _, out| cons.stall(now, added, out))
                }
            }
            Action::Pause { duration } => {
                let until = self.now + duration;
                self.set_paused(c, Some(until));
                self.with_consumer(c, |cons, now, _, out| cons.pause(now, until, out));
                self.apply_facts(vec![Fact::ConsumerPaused { consumer: c, until }]);
                let incarnation = self.processes[c].incarnation;
                self.queue.push(
                    until,
                    Event::Consumer {
                        consumer: c,
                        incarnation,
                        connection: 0,
                        kind: ConsumerEvent::PauseOver,
                    },
                );
            }
        }
    }

    /// The partitions of topics some running consumer subscribes to: what
    /// must be owned for the group to converge, and what the coverage
    /// counts. (Until a `subscribe` event, every consumer subscribes to
    /// the group's topics and this never changes.)
    fn refresh_subscribed(&mut self) {
        self.subscriptions_vary = true;
        let mut now_subscribed = vec![false; self.subscribed.len()];
        for consumer in self.consumers.iter().filter(|c| c.is_running()) {
            for &t in consumer.subscription().iter() {
                let topic = &self.cluster.topics[t as usize];
                for p in 0..topic.partitions {
                    now_subscribed[(topic.first_index + p) as usize] = true;
                }
            }
        }
        for (p, (&was, &is)) in self.subscribed.iter().zip(&now_subscribed).enumerate() {
            if was != is {
                self.metrics.set_subscribed(self.now, p, is);
            }
        }
        self.subscribed = now_subscribed;
    }

    fn crash(&mut self, c: usize) {
        self.set_paused(c, None);
        self.with_consumer(c, |cons, now, _, out| cons.crash(now, out));
        // Anything still addressed to the dead process is dropped.
        self.processes[c].incarnation += 1;
    }

    /// Carries out what consumer `c` asked for, leaving `out` empty for
    /// reuse.
    fn apply_consumer(&mut self, c: usize, mut out: ConsumerOutbox) {
        let from = Endpoint {
            consumer: c,
            incarnation: self.processes[c].incarnation,
            connection: self.consumers[c].connection(),
        };
        let broker = self.consumers[c].coordinator_broker();
        for request in out.requests.drain(..) {
            self.send_request(c, from, broker, request);
        }
        if let Some(broker) = out.find_coordinator.take() {
            self.send_find_coordinator(c, from, broker);
        }
        #[cfg(debug_assertions)]
        debug_assert!(
            !self.running_ahead
                || (out.requests.is_empty()
                    && out.facts.is_empty()
                    && out.find_coordinator.is_none()),
            "a wake-up handled ahead of time reached beyond its consumer"
        );
        for (at, timer) in out.timers.drain(..) {
            // A consumer's timers keep an order of their own at equal
            // times (after every other event, by consumer, then in the
            // order set), so a timer handled ahead of time (fast engine)
            // moves nothing else.
            let process = &mut self.processes[c];
            let local = process.timers_set;
            process.timers_set = local + 1;
            let timer = SetTimer {
                consumer: c,
                at,
                local,
                incarnation: from.incarnation,
                timer,
            };
            if self.queue.tracking() && matches!(timer.timer, ConsumerTimer::Poll(_)) {
                self.wakes.push(timer);
            } else {
                self.queue_timer(timer);
            }
        }
        let facts = std::mem::take(&mut out.facts);
        out.facts = self.apply_facts_reusing(facts);
        self.spare_outbox = out;
    }

    /// The group changed type in the last call: its old timers lapse.
    fn note_conversion(&mut self, was_consumer_group: bool) {
        if self.coordinator.is_consumer_group() != was_consumer_group {
            self.group_incarnation += 1;
        }
    }

    fn apply_coordinator(&mut self, out: CoordinatorOutbox) {
        let from = self.host.broker().unwrap_or(self.cluster.coordinator);
        for (to, response) in out.responses {
            self.respond(to, from, response);
        }
        let incarnation = self.group_incarnation;
        for (at, timer) in out.timers {
            self.queue
                .push(at, Event::CoordinatorTimer(incarnation, timer));
        }
        for (at, timer) in out.consumer_timers {
            self.queue
                .push(at, Event::ConsumerGroupTimer(incarnation, timer));
        }
        self.apply_facts(out.facts);
    }

    /// The consumer whose member id (classic or consumer protocol) is or
    /// last was `member`.
    fn consumer_with_member(&self, member: &str) -> Option<usize> {
        self.consumers
            .iter()
            .position(|c| c.last_member_id() == Some(member))
    }

    /// (fenced, stale) for `consumer`. A zombie processes what is no longer
    /// its own: its member was removed or replaced (fenced), or it works
    /// under an older generation (stale) on a partition another consumer
    /// has since received. Its processing is measured, and is not invariant
    /// 2's business. (A cooperative member finishing a partition nobody
    /// else has yet is not a zombie.)
    fn standing(&self, consumer: usize) -> (bool, bool) {
        let c = &self.consumers[consumer];
        let member = match c.classic_member_id() {
            Some(id) if !c.is_consumer_protocol() => self.coordinator.is_classic_member(id),
            _ => c
                .member_id()
                .is_some_and(|id| self.coordinator.is_member(id)),
        };
        let stale = self.coordinator.is_behind(c.member_id(), c.generation());
        (!member, stale)
    }

    /// Follows which consumer holds each partition, for zombie detection;
    /// true when the fact changed holders.
    fn track_holders(&mut self, fact: &Fact) -> bool {
        match fact {
            Fact::PartitionsAssigned {
                consumer,
                partitions,
                ..
            } => {
                for &tp in partitions {
                    self.received_by[self.cluster.index_of(tp)] = Some((*consumer, self.now));
                }
            }
            Fact::PartitionsRevoked {
                consumer,
                partitions,
            }
            | Fact::PartitionsLost {
                consumer,
                partitions,
            } => {
                for &tp in partitions {
                    let slot = &mut self.received_by[self.cluster.index_of(tp)];
                    if slot.is_some_and(|(holder, _)| holder == *consumer) {
                        *slot = None;
                    }
                }
            }
            _ => return false,
        }
        true
    }

    fn apply_facts(&mut self, facts: Vec<Fact>) {
        self.apply_facts_reusing(facts);
    }

    /// Feeds `facts` (and the violations they reveal) to every observer;
    /// returns the emptied vector for reuse.
    fn apply_facts_reusing(&mut self, facts: Vec<Fact>) -> Vec<Fact> {
        let mut membership_changed = false;
        let mut holders_changed = false;
        let mut pending = facts;
        while !pending.is_empty() {
            let mut found = Vec::new();
            // Whether a consumer is fenced or behind the group's generation,
            // asked once per consumer per batch of facts: processed ranges
            // are by far the most frequent facts.
            let mut standing: Option<(usize, bool, bool)> = None;
            for fact in &pending {
                if let Fact::Processed {
                    consumer,
                    partition,
                    from,
                    to,
                    since,
                } = fact
                {
                    let (consumer, partition) = (*consumer, *partition);
                    let again = self.ledger.record_processed(partition, *from, *to);
                    self.metrics
                        .processed(consumer, to - from, again, *since, self.now);
                    let (fenced, stale) = match standing {
                        Some((c, fenced, stale)) if c == consumer => (fenced, stale),
                        _ => {
                            let (fenced, stale) = self.standing(consumer);
                            standing = Some((consumer, fenced, stale));
                            (fenced, stale)
                        }
                    };
                    let taken_at = self.received_by[partition]
                        .and_then(|(holder, at)| (holder != consumer).then_some(at));
                    if fenced || (stale && taken_at.is_some()) {
                        // Partition-time counts from when the work became
                        // a zombie's: the member removed or replaced, or
                        // (stale) the partition received by another — not
                        // from the start of a batch begun as a member.
                        let became = if fenced {
                            self.membership_ended_at[consumer]
                        } else {
                            taken_at
                        };
                        let from_time = became.map_or(*since, |at| at.max(*since));
                        self.metrics
                            .zombie(to - from, self.now.since(from_time).micros());
                    } else {
                        let cluster = &self.cluster;
                        let names = &self.consumer_names;
                        if let Some(violation) = self.checker.processed(
                            self.now,
                            consumer,
                            partition,
                            *since,
                            &|c| names[c].clone(),
                            &|p| cluster.tp_name(cluster.partition_at(p)),
                        ) {
                            found.push(violation);
                        }
                    }
                    // No other observer looks at processed ranges; the
                    // digest does.
                    self.log.digest_processed(self.now, fact);
                    continue;
                }
                if let Fact::CommitStored {
                    partition, offset, ..
                } = fact
                {
                    // One per partition of every commit, the next most
                    // frequent: only the ledger, invariant 3 and the
                    // digest look at it.
                    self.ledger.record_commit(*partition, *offset);
                    let cluster = &self.cluster;
                    if let Some(violation) = self
                        .checker
                        .commit_stored(self.now, fact, |p| cluster.tp_name(cluster.partition_at(p)))
                    {
                        found.push(violation);
                    }
                    self.log.digest_commit(self.now, fact);
                    continue;
                }
                if self.track_holders(fact) {
                    holders_changed = true;
                }
                match fact {
                    Fact::Processed { .. } => {}
                    Fact::OffsetReset {
                        partition,
                        position,
                        ..
                    } => {
                        let unseen = self.ledger.record_reset(*partition, *position);
                        if self.added.get(*partition).copied().unwrap_or(false) {
                            self.skipped_in_added += unseen;
                        }
                    }
                    Fact::CommitStored { .. } => {}
                    Fact::Violation { .. } => {}
                    Fact::MemberRemoved { member, .. }
                    | Fact::MemberReplaced { old: member, .. } => {
                        if let Some(c) = self.consumer_with_member(member) {
                            self.membership_ended_at[c] = Some(self.now);
                        }
                        membership_changed = true;
                    }
                    Fact::AssignmentComputed { protocol, .. } => {
                        self.last_protocol = Some(protocol.clone());
                        membership_changed = true;
                    }
                    _ => membership_changed = true,
                }
                let cluster = &self.cluster;
                found.extend(
                    self.checker
                        .observe(self.now, fact, |p| cluster.tp_name(cluster.partition_at(p))),
                );
                self.metrics
                    .observe(self.now, fact, |tp| cluster.index_of(tp));
                let names = crate::metrics::Namer {
                    consumers: &self.consumer_names,
                    partition: &|tp| cluster.tp_name(tp),
                };
                self.log.record(self.now, fact, &names);
            }
            pending.clear();
            if found.is_empty() {
                break;
            }
            std::mem::swap(&mut pending, &mut found);
        }
        if holders_changed {
            self.update_cut_off();
        }
        if membership_changed {
            self.update_convergence();
        }
        pending
    }

    /// Re-evaluates convergence now (after membership facts, or a member
    /// epoch that changed without one).
    fn update_convergence(&mut self) {
        {
            let converged = convergence::is_converged(
                &self.coordinator,
                &self.consumers,
                convergence::Counts {
                    running: self.running,
                    settled: self.settled,
                },
                &self.subscribed,
                &self.cluster,
            );
            let was = self.convergence.converged();
            self.convergence.update(self.now, converged);
            // Invariant 5 is asked after its bound, until one lapse is reported.
            if self.convergence.was_checked() && !self.convergence.lapse_reported() {
                if let Some(fact) = self.checker.convergence_after_bound(
                    self.now,
                    was,
                    converged,
                    self.coordinator.state(),
                ) {
                    self.convergence.report_lapse();
                    self.apply_facts(vec![fact]);
                }
            }
        }
    }

    fn sample(&mut self) {
        let mut produced = 0;
        let mut lag_total = 0;
        let mut lag_max = 0;
        let mut backlog_total = 0;
        // Topic by topic (partitions are numbered so, each topic's block
        // sized for its largest partition count): the topic's visible
        // records are computed once.
        let topics = &self.cluster.topics;
        for (topic, t) in topics.iter().enumerate() {
            let first = t.first_index as usize;
            let end = topics
                .get(topic + 1)
                .map_or(self.subscribed.len(), |next| next.first_index as usize);
            let Some(p) = self.subscribed[first..end].iter().position(|&s| s) else {
                continue;
            };
            let visible = self.cluster.visible_records(topic as u32, self.now);
            for i in first + p..end {
                if !self.subscribed[i] {
                    continue;
                }
                let tp = crate::assign::TopicPartition::new(topic as u32, (i - first) as u32);
                debug_assert_eq!(tp, self.cluster.partition_at(i));
                let leo = self.cluster.log_end_offset_of_visible(tp, visible);
                produced += leo;
                let base = self
                    .committed
                    .get(i)
                    .or_else(|| self.ledger.start_of(i))
                    .unwrap_or(leo);
                let lag = leo.saturating_sub(base);
                lag_total += lag;
                lag_max = lag_max.max(lag);
                self.partition_lag_max[i] = self.partition_lag_max[i].max(lag);
                backlog_total += leo.saturating_sub(self.ledger.frontier(i).unwrap_or(leo));
            }
        }
        let point = SamplePoint {
            produced,
            processed: self.ledger.processed(),
            lag_total,
            lag_max,
            backlog_total,
            members: self.coordinator.member_count() as u64,
            generation: self.coordinator.generation(),
            duplicates: self.ledger.duplicates(),
            lost: self.ledger.lost(),
        };
        self.metrics.sample(self.now, point);
    }

    fn check_convergence(&mut self) {
        let group = GroupAtBound {
            converged: self.convergence.converged(),
            state: self.coordinator.state(),
            stable: self.consumers.iter().filter(|c| c.is_stable()).count(),
            running: self.consumers.iter().filter(|c| c.is_running()).count(),
        };
        if let Some(fact) = self.checker.convergence_at_bound(self.now, &group) {
            self.apply_facts(vec![fact]);
        }
        self.convergence.mark_checked();
    }

    fn finish(mut self) -> RunResult {
        let end = Time::ZERO + self.scenario.duration;
        self.now = end;
        if self
            .metrics
            .samples()
            .last()
            .is_none_or(|s| s.time_s < end.as_secs_f64())
        {
            self.sample();
        }
        for c in &self.consumers {
            if let Some((records, since, ends)) = c.batch_in_progress().filter(|_| c.is_running()) {
                self.metrics.in_progress(records, since, ends, end);
            }
        }
        self.metrics.finish(end);
        // At-most-once (commit before processing) loses records by design:
        // the summary counts them, invariant 4 does not apply.
        let at_least_once = !self.scenario.group.commit.at_most_once();
        if let Some(fact) = at_least_once
            .then(|| self.checker.at_end(end, &self.ledger))
            .flatten()
        {
            self.apply_facts(vec![fact]);
        }
        result::build(self)
    }

    /// The state of the group coordinator (for tests and tools).
    pub fn coordinator_state(&self) -> GroupState {
        self.coordinator.state()
    }

    /// The scenario being run.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Duration of the run.
    pub fn duration(&self) -> Duration {
        self.scenario.duration
    }
}
