//! Subscribed partitions whose leader is unreachable — its broker is down,
//! or a network cut separates it from the partition's holder (a broker or
//! network problem) — counted apart from unowned and stalled ones (a group
//! problem): a partition can be owned and unavailable at once. Kept
//! incrementally.

use crate::sim::Time;

/// Unavailable partitions now, and their integral over time.
#[derive(Debug, Default)]
pub struct Availability {
    subscribed: Vec<bool>,
    unavailable: Vec<bool>,
    /// Its holder cannot reach its leader.
    cut_off: Vec<bool>,
    count: u64,
    micros: u128,
    last_change: Time,
}

impl Availability {
    /// Every partition available; `subscribed` flags the counted ones.
    pub fn new(subscribed: Vec<bool>) -> Self {
        Availability {
            unavailable: vec![false; subscribed.len()],
            cut_off: vec![false; subscribed.len()],
            subscribed,
            ..Availability::default()
        }
    }

    fn flush(&mut self, now: Time) {
        self.micros += u128::from(self.count) * u128::from(now.since(self.last_change).micros());
        self.last_change = now;
    }

    fn counted(&self, p: usize) -> bool {
        self.subscribed[p] && (self.unavailable[p] || self.cut_off[p])
    }

    fn update(&mut self, now: Time, p: usize, f: impl FnOnce(&mut Self)) {
        self.flush(now);
        let before = self.counted(p);
        f(self);
        match (before, self.counted(p)) {
            (false, true) => self.count += 1,
            (true, false) => self.count -= 1,
            _ => {}
        }
    }

    /// Partition `p`'s leader became unreachable, or reachable again.
    pub fn set_unavailable(&mut self, now: Time, p: usize, unavailable: bool) {
        self.update(now, p, |a| a.unavailable[p] = unavailable);
    }

    /// Partition `p`'s holder can no longer reach its leader (a network
    /// cut), or can again.
    pub fn set_cut_off(&mut self, now: Time, p: usize, cut_off: bool) {
        if self.cut_off[p] != cut_off {
            self.update(now, p, |a| a.cut_off[p] = cut_off);
        }
    }

    /// Partition `p` is now subscribed by some consumer, or no longer.
    pub fn set_subscribed(&mut self, now: Time, p: usize, subscribed: bool) {
        self.update(now, p, |a| a.subscribed[p] = subscribed);
    }

    /// Subscribed partitions unavailable now.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Unavailable partition-microseconds up to `now`.
    pub fn micros_at(&self, now: Time) -> u128 {
        self.micros + u128::from(self.count) * u128::from(now.since(self.last_change).micros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Duration;

    #[test]
    fn counts_only_subscribed_partitions_and_integrates() {
        let mut a = Availability::new(vec![true, true, false]);
        let t = |s| Time::ZERO + Duration::from_secs(s);
        a.set_unavailable(t(10), 0, true);
        a.set_unavailable(t(10), 2, true);
        assert_eq!(a.count(), 1);
        a.set_unavailable(t(20), 0, false);
        assert_eq!(a.count(), 0);
        a.set_subscribed(t(30), 2, true);
        assert_eq!(a.count(), 1);
        assert_eq!(a.micros_at(t(40)), 20_000_000);
    }
}
