//! Brokers, topics and partitions. Records are counted, never stored: a
//! partition's log-end offset is a closed-form function of time, so cost
//! does not grow with message volume.

mod layout;
mod leadership;
mod produce;

pub use layout::{Epoch, Layout};

pub use leadership::{
    BROKER_HEARTBEAT_INTERVAL, BROKER_SESSION_TIMEOUT, BrokerState,
    LEADER_IMBALANCE_CHECK_INTERVAL, LeaderChange, Leadership, fence_time,
};
pub use produce::{ProduceRate, Production};

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

/// One topic: partitions fed at a rate (constant or shaped over time),
/// dealt round-robin or by key weights.
#[derive(Debug, Clone)]
pub struct Topic {
    /// Topic name.
    pub name: String,
    /// Number of partitions now (`add-partitions` raises it).
    pub partitions: u32,
    /// Partitions it will ever have: the dense layout reserves them all.
    pub max_partitions: u32,
    /// How records are dealt as the producers learn of added partitions.
    pub layout: Layout,
    /// Production over the whole topic.
    pub rate: Production,
    /// Key skew: how records are dealt to partitions (`None`: evenly).
    pub weights: Option<std::sync::Arc<Weights>>,
    /// Per-record processing time of this topic's records (`None`: each
    /// consumer's own).
    pub processing: Option<crate::scenario::TimeDist>,
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
    /// The broker hosting the group coordinator at the start.
    pub coordinator: u32,
    /// `__consumer_offsets` partition of the group.
    pub offsets_partition: u32,
    /// Some topic has its own processing time (asked on every fetch).
    topic_processing: bool,
    /// Leaders of every partition, then of the group's `__consumer_offsets`
    /// partition (the last entry): kept only when brokers can fail.
    leadership: Option<Leadership>,
    /// Per partition whose leader is unreachable: the topic-wide visible
    /// record count when it became so. Producers buffer meanwhile, so its
    /// log end stays there; when a leader is back, the buffered records
    /// land at once.
    frozen: Vec<Option<u64>>,
    /// `[scenario] fetch_quantum` in µs (0: exact): consumers fetch what was
    /// visible at the last multiple of it.
    fetch_quantum: u64,
}

