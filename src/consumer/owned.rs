//! The partitions a consumer owns: per partition its dense index and its
//! position (none until the committed offset is fetched), sorted by topic
//! then partition. Fetching rotates over them from a cursor, as Kafka's
//! fetcher does, and finds the ones with records through [`ReadyIndex`], so
//! a poll costs what it reads. Adding or removing partitions keeps the
//! positions of the others (incremental rebalancing needs that).

use super::ready::{NEVER, ReadyIndex};
use crate::assign::TopicPartition;
use crate::cluster::Cluster;
use crate::sim::{Duration, Time};

/// One owned partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Owned {
    tp: TopicPartition,
    /// Dense index among all partitions of the cluster.
    index: usize,
    /// Next offset to read; `None` until the committed offset is known.
    position: Option<u64>,
}

/// A range of records read by one poll: (dense partition, from, to).
pub type Range = (usize, u64, u64);

/// The owned partitions and their positions.
#[derive(Debug, Clone, Default)]
pub struct OwnedPartitions {
    /// Sorted by `tp`.
    owned: Vec<Owned>,
    /// Keys of positioned partitions; rebuilt when the set changes.
    ready: ReadyIndex,
    /// (topic, first, end) ranges of `owned`.
    topic_ranges: Vec<(u32, usize, usize)>,
    /// Where the next poll starts reading.
    cursor: usize,
    /// Brokers this consumer cannot reach (a network cut): partitions they
    /// lead are not fetched.
    unreachable: Vec<u32>,
    /// Bumped whenever what may be fetched changes other than by reading:
    /// partitions added or removed, positions set, leaders or reachability
    /// changed.
    version: u64,
}

