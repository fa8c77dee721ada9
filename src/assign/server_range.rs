//! The KIP-848 server-side `range` assignor (Apache Kafka 3.9+): per topic,
//! consecutive ranges over its subscribers, static members first by
//! instance id, then the others by member id. Not sticky: the current
//! assignment plays no part; racks are ignored.

use super::range::subscribers_per_topic;
use super::{Assignment, Assignor, BalancePromise, GroupSpec, TopicPartition};

/// Consecutive ranges of `topic` over `subscribers` (in order): the first
/// `partitions % k` get one extra; once all are handed out, the rest get none.
fn split(partitions: u32, topic: u32, subscribers: &[usize], out: &mut Assignment) {
    let k = subscribers.len() as u32;
    if k == 0 || partitions == 0 {
        return;
    }
    let (min_quota, extra) = (partitions / k, partitions % k);
    let mut next = 0;
    for (i, &m) in subscribers.iter().enumerate() {
        if next == partitions {
            break;
        }
        let end = (next + min_quota + u32::from((i as u32) < extra)).min(partitions);
        out.per_member[m].extend((next..end).map(|p| TopicPartition::new(topic, p)));
        next = end;
    }
}

/// The server-side `range` assignor, called `server-range` here.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerRangeAssignor;

impl Assignor for ServerRangeAssignor {
    fn name(&self) -> &str {
        "server-range"
    }

    fn assign(&self, group: &GroupSpec) -> Assignment {
        let mut out = Assignment::empty(group.members.len());
        let homogeneous = group.same_subscriptions();
        if homogeneous {
            // Every topic is split over the same members in the same order.
            let order = group.members_in_kafka_order();
            if let Some(&first) = order.first() {
                for &t in group.members[first].topics.iter() {
                    split(group.topics[t as usize].partitions, t, &order, &mut out);
                }
            }
        } else {
            for (t, subscribers) in subscribers_per_topic(group).iter().enumerate() {
                split(group.topics[t].partitions, t as u32, subscribers, &mut out);
            }
        }
        // Topics were visited in id order, so every member's list is sorted.
        out
    }

    fn promise(&self) -> BalancePromise {
        BalancePromise::PerTopic
    }
}
