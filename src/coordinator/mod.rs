//! The group coordinator on the broker side: group membership, the
//! rebalance state machine, and committed offsets.

mod classic;
pub mod consumer;
mod group;
mod offsets;
pub mod protocol;

pub use classic::{ClassicCoordinator, ClassicRecord, CoordinatorConfig, CoordinatorTimer};
pub use consumer::{ConsumerGroupConfig, ConsumerGroupCoordinator, ConsumerGroupTimer};
pub use group::{GroupCoordinator, GroupImage, GroupSetup, MigrationPolicy};
pub use offsets::OffsetStore;

use crate::events::Fact;
use crate::sim::Time;
use protocol::{Endpoint, Response};

/// What a coordinator handler wants done: responses to send, timers to
/// set, facts to report. The simulation applies it; the coordinator never
/// touches the event queue itself.
#[derive(Debug, Default)]
pub struct CoordinatorOutbox {
    /// Responses, in the order they are sent.
    pub responses: Vec<(Endpoint, Response)>,
    /// Timers to fire at the given times.
    pub timers: Vec<(Time, CoordinatorTimer)>,
    /// Consumer group (KIP-848) timers.
    pub consumer_timers: Vec<(Time, ConsumerGroupTimer)>,
    /// Facts to report.
    pub facts: Vec<Fact>,
}
