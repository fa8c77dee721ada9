//! The client's side of reaching the group coordinator, as Kafka's
//! `AbstractCoordinator` / `CoordinatorRequestManager` run it: which broker
//! the client believes hosts the coordinator, FindCoordinator with
//! exponential backoff (`retry.backoff.ms` 100 → `retry.backoff.max.ms`
//! 1000; Kafka adds ±20% jitter, left out here), requests held while the
//! coordinator is unknown, and the requests in flight, so a broken
//! connection or a request timeout (`request.timeout.ms`) can fail them
//! all, as `NetworkClient` does.
//!
//! Only active in runs where brokers or links can fail; otherwise every
//! request goes straight to the coordinator, as before.

use crate::coordinator::protocol::{GroupError, Request, Response};
use crate::sim::{Duration, Time, Timer};

/// `retry.backoff.ms`.
pub const RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// `retry.backoff.max.ms`.
pub const RETRY_BACKOFF_MAX: Duration = Duration::from_millis(1_000);
/// How long a FindCoordinator may go unanswered (`request.timeout.ms`).
const LOOKUP_TIMEOUT: Duration = Duration::from_millis(30_000);
/// `default.api.timeout.ms`: how long `commitSync()` retries.
pub const DEFAULT_API_TIMEOUT: Duration = Duration::from_millis(60_000);

/// `ExponentialBackoff(retry.backoff.ms, 2, retry.backoff.max.ms)` after
/// `attempts` failures (without Kafka's jitter).
pub fn backoff(attempts: u32) -> Duration {
    let factor = 1u64 << attempts.min(10);
    Duration((RETRY_BACKOFF.micros() * factor).min(RETRY_BACKOFF_MAX.micros()))
}

/// A request waiting for an answer, by what answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    /// JoinGroup.
    Join,
    /// SyncGroup.
    Sync,
    /// Heartbeat.
    Heartbeat,
    /// OffsetCommit with its token.
    Commit(u64),
    /// OffsetFetch with its token.
    Fetch(u64),
    /// ConsumerGroupHeartbeat with the epoch it was sent with.
    ConsumerHeartbeat(i32),
}

impl Pending {
    fn of(request: &Request) -> Option<Pending> {
        Some(match request {
            Request::Join(_) => Pending::Join,
            Request::Sync { .. } => Pending::Sync,
            Request::Heartbeat { .. } => Pending::Heartbeat,
            Request::Leave { .. } => return None,
            Request::Commit { token, .. } => Pending::Commit(*token),
            Request::Fetch { token, .. } => Pending::Fetch(*token),
            Request::ConsumerHeartbeat(hb) if hb.member_epoch < 0 => return None,
            Request::ConsumerHeartbeat(hb) => Pending::ConsumerHeartbeat(hb.member_epoch),
        })
    }

    fn answered_by(self, response: &Response) -> bool {
        match (self, response) {
            (Pending::Join, Response::Join(_) | Response::MemberIdRequired { .. }) => true,
            (Pending::Sync, Response::Sync(_)) => true,
            (Pending::Heartbeat, Response::Heartbeat(_)) => true,
            (Pending::Commit(t), Response::Commit { token, .. }) => t == *token,
            (
                Pending::Fetch(t),
                Response::Fetch { token, .. } | Response::FetchFailed { token, .. },
            ) => t == *token,
            (Pending::ConsumerHeartbeat(e), Response::ConsumerHeartbeat { sent_epoch, .. }) => {
                e == *sent_epoch
            }
            _ => false,
        }
    }

    /// The answer a failed connection gives this request.
    pub fn failed(self, error: GroupError) -> Response {
        match self {
            Pending::Join => Response::Join(Err(error)),
            Pending::Sync => Response::Sync(Err(error)),
            Pending::Heartbeat => Response::Heartbeat(Err(error)),
            Pending::Commit(token) => Response::Commit {
                token,
                result: Err(error),
            },
            Pending::Fetch(token) => Response::FetchFailed { token, error },
            Pending::ConsumerHeartbeat(sent_epoch) => Response::ConsumerHeartbeat {
                sent_epoch,
                result: Err(error),
            },
        }
    }
}

/// Where FindCoordinator stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    /// Not looking (the coordinator is known, or nothing asked yet).
    Idle,
    /// A FindCoordinator was sent at `sent`.
    InFlight {
        /// When.
        sent: Time,
    },
    /// The last lookup failed: the next one goes out at `until`.
    BackingOff {
        /// When.
        until: Time,
    },
}

