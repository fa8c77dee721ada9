//! The discrete-event engine: virtual time, an event queue ordered by
//! (time, insertion sequence), timers, seeded RNG streams and a trace
//! digest.
//!
//! Nothing here knows about Kafka.

mod digest;
mod queue;
mod rng;
mod time;
mod timer;

pub use digest::TraceDigest;
pub use queue::EventQueue;
pub use rng::{SimRng, rng_stream};
pub use time::{Duration, Time};
pub use timer::{Timer, TimerId};
