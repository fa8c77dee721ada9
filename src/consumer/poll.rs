//! The application's poll loop: `poll()` returns up to `max.poll.records`
//! from the owned partitions with records, the batch is processed, the
//! next `poll()` follows; stalls lengthen batches; `max.poll.interval.ms`
//! is watched by the heartbeat thread. The loop asks the membership what
//! to do at each `poll()` ([`Consumer::membership_poll`]) and fetches only
//! when it may.

use super::membership::MemberState;
use super::processing::{batch_time, mean_time};
use super::{Consumer, ConsumerEnv, ConsumerOutbox, ConsumerTimer};
use crate::events::Fact;
use crate::scenario::CommitMode;
use crate::sim::{Duration, Time, Timer};

/// A batch the application is processing.
#[derive(Debug, Clone)]
pub struct Batch {
    /// (dense partition, from, to) in fetch order.
    pub ranges: Vec<(usize, u64, u64)>,
    /// When processing started.
    pub started: Time,
    /// When it ends.
    pub ends: Time,
}

/// The application thread's state.
#[derive(Debug, Clone, Default)]
pub struct PollLoop {
    /// Inside `poll()` (blocked or about to return), not processing.
    pub in_poll: bool,
    /// When the application last called `poll()`.
    pub last_poll: Time,
    /// The batch being processed.
    pub batch: Option<Batch>,
    /// Stall time not yet spent (a stall that began outside a batch).
    pub stall_debt: Duration,
    /// The blocked `poll()` wakes (data or auto-commit due).
    pub wake: Timer,
    /// The batch is done.
    pub batch_timer: Timer,
    /// The `max.poll.interval.ms` check (one pending at a time; it re-arms
    /// lazily when polls moved the deadline).
    pub poll_timeout: Timer,
    /// The ranges buffer of the last finished batch, reused by the next
    /// fetch.
    pub spare_ranges: Vec<(usize, u64, u64)>,
    /// Set by a fetch that found nothing under `fetch_quantum`, kept
    /// through the merged polls that follow; see
    /// [`Consumer::records_per_poll`].
    pub caught_up: Option<CaughtUp>,
}

/// A `poll()` under `fetch_quantum` found nothing to read: every owned
/// partition had been read up to the log as it was at `boundary`. Kept
/// while the consumer reads the next quantum's records in merged polls
/// (they are all it may find until the quantum after).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaughtUp {
    /// The multiple of the quantum whose log the empty fetch saw.
    pub boundary: Time,
    /// [`OwnedPartitions::version`](super::owned::OwnedPartitions::version)
    /// then: any later change of what may be fetched voids this.
    pub owned_version: u64,
}

/// The most records one merged poll may return (batch times are drawn for
/// a `u32` count).
const MERGED_POLL_MAX: u64 = u32::MAX as u64;

/// The longest a merged batch is expected to take (µs). A consumer in a
/// batch joins a rebalance, auto-commits and notices a new assignment only
/// at its next poll, and a crash mid-batch loses or redoes the batch's
/// uncommitted records; merging polls must not stretch that by more than
/// this (a review found rebalances several times longer at a 30 s quantum
/// when a merged batch could last the whole quantum). It is short against
/// the group's own timings (heartbeats every 3 s, joins of seconds) and
/// still merges a quantum of 1 s at 50 µs a record (2,000 records).
const MERGED_BATCH_MAX_MICROS: u64 = 100_000;

impl Consumer {
    /// Whether a blocked `poll()`'s wake-up at `at` would only fetch and
    /// start a batch (or block again), touching nothing but this consumer
    /// and sending nothing — provided nothing reaches it before: a classic
    /// member, Stable with no rejoin pending, in `poll()` without a batch,
    /// with no response deferred, no heartbeat, commit or lookup in
    /// flight, and no auto-commit due by then. The fast engine handles
    /// such a wake-up ahead of time.
    pub fn wake_is_local(&self, at: Time) -> bool {
        self.running
            && self.modern.is_none()
            && !self.closing
            && self.deferred.is_none()
            && self.pending_assignment.is_none()
            && self.member.state() == MemberState::Stable
            && !self.member.rejoin_needed
            && self.member.heartbeat_sent_for.is_none()
            && self.poll.in_poll
            && self.poll.batch.is_none()
            && self.group.commit != CommitMode::BeforeProcessing
            && self.commits.quiet_until(at)
            && self.link.next_deadline().is_none()
    }

    pub(super) fn enter_poll(
        &mut self,
        now: Time,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        self.poll.in_poll = true;
        if self.poll.stall_debt > Duration::ZERO {
            return self.start_batch(now, Vec::new(), Duration::ZERO, out);
        }
        self.drive_poll(now, env, out);
    }

    /// The body of `poll()`: called when the application enters it and
    /// whenever something happens while it is blocked inside.
    pub(super) fn drive_poll(
        &mut self,
        now: Time,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if !self.poll.in_poll || !self.running {
            return;
        }
        self.poll.last_poll = now;
        if self.closing {
            return self.begin_close(now, out);
        }
        if self.membership_poll(now, env, out) {
            if self.auto_commit_allowed() {
                self.maybe_auto_commit(now, out);
            }
            self.fetch_or_wait(now, env, out);
        }
    }

