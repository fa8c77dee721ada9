//! Apache Kafka's client-side `RoundRobinAssignor`: all subscribed
//! partitions sorted by topic then number, dealt out over the members in
//! member order, skipping members not subscribed to the partition's topic.

use super::range::subscribers_per_topic;
use super::{Assignment, Assignor, BalancePromise, GroupSpec, TopicPartition};

/// The `roundrobin` assignor (eager).
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundRobinAssignor;

impl Assignor for RoundRobinAssignor {
    fn name(&self) -> &str {
        "roundrobin"
    }

    fn assign(&self, group: &GroupSpec) -> Assignment {
        let mut out = Assignment::empty(group.members.len());
        let members = group.members.len();
        if members == 0 {
            return out;
        }
        let order = group.members_in_kafka_order();
        if group.same_subscriptions() {
            // Everyone subscribes to everything dealt: a plain rotation.
            let per_member = group.total_partitions() as usize / members + 1;
            for list in &mut out.per_member {
                list.reserve(per_member);
            }
            let mut cursor = 0;
            for &t in group.members[0].topics.iter() {
                for p in 0..group.topics[t as usize].partitions {
                    out.per_member[order[cursor]].push(TopicPartition::new(t, p));
                    cursor = (cursor + 1) % members;
                }
            }
            return out;
        }
        let mut position_of = vec![0usize; members];
        for (pos, &m) in order.iter().enumerate() {
            position_of[m] = pos;
        }
        // Subscriber positions (in member order) per topic, ascending, so the
        // next subscriber at or after the cursor is a binary search rather
        // than Kafka's linear skip.
        let subscriber_positions: Vec<Vec<usize>> = subscribers_per_topic(group)
            .into_iter()
            .map(|subs| subs.into_iter().map(|m| position_of[m]).collect())
            .collect();
        let mut cursor = 0usize;
        for (topic, positions) in subscriber_positions.iter().enumerate() {
            if positions.is_empty() {
                continue;
            }
            let all_subscribe = positions.len() == members;
            for p in 0..group.topics[topic].partitions {
                let pos = if all_subscribe {
                    cursor
                } else {
                    let i = positions.partition_point(|&x| x < cursor);
                    positions.get(i).copied().unwrap_or(positions[0])
                };
                out.per_member[order[pos]].push(TopicPartition::new(topic as u32, p));
                cursor = (pos + 1) % members;
            }
        }
        out.normalize()
    }

    fn promise(&self) -> BalancePromise {
        BalancePromise::TotalWhenSubscriptionsEqual
    }
}
