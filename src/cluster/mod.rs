//! Brokers, topics and partitions. Records are counted, never stored: a
//! partition's log-end offset is a closed-form function of time, so cost
//! does not grow with message volume.

mod produce;

pub use produce::ProduceRate;

use crate::assign::{TopicPartition, TopicSpec};
use crate::scenario::Scenario;
use crate::sim::{Duration, Time};

/// One broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    /// Broker id.
    pub id: u32,
    /// `broker.rack`, if any.
    pub rack: Option<String>,
}

/// One topic: partitions fed at a constant rate, spread evenly.
#[derive(Debug, Clone)]
pub struct Topic {
    /// Topic name.
    pub name: String,
    /// Number of partitions.
    pub partitions: u32,
    /// Production rate over the whole topic.
    pub rate: ProduceRate,
    /// Producer batches reach the broker at multiples of this (0: at once).
    pub linger: Duration,
    /// Replicas per partition.
    pub replication_factor: u32,
    /// Dense index of partition 0 among all partitions of the cluster.
    pub first_index: u32,
}

/// The brokers and topics of a run.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Brokers by id.
    pub brokers: Vec<Broker>,
    /// Topics sorted by name: the index is the assignors' topic id.
    pub topics: Vec<Topic>,
    /// The broker hosting the group coordinator.
    pub coordinator: u32,
}

impl Cluster {
    /// Builds the cluster of a scenario.
    pub fn new(scenario: &Scenario) -> Cluster {
        let racks = &scenario.cluster.racks;
        let brokers = (0..scenario.cluster.brokers)
            .map(|id| Broker {
                id,
                rack: (!racks.is_empty()).then(|| racks[id as usize % racks.len()].clone()),
            })
            .collect::<Vec<_>>();
        let mut configs: Vec<_> = scenario.topics.iter().collect();
        configs.sort_by(|a, b| a.name.cmp(&b.name));
        let mut first_index = 0;
        let topics = configs
            .into_iter()
            .map(|t| {
                let topic = Topic {
                    name: t.name.clone(),
                    partitions: t.partitions,
                    rate: ProduceRate::per_second(t.produce_rate),
                    linger: t.linger,
                    replication_factor: t.replication_factor,
                    first_index,
                };
                first_index += t.partitions;
                topic
            })
            .collect();
        let offsets_partition =
            java_abs_hash(&scenario.group.id) % scenario.cluster.offsets_topic_partitions;
        Cluster {
            coordinator: offsets_partition % scenario.cluster.brokers,
            brokers,
            topics,
        }
    }

    /// Total partitions of all topics.
    pub fn partition_count(&self) -> usize {
        self.topics.iter().map(|t| t.partitions as usize).sum()
    }

    /// True when `tp` names a partition of this cluster.
    pub fn contains(&self, tp: TopicPartition) -> bool {
        self.topics
            .get(tp.topic as usize)
            .is_some_and(|t| tp.partition < t.partitions)
    }

    /// Dense index of a partition among all partitions; `tp` must exist
    /// (see [`Cluster::contains`]).
    pub fn index_of(&self, tp: TopicPartition) -> usize {
        (self.topics[tp.topic as usize].first_index + tp.partition) as usize
    }

    /// The partition with dense index `index`.
    pub fn partition_at(&self, index: usize) -> TopicPartition {
        let topic = self
            .topics
            .partition_point(|t| (t.first_index as usize) <= index)
            - 1;
        TopicPartition::new(topic as u32, index as u32 - self.topics[topic].first_index)
    }

    /// The id of a topic by name.
    pub fn topic_id(&self, name: &str) -> Option<u32> {
        self.topics
            .iter()
            .position(|t| t.name == name)
            .map(|i| i as u32)
    }

    /// `topic-partition`, as Kafka prints it. A topic id out of range
    /// (from a broken custom assignor, logged before invariant 1 reports
    /// it) prints as `<topic id N>`.
    pub fn tp_name(&self, tp: TopicPartition) -> String {
        match self.topics.get(tp.topic as usize) {
            Some(t) => format!("{}-{}", t.name, tp.partition),
            None => format!("<topic id {}>-{}", tp.topic, tp.partition),
        }
    }

