//! The group's member records (`ClassicGroup.members`) kept for two kinds
//! of access: a lookup by member id on every heartbeat and commit (in a
//! group of 100,000 members, hundreds of thousands a second: a hashed
//! index, where an ordered map compared ids all the way down), and walks
//! in member-id order, whose order reaches the output (member lists,
//! assignments, removals; rare: once or twice per rebalance). The hashed
//! index is only ever looked up, never iterated, so nothing depends on
//! its order.

use super::members::Member;
use crate::coordinator::protocol::MemberId;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// A map keyed by member id that is looked up, never iterated.
pub(super) type IdMap<V> = HashMap<MemberId, V, BuildHasherDefault<IdHasher>>;

/// Hashes a member id by the hash it carries ([`MemberId`] computes it
/// once, from its text): a lookup reads neither the text nor rehashes it.
#[derive(Default)]
pub(super) struct IdHasher {
    hash: u64,
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only reached by keys other than a member id; kept correct.
        for &b in bytes {
            self.hash =
                (self.hash.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.hash = hash;
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Member records in a slab, found by id through a hashed index and
/// walked in id order through an ordered one.
#[derive(Default)]
pub(super) struct MemberTable {
    slots: Vec<Option<(MemberId, Member)>>,
    free: Vec<u32>,
    by_id: IdMap<u32>,
    in_order: BTreeMap<MemberId, u32>,
}

impl MemberTable {
    /// Number of members.
    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when there are no members.
    pub(super) fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// True when `id` is a member.
    pub(super) fn contains_key(&self, id: &MemberId) -> bool {
        self.by_id.contains_key(id)
    }

    /// The member `id`.
    pub(super) fn get(&self, id: &MemberId) -> Option<&Member> {
        let &slot = self.by_id.get(id)?;
        self.slots[slot as usize].as_ref().map(|(_, m)| m)
    }

    /// The member `id`, to change.
    pub(super) fn get_mut(&mut self, id: &MemberId) -> Option<&mut Member> {
        let &slot = self.by_id.get(id)?;
        self.slots[slot as usize].as_mut().map(|(_, m)| m)
    }

    /// Adds member `id`, or replaces its record.
    pub(super) fn insert(&mut self, id: MemberId, member: Member) {
        if let Some(&slot) = self.by_id.get(&id) {
            self.slots[slot as usize] = Some((id, member));
            return;
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 members")
            }
        };
        self.slots[slot as usize] = Some((id.clone(), member));
        self.by_id.insert(id.clone(), slot);
        self.in_order.insert(id, slot);
    }

    /// Removes member `id`, returning its record.
    pub(super) fn remove(&mut self, id: &MemberId) -> Option<Member> {
        let slot = self.by_id.remove(id)?;
        self.in_order.remove(id);
        self.free.push(slot);
        self.slots[slot as usize].take().map(|(_, m)| m)
    }

    /// Members in member-id order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&MemberId, &Member)> {
        self.in_order.values().map(|&slot| {
            let (id, m) = self.slots[slot as usize]
                .as_ref()
                .expect("an indexed slot holds a member");
            (id, m)
        })
    }

    /// Members in member-id order, to change.
    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (&MemberId, &mut Member)> {
        // One reference per slot, each handed out once in id order.
        let mut slots: Vec<Option<&mut (MemberId, Member)>> =
            self.slots.iter_mut().map(Option::as_mut).collect();
        self.in_order.values().map(move |&slot| {
            let (id, m) = slots[slot as usize]
                .take()
                .expect("an indexed slot holds a member, once");
            (&*id, m)
        })
    }

    /// Member ids in order.
    pub(super) fn keys(&self) -> impl Iterator<Item = &MemberId> {
        self.in_order.keys()
    }

    /// Member records in member-id order.
    pub(super) fn values(&self) -> impl Iterator<Item = &Member> {
        self.iter().map(|(_, m)| m)
    }

    /// Member records in member-id order, to change.
    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut Member> {
        self.iter_mut().map(|(_, m)| m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn ids_hash_by_their_text() {
        let build = BuildHasherDefault::<IdHasher>::default();
        let id = MemberId::from("c12-0123456789ab");
        assert_eq!(
            build.hash_one(&id),
            build.hash_one(MemberId::from("c12-0123456789ab".to_string()))
        );
        assert_ne!(
            build.hash_one(&id),
            build.hash_one(MemberId::from("c12-0123456789ac"))
        );
    }
}
