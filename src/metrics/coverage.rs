//! Whether each subscribed partition is being processed, and if not, why:
//! *stalled* when its holder is paused or stalled, or when a crashed
//! member still holds it in the coordinator (dead but not yet expired);
//! *unowned* when nobody holds it at all. Counts and their integrals over
//! time are kept incrementally: each change costs what it touches.

use crate::sim::Time;
use std::collections::{BTreeMap, BTreeSet};

/// What is happening to one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionState {
    /// Not subscribed by the group: not counted.
    Ignored,
    /// A running, unblocked consumer holds it.
    Processing,
    /// Held, but by a paused or stalled consumer or a dead member.
    Stalled,
    /// Nobody holds it.
    Unowned,
}

/// Per-partition holders and per-consumer state.
#[derive(Debug)]
pub struct Coverage {
    subscribed: Vec<bool>,
    /// Holders able to process it.
    live: Vec<u32>,
    /// Holders that are paused or stalled.
    blocked: Vec<u32>,
    /// Dead members the coordinator still counts as holding it.
    dead: Vec<u32>,
    held: Vec<BTreeSet<usize>>,
    paused: Vec<bool>,
    stalled: Vec<bool>,
    /// Per dead member: (consumer, partitions, since).
    orphans: BTreeMap<String, (usize, Vec<usize>, Time)>,
    /// (partition, dead consumer, from, to) for the ownership chart.
    orphan_spans: Vec<(usize, usize, Time, Time)>,
    /// (consumer, from, to): paused or stalled, for the ownership chart.
    blocked_spans: Vec<(usize, Time, Option<Time>)>,
    unowned: u64,
    stalled_count: u64,
    unowned_micros: u128,
    stalled_micros: u128,
    last_change: Time,
    /// While a rebalance runs: the partitions that stopped being processed
    /// in it, and the most unowned at once.
    window: Option<Window>,
    /// The most subscribed partitions unowned at once, over the run.
    max_unowned: u64,
}

/// What one rebalance cost, measured while it runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    /// Partitions that were unowned or stalled at some point in it.
    pub stopped: BTreeSet<usize>,
    /// The most partitions unowned at once.
    pub max_unowned: u64,
    /// Unowned partition-microseconds when it began.
    pub unowned_micros_at_start: u128,
}

impl Coverage {
    /// Nothing held yet: every subscribed partition unowned.
    pub fn new(subscribed: Vec<bool>, consumers: usize) -> Self {
        let n = subscribed.len();
        let unowned = subscribed.iter().filter(|&&s| s).count() as u64;
        Coverage {
            subscribed,
            live: vec![0; n],
            blocked: vec![0; n],
            dead: vec![0; n],
            held: vec![BTreeSet::new(); consumers],
            paused: vec![false; consumers],
            stalled: vec![false; consumers],
            orphans: BTreeMap::new(),
            orphan_spans: Vec::new(),
            blocked_spans: Vec::new(),
            unowned,
            stalled_count: 0,
            unowned_micros: 0,
            stalled_micros: 0,
            last_change: Time::ZERO,
            window: None,
            max_unowned: unowned,
        }
    }

    /// Starts measuring a rebalance at `now`: partitions already not
    /// processed count as stopped by it.
    pub fn open_window(&mut self, now: Time) {
        self.flush(now);
        let stopped = (0..self.subscribed.len())
            .filter(|&p| {
                matches!(
                    self.state(p),
                    PartitionState::Unowned | PartitionState::Stalled
                )
            })
            .collect();
        self.window = Some(Window {
            stopped,
            max_unowned: self.unowned,
            unowned_micros_at_start: self.unowned_micros,
        });
    }

    /// Ends the rebalance measured since [`Coverage::open_window`]: what
    /// it cost, and its unowned partition-microseconds.
    pub fn close_window(&mut self, now: Time) -> Option<(Window, u128)> {
        self.flush(now);
        let w = self.window.take()?;
        let during = self.unowned_micros - w.unowned_micros_at_start;
        Some((w, during))
    }

    /// The most subscribed partitions unowned at once so far.
    pub fn max_unowned(&self) -> u64 {
        self.max_unowned
    }

