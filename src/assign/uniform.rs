//! The KIP-848 server-side `uniform` assignor (Apache Kafka 4.1+): balance
//! first, then stickiness to the current target assignment. Identical
//! subscriptions take the homogeneous builder (O(partitions)); others the
//! heterogeneous builder (per-topic balancing rounds). Members are taken in
//! member-id order and topics in name order (Kafka iterates hash orders of
//! random topic ids, which a simulation has no use for).

use super::{
    Assignment, Assignor, BalancePromise, GroupSpec, TopicPartition, java_string_order_of,
};

/// The `uniform` assignor.
#[derive(Debug, Clone, Copy, Default)]
pub struct UniformAssignor;

impl Assignor for UniformAssignor {
    fn name(&self) -> &str {
        "uniform"
    }

    fn assign(&self, group: &GroupSpec) -> Assignment {
        let order = java_string_order_of(group.members.len(), |m| &group.members[m].id);
        let homogeneous = group.same_subscriptions();
        let out = if homogeneous {
            homogeneous_assign(group, &order)
        } else {
            heterogeneous_assign(group, &order)
        };
        // Both builders emit sorted lists except where a member keeps some
        // partitions and is dealt others.
        let kept_some = homogeneous && group.members.iter().any(|m| !m.owned.is_empty());
        let out = if kept_some { out.normalize() } else { out };
        debug_assert!(out.per_member.iter().all(|l| l.is_sorted()));
        out
    }

    fn promise(&self) -> BalancePromise {
        BalancePromise::KafkaBalanced
    }
}

/// Every member subscribes to the same topics.
fn homogeneous_assign(group: &GroupSpec, order: &[usize]) -> Assignment {
    let mut out = Assignment::empty(group.members.len());
    let Some(&first) = order.first() else {
        return out;
    };
    let topics = &group.members[first].topics;
    if topics.is_empty() {
        return out;
    }
    let total: usize = topics
        .iter()
        .map(|&t| group.topics[t as usize].partitions as usize)
        .sum();
    let members = order.len();
    let min_quota = total / members;
    let mut extras = total % members;
    if group.members.iter().all(|m| m.owned.is_empty()) {
        return fresh_homogeneous(group, topics, order, min_quota, extras, out);
    }
    let base = group.partition_bases();
    let total_all = group.total_partitions() as usize;
    // Partitions in someone's current target assignment; the first member
    // (in order) to keep a partition claimed twice keeps it.
    let dense = |tp: &TopicPartition| (base[tp.topic as usize] + u64::from(tp.partition)) as usize;
    let mut owned = vec![false; total_all];
    for m in &group.members {
        for tp in &m.owned {
            owned[dense(tp)] = true;
        }
    }
    // What is dealt: the partitions nobody owns, in topic order, then those
    // members give up over their quota (`given_up`, in member order). The
    // first part is generated, not listed.
    let owned = &owned;
    let never_owned = topics
        .iter()
        .flat_map(|&t| {
            (0..group.topics[t as usize].partitions).map(move |p| TopicPartition::new(t, p))
        })
        .filter(move |tp| !owned[dense(tp)]);
    let mut given_up: Vec<TopicPartition> = Vec::new();
    let mut kept = vec![false; total_all];
    let mut unfilled: Vec<(usize, usize)> = Vec::with_capacity(members);
    for &m in order {
        let member = &group.members[m];
        let mut quota = min_quota;
        let mut tentative_extra = false;
        if extras > 0 {
            quota += 1;
            tentative_extra = true;
        }
        // Sized once for the final list (kept plus dealt).
        let mut keep: Vec<TopicPartition> = Vec::with_capacity(quota);
        let owned = &member.owned;
        let mut i = 0;
        while i < owned.len() {
            // One topic's run of owned partitions (owned is sorted).
            let t = owned[i].topic;
            let run_end = owned[i..]
                .iter()
                .position(|tp| tp.topic != t)
                .map_or(owned.len(), |k| i + k);
            let run: Vec<TopicPartition> = owned[i..run_end]
                .iter()
                .copied()
                .filter(|tp| !kept[dense(tp)])
                .collect();
            i = run_end;
            if !member.subscribes(t) {
                continue;
            }
            if run.len() <= quota {
                quota -= run.len();
                keep.extend(run);
            } else {
                for tp in run {
                    if quota > 0 {
                        keep.push(tp);
                        quota -= 1;
                    } else {
                        given_up.push(tp);
                    }
                }
            }
        }
        for tp in &keep {
            kept[dense(tp)] = true;
        }
        if quota > 0 && tentative_extra {
            // Not already holding min+1: give the extra slot back for now.
            quota -= 1;
            tentative_extra = false;
        }
        if quota == 0 && tentative_extra {
            extras -= 1;
        }
        if quota > 0 || (extras > 0 && !tentative_extra) {
            unfilled.push((m, quota));
        }
        out.per_member[m] = keep;
    }
    // Remaining extra slots go to the last members still needing partitions.
    for entry in unfilled.iter_mut().rev() {
        if extras > 0 {
            extras -= 1;
            entry.1 += 1;
        }
    }
    let mut next = never_owned.chain(given_up);
    for (m, want) in unfilled {
        out.per_member[m].extend(next.by_ref().take(want));
    }
    out
}

