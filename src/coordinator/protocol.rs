//! The classic group protocol's requests and responses, as far as the
//! simulation needs them.

use crate::assign::{MemberSpec, TopicPartition};
use crate::sim::Duration;
use std::fmt;
use std::sync::Arc;

/// The leader's assignment as sent in SyncGroup: partitions per member id.
pub type MemberAssignments = Arc<Vec<(String, Vec<TopicPartition>)>>;

/// Where a response goes: a consumer process and its incarnation, so a
/// restarted process never receives answers meant for the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    /// Index of the consumer in the scenario.
    pub consumer: usize,
    /// Incremented at every start of the process.
    pub incarnation: u32,
}

/// Kafka error codes the group protocol uses here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupError {
    /// The member id is not (or no longer) in the group.
    UnknownMemberId,
    /// The request's generation is not the group's.
    IllegalGeneration,
    /// A rebalance is under way; rejoin.
    RebalanceInProgress,
    /// Another process took over this `group.instance.id`.
    FencedInstanceId,
    /// The member's assignors share none with the group's members.
    InconsistentGroupProtocol,
}

impl GroupError {
    /// Kafka's name for the error.
    pub fn name(self) -> &'static str {
        match self {
            GroupError::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            GroupError::IllegalGeneration => "ILLEGAL_GENERATION",
            GroupError::RebalanceInProgress => "REBALANCE_IN_PROGRESS",
            GroupError::FencedInstanceId => "FENCED_INSTANCE_ID",
            GroupError::InconsistentGroupProtocol => "INCONSISTENT_GROUP_PROTOCOL",
        }
    }
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A request from a consumer to the group coordinator.
#[derive(Debug, Clone)]
pub enum Request {
    /// JoinGroup (boxed: it is by far the largest request, and events are
    /// moved through the queue).
    Join(Box<JoinRequest>),
    /// SyncGroup; the leader sends the assignment.
    Sync {
        /// Member id.
        member_id: String,
        /// `group.instance.id`.
        instance_id: Option<String>,
        /// Generation from the JoinGroup response.
        generation: i32,
        /// The leader's assignment, per member id.
        assignment: Option<MemberAssignments>,
    },
    /// Heartbeat.
    Heartbeat {
        /// Member id.
        member_id: String,
        /// `group.instance.id`.
        instance_id: Option<String>,
        /// Generation the member believes in.
        generation: i32,
    },
    /// LeaveGroup.
    Leave {
        /// Member id.
        member_id: String,
    },
    /// OffsetCommit.
    Commit {
        /// Member id ("" for none).
        member_id: String,
        /// Generation (-1 for none).
        generation: i32,
        /// `group.instance.id`.
        instance_id: Option<String>,
        /// (dense partition index, next offset to read).
        offsets: Vec<(usize, u64)>,
        /// Matches the response to the request.
        token: u64,
    },
    /// OffsetFetch.
    Fetch {
        /// Dense partition indices.
        partitions: Vec<usize>,
        /// Matches the response to the request.
        token: u64,
    },
}

/// The body of a JoinGroup request.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// Member id; empty for a new member.
    pub member_id: String,
    /// The client's name (prefix of new member ids).
    pub client_id: String,
    /// `group.instance.id`.
    pub instance_id: Option<String>,
    /// Subscription, owned partitions, rack (what the assignor sees).
    pub metadata: MemberSpec,
    /// Assignors the member supports, in order of preference
    /// (`partition.assignment.strategy`).
    pub protocols: Vec<String>,
    /// `session.timeout.ms`.
    pub session_timeout: Duration,
    /// Rebalance timeout (`max.poll.interval.ms`).
    pub rebalance_timeout: Duration,
}

/// What a member learns from a successful JoinGroup.
#[derive(Debug, Clone)]
pub struct JoinResult {
    /// The member's id (new members learn it here).
    pub member_id: String,
    /// The new generation.
    pub generation: i32,
    /// The leader's member id (Kafka's `leaderOrNull`; a successful
    /// response always names one).
    pub leader: Option<String>,
    /// All members' metadata, for the leader only.
    pub members: Option<Arc<Vec<MemberSpec>>>,
    /// KIP-814: the leader must not compute a new assignment (a static
    /// leader rejoined without a rebalance).
    pub skip_assignment: bool,
    /// The assignor the group selected (`protocolName`).
    pub protocol: String,
}

/// A response from the coordinator.
#[derive(Debug, Clone)]
pub enum Response {
    /// JoinGroup.
    Join(Result<JoinResult, GroupError>),
    /// JoinGroup refused with MEMBER_ID_REQUIRED: the coordinator gave a
    /// new dynamic member this id to join with (and holds it as pending).
    MemberIdRequired {
        /// The member id to send in the next JoinGroup.
        member_id: String,
    },
    /// SyncGroup: the member's partitions.
    Sync(Result<Vec<TopicPartition>, GroupError>),
    /// Heartbeat.
    Heartbeat(Result<(), GroupError>),
    /// OffsetCommit.
    Commit {
        /// The request's token.
        token: u64,
        /// Outcome.
        result: Result<(), GroupError>,
    },
    /// OffsetFetch: committed offsets (None: nothing committed).
    Fetch {
        /// The request's token.
        token: u64,
        /// Per requested partition.
        offsets: Vec<(usize, Option<u64>)>,
    },
}
