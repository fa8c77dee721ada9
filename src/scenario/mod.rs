//! Scenario files: the cluster, the group, the consumers and a timeline of
//! faults, read from TOML with unknown fields rejected and every error
//! located (`file:line:col`, field, what is allowed).

mod chaos;
mod check;
mod duration;
mod error;
mod overrides;
mod raw;
mod validate;

pub use duration::{DURATION_HELP, parse_duration};
pub use error::{Diagnostic, ScenarioError};

use crate::assign::AssignorName;
use crate::sim::Duration;
use std::path::Path;

/// A validated scenario, ready to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Name used for the output directory (default: the file stem).
    pub name: String,
    /// Free text from `[scenario] description`.
    pub description: String,
    /// The file the scenario came from, for replay commands. Private, as
    /// is `overrides`: a `Scenario` is made only by [`Scenario::load`] or
    /// [`Scenario::from_toml`]; change its public fields afterwards and
    /// `Simulation::new` checks them again ([`Scenario::validate`]).
    pub(crate) source: String,
    /// The `--set` overrides applied, for replay commands.
    pub(crate) overrides: Vec<String>,
    /// Seed used when the command line gives none.
    pub default_seed: u64,
    /// How long to simulate.
    pub duration: Duration,
    /// Time between two rows of `timeseries.csv`.
    pub sample_interval: Duration,
    /// Liveness bound: the group must be stable this long after the last fault.
    pub convergence_bound: Duration,
    /// `[scenario] fetch_quantum`: the opt-in speed approximation. Consumers
    /// see the log as of the last multiple of this quantum (a fetch answers
    /// once per quantum, as with a `fetch.min.bytes` never reached and
    /// `fetch.max.wait.ms` = the quantum, on one clock for all consumers),
    /// so a caught-up consumer polls once per quantum, not once per
    /// producer batch. `None`: exact, records visible at each `linger`.
    pub fetch_quantum: Option<Duration>,
    /// Brokers.
    pub cluster: ClusterConfig,
    /// Topics, in file order.
    pub topics: Vec<TopicConfig>,
    /// The consumer group.
    pub group: GroupConfig,
    /// Every consumer that ever runs, declared or created by a `join`.
    pub consumers: Vec<ConsumerConfig>,
    /// Consumers that start at time zero start at a seeded instant in
    /// `[0, start_jitter)` instead (never after their first timeline
    /// event), so heartbeat and auto-commit phases differ between seeds.
    pub start_jitter: Duration,
    /// Faults, sorted by time (file order for equal times).
    pub timeline: Vec<TimelineEvent>,
    /// Faults of brokers and the network, sorted by time (file order for
    /// equal times; at equal times after the consumers' events).
    pub cluster_timeline: Vec<ClusterEvent>,
    /// Links slower (or faster) than `cluster.network_latency`.
    pub links: Vec<LinkLatency>,
    /// `[[variants]]`: what `compare` runs side by side (a plain run
    /// ignores them).
    pub variants: Vec<VariantSpec>,
    /// `[chaos]`: random faults, drawn from the seed when a simulation is
    /// made ([`Scenario::draw_chaos`]).
    pub chaos: Option<Chaos>,
    /// The scenario text after `--set` overrides: drawn faults are added
    /// to it as `[[timeline]]` entries, so a drawn scenario is parsed the
    /// way its `--emit-timeline` file is.
    pub(crate) text: String,
}

/// One `[[variants]]` entry: a name and the overrides that make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantSpec {
    /// Its name in tables and charts.
    pub name: String,
    /// `key=value` overrides, as `--set` takes them, in key order.
    pub overrides: Vec<String>,
}

/// `[chaos]`: faults drawn at random from the run's seed within a window;
/// after it, a quiet phase in which the group must converge.
#[derive(Debug, Clone, PartialEq)]
pub struct Chaos {
    /// Start of the window.
    pub start: Duration,
    /// End of the window: no drawn fault starts after it.
    pub end: Duration,
    /// Each kind of fault and its mean time between two, in a fixed order
    /// (the order of [`ChaosKind`]), so the draws do not depend on the
    /// order the file lists them in.
    pub faults: Vec<ChaosFault>,
}