/// The client's link to the group coordinator.
#[derive(Debug, Clone)]
pub struct CoordinatorLink {
    /// Brokers or links can fail in this run: the link is in use.
    active: bool,
    /// The broker the client sends group requests to; `None`: unknown.
    known: Option<u32>,
    lookup: Lookup,
    /// Failed lookups in a row (the backoff's exponent).
    failures: u32,
    /// Which broker the next FindCoordinator goes to (`leastLoadedNode`,
    /// here round-robin over the brokers).
    next_broker: u32,
    brokers: u32,
    /// Requests waiting for the coordinator, each not before its time.
    held: Vec<(Time, Request)>,
    /// Requests sent, not yet answered: (what answers it, deadline).
    in_flight: Vec<(Pending, Time)>,
    /// The next requests routed go out no earlier than this (a retry's
    /// backoff).
    not_before: Option<Time>,
    /// Wakes the link for a held request or a lookup retry.
    pub timer: Timer,
    /// Checks the deadlines of requests in flight.
    pub timeout_timer: Timer,
    /// Connections to the coordinator so far: bumped when one fails.
    connection: u32,
}

/// What routing asks the consumer to do.
#[derive(Debug, Default)]
pub struct Routed {
    /// Send a FindCoordinator to this broker.
    pub find_coordinator: Option<u32>,
    /// Wake the link then.
    pub wake_at: Option<Time>,
}

impl CoordinatorLink {
    /// A link for a process started at `now`, knowing the coordinator's
    /// broker if one hosts it (the first FindCoordinator is not modelled).
    pub fn new(active: bool, brokers: u32, coordinator: Option<u32>, first_broker: u32) -> Self {
        CoordinatorLink {
            active,
            known: if active { coordinator } else { None },
            lookup: Lookup::Idle,
            failures: 0,
            next_broker: first_broker,
            brokers: brokers.max(1),
            held: Vec::new(),
            in_flight: Vec::new(),
            not_before: None,
            timer: Timer::default(),
            timeout_timer: Timer::default(),
            connection: 0,
        }
    }

    /// The current connection to the coordinator (responses on an older
    /// one are dropped).
    pub fn connection(&self) -> u32 {
        self.connection
    }

    /// True when faults can happen and requests go through the link.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The broker group requests go to.
    pub fn coordinator(&self) -> Option<u32> {
        self.known
    }

    /// `markCoordinatorUnknown`.
    pub fn lose_coordinator(&mut self) {
        self.known = None;
    }

    /// The next requests wait until `at` (a retry's backoff).
    pub fn delay_next(&mut self, at: Time) {
        self.not_before = Some(self.not_before.map_or(at, |t| t.max(at)));
    }

    /// Routes the requests a handler produced, after the held ones now
    /// due: sent when the coordinator is known and no backoff holds them,
    /// held otherwise (a held classic heartbeat replaces an older one; a
    /// LeaveGroup with no coordinator is dropped, as `maybeLeaveGroup`
    /// does). Then starts a lookup if requests wait for an unknown
    /// coordinator, and says when to look at the link again.
    pub fn route(&mut self, now: Time, requests: &mut Vec<Request>) -> Routed {
        let not_before = self.not_before.take().filter(|&t| t > now);
        let mut all = Vec::new();
        if self.known.is_some() {
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
                .into_iter()
                .partition(|(at, _)| *at <= now);
            self.held = later;
            all.extend(due.into_iter().map(|(_, r)| r));
        }
        all.append(requests);
        for request in all {
            match (self.known, not_before) {
                (Some(_), None) => {
                    self.sent(now, &request);
                    requests.push(request);
                }
                (None, _) if matches!(request, Request::Leave { .. }) => {}
                (_, at) => self.hold(at.unwrap_or(now), request),
            }
        }
        self.plan(now)
    }

    fn hold(&mut self, at: Time, request: Request) {
        // The classic heartbeat thread beats every interval: one held beat
        // is enough. (A consumer-protocol member has one heartbeat out at a
        // time and waits for its answer, so its are all kept.)
        let heartbeat = |r: &Request| matches!(r, Request::Heartbeat { .. });
        if heartbeat(&request) {
            self.held.retain(|(_, r)| !heartbeat(r));
        }
        self.held.push((at, request));
    }

    fn sent(&mut self, now: Time, request: &Request) {
        if let Some(p) = Pending::of(request) {
            self.in_flight.push((p, now + request.timeout()));
        }
    }

    /// Starts a lookup when requests wait for an unknown coordinator, and
    /// says when to look at the link again.
    fn plan(&mut self, now: Time) -> Routed {
        let mut routed = Routed::default();
        if self.known.is_some() {
            routed.wake_at = self.held.iter().map(|(at, _)| *at).min();
        } else if !self.held.is_empty() {
            match self.lookup {
                Lookup::Idle => routed.find_coordinator = Some(self.start_lookup(now)),
                Lookup::BackingOff { until } if until <= now => {
                    routed.find_coordinator = Some(self.start_lookup(now))
                }
                Lookup::BackingOff { until } => routed.wake_at = Some(until),
                Lookup::InFlight { .. } => {}
            }
        }
        routed
    }

    fn start_lookup(&mut self, now: Time) -> u32 {
        let to = self.next_broker % self.brokers;
        self.next_broker = self.next_broker.wrapping_add(1);
        self.lookup = Lookup::InFlight { sent: now };
        to
    }

