//! One consumer process on the classic protocol: the application's poll
//! loop (fetch up to `max.poll.records`, process, commit), the heartbeat
//! thread, `max.poll.interval.ms` enforcement, eager rebalancing
//! (commit, revoke everything, rejoin), and graceful close. Mirrors Apache
//! Kafka's `KafkaConsumer` / `ConsumerCoordinator` behaviour.

mod processing;
mod ready;

pub use processing::{batch_time, mean_time};
use ready::{NEVER, ReadyIndex};

use crate::assign::{Assignor, GroupSpec, MemberSpec, TopicPartition};
use crate::cluster::Cluster;
use crate::coordinator::protocol::{
    GroupError, JoinRequest, JoinResult, MemberAssignments, Request, Response,
};
use crate::events::{Fact, StopReason};
use crate::scenario::{CommitMode, ConsumerConfig, GroupConfig, OffsetReset};
use crate::sim::{Duration, SimRng, Time};
use std::sync::Arc;

/// Timers a consumer sets; stale ones are recognised by their token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerTimer {
    /// The application's blocked `poll()` wakes up (data or auto-commit due).
    Poll(u64),
    /// The batch being processed is done.
    BatchDone(u64),
    /// The heartbeat thread's next beat.
    Heartbeat(u64),
    /// `max.poll.interval.ms` since the last `poll()`.
    PollTimeout(u64),
}

/// What a consumer handler wants done.
#[derive(Debug, Default)]
pub struct ConsumerOutbox {
    /// Requests to the coordinator, in order.
    pub requests: Vec<Request>,
    /// Timers to set.
    pub timers: Vec<(Time, ConsumerTimer)>,
    /// Facts to report.
    pub facts: Vec<Fact>,
}

/// What a consumer may read of the world.
pub struct ConsumerEnv<'a> {
    /// Topics and log-end offsets.
    pub cluster: &'a Cluster,
    /// The assignor the leader runs.
    pub assignor: &'a dyn Assignor,
    /// One-way network latency (for fetch wake-ups).
    pub latency: Duration,
}

/// Where the member is in the group protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Process not running.
    Down,
    /// Running, not in the group.
    Unjoined,
    /// onJoinPrepare: the commit before revoking is in flight.
    Revoking(u64),
    /// JoinGroup in flight.
    Joining,
    /// SyncGroup in flight.
    Syncing,
    /// OffsetFetch for the new assignment in flight.
    Fetching(u64),
    /// Member of the current generation with positions for its partitions.
    Stable,
    /// Graceful close: final commit in flight.
    Closing(u64),
}

#[derive(Debug, Clone)]
struct Batch {
    /// (dense partition, from, to) in fetch order.
    ranges: Vec<(usize, u64, u64)>,
    started: Time,
    ends: Time,
}

/// One consumer process.
pub struct Consumer {
    index: usize,
    config: ConsumerConfig,
    group: Arc<GroupConfig>,
    subscription: crate::assign::Subscription,
    /// Send the last assignment in the subscription's user data (sticky).
    remembers_assignment: bool,
    /// The last assignment received and its generation.
    last_assignment: (Vec<TopicPartition>, i32),
    rng: SimRng,
    phase: Phase,
    member_id: String,
    generation: i32,
    rejoin_needed: bool,
    /// Assigned partitions (sorted), their dense indices, and the
    /// position of each (empty until the committed offsets are fetched).
    assigned: Vec<TopicPartition>,
    indices: Vec<usize>,
    positions: Vec<u64>,
    /// Which positions have records to fetch (built with the positions).
    ready: ReadyIndex,
    /// (topic, first, end) ranges of `assigned`, which is sorted by topic.
    topic_ranges: Vec<(u32, usize, usize)>,
    cursor: usize,
    in_poll: bool,
    last_poll: Time,
    batch: Option<Batch>,
    batch_commit: Option<u64>,
    closing: bool,
    stall_debt: Duration,
    next_auto_commit: Time,
    heartbeat_sent_for: Option<(String, i32)>,
    token: u64,
    poll_token: u64,
    batch_token: u64,
    heartbeat_token: u64,
    /// (member id, generation) each in-flight commit was sent with.
    commits_in_flight: std::collections::BTreeMap<u64, (String, i32)>,
    /// A `PollTimeout` timer is pending (one at a time; it re-arms itself
    /// lazily when polls moved the deadline).
    poll_timeout_armed: bool,
}

