//! Rack awareness of the sticky assignors (KIP-881): used only when some
//! member has a rack, member racks overlap partition replica racks, and
//! partitions are not all on the same racks.

use super::Layout;
use crate::assign::rack_ids::RackIds;
use std::collections::BTreeSet;

/// Racks of members and partitions, as the sticky assignors use them.
pub(super) struct RackInfo {
    /// Rack id of each member, only when rack-aware assignment is on
    /// (empty when no member has a rack).
    member_rack: Vec<Option<u32>>,
    /// Rack ids of each topic's replica-rack entries (partition p uses entry p % len).
    topic_racks: Vec<Vec<Vec<u32>>>,
    /// Members (with a rack) on each rack id.
    members_on_rack: Vec<u32>,
    /// Any member has a rack (Kafka then sorts new partitions by how many
    /// consumers share their racks, even when rack-aware assignment is off).
    any_member_rack: bool,
    /// Rack-aware assignment is on.
    pub use_rack: bool,
}

impl RackInfo {
    pub fn new(layout: &Layout<'_>) -> Self {
        let group = layout.group;
        // Without a member rack nothing is rack-aware and no rack is read:
        // small groups skip building the ids.
        if !group
            .members
            .iter()
            .any(|m| m.rack.as_deref().is_some_and(|r| !r.is_empty()))
        {
            return RackInfo {
                member_rack: Vec::new(),
                topic_racks: Vec::new(),
                members_on_rack: Vec::new(),
                any_member_rack: false,
                use_rack: false,
            };
        }
        let RackIds {
            count,
            member: member_racks,
            topic_entries: topic_racks,
        } = RackIds::new(group);
        let any_member_rack = member_racks.iter().any(Option::is_some);
        let mut members_on_rack = vec![0u32; count];
        for &r in member_racks.iter().flatten() {
            members_on_rack[r as usize] += 1;
        }
        let mut use_rack = false;
        if any_member_rack {
            // Union of the racks of every partition of the topics taking part,
            // and whether all partitions have that same set.
            let mut all: BTreeSet<u32> = BTreeSet::new();
            let mut sets: BTreeSet<&[u32]> = BTreeSet::new();
            for (t, racks) in topic_racks.iter().enumerate() {
                if !layout.active[t] {
                    continue;
                }
                let n = group.topics[t].partitions as usize;
                if racks.is_empty() {
                    sets.insert(&[]);
                } else {
                    for entry in racks.iter().take(n) {
                        all.extend(entry.iter().copied());
                        sets.insert(entry.as_slice());
                    }
                }
            }
            let overlap = member_racks.iter().flatten().any(|r| all.contains(r));
            let uniform =
                sets.len() == 1 && sets.iter().next().is_some_and(|s| s.len() == all.len());
            use_rack = overlap && !uniform;
        }
        let member_rack = member_racks
            .iter()
            .map(|&r| if use_rack { r } else { None })
            .collect();
        RackInfo {
            member_rack,
            topic_racks,
            members_on_rack,
            any_member_rack,
            use_rack,
        }
    }

    /// Replica racks of a dense partition.
    pub fn racks_of(&self, layout: &Layout<'_>, dense: u32) -> &[u32] {
        let t = layout.topic_of(dense) as usize;
        // No entries at all when no member has a rack.
        let Some(entries) = self.topic_racks.get(t) else {
            return &[];
        };
        if entries.is_empty() {
            &[]
        } else {
            &entries[(dense - layout.base[t]) as usize % entries.len()]
        }
    }

    /// Some member has a rack.
    pub fn any_member_rack(&self) -> bool {
        self.any_member_rack
    }

    /// The member is on a rack none of the partition's replicas are on
    /// (only when rack-aware assignment is on).
    pub fn mismatch(&self, layout: &Layout<'_>, m: usize, dense: u32) -> bool {
        match self.rack_of(m) {
            None => false,
            Some(r) => !self.racks_of(layout, dense).contains(&r),
        }
    }

    /// The member has a rack and a replica of the partition is on it.
    pub fn matches(&self, layout: &Layout<'_>, m: usize, dense: u32) -> bool {
        self.rack_of(m)
            .is_some_and(|r| self.racks_of(layout, dense).contains(&r))
    }

    /// Member `m`'s rack when rack-aware assignment is on.
    fn rack_of(&self, m: usize) -> Option<u32> {
        self.member_rack.get(m).copied().flatten()
    }

    /// Members whose rack holds a replica of the partition: Kafka's sort
    /// key for new partitions (fewest candidates first). `None` when no
    /// member has a rack.
    pub fn consumers_for(&self, layout: &Layout<'_>, dense: u32) -> Option<u32> {
        self.any_member_rack.then(|| {
            self.racks_of(layout, dense)
                .iter()
                .map(|&r| self.members_on_rack[r as usize])
                .sum()
        })
    }
}
