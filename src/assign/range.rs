//! Apache Kafka's client-side `RangeAssignor`: per topic, subscribers in
//! member order each get a contiguous range; the first `P % C` get one
//! more. With racks (KIP-881) partitions first go to consumers in a rack
//! holding a replica, keeping the same per-consumer counts, and topics
//! with the same subscribers and partition count stay co-partitioned.

use super::rack_ids::RackIds;
use super::{Assignment, Assignor, BalancePromise, GroupSpec, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// The `range` assignor (eager).
#[derive(Debug, Clone, Copy, Default)]
pub struct RangeAssignor;

impl Assignor for RangeAssignor {
    fn name(&self) -> &str {
        "range"
    }

    fn assign(&self, group: &GroupSpec) -> Assignment {
        let mut out = Assignment::empty(group.members.len());
        let any_rack = group
            .members
            .iter()
            .any(|m| m.rack.as_deref().is_some_and(|r| !r.is_empty()));
        let any_replica_rack = group.topics.iter().any(|t| !t.replica_racks.is_empty());
        if !(any_rack && any_replica_rack) {
            // No rack can match: Kafka's plain range, in O(partitions).
            if group.same_subscriptions() {
                // Same subscribers, same order, for every topic.
                let order = group.members_in_kafka_order();
                if let Some(&first) = order.first() {
                    for &t in group.members[first].topics.iter() {
                        plain_ranges(group.topics[t as usize].partitions, t, &order, &mut out);
                    }
                }
                return out;
            }
            for (t, subs) in subscribers_per_topic(group).iter().enumerate() {
                plain_ranges(group.topics[t].partitions, t as u32, subs, &mut out);
            }
            return out.normalize();
        }
        let racks = RackIds::new(group);
        let mut states: Vec<TopicState> = Vec::new();
        if group.same_subscriptions() {
            // One list of subscribers (with racks) serves every topic.
            let order = group.members_in_kafka_order();
            if let Some(&first) = order.first() {
                let shared = Rc::new(Subscribers::new(&racks, &order));
                for &t in group.members[first].topics.iter() {
                    if group.topics[t as usize].partitions > 0 {
                        states.push(TopicState::new(group, &racks, t, Rc::clone(&shared)));
                    }
                }
            }
        } else {
            for (t, subs) in subscribers_per_topic(group).iter().enumerate() {
                if group.topics[t].partitions > 0 {
                    let subs = Rc::new(Subscribers::new(&racks, subs));
                    states.push(TopicState::new(group, &racks, t as u32, subs));
                }
            }
        }
        if states.iter().any(|s| s.needs_rack_aware) {
            assign_with_rack_matching(&mut states, &mut out);
            for s in &mut states {
                s.assign_ranges(&mut out, |_, _, _| true);
            }
        } else {
            for s in &states {
                let members: Vec<usize> = s.subscribers.consumers.iter().map(|&(m, _)| m).collect();
                plain_ranges(s.partitions, s.topic, &members, &mut out);
            }
        }
        out.normalize()
    }

    fn promise(&self) -> BalancePromise {
        BalancePromise::PerTopic
    }
}

/// For each topic, the indices of its subscribers in Kafka's member order.
pub(crate) fn subscribers_per_topic(group: &GroupSpec) -> Vec<Vec<usize>> {
    let order = group.members_in_kafka_order();
    let mut per_topic = vec![Vec::new(); group.topics.len()];
    for m in order {
        for &t in group.members[m].topics.iter() {
            per_topic[t as usize].push(m);
        }
    }
    per_topic
}

/// Classic range arithmetic, no racks: O(partitions) per topic.
fn plain_ranges(partitions: u32, topic: u32, subscribers: &[usize], out: &mut Assignment) {
    let consumers = subscribers.len() as u32;
    if consumers == 0 || partitions == 0 {
        return;
    }
    let (per_consumer, extra) = (partitions / consumers, partitions % consumers);
    for (i, &member) in subscribers.iter().enumerate() {
        let i = i as u32;
        let start = per_consumer * i + i.min(extra);
        let len = per_consumer + u32::from(i < extra);
        out.per_member[member].extend((start..start + len).map(|p| TopicPartition::new(topic, p)));
    }
}

/// A topic's subscribers in member order with their racks, shared by the
/// topics that have the same ones.
struct Subscribers {
    /// (member index, rack id); rack `None` matches every partition.
    consumers: Vec<(usize, Option<u32>)>,
    /// The distinct racks among them, sorted.
    racks: Vec<u32>,
}

impl Subscribers {
    fn new(racks: &RackIds, members: &[usize]) -> Self {
        // Subscriptions are deduplicated, so each member appears once.
        let consumers: Vec<(usize, Option<u32>)> =
            members.iter().map(|&m| (m, racks.member[m])).collect();
        let mut distinct: Vec<u32> = consumers.iter().filter_map(|&(_, r)| r).collect();
        distinct.sort_unstable();
        distinct.dedup();
        Subscribers {
            consumers,
            racks: distinct,
        }
    }
}

/// Grouping key of shared subscriber lists: the same list is equal without
/// comparing its elements.
struct SubscribersKey<'a>(&'a Rc<Subscribers>);

impl PartialEq for SubscribersKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for SubscribersKey<'_> {}

impl PartialOrd for SubscribersKey<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SubscribersKey<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if Rc::ptr_eq(self.0, other.0) {
            std::cmp::Ordering::Equal
        } else {
            self.0.consumers.cmp(&other.0.consumers)
        }
    }
}