impl Consumer {
    /// A stopped consumer; `subscription` holds topic ids.
    pub fn new(
        index: usize,
        config: ConsumerConfig,
        group: Arc<GroupConfig>,
        subscription: crate::assign::Subscription,
        remembers_assignment: bool,
        rng: SimRng,
    ) -> Self {
        Consumer {
            index,
            config,
            group,
            subscription,
            remembers_assignment,
            last_assignment: (Vec::new(), -1),
            rng,
            phase: Phase::Down,
            member_id: String::new(),
            generation: -1,
            rejoin_needed: false,
            assigned: Vec::new(),
            indices: Vec::new(),
            positions: Vec::new(),
            ready: ReadyIndex::default(),
            topic_ranges: Vec::new(),
            cursor: 0,
            in_poll: false,
            last_poll: Time::ZERO,
            batch: None,
            batch_commit: None,
            closing: false,
            stall_debt: Duration::ZERO,
            next_auto_commit: Time::ZERO,
            heartbeat_sent_for: None,
            token: 0,
            poll_token: 0,
            batch_token: 0,
            heartbeat_token: 0,
            poll_timeout_armed: false,
            commits_in_flight: std::collections::BTreeMap::new(),
        }
    }

    /// The consumer's name (`client.id`).
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// True while the process runs.
    pub fn is_running(&self) -> bool {
        self.phase != Phase::Down
    }

    /// True when the member holds its partitions of the current generation
    /// and is consuming them.
    pub fn is_stable(&self) -> bool {
        self.phase == Phase::Stable && !self.rejoin_needed
    }

    /// Member id, empty when not in the group.
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// Generation the member believes in (-1 when none).
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// Partitions the consumer currently owns.
    pub fn assigned(&self) -> &[TopicPartition] {
        &self.assigned
    }

    /// Drops the assignment and everything kept per partition.
    fn take_assignment(&mut self) -> Vec<TopicPartition> {
        self.indices.clear();
        self.clear_positions();
        std::mem::take(&mut self.assigned)
    }

    fn next_token(&mut self) -> u64 {
        self.token += 1;
        self.token
    }

    fn is_static(&self) -> bool {
        self.config.instance_id.is_some()
    }

    // ----- process life cycle -------------------------------------------

    /// Starts the process: it calls `poll()` at once and joins the group.
    pub fn start(&mut self, now: Time, env: &ConsumerEnv<'_>, out: &mut ConsumerOutbox) {
        self.phase = Phase::Unjoined;
        self.member_id.clear();
        self.generation = -1;
        self.rejoin_needed = true;
        self.take_assignment();
        self.last_assignment = (Vec::new(), -1);
        self.batch = None;
        self.batch_commit = None;
        self.closing = false;
        self.heartbeat_sent_for = None;
        self.poll_timeout_armed = false;
        self.stall_debt = Duration::ZERO;
        self.cursor = 0;
        self.commits_in_flight.clear();
        if let CommitMode::Auto { interval } = self.group.commit {
            self.next_auto_commit = now + interval;
        }
        out.facts.push(Fact::ConsumerStarted {
            consumer: self.index,
        });
        self.heartbeat_token += 1;
        out.timers.push((
            now + self.group.heartbeat_interval,
            ConsumerTimer::Heartbeat(self.heartbeat_token),
        ));
        self.enter_poll(now, env, out);
    }

    /// Kills the process: records of the batch in progress that were
    /// already processed count as processed; nothing is committed.
    pub fn crash(&mut self, now: Time, out: &mut ConsumerOutbox) {
        if let Some(batch) = self.batch.take() {
            credit_partial_batch(self.index, &batch, now, out);
        }
        self.stop(StopReason::Crash, out);
    }

