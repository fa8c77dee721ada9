//! The coordinator's writes to `__consumer_offsets`, as Kafka's
//! `CoordinatorRuntime` batches them: the first write opens a batch that
//! is flushed `group.coordinator.append.linger.ms` later
//! (`CoordinatorContext.maybeAllocateNewBatch` schedules the flush; with
//! 0 the write event flushes at once), and the batch commits when the
//! followers have replicated it (the high watermark reaches it). What
//! waits on a write — an OffsetCommit response, the leader's SyncGroup
//! completing the generation, a static member's JoinGroup in Stable —
//! runs at that commit. A write operation that produced no records (a
//! heartbeat, an OffsetFetch with `require_stable`) still waits for the
//! writes before it (`CoordinatorContext.append`: "the read needs to
//! wait on the last write operation to be completed").

use super::super::protocol::{Endpoint, MemberId, Response};
use crate::assign::TopicPartition;
use crate::sim::{Duration, Time};
use std::collections::{BTreeMap, VecDeque};

/// Something that happens once a write is committed.
#[derive(Debug, Clone)]
pub(super) enum Deferred {
    /// Send a response computed when the request was handled.
    Respond(Endpoint, Response),
    /// The leader's assignment for `generation` is stored: the group
    /// becomes Stable if it is still completing that generation
    /// (`GMM.classicGroupSyncToClassicGroup`, append future).
    Assignment {
        generation: i32,
        assignment: BTreeMap<String, Vec<TopicPartition>>,
    },
    /// The replacement of a static member in Stable is stored: answer its
    /// JoinGroup if it is still waiting (`GMM
    /// .updateStaticMemberThenRebalanceOrCompleteJoin`, append future).
    StaticJoin { member: MemberId },
}

#[derive(Debug)]
struct Batch {
    id: u64,
    /// Until then later writes join the batch.
    flush_at: Time,
    then: Vec<Deferred>,
}

/// Batches written but not yet committed, oldest first.
#[derive(Debug)]
pub(super) struct AppendLog {
    linger: Duration,
    replication: Duration,
    batches: VecDeque<Batch>,
    next_id: u64,
}

/// What to do after handing something to the log.
#[derive(Debug)]
pub(super) enum Logged {
    /// Nothing is pending and writes take no time: do it now.
    Now(Option<Deferred>),
    /// It waits for a batch.
    Waits {
        /// A new batch was opened: fire `Committed { batch }` at this time.
        timer: Option<(Time, u64)>,
    },
}

impl AppendLog {
    /// A log whose batches linger `linger` and replicate in `replication`.
    pub(super) fn new(linger: Duration, replication: Duration) -> Self {
        AppendLog {
            linger,
            replication,
            batches: VecDeque::new(),
            next_id: 0,
        }
    }

    /// Records are written at `now`; `then` runs when they are committed.
    pub(super) fn write(&mut self, now: Time, then: Option<Deferred>) -> Logged {
        if self.batches.is_empty()
            && self.linger == Duration::ZERO
            && self.replication == Duration::ZERO
        {
            return Logged::Now(then);
        }
        let mut timer = None;
        let open = self.batches.back().is_some_and(|b| b.flush_at > now);
        if !open {
            self.next_id += 1;
            let flush_at = now + self.linger;
            self.batches.push_back(Batch {
                id: self.next_id,
                flush_at,
                then: Vec::new(),
            });
            timer = Some((flush_at + self.replication, self.next_id));
        }
        if let (Some(t), Some(b)) = (then, self.batches.back_mut()) {
            b.then.push(t);
        }
        Logged::Waits { timer }
    }

    /// A write operation without records: `then` waits for the last
    /// pending write, or runs now when there is none.
    pub(super) fn after_writes(&mut self, then: Deferred) -> Option<Deferred> {
        match self.batches.back_mut() {
            Some(b) => {
                b.then.push(then);
                None
            }
            None => Some(then),
        }
    }

    /// Batch `id` (and any before it) committed: what waited on them.
    pub(super) fn committed(&mut self, id: u64) -> Vec<Deferred> {
        let mut done = Vec::new();
        while self.batches.front().is_some_and(|b| b.id <= id) {
            if let Some(b) = self.batches.pop_front() {
                done.extend(b.then);
            }
        }
        done
    }

    /// When the last pending write commits (for tests and tools).
    #[cfg(test)]
    pub(super) fn last_commit(&self) -> Option<Time> {
        self.batches.back().map(|b| b.flush_at + self.replication)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Time {
        Time::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn writes_within_the_linger_share_a_batch_and_reads_wait_for_it() {
        let mut log = AppendLog::new(Duration::from_millis(5), Duration::from_millis(2));
        let Logged::Waits { timer } = log.write(at(10), None) else {
            panic!("waits")
        };
        assert_eq!(timer, Some((at(17), 1)));
        let Logged::Waits { timer } = log.write(at(14), None) else {
            panic!("waits")
        };
        assert_eq!(timer, None, "joins the open batch");
        // Flushed at 15: a write at 15 opens the next batch.
        let Logged::Waits { timer } = log.write(at(15), None) else {
            panic!("waits")
        };
        assert_eq!(timer, Some((at(22), 2)));
        assert!(
            log.after_writes(Deferred::StaticJoin { member: "m".into() })
                .is_none()
        );
        assert!(log.committed(1).is_empty());
        assert_eq!(log.committed(2).len(), 1);
        assert!(
            log.after_writes(Deferred::StaticJoin { member: "m".into() })
                .is_some(),
            "nothing pending: at once"
        );
    }

    #[test]
    fn without_linger_or_replication_everything_is_immediate() {
        let mut log = AppendLog::new(Duration::ZERO, Duration::ZERO);
        assert!(matches!(log.write(at(1), None), Logged::Now(None)));
        assert_eq!(log.last_commit(), None);
    }
}
