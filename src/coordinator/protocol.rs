//! The classic group protocol's requests and responses, as far as the
//! simulation needs them.

use crate::assign::{MemberSpec, TopicPartition};
use crate::sim::Duration;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// A member id. The coordinator makes each id once (`new_member_id`) and
/// every request, response and timer about that member shares it: a
/// heartbeat clones a reference count, not a string (heartbeats and
/// commits are the bulk of a large group's traffic). The hash of the
/// text is computed once, with the id, so a lookup reads neither the text
/// nor rehashes it; equal ids are usually one allocation, so equality
/// checks the address first. Ids compare and order as their text does.
#[derive(Clone)]
pub struct MemberId {
    text: Arc<str>,
    /// [`text_hash`] of `text`.
    hash: u64,
}

/// A hash of a member id's text: FxHash's word-at-a-time mixing, then
/// murmur3's finaliser so every bit depends on every byte (hash tables
/// index by the low bits). Fixed: the same in every run.
fn text_hash(text: &str) -> u64 {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let mut h = text.len() as u64;
    for chunk in text.as_bytes().chunks(8) {
        let mut word = [0; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

impl MemberId {
    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The hash of the text, computed when the id was made (what
    /// [`Hash`] feeds the hasher).
    pub fn precomputed_hash(&self) -> u64 {
        self.hash
    }
}

impl Default for MemberId {
    /// The empty id ("no member id" on the wire).
    fn default() -> Self {
        MemberId::from("")
    }
}

impl Deref for MemberId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl AsRef<str> for MemberId {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl From<&str> for MemberId {
    fn from(s: &str) -> Self {
        MemberId {
            hash: text_hash(s),
            text: s.into(),
        }
    }
}

impl From<String> for MemberId {
    fn from(s: String) -> Self {
        MemberId {
            hash: text_hash(&s),
            text: s.into(),
        }
    }
}

impl From<&String> for MemberId {
    fn from(s: &String) -> Self {
        MemberId::from(s.as_str())
    }
}

impl PartialEq for MemberId {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.text, &other.text) || (self.hash == other.hash && self.text == other.text)
    }
}

impl Eq for MemberId {}

impl PartialEq<str> for MemberId {
    fn eq(&self, other: &str) -> bool {
        &*self.text == other
    }
}

impl PartialEq<&str> for MemberId {
    fn eq(&self, other: &&str) -> bool {
        &*self.text == *other
    }
}

impl PartialEq<String> for MemberId {
    fn eq(&self, other: &String) -> bool {
        *self.text == **other
    }
}

impl PartialEq<MemberId> for str {
    fn eq(&self, other: &MemberId) -> bool {
        other == self
    }
}

impl PartialEq<MemberId> for &str {
    fn eq(&self, other: &MemberId) -> bool {
        other == self
    }
}

impl PartialEq<MemberId> for String {
    fn eq(&self, other: &MemberId) -> bool {
        other == self
    }
}

impl PartialOrd for MemberId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MemberId {
    fn cmp(&self, other: &Self) -> Ordering {
        if Arc::ptr_eq(&self.text, &other.text) {
            Ordering::Equal
        } else {
            self.text.cmp(&other.text)
        }
    }
}

impl Hash for MemberId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Equal ids have equal texts, so equal precomputed hashes. (No
        // `Borrow<str>`: a `str` hashes differently.)
        state.write_u64(self.hash)
    }
}

impl fmt::Debug for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// The process's connection to the coordinator the request came on
    /// (a response on a connection that has since failed is never
    /// delivered: the client already failed its request).
    pub connection: u32,
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
    /// KIP-848: the heartbeat's member epoch is not the member's (nor the
    /// previous one with a subset of its partitions): abandon everything
    /// and rejoin with epoch 0.
    FencedMemberEpoch,
    /// KIP-848: an OffsetCommit's member epoch is not the member's.
    StaleMemberEpoch,
    /// KIP-848: another live member holds this `group.instance.id`.
    UnreleasedInstanceId,
    /// A consumer-protocol member found a classic group it may not convert
    /// (`group.consumer.migration.policy`): "is not a consumer group".
    GroupIdNotFound,
    /// The broker asked is not (or no longer) the group's coordinator.
    NotCoordinator,
    /// No broker leads the group's `__consumer_offsets` partition
    /// (FindCoordinator's answer then).
    CoordinatorNotAvailable,
    /// The coordinator is still loading the group from its log.
    CoordinatorLoadInProgress,
    /// Client side: the connection to the broker failed or a request timed
    /// out (`request.timeout.ms`), failing every request in flight on it
    /// (Kafka's `DisconnectException`).
    Disconnected,
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
            GroupError::FencedMemberEpoch => "FENCED_MEMBER_EPOCH",
            GroupError::StaleMemberEpoch => "STALE_MEMBER_EPOCH",
            GroupError::UnreleasedInstanceId => "UNRELEASED_INSTANCE_ID",
            GroupError::GroupIdNotFound => "GROUP_ID_NOT_FOUND",
            GroupError::NotCoordinator => "NOT_COORDINATOR",
            GroupError::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
            GroupError::CoordinatorLoadInProgress => "COORDINATOR_LOAD_IN_PROGRESS",
            GroupError::Disconnected => "DISCONNECTED",
        }
    }

    /// An error about reaching the coordinator, not about the member: the
    /// request is retried (after finding the coordinator again, except
    /// while it loads).
    pub fn is_coordinator_error(self) -> bool {
        matches!(
            self,
            GroupError::NotCoordinator
                | GroupError::CoordinatorNotAvailable
                | GroupError::CoordinatorLoadInProgress
                | GroupError::Disconnected
        )
    }

    /// The coordinator must be looked up again (`markCoordinatorUnknown`):
    /// every coordinator error but COORDINATOR_LOAD_IN_PROGRESS.
    pub fn loses_coordinator(self) -> bool {
        self.is_coordinator_error() && self != GroupError::CoordinatorLoadInProgress
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
        member_id: MemberId,
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
        member_id: MemberId,
        /// `group.instance.id`.
        instance_id: Option<String>,
        /// Generation the member believes in.
        generation: i32,
    },
    /// LeaveGroup.
    Leave {
        /// Member id.
        member_id: MemberId,
    },
    /// OffsetCommit.
    Commit {
        /// Member id ("" for none).
        member_id: MemberId,
        /// Generation, or the member epoch on the consumer protocol
        /// (Kafka's `generationIdOrMemberEpoch`; -1 for none).
        generation: i32,
        /// `group.instance.id`.
        instance_id: Option<String>,
        /// (dense partition index, next offset to read).
        offsets: Vec<(usize, u64)>,
        /// Matches the response to the request.
        token: u64,
    },
    /// KIP-848 `ConsumerGroupHeartbeat` (boxed: events move through the
    /// queue).
    ConsumerHeartbeat(Box<ConsumerHeartbeat>),
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
    pub member_id: MemberId,
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