/// A fresh homogeneous group: what the quota loop of [`homogeneous_assign`]
/// reduces to when nobody owns anything. Every member is unfilled at the
/// minimum quota, the last `extras` members in order get one more, and
/// each takes the next partitions in topic order: a few contiguous runs
/// per member, written at exact capacity.
fn fresh_homogeneous(
    group: &GroupSpec,
    topics: &[u32],
    order: &[usize],
    min_quota: usize,
    extras: usize,
    mut out: Assignment,
) -> Assignment {
    let first_extra = order.len() - extras;
    let (mut topic, mut p) = (0usize, 0u32);
    for (i, &m) in order.iter().enumerate() {
        let mut want = min_quota + usize::from(i >= first_extra);
        let mut list = Vec::with_capacity(want);
        while want > 0 && topic < topics.len() {
            let t = topics[topic];
            let n = group.topics[t as usize].partitions;
            let k = (n - p).min(want as u32);
            list.extend((p..p + k).map(|q| TopicPartition::new(t, q)));
            p += k;
            want -= k as usize;
            if p == n {
                topic += 1;
                p = 0;
            }
        }
        out.per_member[m] = list;
    }
    out
}

/// Kafka's per-topic balancer: the topic's subscribers sorted by (size,
/// position) once; "levels" are walked from both ends while sizes change
/// underneath, exactly as Kafka's heterogeneous builder does.
struct Balancer {
    sorted: Vec<usize>,
    least_end: usize,
    least_level: isize,
    next_least: usize,
    most_start: usize,
    most_end: usize,
    most_level: isize,
    next_most: isize,
}

impl Balancer {
    /// The balancer and the topic's current imbalance (max − min size).
    fn new(subscribers: &[usize], size: &[usize]) -> (Self, usize) {
        let mut sorted = subscribers.to_vec();
        sorted.sort_by_key(|&i| (size[i], i));
        let low = size[sorted[0]];
        let high = size[*sorted.last().expect("subscribers")];
        let n = sorted.len();
        let b = Balancer {
            least_end: 0,
            least_level: low as isize - 1,
            next_least: 0,
            most_start: n,
            most_end: n,
            most_level: high as isize + 1,
            next_most: n as isize - 1,
            sorted,
        };
        (b, high - low)
    }

    fn next_least_loaded(&mut self, size: &[usize]) -> usize {
        if self.next_least >= self.least_end {
            self.least_level += 1;
            while self.least_end < self.sorted.len()
                && size[self.sorted[self.least_end]] as isize == self.least_level
            {
                self.least_end += 1;
            }
            self.next_least = 0;
        }
        let r = self.sorted[self.next_least];
        self.next_least += 1;
        r
    }

    fn next_most_loaded(&mut self, size: &[usize]) -> Option<usize> {
        if self.next_most < self.most_start as isize {
            if self.most_end <= self.most_start && self.most_start > 0 {
                self.most_level = size[self.sorted[self.most_start - 1]] as isize;
            } else {
                self.most_level -= 1;
            }
            while self.most_start > 0
                && size[self.sorted[self.most_start - 1]] as isize == self.most_level
            {
                self.most_start -= 1;
            }
            self.next_most = self.most_end as isize - 1;
        }
        if self.next_most < 0 {
            return None;
        }
        let r = self.sorted[self.next_most as usize];
        self.next_most -= 1;
        Some(r)
    }

    /// Drops the member `next_most_loaded` just returned.
    fn exclude_most_loaded(&mut self) {
        let i = (self.next_most + 1) as usize;
        self.sorted.swap(i, self.most_end - 1);
        self.most_end -= 1;
    }

    fn balanced(&self) -> bool {
        self.most_level - self.least_level <= 1
    }
}

