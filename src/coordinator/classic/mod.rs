//! The classic group coordinator: Empty → PreparingRebalance →
//! CompletingRebalance → Stable, with generations, the delayed initial
//! join, session expiry, static members (KIP-345) and offset commits
//! fenced by generation. Follows Apache Kafka's `GroupCoordinator`.

use super::protocol::{
    Endpoint, GroupError, JoinRequest, JoinResult, MemberAssignments, Request, Response,
};
use super::{CoordinatorOutbox, OffsetStore};
use crate::assign::{MemberSpec, TopicPartition};
use crate::events::{Fact, GroupState};
use crate::sim::{Duration, SimRng, Time};
use rand::RngCore;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Broker-side settings of the group.
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    /// `group.initial.rebalance.delay.ms`.
    pub initial_rebalance_delay: Duration,
}

/// Timers the coordinator sets; stale ones are recognised by their token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoordinatorTimer {
    /// The delayed initial join of an empty group may end.
    InitialDelay {
        /// Rebalance token when set.
        token: u64,
    },
    /// The join phase's rebalance timeout.
    JoinDeadline {
        /// Rebalance token when set.
        token: u64,
    },
    /// Members that have not sent SyncGroup by now are removed.
    SyncDeadline {
        /// Sync token when set.
        token: u64,
    },
    /// Check whether a member's session expired.
    SessionCheck {
        /// The member.
        member: String,
    },
}

#[derive(Debug, Clone)]
struct Member {
    endpoint: Endpoint,
    instance_id: Option<String>,
    metadata: MemberSpec,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    awaiting_join: bool,
    awaiting_sync: bool,
    assignment: Vec<TopicPartition>,
    last_heartbeat: Time,
    session_check_pending: bool,
    join_seq: u64,
}

impl Member {
    /// Takes the metadata of a new JoinGroup under `id`; true when the
    /// subscription changed.
    fn rejoined(&mut self, from: Endpoint, id: &str, req: JoinRequest) -> bool {
        let changed = self.metadata.topics != req.metadata.topics;
        self.endpoint = from;
        self.metadata = MemberSpec {
            id: id.to_string(),
            ..req.metadata
        };
        self.session_timeout = req.session_timeout;
        self.rebalance_timeout = req.rebalance_timeout;
        changed
    }
}

/// One consumer group's coordinator (classic protocol).
pub struct ClassicCoordinator {
    config: CoordinatorConfig,
    state: GroupState,
    generation: i32,
    leader: Option<String>,
    members: BTreeMap<String, Member>,
    static_ids: BTreeMap<String, String>,
    pending_sync: BTreeSet<String>,
    /// Members with a JoinGroup parked in the join phase (kept as a count so
    /// each join does not scan the group).
    awaiting_join: usize,
    offsets: OffsetStore,
    rebalance_token: u64,
    sync_token: u64,
    in_initial_delay: bool,
    initial_remaining: Duration,
    new_member_added: bool,
    next_join_seq: u64,
    rng: SimRng,
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
    pub fn new(config: CoordinatorConfig, rng: SimRng, partitions: usize) -> Self {
        ClassicCoordinator {
            config,
            state: GroupState::Empty,
            generation: 0,
            leader: None,
            members: BTreeMap::new(),
            static_ids: BTreeMap::new(),
            pending_sync: BTreeSet::new(),
            awaiting_join: 0,
            offsets: OffsetStore::new(partitions),
            rebalance_token: 0,
            sync_token: 0,
            in_initial_delay: false,
            initial_remaining: Duration::ZERO,
            new_member_added: false,
            next_join_seq: 0,
            rng,
        }
    }

