//! Offset commits: auto-commit every interval from `poll()`, a sync commit
//! after each batch, the commit before revoking and on close; the table of
//! commits in flight, each with the member id and generation it was sent
//! with, and the client's reaction to a failed commit as Kafka's
//! `ConsumerCoordinator.OffsetCommitResponseHandler`.

use super::membership::MemberState;
use super::{Consumer, ConsumerEnv, ConsumerOutbox};
use crate::coordinator::protocol::{GroupError, MemberId, Request};
use crate::events::Fact;
use crate::scenario::CommitMode;
use crate::sim::Time;
use std::collections::BTreeMap;

/// Commit bookkeeping of one process.
#[derive(Debug, Clone)]
pub struct Commits {
    /// Each commit in flight: what it was sent with.
    in_flight: BTreeMap<u64, SentCommit>,
    next_token: u64,
    /// When the next auto-commit is due (auto mode).
    next_auto_commit: Option<Time>,
    /// The sync commit after the current batch, if one is in flight.
    pub batch_commit: Option<u64>,
    /// At-most-once: the fetched batch waiting for its commit.
    pub before_batch: Option<HeldBatch>,
}

/// A commit in flight.
#[derive(Debug, Clone)]
struct SentCommit {
    /// (member id, generation) it was sent with.
    identity: (MemberId, i32),
    /// Its offsets, kept when a coordinator error may make a synchronous
    /// commit send them again.
    offsets: Option<Vec<(usize, u64)>>,
    /// When it first failed on a coordinator error (retries stop
    /// `default.api.timeout.ms` later).
    first_failure: Option<Time>,
    /// Retries so far (the backoff's exponent).
    retries: u32,
}

/// A fetched batch held until its at-most-once commit is answered: the
/// commit's token, the ranges and the processing time drawn for them.
pub type HeldBatch = (u64, Vec<super::owned::Range>, crate::sim::Duration);

impl Commits {
    /// No commit is in flight or waited for, and no auto-commit falls due
    /// by `at`.
    pub fn quiet_until(&self, at: Time) -> bool {
        self.in_flight.is_empty()
            && self.batch_commit.is_none()
            && self.before_batch.is_none()
            && self.next_auto_commit.is_none_or(|due| due > at)
    }

    /// A new process's commits: the first auto-commit one interval after
    /// `now`.
    pub fn new(now: Time, mode: CommitMode) -> Self {
        Commits {
            in_flight: BTreeMap::new(),
            next_token: 0,
            next_auto_commit: match mode {
                CommitMode::Auto { interval } => Some(now + interval),
                _ => None,
            },
            batch_commit: None,
            before_batch: None,
        }
    }

    /// When the next auto-commit is due, in auto mode.
    pub fn next_auto_commit(&self) -> Option<Time> {
        self.next_auto_commit
    }

    /// The auto-commit timer starts over at `now` (a new assignment).
    pub fn restart_auto_commit(&mut self, now: Time, mode: CommitMode) {
        if let CommitMode::Auto { interval } = mode {
            self.next_auto_commit = Some(now + interval);
        }
    }
}

impl Consumer {
    /// Kafka commits before revoking with auto-commit, or when the
    /// application's revoke callback commits.
    pub(super) fn commits_before_revoke(&self) -> bool {
        matches!(self.group.commit, CommitMode::Auto { .. }) || self.group.commit_on_revoke
    }

    /// Kafka's `generationIfStable() != null`: commits are only sent by a
    /// member that completed its last rebalance.
    pub(super) fn in_active_group(&self) -> bool {
        if self.modern.is_some() {
            // The consumer protocol commits with the latest member epoch.
            return self.generation().is_some();
        }
        self.member.in_generation() && self.member.state().completed_rebalance()
    }

    /// (member id, generation or member epoch) as a commit carries them.
    fn commit_identity(&self) -> (crate::coordinator::protocol::MemberId, i32) {
        match &self.modern {
            Some(m) => match self.generation() {
                Some(epoch) => (m.member_id().as_ref().into(), epoch),
                None => (Default::default(), -1),
            },
            None => self.member.wire_identity(),
        }
    }

    /// Commits every consumed position; returns the commit's token.
    pub(super) fn send_commit(&mut self, out: &mut ConsumerOutbox) -> u64 {
        let offsets = self.owned.consumed();
        self.send_offsets(offsets, out)
    }

    /// Commits the positions of `partitions` only (the revoke callback).
    pub(super) fn send_commit_of(
        &mut self,
        partitions: &[crate::assign::TopicPartition],
        out: &mut ConsumerOutbox,
    ) -> u64 {
        let offsets = self.owned.consumed_of(partitions);
        self.send_offsets(offsets, out)
    }

    fn send_offsets(&mut self, offsets: Vec<(usize, u64)>, out: &mut ConsumerOutbox) -> u64 {
        self.commits.next_token += 1;
        let token = self.commits.next_token;
        let (member_id, generation) = self.commit_identity();
        self.commits.in_flight.insert(
            token,
            SentCommit {
                identity: (member_id.clone(), generation),
                offsets: self.link.is_active().then(|| offsets.clone()),
                first_failure: None,
                retries: 0,
            },
        );
        out.requests.push(Request::Commit {
            member_id,
            generation,
            instance_id: self.config.instance_id.clone(),
            offsets,
            token,
        });
        token
    }

