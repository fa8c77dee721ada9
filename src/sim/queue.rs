//! The event queue: events in (time, insertion sequence) order, so events
//! at the same instant run in the order they were scheduled.
//!
//! A calendar queue of small keys; payloads sit in a slab from push to pop
//! and never move. A large run keeps hundreds of thousands of events
//! pending (every consumer's next heartbeat, poll wake-up and commit), and
//! one heap over all of them spent most of a pop on cache misses down its
//! levels. Here the next [`SPAN`] of time is a ring of buckets of about a
//! millisecond, each an unordered list of keys appended to on push; when
//! its time comes a bucket is sorted once and popped in order (`current`).
//! Events scheduled into the time already reached go to a small heap
//! (`near`); each pop takes the earlier of the two. Events beyond the ring
//! (session and join timeouts) wait in a heap (`far`) and move into the
//! ring as it reaches them.
//!
//! The order is exactly a single heap's: `current` and `near` together
//! hold every pending event before `horizon`, each ordered by (time,
//! sequence); the ring and `far` hold only events at or after it. An
//! event may be scheduled at any time, even before the last one popped
//! (it goes to `near`).

use super::Time;

/// Width of a ring bucket: 2^10 µs (about 1 ms).
const BUCKET_BITS: u32 = 10;
const WIDTH: u64 = 1 << BUCKET_BITS;
/// Buckets in the ring: 2^14, so the ring spans [`SPAN`].
const RING_BITS: u32 = 14;
const RING: usize = 1 << RING_BITS;
/// Emptied key lists kept for reuse at most.
const SPARE_LISTS: usize = 64;
/// A kept list's capacity at most (the busiest bucket's is not kept).
const SPARE_CAPACITY: usize = 256;
/// Time the ring covers from `horizon`: about 16.8 s (heartbeat, poll and
/// commit intervals fall inside it).
const SPAN: u64 = WIDTH << RING_BITS;

/// (time, insertion sequence, payload slot): ordered by time, then
/// sequence (unique, so the slot never decides).
type Key = (Time, u64, u32);

/// Sequences from [`LOCAL`] up are owners' own events: `LOCAL | owner <<
/// LOCAL_BITS | local`, for up to 2^24 owners and 2^39 events each.
const LOCAL: u64 = 1 << 63;
const LOCAL_BITS: u32 = 39;

fn local_seq(owner: u32, local: u64) -> u64 {
    debug_assert!(owner < 1 << 24, "owner {owner}");
    debug_assert!(local < 1 << LOCAL_BITS, "local {local}");
    LOCAL | (u64::from(owner) << LOCAL_BITS) | local
}

