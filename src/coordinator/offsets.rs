//! Committed offsets (the group's part of `__consumer_offsets`).

/// Committed offsets by dense partition index.
#[derive(Debug, Clone)]
pub struct OffsetStore {
    committed: Vec<Option<u64>>,
}

impl OffsetStore {
    /// No commits yet, for `partitions` partitions.
    pub fn new(partitions: usize) -> Self {
        OffsetStore {
            committed: vec![None; partitions],
        }
    }

    /// The committed offset of partition `p`.
    pub fn get(&self, p: usize) -> Option<u64> {
        self.committed[p]
    }

    /// Stores a commit; the broker accepts lower offsets too.
    pub fn put(&mut self, p: usize, offset: u64) {
        self.committed[p] = Some(offset);
    }

    /// Stores an accepted OffsetCommit of `member` and reports each offset.
    pub fn store_commit(
        &mut self,
        offsets: &[(usize, u64)],
        member: &super::protocol::MemberId,
        facts: &mut Vec<crate::events::Fact>,
    ) {
        facts.reserve(offsets.len());
        for &(p, offset) in offsets {
            self.put(p, offset);
            facts.push(crate::events::Fact::CommitStored {
                partition: p,
                offset,
                member: member.clone(),
            });
        }
    }
}
