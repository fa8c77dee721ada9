//! Measurements of a run: sampled time series, exact integrals (time in
//! rebalance, unowned partition-seconds), and the event log.

mod availability;
mod coverage;
mod event_log;
mod ownership;

pub use availability::Availability;
pub use coverage::{Coverage, PartitionState, Window};
pub use event_log::{EventLog, LogRow, Namer, list_partitions};
pub use ownership::{OwnershipLog, OwnershipSpan};

use crate::events::{Fact, GroupState};
use crate::sim::{Duration, Time};
use serde::Serialize;

/// One row of `timeseries.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds since the start.
    pub time_s: f64,
    /// Records produced per second over the last interval.
    pub produced_per_s: f64,
    /// Records processed per second over the last interval (duplicates included).
    pub processed_per_s: f64,
    /// Sum over subscribed partitions of log-end offset minus committed offset.
    pub lag_total: u64,
    /// Largest single-partition lag.
    pub lag_max: u64,
    /// Records produced but never yet processed (nor skipped by a reset):
    /// the backlog, without the commit sawtooth of `lag_total`.
    pub backlog_total: u64,
    /// Subscribed partitions nobody holds.
    pub unowned_partitions: u64,
    /// Subscribed partitions held but not processed: the holder is paused
    /// or stalled, or crashed and not yet expired.
    pub stalled_partitions: u64,
    /// Subscribed partitions whose leader is unreachable: its broker is
    /// down, or a network cut separates it from the partition's holder (a
    /// broker or network problem; the partition may be owned all the same).
    pub unavailable_partitions: u64,
    /// Members in the group (coordinator's view).
    pub members: u64,
    /// Current generation.
    pub generation: i32,
    /// 1 while the group is rebalancing.
    pub rebalancing: u8,
    /// Records processed more than once so far.
    pub duplicates: u64,
    /// Records lost so far.
    pub lost: u64,
}

/// What the simulation measures at a sample point.
#[derive(Debug, Clone, Copy)]
pub struct SamplePoint {
    /// Total records produced to subscribed topics so far.
    pub produced: u64,
    /// Total records processed so far.
    pub processed: u64,
    /// Lag total.
    pub lag_total: u64,
    /// Lag max.
    pub lag_max: u64,
    /// Backlog total.
    pub backlog_total: u64,
    /// Group members.
    pub members: u64,
    /// Generation.
    pub generation: i32,
    /// Duplicates so far.
    pub duplicates: u64,
    /// Lost so far.
    pub lost: u64,
}

/// Running measurements.
#[derive(Debug)]
pub struct Metrics {
    samples: Vec<Sample>,
    last_point: Option<(Time, u64, u64)>,
    coverage: Coverage,
    availability: Availability,
    consumers: Vec<ConsumerStats>,
    state: GroupState,
    state_since: Time,
    rebalancing_micros: u64,
    /// Each rebalance (a generation formed, an epoch bumped), with its
    /// cause: the coordinator's reason for a bump,
    /// the open rebalance's for a generation.
    rebalance_causes: Vec<(Time, String)>,
    rebalance_spans: Vec<RebalanceRecord>,
    /// Records processed per sample interval, spread over each batch's
    /// processing time (so a slow batch is not a spike at its end), in
    /// units of 2^-32 record: integer sums do not depend on the order in
    /// which batches are added, which an engine running consumers ahead
    /// needs.
    processed_buckets: Vec<u128>,
    /// The last span spread that fell in one bucket, and that bucket: a
    /// batch's ranges all share their span, so only the first is located.
    last_single_bucket: Option<(Time, Time, usize)>,
    sample_interval: Duration,
    /// (time, consumer) of every `max.poll.interval.ms` expiry.
    poll_timeouts: Vec<(Time, usize)>,
    /// (time, consumer) of every exit on a fatal group error.
    fatal_exits: Vec<(Time, usize)>,
    zombie_records: u64,
    zombie_micros: u128,
    ownership: OwnershipLog,
}