/// Pending events ordered by (time, insertion sequence).
pub struct EventQueue<E> {
    /// Payloads by slot.
    slots: Vec<Option<E>>,
    /// Free slots, the latest freed on top (reused while still in cache).
    free: Vec<u32>,
    /// Keys of the bucket before `horizon`, latest first (popped from the
    /// end).
    current: Vec<Key>,
    /// Keys of the other pending events before `horizon`.
    near: KeyHeap,
    /// Keys in `[horizon, horizon + SPAN)`, unordered, in the bucket of
    /// their `WIDTH` of time (index: time / WIDTH modulo `RING`).
    ring: Vec<Vec<Key>>,
    /// Number of keys in the ring.
    in_ring: usize,
    /// One bit per ring bucket, set while it holds keys: the next
    /// non-empty bucket is found a word (64 buckets) at a time, so an idle
    /// stretch costs nothing per empty millisecond (a sparse run, one with
    /// `fetch_quantum` say, spent a third of an example's time stepping
    /// through empty buckets).
    occupied: Vec<u64>,
    /// Emptied key lists, kept for buckets that fill again (a bucket
    /// filled from nothing grew its list from scratch, a malloc and free
    /// per bucket); at most [`SPARE_LISTS`], so memory stays bounded.
    spare_lists: Vec<Vec<Key>>,
    /// Keys at or after `horizon + SPAN`.
    far: KeyHeap,
    /// Start of the ring's first bucket (µs, a multiple of `WIDTH`).
    horizon: u64,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            slots: Vec::new(),
            free: Vec::new(),
            current: Vec::new(),
            near: KeyHeap::default(),
            ring: std::iter::repeat_with(Vec::new).take(RING).collect(),
            in_ring: 0,
            occupied: vec![0; RING / 64],
            spare_lists: Vec::new(),
            far: KeyHeap::default(),
            horizon: 0,
            next_seq: 0,
        }
    }

    /// Schedules `event` at `at`; ties run in insertion order, before
    /// every [`push_local`](Self::push_local) event at the same time.
    pub fn push(&mut self, at: Time, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        debug_assert!(seq < LOCAL, "fewer than 2^63 pushes");
        self.push_with(at, seq, event);
    }

    /// Schedules `event`, one of `owner`'s own, at `at`, as its `local`-th
    /// such event: at equal times it runs after every [`push`](Self::push)
    /// event, then by owner, then by `local`. Its place depends only on
    /// the owner's own history, not on what else was pushed meanwhile, so
    /// an event the owner handles ahead of time, without pushing it, leaves
    /// the order of the others as it was.
    pub fn push_local(&mut self, at: Time, owner: u32, local: u64, event: E) {
        self.push_with(at, local_seq(owner, local), event);
    }

    fn push_with(&mut self, at: Time, seq: u64, event: E) {
        let slot = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(event);
                i
            }
            None => {
                self.slots.push(Some(event));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 pending events")
            }
        };
        self.place((at, seq, slot));
    }

    /// Puts a key where its time belongs.
    fn place(&mut self, key: Key) {
        let t = key.0.micros();
        if t < self.horizon {
            self.near.push(key);
        } else if t - self.horizon < SPAN {
            let b = bucket_of(t);
            let bucket = &mut self.ring[b];
            if bucket.capacity() == 0 {
                if let Some(list) = self.spare_lists.pop() {
                    *bucket = list;
                }
            }
            bucket.push(key);
            self.occupied[b / 64] |= 1 << (b % 64);
            self.in_ring += 1;
        } else {
            self.far.push(key);
        }
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        let from_current = match (self.current.last(), self.near.peek()) {
            (Some(c), Some(n)) => c < n,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => {
                self.advance()?;
                true
            }
        };
        let (at, _, slot) = if from_current {
            self.current.pop()
        } else {
            self.near.pop()
        }?;
        self.free.push(slot);
        let event = self.slots[slot as usize]
            .take()
            .expect("every queued slot holds an event");
        Some((at, event))
    }

    /// With nothing pending before `horizon`: the ring's first non-empty
    /// bucket (sorted) becomes `current` and the ring moves past it, taking
    /// in the far events that now fall inside it. None when nothing at all
    /// is pending.
    fn advance(&mut self) -> Option<()> {
        debug_assert!(self.current.is_empty() && self.near.is_empty());
        if self.in_ring == 0 {
            // Nothing within the ring: move it to the next far event.
            let next = self.far.peek()?.0.micros();
            self.horizon = self.horizon.max(next & !(WIDTH - 1));
            self.refill_from_far();
        }
        // Straight to the first non-empty bucket: far events moved in while
        // passing the empty ones one by one would land in buckets already
        // passed (they lie a whole ring later), so one refill after the
        // jump moves the same ones into the same buckets.
        self.horizon += self.empty_buckets_ahead() * WIDTH;
        let bucket = bucket_of(self.horizon);
        // The bucket now stands for the time just past the ring's end.
        self.horizon += WIDTH;
        debug_assert!(!self.ring[bucket].is_empty(), "the first occupied bucket");
        // The bucket's list grows from a small spare one (handing it the
        // emptied `current` would give every bucket the capacity of the
        // busiest one).
        let spent = std::mem::take(&mut self.current);
        if spent.capacity() <= SPARE_CAPACITY && self.spare_lists.len() < SPARE_LISTS {
            self.spare_lists.push(spent);
        }
        self.current = std::mem::take(&mut self.ring[bucket]);
        self.occupied[bucket / 64] &= !(1 << (bucket % 64));
        self.in_ring -= self.current.len();
        self.refill_from_far();
        // Latest first.
        self.current.sort_unstable_by(|a, b| b.cmp(a));
        Some(())
    }

    /// How many empty buckets lie from the horizon's to the first
    /// non-empty one (some bucket holds keys: `in_ring > 0`).
    fn empty_buckets_ahead(&self) -> u64 {
        debug_assert!(self.in_ring > 0);
        let words = self.occupied.len();
        let first = bucket_of(self.horizon);
        let (word, bit) = (first / 64, first % 64);
        // The first word from the horizon's bucket on, then the others in
        // ring order, then the first word's buckets before it (wrapped).
        let here = self.occupied[word] & (u64::MAX << bit);
        if here != 0 {
            return u64::from(here.trailing_zeros()) - bit as u64;
        }
        for k in 1..words {
            let w = self.occupied[(word + k) % words];
            if w != 0 {
                return (k * 64) as u64 + u64::from(w.trailing_zeros()) - bit as u64;
            }
        }
        let wrapped = self.occupied[word] & !(u64::MAX << bit);
        debug_assert!(wrapped != 0, "some bucket is occupied");
        (words * 64) as u64 + u64::from(wrapped.trailing_zeros()) - bit as u64
    }

    /// Far events before the ring's end move into the ring.
    fn refill_from_far(&mut self) {
        let end = self.horizon.saturating_add(SPAN);
        while self.far.peek().is_some_and(|k| k.0.micros() < end) {
            if let Some(key) = self.far.pop() {
                self.place(key);
            }
        }
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<Time> {
        let before = [self.current.last(), self.near.peek()];
        if let Some(k) = before.into_iter().flatten().min() {
            return Some(k.0);
        }
        if self.in_ring > 0 {
            // The first non-empty bucket from the horizon holds the earliest.
            let first = bucket_of(self.horizon + self.empty_buckets_ahead() * WIDTH);
            return self.ring[first].iter().min().map(|k| k.0);
        }
        self.far.peek().map(|k| k.0)
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.current.len() + self.near.len() + self.in_ring + self.far.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The ring bucket of time `t` (µs).
fn bucket_of(t: u64) -> usize {
    (t >> BUCKET_BITS) as usize & (RING - 1)
}

const ARITY: usize = 4;

/// A 4-ary min-heap of keys (a node's children share a cache line).
#[derive(Default)]
struct KeyHeap {
    heap: Vec<Key>,
}

impl KeyHeap {
    fn len(&self) -> usize {
        self.heap.len()
    }

    fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    fn peek(&self) -> Option<&Key> {
        self.heap.first()
    }

    fn push(&mut self, key: Key) {
        self.heap.push(key);
        let mut i = self.heap.len() - 1;
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if self.heap[parent] <= key {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = key;
    }

    fn pop(&mut self) -> Option<Key> {
        let last = self.heap.pop()?;
        if self.heap.is_empty() {
            return Some(last);
        }
        let top = self.heap[0];
        // Sift `last` down from the root.
        let n = self.heap.len();
        let mut i = 0;
        loop {
            let first = i * ARITY + 1;
            if first >= n {
                break;
            }
            let end = (first + ARITY).min(n);
            let mut best = first;
            for c in first + 1..end {
                if self.heap[c] < self.heap[best] {
                    best = c;
                }
            }
            if self.heap[best] >= last {
                break;
            }
            self.heap[i] = self.heap[best];
            i = best;
        }
        self.heap[i] = last;
        Some(top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_insertion_order() {
        let mut q = EventQueue::new();
        q.push(Time(5), "b");
        q.push(Time(1), "a");
        q.push(Time(5), "c");
        q.push(Time(5), "d");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
    }

    #[test]
    fn owners_events_run_after_the_others_at_equal_times_by_owner_then_count() {
        let mut q = EventQueue::new();
        q.push_local(Time(5), 2, 0, "owner 2, first");
        q.push_local(Time(5), 1, 7, "owner 1, 7th");
        q.push(Time(5), "global, first");
        q.push_local(Time(5), 1, 3, "owner 1, 3rd");
        q.push_local(Time(4), 9, 0, "earlier");
        q.push(Time(5), "global, second");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(
            order,
            [
                "earlier",
                "global, first",
                "global, second",
                "owner 1, 3rd",
                "owner 1, 7th",
                "owner 2, first"
            ]
        );
    }

    /// Random pushes (`spread` µs around the last pop, earlier ones
    /// included) and pops, against an ordered set.
    fn matches_an_ordered_set(spread: u64, seed: u64) {
        let mut q = EventQueue::new();
        let mut reference = std::collections::BTreeSet::new();
        let mut x: u64 = seed;
        let mut now = 0;
        for i in 0..20_000u64 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let t = Time((now + (x >> 33) % spread).saturating_sub(spread / 8));
            q.push(t, i);
            reference.insert((t, i));
            assert_eq!(q.len(), reference.len());
            if x % 3 == 0 {
                assert_eq!(q.peek_time(), reference.first().map(|e| e.0));
                let first = reference.pop_first();
                assert_eq!(q.pop(), first);
                now = first.map_or(now, |(t, _)| t.micros());
            }
        }
        while let Some(first) = reference.pop_first() {
            assert_eq!(q.peek_time(), Some(first.0));
            assert_eq!(q.pop(), Some(first));
        }
        assert!(q.is_empty());
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn every_pop_is_the_smallest_pending_time_and_insertion() {
        // Within a bucket, across the ring, and beyond it (far events).
        for (spread, seed) in [(300, 7), (50_000, 8), (3 * SPAN, 9), (400 * SPAN, 10)] {
            matches_an_ordered_set(spread, seed);
        }
    }

    #[test]
    fn buckets_a_whole_ring_ahead_come_after_the_others() {
        // After a pop in bucket 100 the ring starts at bucket 101: bucket
        // 70 and 100 (the same occupancy word, before the horizon's bit)
        // now stand for times a ring later than bucket 120.
        let mut q = EventQueue::new();
        q.push(Time(100 * WIDTH + 5), "now");
        assert_eq!(q.pop(), Some((Time(100 * WIDTH + 5), "now")));
        q.push(Time(100 * WIDTH + SPAN), "ring later, bucket 100");
        q.push(Time(70 * WIDTH + SPAN + 1), "ring later, bucket 70");
        q.push(Time(120 * WIDTH), "bucket 120");
        q.push(Time(5000 * WIDTH), "another word");
        assert_eq!(q.peek_time(), Some(Time(120 * WIDTH)));
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(
            order,
            [
                "bucket 120",
                "another word",
                "ring later, bucket 70",
                "ring later, bucket 100"
            ]
        );
        assert!(q.is_empty());
    }

    #[test]
    fn an_idle_gap_jumps_to_the_next_far_event() {
        let mut q = EventQueue::new();
        q.push(Time(10 * SPAN + 3), "late");
        q.push(Time(2), "early");
        q.push(Time(10 * SPAN + 3), "late, second");
        assert_eq!(q.pop(), Some((Time(2), "early")));
        assert_eq!(q.pop(), Some((Time(10 * SPAN + 3), "late")));
        // Before the horizon now, but still in order.
        q.push(Time(5), "in the past");
        assert_eq!(q.pop(), Some((Time(5), "in the past")));
        assert_eq!(q.pop(), Some((Time(10 * SPAN + 3), "late, second")));
        assert_eq!(q.pop(), None);
    }
}
