//! Group membership as the client runs it, behind the same calls from the
//! poll loop: the classic protocol (eager and cooperative rebalancing) and
//! the KIP-848 consumer protocol.

pub mod classic;
pub mod consumer;

pub use classic::{ClassicMember, MemberState};
pub use consumer::{ModernMember, ModernState};
