//! rebalance-sim: a deterministic, seeded simulator of Apache Kafka
//! consumer-group rebalancing.

pub mod assign;
pub mod check;
pub mod cluster;
pub mod compare;
pub mod consumer;
pub mod coordinator;
pub mod events;
pub mod limits;
pub mod metrics;
pub mod offsets;
pub mod report;
pub mod scenario;
pub mod shrink;
pub mod sim;
pub mod simulation;
pub mod sweep;

pub use assign::Assignor;
pub use scenario::Scenario;
pub use simulation::{Engine, RunResult, Simulation, SimulationError};