/// One kind of random fault.
#[derive(Debug, Clone, PartialEq)]
pub struct ChaosFault {
    /// Mean time between two (their gaps are drawn from an exponential
    /// distribution: a Poisson process).
    pub every: Duration,
    /// What happens.
    pub kind: ChaosKind,
}

/// What a random fault does, with its fields.
#[derive(Debug, Clone, PartialEq)]
pub enum ChaosKind {
    /// A running consumer crashes.
    Crash,
    /// A running consumer restarts.
    Restart {
        /// Down this long.
        downtime: Duration,
        /// Closes cleanly first.
        graceful: bool,
    },
    /// A running consumer's process freezes.
    Pause {
        /// For this long.
        duration: Duration,
    },
    /// A running consumer's application thread stalls.
    Stall {
        /// For this long.
        duration: Duration,
    },
    /// A running consumer leaves gracefully.
    Leave,
    /// A stopped consumer starts again, or a new one (`chaos-N`) joins.
    Join,
    /// A running consumer processes more slowly from now on.
    Slow {
        /// The new per-record time, as written (emitted as is).
        processing: String,
    },
    /// A running broker crashes and restarts after `downtime`.
    BrokerCrash {
        /// Down this long.
        downtime: Duration,
    },
    /// A running consumer is cut from the group coordinator for a while.
    NetworkPartition {
        /// Healed after this long.
        duration: Duration,
        /// Only the consumer's messages to the coordinator are dropped.
        one_way: bool,
    },
    /// A topic gets `count` more partitions.
    AddPartitions {
        /// How many.
        count: u32,
    },
}

impl ChaosKind {
    /// Its key in `[chaos]`.
    pub fn key(&self) -> &'static str {
        match self {
            ChaosKind::Crash => "crash",
            ChaosKind::Restart { .. } => "restart",
            ChaosKind::Pause { .. } => "pause",
            ChaosKind::Stall { .. } => "stall",
            ChaosKind::Leave => "leave",
            ChaosKind::Join => "join",
            ChaosKind::Slow { .. } => "slow",
            ChaosKind::BrokerCrash { .. } => "broker_crash",
            ChaosKind::NetworkPartition { .. } => "network_partition",
            ChaosKind::AddPartitions { .. } => "add_partitions",
        }
    }

    /// How long after it starts the fault is over.
    pub fn length(&self) -> Duration {
        match *self {
            ChaosKind::Restart { downtime, .. } | ChaosKind::BrokerCrash { downtime } => {
                // A crashed broker is fenced after its session timeout.
                if matches!(self, ChaosKind::BrokerCrash { .. }) {
                    downtime.max(
                        crate::cluster::BROKER_SESSION_TIMEOUT
                            + crate::cluster::BROKER_HEARTBEAT_INTERVAL,
                    )
                } else {
                    downtime
                }
            }
            ChaosKind::Pause { duration }
            | ChaosKind::Stall { duration }
            | ChaosKind::NetworkPartition { duration, .. } => duration,
            _ => Duration::ZERO,
        }
    }
}

/// The latency of the link between a consumer and a broker (both ways),
/// instead of `cluster.network_latency`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkLatency {
    /// Index into [`Scenario::consumers`].
    pub consumer: usize,
    /// The broker; `None`: every broker.
    pub broker: Option<u32>,
    /// One-way latency of each message.
    pub latency: TimeDist,
}

/// A fault of a broker or of the network at a point in time.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterEvent {
    /// When.
    pub at: Duration,
    /// What happens.
    pub action: ClusterAction,
    /// The shorthand this event was expanded from, if any.
    pub via: Option<String>,
}

/// A node of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    /// A consumer process (index into [`Scenario::consumers`]).
    Consumer(usize),
    /// A broker by id.
    Broker(u32),
    /// Whichever broker hosts the group coordinator when the event
    /// happens.
    Coordinator,
}

/// Links a network fault cuts or heals: from `from` to `to` (every other
/// node when `None`: `from` is isolated), and back unless `one_way`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// One end.
    pub from: Node,
    /// The other end; `None`: every other node.
    pub to: Option<Node>,
    /// Only messages from `from` to `to` are dropped.
    pub one_way: bool,
}

