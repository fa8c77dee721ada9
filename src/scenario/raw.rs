//! The scenario file exactly as written: serde structs with unknown fields
//! rejected and spans kept where later checks need them.

use super::duration::{DURATION_HELP, deserialize_duration, parse_duration};
use crate::sim::Duration;
use serde::Deserialize;
use serde::de::{self, Deserializer};
use toml::Spanned;

/// A duration that may be zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_duration(d).map(Dur)
    }
}

/// A duration that must be longer than zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PosDur(pub Duration);

impl<'de> Deserialize<'de> for PosDur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = deserialize_duration(d)?;
        if v.0 == 0 {
            return Err(de::Error::custom(format!(
                "must be longer than zero; expected {DURATION_HELP}"
            )));
        }
        Ok(PosDur(v))
    }
}

/// `[scenario] fetch_quantum`: `"exact"` (the default: no approximation)
/// or a duration longer than zero. `"exact"` lets a comparison vary it
/// (`--vary scenario.fetch_quantum=exact,100ms,1s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchQuantum(pub Option<Duration>);

/// What `fetch_quantum` may be, for error messages.
const FETCH_QUANTUM_HELP: &str =
    "\"exact\" or a duration longer than zero such as \"100ms\" or \"1s\"";

impl<'de> Deserialize<'de> for FetchQuantum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = FetchQuantum;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(FETCH_QUANTUM_HELP)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<FetchQuantum, E> {
                if s.trim() == "exact" {
                    return Ok(FetchQuantum(None));
                }
                match parse_duration(s) {
                    Ok(q) if q.0 > 0 => Ok(FetchQuantum(Some(q))),
                    Ok(_) => Err(E::custom(format!(
                        "must be longer than zero; expected {FETCH_QUANTUM_HELP}"
                    ))),
                    Err(e) => Err(E::custom(format!("{e}; or \"exact\""))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A Kafka `*.ms` setting: whole milliseconds, at least `MIN_MS`, at most
/// `i32::MAX` (Kafka declares these configs as `Type.INT` or
/// `Type.LONG` milliseconds, so a finer or larger value cannot be set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KafkaMs<const MIN_MS: u64>(pub Duration);

/// The largest value of a Kafka int config, in milliseconds.
pub const KAFKA_INT_MAX_MS: u64 = i32::MAX as u64;

impl<'de, const MIN_MS: u64> Deserialize<'de> for KafkaMs<MIN_MS> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = deserialize_duration(d)?;
        check_kafka_ms(v, MIN_MS).map_err(de::Error::custom)?;
        Ok(KafkaMs(v))
    }
}

/// Kafka's rule for a `*.ms` setting, shared by the file and the library
/// check: whole milliseconds from `min_ms` to `i32::MAX`.
pub fn check_kafka_ms(v: Duration, min_ms: u64) -> Result<(), String> {
    if v.0 % 1000 != 0 {
        return Err(format!(
            "{v} is not a whole number of milliseconds; Kafka takes this setting in ms"
        ));
    }
    if v.millis() < min_ms {
        return Err(format!(
            "{v} is too short; Kafka requires at least {min_ms}ms"
        ));
    }
    if v.millis() > KAFKA_INT_MAX_MS {
        return Err(format!(
            "{v} is above Kafka's limit for a ms setting ({KAFKA_INT_MAX_MS}ms, about 24.8 days)"
        ));
    }
    Ok(())
}

/// A count of at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub u32);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        if n < 1 || n > i64::from(u32::MAX) {
            return Err(de::Error::custom(format!(
                "{n} is out of range; expected a whole number from 1 to {}",
                u32::MAX
            )));
        }
        Ok(Count(n as u32))
    }
}

/// A whole number within `LO..=HI`, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded<const LO: u32, const HI: u32>(pub u32);

impl<'de, const LO: u32, const HI: u32> Deserialize<'de> for Bounded<LO, HI> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        if n < i64::from(LO) || n > i64::from(HI) {
            return Err(de::Error::custom(format!(
                "{n} is out of range; expected a whole number from {LO} to {HI}"
            )));
        }
        Ok(Bounded(n as u32))
    }
}