/// Member epoch of a dynamic member's leave heartbeat
/// (`ConsumerGroupHeartbeatRequest.LEAVE_GROUP_MEMBER_EPOCH`).
pub const LEAVE_GROUP_MEMBER_EPOCH: i32 = -1;
/// Member epoch of a static member's temporary leave
/// (`LEAVE_GROUP_STATIC_MEMBER_EPOCH`): the coordinator keeps the member
/// and its partitions until the session times out.
pub const LEAVE_GROUP_STATIC_MEMBER_EPOCH: i32 = -2;

/// A KIP-848 `ConsumerGroupHeartbeat` request. The optional fields are
/// sent in full requests (joining, or after an error) and when they
/// changed; `None` means "unchanged".
#[derive(Debug, Clone)]
pub struct ConsumerHeartbeat {
    /// Member id: generated by the client (KIP-1082) and kept for the
    /// process's life.
    pub member_id: Arc<str>,
    /// `group.instance.id`.
    pub instance_id: Option<String>,
    /// 0 to join, the member's epoch, or a leave epoch.
    pub member_epoch: i32,
    /// `client.rack` (full requests).
    pub rack: Option<String>,
    /// `max.poll.interval.ms` (full requests).
    pub rebalance_timeout: Option<Duration>,
    /// Subscribed topic ids (full requests, or when changed).
    pub subscription: Option<crate::assign::Subscription>,
    /// `group.remote.assignor` (full requests, when set).
    pub assignor: Option<String>,
    /// Partitions the member owns (full requests, and after a
    /// reconciliation), sorted.
    pub owned: Option<Vec<TopicPartition>>,
}