impl OwnedPartitions {
    /// The owned partitions, sorted.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        self.owned.iter().map(|o| o.tp).collect()
    }

    /// Changes whenever what may be fetched changed other than by a fetch
    /// (see [`OwnedPartitions::fetch`]): a poll loop that read everything
    /// at one version knows its partitions held nothing else then.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Number of owned partitions.
    pub fn len(&self) -> usize {
        self.owned.len()
    }

    /// True when nothing is owned.
    pub fn is_empty(&self) -> bool {
        self.owned.is_empty()
    }

    /// True when `tps` (sorted) are exactly the owned partitions.
    pub fn is(&self, tps: &[TopicPartition]) -> bool {
        self.owned.len() == tps.len() && self.owned.iter().zip(tps).all(|(o, t)| o.tp == *t)
    }

    /// Dense indices of the partitions that have no position yet.
    pub fn unpositioned(&self) -> Vec<usize> {
        self.owned
            .iter()
            .filter(|o| o.position.is_none())
            .map(|o| o.index)
            .collect()
    }

    /// Adds `tps` (without positions), keeping everything owned already.
    pub fn add(&mut self, tps: &[TopicPartition], cluster: &Cluster) {
        for &tp in tps {
            if let Err(k) = self.owned.binary_search_by_key(&tp, |o| o.tp) {
                self.owned.insert(
                    k,
                    Owned {
                        tp,
                        index: cluster.index_of(tp),
                        position: None,
                    },
                );
            }
        }
        self.cursor = self.cursor.min(self.owned.len().saturating_sub(1));
        self.reindex(cluster);
    }

    /// Gives up `tps`, keeping the positions of the others.
    pub fn remove(&mut self, tps: &[TopicPartition], cluster: &Cluster) {
        self.owned.retain(|o| tps.binary_search(&o.tp).is_err());
        self.cursor = self.cursor.min(self.owned.len().saturating_sub(1));
        self.reindex(cluster);
    }

    /// (dense index, position) of the positioned partitions among `tps`.
    pub fn consumed_of(&self, tps: &[TopicPartition]) -> Vec<(usize, u64)> {
        self.owned
            .iter()
            .filter(|o| tps.binary_search(&o.tp).is_ok())
            .filter_map(|o| o.position.map(|p| (o.index, p)))
            .collect()
    }

    /// Gives up everything; returns what was owned.
    pub fn take_all(&mut self) -> Vec<TopicPartition> {
        let tps = self.partitions();
        let unreachable = std::mem::take(&mut self.unreachable);
        let version = self.version + 1;
        *self = OwnedPartitions::default();
        self.unreachable = unreachable;
        self.version = version;
        tps
    }

    /// Sets positions from `(dense index, position)` pairs.
    pub fn set_positions(&mut self, positions: &[(usize, u64)], cluster: &Cluster) {
        // Sorted by partition, so by dense index too.
        for &(index, position) in positions {
            if let Ok(k) = self.owned.binary_search_by_key(&index, |o| o.index) {
                self.owned[k].position = Some(position);
            }
        }
        self.reindex(cluster);
    }

    /// (dense index, position) of every positioned partition: what a commit
    /// of all consumed offsets sends.
    pub fn consumed(&self) -> Vec<(usize, u64)> {
        self.owned
            .iter()
            .filter_map(|o| o.position.map(|p| (o.index, p)))
            .collect()
    }

    fn key(&self, o: &Owned, cluster: &Cluster) -> u64 {
        self.key_at(o.index, o.tp, o.position, cluster)
    }

    /// The ready key of partition `tp` (dense `index`) at `position`.
    fn key_at(
        &self,
        index: usize,
        tp: TopicPartition,
        position: Option<u64>,
        cluster: &Cluster,
    ) -> u64 {
        let cut = !self.unreachable.is_empty()
            && cluster
                .leader_of(index)
                .is_some_and(|b| self.unreachable.contains(&b));
        if cut || !cluster.is_available(index) {
            // No reachable leader: nothing to fetch until one is elected.
            return NEVER;
        }
        match position {
            None => NEVER,
            Some(p) => cluster
                .records_needed(tp.topic, tp.partition, p)
                .unwrap_or(NEVER),
        }
    }

    /// The brokers this consumer cannot reach changed.
    pub fn set_unreachable(&mut self, brokers: Vec<u32>, cluster: &Cluster) {
        if brokers != self.unreachable {
            self.unreachable = brokers;
            self.reindex(cluster);
        }
    }

    /// Partition leaders changed: which partitions can be fetched is read
    /// again from `cluster`.
    pub fn refresh(&mut self, cluster: &Cluster) {
        self.reindex(cluster);
    }

    fn reindex(&mut self, cluster: &Cluster) {
        self.version += 1;
        let keys: Vec<u64> = self.owned.iter().map(|o| self.key(o, cluster)).collect();
        self.ready = ReadyIndex::new(keys.into_iter());
        debug_assert_eq!(self.ready.len(), self.owned.len());
        self.topic_ranges.clear();
        let mut first = 0;
        for i in 1..=self.owned.len() {
            if i == self.owned.len() || self.owned[i].tp.topic != self.owned[first].tp.topic {
                self.topic_ranges
                    .push((self.owned[first].tp.topic, first, i));
                first = i;
            }
        }
    }

    /// Reads up to `max_records` from partitions with records visible at
    /// `now`, in round-robin order from the cursor, each at most once;
    /// advances positions and the cursor.
    /// The ranges read go into `ranges` (emptied first: a buffer reused
    /// from poll to poll).
    pub fn fetch(
        &mut self,
        now: Time,
        max_records: u64,
        cluster: &Cluster,
        mut ranges: Vec<Range>,
    ) -> Vec<Range> {
        let n = self.owned.len();
        let mut remaining = max_records;
        ranges.clear();
        let mut last = None;
        'scan: for (lo, hi) in [(self.cursor, n), (0, self.cursor)] {
            for k in 0..self.topic_ranges.len() {
                let (topic, first, end) = self.topic_ranges[k];
                let (mut from, to) = (first.max(lo), end.min(hi));
                if from >= to {
                    continue;
                }
                let visible = cluster.fetchable_records(topic, now);
                while let Some(i) = self.ready.first_ready(from, to, visible) {
                    let o = self.owned[i];
                    let leo = cluster.share_of(topic, o.tp.partition, visible);
                    let pos = o.position.expect("only positioned partitions are ready");
                    debug_assert!(leo > pos, "a ready partition has records");
                    let take = (leo - pos).min(remaining);
                    ranges.push((o.index, pos, pos + take));
                    self.owned[i].position = Some(pos + take);
                    // From the values in registers: reading the entry back
                    // just after writing it stalled on the store.
                    let key = self.key_at(o.index, o.tp, Some(pos + take), cluster);
                    self.ready.set(i, key);
                    remaining -= take;
                    last = Some(i);
                    if remaining == 0 {
                        break 'scan;
                    }
                    from = i + 1;
                }
            }
        }
        if let Some(i) = last {
            self.cursor = (i + 1) % n.max(1);
        }
        ranges
    }

    /// When the next record of any positioned partition becomes readable:
    /// visible at the broker plus one `latency`.
    pub fn next_data_at(&self, cluster: &Cluster, latency: Duration) -> Option<Time> {
        self.topic_ranges
            .iter()
            .filter_map(|&(topic, first, end)| {
                cluster.time_when_fetchable(topic, self.ready.min_key(first, end))
            })
            .map(|t| t + latency)
            .min()
    }
}
