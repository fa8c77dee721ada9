//! The scenario file exactly as written: serde structs with unknown fields
//! rejected and spans kept where later checks need them.

use super::duration::{DURATION_HELP, deserialize_duration};
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
            return Err(de::Error::custom(format!(
                "{n} is out of range; expected records per second from 0 to 1e12"
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
}

/// `[scenario]`: name, length, sampling.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    pub name: Option<String>,
    pub description: Option<String>,
    pub duration: Option<PosDur>,
    pub sample_interval: Option<PosDur>,
    pub seed: Option<u64>,
    pub convergence_bound: Option<PosDur>,
}

/// `[cluster]`: brokers and their racks.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub brokers: Option<Count>,
    pub racks: Option<Vec<String>>,
    pub network_latency: Option<Dur>,
    pub offsets_topic_partitions: Option<Count>,
    pub group_min_session_timeout: Option<PosDur>,
    pub group_max_session_timeout: Option<PosDur>,
}

/// One `[[topics]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTopic {
    pub name: Spanned<String>,
    pub partitions: Bounded<1, 1_000_000>,
    #[serde(default)]
    pub produce_rate: Option<Rate>,
    pub linger: Option<Dur>,
    pub replication_factor: Option<Spanned<Count>>,
}

/// `[group]`: the consumer group's configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    pub id: Option<String>,
    pub protocol: Option<Spanned<String>>,
    pub assignor: Option<Spanned<String>>,
    pub session_timeout: Option<Spanned<PosDur>>,
    pub heartbeat_interval: Option<Spanned<PosDur>>,
    pub max_poll_interval: Option<PosDur>,
    pub rebalance_timeout: Option<PosDur>,
    pub initial_rebalance_delay: Option<Dur>,
    pub max_poll_records: Option<Count>,
    pub auto_offset_reset: Option<Spanned<String>>,
    pub commit: Option<Spanned<String>>,
    pub auto_commit_interval: Option<PosDur>,
    pub commit_on_revoke: Option<bool>,
    pub topics: Option<Vec<Spanned<String>>>,
}

/// `[consumers]`: how many, and their defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConsumers {
    pub count: Option<Bounded<0, 100_000>>,
    pub processing: Option<Spanned<toml::Value>>,
    pub static_membership: Option<bool>,
    pub rack: Option<String>,
    #[serde(default)]
    pub named: Vec<Spanned<RawNamedConsumer>>,
}

/// One `[[consumers.named]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNamedConsumer {
    pub name: Spanned<String>,
    pub instance_id: Option<String>,
    pub processing: Option<Spanned<toml::Value>>,
    pub rack: Option<String>,
}

/// One `[[timeline]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvent {
    pub at: Spanned<Dur>,
    pub action: Spanned<String>,
    pub consumer: Spanned<String>,
    pub duration: Option<Spanned<PosDur>>,
    pub downtime: Option<Dur>,
    pub graceful: Option<bool>,
}
