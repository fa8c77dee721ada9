//! The equal-subscription path: quotas of ⌊P/N⌋ and ⌈P/N⌉ partitions,
//! members keep what they own up to their quota (in Kafka's member order,
//! which decides who keeps an extra one), then the rest is dealt round
//! robin, rack-matched first when racks are in use.

use super::racks::RackInfo;
use super::{Claims, Layout};
use crate::assign::TopicPartition;

/// Partitions per member (each list sorted), and the partitions that
/// change owner with their new owner (what cooperative-sticky withholds).
/// Lists are built as
/// topic-partitions from the start (dense numbers are derived where
/// needed): the small groups' cost is mostly allocation, and a second list
/// per member to convert into doubled it.
pub(super) fn assign(
    layout: &Layout<'_>,
    claims: &Claims,
    racks: &RackInfo,
) -> (Vec<Vec<TopicPartition>>, Vec<(TopicPartition, usize)>) {
    if !claims.any_owned() && !racks.any_member_rack() {
        return (fresh(layout), Vec::new());
    }
    let (mut lists, transfers) = assign_by_quotas(layout, claims, racks);
    for list in lists.iter_mut().filter(|l| !l.is_sorted()) {
        list.sort_unstable();
    }
    (lists, transfers)
}

/// A fresh group without racks: Kafka's quota dealing reduces to a round
/// robin over the members in member-id order. Every member starts under
/// the minimum (or, with more members than partitions, at it), the cursor
/// hands out one partition per member per round, and the members that
/// reach the minimum in the last full round queue up for the remainder in
/// the same order, so partition k (in topic-partition order) goes to the
/// member of rank k mod n. Tested against the dealing it replaces. Each
/// member's list is written in one go (every n-th position, exact
/// capacity), sorted by construction.
fn fresh(layout: &Layout<'_>) -> Vec<Vec<TopicPartition>> {
    let n = layout.group.members.len();
    // The active topics as runs of positions: (first position, topic, partitions).
    let mut runs: Vec<(usize, u32, u32)> = Vec::with_capacity(layout.group.topics.len());
    let mut total = 0usize;
    for (t, spec) in layout.group.topics.iter().enumerate() {
        if layout.active[t] && spec.partitions > 0 {
            runs.push((total, t as u32, spec.partitions));
            total += spec.partitions as usize;
        }
    }
    layout
        .rank
        .iter()
        .map(|&rank| {
            let rank = rank as usize;
            let count = if rank < total {
                (total - rank).div_ceil(n)
            } else {
                0
            };
            let mut list = Vec::with_capacity(count);
            let mut run = 0usize;
            for k in (rank..total).step_by(n.max(1)) {
                while runs[run].0 + runs[run].2 as usize <= k {
                    run += 1;
                }
                let (start, t, _) = runs[run];
                list.push(TopicPartition::new(t, (k - start) as u32));
            }
            debug_assert_eq!(list.len(), count);
            list
        })
        .collect()
}

