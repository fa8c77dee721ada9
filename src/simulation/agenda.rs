//! The simulation's event queue, with what the fast engine needs to know
//! about each consumer's pending events: the times of the events addressed
//! to it, and how many of its requests are still on their way to a broker.
//! A consumer with nothing pending before a time can be run ahead to it
//! (`Simulation::run_ahead`). The bookkeeping is kept exactly while the
//! fast engine may run consumers ahead.

use super::Event;
use crate::sim::{EventQueue, Time};

/// The event queue and, per consumer, its pending events.
pub(super) struct Agenda {
    queue: EventQueue<Event>,
    /// The bookkeeping below is kept: the fast engine runs consumers ahead
    /// (dropped for good with the reference engine, or when nothing can
    /// be run ahead).
    tracking: bool,
    /// Per consumer: the times of queued events addressed to it, unordered
    /// (a handful: its heartbeat, poll timeout, batch end, a response).
    addressed: Vec<Vec<Time>>,
    /// Per consumer: its requests and coordinator lookups still queued.
    sending: Vec<u32>,
}

impl Agenda {
    /// An empty agenda for `consumers` consumers.
    pub(super) fn new(consumers: usize) -> Self {
        Agenda {
            queue: EventQueue::new(),
            tracking: true,
            addressed: vec![Vec::new(); consumers],
            sending: vec![0; consumers],
        }
    }

    /// Schedules `event` at `at` (see [`EventQueue::push`]).
    pub(super) fn push(&mut self, at: Time, event: Event) {
        self.note(at, &event, true);
        self.queue.push(at, event);
    }

    /// Schedules one of consumer `owner`'s own events (see
    /// [`EventQueue::push_local`]).
    pub(super) fn push_local(&mut self, at: Time, owner: u32, local: u64, event: Event) {
        self.note(at, &event, true);
        self.queue.push_local(at, owner, local, event);
    }

    /// Removes and returns the earliest event.
    pub(super) fn pop(&mut self) -> Option<(Time, Event)> {
        let (at, event) = self.queue.pop()?;
        self.note(at, &event, false);
        Some((at, event))
    }

    /// Stops the per-consumer bookkeeping (the reference engine, or a run
    /// in which nothing can be run ahead, never asks).
    pub(super) fn stop_tracking(&mut self) {
        self.tracking = false;
        self.addressed = Vec::new();
        self.sending = Vec::new();
    }

    /// Whether the bookkeeping is kept.
    pub(super) fn tracking(&self) -> bool {
        self.tracking
    }

    /// True when nothing is queued for consumer `c` at or before `until`
    /// and none of its requests is still on its way.
    pub(super) fn quiet_until(&self, c: usize, until: Time) -> bool {
        debug_assert!(self.tracking, "asked after the bookkeeping stopped");
        self.sending[c] == 0 && self.addressed[c].iter().all(|&t| t > until)
    }

    fn note(&mut self, at: Time, event: &Event, added: bool) {
        if !self.tracking {
            return;
        }
        match event {
            Event::Consumer { consumer, .. } => {
                let times = &mut self.addressed[*consumer];
                if added {
                    times.push(at);
                } else if let Some(i) = times.iter().position(|&t| t == at) {
                    times.swap_remove(i);
                } else {
                    debug_assert!(false, "an event popped that was never noted");
                }
            }
            Event::CoordinatorRequest(from, ..) | Event::FindCoordinator { from, .. } => {
                let n = &mut self.sending[from.consumer];
                if added {
                    *n += 1;
                } else {
                    *n -= 1;
                }
            }
            _ => {}
        }
    }
}
