//! The KIP-848 server-side `range` assignor (Apache Kafka 3.9+): per topic,
//! consecutive ranges over its subscribers, static members first by
//! instance id, then the others by member id. Not sticky: the current
//! assignment plays no part; racks are ignored.

use super::range::subscribers_per_topic;
use super::{Assignment, Assignor, BalancePromise, GroupSpec, TopicPartition};

/// The server-side `range` assignor, called `server-range` here.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerRangeAssignor;

impl Assignor for ServerRangeAssignor {
    fn name(&self) -> &str {
        "server-range"
    }

    fn assign(&self, group: &GroupSpec) -> Assignment {
        let mut out = Assignment::empty(group.members.len());
        for (t, subscribers) in subscribers_per_topic(group).iter().enumerate() {
            let partitions = group.topics[t].partitions;
            let k = subscribers.len() as u32;
            if k == 0 || partitions == 0 {
                continue;
            }
            let (min_quota, mut extra) = (partitions / k, partitions % k);
            let mut next = 0;
            for &m in subscribers {
                let quota = min_quota + u32::from(extra > 0);
                extra = extra.saturating_sub(1);
                let end = (next + quota).min(partitions);
                out.per_member[m].extend((next..end).map(|p| TopicPartition::new(t as u32, p)));
                next = end;
            }
        }
        out.normalize()
    }

    fn promise(&self) -> BalancePromise {
        BalancePromise::PerTopic
    }
}