    /// The process ends: it is logged as stopped first, then what it still
    /// held is lost. A member of a generation keeps its partitions in the
    /// coordinator until its session expires (or, static, until it is
    /// replaced): they are orphaned, not free.
    fn stop(&mut self, reason: StopReason, out: &mut ConsumerOutbox) {
        out.facts.push(Fact::ConsumerStopped {
            consumer: self.index,
            reason,
        });
        let member = self.member_id.clone();
        let in_generation = self.generation >= 0 && !member.is_empty();
        if !self.assigned.is_empty() {
            let partitions = self.take_assignment();
            if in_generation && reason == StopReason::Crash {
                out.facts.push(Fact::PartitionsOrphaned {
                    consumer: self.index,
                    member,
                    partitions: partitions.clone(),
                });
            }
            out.facts.push(Fact::PartitionsLost {
                consumer: self.index,
                partitions,
            });
        }
        self.clear_positions();
        self.batch = None;
        self.phase = Phase::Down;
        self.in_poll = false;
    }

    /// Asks the application to shut down cleanly: it finishes its batch,
    /// commits (as configured), revokes, and leaves the group.
    pub fn request_close(&mut self, now: Time, out: &mut ConsumerOutbox) {
        self.closing = true;
        if self.in_poll {
            self.begin_close(now, out);
        }
    }

    /// The process stalls until `until`: the batch in progress finishes
    /// that much later.
    pub fn pause(&mut self, now: Time, until: Time, out: &mut ConsumerOutbox) {
        if let Some(batch) = &mut self.batch {
            batch.ends += until.since(now);
            self.batch_token += 1;
            out.timers
                .push((batch.ends, ConsumerTimer::BatchDone(self.batch_token)));
        }
    }

    /// The application thread blocks for `duration` (the heartbeat thread
    /// does not): the current batch, or the next one, takes that much longer.
    pub fn stall(&mut self, now: Time, duration: Duration, out: &mut ConsumerOutbox) {
        if let Some(batch) = &mut self.batch {
            batch.ends += duration;
            self.batch_token += 1;
            out.timers
                .push((batch.ends, ConsumerTimer::BatchDone(self.batch_token)));
        } else if self.in_poll && self.phase != Phase::Down {
            self.start_batch(now, Vec::new(), duration, out);
        } else {
            self.stall_debt = self.stall_debt + duration;
        }
    }

    /// The application leaves `poll()` with `ranges` to process for `took`.
    fn start_batch(
        &mut self,
        now: Time,
        ranges: Vec<(usize, u64, u64)>,
        took: Duration,
        out: &mut ConsumerOutbox,
    ) {
        let took = took + std::mem::take(&mut self.stall_debt);
        let batch = Batch {
            ranges,
            started: now,
            ends: now + took,
        };
        self.batch_token += 1;
        out.timers
            .push((batch.ends, ConsumerTimer::BatchDone(self.batch_token)));
        self.batch = Some(batch);
        self.in_poll = false;
        self.last_poll = now;
        if !self.poll_timeout_armed {
            self.poll_timeout_armed = true;
            out.timers.push((
                now + self.group.max_poll_interval,
                ConsumerTimer::PollTimeout(0),
            ));
        }
    }

    fn begin_close(&mut self, now: Time, out: &mut ConsumerOutbox) {
        self.in_poll = false;
        let in_group = self.generation >= 0 && !self.member_id.is_empty();
        if in_group
            && self.phase == Phase::Stable
            && self.commits_before_revoke()
            && !self.assigned.is_empty()
        {
            let token = self.send_commit(out);
            self.phase = Phase::Closing(token);
            return;
        }
        self.finish_close(now, out);
    }

    fn finish_close(&mut self, _now: Time, out: &mut ConsumerOutbox) {
        let in_group = self.generation >= 0 && !self.member_id.is_empty();
        if in_group && self.is_static() && !self.assigned.is_empty() {
            // No LeaveGroup: the coordinator keeps the member and its
            // partitions until the session expires or the instance returns.
            out.facts.push(Fact::PartitionsOrphaned {
                consumer: self.index,
                member: self.member_id.clone(),
                partitions: self.assigned.clone(),
            });
        }
        if in_group {
            self.revoke_all(out);
        }
        if !self.member_id.is_empty() && !self.is_static() {
            // KIP-345: static members do not send LeaveGroup on close.
            out.requests.push(Request::Leave {
                member_id: self.member_id.clone(),
            });
        }
        self.stop(StopReason::Graceful, out);
    }

    fn commits_before_revoke(&self) -> bool {
        matches!(self.group.commit, CommitMode::Auto { .. }) || self.group.commit_on_revoke
    }

