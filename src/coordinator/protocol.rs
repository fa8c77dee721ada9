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
