//! The general path (members subscribe to different topics), following
//! Kafka's algorithm: keep valid owned partitions, give each new partition
//! to the least-loaded subscriber, then move partitions while the group is
//! not balanced, preferring previous owners and avoiding back-and-forth
//! moves; keep the result only if it is more balanced.
//!
//! Members with the same subscription form a class; the least-loaded
//! subscriber of a topic is the smallest head among its classes, so each
//! choice costs O(classes · log members) instead of a scan of all members.

use super::Layout;
use super::claims::Claims;
use super::racks::RackInfo;
use std::collections::{BTreeMap, BTreeSet};

/// Members ordered as Kafka's `SubscriptionComparator`: (partitions held, member id).
type Key = (u32, u32);

struct State<'a, 'b> {
    layout: &'b Layout<'a>,
    racks: &'b RackInfo,
    cur: Vec<Vec<u32>>,
    owner: Vec<u32>,
    /// Members taking part in balancing, by Key.
    sorted: BTreeSet<Key>,
    class_sets: Vec<BTreeSet<Key>>,
    class_of: Vec<usize>,
    topic_classes: Vec<Vec<usize>>,
    class_topics: Vec<Vec<u32>>,
    by_rank: Vec<usize>,
    fixed: Vec<bool>,
    max_size: Vec<u32>,
    movements: Movements,
}

impl State<'_, '_> {
    fn key(&self, m: usize) -> Key {
        (self.cur[m].len() as u32, self.layout.rank[m])
    }

    fn detach(&mut self, m: usize) {
        let k = self.key(m);
        self.sorted.remove(&k);
        self.class_sets[self.class_of[m]].remove(&k);
    }

    fn attach(&mut self, m: usize) {
        let k = self.key(m);
        self.sorted.insert(k);
        self.class_sets[self.class_of[m]].insert(k);
    }

    fn add(&mut self, m: usize, d: u32) {
        self.detach(m);
        self.cur[m].push(d);
        self.owner[d as usize] = m as u32;
        self.attach(m);
    }

    /// The least-loaded (then smallest id) member taking part that
    /// subscribes to `topic`.
    fn least_loaded_subscriber(&self, topic: u32) -> Option<usize> {
        self.topic_classes[topic as usize]
            .iter()
            .filter_map(|&c| self.class_sets[c].first())
            .min()
            .map(|&(_, r)| self.by_rank[r as usize])
    }

    fn subscribers_smallest_size(&self, topic: u32) -> Option<u32> {
        self.topic_classes[topic as usize]
            .iter()
            .filter_map(|&c| self.class_sets[c].first())
            .map(|&(n, _)| n)
            .min()
    }

    /// Moves `d` (or the partition Kafka's movement tracker swaps in for
    /// it) to `to`.
    fn reassign(&mut self, d: u32, to: usize) {
        let from = self.owner[d as usize] as usize;
        let real = self
            .movements
            .actual_partition_to_move(self.layout, d, from, to);
        let old = self.owner[real as usize] as usize;
        self.detach(old);
        self.detach(to);
        let pos = self.cur[old]
            .iter()
            .position(|&x| x == real)
            .expect("owner holds the partition");
        self.cur[old].remove(pos);
        self.cur[to].push(real);
        self.owner[real as usize] = to as u32;
        self.movements.move_partition(self.layout, real, old, to);
        self.attach(old);
        self.attach(to);
    }

    /// Kafka's `isBalanced`: sizes within one, or no member could take a
    /// partition of its topics from a member holding two or more more.
    fn is_balanced(&self) -> bool {
        let (Some(&(min, _)), Some(&(max, _))) = (self.sorted.first(), self.sorted.last()) else {
            return true;
        };
        if min + 1 >= max {
            return true;
        }
        // Largest holder of each topic among members taking part.
        let mut max_holder = vec![0u32; self.layout.group.topics.len()];
        for &(n, r) in &self.sorted {
            let m = self.by_rank[r as usize];
            for &d in &self.cur[m] {
                let t = self.layout.topic_of(d) as usize;
                max_holder[t] = max_holder[t].max(n);
            }
        }
        // Per class, its least-loaded member is the one that could take most.
        for (c, set) in self.class_sets.iter().enumerate() {
            let Some(&(n, r)) = set.first() else {
                continue;
            };
            let m = self.by_rank[r as usize];
            if n == self.max_size[m] {
                continue;
            }
            if self.class_topics[c]
                .iter()
                .any(|&t| n + 1 < max_holder[t as usize])
            {
                return false;
            }
        }
        true
    }