/// A rate in records per second: a finite number, zero or more.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(pub f64);

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = toml::Value::deserialize(d)?;
        let n = match v {
            toml::Value::Integer(i) => i as f64,
            toml::Value::Float(f) => f,
            other => {
                return Err(de::Error::custom(format!(
                    "expected records per second as a number, found {}",
                    other.type_str()
                )));
            }
        };
        if !n.is_finite() || !(0.0..=1e12).contains(&n) {
            // 1e300 as written, not as 301 digits.
            let shown = if n.abs() >= 1e15 {
                format!("{n:e}")
            } else {
                format!("{n}")
            };
            return Err(de::Error::custom(format!(
                "{shown} is out of range; expected records per second from 0 to 1e12"
            )));
        }
        Ok(Rate(n))
    }
}

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    #[serde(default)]
    pub scenario: RawMeta,
    #[serde(default)]
    pub cluster: RawCluster,
    pub topics: Spanned<Vec<RawTopic>>,
    #[serde(default)]
    pub group: RawGroup,
    #[serde(default)]
    pub consumers: RawConsumers,
    #[serde(default)]
    pub timeline: Vec<Spanned<RawEvent>>,
    /// `[[variants]]`: what `compare` runs side by side.
    #[serde(default)]
    pub variants: Vec<Spanned<RawVariant>>,
    /// `[chaos]`: random faults drawn from the seed.
    pub chaos: Option<Spanned<RawChaos>>,
}

/// One `[[variants]]` entry: a name and `--set`-style overrides.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVariant {
    pub name: Spanned<String>,
    #[serde(default)]
    pub set: toml::Table,
}

/// `[chaos]`: the window random faults are drawn in, and each kind's mean
/// time between faults (`every`) with its parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChaos {
    pub start: Option<Dur>,
    pub end: Option<Spanned<PosDur>>,
    pub crash: Option<Spanned<RawChaosFault>>,
    pub restart: Option<Spanned<RawChaosFault>>,
    pub pause: Option<Spanned<RawChaosFault>>,
    pub stall: Option<Spanned<RawChaosFault>>,
    pub leave: Option<Spanned<RawChaosFault>>,
    pub join: Option<Spanned<RawChaosFault>>,
    pub slow: Option<Spanned<RawChaosFault>>,
    pub broker_crash: Option<Spanned<RawChaosFault>>,
    pub network_partition: Option<Spanned<RawChaosFault>>,
    pub add_partitions: Option<Spanned<RawChaosFault>>,
}

/// One kind of random fault: `every` (the mean time between two, drawn
/// from an exponential distribution) and the fault's own fields.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table with `every`, the mean time between two such faults, e.g. { every = \"1m\" }"
)]
pub struct RawChaosFault {
    pub every: Spanned<PosDur>,
    pub downtime: Option<Dur>,
    pub duration: Option<PosDur>,
    pub graceful: Option<bool>,
    pub processing: Option<Spanned<toml::Value>>,
    pub one_way: Option<bool>,
    pub count: Option<Bounded<1, 1000>>,
}

/// `[scenario]`: name, length, sampling.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    pub name: Option<String>,
    pub description: Option<String>,
    pub duration: Option<Spanned<PosDur>>,
    pub sample_interval: Option<Spanned<PosDur>>,
    pub seed: Option<u64>,
    pub convergence_bound: Option<PosDur>,
    pub fetch_quantum: Option<Spanned<FetchQuantum>>,
}

/// `[cluster]`: brokers and their racks.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub brokers: Option<Bounded<1, { crate::limits::MAX_BROKERS }>>,
    pub racks: Option<Vec<Spanned<String>>>,
    pub network_latency: Option<Spanned<toml::Value>>,
    pub offsets_topic_partitions: Option<Count>,
    pub group_min_session_timeout: Option<KafkaMs<1>>,
    pub group_max_session_timeout: Option<KafkaMs<1>>,
    pub group_consumer_min_session_timeout: Option<KafkaMs<1>>,
    pub group_consumer_max_session_timeout: Option<KafkaMs<1>>,
    pub group_consumer_min_heartbeat_interval: Option<KafkaMs<1>>,
    pub group_consumer_max_heartbeat_interval: Option<KafkaMs<1>>,
    pub append_linger: Option<KafkaMs<0>>,
    pub replication_latency: Option<KafkaMs<0>>,
    #[serde(default)]
    pub links: Vec<Spanned<RawLink>>,
}

/// One `[[cluster.links]]` entry: the latency of a consumer's link to a
/// broker (or to every broker).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    pub from: Spanned<String>,
    pub to: Option<Spanned<String>>,
    pub latency: Spanned<toml::Value>,
}

