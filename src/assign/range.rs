//! Apache Kafka's client-side `RangeAssignor`: per topic, subscribers in
//! member order each get a contiguous range; the first `P % C` get one more.

use super::{
    kafka_member_order, Assignment, Assignor, BalancePromise, GroupSpec, TopicPartition,
};

/// The `range` assignor (eager).
#[derive(Debug, Clone, Copy, Default)]
pub struct RangeAssignor;

impl Assignor for RangeAssignor {
    fn name(&self) -> &str {
        "range"
    }

    fn assign(&self, group: &GroupSpec) -> Assignment {
        let mut out = Assignment::empty(group.members.len());
        for (topic, subscribers) in subscribers_per_topic(group).iter().enumerate() {
            let partitions = group.topics[topic].partitions;
            let consumers = subscribers.len() as u32;
            if consumers == 0 || partitions == 0 {
                continue;
            }
            let (per_consumer, extra) = (partitions / consumers, partitions % consumers);
            for (i, &member) in subscribers.iter().enumerate() {
                let i = i as u32;
                let start = per_consumer * i + i.min(extra);
                let len = per_consumer + u32::from(i < extra);
                let list = &mut out.per_member[member];
                list.extend((start..start + len).map(|p| TopicPartition::new(topic as u32, p)));
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
    let mut order: Vec<usize> = (0..group.members.len()).collect();
    order.sort_by(|&a, &b| kafka_member_order(&group.members[a], &group.members[b]));
    let mut per_topic = vec![Vec::new(); group.topics.len()];
    for m in order {
        for &t in &group.members[m].topics {
            per_topic[t as usize].push(m);
        }
    }
    per_topic
}
