//! Brokers up and down, and who leads each partition: the controller's
//! view (KRaft). A crashed broker still leads its partitions until the
//! controller fences it, `broker.session.timeout.ms` after its last
//! heartbeat (`BrokerHeartbeatManager`); then each of its partitions gets
//! the first live replica as leader (`PartitionChangeBuilder`, clean
//! election from the ISR), or none when no replica is alive. A controlled
//! shutdown moves leadership away before the broker stops
//! (`QuorumController` controlled shutdown). Automatic preferred-leader
//! election (`auto.leader.rebalance.enable`) moves leadership back to the
//! first replica of each partition `leader.imbalance.check.interval.seconds`
//! after leaders became imbalanced (`QuorumController
//! .maybeScheduleNextBalancePartitionLeaders`; the KRaft controller does
//! not use `leader.imbalance.per.broker.percentage`: any imbalance counts).
//!
//! Simplification: every live replica is in sync (a restarted broker
//! rejoins the ISR at once), so a partition is offline only while none of
//! its replicas runs.

use crate::sim::{Duration, Time};

/// `broker.session.timeout.ms` (KRaft): how long the controller waits
/// for a broker's heartbeat before fencing it.
pub const BROKER_SESSION_TIMEOUT: Duration = Duration::from_millis(9_000);
/// `broker.heartbeat.interval.ms`.
pub const BROKER_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(2_000);
/// `leader.imbalance.check.interval.seconds` (300).
pub const LEADER_IMBALANCE_CHECK_INTERVAL: Duration = Duration::from_secs(300);

/// One broker as the controller sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerState {
    /// Running and registered.
    Up,
    /// The process died at `at`; the controller has not noticed yet, so it
    /// still leads its partitions, which nobody can reach.
    Crashed {
        /// When it died.
        at: Time,
    },
    /// Down and fenced: it leads nothing.
    Down,
}

/// What one change did to one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaderChange {
    /// Index of the partition in the table.
    pub partition: usize,
    /// Reachable before the change.
    pub was_available: bool,
    /// Reachable after it.
    pub available: bool,
    /// The leader after the change.
    pub leader: Option<u32>,
}

/// Brokers and the leader of every partition of a table of replica sets.
#[derive(Debug, Clone)]
pub struct Leadership {
    brokers: Vec<BrokerState>,
    /// Replicas of partition `k` are `replicas[start[k]..start[k + 1]]`,
    /// the preferred leader first.
    replicas: Vec<u32>,
    start: Vec<usize>,
    leader: Vec<Option<u32>>,
}

impl Leadership {
    /// `brokers` brokers, all up, and partitions with the given replica
    /// lists (each non-empty), each led by its first replica.
    pub fn new(brokers: u32, replica_lists: impl IntoIterator<Item = Vec<u32>>) -> Self {
        let mut replicas = Vec::new();
        let mut start = vec![0];
        let mut leader = Vec::new();
        for list in replica_lists {
            debug_assert!(!list.is_empty(), "a partition has at least one replica");
            debug_assert!(list.iter().all(|&b| b < brokers));
            leader.push(list.first().copied());
            replicas.extend(list);
            start.push(replicas.len());
        }
        Leadership {
            brokers: vec![BrokerState::Up; brokers as usize],
            replicas,
            start,
            leader,
        }
    }

    /// Number of partitions in the table.
    pub fn len(&self) -> usize {
        self.leader.len()
    }

    /// True when the table has no partitions.
    pub fn is_empty(&self) -> bool {
        self.leader.is_empty()
    }

    /// The state of broker `b`.
    pub fn broker(&self, b: u32) -> BrokerState {
        self.brokers[b as usize]
    }

    /// Number of brokers.
    pub fn broker_count(&self) -> u32 {
        self.brokers.len() as u32
    }

    /// True when broker `b` runs.
    pub fn is_up(&self, b: u32) -> bool {
        self.brokers[b as usize] == BrokerState::Up
    }

    /// The replicas of partition `k`, preferred leader first.
    pub fn replicas(&self, k: usize) -> &[u32] {
        &self.replicas[self.start[k]..self.start[k + 1]]
    }

    /// The leader of partition `k` in the controller's metadata.
    pub fn leader(&self, k: usize) -> Option<u32> {
        self.leader[k]
    }

    /// True when partition `k` has a leader that runs: it can be produced
    /// to and fetched from.
    pub fn is_available(&self, k: usize) -> bool {
        self.leader[k].is_some_and(|b| self.is_up(b))
    }

