//! One consumer process on the classic protocol, as Apache Kafka's
//! `KafkaConsumer` / `ConsumerCoordinator` run it, in parts with one job
//! each:
//! - [`poll`]: the application's poll loop (batches, stalls,
//!   `max.poll.interval.ms`);
//! - [`owned`]: the partitions it owns, each with its position;
//! - [`commits`]: auto, sync, before-revoke and close commits;
//! - [`membership`] and [`rebalance`]: the group protocol (eager
//!   rebalancing), with named member states;
//! - this file: the process's life (start, crash, close) and the dispatch
//!   of timers and responses.
//!
//! A start builds the process's state anew; only the processing-time
//! random stream carries over.

mod commits;
pub mod membership;
mod modern;
mod owned;
mod poll;
mod processing;
mod ready;
mod rebalance;
pub mod requests;

pub use processing::{batch_time, mean_time};

use crate::assign::{AssignorName, AssignorSet, TopicPartition};
use crate::cluster::Cluster;
use crate::coordinator::protocol::{GroupError, MemberId, Request, Response};
use crate::events::{Fact, StopReason};
use crate::scenario::{ConsumerConfig, GroupConfig, GroupProtocol};
use crate::sim::{Duration, SimRng, Time, Timer, TimerId};
use commits::Commits;
use membership::{ClassicMember, MemberState, ModernMember};
use owned::OwnedPartitions;
use poll::{PollLoop, credit_partial_batch};
use std::sync::Arc;

/// Timers a consumer sets; each carries the id of its arming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerTimer {
    /// The application's blocked `poll()` wakes up (data or auto-commit due).
    Poll(TimerId),
    /// The batch being processed is done.
    BatchDone(TimerId),
    /// The heartbeat thread's next beat.
    Heartbeat(TimerId),
    /// `max.poll.interval.ms` since the last `poll()`.
    PollTimeout(TimerId),
    /// The coordinator link sends a held request or looks again.
    Link(TimerId),
    /// A request in flight may have passed its `request.timeout.ms`.
    RequestTimeout(TimerId),
    /// `close()`'s timeout: the process stops even if its last requests
    /// were never answered.
    CloseTimeout(TimerId),
    /// `metadata.max.age.ms` since the last metadata refresh.
    MetadataRefresh(TimerId),
}

/// `KafkaConsumer.close()` waits at most this long for its final commit
/// and leave (`DEFAULT_CLOSE_TIMEOUT_MS`, 30 s).
pub const CLOSE_TIMEOUT: Duration = Duration::from_millis(30_000);

/// What a consumer handler wants done.
#[derive(Debug, Default)]
pub struct ConsumerOutbox {
    /// Requests to the coordinator, in order.
    pub requests: Vec<Request>,
    /// A FindCoordinator to this broker.
    pub find_coordinator: Option<u32>,
    /// Timers to set.
    pub timers: Vec<(Time, ConsumerTimer)>,
    /// Facts to report.
    pub facts: Vec<Fact>,
}

/// What a consumer may read of the world.
pub struct ConsumerEnv<'a> {
    /// Topics and log-end offsets.
    pub cluster: &'a Cluster,
    /// The assignors a leader may run, by name.
    pub assignors: &'a AssignorSet,
    /// One-way network latency (for fetch wake-ups).
    pub latency: Duration,
    /// Brokers or links can fail: requests go through the coordinator
    /// link ([`requests`]).
    pub faults: bool,
    /// Partitions can be added: consumers refresh their metadata every
    /// `metadata.max.age.ms`.
    pub metadata_refresh: bool,
}

/// A consumer's `partition.assignment.strategy` as the client uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strategy {
    /// Assignor names in order of preference (the JoinGroup protocols).
    pub protocols: Vec<String>,
    /// COOPERATIVE only if every assignor in the list supports it
    /// (`ConsumerCoordinator`'s constructor); EAGER otherwise.
    pub cooperative: bool,
    /// Send the last assignment in the subscription's user data (sticky).
    pub remembers_assignment: bool,
}

impl Strategy {
    /// The strategy of built-in assignors `names`.
    pub fn of(names: &[AssignorName], set: &AssignorSet) -> Strategy {
        let assignors: Vec<&dyn crate::assign::Assignor> =
            names.iter().filter_map(|n| set.get(n.as_str())).collect();
        Strategy::from_assignors(&assignors)
    }

