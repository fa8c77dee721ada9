//! One timer type for every component: arming a timer hands out a fresh
//! id to schedule with; when an event carrying an id comes due, `fire`
//! says whether it is still the current arming. Re-arming or disarming
//! makes earlier events stale without removing them from the queue.

/// Identifies one arming of a [`Timer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(u64);

/// A timer that is armed at most once at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timer {
    id: u64,
    armed: bool,
}

impl Timer {
    /// Arms the timer, making any earlier arming stale.
    pub fn arm(&mut self) -> TimerId {
        self.id += 1;
        self.armed = true;
        TimerId(self.id)
    }

    /// Disarms the timer: nothing pending fires.
    pub fn disarm(&mut self) {
        self.armed = false;
    }

    /// True while an arming is pending.
    pub fn is_armed(&self) -> bool {
        self.armed
    }

    /// Whether the event for `id` is the current arming; if so the timer
    /// is now disarmed.
    pub fn fire(&mut self, id: TimerId) -> bool {
        let current = self.armed && id.0 == self.id;
        if current {
            self.armed = false;
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_latest_arming_fires_once() {
        let mut t = Timer::default();
        let a = t.arm();
        let b = t.arm();
        assert!(!t.fire(a), "re-armed: the first is stale");
        assert!(t.fire(b));
        assert!(!t.fire(b), "fires once");
        let c = t.arm();
        t.disarm();
        assert!(!t.fire(c), "disarmed");
        assert!(!t.is_armed());
    }
}