/// Different subscriptions: new partitions to the least loaded subscriber,
/// then per-topic rounds moving partitions from the most to the least
/// loaded until each topic's subscribers are within one (at most 16 rounds).
fn heterogeneous_assign(group: &GroupSpec, order: &[usize]) -> Assignment {
    let n = order.len();
    let mut out = Assignment::empty(group.members.len());
    let topics = group.topics.len();
    // Member positions are indices into `order`.
    let mut subscribers: Vec<Vec<usize>> = vec![Vec::new(); topics];
    for (i, &m) in order.iter().enumerate() {
        for &t in group.members[m].topics.iter() {
            subscribers[t as usize].push(i);
        }
    }
    if subscribers.iter().all(Vec::is_empty) {
        return out;
    }
    let mut size = vec![0usize; n];
    let mut owner: Vec<Vec<Option<usize>>> = group
        .topics
        .iter()
        .map(|t| vec![None; t.partitions as usize])
        .collect();
    for (i, &m) in order.iter().enumerate() {
        let member = &group.members[m];
        for tp in &member.owned {
            let slot = &mut owner[tp.topic as usize][tp.partition as usize];
            if member.subscribes(tp.topic) && slot.is_none() {
                *slot = Some(i);
                size[i] += 1;
            }
        }
    }
    let sort_topics = |list: &mut Vec<usize>| {
        // Partitions per subscriber descending (as doubles, like Kafka),
        // then fewer subscribers first, then name.
        list.sort_by(|&a, &b| {
            let ra = f64::from(group.topics[a].partitions) / subscribers[a].len() as f64;
            let rb = f64::from(group.topics[b].partitions) / subscribers[b].len() as f64;
            rb.total_cmp(&ra)
                .then(subscribers[a].len().cmp(&subscribers[b].len()))
                .then(a.cmp(&b))
        });
    };

    // 1. Unowned partitions go round robin over the least loaded subscribers.
    let mut with_unassigned: Vec<usize> = (0..topics)
        .filter(|&t| !subscribers[t].is_empty() && owner[t].iter().any(Option::is_none))
        .collect();
    sort_topics(&mut with_unassigned);
    for t in with_unassigned {
        let (mut b, _) = Balancer::new(&subscribers[t], &size);
        for p in 0..owner[t].len() {
            if owner[t][p].is_none() {
                let r = b.next_least_loaded(&size);
                owner[t][p] = Some(r);
                size[r] += 1;
            }
        }
    }

    // 2. Balance every topic with two or more subscribers, round after round.
    let mut movable: Vec<usize> = (0..topics).filter(|&t| subscribers[t].len() >= 2).collect();
    sort_topics(&mut movable);
    let mut last: Option<usize> = None;
    'rounds: for _ in 0..16 {
        if movable.is_empty() {
            break;
        }
        for (k, &t) in movable.iter().enumerate() {
            if last == Some(k) {
                break 'rounds;
            }
            let moved = balance_topic(&subscribers[t], &mut owner[t], &mut size);
            if moved > 0 || last.is_none() {
                last = Some(k);
            }
        }
    }

    for (t, owners) in owner.iter().enumerate() {
        for (p, o) in owners.iter().enumerate() {
            if let Some(i) = o {
                out.per_member[order[*i]].push(TopicPartition::new(t as u32, p as u32));
            }
        }
    }
    out
}

/// Moves partitions of one topic from its most to its least loaded
/// subscribers until they are within one; donors give their highest
/// partition numbers. Returns how many moved.
fn balance_topic(subscribers: &[usize], owner: &mut [Option<usize>], size: &mut [usize]) -> usize {
    let (mut b, imbalance) = Balancer::new(subscribers, size);
    if imbalance <= 1 {
        return 0;
    }
    // Partitions by (owner position, partition), and each owner's block.
    let mut list: Vec<usize> = (0..owner.len()).collect();
    list.sort_by_key(|&p| (owner[p].map_or(-1, |o| o as isize), p));
    let mut blocks: std::collections::BTreeMap<usize, (usize, usize)> =
        std::collections::BTreeMap::new();
    for (i, &p) in list.iter().enumerate() {
        if let Some(o) = owner[p] {
            blocks.entry(o).or_insert((i, i)).1 = i + 1;
        }
    }
    let mut moved = 0;
    while !b.balanced() {
        let donor = loop {
            let Some(o) = b.next_most_loaded(size) else {
                return moved;
            };
            match blocks.get(&o) {
                Some(&(start, end)) if end > start => break o,
                _ => b.exclude_most_loaded(),
            }
        };
        let block = blocks.get_mut(&donor).expect("donor has a block");
        block.1 -= 1;
        let p = list[block.1];
        let receiver = b.next_least_loaded(size);
        if b.balanced() {
            return moved;
        }
        owner[p] = Some(receiver);
        size[donor] -= 1;
        size[receiver] += 1;
        moved += 1;
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::{TopicSpec, scrambled_group};

    #[test]
    fn the_fresh_shortcut_equals_the_quota_loop() {
        // A partition of a topic nobody subscribes to, owned by one member,
        // sends the group through the quota loop without changing what it
        // assigns: the loop's answer for a fresh group.
        for members in [1usize, 2, 3, 7, 10, 40] {
            for partitions in [0u32, 1, 2, 5, 9, 10, 33] {
                let topics = vec![
                    TopicSpec::new("a", partitions),
                    TopicSpec::new("b", 3),
                    TopicSpec::new("c", partitions / 2 + 1),
                ];
                let fresh = scrambled_group(members, topics, &[0, 2]);
                let mut looped = fresh.clone();
                looped.members[0].owned = vec![TopicPartition::new(1, 0)];
                assert_eq!(
                    UniformAssignor.assign(&fresh),
                    UniformAssignor.assign(&looped),
                    "{members} members, {partitions} partitions"
                );
            }
        }
    }
}