    fn perform_reassignments(&mut self, list: &[u32], prev: &[Option<(u32, i32)>]) -> bool {
        let mut performed = false;
        loop {
            let mut modified = false;
            for &d in list {
                if self.is_balanced() {
                    break;
                }
                let c = self.owner[d as usize];
                if c == u32::MAX {
                    continue;
                }
                let c = c as usize;
                let topic = self.layout.topic_of(d);
                if let Some((p, _)) = prev[d as usize] {
                    let p = p as usize;
                    if !self.fixed[p] && self.cur[c].len() > self.cur[p].len() + 1 {
                        self.reassign(d, p);
                        performed = true;
                        modified = true;
                        continue;
                    }
                }
                let size = self.cur[c].len() as u32;
                let mut better = false;
                if self.racks.matches(self.layout, c, d) {
                    // A same-rack member with two fewer partitions?
                    better = self.layout.group.members.iter().enumerate().any(|(o, om)| {
                        !self.fixed[o]
                            && om.subscribes(topic)
                            && self.racks.matches(self.layout, o, d)
                            && size > self.cur[o].len() as u32 + 1
                    });
                }
                if !better {
                    better = self
                        .subscribers_smallest_size(topic)
                        .is_some_and(|n| size > n + 1);
                }
                if better {
                    let to = self
                        .least_loaded_subscriber(topic)
                        .expect("the topic has subscribers");
                    self.reassign(d, to);
                    performed = true;
                    modified = true;
                }
            }
            if !modified {
                return performed;
            }
        }
    }
}

/// Partitions per member (dense) for groups with differing subscriptions.
pub(super) fn assign(layout: &Layout<'_>, claims: &Claims, racks: &RackInfo) -> Vec<Vec<u32>> {
    let group = layout.group;
    let n = group.members.len();
    let topics = group.topics.len();

    // Subscription classes and per-topic subscriber counts.
    let mut classes: BTreeMap<Vec<u32>, usize> = BTreeMap::new();
    let mut class_topics: Vec<Vec<u32>> = Vec::new();
    let mut subscribers = vec![0u32; topics];
    let class_of: Vec<usize> = (0..n)
        .map(|m| {
            let subs: Vec<u32> = layout.member_topics(m).collect();
            for &t in &subs {
                subscribers[t as usize] += 1;
            }
            let next = class_topics.len();
            *classes.entry(subs.clone()).or_insert_with(|| {
                class_topics.push(subs);
                next
            })
        })
        .collect();
    let mut topic_classes = vec![Vec::new(); topics];
    for (c, ts) in class_topics.iter().enumerate() {
        for &t in ts {
            topic_classes[t as usize].push(c);
        }
    }
    let mut by_rank = vec![0usize; n];
    for m in 0..n {
        by_rank[layout.rank[m] as usize] = m;
    }
    let max_size: Vec<u32> = (0..n)
        .map(|m| {
            layout
                .member_topics(m)
                .map(|t| group.topics[t as usize].partitions)
                .sum()
        })
        .collect();

    // Topics by (number of subscribers, name); their partitions in order.
    let mut sorted_topics: Vec<u32> = (0..topics as u32)
        .filter(|&t| layout.active[t as usize])
        .collect();
    sorted_topics.sort_by_key(|&t| (subscribers[t as usize], t));
    let all_partitions: Vec<u32> = sorted_topics
        .iter()
        .flat_map(|&t| layout.partitions(t))
        .collect();

    let mut state = State {
        layout,
        racks,
        cur: vec![Vec::new(); n],
        owner: vec![u32::MAX; layout.total as usize],
        sorted: BTreeSet::new(),
        class_sets: vec![BTreeSet::new(); class_topics.len()],
        class_of,
        topic_classes,
        class_topics,
        by_rank,
        fixed: vec![false; n],
        max_size,
        movements: Movements::default(),
    };

    // Keep owned partitions the member still subscribes to (and, with
    // racks, that are on its rack).
    let mut revocation_required = false;
    for &m in &layout.order {
        for &d in claims.owned(m) {
            let t = layout.topic_of(d);
            if !group.members[m].subscribes(t) || racks.mismatch(layout, m, d) {
                revocation_required = true;
            } else {
                state.cur[m].push(d);
                state.owner[d as usize] = m as u32;
            }
        }
    }
    for m in 0..n {
        state.attach(m);
    }
    let unassigned: Vec<u32> = all_partitions
        .iter()
        .copied()
        .filter(|&d| state.owner[d as usize] == u32::MAX)
        .collect();
    let prev = claims.previous_owners(layout);

    // balance()
    let initializing = state.sorted.last().is_none_or(|&(n, _)| n == 0);
    let mut to_assign = unassigned.clone();
    if racks.use_rack {
        let mut rest = Vec::new();
        for &d in &to_assign {
            let t = layout.topic_of(d);
            let found = state
                .sorted
                .iter()
                .map(|&(_, r)| state.by_rank[r as usize])
                .find(|&m| group.members[m].subscribes(t) && !racks.mismatch(layout, m, d));
            match found {
                Some(m) => state.add(m, d),
                None => rest.push(d),
            }
        }
        to_assign = rest;
    }
    for &d in &to_assign {
        if let Some(m) = state.least_loaded_subscriber(layout.topic_of(d)) {
            state.add(m, d);
        }
    }

    // Only topics with two or more subscribers, and members that could
    // still change, take part in balancing.
    let movable = |t: u32| subscribers[t as usize] >= 2;
    let reassignable: Vec<u32> = all_partitions
        .iter()
        .copied()
        .filter(|&d| movable(layout.topic_of(d)))
        .collect();
    let new_partitions: Vec<u32> = unassigned
        .iter()
        .copied()
        .filter(|&d| movable(layout.topic_of(d)))
        .collect();
    for m in 0..n {
        let size = state.cur[m].len() as u32;
        let participates =
            size < state.max_size[m] || state.cur[m].iter().any(|&d| movable(layout.topic_of(d)));
        if !participates {
            state.detach(m);
            state.fixed[m] = true;
        }
    }
    let snapshot = (state.cur.clone(), state.owner.clone());
    if !revocation_required {
        state.perform_reassignments(&new_partitions, &prev);
    }
    let performed = state.perform_reassignments(&reassignable, &prev);
    if !initializing && performed {
        let before = balance_score(&snapshot.0, &state.fixed);
        if balance_score(&state.cur, &state.fixed) >= before {
            state.cur = snapshot.0;
            state.owner = snapshot.1;
        }
    }
    state.cur
}

