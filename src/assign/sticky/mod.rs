//! Apache Kafka's client-side `StickyAssignor` and
//! `CooperativeStickyAssignor` (the shared `AbstractStickyAssignor`
//! algorithm): balance first, then keep what members own. Equal
//! subscriptions take the quota-based path, others the general path.
//! Conflicting claims on a partition are settled by generation.

mod claims;
mod constrained;
mod general;
mod racks;

use super::{
    Assignment, Assignor, BalancePromise, GroupSpec, RebalanceProtocol, TopicPartition,
    java_hashmap_order_ranked, java_string_order,
};
use claims::Claims;
use racks::RackInfo;

/// The eager `sticky` assignor.
#[derive(Debug, Clone, Copy, Default)]
pub struct StickyAssignor;

/// The `cooperative-sticky` assignor (KIP-429): the sticky result minus the
/// partitions that must first be revoked by another member.
#[derive(Debug, Clone, Copy, Default)]
pub struct CooperativeStickyAssignor;

impl Assignor for StickyAssignor {
    fn name(&self) -> &str {
        "sticky"
    }

    fn assign(&self, group: &GroupSpec) -> Assignment {
        run(group).0
    }

    fn promise(&self) -> BalancePromise {
        BalancePromise::KafkaBalanced
    }

    fn remembers_assignment(&self) -> bool {
        true
    }
}

impl Assignor for CooperativeStickyAssignor {
    fn name(&self) -> &str {
        "cooperative-sticky"
    }

    fn assign(&self, group: &GroupSpec) -> Assignment {
        let (mut assignment, transferring) = run(group);
        // Withhold every partition that changes hands this round: its
        // previous owner must revoke it first; the next rebalance hands it over.
        let transferring = transferring.unwrap_or_else(|| general_transfers(group, &assignment));
        if transferring.is_empty() {
            return assignment;
        }
        let mut withheld: Vec<Vec<TopicPartition>> = vec![Vec::new(); group.members.len()];
        for (tp, member) in transferring {
            withheld[member].push(tp);
        }
        for (list, gone) in assignment.per_member.iter_mut().zip(withheld) {
            if !gone.is_empty() {
                let mut gone = gone;
                gone.sort_unstable();
                list.retain(|tp| gone.binary_search(tp).is_err());
            }
        }
        assignment
    }

    fn rebalance_protocol(&self) -> RebalanceProtocol {
        RebalanceProtocol::Cooperative
    }

    fn promise(&self) -> BalancePromise {
        // A first cooperative round withholds moving partitions, so only
        // the final round is balanced; checked by the tests over rounds.
        BalancePromise::None
    }
}

/// Kafka's cooperative transfer set for the general path: partitions that
/// some member reported owning and that now go to a member that did not.
fn general_transfers(group: &GroupSpec, assignment: &Assignment) -> Vec<(TopicPartition, usize)> {
    let mut revoked: Vec<TopicPartition> = Vec::new();
    for (m, member) in group.members.iter().enumerate() {
        let now = &assignment.per_member[m];
        revoked.extend(
            member
                .owned
                .iter()
                .filter(|tp| now.binary_search(tp).is_err()),
        );
    }
    revoked.sort_unstable();
    let mut out = Vec::new();
    for (m, member) in group.members.iter().enumerate() {
        for &tp in &assignment.per_member[m] {
            if member.owned.binary_search(&tp).is_err() && revoked.binary_search(&tp).is_ok() {
                out.push((tp, m));
            }
        }
    }
    out
}

/// Dense numbering of the partitions of the topics that take part.
pub(super) struct Layout<'a> {
    pub group: &'a GroupSpec,
    /// Dense index of partition 0 of each topic.
    pub base: Vec<u32>,
    /// Topics some member subscribes to that have partitions.
    pub active: Vec<bool>,
    /// Members in Kafka's subscription-map order.
    pub order: Vec<usize>,
    /// Each member's position in Java member-id order.
    pub rank: Vec<u32>,
    /// Total dense partitions (of all topics).
    pub total: u32,
}

impl<'a> Layout<'a> {
    fn new(group: &'a GroupSpec) -> Self {
        let mut base = Vec::with_capacity(group.topics.len());
        let mut total = 0u32;
        for t in &group.topics {
            base.push(total);
            total += t.partitions;
        }
        let mut active = vec![false; group.topics.len()];
        let mut previous: Option<&crate::assign::Subscription> = None;
        for m in &group.members {
            // Members parsed from one subscription share it: each distinct
            // run of them is walked once.
            if previous.is_some_and(|p| std::sync::Arc::ptr_eq(p, &m.topics)) {
                continue;
            }
            previous = Some(&m.topics);
            for &t in m.topics.iter() {
                active[t as usize] = group.topics[t as usize].partitions > 0;
            }
        }
        let ids: Vec<&str> = group.members.iter().map(|m| m.id.as_str()).collect();
        let by_id = java_string_order(&ids);
        // The subscription map's order decides only who keeps what it owns
        // (claims, quotas): with nothing owned any order gives the same
        // result, and hashing every id is skipped.
        let mut rank = vec![0u32; ids.len()];
        for (r, &m) in by_id.iter().enumerate() {
            rank[m] = r as u32;
        }
        let order = if group.members.iter().any(|m| !m.owned.is_empty()) {
            java_hashmap_order_ranked(&ids, &by_id)
        } else {
            by_id
        };
        Layout {
            group,
            base,
            active,
            order,
            rank,
            total,
        }
    }

    pub fn dense(&self, tp: TopicPartition) -> u32 {
        self.base[tp.topic as usize] + tp.partition
    }

    pub fn topic_of(&self, dense: u32) -> u32 {
        (self.base.partition_point(|&b| b <= dense) - 1) as u32
    }

    pub fn tp(&self, dense: u32) -> TopicPartition {
        let t = self.topic_of(dense);
        TopicPartition::new(t, dense - self.base[t as usize])
    }

    pub fn partitions(&self, topic: u32) -> std::ops::Range<u32> {
        let b = self.base[topic as usize];
        b..b + self.group.topics[topic as usize].partitions
    }

    pub fn member_topics(&self, m: usize) -> impl Iterator<Item = u32> + '_ {
        self.group.members[m]
            .topics
            .iter()
            .copied()
            .filter(|&t| self.active[t as usize])
    }
}

/// Runs the shared algorithm: the assignment, and (equal-subscription
/// path only) the partitions that change owner, for the cooperative variant.
#[allow(clippy::type_complexity)]
fn run(group: &GroupSpec) -> (Assignment, Option<Vec<(TopicPartition, usize)>>) {
    let layout = Layout::new(group);
    let claims = Claims::collect(&layout);
    let racks = RackInfo::new(&layout);
    if claims.all_equal {
        let (per_member, transfers) = constrained::assign(&layout, &claims, &racks);
        debug_assert!(per_member.iter().all(|l| l.is_sorted()));
        return (Assignment { per_member }, Some(transfers));
    }
    let lists = general::assign(&layout, &claims, &racks);
    // Dense order is (topic, partition) order: sort the integers, then map
    // with a cursor over topic bases instead of a search per partition.
    let per_member = lists
        .into_iter()
        .map(|mut l| {
            l.sort_unstable();
            let mut t = 0usize;
            l.into_iter()
                .map(|d| {
                    while t + 1 < layout.base.len() && layout.base[t + 1] <= d {
                        t += 1;
                    }
                    TopicPartition::new(t as u32, d - layout.base[t])
                })
                .collect()
        })
        .collect();
    (Assignment { per_member }, None)
}