    /// True when the application (or the rebalance) waits for commit
    /// `token`: `commitSync()` semantics.
    fn is_sync_commit(&self, token: u64) -> bool {
        use super::membership::ModernState;
        let membership = match self.modern_state() {
            Some(ModernState::CommittingBeforeRevoke(t) | ModernState::Closing(t)) => t == token,
            Some(_) => false,
            None => matches!(
                self.member.state(),
                MemberState::Committing(t) | MemberState::Revoking(t) | MemberState::Closing(t) if t == token
            ),
        };
        membership
            || self.commits.batch_commit == Some(token)
            || self
                .commits
                .before_batch
                .as_ref()
                .is_some_and(|(t, _, _)| *t == token)
    }

    /// `commitSync` on a coordinator error: the same offsets again, after
    /// the backoff, at the coordinator found again, until
    /// `default.api.timeout.ms` has passed since the first failure.
    fn retry_sync_commit(
        &mut self,
        now: Time,
        token: u64,
        error: GroupError,
        sent: &SentCommit,
        out: &mut ConsumerOutbox,
    ) -> bool {
        let Some(offsets) = &sent.offsets else {
            return false;
        };
        let first = sent.first_failure.unwrap_or(now);
        if !self.is_sync_commit(token) || now >= first + super::requests::DEFAULT_API_TIMEOUT {
            return false;
        }
        // Each attempt is built anew (sendOffsetCommitRequest): a member no
        // longer in an active group fails it (CommitFailedException).
        if !self.in_active_group() {
            return false;
        }
        if error.loses_coordinator() {
            self.link.lose_coordinator();
        }
        self.link
            .delay_next(now + super::requests::backoff(sent.retries));
        let (member_id, generation) = self.commit_identity();
        self.commits.in_flight.insert(
            token,
            SentCommit {
                identity: (member_id.clone(), generation),
                offsets: Some(offsets.clone()),
                first_failure: Some(first),
                retries: sent.retries + 1,
            },
        );
        out.requests.push(Request::Commit {
            member_id,
            generation,
            instance_id: self.config.instance_id.clone(),
            offsets: offsets.clone(),
            token,
        });
        true
    }

    /// The auto-commit in `poll()`, when its interval has passed.
    pub(super) fn maybe_auto_commit(&mut self, now: Time, out: &mut ConsumerOutbox) {
        if let (CommitMode::Auto { interval }, Some(due)) =
            (self.group.commit, self.commits.next_auto_commit)
        {
            if now >= due {
                self.commits.next_auto_commit = Some(now + interval);
                if !self.owned.is_empty() && self.in_active_group() {
                    self.send_commit(out);
                }
            }
        }
    }

    pub(super) fn on_commit(
        &mut self,
        now: Time,
        token: u64,
        result: Result<(), GroupError>,
        env: &ConsumerEnv<'_>,
        out: &mut ConsumerOutbox,
    ) {
        let sent = self.commits.in_flight.remove(&token);
        if let (Err(error), Some(sent)) = (&result, &sent) {
            if error.is_coordinator_error() && self.retry_sync_commit(now, token, *error, sent, out)
            {
                return;
            }
            if error.is_coordinator_error() {
                if error.loses_coordinator() {
                    self.link.lose_coordinator();
                }
                // An auto-commit that failed is tried again after the
                // backoff (`nextAutoCommitTimer.updateAndReset`).
                if self.commits.next_auto_commit.is_some() {
                    self.commits.next_auto_commit = Some(now + super::requests::RETRY_BACKOFF);
                }
            }
        }
        let sent_for = sent.map(|s| s.identity);
        if let (Err(error), true) = (&result, self.modern.is_some()) {
            // Consumer protocol: commit errors never change membership
            // (STALE_MEMBER_EPOCH is not retried; CommitRequestManager).
            out.facts.push(Fact::CommitFailed {
                consumer: self.index,
                error: error.name().to_string(),
            });
        }
        if self.modern.is_some() && self.modern_commit_done(now, token, env, out) {
            return;
        }
        if let (Err(error), false) = (result, self.modern.is_some()) {
            out.facts.push(Fact::CommitFailed {
                consumer: self.index,
                error: error.name().to_string(),
            });
            // Like Kafka, an error about a generation the member has since
            // left does not reset the newer one.
            let current = sent_for.as_ref() == Some(&self.member.wire_identity());
            // FENCED_INSTANCE_ID is fatal only for the generation it was
            // sent in (CC.OffsetCommitResponseHandler: generationUnchanged).
            let about_generation = matches!(
                error,
                GroupError::IllegalGeneration
                    | GroupError::UnknownMemberId
                    | GroupError::FencedInstanceId
            );
            if !error.is_coordinator_error()
                && (current || !about_generation)
                && !self.react_to(error, out)
            {
                return;
            }
        }
        match self.member.state() {
            MemberState::Committing(t) if t == token => {
                self.revoke_then_join(now, env, out);
                // A cooperative member blocked in poll() fetches again
                // while its JoinGroup is out (an eager one owns nothing).
                self.drive_poll(now, env, out);
            }
            MemberState::Revoking(t) if t == token => {
                if let Some((assigned, revoked)) = self.pending_assignment.take() {
                    self.complete_join(assigned, revoked, env, out);
                }
            }
            MemberState::Closing(t) if t == token => self.finish_close(now, out),
            _ if self
                .commits
                .before_batch
                .as_ref()
                .is_some_and(|(t, _, _)| *t == token) =>
            {
                // At-most-once: committed, now process (even if the commit
                // failed: the application got an exception it ignores).
                if let Some((_, ranges, took)) = self.commits.before_batch.take() {
                    self.start_batch(now, ranges, took, out);
                }
            }
            _ if self.commits.batch_commit == Some(token) => {
                self.commits.batch_commit = None;
                self.poll.in_poll = true;
                self.drive_poll(now, env, out);
            }
            _ => {}
        }
    }
}
