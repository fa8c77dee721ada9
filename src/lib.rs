//! rebalance-sim: a deterministic, seeded simulator of Apache Kafka
//! consumer-group rebalancing.

pub mod assign;
pub mod scenario;
pub mod sim;
