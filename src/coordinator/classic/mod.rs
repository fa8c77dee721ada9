//! The classic group coordinator, as Kafka 4's group coordinator runs a
//! classic group (`GroupMetadataManager`, `ClassicGroup`,
//! `ClassicGroupMember`): Empty → PreparingRebalance →
//! CompletingRebalance → Stable, with generations, the delayed initial
//! join, the MEMBER_ID_REQUIRED round trip, session and new-member
//! timeouts, static members (KIP-345), offset commits fenced by
//! generation, and responses that wait for the coordinator's log.
//!
//! Split by phase: `join` (JoinGroup, preparing and completing a
//! rebalance), `sync` (SyncGroup, the assignment, the pending-sync
//! deadline), `members` (membership, validation, leader choice,
//! heartbeats, session expiry, LeaveGroup), `commits` (OffsetCommit and
//! OffsetFetch), `append` (the log writes that responses wait for),
//! `hash_order` (the Java `HashMap` order the leader is chosen in) and
//! `member_table` (the member records, found by id and walked in order).

mod append;
mod commits;
mod convert;
mod hash_order;
mod join;
mod member_table;
mod members;
mod sync;
#[cfg(test)]
mod tests;

use super::protocol::{Endpoint, MemberId, Request, Response};
use super::{CoordinatorOutbox, OffsetStore};
use crate::assign::{MemberSpec, TopicPartition};
use crate::events::{Fact, GroupState};
use crate::sim::{Duration, SimRng, Time};
use append::{AppendLog, Deferred, Logged};
pub use convert::{ClassicExport, ClassicRecord, ExportedMember, Parked};
use hash_order::HashOrder;
use member_table::{IdMap, MemberTable};
use members::HeartbeatTimer;
use rand::RngCore;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// How long a new member may wait in a join before it is removed:
/// Kafka's `GroupCoordinatorConfig.CLASSIC_GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS`
/// (`classicGroupNewMemberJoinTimeoutMs()`), 5 minutes and not a setting.
pub const NEW_MEMBER_JOIN_TIMEOUT: Duration = Duration::from_secs(300);

/// Broker-side settings of the group.
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    /// `group.initial.rebalance.delay.ms`.
    pub initial_rebalance_delay: Duration,
    /// `group.coordinator.append.linger.ms`: a write waits this long for
    /// more writes before its batch is flushed.
    pub append_linger: Duration,
    /// From a batch's flush until the followers have it (the high
    /// watermark passes it) and what waited on it may proceed.
    pub replication_latency: Duration,
    /// OffsetCommit is fenced by member and generation (Kafka always is;
    /// `false` is a what-if that accepts a zombie's stale commit).
    pub fencing: bool,
    /// Keep the group's last written record ([`ClassicRecord`]) for a
    /// coordinator failover (only when brokers can fail: it costs a copy
    /// of the members per rebalance).
    pub keeps_record: bool,
}

/// Timers the coordinator sets; stale ones are recognised by their token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoordinatorTimer {
    /// A step of the delayed initial join of an empty group
    /// (`GMM.tryCompleteInitialRebalanceElseSchedule`).
    InitialDelay {
        /// Join token when set.
        token: u64,
        /// The delay this step waited.
        delay: Duration,
        /// What is left of the rebalance timeout after it.
        remaining: Duration,
    },
    /// The join phase's rebalance timeout.
    JoinDeadline {
        /// Join token when set.
        token: u64,
    },
    /// Members that have not sent SyncGroup by now are removed.
    SyncDeadline {
        /// Sync token when set.
        token: u64,
    },
    /// A member's (or pending member's) heartbeat deadline may have passed.
    SessionCheck {
        /// The member id.
        member: MemberId,
    },
    /// A batch of the coordinator's log is committed.
    Committed {
        /// The batch.
        batch: u64,
    },
}