impl Metrics {
    /// Measurements for partitions flagged by `subscribed` (dense indices)
    /// and `consumers` consumers.
    pub fn new(subscribed: Vec<bool>, consumers: usize, sample_interval: Duration) -> Self {
        let subscribed_len = subscribed.len();
        Metrics {
            samples: Vec::new(),
            last_point: None,
            availability: Availability::new(subscribed.clone()),
            coverage: Coverage::new(subscribed, consumers),
            consumers: vec![ConsumerStats::default(); consumers],
            state: GroupState::Empty,
            state_since: Time::ZERO,
            rebalancing_micros: 0,
            rebalance_causes: Vec::new(),
            rebalance_spans: Vec::new(),
            processed_buckets: Vec::new(),
            last_single_bucket: None,
            sample_interval,
            poll_timeouts: Vec::new(),
            fatal_exits: Vec::new(),
            zombie_records: 0,
            zombie_micros: 0,
            ownership: OwnershipLog::new(subscribed_len),
        }
    }

    /// Follows ownership and group state; `index_of` maps partitions to dense indices.
    pub fn observe(
        &mut self,
        now: Time,
        fact: &Fact,
        index_of: impl Fn(crate::assign::TopicPartition) -> usize,
    ) {
        match fact {
            Fact::PartitionsAssigned {
                partitions,
                consumer,
                ..
            } => {
                for &tp in partitions {
                    self.ownership.assigned(now, *consumer, index_of(tp));
                }
                self.coverage
                    .assigned(now, *consumer, partitions.iter().map(|&tp| index_of(tp)));
                self.consumers[*consumer].assigned(partitions.len());
            }
            Fact::PartitionsRevoked {
                partitions,
                consumer,
            }
            | Fact::PartitionsLost {
                partitions,
                consumer,
            } => {
                for &tp in partitions {
                    self.ownership.released(now, *consumer, index_of(tp));
                }
                self.coverage
                    .released(now, *consumer, partitions.iter().map(|&tp| index_of(tp)));
                self.consumers[*consumer].released(now, partitions.len());
            }
            Fact::PartitionsOrphaned {
                consumer,
                member,
                partitions,
            } => {
                let ps = partitions.iter().map(|&tp| index_of(tp)).collect();
                self.coverage.orphaned(now, *consumer, member, ps);
            }
            Fact::MemberRemoved { member, .. } | Fact::MemberReplaced { old: member, .. } => {
                self.coverage.member_gone(now, member)
            }
            Fact::ConsumerPaused { consumer, .. } => self.coverage.set_paused(now, *consumer, true),
            Fact::ConsumerResumed { consumer } => self.coverage.set_paused(now, *consumer, false),
            Fact::ConsumerStalled { consumer, .. } => {
                self.coverage.set_stalled(now, *consumer, true)
            }
            Fact::StallEnded { consumer } => self.coverage.set_stalled(now, *consumer, false),
            Fact::ConsumerStarted { consumer } => self.consumers[*consumer].started(now),
            Fact::ConsumerStopped { consumer, reason } => {
                if *reason == crate::events::StopReason::Fatal {
                    self.fatal_exits.push((now, *consumer));
                }
                self.coverage.set_paused(now, *consumer, false);
                self.coverage.set_stalled(now, *consumer, false);
                self.consumers[*consumer].stopped(now);
            }
            Fact::Consuming { consumer, .. } => self.consumers[*consumer].consuming(now),
            Fact::CommitFailed { consumer, .. } => self.consumers[*consumer].commits_failed += 1,
            Fact::StateChanged { state, reason, .. } => self.set_state(now, *state, reason),
            Fact::PollTimeout { consumer, .. } => self.poll_timeouts.push((now, *consumer)),
            // A rebalance is a new generation (a join phase that ends with
            // no members forms none), so the count holds for KIP-848
            // epochs too.
            Fact::GenerationStarted { .. } => {
                let open = self.rebalance_spans.last().filter(|r| r.end.is_none());
                let cause = open.map_or_else(String::new, |r| r.reason.clone());
                let at = open.map_or(now, |r| r.start);
                self.rebalance_causes.push((at, cause));
            }
            Fact::EpochBumped { reason, .. } => {
                self.rebalance_causes.push((now, reason.clone()));
            }
            _ => {}
        }
    }

    /// Counts `records` processed by `consumer` in a batch that ran from
    /// `since` to `now`, `duplicates` of them again.
    pub fn processed(
        &mut self,
        consumer: usize,
        records: u64,
        duplicates: u64,
        since: Time,
        now: Time,
    ) {
        let c = &mut self.consumers[consumer];
        c.records_processed += records;
        c.duplicates += duplicates;
        self.spread(records, since.min(now), now);
    }