    // ----- the application's poll loop ------------------------------------

    fn enter_poll(&mut self, now: Time, env: &ConsumerEnv<'_>, out: &mut ConsumerOutbox) {
        self.in_poll = true;
        if self.stall_debt > Duration::ZERO {
            return self.start_batch(now, Vec::new(), Duration::ZERO, out);
        }
        self.drive_poll(now, env, out);
    }

    /// The body of `poll()`: called when the application enters it and
    /// whenever something happens while it is blocked inside.
    fn drive_poll(&mut self, now: Time, env: &ConsumerEnv<'_>, out: &mut ConsumerOutbox) {
        if !self.in_poll || self.phase == Phase::Down {
            return;
        }
        self.last_poll = now;
        if self.closing {
            return self.begin_close(now, out);
        }
        match self.phase {
            Phase::Unjoined => self.prepare_join(now, out),
            Phase::Stable if self.rejoin_needed => self.prepare_join(now, out),
            Phase::Stable => {
                self.maybe_auto_commit(now, out);
                self.fetch_or_wait(now, env, out);
            }
            _ => {} // waiting for a response
        }
    }

    fn maybe_auto_commit(&mut self, now: Time, out: &mut ConsumerOutbox) {
        if let CommitMode::Auto { interval } = self.group.commit {
            if now >= self.next_auto_commit {
                self.next_auto_commit = now + interval;
                if !self.assigned.is_empty() && self.in_active_group() {
                    self.send_commit(out);
                }
            }
        }
    }

