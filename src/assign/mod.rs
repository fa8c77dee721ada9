//! Pure partition assignors and the types they work on.
//!
//! Nothing here knows about time: an assignor maps a [`GroupSpec`] (topics,
//! members, subscriptions, what each member owns) to an [`Assignment`].
//! Topics and partitions are dense integers so the big cases stay fast;
//! [`GroupSpec`] keeps topics sorted by name, so `TopicPartition` order is
//! Kafka's order (topic name, then partition number).

mod input;
mod java_order;
mod member_order;
mod promise;
mod rack_ids;
mod range;
mod registry;
mod roundrobin;
mod rounds;
mod server_range;
mod sticky;
mod uniform;

pub use input::{AssignInput, AssignInputError, format_assignment, parse_assign_input};
pub use java_order::{java_hashmap_order, java_hashmap_order_ranked, java_string_hash};
pub use member_order::{
    java_string_cmp, java_string_order, java_string_order_of, kafka_member_order,
};
pub use promise::{BalancePromise, check_promise, kafka_balance_violation};
pub use range::RangeAssignor;
pub use registry::{
    ASSIGNOR_NAMES, AssignorName, AssignorSet, SIMULATED_ASSIGNORS, assignor_by_name,
};
pub use roundrobin::RoundRobinAssignor;
pub use rounds::{Round, run_rounds};
pub use server_range::ServerRangeAssignor;
pub use sticky::{CooperativeStickyAssignor, StickyAssignor};
pub use uniform::UniformAssignor;

use std::collections::BTreeMap;
use std::fmt;

/// Index of a topic in [`GroupSpec::topics`].
pub type TopicId = u32;

/// A subscription: sorted topic ids. Equal subscriptions built by
/// [`GroupSpec::from_named`] share one allocation.
pub type Subscription = std::sync::Arc<[TopicId]>;

/// One partition of one topic. Orders by topic (name order) then number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    /// Index into [`GroupSpec::topics`].
    pub topic: TopicId,
    /// Partition number.
    pub partition: u32,
}

impl TopicPartition {
    /// Partition `partition` of topic `topic`.
    pub const fn new(topic: TopicId, partition: u32) -> Self {
        TopicPartition { topic, partition }
    }
}

/// A topic as assignors see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Number of partitions.
    pub partitions: u32,
    /// Racks of each partition's replicas: partition `p` has the racks of
    /// entry `p % len`. Empty when unknown.
    pub replica_racks: Vec<Vec<String>>,
}

impl TopicSpec {
    /// A topic without rack information.
    pub fn new(name: impl Into<String>, partitions: u32) -> Self {
        TopicSpec {
            name: name.into(),
            partitions,
            replica_racks: Vec::new(),
        }
    }

    /// The replica racks of partition `p` (empty when unknown).
    pub fn racks_of(&self, p: u32) -> &[String] {
        if self.replica_racks.is_empty() {
            &[]
        } else {
            &self.replica_racks[p as usize % self.replica_racks.len()]
        }
    }
}

/// One group member's subscription and state, as sent in JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberSpec {
    /// Member id given by the coordinator.
    pub id: String,
    /// `group.instance.id` for static members.
    pub instance_id: Option<String>,
    /// `client.rack`.
    pub rack: Option<String>,
    /// Subscribed topics, sorted and without duplicates. Shared between
    /// members with the same subscription, so comparing two is O(1) then.
    pub topics: Subscription,
    /// Partitions the member owns (classic) or its current target
    /// assignment (KIP-848), sorted.
    pub owned: Vec<TopicPartition>,
    /// Generation in which `owned` was assigned; `None` counts as -1.
    pub generation: Option<i32>,
}

impl MemberSpec {
    /// True when the member subscribes to `topic`.
    pub fn subscribes(&self, topic: TopicId) -> bool {
        self.topics.binary_search(&topic).is_ok()
    }
}

/// The input of every assignor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupSpec {
    /// Topics sorted by name; [`TopicId`] indexes this list.
    pub topics: Vec<TopicSpec>,
    /// Members, in any order: assignors must not depend on it.
    pub members: Vec<MemberSpec>,
}