impl Cut {
    /// "c1 <-> coordinator", "c1 -> broker-0", "c1 isolated".
    pub fn describe(&self, consumers: &[ConsumerConfig]) -> String {
        let node = |n: Node| match n {
            Node::Consumer(c) => consumers[c].name.clone(),
            Node::Broker(b) => format!("broker-{b}"),
            Node::Coordinator => "coordinator".to_string(),
        };
        match self.to {
            None => format!("{} isolated", node(self.from)),
            Some(t) if self.one_way => format!("{} -> {}", node(self.from), node(t)),
            Some(t) => format!("{} <-> {}", node(self.from), node(t)),
        }
    }
}

/// What a cluster fault does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClusterAction {
    /// The broker's process dies: no controlled shutdown.
    BrokerCrash {
        /// Broker id.
        broker: u32,
    },
    /// A controlled shutdown: leadership moves away, then the broker stops.
    BrokerShutdown {
        /// Broker id.
        broker: u32,
    },
    /// The broker starts again.
    BrokerRestart {
        /// Broker id.
        broker: u32,
    },
    /// Messages on the cut links are dropped, for `duration` if given.
    NetworkPartition {
        /// The links.
        cut: Cut,
        /// Healed after this long (`None`: until a `network-heal`).
        duration: Option<Duration>,
    },
    /// The cut links carry messages again.
    NetworkHeal {
        /// The links (`None`: every link).
        cut: Option<Cut>,
    },
    /// The topic gets more partitions (`kafka-topics --alter
    /// --partitions`).
    AddPartitions {
        /// Index into [`Scenario::topics`].
        topic: usize,
        /// Its partition count from now on.
        partitions: u32,
    },
}

impl ClusterAction {
    /// The name used in scenario files and event logs.
    pub fn name(&self) -> &'static str {
        match self {
            ClusterAction::BrokerCrash { .. } => "broker-crash",
            ClusterAction::BrokerShutdown { .. } => "broker-shutdown",
            ClusterAction::BrokerRestart { .. } => "broker-restart",
            ClusterAction::NetworkPartition { .. } => "network-partition",
            ClusterAction::NetworkHeal { .. } => "network-heal",
            ClusterAction::AddPartitions { .. } => "add-partitions",
        }
    }

    /// How long after `at` the fault is over (for the convergence bound):
    /// a crashed broker's partitions move after the fencing time.
    pub fn length(&self) -> Duration {
        match *self {
            ClusterAction::BrokerCrash { .. } => {
                crate::cluster::BROKER_SESSION_TIMEOUT + crate::cluster::BROKER_HEARTBEAT_INTERVAL
            }
            ClusterAction::NetworkPartition { duration, .. } => duration.unwrap_or(Duration::ZERO),
            _ => Duration::ZERO,
        }
    }

    /// "broker-crash broker-2", "network-partition c1 <-> coordinator",
    /// "add-partitions orders to 24":
    /// for chart markers and the disruption table.
    pub fn label(&self, scenario: &Scenario) -> String {
        let cut = |c: &Cut| c.describe(&scenario.consumers);
        match self {
            ClusterAction::BrokerCrash { broker }
            | ClusterAction::BrokerShutdown { broker }
            | ClusterAction::BrokerRestart { broker } => format!("{} broker-{broker}", self.name()),
            ClusterAction::NetworkPartition { cut: c, .. } => format!("{} {}", self.name(), cut(c)),
            ClusterAction::NetworkHeal { cut: Some(c) } => format!("{} {}", self.name(), cut(c)),
            ClusterAction::NetworkHeal { cut: None } => format!("{} everything", self.name()),
            ClusterAction::AddPartitions { topic, partitions } => format!(
                "{} {} to {partitions}",
                self.name(),
                scenario.topics[*topic].name
            ),
        }
    }

    /// True for broker faults.
    pub fn is_broker_fault(&self) -> bool {
        matches!(
            self,
            ClusterAction::BrokerCrash { .. }
                | ClusterAction::BrokerShutdown { .. }
                | ClusterAction::BrokerRestart { .. }
        )
    }
}