    fn fetch_or_wait(&mut self, now: Time, env: &ConsumerEnv<'_>, out: &mut ConsumerOutbox) {
        let n = self.assigned.len();
        debug_assert_eq!(self.ready.len(), n, "positions are set when consuming");
        let mut remaining = u64::from(self.group.max_poll_records);
        let mut ranges = Vec::new();
        let mut last = None;
        // Partitions in round-robin order from the cursor, as Kafka's fetcher
        // rotates them; each is read at most once per poll.
        'scan: for (lo, hi) in [(self.cursor, n), (0, self.cursor)] {
            for k in 0..self.topic_ranges.len() {
                let (topic, first, end) = self.topic_ranges[k];
                let (mut from, to) = (first.max(lo), end.min(hi));
                if from >= to {
                    continue;
                }
                let visible = env.cluster.visible_records(topic, now);
                while let Some(i) = self.ready.first_ready(from, to, visible) {
                    let tp = self.assigned[i];
                    let leo = env.cluster.share_of(topic, tp.partition, visible);
                    let pos = self.positions[i];
                    debug_assert!(leo > pos, "a ready partition has records");
                    let take = (leo - pos).min(remaining);
                    ranges.push((self.indices[i], pos, pos + take));
                    self.set_position(i, pos + take, env);
                    remaining -= take;
                    last = Some(i);
                    if remaining == 0 {
                        break 'scan;
                    }
                    from = i + 1;
                }
            }
        }
        if let Some(i) = last {
            self.cursor = (i + 1) % n.max(1);
            let records = u64::from(self.group.max_poll_records) - remaining;
            let took = batch_time(&self.config.processing, records as u32, &mut self.rng);
            self.start_batch(now, ranges, took, out);
            return;
        }
        // Nothing to read: block until data arrives or auto-commit is due.
        let mut wake: Option<Time> = None;
        for &(topic, first, end) in &self.topic_ranges {
            // The partition of the topic whose next record comes first.
            let needed = self.ready.min_key(first, end);
            if let Some(t) = env.cluster.time_when_visible(topic, needed) {
                let t = t + env.latency;
                wake = Some(wake.map_or(t, |w| w.min(t)));
            }
        }
        if let (CommitMode::Auto { .. }, false) = (self.group.commit, self.assigned.is_empty()) {
            wake = Some(wake.map_or(self.next_auto_commit, |w| w.min(self.next_auto_commit)));
        }
        if let Some(at) = wake {
            self.poll_token += 1;
            out.timers
                .push((at.max(now), ConsumerTimer::Poll(self.poll_token)));
        }
    }

    /// The topic-wide record count at which partition `i` (of `assigned`)
    /// has a record at `position`.
    fn ready_key(&self, i: usize, position: u64, env: &ConsumerEnv<'_>) -> u64 {
        let tp = self.assigned[i];
        env.cluster
            .records_needed(tp.topic, tp.partition, position)
            .unwrap_or(NEVER)
    }

    fn set_position(&mut self, i: usize, position: u64, env: &ConsumerEnv<'_>) {
        self.positions[i] = position;
        let key = self.ready_key(i, position, env);
        self.ready.set(i, key);
    }

    /// Installs the positions of the assigned partitions (in order).
    fn set_positions(&mut self, positions: Vec<u64>, env: &ConsumerEnv<'_>) {
        debug_assert_eq!(positions.len(), self.assigned.len());
        self.positions = positions;
        let keys: Vec<u64> = (0..self.assigned.len())
            .map(|i| self.ready_key(i, self.positions[i], env))
            .collect();
        self.ready = ReadyIndex::new(keys.into_iter());
        self.topic_ranges.clear();
        let mut first = 0;
        for i in 1..=self.assigned.len() {
            if i == self.assigned.len() || self.assigned[i].topic != self.assigned[first].topic {
                self.topic_ranges
                    .push((self.assigned[first].topic, first, i));
                first = i;
            }
        }
    }

    fn clear_positions(&mut self) {
        self.positions.clear();
        self.ready = ReadyIndex::default();
        self.topic_ranges.clear();
    }

    fn batch_done(&mut self, now: Time, env: &ConsumerEnv<'_>, out: &mut ConsumerOutbox) {
        let Some(batch) = self.batch.take() else {
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
        if self.group.commit == CommitMode::Sync && !self.assigned.is_empty() {
            if self.in_active_group() {
                let token = self.send_commit(out);
                self.batch_commit = Some(token);
                return;
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

    // ----- group membership -----------------------------------------------

    /// onJoinPrepare: commit (auto-commit, or the revoke callback), revoke
    /// everything (eager), then send JoinGroup.
    fn prepare_join(&mut self, now: Time, out: &mut ConsumerOutbox) {
        let in_group = self.generation >= 0 && !self.member_id.is_empty();
        if in_group && !self.assigned.is_empty() {
            if self.commits_before_revoke() {
                let token = self.send_commit(out);
                self.phase = Phase::Revoking(token);
                return;
            }
            self.revoke_all(out);
        } else if !self.assigned.is_empty() {
            // The generation is gone (fenced, poll timeout): partitions are
            // lost, not revoked, and nothing can be committed.
            out.facts.push(Fact::PartitionsLost {
                consumer: self.index,
                partitions: self.take_assignment(),
            });
        }
        self.send_join(now, out);
    }

    fn revoke_all(&mut self, out: &mut ConsumerOutbox) {
        if !self.assigned.is_empty() {
            out.facts.push(Fact::PartitionsRevoked {
                consumer: self.index,
                partitions: self.take_assignment(),
            });
        }
    }

    fn send_join(&mut self, _now: Time, out: &mut ConsumerOutbox) {
        self.rejoin_needed = false;
        self.phase = Phase::Joining;
        let metadata = MemberSpec {
            id: self.member_id.clone(),
            instance_id: self.config.instance_id.clone(),
            rack: self.config.rack.clone(),
            topics: self.subscription.clone(),
            // Eager members revoked everything; sticky's user data still
            // carries the last assignment and its generation.
            owned: if self.remembers_assignment {
                self.last_assignment.0.clone()
            } else {
                self.assigned.clone()
            },
            generation: Some(if self.remembers_assignment {
                self.last_assignment.1
            } else {
                self.generation
            }),
        };
        out.requests.push(Request::Join(JoinRequest {
            member_id: self.member_id.clone(),
            client_id: self.config.name.clone(),
            instance_id: self.config.instance_id.clone(),
            metadata,
            protocol: self.group.assignor.as_str().to_string(),
            session_timeout: self.group.session_timeout,
            rebalance_timeout: self.group.rebalance_timeout,
        }));
    }

    /// Kafka's `generationIfStable() != null`: commits are only sent by a
    /// member that completed its last rebalance.
    fn in_active_group(&self) -> bool {
        self.generation >= 0
            && !self.member_id.is_empty()
            && matches!(
                self.phase,
                Phase::Stable | Phase::Fetching(_) | Phase::Revoking(_) | Phase::Closing(_)
            )
    }

    fn send_commit(&mut self, out: &mut ConsumerOutbox) -> u64 {
        let token = self.next_token();
        self.commits_in_flight
            .insert(token, (self.member_id.clone(), self.generation));
        out.requests.push(Request::Commit {
            member_id: self.member_id.clone(),
            generation: self.generation,
            instance_id: self.config.instance_id.clone(),
            offsets: self
                .indices
                .iter()
                .copied()
                .zip(self.positions.iter().copied())
                .collect(),
            token,
        });
        token
    }

    fn reset_generation(&mut self, reset_member_id: bool) {
        self.generation = -1;
        if reset_member_id {
            self.member_id.clear();
        }
        self.rejoin_needed = true;
    }

    /// Kafka's reaction to a group error: a fenced instance ends the
    /// process (false); otherwise the member drops what the error
    /// invalidated and will rejoin.
    fn react_to(&mut self, error: GroupError, out: &mut ConsumerOutbox) -> bool {
        match error {
            GroupError::FencedInstanceId => {
                self.fatal(error, out);
                return false;
            }
            GroupError::RebalanceInProgress => self.rejoin_needed = true,
            GroupError::IllegalGeneration => self.reset_generation(false),
            GroupError::UnknownMemberId => self.reset_generation(true),
        }
        true
    }

    /// A JoinGroup or SyncGroup failed: react, then join again at once
    /// (the member is inside `poll()` waiting for the rebalance).
    fn rejoin_after(&mut self, error: GroupError, now: Time, out: &mut ConsumerOutbox) {
        if self.react_to(error, out) {
            self.send_join(now, out);
        }
    }

    fn fatal(&mut self, error: GroupError, out: &mut ConsumerOutbox) {
        out.facts.push(Fact::RejoinNeeded {
            consumer: self.index,
            cause: format!("{error}: the application gets an exception and exits"),
        });
        self.batch = None;
        self.stop(StopReason::Crash, out);
    }

    // ----- events -----------------------------------------------------------

    /// Handles a timer.
    pub fn on_timer(
        &mut self,
        now: Time,
        timer: ConsumerTimer,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if self.phase == Phase::Down {
            return;
        }
        match timer {
            ConsumerTimer::Poll(t) if t == self.poll_token => self.drive_poll(now, env, out),
            ConsumerTimer::BatchDone(t) if t == self.batch_token => self.batch_done(now, env, out),
            ConsumerTimer::Heartbeat(t) if t == self.heartbeat_token => {
                let joined = matches!(
                    self.phase,
                    Phase::Syncing | Phase::Fetching(_) | Phase::Stable | Phase::Revoking(_)
                );
                if joined && self.generation >= 0 && !self.member_id.is_empty() {
                    self.heartbeat_sent_for = Some((self.member_id.clone(), self.generation));
                    out.requests.push(Request::Heartbeat {
                        member_id: self.member_id.clone(),
                        instance_id: self.config.instance_id.clone(),
                        generation: self.generation,
                    });
                }
                out.timers.push((
                    now + self.group.heartbeat_interval,
                    ConsumerTimer::Heartbeat(t),
                ));
            }
            ConsumerTimer::PollTimeout(_) => {
                self.poll_timeout_armed = false;
                let deadline = self.last_poll + self.group.max_poll_interval;
                if self.in_poll {
                    // Re-armed when the application next leaves poll().
                } else if now < deadline {
                    self.poll_timeout_armed = true;
                    out.timers.push((deadline, ConsumerTimer::PollTimeout(0)));
                } else {
                    self.poll_timed_out(now, out);
                }
            }
            _ => {}
        }
    }

    fn poll_timed_out(&mut self, now: Time, out: &mut ConsumerOutbox) {
        let in_group =
            !self.member_id.is_empty() && !matches!(self.phase, Phase::Unjoined | Phase::Joining);
        if !in_group {
            // The heartbeat thread checks again once the member is back in
            // a generation (Kafka re-checks whenever it is enabled).
            if self.phase != Phase::Unjoined {
                self.poll_timeout_armed = true;
                out.timers.push((
                    now + self.group.heartbeat_interval,
                    ConsumerTimer::PollTimeout(0),
                ));
            }
            return;
        }
        out.facts.push(Fact::PollTimeout {
            consumer: self.index,
            gap_ms: now.since(self.last_poll).millis(),
        });
        if !self.is_static() {
            out.requests.push(Request::Leave {
                member_id: self.member_id.clone(),
            });
        }
        // The heartbeat thread resets the generation and member id; the
        // application finds out at its next poll (partitions lost).
        self.reset_generation(true);
        self.phase = Phase::Unjoined;
    }

    /// Handles a response from the coordinator.
    pub fn on_response(
        &mut self,
        now: Time,
        response: Response,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if self.phase == Phase::Down {
            return;
        }
        match response {
            Response::Join(result) => self.on_join(now, result, env, out),
            Response::MemberIdRequired { member_id } => {
                self.on_member_id_required(now, member_id, out)
            }
            Response::Sync(result) => self.on_sync(now, result, env, out),
            Response::Heartbeat(result) => self.on_heartbeat(now, result, env, out),
            Response::Commit { token, result } => self.on_commit(now, token, result, env, out),
            Response::Fetch { token, offsets } => self.on_fetch(now, token, offsets, env, out),
        }
    }

    fn on_join(
        &mut self,
        now: Time,
        result: Result<JoinResult, GroupError>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if self.phase != Phase::Joining {
            return;
        }
        let joined = match result {
            Ok(r) => r,
            Err(e) => return self.rejoin_after(e, now, out),
        };
        self.member_id = joined.member_id.clone();
        self.generation = joined.generation;
        let assignment = match (&joined.members, joined.skip_assignment) {
            (Some(members), false) => Some(self.compute_assignment(&joined, members, env, out)),
            _ => None,
        };
        self.phase = Phase::Syncing;
        out.requests.push(Request::Sync {
            member_id: self.member_id.clone(),
            instance_id: self.config.instance_id.clone(),
            generation: self.generation,
            assignment,
        });
    }

    /// AbstractCoordinator.JoinGroupResponseHandler on MEMBER_ID_REQUIRED:
    /// take the id (generation stays -1) and send JoinGroup again at once,
    /// without a second onJoinPrepare.
    fn on_member_id_required(&mut self, now: Time, member_id: String, out: &mut ConsumerOutbox) {
        if self.phase != Phase::Joining {
            return;
        }
        self.member_id = member_id;
        self.generation = -1;
        self.send_join(now, out);
    }

    fn compute_assignment(
        &mut self,
        joined: &JoinResult,
        members: &Arc<Vec<MemberSpec>>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) -> MemberAssignments {
        let group = Arc::new(GroupSpec {
            topics: env.cluster.topic_specs(),
            members: members.as_ref().clone(),
        });
        let assignment = Arc::new(env.assignor.assign(&group));
        out.facts.push(Fact::AssignmentComputed {
            generation: joined.generation,
            leader: joined.member_id.clone(),
            group: group.clone(),
            assignment: assignment.clone(),
        });
        // A custom assignor may return partitions that do not exist, or
        // too few or too many member lists. Kafka's client would fail on
        // such an assignment; the simulator reports it as invariant 1
        // (from the fact above) and carries on with what is valid: unknown
        // partitions are dropped, lists beyond the members ignored (zip),
        // missing ones mean no partitions, a partition listed twice for
        // one member is kept once.
        let per_member = group
            .members
            .iter()
            .zip(&assignment.per_member)
            .map(|(m, parts)| {
                let mut valid: Vec<TopicPartition> = parts
                    .iter()
                    .copied()
                    .filter(|&tp| env.cluster.contains(tp))
                    .collect();
                valid.sort_unstable();
                valid.dedup();
                (m.id.clone(), valid)
            })
            .collect();
        Arc::new(per_member)
    }

    fn on_sync(
        &mut self,
        now: Time,
        result: Result<Vec<TopicPartition>, GroupError>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if self.phase != Phase::Syncing {
            return;
        }
        let partitions = match result {
            Ok(p) => p,
            Err(e) => return self.rejoin_after(e, now, out),
        };
        self.assigned = partitions;
        self.assigned.sort_unstable();
        self.last_assignment = (self.assigned.clone(), self.generation);
        self.indices = self
            .assigned
            .iter()
            .map(|&tp| env.cluster.index_of(tp))
            .collect();
        self.clear_positions();
        self.cursor = 0;
        out.facts.push(Fact::PartitionsAssigned {
            consumer: self.index,
            generation: self.generation,
            partitions: self.assigned.clone(),
        });
        let token = self.next_token();
        self.phase = Phase::Fetching(token);
        out.requests.push(Request::Fetch {
            partitions: self.indices.clone(),
            token,
        });
    }

    fn on_fetch(
        &mut self,
        now: Time,
        token: u64,
        offsets: Vec<(usize, Option<u64>)>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if self.phase != Phase::Fetching(token) {
            return;
        }
        let positions: Vec<u64> = self
            .assigned
            .iter()
            .zip(offsets)
            .map(|(&tp, (partition, committed))| {
                committed.unwrap_or_else(|| {
                    let position = match self.group.auto_offset_reset {
                        OffsetReset::Earliest => 0,
                        OffsetReset::Latest => env.cluster.log_end_offset(tp, now),
                    };
                    out.facts.push(Fact::OffsetReset {
                        consumer: self.index,
                        partition,
                        position,
                    });
                    position
                })
            })
            .collect();
        self.set_positions(positions, env);
        self.phase = Phase::Stable;
        let resets = out
            .facts
            .iter()
            .filter(|f| matches!(f, Fact::OffsetReset { .. }))
            .count();
        out.facts.push(Fact::Consuming {
            consumer: self.index,
            partitions: self.assigned.len(),
            resets,
        });
        self.drive_poll(now, env, out);
    }

    fn on_heartbeat(
        &mut self,
        now: Time,
        result: Result<(), GroupError>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        let sent_for = self.heartbeat_sent_for.take();
        let current = (self.member_id.clone(), self.generation);
        if sent_for.as_ref() != Some(&current)
            || matches!(self.phase, Phase::Joining | Phase::Unjoined)
        {
            return; // an answer about a generation we already left
        }
        let Err(error) = result else {
            return;
        };
        if !self.react_to(error, out) {
            return;
        }
        out.facts.push(Fact::RejoinNeeded {
            consumer: self.index,
            cause: format!("heartbeat: {error}"),
        });
        if self.in_poll {
            self.drive_poll(now, env, out);
        }
    }

    fn on_commit(
        &mut self,
        now: Time,
        token: u64,
        result: Result<(), GroupError>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        let sent_for = self.commits_in_flight.remove(&token);
        if let Err(error) = result {
            out.facts.push(Fact::CommitFailed {
                consumer: self.index,
                error: error.name().to_string(),
            });
            // Like Kafka, an error about a generation the member has since
            // left does not reset the newer one.
            let current = sent_for.as_ref() == Some(&(self.member_id.clone(), self.generation));
            // FENCED_INSTANCE_ID is fatal only for the generation it was
            // sent in (CC.OffsetCommitResponseHandler: generationUnchanged).
            let about_generation = matches!(
                error,
                GroupError::IllegalGeneration
                    | GroupError::UnknownMemberId
                    | GroupError::FencedInstanceId
            );
            if (current || !about_generation) && !self.react_to(error, out) {
                return;
            }
        }
        match self.phase {
            Phase::Revoking(t) if t == token => {
                // onJoinPrepare looks at the generation after the commit:
                // gone means the partitions are lost, not revoked.
                if self.generation >= 0 && !self.member_id.is_empty() {
                    self.revoke_all(out);
                } else if !self.assigned.is_empty() {
                    out.facts.push(Fact::PartitionsLost {
                        consumer: self.index,
                        partitions: self.take_assignment(),
                    });
                }
                self.send_join(now, out);
            }
            Phase::Closing(t) if t == token => self.finish_close(now, out),
            _ if self.batch_commit == Some(token) => {
                self.batch_commit = None;
                self.in_poll = true;
                self.drive_poll(now, env, out);
            }
            _ => {}
        }
    }
}

/// On a crash mid-batch, the records processed before the crash (in fetch
/// order, pro rata of the elapsed time) count as processed.
fn credit_partial_batch(consumer: usize, batch: &Batch, now: Time, out: &mut ConsumerOutbox) {
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
