//! The equal-subscription path: quotas of ⌊P/N⌋ and ⌈P/N⌉ partitions,
//! members keep what they own up to their quota (in Kafka's member order,
//! which decides who keeps an extra one), then the rest is dealt round
//! robin, rack-matched first when racks are in use.

use super::racks::RackInfo;
use super::{Claims, Layout};

/// Partitions per member (dense), and the partitions that change owner
/// with their new owner (what cooperative-sticky withholds).
pub(super) fn assign(
    layout: &Layout<'_>,
    claims: &Claims,
    racks: &RackInfo,
) -> (Vec<Vec<u32>>, Vec<(u32, usize)>) {
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
    let mut assignment: Vec<Vec<u32>> = (0..n).map(|_| Vec::with_capacity(max_quota)).collect();
    let expected_over_min = (total as usize) % n;
    let mut over_min = 0usize;
    // Previous owner of partitions given up (over quota, foreign rack);
    // only needed when something is owned.
    let owned_any = claims.any_owned();
    let mut revoked_by: Vec<u32> =
        vec![u32::MAX; if owned_any { layout.total as usize } else { 0 }];
    let mut under_min: Vec<usize> = Vec::new();
    let mut exactly_min: Vec<usize> = Vec::new();
    let mut taken = vec![false; if owned_any { layout.total as usize } else { 0 }];

    for &m in &layout.order {
        let keep = &mut assignment[m];
        for &d in &claims.owned[m] {
            if racks.mismatch(layout, m, d) {
                revoked_by[d as usize] = m as u32;
            } else {
                keep.push(d);
            }
        }
        // Kafka keeps the lowest partition numbers first, across topics.
        keep.sort_by_key(|&d| {
            let tp = layout.tp(d);
            (tp.partition, tp.topic)
        });
        keep.retain(|&d| !claims.is_multi(d));
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
        for &d in &keep[quota..] {
            revoked_by[d as usize] = m as u32;
        }
        keep.truncate(quota);
        for &d in keep.iter() {
            taken[d as usize] = true;
        }
    }

    let mut unassigned: Vec<u32> = (0..layout.group.topics.len() as u32)
        .filter(|&t| layout.active[t as usize])
        .flat_map(|t| layout.partitions(t))
        .filter(|&d| !owned_any || !taken[d as usize])
        .collect();
    if racks.any_member_rack() {
        unassigned.sort_by_key(|&d| racks.consumers_for(layout, d).unwrap_or(0));
    }
    under_min.sort_by_key(|&m| layout.rank[m]);
    exactly_min.sort_by_key(|&m| layout.rank[m]);

    let mut transfers: Vec<(u32, usize)> = Vec::new();
    let mut give = |assignment: &mut Vec<Vec<u32>>, d: u32, m: usize| -> usize {
        assignment[m].push(d);
        if owned_any {
            let prev = revoked_by[d as usize];
            if (prev != u32::MAX && prev as usize != m) || claims.is_multi(d) {
                transfers.push((d, m));
            }
        }
        assignment[m].len()
    };

    if racks.use_rack {
        let mut rest = Vec::with_capacity(unassigned.len());
        let mut next = 0usize;
        for &d in &unassigned {
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
                    give(&mut assignment, d, m);
                }
                None => rest.push(d),
            }
        }
        unassigned = rest;
    }

    // Round robin over the members still under the minimum, wrapping
    // around; then the ones at the minimum take one more each, in order.
    let mut cursor = 0usize;
    let mut exactly_min: std::collections::VecDeque<usize> = exactly_min.into();
    for d in unassigned {
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
            continue;
        };
        let count = give(&mut assignment, d, m);
        if count == min_quota && from_under {
            cursor -= 1;
            under_min.remove(cursor);
            exactly_min.push_back(m);
        }
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