/// Brokers and broker-side group settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    /// Number of brokers.
    pub brokers: u32,
    /// Broker `i` is in rack `racks[i % len]`; empty means no racks.
    pub racks: Vec<String>,
    /// One-way latency of every request and response, drawn per message
    /// (messages on one connection still arrive in order).
    pub network_latency: TimeDist,
    /// `offsets.topic.num.partitions` (coordinator choice).
    pub offsets_topic_partitions: u32,
    /// `group.min.session.timeout.ms`.
    pub group_min_session_timeout: Duration,
    /// `group.max.session.timeout.ms`.
    pub group_max_session_timeout: Duration,
    /// `group.consumer.min.session.timeout.ms` (KIP-848).
    pub group_consumer_min_session_timeout: Duration,
    /// `group.consumer.max.session.timeout.ms` (KIP-848).
    pub group_consumer_max_session_timeout: Duration,
    /// `group.consumer.min.heartbeat.interval.ms` (KIP-848).
    pub group_consumer_min_heartbeat_interval: Duration,
    /// `group.consumer.max.heartbeat.interval.ms` (KIP-848).
    pub group_consumer_max_heartbeat_interval: Duration,
    /// `group.coordinator.append.linger.ms`: how long the coordinator's
    /// writes (SyncGroup's assignment, OffsetCommit) wait for more before
    /// the batch is flushed.
    pub append_linger: Duration,
    /// From the coordinator's flush until its followers have the batch;
    /// SyncGroup and OffsetCommit responses wait for both.
    pub replication_latency: Duration,
}

/// A topic and its produce rate.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicConfig {
    /// Topic name.
    pub name: String,
    /// Number of partitions.
    pub partitions: u32,
    /// Records per second over the whole topic (the constant rate; with a
    /// `load` shape, unused).
    pub produce_rate: f64,
    /// A production rate that changes over time (`load`), instead of the
    /// constant `produce_rate`.
    pub load: Option<RateShape>,
    /// Per-partition weights of the keys (hot partitions); `None`: records
    /// dealt round-robin, evenly.
    pub weights: Option<Vec<u32>>,
    /// Per-record processing time of this topic's records, for every
    /// consumer (`None`: the consumer's own).
    pub processing: Option<TimeDist>,
    /// Producer `linger.ms`: records become visible to consumers in
    /// batches sent at this cadence (Kafka 4.0's default is 5 ms).
    pub linger: Duration,
    /// Replicas per partition (their brokers' racks feed rack-aware
    /// assignors).
    pub replication_factor: u32,
}

/// `group.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupProtocol {
    /// The classic JoinGroup/SyncGroup protocol.
    Classic,
    /// The KIP-848 consumer protocol (`ConsumerGroupHeartbeat`).
    Consumer,
}

impl GroupProtocol {
    /// The value of `group.protocol`.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupProtocol::Classic => "classic",
            GroupProtocol::Consumer => "consumer",
        }
    }
}

/// `auto.offset.reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    /// Start from the log start.
    Earliest,
    /// Start from the log end (Kafka's default).
    Latest,
}

/// How consumers commit offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitMode {
    /// `enable.auto.commit=true`: async commits in `poll()` every interval,
    /// sync commits before revoking and on close.
    Auto {
        /// `auto.commit.interval.ms`.
        interval: Duration,
    },
    /// `commitSync()` after every processed batch.
    Sync,
    /// `commitAsync()` after every processed batch: the application does
    /// not wait, a failed commit is not retried.
    Async,
    /// At-most-once: `commitSync()` of the fetched positions before the
    /// batch is processed, so a crash loses what was committed but not yet
    /// processed.
    BeforeProcessing,
}