    /// The state of partition `p` now.
    pub fn state(&self, p: usize) -> PartitionState {
        if !self.subscribed[p] {
            PartitionState::Ignored
        } else if self.live[p] > 0 {
            PartitionState::Processing
        } else if self.blocked[p] > 0 || self.dead[p] > 0 {
            PartitionState::Stalled
        } else {
            PartitionState::Unowned
        }
    }

    /// Subscribed partitions nobody holds, now.
    pub fn unowned(&self) -> u64 {
        self.unowned
    }

    /// Subscribed partitions held but not processed, now.
    pub fn stalled(&self) -> u64 {
        self.stalled_count
    }

    /// Integral of unowned partitions over time, in partition-microseconds.
    pub fn unowned_micros(&self) -> u128 {
        self.unowned_micros
    }

    /// Integral of stalled partitions over time, in partition-microseconds.
    pub fn stalled_micros(&self) -> u128 {
        self.stalled_micros
    }

    /// True while consumer `c` cannot process (paused or stalled).
    pub fn is_blocked(&self, c: usize) -> bool {
        self.paused[c] || self.stalled[c]
    }

    /// Brings the integrals up to `now`.
    pub fn flush(&mut self, now: Time) {
        let span = u128::from(now.since(self.last_change).micros());
        self.unowned_micros += u128::from(self.unowned) * span;
        self.stalled_micros += u128::from(self.stalled_count) * span;
        self.last_change = self.last_change.max(now);
    }

    /// Applies `change` to partition `p`, keeping the counts right.
    fn update(&mut self, p: usize, change: impl FnOnce(&mut Self)) {
        let before = self.state(p);
        change(self);
        let after = self.state(p);
        if before == after {
            return;
        }
        match before {
            PartitionState::Unowned => self.unowned -= 1,
            PartitionState::Stalled => self.stalled_count -= 1,
            _ => {}
        }
        match after {
            PartitionState::Unowned => self.unowned += 1,
            PartitionState::Stalled => self.stalled_count += 1,
            _ => {}
        }
        self.max_unowned = self.max_unowned.max(self.unowned);
        if let Some(w) = &mut self.window {
            if matches!(after, PartitionState::Unowned | PartitionState::Stalled) {
                w.stopped.insert(p);
            }
            w.max_unowned = w.max_unowned.max(self.unowned);
        }
    }

    /// Partition `p` starts or stops being subscribed by the group.
    pub fn set_subscribed(&mut self, now: Time, p: usize, subscribed: bool) {
        self.flush(now);
        self.update(p, |s| s.subscribed[p] = subscribed);
    }

    /// Consumer `c` got partitions `ps`.
    pub fn assigned(&mut self, now: Time, c: usize, ps: impl Iterator<Item = usize>) {
        self.flush(now);
        let blocked = self.is_blocked(c);
        for p in ps {
            if self.held[c].insert(p) {
                self.update(p, |s| {
                    if blocked {
                        s.blocked[p] += 1;
                    } else {
                        s.live[p] += 1;
                    }
                });
            }
        }
    }

    /// Consumer `c` gave up partitions `ps` (revoked or lost).
    pub fn released(&mut self, now: Time, c: usize, ps: impl Iterator<Item = usize>) {
        self.flush(now);
        let blocked = self.is_blocked(c);
        for p in ps {
            if self.held[c].remove(&p) {
                self.update(p, |s| {
                    if blocked {
                        s.blocked[p] -= 1;
                    } else {
                        s.live[p] -= 1;
                    }
                });
            }
        }
    }

    /// The crashed process of consumer `c`, member `member`, still holds
    /// `ps` in the coordinator.
    pub fn orphaned(&mut self, now: Time, c: usize, member: &str, ps: Vec<usize>) {
        self.flush(now);
        for &p in &ps {
            self.update(p, |s| s.dead[p] += 1);
        }
        let (_, held, _) = self
            .orphans
            .entry(member.to_string())
            .or_insert((c, Vec::new(), now));
        held.extend(ps);
    }

    /// The coordinator no longer counts `member` (removed or replaced).
    pub fn member_gone(&mut self, now: Time, member: &str) {
        if let Some((c, ps, since)) = self.orphans.remove(member) {
            self.flush(now);
            for p in ps {
                self.update(p, |s| s.dead[p] -= 1);
                self.orphan_spans.push((p, c, since, now));
            }
        }
    }