impl GroupSpec {
    /// Member indices in Kafka's member order ([`kafka_member_order`]).
    pub fn members_in_kafka_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.members.len()).collect();
        order.sort_unstable_by(|&a, &b| kafka_member_order(&self.members[a], &self.members[b]));
        order
    }

    /// True when every member subscribes to the same topics. Members
    /// parsed from one subscription share it, so pointers are compared
    /// first: comparing 10,000 copies of a 1,000-topic list element by
    /// element was most of the `uniform` assignor's time.
    pub fn same_subscriptions(&self) -> bool {
        self.members.windows(2).all(|w| {
            std::sync::Arc::ptr_eq(&w[0].topics, &w[1].topics) || w[0].topics == w[1].topics
        })
    }

    /// Builds a spec from named topics and members; topic names are sorted
    /// so that ids follow name order. Returns the unknown topic name if a
    /// member subscribes to or owns a topic that is not listed.
    pub fn from_named(
        topics: Vec<TopicSpec>,
        members: Vec<NamedMember>,
    ) -> Result<GroupSpec, String> {
        let mut topics = topics;
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        let ids: BTreeMap<&str, TopicId> = topics
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.as_str(), i as TopicId))
            .collect();
        let lookup = |name: &str| ids.get(name).copied().ok_or_else(|| name.to_string());
        let mut out = Vec::with_capacity(members.len());
        let mut interned: BTreeMap<Vec<TopicId>, Subscription> = BTreeMap::new();
        for m in members {
            let mut subs = m
                .topics
                .iter()
                .map(|t| lookup(t))
                .collect::<Result<Vec<_>, _>>()?;
            subs.sort_unstable();
            subs.dedup();
            let subs = interned
                .entry(subs)
                .or_insert_with_key(|k| k.as_slice().into())
                .clone();
            let mut owned = m
                .owned
                .iter()
                .map(|(t, p)| lookup(t).map(|id| TopicPartition::new(id, *p)))
                .collect::<Result<Vec<_>, _>>()?;
            owned.sort_unstable();
            owned.dedup();
            out.push(MemberSpec {
                id: m.id,
                instance_id: m.instance_id,
                rack: m.rack,
                topics: subs,
                owned,
                generation: m.generation,
            });
        }
        Ok(GroupSpec {
            topics,
            members: out,
        })
    }

    /// `topic-partition` as Kafka prints it; a topic id out of range
    /// prints as `<topic id N>`.
    pub fn tp_name(&self, tp: TopicPartition) -> String {
        match self.topics.get(tp.topic as usize) {
            Some(t) => format!("{}-{}", t.name, tp.partition),
            None => format!("<topic id {}>-{}", tp.topic, tp.partition),
        }
    }

    /// True when `tp` names a partition of these topics.
    pub fn contains(&self, tp: TopicPartition) -> bool {
        self.topics
            .get(tp.topic as usize)
            .is_some_and(|t| tp.partition < t.partitions)
    }

    /// True when `assignment` has one list per member and only partitions
    /// that exist: the shape every check of its content relies on.
    pub fn fits(&self, assignment: &Assignment) -> bool {
        assignment.per_member.len() == self.members.len()
            && assignment
                .per_member
                .iter()
                .flatten()
                .all(|&tp| self.contains(tp))
    }

    /// For each topic, the number of partitions of the topics before it:
    /// the index of its partition 0 in a flat numbering of all partitions.
    pub fn partition_bases(&self) -> Vec<u64> {
        let mut next = 0u64;
        self.topics
            .iter()
            .map(|t| {
                let base = next;
                next += u64::from(t.partitions);
                base
            })
            .collect()
    }

    /// Total number of partitions of all topics.
    pub fn total_partitions(&self) -> u64 {
        self.topics.iter().map(|t| u64::from(t.partitions)).sum()
    }
}

/// A member described with topic names, for [`GroupSpec::from_named`].
#[derive(Debug, Clone, Default)]
pub struct NamedMember {
    /// Member id.
    pub id: String,
    /// `group.instance.id`.
    pub instance_id: Option<String>,
    /// `client.rack`.
    pub rack: Option<String>,
    /// Subscribed topic names.
    pub topics: Vec<String>,
    /// Owned partitions as (topic name, partition).
    pub owned: Vec<(String, u32)>,
    /// Generation of `owned`.
    pub generation: Option<i32>,
}

/// The result of an assignor: for each member of [`GroupSpec::members`]
/// (same index), its partitions sorted by topic then number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignment {
    /// Partitions per member index.
    pub per_member: Vec<Vec<TopicPartition>>,
}

impl Assignment {
    /// An empty assignment for `members` members.
    pub fn empty(members: usize) -> Self {
        Assignment {
            per_member: vec![Vec::new(); members],
        }
    }

    /// Sorts every member's list (assignors call this before returning).
    pub fn normalize(mut self) -> Self {
        // Most lists are built in order: checking is cheaper than sorting.
        for v in self.per_member.iter_mut().filter(|v| !v.is_sorted()) {
            v.sort_unstable();
        }
        self
    }
}

/// How members give up partitions during a classic rebalance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RebalanceProtocol {
    /// Revoke everything before rejoining (range, roundrobin, sticky).
    Eager,
    /// KIP-429: keep what you can, give up only what moves.
    Cooperative,
}

impl fmt::Display for RebalanceProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RebalanceProtocol::Eager => "eager",
            RebalanceProtocol::Cooperative => "cooperative",
        })
    }
}

/// A partition assignor: a pure function of the group's state.
///
/// Implement this to plug your own assignor into a simulation
/// (`Simulation::with_assignor`). The result must not depend on the order
/// of [`GroupSpec::members`].
pub trait Assignor: Send + Sync {
    /// The name members advertise (e.g. "range").
    fn name(&self) -> &str;

    /// Computes the assignment.
    fn assign(&self, group: &GroupSpec) -> Assignment;

    /// The rebalance protocol this assignor supports.
    fn rebalance_protocol(&self) -> RebalanceProtocol {
        RebalanceProtocol::Eager
    }

    /// The balance the assignor promises, checked as invariant 6.
    fn promise(&self) -> BalancePromise {
        BalancePromise::None
    }

    /// True when members put their last assignment and its generation in
    /// the subscription's user data, so the assignor sees them as `owned`
    /// even under eager rebalancing (Kafka's `StickyAssignor`). Eager
    /// members otherwise revoke everything and report nothing owned.
    fn remembers_assignment(&self) -> bool {
        false
    }
}

/// Test groups: `members` members subscribed to `subscribed`, with ids
/// whose input order is not their order.
#[cfg(test)]
pub(crate) fn scrambled_group(
    members: usize,
    topics: Vec<TopicSpec>,
    subscribed: &[u32],
) -> GroupSpec {
    let subscription: Subscription = subscribed.to_vec().into();
    GroupSpec {
        topics,
        members: (0..members)
            .map(|m| MemberSpec {
                id: format!("m-{}", (m * 7919) % 1000),
                topics: subscription.clone(),
                ..Default::default()
            })
            .collect(),
    }
}