    /// The strategy of `assignors`, in order of preference.
    pub fn from_assignors(assignors: &[&dyn crate::assign::Assignor]) -> Strategy {
        Strategy {
            protocols: assignors.iter().map(|a| a.name().to_string()).collect(),
            cooperative: !assignors.is_empty()
                && assignors.iter().all(|a| {
                    a.rebalance_protocol() == crate::assign::RebalanceProtocol::Cooperative
                }),
            remembers_assignment: assignors.iter().any(|a| a.remembers_assignment()),
        }
    }
}

/// One consumer process.
pub struct Consumer {
    index: usize,
    config: ConsumerConfig,
    group: Arc<GroupConfig>,
    subscription: crate::assign::Subscription,
    strategy: Strategy,
    rng: SimRng,
    /// `group.protocol` of the process (a restart may switch it).
    protocol: GroupProtocol,
    /// Draws the member ids this client generates (consumer protocol).
    id_rng: SimRng,
    /// The process runs (the state below is that of the current run).
    running: bool,
    /// The classic membership (unused on the consumer protocol).
    member: ClassicMember,
    /// The KIP-848 membership, on the consumer protocol.
    modern: Option<ModernMember>,
    /// The OffsetFetch for newly assigned partitions in flight (consumer
    /// protocol).
    modern_fetch: Option<u64>,
    owned: OwnedPartitions,
    poll: PollLoop,
    commits: Commits,
    /// The application was asked to close.
    closing: bool,
    heartbeat: Timer,
    fetch_token: u64,
    /// A JoinGroup or SyncGroup response that arrived while the
    /// application was processing: acted on at its next `poll()`.
    deferred: Option<Response>,
    /// The assignment and what it revokes, while the revoke callback's
    /// commit is in flight.
    pending_assignment: Option<(Vec<TopicPartition>, Vec<TopicPartition>)>,
    /// How the client reaches the coordinator.
    link: requests::CoordinatorLink,
    /// `close()`'s deadline.
    close_timer: Timer,
    /// The next metadata refresh.
    metadata_timer: Timer,
}

impl Consumer {
    /// A stopped consumer; `subscription` holds topic ids.
    pub fn new(
        index: usize,
        config: ConsumerConfig,
        group: Arc<GroupConfig>,
        subscription: crate::assign::Subscription,
        strategy: Strategy,
        rngs: (SimRng, SimRng),
    ) -> Self {
        let commit = group.commit;
        let (rng, id_rng) = rngs;
        Consumer {
            index,
            protocol: config.protocol,
            config,
            group,
            subscription,
            strategy,
            rng,
            id_rng,
            running: false,
            member: ClassicMember::new(),
            modern: None,
            modern_fetch: None,
            owned: OwnedPartitions::default(),
            poll: PollLoop::default(),
            commits: Commits::new(Time::ZERO, commit),
            closing: false,
            heartbeat: Timer::default(),
            fetch_token: 0,
            deferred: None,
            pending_assignment: None,
            link: requests::CoordinatorLink::new(false, 1, None, 0),
            close_timer: Timer::default(),
            metadata_timer: Timer::default(),
        }
    }

    /// The next start uses `strategy` (a restart with another
    /// `partition.assignment.strategy`).
    pub fn set_strategy(&mut self, strategy: Strategy) {
        self.strategy = strategy;
    }

    /// The next start speaks `protocol` (a rolling upgrade switches
    /// `group.protocol` at a restart).
    pub fn set_protocol(&mut self, protocol: GroupProtocol) {
        self.protocol = protocol;
    }

    /// The application calls `subscribe()` with `topics` (sorted topic
    /// ids): a classic member rejoins at its next `poll()` (cooperative:
    /// revoking the partitions of topics it dropped), a consumer-protocol
    /// member sends its new subscription in a heartbeat at once.
    pub fn subscribe(
        &mut self,
        now: Time,
        topics: crate::assign::Subscription,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if topics == self.subscription {
            return;
        }
        self.subscription = topics;
        if !self.running {
            return;
        }
        if self.modern.is_some() {
            self.send_heartbeat_if_idle(now, out);
        } else {
            self.member.rejoin_needed = true;
            out.facts.push(Fact::RejoinNeeded {
                consumer: self.index,
                cause: "subscription changed".into(),
            });
            if self.poll.in_poll {
                self.drive_poll(now, env, out);
            }
        }
    }

    /// Partition leadership changed: partitions whose leader is
    /// unreachable are not fetched, and a `poll()` blocked for data looks
    /// again (the fetcher learns new leaders from its metadata refresh;
    /// here at once).
    pub fn leaders_changed(&mut self, now: Time, env: &ConsumerEnv<'_>, out: &mut ConsumerOutbox) {
        if !self.running || self.owned.is_empty() {
            return;
        }
        self.owned.refresh(env.cluster);
        self.wake_blocked_poll(now, out);
    }

