//! Sizes rebalance-sim accepts, the same for scenario files, the library
//! and `assign` input, so that a typo gives a clear error instead of
//! exhausting memory.

/// Partitions of one topic.
pub const MAX_PARTITIONS_PER_TOPIC: u32 = 1_000_000;

/// Partitions of all topics together.
pub const MAX_TOTAL_PARTITIONS: u64 = 10_000_000;

/// Consumers (members) of one group.
pub const MAX_CONSUMERS: u32 = 100_000;

/// Brokers of a cluster.
pub const MAX_BROKERS: u32 = 10_000;

/// Replicas of one partition: a scenario's `replication_factor`, and the
/// racks of one `replica_racks` entry of `assign` input (rack-aware
/// assignors look at the racks of every partition, so this bounds their
/// work per partition). Far above any real replication factor.
pub const MAX_REPLICAS: u32 = 32;

/// Rows of `timeseries.csv` (duration / sample interval).
pub const MAX_SAMPLES: u64 = 1_000_000;
