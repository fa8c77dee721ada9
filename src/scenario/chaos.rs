//! Random fault timelines (`[chaos]`): faults drawn from the run's seed,
//! written out as `[[timeline]]` entries and parsed with the scenario, so a
//! drawn run and the file `run --emit-timeline` prints are the same
//! scenario, event for event.
//!
//! Each kind of fault is a Poisson process over the window (exponential
//! gaps of mean `every`, from the stream `chaos`); kinds are drawn in a
//! fixed order, then merged by time. A fault picks its target uniformly
//! among those it can happen to at that time (a crash needs a running
//! consumer, a join a stopped one...), and is dropped when there is none.
//! Chaos leaves alone what the written timeline names: consumers with
//! written events, brokers with written broker faults, topics with
//! written `add-partitions`, so drawn and written faults never conflict.

use super::validate::{Life, life_at, next_life};
use super::*;
use crate::sim::rng_stream;
use rand::Rng;
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// A drawn fault, before it is written out.
#[derive(Debug, Clone)]
struct Drawn {
    at: Duration,
    /// `key = value` lines after `at`.
    fields: Vec<(&'static str, String)>,
}

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A consumer chaos may act on.
struct Target {
    name: String,
    starts_at_zero: bool,
    life: Option<Life>,
    cut_until: Duration,
}

impl Scenario {
    /// The faults `[chaos]` draws with `seed`, as `[[timeline]]` entries
    /// (TOML text, in time order); empty when the scenario has no
    /// `[chaos]`. Appended to the file in place of its `[chaos]` table,
    /// they make a plain scenario that runs exactly as the drawn one.
    pub fn drawn_timeline(&self, seed: u64) -> String {
        let Some(chaos) = &self.chaos else {
            return String::new();
        };
        let drawn = self.draw(chaos, seed);
        let mut out = String::new();
        for d in drawn {
            out.push_str("\n[[timeline]]\n");
            let _ = writeln!(out, "at = {}", quoted(&d.at.to_string()));
            for (k, v) in d.fields {
                let _ = writeln!(out, "{k} = {v}");
            }
        }
        out
    }

    /// This scenario with the faults `[chaos]` draws with `seed` added to
    /// its timeline (itself when it has no `[chaos]`). The faults are
    /// added to the scenario's text, which is parsed again: a scenario
    /// changed in code after loading keeps only its loaded fields here.
    pub fn draw_chaos(&self, seed: u64) -> Result<Scenario, ScenarioError> {
        if self.chaos.is_none() {
            return Ok(self.clone());
        }
        let mut text = self.text.clone();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&self.drawn_timeline(seed));
        let mut drawn = validate::load_drawn(&text, &self.source, &self.name)?;
        drawn.overrides = self.overrides.clone();
        drawn.text = self.text.clone();
        Ok(drawn)
    }