    fn set_leader(&mut self, k: usize, leader: Option<u32>, changes: &mut Vec<LeaderChange>) {
        let was_available = self.is_available(k);
        let before = self.leader[k];
        self.leader[k] = leader;
        let available = self.is_available(k);
        if before != leader || was_available != available {
            changes.push(LeaderChange {
                partition: k,
                was_available,
                available,
                leader,
            });
        }
    }

    /// Partitions whose availability flips when only a broker's state
    /// changed (its leadership stayed).
    fn led_by(&self, b: u32) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).filter(move |&k| self.leader[k] == Some(b))
    }

    /// The first live replica of `k` other than `except`.
    fn live_replica(&self, k: usize, except: Option<u32>) -> Option<u32> {
        self.replicas(k)
            .iter()
            .copied()
            .find(|&r| Some(r) != except && self.is_up(r))
    }

    /// Broker `b`'s process dies at `now`: its partitions become
    /// unreachable, their leadership unchanged until it is fenced. A
    /// broker that is not up is left as it is.
    pub fn crash(&mut self, b: u32, now: Time) -> Vec<LeaderChange> {
        if !self.is_up(b) {
            return Vec::new();
        }
        self.brokers[b as usize] = BrokerState::Crashed { at: now };
        self.led_by(b)
            .map(|k| LeaderChange {
                partition: k,
                was_available: true,
                available: false,
                leader: Some(b),
            })
            .collect()
    }

    /// The controller fences crashed broker `b` and elects new leaders for
    /// its partitions. Nothing happens if `b` came back (or was fenced)
    /// meanwhile.
    pub fn fence(&mut self, b: u32) -> Vec<LeaderChange> {
        if !matches!(self.brokers[b as usize], BrokerState::Crashed { .. }) {
            return Vec::new();
        }
        self.brokers[b as usize] = BrokerState::Down;
        let mut changes = Vec::new();
        for k in self.led_by(b).collect::<Vec<_>>() {
            let next = self.live_replica(k, Some(b));
            // No live replica: Kafka keeps the last leader in the ISR and
            // the partition offline until that broker returns.
            self.set_leader(k, next.or(Some(b)), &mut changes);
        }
        changes
    }

    /// Controlled shutdown of broker `b`: leadership of each of its
    /// partitions moves to another live replica first (no outage); a
    /// partition with none goes offline. The broker is then down.
    pub fn shut_down(&mut self, b: u32) -> Vec<LeaderChange> {
        if !self.is_up(b) {
            return Vec::new();
        }
        let mut changes = Vec::new();
        for k in self.led_by(b).collect::<Vec<_>>() {
            if let Some(next) = self.live_replica(k, Some(b)) {
                self.set_leader(k, Some(next), &mut changes);
            }
        }
        let offline: Vec<usize> = self.led_by(b).collect();
        self.brokers[b as usize] = BrokerState::Down;
        for k in offline {
            changes.push(LeaderChange {
                partition: k,
                was_available: true,
                available: false,
                leader: Some(b),
            });
        }
        changes
    }

    /// Broker `b` starts again: partitions it still leads (it was not
    /// fenced yet, or no other replica was alive) are reachable again.
    pub fn restart(&mut self, b: u32) -> Vec<LeaderChange> {
        if self.is_up(b) {
            return Vec::new();
        }
        let led: Vec<usize> = self.led_by(b).collect();
        self.brokers[b as usize] = BrokerState::Up;
        led.into_iter()
            .map(|k| LeaderChange {
                partition: k,
                was_available: false,
                available: true,
                leader: Some(b),
            })
            .collect()
    }

    /// Preferred-leader election (`maybeBalancePartitionLeaders`): every
    /// partition whose first replica runs and does not lead gets it back
    /// as leader.
    pub fn rebalance_preferred(&mut self) -> Vec<LeaderChange> {
        let mut changes = Vec::new();
        for k in 0..self.len() {
            let first = self.replicas(k)[0];
            if self.leader[k] != Some(first) && self.is_up(first) {
                self.set_leader(k, Some(first), &mut changes);
            }
        }
        changes
    }

    /// True when some partition is led by another broker than its running
    /// first replica (`arePartitionLeadersImbalanced`).
    pub fn is_imbalanced(&self) -> bool {
        (0..self.len()).any(|k| {
            let first = self.replicas(k)[0];
            self.leader[k] != Some(first) && self.is_up(first)
        })
    }
}