/// The consumer group's configuration (Kafka defaults where not given).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupConfig {
    /// `group.id`.
    pub id: String,
    /// `group.protocol`: the consumers' protocol (each may override it).
    pub protocol: GroupProtocol,
    /// `partition.assignment.strategy`: the consumers' assignors in order
    /// of preference (Kafka's default `[range, cooperative-sticky]`);
    /// classic protocol only.
    pub assignors: Vec<AssignorName>,
    /// `group.remote.assignor`: the server-side assignor consumer-protocol
    /// members ask for (none: the broker's default, `uniform`).
    pub remote_assignor: Option<AssignorName>,
    /// `group.consumer.heartbeat.interval.ms` (broker).
    pub consumer_heartbeat_interval: Duration,
    /// `group.consumer.session.timeout.ms` (broker).
    pub consumer_session_timeout: Duration,
    /// `group.consumer.assignment.interval.ms` (broker, Kafka 4.3).
    pub consumer_assignment_interval: Duration,
    /// `group.consumer.migration.policy` (broker).
    pub migration_policy: crate::coordinator::MigrationPolicy,
    /// `session.timeout.ms`.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    /// `max.poll.interval.ms`.
    pub max_poll_interval: Duration,
    /// Rebalance timeout (the classic client sends `max.poll.interval.ms`).
    pub rebalance_timeout: Duration,
    /// `group.initial.rebalance.delay.ms` (broker).
    pub initial_rebalance_delay: Duration,
    /// `max.poll.records`.
    pub max_poll_records: u32,
    /// `auto.offset.reset`.
    pub auto_offset_reset: OffsetReset,
    /// Commit mode.
    pub commit: CommitMode,
    /// Commit processed offsets in `onPartitionsRevoked`.
    pub commit_on_revoke: bool,
    /// The coordinator fences OffsetCommit by member and generation
    /// (always, in Kafka; `false` is a what-if).
    pub fencing: bool,
    /// Subscribed topics.
    pub topics: Vec<String>,
}

/// A topic's production rate over time (records per second for the whole
/// topic). Produced counts stay closed-form functions of time.
#[derive(Debug, Clone, PartialEq)]
pub enum RateShape {
    /// `rate` from each step's time on (the first step is at 0 s).
    Steps(Vec<(Duration, f64)>),
    /// `from` until `start`, then linearly to `to` at `end`, `to` after.
    Ramp {
        /// Rate up to `start`.
        from: f64,
        /// Rate from `end` on.
        to: f64,
        /// Start of the ramp.
        start: Duration,
        /// End of the ramp.
        end: Duration,
    },
    /// `base`, and `burst` instead for `length` every `every` from `start`.
    Bursts {
        /// Rate outside bursts.
        base: f64,
        /// Rate during a burst.
        burst: f64,
        /// Time between burst starts.
        every: Duration,
        /// Length of a burst.
        length: Duration,
        /// Start of the first burst.
        start: Duration,
    },
    /// `mean + amplitude × sin(2π (t + phase) / period)` (a daily cycle with
    /// `period = "24h"`); `amplitude` at most `mean`.
    Sine {
        /// Mean rate.
        mean: f64,
        /// Swing around the mean.
        amplitude: f64,
        /// Length of a cycle.
        period: Duration,
        /// Shift of the cycle.
        phase: Duration,
    },
}

/// A distribution of durations: per-record processing time, network
/// latency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeDist {
    /// Every record takes the same time.
    Constant(Duration),
    /// Uniform between `min` and `max`.
    Uniform {
        /// Shortest.
        min: Duration,
        /// Longest.
        max: Duration,
    },
    /// Normal, truncated at zero.
    Normal {
        /// Mean.
        mean: Duration,
        /// Standard deviation.
        stddev: Duration,
    },
    /// Exponential with the given mean.
    Exponential {
        /// Mean.
        mean: Duration,
    },
}

/// One consumer process.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerConfig {
    /// Client name (`client.id`), prefix of its member ids.
    pub name: String,
    /// `group.instance.id` (static membership).
    pub instance_id: Option<String>,
    /// `client.rack`.
    pub rack: Option<String>,
    /// Per-record processing time.
    pub processing: TimeDist,
    /// Started at time zero (false: only by a timeline `join`).
    pub starts_at_zero: bool,
    /// `partition.assignment.strategy` of this consumer.
    pub assignors: Vec<AssignorName>,
    /// `group.protocol` of this consumer.
    pub protocol: GroupProtocol,
}

/// A fault or membership change at a point in time.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEvent {
    /// When.
    pub at: Duration,
    /// Index into [`Scenario::consumers`].
    pub consumer: usize,
    /// What happens.
    pub action: Action,
    /// A `join` or `restart` that starts the consumer with another
    /// `partition.assignment.strategy` (a rolling upgrade).
    pub assignors: Option<Vec<AssignorName>>,
    /// A `join` or `restart` that starts the consumer with another
    /// `group.protocol` (the online migration).
    pub protocol: Option<GroupProtocol>,
    /// The shorthand this event was expanded from ("rolling-restart at
    /// 30s, 2 of 6"); logged in `events.csv`.
    pub via: Option<String>,
    /// `subscribe`: the new topics (names of `[[topics]]`).
    pub topics: Option<Vec<String>>,
}