    fn draw(&self, chaos: &Chaos, seed: u64) -> Vec<Drawn> {
        let mut rng = rng_stream(seed, "chaos");
        let window = (chaos.end.micros() - chaos.start.micros()) as f64;
        let mut times: Vec<(Duration, usize)> = Vec::new();
        for (kind, f) in chaos.faults.iter().enumerate() {
            let mut t = 0.0;
            loop {
                // 1 - u is in (0, 1]: the logarithm is finite.
                let u: f64 = rng.random();
                t += -libm::log(1.0 - u) * f.every.micros() as f64;
                if t >= window {
                    break;
                }
                let at_ms = (chaos.start.micros() + t as u64) / 1000;
                times.push((Duration::from_millis(at_ms), kind));
            }
        }
        times.sort();

        let written: BTreeSet<usize> = self.timeline.iter().map(|e| e.consumer).collect();
        let mut cut_nodes: BTreeSet<usize> = BTreeSet::new();
        let mut written_brokers: BTreeSet<u32> = BTreeSet::new();
        let mut written_topics: BTreeSet<usize> = BTreeSet::new();
        for e in &self.cluster_timeline {
            match &e.action {
                ClusterAction::BrokerCrash { broker }
                | ClusterAction::BrokerShutdown { broker }
                | ClusterAction::BrokerRestart { broker } => {
                    written_brokers.insert(*broker);
                }
                ClusterAction::NetworkPartition { cut, .. }
                | ClusterAction::NetworkHeal { cut: Some(cut) } => {
                    for n in [Some(cut.from), cut.to].into_iter().flatten() {
                        if let Node::Consumer(c) = n {
                            cut_nodes.insert(c);
                        }
                    }
                }
                ClusterAction::AddPartitions { topic, .. } => {
                    written_topics.insert(*topic);
                }
                ClusterAction::NetworkHeal { cut: None } => {}
            }
        }
        let mut targets: Vec<Target> = self
            .consumers
            .iter()
            .enumerate()
            .filter(|(i, c)| c.starts_at_zero && !written.contains(i))
            .map(|(i, c)| Target {
                name: c.name.clone(),
                starts_at_zero: true,
                life: None,
                cut_until: if cut_nodes.contains(&i) {
                    Duration(u64::MAX / 2)
                } else {
                    Duration::ZERO
                },
            })
            .collect();
        let taken: BTreeSet<String> = self.consumers.iter().map(|c| c.name.clone()).collect();
        let mut joined = 0u32;
        let mut broker_up_at: Vec<Option<Duration>> = (0..self.cluster.brokers)
            .map(|b| (!written_brokers.contains(&b)).then_some(Duration::ZERO))
            .collect();
        let mut partitions: Vec<Option<u32>> = self
            .topics
            .iter()
            .enumerate()
            .map(|(i, t)| (!written_topics.contains(&i)).then_some(t.partitions))
            .collect();
        let mut total: u64 = self.topics.iter().map(|t| u64::from(t.partitions)).sum();

        let mut out: Vec<Drawn> = Vec::new();
        for (at, kind) in times {
            let kind = &chaos.faults[kind].kind;
            let life = |t: &Target| life_at(t.life, t.starts_at_zero, at);
            let consumer_action = match kind {
                ChaosKind::Crash => Some(Action::Crash),
                ChaosKind::Leave => Some(Action::Leave),
                ChaosKind::Join => Some(Action::Join),
                ChaosKind::Restart { downtime, graceful } => Some(Action::Restart {
                    downtime: *downtime,
                    graceful: *graceful,
                }),
                ChaosKind::Pause { duration } => Some(Action::Pause {
                    duration: *duration,
                }),
                ChaosKind::Stall { duration } => Some(Action::Stall {
                    duration: *duration,
                }),
                ChaosKind::Slow { .. } => Some(Action::Stall {
                    // Only its effect on the consumer's life matters here:
                    // a slow, like a stall, needs it running.
                    duration: Duration::ZERO,
                }),
                _ => None,
            };
            if let Some(a) = consumer_action {
                let able: Vec<usize> = (0..targets.len())
                    .filter(|&i| next_life(life(&targets[i]), a, at, "").is_ok())
                    .collect();
                let pick = if able.is_empty() {
                    if !matches!(kind, ChaosKind::Join)
                        || self.consumers.len() as u64 + u64::from(joined)
                            >= u64::from(crate::limits::MAX_CONSUMERS)
                    {
                        continue;
                    }
                    // Nobody to start again: a new consumer joins.
                    let name = loop {
                        joined += 1;
                        let n = format!("chaos-{joined}");
                        if !taken.contains(&n) {
                            break n;
                        }
                    };
                    targets.push(Target {
                        name,
                        starts_at_zero: false,
                        life: None,
                        cut_until: Duration::ZERO,
                    });
                    targets.len() - 1
                } else {
                    able[rng.random_range(0..able.len())]
                };
                let t = &mut targets[pick];
                let state = life_at(t.life, t.starts_at_zero, at);
                t.life = next_life(state, a, at, "").ok();
                debug_assert!(t.life.is_some(), "picked only consumers it can happen to");
                let mut fields = vec![
                    ("action", quoted(kind_action(kind))),
                    ("consumer", quoted(&t.name)),
                ];
                match kind {
                    ChaosKind::Restart { downtime, graceful } => {
                        fields.push(("downtime", quoted(&downtime.to_string())));
                        fields.push(("graceful", graceful.to_string()));
                    }
                    ChaosKind::Pause { duration } | ChaosKind::Stall { duration } => {
                        fields.push(("duration", quoted(&duration.to_string())));
                    }
                    ChaosKind::Slow { processing } => {
                        fields.push(("processing", processing.clone()));
                    }
                    _ => {}
                }
                out.push(Drawn { at, fields });
                continue;
            }
            match kind {
                ChaosKind::BrokerCrash { downtime } => {
                    let able: Vec<u32> = (0..self.cluster.brokers)
                        .filter(|&b| broker_up_at[b as usize].is_some_and(|u| u <= at))
                        .collect();
                    if able.is_empty() {
                        continue;
                    }
                    let b = able[rng.random_range(0..able.len())];
                    let back = at + *downtime;
                    broker_up_at[b as usize] = Some(back);
                    out.push(Drawn {
                        at,
                        fields: vec![
                            ("action", quoted("broker-crash")),
                            ("broker", b.to_string()),
                        ],
                    });
                    if back <= self.duration {
                        out.push(Drawn {
                            at: back,
                            fields: vec![
                                ("action", quoted("broker-restart")),
                                ("broker", b.to_string()),
                            ],
                        });
                    }
                }
                ChaosKind::NetworkPartition { duration, one_way } => {
                    let able: Vec<usize> = (0..targets.len())
                        .filter(|&i| {
                            targets[i].cut_until <= at && matches!(life(&targets[i]), Life::Running)
                        })
                        .collect();
                    if able.is_empty() {
                        continue;
                    }
                    let t = &mut targets[able[rng.random_range(0..able.len())]];
                    t.cut_until = at + *duration;
                    let mut fields = vec![
                        ("action", quoted("network-partition")),
                        ("from", quoted(&t.name)),
                        ("to", quoted("coordinator")),
                        ("duration", quoted(&duration.to_string())),
                    ];
                    if *one_way {
                        fields.push(("one_way", "true".into()));
                    }
                    out.push(Drawn { at, fields });
                }
                ChaosKind::AddPartitions { count } => {
                    let able: Vec<usize> = (0..partitions.len())
                        .filter(|&i| {
                            partitions[i].is_some_and(|p| {
                                p.checked_add(*count)
                                    .is_some_and(|n| n <= crate::limits::MAX_PARTITIONS_PER_TOPIC)
                            }) && total + u64::from(*count) <= crate::limits::MAX_TOTAL_PARTITIONS
                        })
                        .collect();
                    if able.is_empty() {
                        continue;
                    }
                    let topic = able[rng.random_range(0..able.len())];
                    let now = partitions[topic].expect("able") + count;
                    partitions[topic] = Some(now);
                    total += u64::from(*count);
                    out.push(Drawn {
                        at,
                        fields: vec![
                            ("action", quoted("add-partitions")),
                            ("topic", quoted(&self.topics[topic].name)),
                            ("partitions", now.to_string()),
                        ],
                    });
                }
                // Consumer faults are handled above.
                _ => {}
            }
        }
        // Broker restarts were drawn with their crash: into time order,
        // keeping the order of drawing at equal times.
        out.sort_by_key(|d| d.at);
        out
    }
}

/// The timeline action a consumer fault is written as.
fn kind_action(kind: &ChaosKind) -> &'static str {
    match kind {
        ChaosKind::Crash => "crash",
        ChaosKind::Restart { .. } => "restart",
        ChaosKind::Pause { .. } => "pause",
        ChaosKind::Stall { .. } => "stall",
        ChaosKind::Leave => "leave",
        ChaosKind::Join => "join",
        ChaosKind::Slow { .. } => "slow",
        ChaosKind::BrokerCrash { .. } => "broker-crash",
        ChaosKind::NetworkPartition { .. } => "network-partition",
        ChaosKind::AddPartitions { .. } => "add-partitions",
    }
}