/// When the controller fences a broker that crashed at `crashed`: its
/// last heartbeat (every `broker.heartbeat.interval.ms` from `phase`) plus
/// `broker.session.timeout.ms`.
pub fn fence_time(crashed: Time, phase: Duration) -> Time {
    let every = BROKER_HEARTBEAT_INTERVAL.micros();
    let t = crashed.micros();
    let last = if t < phase.micros() {
        t
    } else {
        t - (t - phase.micros()) % every
    };
    Time(last) + BROKER_SESSION_TIMEOUT
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three brokers, four partitions with replication factor 2 placed
    /// round-robin: [0,1], [1,2], [2,0], [0,1].
    fn table() -> Leadership {
        Leadership::new(3, [vec![0, 1], vec![1, 2], vec![2, 0], vec![0, 1]])
    }

    fn t(s: u64) -> Time {
        Time::ZERO + Duration::from_secs(s)
    }

    #[test]
    fn crash_then_fence_moves_leadership_to_the_next_replica() {
        let mut l = table();
        let down = l.crash(0, t(10));
        assert_eq!(down.iter().map(|c| c.partition).collect::<Vec<_>>(), [0, 3]);
        assert!(down.iter().all(|c| c.was_available && !c.available));
        assert!(!l.is_available(0) && l.is_available(2));
        // Partition 2 is led by broker 2: untouched.
        let elected = l.fence(0);
        assert_eq!(
            elected,
            [
                LeaderChange {
                    partition: 0,
                    was_available: false,
                    available: true,
                    leader: Some(1)
                },
                LeaderChange {
                    partition: 3,
                    was_available: false,
                    available: true,
                    leader: Some(1)
                }
            ]
        );
        assert_eq!(l.broker(0), BrokerState::Down);
        // Fencing twice does nothing.
        assert!(l.fence(0).is_empty());
    }

    #[test]
    fn a_partition_without_a_live_replica_waits_for_its_broker() {
        let mut l = Leadership::new(2, [vec![0], vec![1, 0]]);
        l.crash(0, t(1));
        let changes = l.fence(0);
        assert!(changes.is_empty(), "partition 0 stays offline: {changes:?}");
        assert!(!l.is_available(0));
        let back = l.restart(0);
        assert_eq!(back.len(), 1);
        assert!(back[0].available && back[0].leader == Some(0));
        assert!(l.is_available(0));
    }

    #[test]
    fn a_restart_before_fencing_keeps_leadership() {
        let mut l = table();
        l.crash(1, t(1));
        let back = l.restart(1);
        assert_eq!(back.iter().map(|c| c.partition).collect::<Vec<_>>(), [1]);
        // The fence timer finds it up again.
        assert!(l.fence(1).is_empty());
        assert_eq!(l.leader(1), Some(1));
    }

    #[test]
    fn controlled_shutdown_moves_leaders_without_an_outage() {
        let mut l = table();
        let changes = l.shut_down(0);
        assert_eq!(changes.len(), 2);
        assert!(changes.iter().all(|c| c.was_available && c.available));
        assert_eq!((l.leader(0), l.leader(3)), (Some(1), Some(1)));
        // Back up: leadership stays until the preferred-leader check.
        assert!(l.restart(0).is_empty());
        let moved = l.rebalance_preferred();
        assert_eq!(
            moved.iter().map(|c| c.partition).collect::<Vec<_>>(),
            [0, 3]
        );
        assert_eq!((l.leader(0), l.leader(3)), (Some(0), Some(0)));
        assert!(l.rebalance_preferred().is_empty());
    }

    #[test]
    fn a_balanced_cluster_is_left_alone() {
        let mut l = table();
        assert!(l.rebalance_preferred().is_empty());
    }

    #[test]
    fn fencing_follows_the_last_heartbeat() {
        let phase = Duration::from_millis(500);
        // Heartbeats at 0.5 s, 2.5 s, 4.5 s ...: a crash at 5 s was last
        // heard from at 4.5 s.
        assert_eq!(
            fence_time(Time::ZERO + Duration::from_secs(5), phase),
            Time::ZERO + Duration::from_millis(13_500)
        );
        // Before the first heartbeat: from the crash itself.
        assert_eq!(
            fence_time(Time::ZERO + Duration::from_millis(100), phase),
            Time::ZERO + Duration::from_millis(9_100)
        );
    }
}