    /// Whether poll() may auto-commit now: a classic member not while a
    /// rebalance is under way (ConsumerCoordinator.poll returns before
    /// maybeAutoCommitOffsetsAsync when ensureActiveGroup is false).
    fn auto_commit_allowed(&self) -> bool {
        self.modern.is_some() || self.member.state() == MemberState::Stable
    }

    /// The most records this poll returns: `max.poll.records`, except
    /// under `fetch_quantum` for a consumer that had read everything its
    /// partitions held at the previous multiple of the quantum, with
    /// nothing changed in what it may fetch since. What it finds now is
    /// then one quantum's records, which polls of `max.poll.records` would
    /// read back to back with nothing but their draws between them; it
    /// reads them in fewer polls, each with one draw of its sum (the same
    /// distribution, [`batch_time`]): up to the records it is expected to
    /// process in the quantum or in [`MERGED_BATCH_MAX_MICROS`], whichever
    /// is shorter (over the longest mean processing time it may meet), and
    /// never fewer than `max.poll.records`. A consumer with a backlog never
    /// finds its fetch empty, so it keeps reading `max.poll.records` at a
    /// time. The README's fetch_quantum section states the bound.
    pub(super) fn records_per_poll(&self, now: Time, env: &ConsumerEnv<'_>) -> u64 {
        let max_poll_records = u64::from(self.group.max_poll_records);
        let (Some(quantum), Some(caught_up)) = (env.cluster.fetch_quantum(), self.poll.caught_up)
        else {
            return max_poll_records;
        };
        let merges = caught_up.owned_version == self.owned.version()
            && env.cluster.fetch_boundary(now) == Some(caught_up.boundary + quantum);
        if !merges {
            return max_poll_records;
        }
        let slowest = env
            .cluster
            .topics
            .iter()
            .filter_map(|t| t.processing)
            .chain([self.config.processing])
            .map(|d| mean_time(&d).micros())
            .max()
            .unwrap_or(0);
        let expected = match slowest {
            0 => MERGED_POLL_MAX,
            mean => (quantum.micros().min(MERGED_BATCH_MAX_MICROS) / mean).min(MERGED_POLL_MAX),
        };
        expected.max(max_poll_records)
    }

    fn fetch_or_wait(&mut self, now: Time, env: &ConsumerEnv<'_>, out: &mut ConsumerOutbox) {
        let max = self.records_per_poll(now, env);
        let merged = max > u64::from(self.group.max_poll_records);
        let spare = std::mem::take(&mut self.poll.spare_ranges);
        let ranges = self.owned.fetch(now, max, env.cluster, spare);
        if ranges.is_empty() {
            self.poll.caught_up = env.cluster.fetch_boundary(now).map(|boundary| CaughtUp {
                boundary,
                owned_version: self.owned.version(),
            });
        } else if !merged {
            self.poll.caught_up = None;
        }
        // A merged read keeps `caught_up`: what is left to read is still
        // the rest of the quantum after its boundary, for as long as the
        // consumer's polls stay within that quantum.
        if !ranges.is_empty() {
            let records: u64 = ranges.iter().map(|(_, from, to)| to - from).sum();
            let took = if env.cluster.has_topic_processing() {
                self.batch_time_per_topic(&ranges, env)
            } else {
                batch_time(&self.config.processing, records as u32, &mut self.rng)
            };
            if self.group.commit == CommitMode::BeforeProcessing && self.in_active_group() {
                // At-most-once: commit the new positions first and wait.
                let token = self.send_commit(out);
                self.commits.before_batch = Some((token, ranges, took));
                self.poll.in_poll = false;
                return;
            }
            self.start_batch(now, ranges, took, out);
            return;
        }
        self.poll.spare_ranges = ranges;
        // Nothing to read: block until data arrives or auto-commit is due.
        let mut wake = self.owned.next_data_at(env.cluster, env.latency);
        if let (Some(due), false, true) = (
            self.commits.next_auto_commit(),
            self.owned.is_empty(),
            self.auto_commit_allowed(),
        ) {
            wake = Some(wake.map_or(due, |w| w.min(due)));
        }
        if let Some(at) = wake {
            let id = self.poll.wake.arm();
            out.timers.push((at.max(now), ConsumerTimer::Poll(id)));
        }
    }

    /// A batch's time when topics have their own processing times: each
    /// topic's records drawn from its time (or the consumer's), in the
    /// order the topics first appear in the batch.
    fn batch_time_per_topic(
        &mut self,
        ranges: &[(usize, u64, u64)],
        env: &ConsumerEnv<'_>,
    ) -> Duration {
        let mut per_topic: Vec<(u32, u64)> = Vec::new();
        for &(p, from, to) in ranges {
            let topic = env.cluster.partition_at(p).topic;
            match per_topic.iter_mut().find(|(t, _)| *t == topic) {
                Some((_, n)) => *n += to - from,
                None => per_topic.push((topic, to - from)),
            }
        }
        per_topic
            .into_iter()
            .map(|(t, n)| {
                let dist = env.cluster.topics[t as usize]
                    .processing
                    .unwrap_or(self.config.processing);
                batch_time(&dist, n as u32, &mut self.rng)
            })
            .fold(Duration::ZERO, |a, b| a + b)
    }