    /// Closes what is still open at the end of the run.
    pub fn finish(&mut self, now: Time) {
        self.flush(now);
        for (c, ps, since) in std::mem::take(&mut self.orphans).into_values() {
            for p in ps {
                self.orphan_spans.push((p, c, since, now));
            }
        }
        for span in &mut self.blocked_spans {
            span.2.get_or_insert(now);
        }
    }

    /// (partition, dead consumer, from, to): partitions a crashed member
    /// held in the coordinator.
    pub fn orphan_spans(&self) -> &[(usize, usize, Time, Time)] {
        &self.orphan_spans
    }

    /// (consumer, from, to): when a consumer was paused or stalled.
    pub fn blocked_spans(&self) -> &[(usize, Time, Option<Time>)] {
        &self.blocked_spans
    }

    /// Consumer `c` is paused (whole process) or not.
    pub fn set_paused(&mut self, now: Time, c: usize, paused: bool) {
        self.set_blocked(now, c, |s| s.paused[c] = paused);
    }

    /// Consumer `c`'s application thread is stalled or not.
    pub fn set_stalled(&mut self, now: Time, c: usize, stalled: bool) {
        self.set_blocked(now, c, |s| s.stalled[c] = stalled);
    }

    fn set_blocked(&mut self, now: Time, c: usize, change: impl FnOnce(&mut Self)) {
        let was = self.is_blocked(c);
        change(self);
        let is = self.is_blocked(c);
        if was == is {
            return;
        }
        if is {
            self.blocked_spans.push((c, now, None));
        } else if let Some(span) = self
            .blocked_spans
            .iter_mut()
            .rev()
            .find(|s| s.0 == c && s.2.is_none())
        {
            span.2 = Some(now);
        }
        self.flush(now);
        let held: Vec<usize> = self.held[c].iter().copied().collect();
        for p in held {
            self.update(p, |s| {
                if is {
                    s.live[p] -= 1;
                    s.blocked[p] += 1;
                } else {
                    s.blocked[p] -= 1;
                    s.live[p] += 1;
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> Time {
        Time(s * 1_000_000)
    }

    #[test]
    fn crash_pause_and_expiry_move_partitions_between_states() {
        // Partitions 0..4 subscribed, 4 not; consumers 0 and 1.
        let mut c = Coverage::new(vec![true, true, true, true, false], 2);
        assert_eq!((c.unowned(), c.stalled()), (4, 0));
        c.assigned(t(0), 0, [0, 1].into_iter());
        c.assigned(t(0), 1, [2, 3].into_iter());
        assert_eq!((c.unowned(), c.stalled()), (0, 0));
        // Consumer 1 pauses for 10 s: its two partitions are stalled.
        c.set_paused(t(10), 1, true);
        assert_eq!(c.state(2), PartitionState::Stalled);
        c.set_paused(t(20), 1, false);
        // Consumer 0 crashes: orphaned until its member is removed.
        c.orphaned(t(30), 0, "m0", vec![0, 1]);
        c.released(t(30), 0, [0, 1].into_iter());
        assert_eq!((c.unowned(), c.stalled()), (0, 2));
        c.member_gone(t(40), "m0");
        assert_eq!((c.unowned(), c.stalled()), (2, 0));
        c.flush(t(50));
        assert_eq!(c.stalled_micros(), 2 * 10_000_000 + 2 * 10_000_000);
        assert_eq!(c.unowned_micros(), 2 * 10_000_000);
        assert_eq!(c.state(4), PartitionState::Ignored);
    }

    #[test]
    fn a_stalled_consumer_that_is_also_paused_stays_blocked_until_both_end() {
        let mut c = Coverage::new(vec![true], 1);
        c.assigned(t(0), 0, [0].into_iter());
        c.set_stalled(t(1), 0, true);
        c.set_paused(t(2), 0, true);
        c.set_stalled(t(3), 0, false);
        assert_eq!(c.state(0), PartitionState::Stalled);
        c.set_paused(t(4), 0, false);
        assert_eq!(c.state(0), PartitionState::Processing);
        c.flush(t(5));
        assert_eq!(c.stalled_micros(), 3_000_000);
    }
}
