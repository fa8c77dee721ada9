//! Facts the model reports as it runs. The checker and the metrics observe
//! them; the ones that matter to people are written to `events.csv`.

use crate::assign::{Assignment, BalancePromise, GroupSpec, TopicPartition};
use crate::sim::Time;
use std::sync::Arc;

/// Group coordinator states: the classic protocol's and the KIP-848
/// consumer group's (`ConsumerGroup.ConsumerGroupState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupState {
    /// No members.
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Waiting for the leader's assignment.
    CompletingRebalance,
    /// Everyone has an assignment.
    Stable,
    /// KIP-848: the group epoch is ahead of the target assignment's.
    Assigning,
    /// KIP-848: some member is not yet at the target assignment.
    Reconciling,
}

impl GroupState {
    /// Kafka's name for the state.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Assigning => "Assigning",
            GroupState::Reconciling => "Reconciling",
        }
    }
}

/// Why a consumer process stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Killed: no commit, no LeaveGroup.
    Crash,
    /// Closed cleanly.
    Graceful,
    /// The application got a fatal group error and exited (as a crash:
    /// no commit, no leave).
    Fatal,
}

/// Something that happened in the model.
#[derive(Debug, Clone)]
pub enum Fact {
    /// A consumer process started.
    ConsumerStarted { consumer: usize },
    /// A consumer process stopped.
    ConsumerStopped { consumer: usize, reason: StopReason },
    /// A consumer process stalls until `until`.
    ConsumerPaused { consumer: usize, until: Time },
    /// A consumer process resumed after a pause.
    ConsumerResumed { consumer: usize },
    /// A consumer's application thread blocks until `until` (heartbeats
    /// go on).
    ConsumerStalled { consumer: usize, until: Time },
    /// A consumer's application thread is unblocked.
    StallEnded { consumer: usize },
    /// The coordinator added a member.
    MemberAdded {
        member: String,
        instance: Option<String>,
    },
    /// A JoinGroup without a member id from a dynamic member was answered
    /// MEMBER_ID_REQUIRED: `member` is pending until it joins with it.
    MemberIdRequired { consumer: usize, member: String },
    /// A pending member (one that got MEMBER_ID_REQUIRED) was dropped
    /// before it joined.
    PendingMemberRemoved {
        member: String,
        reason: &'static str,
    },
    /// A static member rejoined under a new member id.
    MemberReplaced {
        instance: String,
        old: String,
        new: String,
    },
    /// The coordinator removed a member.
    MemberRemoved {
        member: String,
        reason: &'static str,
    },
    /// The group changed state.
    StateChanged {
        state: GroupState,
        generation: i32,
        reason: String,
    },
    /// The join phase ended: a new generation with its leader.
    GenerationStarted {
        generation: i32,
        leader: String,
        members: usize,
    },
    /// The coordinator converted a non-empty group to the other type (an
    /// online upgrade to a consumer group, or a downgrade to classic).
    GroupConverted {
        to_consumer: bool,
        epoch: i32,
        members: usize,
    },
    /// A timeline event expanded from a shorthand happens (logged so the
    /// expansion can be read in `events.csv`).
    ShorthandStep {
        consumer: usize,
        action: &'static str,
        via: String,
    },
    /// A consumer called `subscribe()` with new topics.
    SubscriptionChanged {
        consumer: usize,
        topics: Vec<String>,
    },
    /// A consumer's per-record processing time changed (`slow`).
    ProcessingChanged {
        consumer: usize,
        mean: crate::sim::Duration,
    },
    /// KIP-848: the consumer group's epoch was bumped (a rebalance of the
    /// consumer protocol).
    EpochBumped {
        epoch: i32,
        members: usize,
        reason: String,
    },
    /// The leader computed an assignment with the group's selected
    /// assignor, which promised `promise` and may withhold partitions
    /// still owned by others when `cooperative`.
    AssignmentComputed {
        generation: i32,
        leader: String,
        protocol: String,
        promise: BalancePromise,
        cooperative: bool,
        group: Arc<GroupSpec>,
        assignment: Arc<Assignment>,
    },
    /// A consumer received partitions.
    PartitionsAssigned {
        consumer: usize,
        generation: i32,
        partitions: Vec<TopicPartition>,
    },
    /// A consumer gave partitions up (revocation callback).
    PartitionsRevoked {
        consumer: usize,
        partitions: Vec<TopicPartition>,
    },
    /// A stopped consumer's member still holds `partitions` in the
    /// coordinator (it crashed, or closed as a static member without
    /// LeaveGroup): nobody processes them until the member is removed
    /// (session expiry) or replaced (static membership).
    PartitionsOrphaned {
        consumer: usize,
        member: String,
        partitions: Vec<TopicPartition>,
    },
    /// A consumer lost partitions without revoking (fenced, crashed).
    PartitionsLost {
        consumer: usize,
        partitions: Vec<TopicPartition>,
    },
    /// A consumer fetched its committed offsets and is consuming again.
    Consuming {
        consumer: usize,
        partitions: usize,
        resets: usize,
    },
    /// A consumer's poll gap exceeded `max.poll.interval.ms`.
    PollTimeout { consumer: usize, gap_ms: u64 },
    /// The coordinator expired a member's session.
    SessionExpired { member: String },
    /// A commit was refused.
    CommitFailed { consumer: usize, error: String },
    /// A consumer's request was refused in a way that made it rejoin.
    RejoinNeeded { consumer: usize, cause: String },
    /// A consumer set a position from `auto.offset.reset`.
    OffsetReset {
        consumer: usize,
        partition: usize,
        position: u64,
    },
    /// Records `[from, to)` of a partition were processed, by a batch
    /// that started at `since` and ends now.
    Processed {
        consumer: usize,
        partition: usize,
        from: u64,
        to: u64,
        since: Time,
    },
    /// The coordinator stored a committed offset.
    CommitStored {
        partition: usize,
        offset: u64,
        /// The committing member (shared, not copied: one fact per
        /// partition of every commit).
        member: crate::coordinator::protocol::MemberId,
    },
    /// An invariant failed.
    Violation { invariant: u8, message: String },
    /// Something happened to a broker, to partition leadership, to the
    /// coordinator's location or to the network (`event` names it in
    /// `events.csv`: broker_crashed, leaders_elected, coordinator_moved,
    /// network_partitioned, ...).
    Cluster {
        event: &'static str,
        subject: String,
        detail: String,
    },
}

impl Fact {
    /// False for the high-volume facts (processing, stored commits, offset
    /// resets: one per partition) that feed the accounting but would swamp
    /// `events.csv`.
    pub fn is_logged(&self) -> bool {
        !matches!(
            self,
            Fact::Processed { .. } | Fact::CommitStored { .. } | Fact::OffsetReset { .. }
        )
    }
}
