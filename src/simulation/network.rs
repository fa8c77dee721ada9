//! Message delivery between consumers and the group coordinator: each
//! message takes a latency drawn from the scenario's distribution, from a
//! per-consumer stream (adding a consumer does not change the others'
//! draws), and messages on one connection arrive in the order they were
//! sent, as over Kafka's single TCP connection to the coordinator.

use crate::consumer::{batch_time, mean_time};
use crate::scenario::TimeDist;
use crate::sim::{Duration, SimRng, Time, rng_stream};

/// One message's latency: a whole-microsecond uniform draw for the
/// default distribution (two per heartbeat, so it is kept cheap), the
/// general sampler otherwise.
fn one_latency(dist: &TimeDist, rng: &mut SimRng) -> Duration {
    match *dist {
        TimeDist::Constant(d) => d,
        TimeDist::Uniform { min, max } => {
            Duration(min.micros() + rand::Rng::random_range(rng, 0..=max.micros() - min.micros()))
        }
        _ => batch_time(dist, 1, rng),
    }
}

/// Latencies and per-connection ordering.
pub struct Network {
    latency: TimeDist,
    /// Per (consumer, broker) link latencies that differ from `latency`
    /// (`[[cluster.links]]`).
    links: Vec<crate::scenario::LinkLatency>,
    rngs: Vec<SimRng>,
    /// Latest arrival so far on each consumer's connection, per direction.
    to_coordinator: Vec<Time>,
    to_consumer: Vec<Time>,
}

impl Network {
    /// A network for consumers named `names`, with `links` overriding
    /// `latency` on some consumer-broker links.
    pub fn new(
        seed: u64,
        latency: TimeDist,
        links: Vec<crate::scenario::LinkLatency>,
        names: &[String],
    ) -> Self {
        Network {
            latency,
            links,
            rngs: names
                .iter()
                .map(|n| rng_stream(seed, &format!("network/{n}")))
                .collect(),
            to_coordinator: vec![Time::ZERO; names.len()],
            to_consumer: vec![Time::ZERO; names.len()],
        }
    }

    /// Mean one-way latency of consumer `c`'s links (fetch responses
    /// arrive this long after data is visible): its own link latency when
    /// `[[cluster.links]]` gives one for every broker or, failing that, for
    /// some broker; the cluster's otherwise.
    pub fn mean_for(&self, c: usize) -> Duration {
        if self.links.is_empty() {
            return mean_time(&self.latency);
        }
        let own = self
            .links
            .iter()
            .find(|l| l.consumer == c && l.broker.is_none())
            .or_else(|| self.links.iter().find(|l| l.consumer == c));
        mean_time(&own.map_or(self.latency, |l| l.latency))
    }

    /// The latency distribution of the link between consumer `c` and
    /// `broker`: the first `[[cluster.links]]` entry that names it.
    fn dist(&self, c: usize, broker: u32) -> TimeDist {
        self.links
            .iter()
            .find(|l| l.consumer == c && l.broker.is_none_or(|b| b == broker))
            .map_or(self.latency, |l| l.latency)
    }

    /// When a request sent by consumer `c` at `now` reaches `broker`.
    pub fn arrival_at_broker(&mut self, c: usize, broker: u32, now: Time) -> Time {
        let dist = self.dist(c, broker);
        let at = now + one_latency(&dist, &mut self.rngs[c]);
        let at = at.max(self.to_coordinator[c]);
        self.to_coordinator[c] = at;
        at
    }

    /// When a response sent by `broker` to consumer `c` at `now` reaches
    /// it.
    pub fn arrival_at_consumer(&mut self, c: usize, broker: u32, now: Time) -> Time {
        let dist = self.dist(c, broker);
        let at = now + one_latency(&dist, &mut self.rngs[c]);
        let at = at.max(self.to_consumer[c]);
        self.to_consumer[c] = at;
        at
    }
}