    /// At the end of the run, a batch of `records` in progress from `since`
    /// until `ends`: the part already done by `now` counts in the
    /// processing rates (only there: nothing is processed before its
    /// batch ends), so the last sample shows no dip that did not happen.
    pub fn in_progress(&mut self, records: u64, since: Time, ends: Time, now: Time) {
        if since >= now || ends <= since || records == 0 {
            return;
        }
        let done = now.min(ends).since(since).micros();
        let share = u128::from(records) * u128::from(done) / u128::from(ends.since(since).micros());
        self.spread(share as u64, since, now.min(ends));
    }

    /// Adds `records` to the sample buckets overlapped by `[from, to]`,
    /// in proportion to the overlap. Inlined into the per-range path (one
    /// call per processed range), whatever else calls it.
    #[inline(always)]
    fn spread(&mut self, records: u64, from: Time, to: Time) {
        let units = u128::from(records) << BUCKET_FRACTION_BITS;
        if let Some((f, t, k)) = self.last_single_bucket {
            if (f, t) == (from, to) {
                self.processed_buckets[k] += units;
                return;
            }
        }
        let width = self.sample_interval.micros().max(1);
        let first = (from.micros() / width) as usize;
        let last = (to.micros() / width) as usize;
        if self.processed_buckets.len() <= last {
            self.processed_buckets.resize(last + 1, 0);
        }
        let span = to.since(from).micros();
        if span == 0 || first == last {
            self.processed_buckets[last] += units;
            self.last_single_bucket = Some((from, to, last));
            return;
        }
        for k in first..=last {
            let lo = (k as u64 * width).max(from.micros());
            let hi = ((k as u64 + 1) * width).min(to.micros());
            if hi > lo {
                // Each share rounded down: a batch may lose up to one unit
                // (2^-32 record) per bucket it spans.
                self.processed_buckets[k] += units * u128::from(hi - lo) / u128::from(span);
            }
        }
    }

    /// Seconds-based rates of processing per sample, from the buckets.
    fn spread_rates(&mut self) {
        let width = self.sample_interval.micros().max(1);
        for j in 1..self.samples.len() {
            let (prev, now) = (self.samples[j - 1].time_s, self.samples[j].time_s);
            let k = (libm::round(prev * 1e6) as u64 / width) as usize;
            let units = self.processed_buckets.get(k).copied().unwrap_or(0);
            let records = units as f64 / (1u64 << BUCKET_FRACTION_BITS) as f64;
            if now > prev {
                self.samples[j].processed_per_s = round3(records / (now - prev));
            }
        }
    }

    /// Partition `p` is now subscribed by some consumer, or no longer.
    pub fn set_subscribed(&mut self, now: Time, p: usize, subscribed: bool) {
        self.coverage.set_subscribed(now, p, subscribed);
        self.availability.set_subscribed(now, p, subscribed);
    }

    /// Partition `p`'s leader became unreachable, or reachable again.
    pub fn set_unavailable(&mut self, now: Time, p: usize, unavailable: bool) {
        self.availability.set_unavailable(now, p, unavailable);
    }

    /// Partition `p`'s holder can no longer reach its leader, or can again.
    pub fn set_cut_off(&mut self, now: Time, p: usize, cut_off: bool) {
        self.availability.set_cut_off(now, p, cut_off);
    }

    /// Partition-seconds during which subscribed partitions had no
    /// reachable leader, up to `now`.
    pub fn unavailable_partition_seconds(&self, now: Time) -> f64 {
        round3(self.availability.micros_at(now) as f64 / 1e6)
    }

    /// (time, consumer) of every exit on a fatal group error
    /// (FENCED_INSTANCE_ID, UNRELEASED_INSTANCE_ID, GROUP_ID_NOT_FOUND, ...).
    pub fn fatal_exits(&self) -> &[(Time, usize)] {
        &self.fatal_exits
    }

    /// (time, consumer) of every `max.poll.interval.ms` expiry.
    pub fn poll_timeouts(&self) -> &[(Time, usize)] {
        &self.poll_timeouts
    }

    /// A member the coordinator no longer counts (removed or replaced)
    /// processed `records` over `micros` of one partition.
    pub fn zombie(&mut self, records: u64, micros: u64) {
        self.zombie_records += records;
        self.zombie_micros += u128::from(micros);
    }