/// A successful `ConsumerGroupHeartbeat` response.
#[derive(Debug, Clone)]
pub struct ConsumerHeartbeatResult {
    /// The member's epoch (negative: it left).
    pub member_epoch: i32,
    /// `group.consumer.heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    /// The member's assignment, sent when it changed or on a full
    /// request, sorted.
    pub assignment: Option<Vec<TopicPartition>>,
}

/// What a member learns from a successful JoinGroup.
#[derive(Debug, Clone)]
pub struct JoinResult {
    /// The member's id (new members learn it here).
    pub member_id: MemberId,
    /// The new generation.
    pub generation: i32,
    /// The leader's member id (Kafka's `leaderOrNull`; a successful
    /// response always names one).
    pub leader: Option<MemberId>,
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
        member_id: MemberId,
    },
    /// SyncGroup: the member's partitions.
    Sync(Result<Vec<TopicPartition>, GroupError>),
    /// Heartbeat.
    Heartbeat(Result<(), GroupError>),
    /// KIP-848 `ConsumerGroupHeartbeat`, with the epoch it was sent with.
    ConsumerHeartbeat {
        /// The request's member epoch.
        sent_epoch: i32,
        /// Outcome.
        result: Result<ConsumerHeartbeatResult, GroupError>,
    },
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
    /// OffsetFetch failed (a coordinator error).
    FetchFailed {
        /// The request's token.
        token: u64,
        /// Why.
        error: GroupError,
    },
    /// FindCoordinator: the broker hosting the group's coordinator.
    FindCoordinator(Result<u32, GroupError>),
}

impl Request {
    /// The response a request gets when `error` stops it before the
    /// group sees it (`None`: LeaveGroup, which nobody waits for).
    pub fn error_response(&self, error: GroupError) -> Option<Response> {
        Some(match self {
            Request::Join(_) => Response::Join(Err(error)),
            Request::Sync { .. } => Response::Sync(Err(error)),
            Request::Heartbeat { .. } => Response::Heartbeat(Err(error)),
            Request::Leave { .. } => return None,
            Request::Commit { token, .. } => Response::Commit {
                token: *token,
                result: Err(error),
            },
            Request::ConsumerHeartbeat(hb) => Response::ConsumerHeartbeat {
                sent_epoch: hb.member_epoch,
                result: Err(error),
            },
            Request::Fetch { token, .. } => Response::FetchFailed {
                token: *token,
                error,
            },
        })
    }

    /// How long the client waits for the answer (`request.timeout.ms`;
    /// JoinGroup: the rebalance timeout plus 5 s if longer,
    /// `AbstractCoordinator.sendJoinGroupRequest`).
    pub fn timeout(&self) -> Duration {
        const REQUEST_TIMEOUT: Duration = Duration::from_millis(30_000);
        match self {
            Request::Join(j) => {
                REQUEST_TIMEOUT.max(j.rebalance_timeout + Duration::from_millis(5_000))
            }
            _ => REQUEST_TIMEOUT,
        }
    }
}