    /// A response arrived: it answers a request in flight (or the
    /// lookup). What it unblocks goes out at the next [`route`].
    ///
    /// [`route`]: CoordinatorLink::route
    pub fn answered(&mut self, now: Time, response: &Response) {
        if let Response::FindCoordinator(result) = response {
            if !matches!(self.lookup, Lookup::InFlight { .. }) {
                return; // a lookup that already timed out
            }
            match *result {
                Ok(broker) => {
                    self.known = Some(broker);
                    self.lookup = Lookup::Idle;
                    self.failures = 0;
                }
                Err(_) => self.lookup_failed(now),
            }
            return;
        }
        if let Some(k) = self
            .in_flight
            .iter()
            .position(|(p, _)| p.answered_by(response))
        {
            self.in_flight.remove(k);
        }
    }

    fn lookup_failed(&mut self, now: Time) {
        self.lookup = Lookup::BackingOff {
            until: now + backoff(self.failures),
        };
        self.failures += 1;
    }

    /// The connection to the coordinator failed (or timed out): the
    /// coordinator is unknown and every request in flight on it fails.
    pub fn connection_failed(&mut self) -> Vec<Pending> {
        self.known = None;
        self.connection += 1;
        std::mem::take(&mut self.in_flight)
            .into_iter()
            .map(|(p, _)| p)
            .collect()
    }

    /// The earliest deadline of a request in flight (or of the lookup).
    pub fn next_deadline(&self) -> Option<Time> {
        let lookup = match self.lookup {
            Lookup::InFlight { sent } => Some(sent + LOOKUP_TIMEOUT),
            _ => None,
        };
        self.in_flight.iter().map(|(_, d)| *d).chain(lookup).min()
    }

    /// Deadlines checked at `now`: a lookup past its deadline fails (and
    /// backs off); true when a request to the coordinator timed out.
    pub fn expired(&mut self, now: Time) -> bool {
        let lookup =
            matches!(self.lookup, Lookup::InFlight { sent } if sent + LOOKUP_TIMEOUT <= now);
        if lookup {
            self.lookup_failed(now);
        }
        self.in_flight.iter().any(|(_, d)| *d <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::protocol::MemberId;

    fn heartbeat() -> Request {
        Request::Heartbeat {
            member_id: MemberId::from("m"),
            instance_id: None,
            generation: 1,
        }
    }

    fn t(ms: u64) -> Time {
        Time::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let ms: Vec<u64> = (0..6).map(|a| backoff(a).millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1000, 1000]);
    }

    /// (state, input → output, next state) for the link.
    #[test]
    fn requests_wait_for_a_coordinator_and_lookups_back_off() {
        let mut link = CoordinatorLink::new(true, 3, Some(1), 0);
        // Known: sent at once and tracked.
        let mut out = vec![heartbeat()];
        let r = link.route(t(0), &mut out);
        assert_eq!((out.len(), r.find_coordinator), (1, None));
        assert_eq!(link.next_deadline(), Some(t(30_000)));
        // The connection fails: the heartbeat in flight fails with it.
        assert_eq!(link.connection_failed(), [Pending::Heartbeat]);
        assert_eq!(link.coordinator(), None);
        // Unknown: held, and a lookup starts.
        let mut out = vec![heartbeat()];
        let r = link.route(t(10), &mut out);
        assert!(out.is_empty());
        assert_eq!(r.find_coordinator, Some(0));
        // COORDINATOR_NOT_AVAILABLE: back off 100 ms, then ask the next broker.
        let mut out = Vec::new();
        link.answered(
            t(20),
            &Response::FindCoordinator(Err(GroupError::CoordinatorNotAvailable)),
        );
        let r = link.route(t(20), &mut out);
        assert_eq!(r.wake_at, Some(t(120)));
        let r = link.route(t(120), &mut out);
        assert_eq!(r.find_coordinator, Some(1));
        // Found: the held heartbeat goes out.
        link.answered(t(130), &Response::FindCoordinator(Ok(2)));
        let r = link.route(t(130), &mut out);
        assert_eq!((out.len(), r.find_coordinator), (1, None));
        assert_eq!(link.coordinator(), Some(2));
        // A Heartbeat response answers it.
        link.answered(t(140), &Response::Heartbeat(Ok(())));
        assert_eq!(link.next_deadline(), None);
    }

    #[test]
    fn a_backoff_delays_the_retry_and_leaves_without_coordinator_are_dropped() {
        let mut link = CoordinatorLink::new(true, 3, Some(0), 0);
        link.delay_next(t(100));
        let mut out = vec![heartbeat()];
        let r = link.route(t(0), &mut out);
        assert!(out.is_empty());
        assert_eq!(r.wake_at, Some(t(100)));
        let mut out = Vec::new();
        link.route(t(100), &mut out);
        assert_eq!(out.len(), 1);
        link.lose_coordinator();
        let mut out = vec![Request::Leave {
            member_id: MemberId::from("m"),
        }];
        let r = link.route(t(200), &mut out);
        assert!(out.is_empty() && r.find_coordinator.is_none());
    }
}