    /// Records processed by zombies, and their partition-seconds.
    pub fn zombie_totals(&self) -> (u64, f64) {
        (self.zombie_records, round3(self.zombie_micros as f64 / 1e6))
    }

    /// Per-consumer counters, by consumer index.
    pub fn consumer_stats(&self) -> &[ConsumerStats] {
        &self.consumers
    }

    /// What is happening to each partition now.
    pub fn coverage(&self) -> &Coverage {
        &self.coverage
    }

    fn is_rebalancing(state: GroupState) -> bool {
        matches!(
            state,
            GroupState::PreparingRebalance
                | GroupState::CompletingRebalance
                | GroupState::Assigning
                | GroupState::Reconciling
        )
    }

    fn set_state(&mut self, now: Time, state: GroupState, reason: &str) {
        let was = Self::is_rebalancing(self.state);
        let is = Self::is_rebalancing(state);
        if was {
            self.rebalancing_micros += now.since(self.state_since).micros();
        }
        if is && !was {
            self.coverage.open_window(now);
            self.rebalance_spans.push(RebalanceRecord {
                start: now,
                end: None,
                reason: reason.to_string(),
                partitions_stopped: 0,
                max_unowned: 0,
                unowned_micros: 0,
            });
        } else if was && !is {
            let cost = self.coverage.close_window(now);
            if let (Some(last), Some((window, during))) = (self.rebalance_spans.last_mut(), cost) {
                last.end = Some(now);
                last.partitions_stopped = window.stopped.len();
                last.max_unowned = window.max_unowned;
                last.unowned_micros = during;
            }
        }
        self.state = state;
        self.state_since = now;
    }

    /// Adds a row to the time series.
    pub fn sample(&mut self, now: Time, point: SamplePoint) {
        let (produced_per_s, processed_per_s) = match self.last_point {
            Some((t, produced, processed)) if now > t => {
                let secs = now.since(t).as_secs_f64();
                // `produced` counts the subscribed topics: it drops when a
                // `subscribe` drops the last subscriber of a topic.
                (
                    point.produced.saturating_sub(produced) as f64 / secs,
                    point.processed.saturating_sub(processed) as f64 / secs,
                )
            }
            _ => (0.0, 0.0),
        };
        self.last_point = Some((now, point.produced, point.processed));
        self.samples.push(Sample {
            time_s: now.as_secs_f64(),
            produced_per_s: round3(produced_per_s),
            processed_per_s: round3(processed_per_s),
            lag_total: point.lag_total,
            lag_max: point.lag_max,
            backlog_total: point.backlog_total,
            unowned_partitions: self.coverage.unowned(),
            stalled_partitions: self.coverage.stalled(),
            unavailable_partitions: self.availability.count(),
            members: point.members,
            generation: point.generation,
            rebalancing: u8::from(Self::is_rebalancing(self.state)),
            duplicates: point.duplicates,
            lost: point.lost,
        });
    }

    /// Closes the integrals at the end of the run.
    pub fn finish(&mut self, now: Time) {
        self.coverage.finish(now);
        for c in &mut self.consumers {
            c.stopped(now);
        }
        let state = self.state;
        self.set_state(now, state, "");
        if Self::is_rebalancing(state) {
            // Still rebalancing: close what it cost so far.
            if let (Some(last), Some((window, during))) = (
                self.rebalance_spans.last_mut(),
                self.coverage.close_window(now),
            ) {
                last.partitions_stopped = window.stopped.len();
                last.max_unowned = window.max_unowned;
                last.unowned_micros = during;
            }
        }
        self.spread_rates();
    }

    /// The time series.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Generations formed (rebalances that completed a join phase).
    pub fn rebalances(&self) -> u32 {
        self.rebalance_causes.len() as u32
    }

    /// Each rebalance of `rebalances()` with when its cause arose and the
    /// coordinator's reason.
    pub fn rebalance_causes(&self) -> &[(Time, String)] {
        &self.rebalance_causes
    }

    /// The group's state as last reported.
    pub fn group_state(&self) -> GroupState {
        self.state
    }

    /// Total time spent rebalancing.
    pub fn time_in_rebalance(&self) -> Duration {
        Duration(self.rebalancing_micros)
    }

    /// Partition-seconds during which subscribed partitions had no owner.
    pub fn unowned_partition_seconds(&self) -> f64 {
        round3(self.coverage.unowned_micros() as f64 / 1e6)
    }