    /// The group's state.
    pub fn state(&self) -> GroupState {
        self.state
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
            id,
            endpoint: m.endpoint,
            assignment: &m.assignment,
        })
    }

    /// True when every member has sent SyncGroup for this generation.
    pub fn all_synced(&self) -> bool {
        self.pending_sync.is_empty()
    }

    /// Committed offsets.
    pub fn offsets(&self) -> &OffsetStore {
        &self.offsets
    }

    /// Handles one request arriving at `now`.
    pub fn handle(
        &mut self,
        now: Time,
        from: Endpoint,
        request: Request,
        out: &mut CoordinatorOutbox,
    ) {
        match request {
            Request::Join(join) => self.handle_join(now, from, join, out),
            Request::Sync {
                member_id,
                generation,
                assignment,
            } => self.handle_sync(now, from, &member_id, generation, assignment, out),
            Request::Heartbeat {
                member_id,
                generation,
            } => {
                let result = self.handle_heartbeat(now, &member_id, generation, out);
                out.responses.push((from, Response::Heartbeat(result)));
            }
            Request::Leave { member_id } => self.handle_leave(now, &member_id, out),
            Request::Commit {
                member_id,
                generation,
                instance_id,
                offsets,
                token,
            } => {
                let result = self.handle_commit(
                    now,
                    &member_id,
                    generation,
                    instance_id.as_deref(),
                    &offsets,
                    out,
                );
                out.responses
                    .push((from, Response::Commit { token, result }));
            }
            Request::Fetch { partitions, token } => {
                let offsets = partitions
                    .iter()
                    .map(|&p| (p, self.offsets.get(p)))
                    .collect();
                out.responses
                    .push((from, Response::Fetch { token, offsets }));
            }
        }
    }

    /// Handles a timer set earlier.
    pub fn on_timer(&mut self, now: Time, timer: CoordinatorTimer, out: &mut CoordinatorOutbox) {
        match timer {
            CoordinatorTimer::InitialDelay { token } => {
                if token != self.rebalance_token || !self.in_initial_delay {
                    return;
                }
                if self.new_member_added && self.initial_remaining > Duration::ZERO {
                    // Each new joiner extends the wait, up to the rebalance timeout.
                    self.new_member_added = false;
                    let delay = self
                        .config
                        .initial_rebalance_delay
                        .min(self.initial_remaining);
                    self.initial_remaining = self.initial_remaining - delay;
                    out.timers
                        .push((now + delay, CoordinatorTimer::InitialDelay { token }));
                } else {
                    self.in_initial_delay = false;
                    self.complete_join(now, out);
                }
            }
            CoordinatorTimer::JoinDeadline { token } => {
                if token == self.rebalance_token && self.state == GroupState::PreparingRebalance {
                    self.complete_join(now, out);
                }
            }
            CoordinatorTimer::SyncDeadline { token } => {
                if token != self.sync_token || self.pending_sync.is_empty() {
                    return;
                }
                let late: Vec<String> = self.pending_sync.iter().cloned().collect();
                for id in &late {
                    self.remove_member(
                        id,
                        "did not send SyncGroup within the rebalance timeout",
                        out,
                    );
                }
                self.prepare_rebalance(now, format!("{} member(s) did not sync", late.len()), out);
            }
            CoordinatorTimer::SessionCheck { member } => self.check_session(now, &member, out),
        }
    }

    fn new_member_id(&mut self, client_id: &str) -> String {
        // Kafka uses clientId + "-" + UUID; a 48-bit random suffix keeps the
        // same ordering semantics (by client id first) and stays readable.
        format!("{client_id}-{:012x}", self.rng.next_u64() >> 16)
    }

    fn max_rebalance_timeout(&self) -> Duration {
        self.members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or(Duration::ZERO)
    }

    fn set_state(&mut self, state: GroupState, reason: String, out: &mut CoordinatorOutbox) {
        self.state = state;
        out.facts.push(Fact::StateChanged {
            state,
            generation: self.generation,
            reason,
        });
    }

    fn touch(&mut self, now: Time, id: &str, out: &mut CoordinatorOutbox) {
        if let Some(m) = self.members.get_mut(id) {
            m.last_heartbeat = now;
            if !m.session_check_pending {
                m.session_check_pending = true;
                out.timers.push((
                    now + m.session_timeout,
                    CoordinatorTimer::SessionCheck {
                        member: id.to_string(),
                    },
                ));
            }
        }
    }

    fn check_session(&mut self, now: Time, id: &str, out: &mut CoordinatorOutbox) {
        let Some(m) = self.members.get_mut(id) else {
            return;
        };
        let deadline = m.last_heartbeat + m.session_timeout;
        if deadline > now || m.awaiting_join || m.awaiting_sync {
            // Alive, or parked in a join/sync request (Kafka keeps those).
            let next = if deadline > now {
                deadline
            } else {
                now + m.session_timeout
            };
            out.timers.push((
                next,
                CoordinatorTimer::SessionCheck {
                    member: id.to_string(),
                },
            ));
            return;
        }
        m.session_check_pending = false;
        out.facts.push(Fact::SessionExpired {
            member: id.to_string(),
        });
        self.remove_member(id, "session timeout", out);
        self.after_member_left(now, format!("member {id} session expired"), out);
    }

    /// Parks (or releases) a member's JoinGroup in the join phase.
    fn mark_join(&mut self, id: &str, awaiting: bool) {
        if let Some(m) = self.members.get_mut(id) {
            if m.awaiting_join != awaiting {
                m.awaiting_join = awaiting;
                if awaiting {
                    self.awaiting_join += 1;
                } else {
                    self.awaiting_join -= 1;
                }
            }
        }
    }

    fn remove_member(&mut self, id: &str, reason: &'static str, out: &mut CoordinatorOutbox) {
        if let Some(m) = self.members.remove(id) {
            if m.awaiting_join {
                self.awaiting_join -= 1;
            }
            if let Some(i) = &m.instance_id {
                if self.static_ids.get(i).map(String::as_str) == Some(id) {
                    self.static_ids.remove(i);
                }
            }
            self.pending_sync.remove(id);
            if self.leader.as_deref() == Some(id) {
                self.leader = None;
            }
            out.facts.push(Fact::MemberRemoved {
                member: id.to_string(),
                reason,
            });
        }
    }

    fn after_member_left(&mut self, now: Time, reason: String, out: &mut CoordinatorOutbox) {
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now, reason, out)
            }
            GroupState::PreparingRebalance => self.try_complete_join(now, out),
            GroupState::Empty => {}
        }
    }

    fn handle_join(
        &mut self,
        now: Time,
        from: Endpoint,
        req: JoinRequest,
        out: &mut CoordinatorOutbox,
    ) {
        if req.member_id.is_empty() {
            if let Some(old) = req
                .instance_id
                .as_ref()
                .and_then(|i| self.static_ids.get(i))
                .cloned()
            {
                return self.replace_static_member(now, from, old, req, out);
            }
            let id = self.new_member_id(&req.client_id);
            let mut metadata = req.metadata;
            metadata.id = id.clone();
            self.next_join_seq += 1;
            self.members.insert(
                id.clone(),
                Member {
                    endpoint: from,
                    instance_id: req.instance_id.clone(),
                    metadata,
                    session_timeout: req.session_timeout,
                    rebalance_timeout: req.rebalance_timeout,
                    awaiting_join: true,
                    awaiting_sync: false,
                    assignment: Vec::new(),
                    last_heartbeat: now,
                    session_check_pending: false,
                    join_seq: self.next_join_seq,
                },
            );
            self.awaiting_join += 1;
            if let Some(i) = &req.instance_id {
                self.static_ids.insert(i.clone(), id.clone());
            }
            if self.leader.is_none() && self.state == GroupState::Empty {
                self.leader = Some(id.clone());
            }
            out.facts.push(Fact::MemberAdded {
                member: id.clone(),
                instance: req.instance_id,
            });
            self.touch(now, &id, out);
            if self.state == GroupState::PreparingRebalance {
                self.new_member_added = true;
                self.try_complete_join(now, out);
            } else {
                self.prepare_rebalance(now, format!("member {id} joined"), out);
            }
            return;
        }

        let id = req.member_id.clone();
        let Some(m) = self.members.get_mut(&id) else {
            out.responses
                .push((from, Response::Join(Err(GroupError::UnknownMemberId))));
            return;
        };
        if m.instance_id.is_some() && m.instance_id != req.instance_id {
            out.responses
                .push((from, Response::Join(Err(GroupError::FencedInstanceId))));
            return;
        }
        let changed = m.rejoined(from, &id, req);
        self.mark_join(&id, true);
        self.touch(now, &id, out);
        match self.state {
            GroupState::PreparingRebalance => self.try_complete_join(now, out),
            GroupState::Stable | GroupState::CompletingRebalance
                if !changed && self.leader.as_deref() != Some(id.as_str()) =>
            {
                // A follower rejoining with the same subscription gets the
                // current generation back, as Kafka does: no rebalance.
                self.mark_join(&id, false);
                let result = JoinResult {
                    member_id: id.clone(),
                    generation: self.generation,
                    leader: self.leader.clone().unwrap_or_default(),
                    members: None,
                    skip_assignment: false,
                };
                self.pending_sync.insert(id);
                out.responses.push((from, Response::Join(Ok(result))));
            }
            _ => self.prepare_rebalance(now, format!("member {id} rejoined"), out),
        }
    }

    fn replace_static_member(
        &mut self,
        now: Time,
        from: Endpoint,
        old_id: String,
        req: JoinRequest,
        out: &mut CoordinatorOutbox,
    ) {
        let new_id = self.new_member_id(&req.client_id);
        let mut m = self
            .members
            .remove(&old_id)
            .expect("static id maps to a member");
        if m.awaiting_join {
            self.awaiting_join -= 1;
            out.responses.push((
                m.endpoint,
                Response::Join(Err(GroupError::FencedInstanceId)),
            ));
        }
        if m.awaiting_sync {
            out.responses.push((
                m.endpoint,
                Response::Sync(Err(GroupError::FencedInstanceId)),
            ));
        }
        let instance = req.instance_id.clone().expect("static member");
        let changed = m.rejoined(from, &new_id, req);
        m.awaiting_join = false;
        m.awaiting_sync = false;
        // The pending session check is keyed by the old id: start afresh.
        m.session_check_pending = false;
        self.members.insert(new_id.clone(), m);
        self.static_ids.insert(instance.clone(), new_id.clone());
        if self.pending_sync.remove(&old_id) {
            self.pending_sync.insert(new_id.clone());
        }
        let was_leader = self.leader.as_deref() == Some(old_id.as_str());
        if was_leader {
            self.leader = Some(new_id.clone());
        }
        out.facts.push(Fact::MemberReplaced {
            instance,
            old: old_id,
            new: new_id.clone(),
        });
        self.touch(now, &new_id, out);
        match self.state {
            GroupState::Stable if !changed => {
                // KIP-345: a known static member coming back with the same
                // subscription gets its old assignment without a rebalance;
                // a returning leader is told to skip assignment (KIP-814).
                let members = was_leader.then(|| self.member_specs());
                let result = JoinResult {
                    member_id: new_id.clone(),
                    generation: self.generation,
                    leader: self.leader.clone().unwrap_or_default(),
                    members,
                    skip_assignment: was_leader,
                };
                self.pending_sync.insert(new_id);
                out.responses.push((from, Response::Join(Ok(result))));
            }
            GroupState::PreparingRebalance => {
                self.mark_join(&new_id, true);
                self.try_complete_join(now, out);
            }
            _ => {
                self.mark_join(&new_id, true);
                self.prepare_rebalance(
                    now,
                    format!("static member {new_id} replaced a previous instance"),
                    out,
                );
            }
        }
    }

    fn member_specs(&self) -> Arc<Vec<MemberSpec>> {
        Arc::new(self.members.values().map(|m| m.metadata.clone()).collect())
    }

    fn prepare_rebalance(&mut self, now: Time, reason: String, out: &mut CoordinatorOutbox) {
        if self.state == GroupState::CompletingRebalance {
            for m in self.members.values_mut() {
                if m.awaiting_sync {
                    m.awaiting_sync = false;
                    out.responses.push((
                        m.endpoint,
                        Response::Sync(Err(GroupError::RebalanceInProgress)),
                    ));
                }
            }
        }
        self.pending_sync.clear();
        self.sync_token += 1;
        let was_empty = self.state == GroupState::Empty;
        self.set_state(GroupState::PreparingRebalance, reason, out);
        self.rebalance_token += 1;
        let token = self.rebalance_token;
        if was_empty {
            let delay = self.config.initial_rebalance_delay;
            self.in_initial_delay = true;
            self.new_member_added = false;
            self.initial_remaining = self.max_rebalance_timeout() - delay;
            out.timers
                .push((now + delay, CoordinatorTimer::InitialDelay { token }));
        } else {
            self.in_initial_delay = false;
            out.timers.push((
                now + self.max_rebalance_timeout(),
                CoordinatorTimer::JoinDeadline { token },
            ));
            self.try_complete_join(now, out);
        }
    }

    fn try_complete_join(&mut self, now: Time, out: &mut CoordinatorOutbox) {
        debug_assert_eq!(
            self.awaiting_join,
            self.members.values().filter(|m| m.awaiting_join).count(),
            "the count of parked JoinGroups follows the members"
        );
        if self.state == GroupState::PreparingRebalance
            && !self.in_initial_delay
            && self.awaiting_join == self.members.len()
        {
            self.complete_join(now, out);
        }
    }

    fn complete_join(&mut self, now: Time, out: &mut CoordinatorOutbox) {
        // Dynamic members that did not rejoin are removed; static ones stay
        // in the new generation with their last metadata (KIP-345): the
        // leader assigns them partitions, and they leave only by session
        // expiry or by not syncing in time.
        let missing: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| !m.awaiting_join && m.instance_id.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        for id in &missing {
            self.remove_member(id, "did not rejoin within the rebalance timeout", out);
        }
        self.rebalance_token += 1;
        self.in_initial_delay = false;
        if self.members.is_empty() {
            self.generation += 1;
            self.leader = None;
            self.set_state(GroupState::Empty, "no members left".into(), out);
            return;
        }
        // The leader must be a member that rejoined.
        let leader_rejoined = self
            .leader
            .as_ref()
            .and_then(|l| self.members.get(l))
            .is_some_and(|m| m.awaiting_join);
        if !leader_rejoined {
            self.leader = self
                .members
                .iter()
                .filter(|(_, m)| m.awaiting_join)
                .min_by_key(|(_, m)| m.join_seq)
                .map(|(id, _)| id.clone());
        }
        let Some(leader) = self.leader.clone() else {
            // Only static members that did not rejoin: Kafka waits another
            // rebalance timeout for their sessions to expire.
            out.timers.push((
                now + self.max_rebalance_timeout(),
                CoordinatorTimer::JoinDeadline {
                    token: self.rebalance_token,
                },
            ));
            return;
        };
        self.generation += 1;
        out.facts.push(Fact::GenerationStarted {
            generation: self.generation,
            leader: leader.clone(),
            members: self.members.len(),
        });
        self.set_state(
            GroupState::CompletingRebalance,
            format!("generation {} formed", self.generation),
            out,
        );
        let specs = self.member_specs();
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let m = self.members.get_mut(&id).expect("listed");
            if m.awaiting_join {
                m.awaiting_join = false;
                self.awaiting_join -= 1;
                let result = JoinResult {
                    member_id: id.clone(),
                    generation: self.generation,
                    leader: leader.clone(),
                    members: (id == leader).then(|| specs.clone()),
                    skip_assignment: false,
                };
                out.responses.push((m.endpoint, Response::Join(Ok(result))));
                self.touch(now, &id, out);
            }
            self.pending_sync.insert(id);
        }
        self.sync_token += 1;
        out.timers.push((
            now + self.max_rebalance_timeout(),
            CoordinatorTimer::SyncDeadline {
                token: self.sync_token,
            },
        ));
    }

    fn handle_sync(
        &mut self,
        now: Time,
        from: Endpoint,
        id: &str,
        generation: i32,
        assignment: Option<MemberAssignments>,
        out: &mut CoordinatorOutbox,
    ) {
        let error = match self.members.get(id) {
            None => Some(GroupError::UnknownMemberId),
            Some(_) if generation != self.generation => Some(GroupError::IllegalGeneration),
            Some(_) if self.state == GroupState::PreparingRebalance => {
                Some(GroupError::RebalanceInProgress)
            }
            _ => None,
        };
        if let Some(e) = error {
            out.responses.push((from, Response::Sync(Err(e))));
            return;
        }
        self.pending_sync.remove(id);
        self.touch(now, id, out);
        let m = self.members.get_mut(id).expect("checked");
        m.endpoint = from;
        if self.state == GroupState::Stable {
            out.responses
                .push((from, Response::Sync(Ok(m.assignment.clone()))));
            return;
        }
        m.awaiting_sync = true;
        let is_leader = self.leader.as_deref() == Some(id);
        if let (true, Some(assignment)) = (is_leader, assignment) {
            for m in self.members.values_mut() {
                m.assignment.clear();
            }
            for (member, partitions) in assignment.iter() {
                if let Some(m) = self.members.get_mut(member) {
                    // An assignment is a set: keep it sorted whatever the
                    // leader's assignor returned.
                    m.assignment = partitions.clone();
                    m.assignment.sort_unstable();
                }
            }
            self.set_state(
                GroupState::Stable,
                format!("leader {id} sent the assignment"),
                out,
            );
            for m in self.members.values_mut() {
                if m.awaiting_sync {
                    m.awaiting_sync = false;
                    out.responses
                        .push((m.endpoint, Response::Sync(Ok(m.assignment.clone()))));
                }
            }
        }
    }

    fn handle_heartbeat(
        &mut self,
        now: Time,
        id: &str,
        generation: i32,
        _out: &mut CoordinatorOutbox,
    ) -> Result<(), GroupError> {
        if !self.members.contains_key(id) {
            return Err(GroupError::UnknownMemberId);
        }
        if generation != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        self.touch(now, id, _out);
        match self.state {
            GroupState::PreparingRebalance => Err(GroupError::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    fn handle_leave(&mut self, now: Time, id: &str, out: &mut CoordinatorOutbox) {
        if self.members.contains_key(id) {
            self.remove_member(id, "left the group", out);
            self.after_member_left(now, format!("member {id} left"), out);
        }
    }

    fn handle_commit(
        &mut self,
        now: Time,
        id: &str,
        generation: i32,
        instance_id: Option<&str>,
        offsets: &[(usize, u64)],
        out: &mut CoordinatorOutbox,
    ) -> Result<(), GroupError> {
        if !(id.is_empty() && generation < 0) {
            let Some(m) = self.members.get(id) else {
                return Err(GroupError::UnknownMemberId);
            };
            if m.instance_id.is_some() && m.instance_id.as_deref() != instance_id {
                return Err(GroupError::FencedInstanceId);
            }
            if generation != self.generation {
                return Err(GroupError::IllegalGeneration);
            }
            if self.state == GroupState::CompletingRebalance {
                return Err(GroupError::RebalanceInProgress);
            }
            self.touch(now, id, out);
        }
        for &(p, offset) in offsets {
            self.offsets.put(p, offset);
            out.facts.push(Fact::CommitStored {
                partition: p,
                offset,
                member: id.to_string(),
            });
        }
        Ok(())
    }
}