/// Kafka's balance score: the sum over member pairs of the difference in
/// their partition counts (members outside balancing excluded), computed
/// in O(n log n) from sorted sizes.
fn balance_score(cur: &[Vec<u32>], fixed: &[bool]) -> i64 {
    let mut sizes: Vec<i64> = (0..cur.len())
        .filter(|&m| !fixed[m])
        .map(|m| cur[m].len() as i64)
        .collect();
    sizes.sort_unstable();
    let n = sizes.len() as i64;
    sizes
        .iter()
        .enumerate()
        .map(|(j, &s)| s * (2 * j as i64 - (n - 1)))
        .sum()
}

/// Kafka's `PartitionMovements`: where each moved partition came from, so
/// that a move between two members can undo an earlier opposite move of a
/// partition of the same topic instead of adding a second one.
#[derive(Default)]
struct Movements {
    moves: BTreeMap<u32, (usize, usize)>,
    by_topic: BTreeMap<u32, BTreeMap<(usize, usize), BTreeSet<u32>>>,
}

impl Movements {
    fn remove_record(&mut self, layout: &Layout<'_>, d: u32) -> (usize, usize) {
        let pair = self.moves.remove(&d).expect("recorded");
        let t = layout.topic_of(d);
        let topic = self.by_topic.get_mut(&t).expect("recorded topic");
        let set = topic.get_mut(&pair).expect("recorded pair");
        set.remove(&d);
        if set.is_empty() {
            topic.remove(&pair);
        }
        if topic.is_empty() {
            self.by_topic.remove(&t);
        }
        pair
    }

    fn add_record(&mut self, layout: &Layout<'_>, d: u32, pair: (usize, usize)) {
        self.moves.insert(d, pair);
        self.by_topic
            .entry(layout.topic_of(d))
            .or_default()
            .entry(pair)
            .or_default()
            .insert(d);
    }

    fn move_partition(&mut self, layout: &Layout<'_>, d: u32, old: usize, new: usize) {
        if self.moves.contains_key(&d) {
            let (src, _) = self.remove_record(layout, d);
            if src != new {
                self.add_record(layout, d, (src, new));
            }
        } else {
            self.add_record(layout, d, (old, new));
        }
    }

    fn actual_partition_to_move(&self, layout: &Layout<'_>, d: u32, old: usize, new: usize) -> u32 {
        let t = layout.topic_of(d);
        let Some(topic) = self.by_topic.get(&t) else {
            return d;
        };
        let old = self.moves.get(&d).map_or(old, |&(src, _)| src);
        // Kafka takes the first of a HashSet; the smallest is our stable choice.
        topic
            .get(&(new, old))
            .and_then(|s| s.first().copied())
            .unwrap_or(d)
    }
}