    /// A `poll()` blocked for data looks again now (what it may fetch
    /// changed).
    fn wake_blocked_poll(&mut self, now: Time, out: &mut ConsumerOutbox) {
        if self.running && self.poll.in_poll && self.poll.batch.is_none() {
            let id = self.poll.wake.arm();
            out.timers.push((now, ConsumerTimer::Poll(id)));
        }
    }

    /// The brokers this process can reach changed (a network cut or
    /// heal): partitions led by brokers it cannot reach are not fetched.
    pub fn reachability_changed(
        &mut self,
        now: Time,
        unreachable: Vec<u32>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        self.owned.set_unreachable(unreachable, env.cluster);
        self.wake_blocked_poll(now, out);
    }

    /// The topics the consumer subscribes to (sorted topic ids).
    pub fn subscription(&self) -> &crate::assign::Subscription {
        &self.subscription
    }

    /// Each record takes a time drawn from `processing` from now on (the
    /// batch in progress keeps the time it was given).
    pub fn set_processing(&mut self, processing: crate::scenario::TimeDist) {
        self.config.processing = processing;
    }

    /// True when the process speaks the KIP-848 consumer protocol.
    pub fn is_consumer_protocol(&self) -> bool {
        self.modern.is_some()
    }

    /// The KIP-848 membership state, on the consumer protocol.
    pub fn modern_state(&self) -> Option<membership::ModernState> {
        self.modern.as_ref().map(|m| m.state())
    }

    /// True when the consumer rebalances cooperatively (KIP-429).
    pub fn is_cooperative(&self) -> bool {
        self.strategy.cooperative
    }

    /// The consumer's name (`client.id`).
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// True while the process runs.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// True when the member holds its partitions of the current generation
    /// and is consuming them.
    pub fn is_stable(&self) -> bool {
        if let Some(m) = &self.modern {
            return self.running
                && m.state() == membership::ModernState::Stable
                && m.target.is_none()
                && self.modern_fetch.is_none();
        }
        self.running && self.member.is_stable()
    }

    /// Member id, once the coordinator gave one (the client's own on the
    /// consumer protocol).
    pub fn member_id(&self) -> Option<&str> {
        match &self.modern {
            Some(m) => Some(m.member_id()),
            None => self.member.member_id().map(MemberId::as_str),
        }
    }

    /// The classic member id (shared with the coordinator's table).
    pub fn classic_member_id(&self) -> Option<&MemberId> {
        self.member.member_id()
    }

    /// The batch being processed: its records, when it started and when it
    /// ends.
    pub fn batch_in_progress(&self) -> Option<(u64, Time, Time)> {
        self.poll.batch.as_ref().map(|b| {
            let records = b.ranges.iter().map(|&(_, from, to)| to - from).sum();
            (records, b.started, b.ends)
        })
    }

    /// The member id this process last had, even one it dropped since (a
    /// leave, a fencing); the consumer protocol's is the process's own.
    pub fn last_member_id(&self) -> Option<&str> {
        match &self.modern {
            Some(m) => Some(m.member_id()),
            None => self.member.last_member_id().map(MemberId::as_str),
        }
    }

    /// Generation the member believes in, if any (the member epoch on the
    /// consumer protocol).
    pub fn generation(&self) -> Option<i32> {
        match &self.modern {
            Some(m) => (m.state().in_group() && m.epoch() > 0).then_some(m.epoch()),
            None => self.member.generation(),
        }
    }

    /// True while the member belongs to a generation (classic) or has an
    /// epoch (consumer protocol).
    fn in_generation(&self) -> bool {
        match &self.modern {
            Some(_) => self.generation().is_some(),
            None => self.member.in_generation(),
        }
    }

    /// The member's protocol state.
    pub fn member_state(&self) -> MemberState {
        self.member.state()
    }

    /// True when the consumer owns exactly `partitions` (sorted).
    pub fn owns_exactly(&self, partitions: &[TopicPartition]) -> bool {
        self.owned.is(partitions)
    }

    fn is_static(&self) -> bool {
        self.config.instance_id.is_some()
    }

    // ----- process life cycle -------------------------------------------