/// What a timeline event does to its consumer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// The consumer starts and joins the group.
    Join,
    /// Graceful shutdown: commit (as configured), LeaveGroup (dynamic members), exit.
    Leave,
    /// The process dies: no commit, no LeaveGroup.
    Crash,
    /// Stop (gracefully or not), stay down for `downtime`, start again with
    /// the same name and instance id.
    Restart {
        /// How long the process is down.
        downtime: Duration,
        /// Close cleanly (commit, LeaveGroup for dynamic members) first.
        graceful: bool,
    },
    /// The whole process stalls (GC pause, VM freeze) for `duration`:
    /// no processing, no heartbeats, no network.
    Pause {
        /// Stall length.
        duration: Duration,
    },
    /// Only the application thread stalls (a slow downstream call): the
    /// batch in progress takes `duration` longer while the heartbeat
    /// thread keeps running, so `max.poll.interval.ms` is what trips.
    Stall {
        /// Stall length.
        duration: Duration,
    },
    /// The application calls `subscribe()` with the event's `topics`.
    Subscribe,
    /// From now on each record takes a time drawn from `processing` (a
    /// slower downstream, a bad deploy).
    Slow {
        /// The new per-record processing time.
        processing: TimeDist,
    },
}

impl CommitMode {
    /// True when a crash can lose records by design (at-most-once).
    pub fn at_most_once(self) -> bool {
        self == CommitMode::BeforeProcessing
    }
}

impl Action {
    /// The name used in scenario files and event logs.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Join => "join",
            Action::Leave => "leave",
            Action::Crash => "crash",
            Action::Restart { .. } => "restart",
            Action::Pause { .. } => "pause",
            Action::Stall { .. } => "stall",
            Action::Slow { .. } => "slow",
            Action::Subscribe => "subscribe",
        }
    }

    /// How long after `at` the fault is over.
    pub fn length(&self) -> Duration {
        match *self {
            Action::Restart { downtime, .. } => downtime,
            Action::Pause { duration } | Action::Stall { duration } => duration,
            _ => Duration::ZERO,
        }
    }
}

impl Scenario {
    /// Reads and validates a scenario file, applying `--set key=value`
    /// overrides.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into());
        Scenario::from_toml(&text, &path.display().to_string(), &stem, overrides)
    }

    /// Parses and validates scenario text; `file` names it in errors and
    /// `default_name` is used when the file gives no name.
    pub fn from_toml(
        text: &str,
        file: &str,
        default_name: &str,
        overrides: &[String],
    ) -> Result<Scenario, ScenarioError> {
        validate::load(text, file, default_name, overrides)
    }

    /// The file the scenario came from (as given).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The `--set` overrides applied when it was loaded.
    pub fn overrides(&self) -> &[String] {
        &self.overrides
    }

    /// The time after which no more faults happen.
    pub fn last_fault_end(&self) -> Duration {
        let consumers = self.timeline.iter().map(|e| e.at + e.action.length());
        let cluster = self
            .cluster_timeline
            .iter()
            .map(|e| e.at + e.action.length());
        consumers.chain(cluster).max().unwrap_or(Duration::ZERO)
    }

    /// True when the timeline crashes, stops or restarts a broker (the
    /// cluster then keeps a leadership table).
    pub fn has_broker_faults(&self) -> bool {
        self.cluster_timeline
            .iter()
            .any(|e| e.action.is_broker_fault())
    }

    /// True when the timeline adds partitions to a topic.
    pub fn adds_partitions(&self) -> bool {
        self.cluster_timeline
            .iter()
            .any(|e| matches!(e.action, ClusterAction::AddPartitions { .. }))
    }

    /// True when the timeline cuts network links.
    pub fn has_network_faults(&self) -> bool {
        self.cluster_timeline
            .iter()
            .any(|e| matches!(e.action, ClusterAction::NetworkPartition { .. }))
    }

    /// Index of the consumer called `name`.
    pub fn consumer_index(&self, name: &str) -> Option<usize> {
        self.consumers.iter().position(|c| c.name == name)
    }
}