    /// Partition-seconds during which subscribed partitions were held but
    /// not processed (paused or stalled holder, crashed member not yet
    /// expired).
    pub fn stalled_partition_seconds(&self) -> f64 {
        round3(self.coverage.stalled_micros() as f64 / 1e6)
    }

    /// Who owned which partition when.
    pub fn ownership(&self) -> &OwnershipLog {
        &self.ownership
    }

    /// Intervals during which the group was rebalancing (end `None`: still).
    pub fn rebalance_spans(&self) -> &[RebalanceRecord] {
        &self.rebalance_spans
    }
}

/// One rebalance: from entering PreparingRebalance until Stable or Empty,
/// and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct RebalanceRecord {
    /// When it began.
    pub start: Time,
    /// When it ended (`None`: still rebalancing at the end).
    pub end: Option<Time>,
    /// The coordinator's reason.
    pub reason: String,
    /// Partitions that stopped being processed at some point in it.
    pub partitions_stopped: usize,
    /// The most partitions unowned at once during it.
    pub max_unowned: u64,
    /// Unowned partition-microseconds during it.
    pub unowned_micros: u128,
}

/// What one consumer did over the run (`consumers.csv`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsumerStats {
    /// Record processings, duplicates included.
    pub records_processed: u64,
    /// Records it processed that had been processed before.
    pub duplicates: u64,
    /// Commits refused by the coordinator or failed locally.
    pub commits_failed: u64,
    /// Time its running process spent without consuming because of the
    /// group protocol: from start, or from giving up its last partition,
    /// until its positions were set again. A member that keeps some
    /// partitions through a rebalance (cooperative, KIP-848) keeps
    /// consuming them: no wait.
    pub rebalance_wait_micros: u64,
    running: bool,
    /// Partitions it holds (received and not yet given up).
    held: usize,
    waiting_since: Option<Time>,
}

impl ConsumerStats {
    fn started(&mut self, now: Time) {
        self.running = true;
        self.held = 0;
        self.waiting_since = Some(now);
    }

    fn assigned(&mut self, partitions: usize) {
        self.held += partitions;
    }

    fn released(&mut self, now: Time, partitions: usize) {
        // A stopped process's partitions are lost after it stopped (and
        // its count was reset): nothing to take away then.
        debug_assert!(
            !self.running || partitions <= self.held,
            "released more than it held"
        );
        self.held = self.held.saturating_sub(partitions);
        if self.running && self.held == 0 && self.waiting_since.is_none() {
            self.waiting_since = Some(now);
        }
    }

    fn consuming(&mut self, now: Time) {
        if let Some(since) = self.waiting_since.take() {
            self.rebalance_wait_micros += now.since(since).micros();
        }
    }

    fn stopped(&mut self, now: Time) {
        self.consuming(now);
        self.running = false;
        self.held = 0;
    }
}

/// Fractional bits of [`Metrics`]' processed buckets.
const BUCKET_FRACTION_BITS: u32 = 32;

/// Rounds to three decimals so printed floats stay short and stable.
pub fn round3(x: f64) -> f64 {
    libm::round(x * 1000.0) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(spreads: &[(u64, u64, u64)]) -> Vec<u128> {
        let mut m = Metrics::new(vec![true], 1, Duration::from_secs(1));
        for &(records, from, to) in spreads {
            m.spread(records, Time(from), Time(to));
        }
        m.processed_buckets
    }

    /// A batch over 0.5–2.5 s puts a quarter, a half and a quarter of its
    /// records in the three seconds; integer sums do not depend on the
    /// order in which batches are added.
    #[test]
    fn processed_records_are_spread_in_proportion_and_in_any_order() {
        let unit = 1u128 << BUCKET_FRACTION_BITS;
        assert_eq!(
            buckets(&[(8, 500_000, 2_500_000)]),
            vec![2 * unit, 4 * unit, 2 * unit]
        );
        let batches = [
            (7, 300_000, 1_700_000),
            (3, 900_000, 900_000),
            (5, 0, 2_999_999),
        ];
        let mut reversed = batches;
        reversed.reverse();
        assert_eq!(buckets(&batches), buckets(&reversed));
        let total: u128 = buckets(&batches).iter().sum();
        assert!(total <= 15 * unit && total + 6 >= 15 * unit, "{total}");
    }
}