/// Kafka's `assignOwnedPartitions` and the dealing of the rest
/// (`ConstrainedAssignmentBuilder`).
fn assign_by_quotas(
    layout: &Layout<'_>,
    claims: &Claims,
    racks: &RackInfo,
) -> (Vec<Vec<TopicPartition>>, Vec<(TopicPartition, usize)>) {
    let n = layout.group.members.len();
    let total: u32 = (0..layout.group.topics.len() as u32)
        .filter(|&t| layout.active[t as usize])
        .map(|t| layout.group.topics[t as usize].partitions)
        .sum();
    if n == 0 {
        return (Vec::new(), Vec::new());
    }
    let min_quota = (total as usize) / n;
    let max_quota = (total as usize).div_ceil(n);
    let mut assignment: Vec<Vec<TopicPartition>> =
        (0..n).map(|_| Vec::with_capacity(max_quota)).collect();
    let expected_over_min = (total as usize) % n;
    let mut over_min = 0usize;
    // Previous owner of partitions given up (over quota, foreign rack);
    // only needed when something is owned.
    let owned_any = claims.any_owned();
    let mut revoked_by: Vec<u32> =
        vec![u32::MAX; if owned_any { layout.total as usize } else { 0 }];
    let mut under_min: Vec<usize> = Vec::with_capacity(n);
    let mut exactly_min: Vec<usize> = Vec::with_capacity(n);
    let mut taken = vec![false; if owned_any { layout.total as usize } else { 0 }];

    // Kept partitions with their dense numbers: the topic of a dense
    // number is a search, done once per partition, not per comparison.
    let mut keep: Vec<(TopicPartition, u32)> = Vec::new();
    for &m in &layout.order {
        keep.clear();
        for &d in claims.owned(m) {
            if racks.mismatch(layout, m, d) {
                revoked_by[d as usize] = m as u32;
            } else {
                keep.push((layout.tp(d), d));
            }
        }
        // Kafka keeps the lowest partition numbers first, across topics.
        keep.sort_unstable_by_key(|&(tp, _)| (tp.partition, tp.topic));
        keep.retain(|&(_, d)| !claims.is_multi(d));
        let quota = if keep.len() < min_quota {
            under_min.push(m);
            keep.len()
        } else if keep.len() >= max_quota && over_min < expected_over_min {
            over_min += 1;
            if over_min == expected_over_min {
                exactly_min.clear();
            }
            max_quota
        } else {
            if over_min < expected_over_min {
                exactly_min.push(m);
            }
            min_quota
        };
        for &(_, d) in &keep[quota..] {
            revoked_by[d as usize] = m as u32;
        }
        keep.truncate(quota);
        for &(_, d) in keep.iter() {
            taken[d as usize] = true;
        }
        assignment[m].extend(keep.iter().map(|&(tp, _)| tp));
    }

    // A fresh group without racks deals every partition in that order:
    // no list of them is built.
    let fresh = !owned_any && !racks.any_member_rack();
    let mut unassigned: Vec<TopicPartition> =
        Vec::with_capacity(if fresh { 0 } else { total as usize });
    for t in (0..layout.group.topics.len() as u32).filter(|_| !fresh) {
        if !layout.active[t as usize] {
            continue;
        }
        let tps =
            (0..layout.group.topics[t as usize].partitions).map(|p| TopicPartition::new(t, p));
        if owned_any {
            unassigned.extend(tps.filter(|&tp| !taken[layout.dense(tp) as usize]));
        } else {
            unassigned.extend(tps);
        }
    }
    if racks.any_member_rack() {
        unassigned.sort_by_key(|&tp| racks.consumers_for(layout, layout.dense(tp)).unwrap_or(0));
    }
    // Ranks are unique: an unstable sort gives the one order.
    under_min.sort_unstable_by_key(|&m| layout.rank[m]);
    exactly_min.sort_unstable_by_key(|&m| layout.rank[m]);

    let mut transfers: Vec<(TopicPartition, usize)> = Vec::new();
    let mut give = |assignment: &mut Vec<Vec<TopicPartition>>, tp: TopicPartition, m: usize| {
        assignment[m].push(tp);
        if owned_any {
            let d = layout.dense(tp);
            let prev = revoked_by[d as usize];
            if (prev != u32::MAX && prev as usize != m) || claims.is_multi(d) {
                transfers.push((tp, m));
            }
        }
        assignment[m].len()
    };

    if racks.use_rack {
        let mut rest = Vec::with_capacity(unassigned.len());
        let mut next = 0usize;
        for &tp in &unassigned {
            let d = layout.dense(tp);
            let mut chosen = None;
            if let Some(mut i) = next_on_rack(layout, racks, d, &under_min, next) {
                let m = under_min[i];
                let count = assignment[m].len() + 1;
                if count >= min_quota {
                    under_min.remove(i);
                    if count < max_quota && over_min < expected_over_min {
                        exactly_min.push(m);
                    }
                } else {
                    i += 1;
                }
                next = if under_min.is_empty() {
                    0
                } else {
                    i % under_min.len()
                };
                chosen = Some(m);
            } else if !exactly_min.is_empty() {
                if let Some(j) = next_on_rack(layout, racks, d, &exactly_min, 0) {
                    let m = exactly_min[j];
                    if assignment[m].len() + 1 == max_quota {
                        exactly_min.remove(j);
                        over_min += 1;
                        if over_min == expected_over_min {
                            exactly_min.clear();
                        }
                    }
                    chosen = Some(m);
                }
            }
            match chosen {
                Some(m) => {
                    give(&mut assignment, tp, m);
                }
                None => rest.push(tp),
            }
        }
        unassigned = rest;
    }

    // Round robin over the members still under the minimum, wrapping
    // around; then the ones at the minimum take one more each, in order.
    let mut cursor = 0usize;
    let mut exactly_min: std::collections::VecDeque<usize> = exactly_min.into();
    let mut deal = |tp: TopicPartition| {
        let (m, from_under) = if cursor < under_min.len() {
            cursor += 1;
            (under_min[cursor - 1], true)
        } else if !under_min.is_empty() {
            cursor = 1;
            (under_min[0], true)
        } else if let Some(m) = exactly_min.pop_front() {
            (m, false)
        } else {
            // Kafka throws here ("no more unfilled consumers"); it cannot
            // happen when quotas add up, so the partition stays unassigned.
            return;
        };
        let count = give(&mut assignment, tp, m);
        if count == min_quota && from_under {
            cursor -= 1;
            under_min.remove(cursor);
            exactly_min.push_back(m);
        }
    };
    if fresh {
        for t in 0..layout.group.topics.len() as u32 {
            if layout.active[t as usize] {
                for p in 0..layout.group.topics[t as usize].partitions {
                    deal(TopicPartition::new(t, p));
                }
            }
        }
    } else {
        unassigned.into_iter().for_each(&mut deal);
    }
    (assignment, transfers)
}

/// Kafka's `findNextRackConsumer`: scanning `list` circularly from `start`,
/// the first member on a rack holding a replica of `d`.
fn next_on_rack(
    layout: &Layout<'_>,
    racks: &RackInfo,
    d: u32,
    list: &[usize],
    start: usize,
) -> Option<usize> {
    if racks.racks_of(layout, d).is_empty() || list.is_empty() {
        return None;
    }
    (0..list.len())
        .map(|i| (start + i) % list.len())
        .find(|&i| racks.matches(layout, list[i], d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::{TopicSpec, scrambled_group};

    #[test]
    fn the_fresh_round_robin_equals_the_quota_dealing() {
        for members in [1usize, 2, 3, 7, 10, 40] {
            for partitions in [0u32, 1, 2, 5, 9, 10, 33] {
                let topics = vec![
                    TopicSpec::new("a", partitions),
                    TopicSpec::new("b", 0),
                    TopicSpec::new("c", partitions / 2 + 1),
                ];
                let group = scrambled_group(members, topics, &[0, 1, 2]);
                let layout = Layout::new(&group);
                let claims = Claims::collect(&layout);
                let racks = RackInfo::new(&layout);
                let (dealt, transfers) = assign_by_quotas(&layout, &claims, &racks);
                assert!(transfers.is_empty());
                assert_eq!(
                    fresh(&layout),
                    dealt,
                    "{members} members, {partitions} partitions"
                );
            }
        }
    }
}