    /// Records written to `tp` and visible by time `now`: its log-end
    /// offset. Producers send what they gathered at each `linger` boundary.
    pub fn log_end_offset(&self, tp: TopicPartition, now: Time) -> u64 {
        let t = &self.topics[tp.topic as usize];
        partition_share(
            self.visible_records(tp.topic, now),
            t.partitions,
            tp.partition,
        )
    }

    /// Records of the whole topic visible to consumers at `now`.
    pub fn visible_records(&self, topic: u32, now: Time) -> u64 {
        let t = &self.topics[topic as usize];
        let sent = match t.linger.micros() {
            0 => now,
            l => Time(now.micros() - now.micros() % l),
        };
        t.rate.produced_by(sent)
    }

    /// Log-end offset of partition `p` of `topic` when the topic as a
    /// whole holds `visible` records (see [`Cluster::visible_records`]).
    pub fn share_of(&self, topic: u32, p: u32, visible: u64) -> u64 {
        partition_share(visible, self.topics[topic as usize].partitions, p)
    }

    /// When the topic as a whole first holds `records` records visible to
    /// consumers, if ever.
    pub fn time_when_visible(&self, topic: u32, records: u64) -> Option<Time> {
        let t = &self.topics[topic as usize];
        let produced = t.rate.time_of_record(records)?;
        match t.linger.micros() {
            0 => Some(produced),
            l => Some(Time(produced.micros().div_ceil(l) * l)),
        }
    }

    /// The topic-wide record count at which partition `p` holds `offset + 1`
    /// records (records are dealt round-robin: record n goes to n % P).
    pub fn records_needed(&self, topic: u32, p: u32, offset: u64) -> Option<u64> {
        offset
            .checked_mul(u64::from(self.topics[topic as usize].partitions))?
            .checked_add(u64::from(p) + 1)
    }

    /// When `tp`'s log-end offset first exceeds `offset`, if ever.
    pub fn time_when_beyond(&self, tp: TopicPartition, offset: u64) -> Option<Time> {
        let needed = self.records_needed(tp.topic, tp.partition, offset)?;
        self.time_when_visible(tp.topic, needed)
    }

    /// The topics as assignors see them, with replica racks when brokers
    /// have racks: partition p of the topic with index i has its replicas
    /// on brokers (p + i + j) % brokers for j < replication factor, Kafka's
    /// round-robin placement with a per-topic starting broker.
    pub fn topic_specs(&self) -> Vec<TopicSpec> {
        let brokers = self.brokers.len();
        let racked = self.brokers.iter().any(|b| b.rack.is_some());
        self.topics
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let replica_racks = if racked && brokers > 0 {
                    (0..brokers.min(t.partitions as usize))
                        .map(|k| {
                            let mut racks: Vec<String> = (0..t.replication_factor as usize)
                                .filter_map(|j| self.brokers[(k + i + j) % brokers].rack.clone())
                                .collect();
                            racks.sort();
                            racks.dedup();
                            racks
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                TopicSpec {
                    name: t.name.clone(),
                    partitions: t.partitions,
                    replica_racks,
                }
            })
            .collect()
    }
}

/// Of `produced` records dealt round-robin over `partitions`, how many
/// partition `p` holds.
fn partition_share(produced: u64, partitions: u32, p: u32) -> u64 {
    let parts = u64::from(partitions);
    let p = u64::from(p);
    produced / parts + u64::from(produced % parts > p)
}

/// `Utils.abs(groupId.hashCode())` as Kafka computes the offsets partition.
fn java_abs_hash(s: &str) -> u32 {
    let mut h: i32 = 0;
    for unit in s.encode_utf16() {
        h = h
            .wrapping_mul(31)
            .wrapping_add(i32::from(unit as i16 as u16 as i16) & 0xffff);
    }
    (h & 0x7fff_ffff) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_string_hashcode() {
        // "hello".hashCode() == 99162322 in Java.
        assert_eq!(java_abs_hash("hello"), 99_162_322);
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE; Utils.abs masks to 0.
        assert_eq!(java_abs_hash("polygenelubricants"), 0);
    }

    #[test]
    fn shares_deal_records_round_robin() {
        let counts: Vec<u64> = (0..4).map(|p| partition_share(10, 4, p)).collect();
        assert_eq!(counts, [3, 3, 2, 2]);
    }
}
