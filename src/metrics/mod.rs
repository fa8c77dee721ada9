//! Measurements of a run: sampled time series, exact integrals (time in
//! rebalance, unowned partition-seconds), and the event log.

mod event_log;
mod ownership;

pub use event_log::{EventLog, LogRow, Namer};
pub use ownership::{OwnershipLog, OwnershipSpan};

use crate::events::{Fact, GroupState};
use crate::sim::{Duration, Time};
use serde::Serialize;

/// One row of `timeseries.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds since the start.
    pub time_s: f64,
    /// Records produced per second over the last interval.
    pub produced_per_s: f64,
    /// Records processed per second over the last interval (duplicates included).
    pub processed_per_s: f64,
    /// Sum over subscribed partitions of log-end offset minus committed offset.
    pub lag_total: u64,
    /// Largest single-partition lag.
    pub lag_max: u64,
    /// Subscribed partitions no running consumer owns.
    pub unowned_partitions: u64,
    /// Members in the group (coordinator's view).
    pub members: u64,
    /// Current generation.
    pub generation: i32,
    /// 1 while the group is rebalancing.
    pub rebalancing: u8,
    /// Records processed more than once so far.
    pub duplicates: u64,
    /// Records lost so far.
    pub lost: u64,
}

/// What the simulation measures at a sample point.
#[derive(Debug, Clone, Copy)]
pub struct SamplePoint {
    /// Total records produced to subscribed topics so far.
    pub produced: u64,
    /// Total records processed so far.
    pub processed: u64,
    /// Lag total.
    pub lag_total: u64,
    /// Lag max.
    pub lag_max: u64,
    /// Group members.
    pub members: u64,
    /// Generation.
    pub generation: i32,
    /// Duplicates so far.
    pub duplicates: u64,
    /// Lost so far.
    pub lost: u64,
}

/// Running measurements.
#[derive(Debug)]
pub struct Metrics {
    samples: Vec<Sample>,
    last_point: Option<(Time, u64, u64)>,
    owners: Vec<u32>,
    subscribed: Vec<bool>,
    unowned: u64,
    unowned_micros: u128,
    last_ownership_change: Time,
    state: GroupState,
    state_since: Time,
    rebalancing_micros: u64,
    rebalances: u32,
    rebalance_spans: Vec<(Time, Option<Time>)>,
    ownership: OwnershipLog,
}

impl Metrics {
    /// Measurements for partitions flagged by `subscribed` (dense indices).
    pub fn new(subscribed: Vec<bool>) -> Self {
        let subscribed_len = subscribed.len();
        let unowned = subscribed.iter().filter(|&&s| s).count() as u64;
        Metrics {
            samples: Vec::new(),
            last_point: None,
            owners: vec![0; subscribed.len()],
            subscribed,
            unowned,
            unowned_micros: 0,
            last_ownership_change: Time::ZERO,
            state: GroupState::Empty,
            state_since: Time::ZERO,
            rebalancing_micros: 0,
            rebalances: 0,
            rebalance_spans: Vec::new(),
            ownership: OwnershipLog::new(subscribed_len),
        }
    }

    /// Follows ownership and group state; `index_of` maps partitions to dense indices.
    pub fn observe(
        &mut self,
        now: Time,
        fact: &Fact,
        index_of: impl Fn(crate::assign::TopicPartition) -> usize,
    ) {
        match fact {
            Fact::PartitionsAssigned {
                partitions,
                consumer,
                ..
            } => {
                self.flush_unowned(now);
                for &tp in partitions {
                    let i = index_of(tp);
                    self.ownership.assigned(now, *consumer, i);
                    self.owners[i] += 1;
                    if self.owners[i] == 1 && self.subscribed[i] {
                        self.unowned -= 1;
                    }
                }
            }
            Fact::PartitionsRevoked {
                partitions,
                consumer,
            }
            | Fact::PartitionsLost {
                partitions,
                consumer,
            } => {
                self.flush_unowned(now);
                for &tp in partitions {
                    let i = index_of(tp);
                    self.ownership.released(now, *consumer, i);
                    self.owners[i] -= 1;
                    if self.owners[i] == 0 && self.subscribed[i] {
                        self.unowned += 1;
                    }
                }
            }
            Fact::StateChanged { state, .. } => self.set_state(now, *state),
            _ => {}
        }
    }

    fn flush_unowned(&mut self, now: Time) {
        self.unowned_micros +=
            u128::from(self.unowned) * u128::from(now.since(self.last_ownership_change).micros());
        self.last_ownership_change = now;
    }

    fn is_rebalancing(state: GroupState) -> bool {
        matches!(
            state,
            GroupState::PreparingRebalance | GroupState::CompletingRebalance
        )
    }

    fn set_state(&mut self, now: Time, state: GroupState) {
        let was = Self::is_rebalancing(self.state);
        let is = Self::is_rebalancing(state);
        if was {
            self.rebalancing_micros += now.since(self.state_since).micros();
        }
        if state == GroupState::PreparingRebalance && self.state != GroupState::PreparingRebalance {
            self.rebalances += 1;
        }
        if is && !was {
            self.rebalance_spans.push((now, None));
        } else if was && !is {
            if let Some(last) = self.rebalance_spans.last_mut() {
                last.1 = Some(now);
            }
        }
        self.state = state;
        self.state_since = now;
    }

    /// Adds a row to the time series.
    pub fn sample(&mut self, now: Time, point: SamplePoint) {
        let (produced_per_s, processed_per_s) = match self.last_point {
            Some((t, produced, processed)) if now > t => {
                let secs = now.since(t).as_secs_f64();
                (
                    (point.produced - produced) as f64 / secs,
                    (point.processed - processed) as f64 / secs,
                )
            }
            _ => (0.0, 0.0),
        };
        self.last_point = Some((now, point.produced, point.processed));
        self.samples.push(Sample {
            time_s: now.as_secs_f64(),
            produced_per_s: round3(produced_per_s),
            processed_per_s: round3(processed_per_s),
            lag_total: point.lag_total,
            lag_max: point.lag_max,
            unowned_partitions: self.unowned,
            members: point.members,
            generation: point.generation,
            rebalancing: u8::from(Self::is_rebalancing(self.state)),
            duplicates: point.duplicates,
            lost: point.lost,
        });
    }

    /// Closes the integrals at the end of the run.
    pub fn finish(&mut self, now: Time) {
        self.flush_unowned(now);
        let state = self.state;
        self.set_state(now, state);
    }

    /// The time series.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Times the group entered PreparingRebalance.
    pub fn rebalances(&self) -> u32 {
        self.rebalances
    }

    /// Total time spent rebalancing.
    pub fn time_in_rebalance(&self) -> Duration {
        Duration(self.rebalancing_micros)
    }

    /// Partition-seconds during which subscribed partitions had no owner.
    pub fn unowned_partition_seconds(&self) -> f64 {
        round3(self.unowned_micros as f64 / 1e6)
    }

    /// Who owned which partition when.
    pub fn ownership(&self) -> &OwnershipLog {
        &self.ownership
    }

    /// Intervals during which the group was rebalancing (end `None`: still).
    pub fn rebalance_spans(&self) -> &[(Time, Option<Time>)] {
        &self.rebalance_spans
    }
}

/// Rounds to three decimals so printed floats stay short and stable.
pub fn round3(x: f64) -> f64 {
    libm::round(x * 1000.0) / 1000.0
}
