//! Offset accounting: which records of each partition were processed, how
//! many were processed more than once, and which were lost (committed past
//! without ever being processed) or skipped by an offset reset.

mod intervals;

pub use intervals::IntervalSet;

/// Per-partition record accounting for a whole run.
#[derive(Debug, Clone)]
pub struct OffsetLedger {
    partitions: Vec<PartitionLedger>,
    duplicates: u64,
    lost: u64,
    skipped: u64,
    processed: u64,
}

impl PartitionLedger {
    /// Marks `[from, to)` processed or skipped; returns how many of those
    /// records had been committed past without it (no longer lost).
    fn account(&mut self, from: u64, to: u64) -> u64 {
        // Loss is only ever counted in [start, committed_high).
        let (lo, hi) = (
            from.max(self.start.unwrap_or(from)),
            to.min(self.committed_high.unwrap_or(0)),
        );
        let recovered = if lo < hi {
            (hi - lo) - self.accounted.covered_in(lo, hi)
        } else {
            0
        };
        self.accounted.insert(from, to);
        recovered
    }
}

#[derive(Debug, Clone, Default)]
struct PartitionLedger {
    processed: IntervalSet,
    /// Processed or skipped by a reset: what a commit may pass without loss.
    accounted: IntervalSet,
    /// Highest offset ever committed; loss is counted below it once.
    committed_high: Option<u64>,
    /// First position the group ever read from.
    start: Option<u64>,
    /// Records of this partition processed more than once.
    duplicates: u64,
}

impl OffsetLedger {
    /// A ledger for `partitions` partitions (dense indices).
    pub fn new(partitions: usize) -> Self {
        OffsetLedger {
            partitions: vec![PartitionLedger::default(); partitions],
            duplicates: 0,
            lost: 0,
            skipped: 0,
            processed: 0,
        }
    }

    /// Records `[from, to)` of partition `p` were processed; returns how
    /// many of them had been processed before.
    pub fn record_processed(&mut self, p: usize, from: u64, to: u64) -> u64 {
        let ledger = &mut self.partitions[p];
        ledger.start.get_or_insert(from);
        let again = ledger.processed.insert(from, to);
        self.lost -= ledger.account(from, to);
        self.duplicates += again;
        ledger.duplicates += again;
        self.processed += to - from;
        again
    }

    /// Partition `p` was added during the run: the group owes it every
    /// record from offset 0 (a reset past them skips them).
    pub fn expect_from_start(&mut self, p: usize) {
        self.partitions[p].start.get_or_insert(0);
    }

    /// A consumer set its position for `p` to `position` without a
    /// committed offset (`auto.offset.reset`); records between the group's
    /// first position and `position` never seen are counted as skipped.
    pub fn record_reset(&mut self, p: usize, position: u64) -> u64 {
        let ledger = &mut self.partitions[p];
        let start = *ledger.start.get_or_insert(position);
        if position <= start {
            return 0;
        }
        let before = ledger.accounted.covered_in(start, position);
        self.lost -= ledger.account(start, position);
        let unseen = (position - start) - before;
        self.skipped += unseen;
        unseen
    }

    /// Offset `offset` was committed for `p`; returns the records newly
    /// committed past without having been processed (lost).
    pub fn record_commit(&mut self, p: usize, offset: u64) -> u64 {
        let ledger = &mut self.partitions[p];
        let start = *ledger.start.get_or_insert(offset);
        let from = ledger.committed_high.unwrap_or(start).max(start);
        if offset <= from {
            ledger.committed_high = Some(ledger.committed_high.unwrap_or(offset).max(offset));
            return 0;
        }
        let lost = (offset - from) - ledger.accounted.covered_in(from, offset);
        ledger.committed_high = Some(offset);
        self.lost += lost;
        lost
    }

    /// Where partition `p`'s never-processed records begin: the end of the
    /// highest range processed or skipped (`None` before the group read it).
    pub fn frontier(&self, p: usize) -> Option<u64> {
        let ledger = &self.partitions[p];
        ledger.accounted.end().or(ledger.start)
    }

    /// Records of partition `p` processed more than once so far.
    pub fn partition_duplicates(&self, p: usize) -> u64 {
        self.partitions[p].duplicates
    }

    /// Records processed more than once so far.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Records committed past and not processed (nor skipped) so far; a
    /// commit ahead of processing (at-most-once) counts until the records
    /// are processed, so at the end this is what was lost for good.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Records skipped by offset resets so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Record processings so far, duplicates included.
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// The first position the group read `p` from, if it ever did.
    pub fn start_of(&self, p: usize) -> Option<u64> {
        self.partitions[p].start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_duplicates_and_losses() {
        let mut l = OffsetLedger::new(1);
        assert_eq!(l.record_processed(0, 100, 150), 0);
        assert_eq!(l.record_commit(0, 150), 0);
        assert_eq!(l.record_processed(0, 120, 160), 30);
        assert_eq!(l.record_commit(0, 200), 40);
        assert_eq!((l.duplicates(), l.lost(), l.processed()), (30, 40, 90));
    }

    #[test]
    fn a_commit_ahead_of_processing_is_lost_only_until_processed() {
        let mut l = OffsetLedger::new(1);
        l.record_processed(0, 0, 10);
        assert_eq!(l.record_commit(0, 30), 20, "at-most-once: committed first");
        assert_eq!(l.lost(), 20);
        l.record_processed(0, 10, 25);
        assert_eq!(l.lost(), 5, "processed after the commit: no longer lost");
        l.record_processed(0, 20, 40);
        assert_eq!(l.lost(), 0);
        assert_eq!(l.duplicates(), 5);
    }

    #[test]
    fn resets_skip_without_counting_loss() {
        let mut l = OffsetLedger::new(1);
        l.record_reset(0, 10);
        l.record_processed(0, 10, 20);
        assert_eq!(l.record_reset(0, 50), 30);
        l.record_processed(0, 50, 60);
        assert_eq!(l.record_commit(0, 60), 0);
        assert_eq!(l.skipped(), 30);
    }
}