/// One consumer group's coordinator (classic protocol).
pub struct ClassicCoordinator {
    config: CoordinatorConfig,
    state: GroupState,
    /// The state before the current one; `None` for a group never left
    /// (Kafka's initial `Dead`). `PreparingRebalance` after `Empty` is the
    /// initial rebalance, which only its delay timer completes.
    previous_state: Option<GroupState>,
    generation: i32,
    /// The protocol (assignor) selected for the generation.
    protocol: Option<String>,
    /// How many members support each protocol
    /// (`ClassicGroup.supportedProtocols`).
    supported: BTreeMap<String, usize>,
    leader: Option<MemberId>,
    members: MemberTable,
    /// Ids handed out with MEMBER_ID_REQUIRED, not yet joined
    /// (`ClassicGroup.pendingJoinMembers`).
    pending: BTreeSet<MemberId>,
    /// Heartbeat deadlines of members and pending members (looked up on
    /// every heartbeat and commit, never iterated).
    heartbeats: IdMap<HeartbeatTimer>,
    static_ids: BTreeMap<String, MemberId>,
    pending_sync: BTreeSet<MemberId>,
    /// Members with a JoinGroup parked in the join phase (kept as a count so
    /// each join does not scan the group).
    awaiting_join: usize,
    /// `ClassicGroup.members` iteration order.
    order: HashOrder,
    log: AppendLog,
    /// The group exists in the coordinator (its first JoinGroup created it).
    created: bool,
    /// Token of the group's join timer (initial delay or join deadline:
    /// one key in Kafka's timer).
    join_token: u64,
    sync_token: u64,
    /// `ClassicGroup.newMemberAdded`: extends the initial delay.
    new_member_added: bool,
    rng: SimRng,
    /// The group's last `GroupMetadata` record (when `keeps_record`).
    record: Option<Arc<ClassicRecord>>,
}

/// A member as the rest of the simulation may see it.
#[derive(Debug, Clone, Copy)]
pub struct MemberView<'a> {
    /// Member id.
    pub id: &'a str,
    /// The consumer process behind it.
    pub endpoint: Endpoint,
    /// The partitions the current generation gave it.
    pub assignment: &'a [TopicPartition],
}

impl ClassicCoordinator {
    /// An empty group; `rng` draws member ids, `partitions` sizes the
    /// offset store.
    pub fn new(config: CoordinatorConfig, rng: SimRng) -> Self {
        ClassicCoordinator {
            log: AppendLog::new(config.append_linger, config.replication_latency),
            config,
            state: GroupState::Empty,
            previous_state: None,
            generation: 0,
            protocol: None,
            supported: BTreeMap::new(),
            leader: None,
            members: MemberTable::default(),
            pending: BTreeSet::new(),
            heartbeats: IdMap::default(),
            static_ids: BTreeMap::new(),
            pending_sync: BTreeSet::new(),
            awaiting_join: 0,
            order: HashOrder::new(),
            created: false,
            join_token: 0,
            sync_token: 0,
            new_member_added: false,
            rng,
            record: None,
        }
    }

    /// The group's state.
    pub fn state(&self) -> GroupState {
        self.state
    }

    /// True while `member_id` is a member (not removed, not replaced).
    pub fn is_member(&self, member_id: &MemberId) -> bool {
        self.members.contains_key(member_id)
    }