/// Kafka's `TopicAssignmentState`: one topic's subscribers, what is left
/// to assign, and the quota bookkeeping.
struct TopicState {
    topic: u32,
    partitions: u32,
    subscribers: Rc<Subscribers>,
    /// Sorted distinct replica racks per entry; partition `p` has entry
    /// `p % len`, and a partition of a topic without entries has no rack.
    replica_racks: Vec<Vec<u32>>,
    /// The partition count when some subscriber has a rack, else 0: with
    /// the subscribers, what topics must share to be co-partitioned.
    rack_partitions: usize,
    needs_rack_aware: bool,
    unassigned: BTreeSet<u32>,
    assigned: Vec<u32>,
    per_consumer: u32,
    extra_left: u32,
}

impl TopicState {
    fn new(group: &GroupSpec, racks: &RackIds, topic: u32, subscribers: Rc<Subscribers>) -> Self {
        let spec = &group.topics[topic as usize];
        let consumer_racks = &subscribers.racks;
        let entries = &racks.topic_entries[topic as usize];
        let mut needs_rack_aware = false;
        if !consumer_racks.is_empty() {
            // The entries the partitions use: every one, or the first P.
            let used = &entries[..entries.len().min(spec.partitions as usize)];
            let mut all: Vec<u32> = used.iter().flatten().copied().collect();
            all.sort_unstable();
            all.dedup();
            needs_rack_aware = consumer_racks.iter().any(|r| all.binary_search(r).is_ok())
                && used.iter().any(|s| *s != all);
        }
        let c = subscribers.consumers.len() as u32;
        TopicState {
            topic,
            partitions: spec.partitions,
            rack_partitions: if consumer_racks.is_empty() {
                0
            } else {
                spec.partitions as usize
            },
            replica_racks: entries.clone(),
            needs_rack_aware,
            unassigned: (0..spec.partitions).collect(),
            assigned: vec![0; subscribers.consumers.len()],
            per_consumer: spec.partitions.checked_div(c).unwrap_or(0),
            extra_left: spec.partitions.checked_rem(c).unwrap_or(0),
            subscribers,
        }
    }

    fn max_assignable(&self, c: usize) -> u32 {
        (self.per_consumer + u32::from(self.extra_left > 0)).saturating_sub(self.assigned[c])
    }

    fn racks_match(&self, c: usize, p: u32) -> bool {
        match self.subscribers.consumers[c].1 {
            None => true,
            Some(rack) => {
                let n = self.replica_racks.len();
                n > 0 && self.replica_racks[p as usize % n].contains(&rack)
            }
        }
    }

    fn on_assigned(&mut self, c: usize, partitions: &[u32], out: &mut Assignment) {
        self.assigned[c] += partitions.len() as u32;
        if self.assigned[c] > self.per_consumer {
            self.extra_left -= 1;
        }
        let member = self.subscribers.consumers[c].0;
        for p in partitions {
            self.unassigned.remove(p);
            out.per_member[member].push(TopicPartition::new(self.topic, *p));
        }
    }

    /// Each consumer in order takes the lowest unassigned partitions it may
    /// have, up to its quota.
    fn assign_ranges(
        &mut self,
        out: &mut Assignment,
        may_assign: impl Fn(&TopicState, usize, u32) -> bool,
    ) {
        for c in 0..self.subscribers.consumers.len() {
            if self.unassigned.is_empty() {
                break;
            }
            let quota = self.max_assignable(c) as usize;
            let take: Vec<u32> = self
                .unassigned
                .iter()
                .copied()
                .filter(|&p| may_assign(self, c, p))
                .take(quota)
                .collect();
            if !take.is_empty() {
                self.on_assigned(c, &take, out);
            }
        }
    }
}

/// Phase one: only partitions whose replicas share a rack with a consumer.
fn assign_with_rack_matching(states: &mut [TopicState], out: &mut Assignment) {
    // Topics with the same subscribers (and racks) and partition count are
    // matched together so they stay co-partitioned.
    // Keys borrow the subscriber lists; the groups are taken out before
    // the states change.
    let mut by_key: BTreeMap<(SubscribersKey<'_>, usize), Vec<usize>> = BTreeMap::new();
    for (i, s) in states.iter().enumerate() {
        by_key
            .entry((SubscribersKey(&s.subscribers), s.rack_partitions))
            .or_default()
            .push(i);
    }
    let groups: Vec<(usize, Vec<usize>)> = by_key
        .into_iter()
        .map(|((_, partitions), topics)| (partitions, topics))
        .collect();
    for (partitions, members) in groups {
        if members.len() >= 2 {
            assign_co_partitioned(states, &members, partitions as u32, out);
        } else {
            let s = &mut states[members[0]];
            if s.needs_rack_aware {
                s.assign_ranges(out, |s, c, p| s.racks_match(c, p));
            }
        }
    }
}

fn assign_co_partitioned(
    states: &mut [TopicState],
    topics: &[usize],
    partitions: u32,
    out: &mut Assignment,
) {
    let consumers = states[topics[0]].subscribers.consumers.len();
    let mut remaining: Vec<usize> = (0..consumers).collect();
    for p in 0..partitions {
        let chosen = remaining.iter().position(|&c| {
            topics
                .iter()
                .all(|&t| states[t].racks_match(c, p) && states[t].max_assignable(c) > 0)
        });
        let Some(at) = chosen else {
            continue;
        };
        let c = remaining[at];
        for &t in topics {
            states[t].on_assigned(c, &[p], out);
        }
        if topics.iter().all(|&t| states[t].max_assignable(c) == 0) {
            remaining.remove(at);
            if remaining.is_empty() {
                break;
            }
        }
    }
}