impl Cluster {
    /// Builds the cluster of a scenario run with `seed` (producers'
    /// metadata refresh phases).
    pub fn new(scenario: &Scenario, seed: u64) -> Cluster {
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
                let rate = Production::new(t.produce_rate, t.load.as_ref());
                let (layout, max_partitions) = grown_layout(scenario, seed, t, &rate);
                let topic = Topic {
                    name: t.name.clone(),
                    partitions: t.partitions,
                    max_partitions,
                    layout,
                    rate,
                    weights: t
                        .weights
                        .as_ref()
                        .map(|w| std::sync::Arc::new(Weights::new(w))),
                    processing: t.processing,
                    linger: t.linger,
                    replication_factor: t.replication_factor,
                    first_index,
                };
                first_index += max_partitions;
                topic
            })
            .collect();
        let offsets_partition =
            java_abs_hash(&scenario.group.id) % scenario.cluster.offsets_topic_partitions;
        let mut cluster = Cluster {
            coordinator: offsets_partition % scenario.cluster.brokers,
            offsets_partition,
            topic_processing: scenario.topics.iter().any(|t| t.processing.is_some()),
            brokers,
            topics,
            leadership: None,
            frozen: Vec::new(),
            fetch_quantum: scenario.fetch_quantum.map_or(0, |q| q.micros()),
        };
        if scenario.has_broker_faults() {
            cluster.leadership = Some(cluster.build_leadership());
            cluster.frozen = vec![None; cluster.partition_count()];
        }
        cluster
    }

    /// Replicas of every partition (Kafka's round-robin placement: replica
    /// j of partition p of the topic with index i on broker (p + i + j) %
    /// brokers), then of the group's `__consumer_offsets` partition
    /// (`offsets.topic.replication.factor` 3, or fewer brokers).
    fn build_leadership(&self) -> Leadership {
        let n = self.brokers.len() as u32;
        let data = self.topics.iter().enumerate().flat_map(move |(i, t)| {
            (0..t.max_partitions).map(move |p| {
                (0..t.replication_factor.min(n))
                    .map(|j| (p + i as u32 + j) % n)
                    .collect::<Vec<u32>>()
            })
        });
        let offsets: Vec<u32> = (0..3.min(n))
            .map(|j| (self.offsets_partition + j) % n)
            .collect();
        Leadership::new(n, data.chain(std::iter::once(offsets)))
    }

    /// The controller's view of brokers and leaders, when brokers can fail.
    pub fn leadership(&self) -> Option<&Leadership> {
        self.leadership.as_ref()
    }

    /// Applies `f` to the leadership table, then freezes or thaws the log
    /// end of each data partition whose reachability changed at `now`.
    /// Returns the changes (partition `partition_count()` is the group's
    /// `__consumer_offsets` partition).
    pub fn change_leadership(
        &mut self,
        now: Time,
        f: impl FnOnce(&mut Leadership) -> Vec<LeaderChange>,
    ) -> Vec<LeaderChange> {
        let Some(table) = self.leadership.as_mut() else {
            return Vec::new();
        };
        let changes = f(table);
        let data = self.frozen.len();
        for c in &changes {
            if c.partition >= data || c.was_available == c.available {
                continue;
            }
            self.frozen[c.partition] = if c.available {
                None
            } else {
                let topic = self.partition_at(c.partition).topic;
                Some(self.visible_records(topic, now))
            };
        }
        changes
    }

    /// The broker leading the partition with dense index `index`: from the
    /// leadership table when brokers can fail, else its first replica.
    pub fn leader_of(&self, index: usize) -> Option<u32> {
        if let Some(l) = &self.leadership {
            return l.leader(index);
        }
        let tp = self.partition_at(index);
        let n = self.brokers.len() as u32;
        (n > 0).then(|| (tp.partition + tp.topic) % n)
    }

    /// True when the partition with dense index `index` has a reachable
    /// leader (always, when brokers cannot fail).
    pub fn is_available(&self, index: usize) -> bool {
        self.frozen.get(index).is_none_or(|f| f.is_none())
    }

    /// The broker hosting the group coordinator now: the leader of the
    /// group's `__consumer_offsets` partition, if it runs.
    pub fn coordinator_broker(&self) -> Option<u32> {
        match &self.leadership {
            None => Some(self.coordinator),
            Some(l) => {
                let k = l.len() - 1;
                l.is_available(k).then(|| l.leader(k)).flatten()
            }
        }
    }

    /// True when some topic has its own processing time.
    pub fn has_topic_processing(&self) -> bool {
        self.topic_processing
    }

    /// Total partitions of all topics, including those added later (the
    /// dense layout's size).
    pub fn partition_count(&self) -> usize {
        self.topics.iter().map(|t| t.max_partitions as usize).sum()
    }

    /// Topic `topic` has `partitions` partitions from now on (its
    /// metadata; producers write to them after their metadata refresh).
    pub fn add_partitions(&mut self, topic: u32, partitions: u32) {
        let t = &mut self.topics[topic as usize];
        debug_assert!(partitions <= t.max_partitions);
        t.partitions = t.partitions.max(partitions);
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
        self.log_end_offset_of_visible(tp, self.visible_records(tp.topic, now))
    }

    /// [`Cluster::log_end_offset`] given the topic's visible records (as
    /// `visible_records(topic, now)` computes them; a frozen log ignores
    /// them), so a pass over many partitions of one topic computes them
    /// once.
    pub fn log_end_offset_of_visible(&self, tp: TopicPartition, visible: u64) -> u64 {
        let t = &self.topics[tp.topic as usize];
        let visible = match self.frozen.get(self.index_of(tp)) {
            Some(&Some(at_outage)) => at_outage,
            _ => visible,
        };
        t.share(visible, tp.partition)
    }

    /// Records of the whole topic visible to consumers at `now`.
    pub fn visible_records(&self, topic: u32, now: Time) -> u64 {
        let t = &self.topics[topic as usize];
        t.rate.produced_by(floor_to(now, t.linger.micros()))
    }

    /// Records of the whole topic a consumer's fetch returns at `now`: those
    /// visible at the last multiple of the fetch quantum (all visible ones
    /// when the run is exact).
    pub fn fetchable_records(&self, topic: u32, now: Time) -> u64 {
        self.visible_records(topic, floor_to(now, self.fetch_quantum))
    }

    /// The multiple of `[scenario] fetch_quantum` at or before `now`: the
    /// instant whose log a fetch at `now` returns. `None` in an exact run.
    pub fn fetch_boundary(&self, now: Time) -> Option<Time> {
        (self.fetch_quantum > 0).then(|| floor_to(now, self.fetch_quantum))
    }

    /// `[scenario] fetch_quantum`, if the run is approximate.
    pub fn fetch_quantum(&self) -> Option<Duration> {
        (self.fetch_quantum > 0).then_some(Duration(self.fetch_quantum))
    }

    /// When a consumer's fetch first returns `records` records of the whole
    /// topic, if ever: the first multiple of the fetch quantum at or after
    /// they are visible (the inverse of [`Cluster::fetchable_records`]:
    /// `floor_L(floor_Q(t)) ≥ n ⇔ floor_Q(t) ≥ ceil_L(n) ⇔ t ≥ ceil_Q(ceil_L(n))`).
    pub fn time_when_fetchable(&self, topic: u32, records: u64) -> Option<Time> {
        ceil_to(self.time_when_visible(topic, records)?, self.fetch_quantum)
    }

    /// Log-end offset of partition `p` of `topic` when the topic as a
    /// whole holds `visible` records (see [`Cluster::visible_records`]).
    pub fn share_of(&self, topic: u32, p: u32, visible: u64) -> u64 {
        self.topics[topic as usize].share(visible, p)
    }

    /// When the topic as a whole first holds `records` records visible to
    /// consumers, if ever.
    pub fn time_when_visible(&self, topic: u32, records: u64) -> Option<Time> {
        let t = &self.topics[topic as usize];
        let produced = t.rate.time_of_record(records)?;
        ceil_to(produced, t.linger.micros())
    }

    /// The topic-wide record count at which partition `p` holds `offset + 1`
    /// records (round-robin: record n goes to n % P; with key weights, each
    /// period of W records gives partition p its w_p in one block).
    pub fn records_needed(&self, topic: u32, p: u32, offset: u64) -> Option<u64> {
        let t = &self.topics[topic as usize];
        match &t.weights {
            None => t.layout.records_needed(p, offset),
            Some(w) => {
                let own = w.weight(p);
                if own == 0 {
                    return None;
                }
                (offset / own)
                    .checked_mul(w.total)?
                    .checked_add(w.before(p) + offset % own + 1)
            }
        }
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

impl Topic {
    /// Of `produced` records of the topic, how many partition `p` holds.
    pub fn share(&self, produced: u64, p: u32) -> u64 {
        match &self.weights {
            None => self.layout.share(produced, p),
            Some(w) => w.share(produced, p),
        }
    }
}

/// Key skew as integer weights per partition: in every period of `total`
/// records, partition p receives `weight(p)` consecutive ones, so a
/// partition's count is monotone and exact, and its inverse closed-form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weights {
    /// `cum[p]`: the weights of the partitions before p.
    cum: Vec<u64>,
    /// Sum of all weights (one period).
    pub total: u64,
}