/// One `[[topics]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTopic {
    pub name: Spanned<String>,
    pub partitions: Bounded<1, { crate::limits::MAX_PARTITIONS_PER_TOPIC }>,
    #[serde(default)]
    pub produce_rate: Option<Rate>,
    pub load: Option<Spanned<toml::Value>>,
    pub partition_weights: Option<Spanned<Vec<u32>>>,
    pub key_skew: Option<Spanned<toml::Value>>,
    pub processing: Option<Spanned<toml::Value>>,
    pub linger: Option<KafkaMs<0>>,
    pub replication_factor: Option<Spanned<Bounded<1, { crate::limits::MAX_REPLICAS }>>>,
}

/// `[group]`: the consumer group's configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    pub id: Option<Spanned<String>>,
    pub protocol: Option<Spanned<String>>,
    pub assignor: Option<Spanned<String>>,
    pub assignors: Option<Spanned<Vec<Spanned<String>>>>,
    pub remote_assignor: Option<Spanned<String>>,
    pub consumer_heartbeat_interval: Option<Spanned<KafkaMs<1>>>,
    pub consumer_session_timeout: Option<Spanned<KafkaMs<1>>>,
    pub consumer_assignment_interval: Option<KafkaMs<0>>,
    pub migration_policy: Option<Spanned<String>>,
    pub session_timeout: Option<Spanned<KafkaMs<1>>>,
    pub heartbeat_interval: Option<Spanned<KafkaMs<1>>>,
    pub max_poll_interval: Option<KafkaMs<1>>,
    pub rebalance_timeout: Option<KafkaMs<1>>,
    pub initial_rebalance_delay: Option<KafkaMs<0>>,
    pub max_poll_records: Option<Count>,
    pub auto_offset_reset: Option<Spanned<String>>,
    pub commit: Option<Spanned<String>>,
    pub auto_commit_interval: Option<KafkaMs<1>>,
    pub commit_on_revoke: Option<bool>,
    pub fencing: Option<bool>,
    pub topics: Option<Vec<Spanned<String>>>,
}

/// `[consumers]`: how many, and their defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConsumers {
    pub count: Option<Bounded<0, { crate::limits::MAX_CONSUMERS }>>,
    pub processing: Option<Spanned<toml::Value>>,
    pub static_membership: Option<bool>,
    pub rack: Option<Spanned<String>>,
    pub start_jitter: Option<Dur>,
    #[serde(default)]
    pub named: Vec<Spanned<RawNamedConsumer>>,
}

/// One `[[consumers.named]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNamedConsumer {
    pub name: Spanned<String>,
    pub instance_id: Option<Spanned<String>>,
    pub processing: Option<Spanned<toml::Value>>,
    pub rack: Option<Spanned<String>>,
    pub assignors: Option<Spanned<Vec<Spanned<String>>>>,
    pub protocol: Option<Spanned<String>>,
}

/// One `[[timeline]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvent {
    pub at: Spanned<Dur>,
    pub action: Spanned<String>,
    /// The consumer (every action but the shorthands).
    pub consumer: Option<Spanned<String>>,
    /// Shorthands: the consumers of a `rolling-restart`.
    pub consumers: Option<Spanned<Vec<String>>>,
    /// Shorthands: the time between their steps.
    pub every: Option<Dur>,
    /// Shorthands: how many consumers `scale-out` adds or `scale-in` stops.
    pub count: Option<Bounded<1, { crate::limits::MAX_CONSUMERS }>>,
    pub duration: Option<Spanned<PosDur>>,
    pub downtime: Option<Dur>,
    pub graceful: Option<bool>,
    pub assignors: Option<Spanned<Vec<Spanned<String>>>>,
    pub protocol: Option<Spanned<String>>,
    pub processing: Option<Spanned<toml::Value>>,
    /// `subscribe`: the consumer's new topics.
    pub topics: Option<Spanned<Vec<Spanned<String>>>>,
    /// Broker faults: the broker id.
    pub broker: Option<Spanned<u32>>,
    /// `rolling-broker-restart`: the brokers, in order (default all).
    pub brokers: Option<Spanned<Vec<u32>>>,
    /// Network faults: one end (a consumer, `broker-N` or `coordinator`).
    pub from: Option<Spanned<String>>,
    /// Network faults: the other end (omitted: every other node).
    pub to: Option<Spanned<String>>,
    /// Network faults: drop only messages from `from` to `to`.
    pub one_way: Option<bool>,
    /// `add-partitions`: the topic.
    pub topic: Option<Spanned<String>>,
    /// `add-partitions`: its new partition count.
    pub partitions: Option<Spanned<u32>>,
}