    /// The current generation.
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// Number of members.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Members in member-id order.
    pub fn members(&self) -> impl Iterator<Item = MemberView<'_>> {
        self.members.iter().map(|(id, m)| MemberView {
            id: id.as_str(),
            endpoint: m.endpoint,
            assignment: &m.assignment,
        })
    }

    /// True when every member has sent SyncGroup for this generation.
    pub fn all_synced(&self) -> bool {
        self.pending_sync.is_empty()
    }

    /// Handles one request arriving at `now`; commits are stored in, and
    /// fetched from, the group's `offsets` (kept outside the group state:
    /// they outlive any coordinator and protocol).
    pub fn handle(
        &mut self,
        now: Time,
        from: Endpoint,
        request: Request,
        store: &mut OffsetStore,
        out: &mut CoordinatorOutbox,
    ) {
        match request {
            Request::Join(join) => self.handle_join(now, from, *join, out),
            Request::Sync {
                member_id,
                instance_id,
                generation,
                assignment,
            } => self.handle_sync(
                now,
                from,
                &member_id,
                instance_id.as_deref(),
                generation,
                assignment,
                out,
            ),
            Request::Heartbeat {
                member_id,
                instance_id,
                generation,
            } => self.handle_heartbeat(
                now,
                from,
                &member_id,
                instance_id.as_deref(),
                generation,
                out,
            ),
            Request::Leave { member_id } => self.handle_leave(now, &member_id, out),
            Request::Commit {
                member_id,
                generation,
                instance_id,
                offsets,
                token,
            } => self.handle_commit(
                now,
                from,
                &member_id,
                generation,
                instance_id.as_deref(),
                &offsets,
                token,
                store,
                out,
            ),
            Request::Fetch { partitions, token } => {
                self.handle_fetch(now, from, &partitions, token, store, out)
            }
            // Routed to a consumer group by `GroupCoordinator`.
            Request::ConsumerHeartbeat(_) => {}
        }
    }

    /// Handles a timer set earlier.
    pub fn on_timer(&mut self, now: Time, timer: CoordinatorTimer, out: &mut CoordinatorOutbox) {
        match timer {
            CoordinatorTimer::InitialDelay {
                token,
                delay,
                remaining,
            } => self.on_initial_delay(now, token, delay, remaining, out),
            CoordinatorTimer::JoinDeadline { token } => {
                if token == self.join_token && self.state == GroupState::PreparingRebalance {
                    self.complete_join(now, out);
                }
            }
            CoordinatorTimer::SyncDeadline { token } => self.on_sync_deadline(now, token, out),
            CoordinatorTimer::SessionCheck { member } => self.on_session_timer(now, &member, out),
            CoordinatorTimer::Committed { batch } => {
                for then in self.log.committed(batch) {
                    self.run_deferred(now, then, out);
                }
            }
        }
    }

    /// `ClassicGroup.generateMemberId`: the instance id (static members)
    /// or the client id, a dash and a random suffix. Kafka's suffix is a
    /// UUID; a 48-bit random one keeps the same ordering (by prefix
    /// first) and stays readable.
    fn new_member_id(&mut self, client_id: &str, instance_id: Option<&str>) -> MemberId {
        let prefix = instance_id.unwrap_or(client_id);
        format!("{prefix}-{:012x}", self.rng.next_u64() >> 16).into()
    }

    /// `ClassicGroup.rebalanceTimeoutMs`: the largest of the members'.
    fn max_rebalance_timeout(&self) -> Duration {
        self.members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// `ClassicGroup.transitionTo`.
    fn set_state(&mut self, state: GroupState, reason: String, out: &mut CoordinatorOutbox) {
        self.previous_state = Some(self.state);
        self.state = state;
        out.facts.push(Fact::StateChanged {
            state,
            generation: self.generation,
            reason,
        });
    }

    /// Every member's subscription, for the leader's JoinGroup response.
    fn member_specs(&self) -> Arc<Vec<MemberSpec>> {
        Arc::new(self.members.values().map(|m| m.metadata.clone()).collect())
    }

    /// Records are written at `now`; `then` runs once they are committed.
    fn write(&mut self, now: Time, then: Option<Deferred>, out: &mut CoordinatorOutbox) {
        match self.log.write(now, then) {
            Logged::Now(Some(then)) => self.run_deferred(now, then, out),
            Logged::Now(None) => {}
            Logged::Waits { timer } => {
                if let Some((at, batch)) = timer {
                    out.timers.push((at, CoordinatorTimer::Committed { batch }));
                }
            }
        }
    }

    /// The result of a write operation that wrote nothing: sent once the
    /// writes before it are committed.
    fn respond_after_writes(
        &mut self,
        now: Time,
        to: Endpoint,
        response: Response,
        out: &mut CoordinatorOutbox,
    ) {
        if let Some(then) = self.log.after_writes(Deferred::Respond(to, response)) {
            self.run_deferred(now, then, out);
        }
    }

    /// Sends `response` once the log allows: after its own records when
    /// the operation wrote some, else after the writes before it.
    fn respond_logged(
        &mut self,
        now: Time,
        to: Endpoint,
        response: Response,
        records: bool,
        out: &mut CoordinatorOutbox,
    ) {
        if records {
            self.write(now, Some(Deferred::Respond(to, response)), out);
        } else {
            self.respond_after_writes(now, to, response, out);
        }
    }

    fn run_deferred(&mut self, now: Time, then: Deferred, out: &mut CoordinatorOutbox) {
        match then {
            Deferred::Respond(to, response) => out.responses.push((to, response)),
            Deferred::Assignment {
                generation,
                assignment,
            } => self.assignment_stored(now, generation, assignment, out),
            Deferred::StaticJoin { member } => self.static_join_stored(&member, out),
        }
    }
}
