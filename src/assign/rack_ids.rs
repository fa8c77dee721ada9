//! Racks as dense ids, looked up once per assignment: the rack-aware
//! assignors (range, sticky) compare ids, never names.

use super::GroupSpec;
use std::collections::{BTreeMap, BTreeSet};

/// Every rack a member or a replica names, numbered in name order.
pub(crate) struct RackIds {
    /// How many distinct racks there are.
    pub count: usize,
    /// Each member's rack; `None` for no rack or an empty name.
    pub member: Vec<Option<u32>>,
    /// Per topic, the sorted distinct racks of each entry of its
    /// `replica_racks` (partition `p` uses entry `p % len`).
    pub topic_entries: Vec<Vec<Vec<u32>>>,
}

impl RackIds {
    pub fn new(group: &GroupSpec) -> Self {
        let member_names: Vec<Option<&str>> = group
            .members
            .iter()
            .map(|m| m.rack.as_deref().filter(|r| !r.is_empty()))
            .collect();
        let mut names: BTreeSet<&str> = member_names.iter().flatten().copied().collect();
        for t in &group.topics {
            names.extend(t.replica_racks.iter().flatten().map(String::as_str));
        }
        let ids: BTreeMap<&str, u32> = names
            .iter()
            .enumerate()
            .map(|(i, r)| (*r, i as u32))
            .collect();
        let member = member_names.iter().map(|r| r.map(|r| ids[r])).collect();
        let topic_entries = group
            .topics
            .iter()
            .map(|t| {
                t.replica_racks
                    .iter()
                    .map(|entry| {
                        let mut racks: Vec<u32> = entry.iter().map(|r| ids[r.as_str()]).collect();
                        racks.sort_unstable();
                        racks.dedup();
                        racks
                    })
                    .collect()
            })
            .collect();
        RackIds {
            count: ids.len(),
            member,
            topic_entries,
        }
    }
}