    /// Starts the process: it calls `poll()` at once and joins the group.
    pub fn start(&mut self, now: Time, env: &ConsumerEnv<'_>, out: &mut ConsumerOutbox) {
        self.running = true;
        self.member = ClassicMember::new();
        self.modern = match self.protocol {
            GroupProtocol::Consumer => Some(self.new_modern_member()),
            GroupProtocol::Classic => None,
        };
        self.modern_fetch = None;
        self.owned = OwnedPartitions::default();
        self.poll = PollLoop::default();
        self.commits = Commits::new(now, self.group.commit);
        self.closing = false;
        self.heartbeat = Timer::default();
        self.fetch_token = 0;
        self.deferred = None;
        self.pending_assignment = None;
        self.link = requests::CoordinatorLink::new(
            env.faults,
            env.cluster.brokers.len() as u32,
            env.cluster.coordinator_broker(),
            self.index as u32,
        );
        out.facts.push(Fact::ConsumerStarted {
            consumer: self.index,
        });
        if self.modern.is_some() {
            // The join heartbeat goes out at once.
            self.send_heartbeat_if_idle(now, out);
        } else {
            self.arm_heartbeat(now, out);
        }
        self.metadata_timer = Timer::default();
        if env.metadata_refresh {
            let id = self.metadata_timer.arm();
            out.timers.push((
                now + crate::cluster::METADATA_MAX_AGE,
                ConsumerTimer::MetadataRefresh(id),
            ));
        }
        self.enter_poll(now, env, out);
    }