impl Weights {
    /// Weights of each partition (at least one positive).
    pub fn new(weights: &[u32]) -> Self {
        let mut cum = Vec::with_capacity(weights.len() + 1);
        let mut sum = 0u64;
        for &w in weights {
            cum.push(sum);
            sum += u64::from(w);
        }
        cum.push(sum);
        Weights {
            cum,
            total: sum.max(1),
        }
    }

    fn before(&self, p: u32) -> u64 {
        self.cum[p as usize]
    }

    fn weight(&self, p: u32) -> u64 {
        self.cum[p as usize + 1] - self.cum[p as usize]
    }

    /// Of `produced` records, how many partition `p` holds.
    pub fn share(&self, produced: u64, p: u32) -> u64 {
        let w = self.weight(p);
        let rest = (produced % self.total)
            .saturating_sub(self.before(p))
            .min(w);
        (produced / self.total) * w + rest
    }
}

/// `metadata.max.age.ms` (producers and consumers): metadata is refreshed
/// this often.
pub const METADATA_MAX_AGE: Duration = Duration::from_secs(300);

/// The layout of topic `t` as its partitions are added, and the most
/// partitions it gets. The producers learn of added partitions at their
/// next metadata refresh, every `metadata.max.age.ms` from a seeded
/// phase; records from then on are dealt over the new count.
fn grown_layout(
    scenario: &Scenario,
    seed: u64,
    t: &crate::scenario::TopicConfig,
    rate: &Production,
) -> (Layout, u32) {
    let index = scenario.topics.iter().position(|c| c.name == t.name);
    let adds: Vec<(Duration, u32)> = scenario
        .cluster_timeline
        .iter()
        .filter_map(|e| match e.action {
            crate::scenario::ClusterAction::AddPartitions { topic, partitions }
                if Some(topic) == index =>
            {
                Some((e.at, partitions))
            }
            _ => None,
        })
        .collect();
    if adds.is_empty() {
        return (Layout::fixed(t.partitions), t.partitions);
    }
    let mut rng = crate::sim::rng_stream(seed, &format!("producer/{}/metadata", t.name));
    let every = METADATA_MAX_AGE.micros();
    let phase = rand::Rng::random_range(&mut rng, 0..every);
    let mut epochs = vec![Epoch {
        from: 0,
        partitions: t.partitions,
    }];
    let mut most = t.partitions;
    for (at, partitions) in adds {
        let at = at.micros();
        let refresh = if at <= phase {
            phase
        } else {
            phase + (at - phase).div_ceil(every) * every
        };
        most = most.max(partitions);
        epochs.push(Epoch {
            from: rate.produced_by(Time(refresh)),
            partitions: most,
        });
    }
    (Layout::new(epochs), most)
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

/// The last multiple of `step` µs at or before `t` (`t` itself when `step`
/// is 0).
fn floor_to(t: Time, step: u64) -> Time {
    match step {
        0 => t,
        l => Time(t.micros() - t.micros() % l),
    }
}

/// The first multiple of `step` µs at or after `t` (`t` itself when `step`
/// is 0); `None` past the end of time.
fn ceil_to(t: Time, step: u64) -> Option<Time> {
    match step {
        0 => Some(t),
        l => t.micros().div_ceil(l).checked_mul(l).map(Time),
    }
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
    fn weighted_shares_add_up_grow_and_invert() {
        let w = Weights::new(&[3, 1, 0, 2]);
        for n in 0..40u64 {
            let total: u64 = (0..4).map(|p| w.share(n, p)).sum();
            assert_eq!(total, n);
            for p in 0..4 {
                assert!(w.share(n + 1, p) >= w.share(n, p));
            }
        }
        assert_eq!(
            (0..4).map(|p| w.share(12, p)).collect::<Vec<_>>(),
            [6, 2, 0, 4]
        );
    }

    #[test]
    fn shares_deal_records_round_robin() {
        let counts: Vec<u64> = (0..4).map(|p| Layout::fixed(4).share(10, p)).collect();
        assert_eq!(counts, [3, 3, 2, 2]);
    }
}