    /// The application leaves `poll()` with `ranges` to process for `took`.
    pub(super) fn start_batch(
        &mut self,
        now: Time,
        ranges: Vec<(usize, u64, u64)>,
        took: Duration,
        out: &mut ConsumerOutbox,
    ) {
        let took = took + std::mem::take(&mut self.poll.stall_debt);
        let batch = Batch {
            ranges,
            started: now,
            ends: now + took,
        };
        let id = self.poll.batch_timer.arm();
        out.timers.push((batch.ends, ConsumerTimer::BatchDone(id)));
        self.poll.batch = Some(batch);
        self.poll.in_poll = false;
        self.poll.last_poll = now;
        if !self.poll.poll_timeout.is_armed() {
            let id = self.poll.poll_timeout.arm();
            out.timers.push((
                now + self.group.max_poll_interval,
                ConsumerTimer::PollTimeout(id),
            ));
        }
    }

    /// The batch in progress ends `by` later.
    fn extend_batch(&mut self, by: Duration, out: &mut ConsumerOutbox) -> bool {
        let Some(batch) = &mut self.poll.batch else {
            return false;
        };
        batch.ends += by;
        let ends = batch.ends;
        let id = self.poll.batch_timer.arm();
        out.timers.push((ends, ConsumerTimer::BatchDone(id)));
        true
    }

    /// The process stalls until `until`: the batch in progress finishes
    /// that much later.
    pub fn pause(&mut self, now: Time, until: Time, out: &mut ConsumerOutbox) {
        self.extend_batch(until.since(now), out);
    }

    /// The application thread blocks for `duration` (the heartbeat thread
    /// does not): the current batch, or the next one, takes that much longer.
    pub fn stall(&mut self, now: Time, duration: Duration, out: &mut ConsumerOutbox) {
        if self.extend_batch(duration, out) {
            return;
        }
        if self.poll.in_poll && self.running {
            self.start_batch(now, Vec::new(), duration, out);
        } else {
            self.poll.stall_debt = self.poll.stall_debt + duration;
        }
    }

    pub(super) fn batch_done(
        &mut self,
        now: Time,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        let Some(batch) = self.poll.batch.take() else {
            return;
        };
        for &(partition, from, to) in &batch.ranges {
            out.facts.push(Fact::Processed {
                consumer: self.index,
                partition,
                from,
                to,
                since: batch.started,
            });
        }
        self.poll.spare_ranges = batch.ranges;
        let after_batch = matches!(self.group.commit, CommitMode::Sync | CommitMode::Async);
        if after_batch && !self.owned.is_empty() {
            if self.in_active_group() {
                let token = self.send_commit(out);
                if self.group.commit == CommitMode::Sync {
                    // commitSync: the application waits for the answer.
                    self.commits.batch_commit = Some(token);
                    return;
                }
                // commitAsync: no wait, and a failure is not retried.
                return self.enter_poll(now, env, out);
            }
            // Kafka fails the commit locally (CommitFailedException): the
            // consumer is no longer part of an active group.
            out.facts.push(Fact::CommitFailed {
                consumer: self.index,
                error: "not part of an active group (CommitFailedException)".into(),
            });
        }
        self.enter_poll(now, env, out);
    }

    /// The heartbeat thread's `max.poll.interval.ms` check.
    pub(super) fn poll_timeout_due(&mut self, now: Time, out: &mut ConsumerOutbox) {
        let deadline = self.poll.last_poll + self.group.max_poll_interval;
        if self.poll.in_poll {
            // Re-armed when the application next leaves poll().
        } else if now < deadline {
            let id = self.poll.poll_timeout.arm();
            out.timers.push((deadline, ConsumerTimer::PollTimeout(id)));
        } else {
            self.poll_timed_out(now, out);
        }
    }
}

/// On a crash mid-batch, the records processed before the crash (in fetch
/// order, pro rata of the elapsed time) count as processed.
pub(super) fn credit_partial_batch(
    consumer: usize,
    batch: &Batch,
    now: Time,
    out: &mut ConsumerOutbox,
) {
    let total: u64 = batch.ranges.iter().map(|(_, f, t)| t - f).sum();
    let span = batch.ends.since(batch.started).micros();
    let done = if span == 0 {
        total
    } else {
        (u128::from(total) * u128::from(now.since(batch.started).micros().min(span))
            / u128::from(span)) as u64
    };
    let mut left = done;
    for &(partition, from, to) in &batch.ranges {
        if left == 0 {
            break;
        }
        let take = (to - from).min(left);
        out.facts.push(Fact::Processed {
            consumer,
            partition,
            from,
            to: from + take,
            since: batch.started,
        });
        left -= take;
    }
}