    /// Kills the process: records of the batch in progress that were
    /// already processed count as processed; nothing is committed.
    pub fn crash(&mut self, now: Time, out: &mut ConsumerOutbox) {
        if let Some(batch) = self.poll.batch.take() {
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
        if !self.owned.is_empty() {
            let partitions = self.owned.take_all();
            if self.in_generation() && reason != StopReason::Graceful {
                out.facts.push(Fact::PartitionsOrphaned {
                    consumer: self.index,
                    member: self.member_id().unwrap_or_default().to_string(),
                    partitions: partitions.clone(),
                });
            }
            out.facts.push(Fact::PartitionsLost {
                consumer: self.index,
                partitions,
            });
        }
        self.poll.batch = None;
        self.poll.in_poll = false;
        self.running = false;
    }

    /// Asks the application to shut down cleanly: it finishes its batch,
    /// commits (as configured), revokes, and leaves the group.
    pub fn request_close(&mut self, now: Time, out: &mut ConsumerOutbox) {
        self.closing = true;
        if self.poll.in_poll {
            self.begin_close(now, out);
        }
    }

    fn begin_close(&mut self, now: Time, out: &mut ConsumerOutbox) {
        if self.link.is_active() {
            // Only a run where requests can go unanswered needs the bound.
            let id = self.close_timer.arm();
            out.timers
                .push((now + CLOSE_TIMEOUT, ConsumerTimer::CloseTimeout(id)));
        }
        if self.modern.is_some() {
            return self.begin_modern_close(out);
        }
        self.poll.in_poll = false;
        if self.member.in_generation()
            && self.member.state() == MemberState::Stable
            && self.commits_before_revoke()
            && !self.owned.is_empty()
        {
            let token = self.send_commit(out);
            self.member.transition(MemberState::Closing(token));
            return;
        }
        self.finish_close(now, out);
    }

    fn finish_close(&mut self, _now: Time, out: &mut ConsumerOutbox) {
        let in_generation = self.member.in_generation();
        if in_generation && self.is_static() && !self.owned.is_empty() {
            // No LeaveGroup: the coordinator keeps the member and its
            // partitions until the session expires or the instance returns.
            out.facts.push(Fact::PartitionsOrphaned {
                consumer: self.index,
                member: self.member.wire_identity().0.to_string(),
                partitions: self.owned.partitions(),
            });
        }
        if in_generation {
            self.revoke_all(out);
        }
        if self.member.member_id().is_some() && !self.is_static() {
            // KIP-345: static members do not send LeaveGroup on close.
            out.requests.push(Request::Leave {
                member_id: self.member.wire_identity().0,
            });
        }
        self.stop(StopReason::Graceful, out);
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
        if !self.running {
            return;
        }
        match timer {
            ConsumerTimer::Poll(id) if self.poll.wake.fire(id) => self.drive_poll(now, env, out),
            ConsumerTimer::BatchDone(id) if self.poll.batch_timer.fire(id) => {
                self.batch_done(now, env, out)
            }
            ConsumerTimer::Heartbeat(id) if self.heartbeat.fire(id) => {
                if self.modern.is_some() {
                    self.modern_heartbeat_due(now, out)
                } else {
                    self.heartbeat_due(now, out)
                }
            }
            ConsumerTimer::PollTimeout(id) if self.poll.poll_timeout.fire(id) => {
                self.poll_timeout_due(now, out)
            }
            ConsumerTimer::CloseTimeout(id) if self.close_timer.fire(id) && self.closing => {
                if self.modern.is_some() {
                    self.finish_modern_close(out);
                } else {
                    self.finish_close(now, out);
                }
            }
            ConsumerTimer::MetadataRefresh(id) if self.metadata_timer.fire(id) => {
                self.metadata_refreshed(now, env, out)
            }
            // Routing after the handler sends what is due or looks again.
            ConsumerTimer::Link(id) if self.link.timer.fire(id) => {}
            ConsumerTimer::RequestTimeout(id) if self.link.timeout_timer.fire(id) => {
                // A timed-out lookup only backs off (routing looks again);
                // a timed-out request disconnects, failing all in flight.
                if self.link.expired(now) {
                    self.connection_failed(now, GroupError::Disconnected, env, out);
                }
                self.arm_request_timeout(out);
            }
            _ => {} // stale: re-armed or disarmed since
        }
    }

    // ----- the coordinator link -------------------------------------------

    /// The broker this process sends group requests to (`None` when the
    /// link is not in use, or the coordinator is unknown).
    pub fn coordinator_broker(&self) -> Option<u32> {
        self.link.coordinator()
    }

    /// The process's current connection to the coordinator.
    pub fn connection(&self) -> u32 {
        self.link.connection()
    }

    /// True when requests go through the coordinator link (faults can
    /// happen in this run).
    pub fn uses_link(&self) -> bool {
        self.link.is_active()
    }

    /// Routes the requests a handler produced through the link: held
    /// while the coordinator is unknown or a retry backs off.
    pub fn route(&mut self, now: Time, out: &mut ConsumerOutbox) {
        if !self.link.is_active() || !self.running {
            return;
        }
        let routed = self.link.route(now, &mut out.requests);
        self.follow(routed, out);
    }

    fn follow(&mut self, routed: requests::Routed, out: &mut ConsumerOutbox) {
        if let Some(broker) = routed.find_coordinator {
            out.find_coordinator = Some(broker);
        }
        if let Some(at) = routed.wake_at {
            let id = self.link.timer.arm();
            out.timers.push((at, ConsumerTimer::Link(id)));
        }
    }

    /// A message to or from this process was dropped: its request will
    /// time out; the check is armed for the earliest deadline.
    pub fn message_lost(&mut self, out: &mut ConsumerOutbox) {
        if self.running {
            self.arm_request_timeout(out);
        }
    }

    fn arm_request_timeout(&mut self, out: &mut ConsumerOutbox) {
        if let Some(at) = self.link.next_deadline() {
            let id = self.link.timeout_timer.arm();
            out.timers.push((at, ConsumerTimer::RequestTimeout(id)));
        }
    }

    /// The connection to the coordinator broke (the broker died, the
    /// coordinator moved away, or a request timed out): the coordinator is
    /// unknown and every request in flight fails with `error`.
    pub fn connection_failed(
        &mut self,
        now: Time,
        error: GroupError,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if !self.running {
            return;
        }
        out.facts.push(Fact::Cluster {
            event: "coordinator_unknown",
            subject: self.config.name.clone(),
            detail: format!("{error}: requests in flight fail; FindCoordinator follows"),
        });
        for pending in self.link.connection_failed() {
            self.on_response(now, pending.failed(error), env, out);
        }
    }

    /// Handles a response from the coordinator.
    pub fn on_response(
        &mut self,
        now: Time,
        response: Response,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        if !self.running {
            return;
        }
        if self.link.is_active() {
            if let (Response::FindCoordinator(Ok(broker)), None) =
                (&response, self.link.coordinator())
            {
                out.facts.push(Fact::Cluster {
                    event: "coordinator_found",
                    subject: self.config.name.clone(),
                    detail: format!("FindCoordinator: broker {broker}"),
                });
            }
            self.link.answered(now, &response);
        }
        match response {
            Response::FindCoordinator(_) => {}
            Response::FetchFailed { token, error } => self.on_fetch_failed(now, token, error, out),
            Response::Join(result) => self.on_join(now, result, env, out),
            Response::MemberIdRequired { member_id } => {
                self.on_member_id_required(now, member_id, out)
            }
            Response::Sync(result) => self.on_sync(now, result, env, out),
            Response::Heartbeat(result) => self.on_heartbeat(now, result, env, out),
            Response::ConsumerHeartbeat { sent_epoch, result } => {
                self.on_modern_heartbeat(now, sent_epoch, result, env, out)
            }
            Response::Commit { token, result } => self.on_commit(now, token, result, env, out),
            Response::Fetch { token, offsets } if self.modern.is_some() => {
                self.on_modern_fetch(now, token, offsets, env, out)
            }
            Response::Fetch { token, offsets } => self.on_fetch(now, token, offsets, env, out),
        }
    }
}
