//! Group membership as the client runs it. Today the classic protocol
//! with eager rebalancing; cooperative (KIP-429) and the KIP-848 consumer
//! protocol come next behind the same calls from the poll loop.

pub mod classic;

pub use classic::{ClassicMember, MemberState};
