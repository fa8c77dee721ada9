//! [`Scenario::validate`]: the rules a scenario must keep, checked on the
//! value itself. A scenario read from a file already passed them with
//! located errors; this is the library's guard for scenarios built or
//! changed in code, run by `Simulation::new` before anything is simulated.

use super::raw::check_kafka_ms;
use super::validate::{Life, is_valid_name, life_at, next_life};
use super::*;
use crate::assign::SIMULATED_ASSIGNORS;
use crate::limits;
use std::collections::BTreeSet;

impl Scenario {
    /// Checks every rule the simulation relies on; the first broken one is
    /// returned as [`ScenarioError::Invalid`] naming the field.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let fail = |field: &str, message: String| {
            ScenarioError::Invalid(Box::new(Diagnostic {
                file: if self.source.is_empty() {
                    "<scenario>".into()
                } else {
                    self.source.clone()
                },
                line: 0,
                column: 0,
                field: field.into(),
                message,
                snippet: None,
                from_override: None,
            }))
        };
        self.check_run(&fail)?;
        self.check_cluster_and_topics(&fail)?;
        self.check_group(&fail)?;
        self.check_consumers(&fail)?;
        self.check_timeline(&fail)
    }

    fn check_run(&self, fail: &Fail<'_>) -> Result<(), ScenarioError> {
        if !is_valid_name(&self.name) {
            return Err(fail(
                "scenario.name",
                format!(
                    "\"{}\" is not a valid name; use 1 to 249 of a-z A-Z 0-9 . _ -",
                    self.name
                ),
            ));
        }
        for (field, d) in [
            ("scenario.duration", self.duration),
            ("scenario.sample_interval", self.sample_interval),
            ("scenario.convergence_bound", self.convergence_bound),
        ] {
            if d == Duration::ZERO {
                return Err(fail(field, "must be longer than zero".into()));
            }
        }
        // A zero quantum would mean "exact" through the back door; PosDur
        // refuses it in a file, this refuses it from the library.
        if self.fetch_quantum == Some(Duration::ZERO) {
            return Err(fail(
                "scenario.fetch_quantum",
                "must be longer than zero; leave it out for the exact model".into(),
            ));
        }
        if let Some(q) = self.fetch_quantum.filter(|&q| q >= self.duration) {
            return Err(fail(
                "scenario.fetch_quantum",
                super::validate::quantum_too_long(q, self.duration),
            ));
        }
        if self.duration.micros() / self.sample_interval.micros() > limits::MAX_SAMPLES {
            return Err(fail(
                "scenario.sample_interval",
                format!(
                    "{} over {} would write more than {} rows; use a longer interval",
                    self.sample_interval,
                    self.duration,
                    limits::MAX_SAMPLES
                ),
            ));
        }
        Ok(())
    }

    fn check_cluster_and_topics(&self, fail: &Fail<'_>) -> Result<(), ScenarioError> {
        let c = &self.cluster;
        if c.brokers == 0 || c.offsets_topic_partitions == 0 {
            return Err(fail(
                "cluster",
                "brokers and offsets_topic_partitions must be at least 1".into(),
            ));
        }
        if c.brokers > limits::MAX_BROKERS {
            return Err(fail(
                "cluster.brokers",
                format!(
                    "{} is out of range; expected 1 to {}",
                    c.brokers,
                    limits::MAX_BROKERS
                ),
            ));
        }
        if c.racks.iter().any(|r| r.trim().is_empty()) {
            return Err(fail("cluster.racks", "an empty rack name".into()));
        }
        ms(
            fail,
            "cluster.group_min_session_timeout",
            c.group_min_session_timeout,
            1,
        )?;
        ms(
            fail,
            "cluster.group_max_session_timeout",
            c.group_max_session_timeout,
            1,
        )?;
        ms(fail, "cluster.append_linger", c.append_linger, 0)?;
        ms(
            fail,
            "cluster.replication_latency",
            c.replication_latency,
            0,
        )?;
        if c.group_min_session_timeout > c.group_max_session_timeout {
            return Err(fail(
                "cluster.group_min_session_timeout",
                "is above cluster.group_max_session_timeout".into(),
            ));
        }
        if let TimeDist::Uniform { min, max } = c.network_latency {
            if min > max {
                return Err(fail("cluster.network_latency", "min is above max".into()));
            }
        }
        if self.topics.is_empty() {
            return Err(fail("topics", "at least one topic is required".into()));
        }
        let mut names = BTreeSet::new();
        let mut total = 0u64;
        for (i, t) in self.topics.iter().enumerate() {
            let field = |f: &str| format!("topics.{i}.{f}");
            if !is_valid_name(&t.name) || !names.insert(t.name.as_str()) {
                return Err(fail(
                    &field("name"),
                    format!("\"{}\" is not a valid, unique topic name", t.name),
                ));
            }
            if t.partitions == 0 || t.partitions > limits::MAX_PARTITIONS_PER_TOPIC {
                return Err(fail(
                    &field("partitions"),
                    format!(
                        "{} is out of range; expected 1 to {}",
                        t.partitions,
                        limits::MAX_PARTITIONS_PER_TOPIC
                    ),
                ));
            }
            total += u64::from(t.partitions);
            if !t.produce_rate.is_finite() || !(0.0..=1e12).contains(&t.produce_rate) {
                return Err(fail(
                    &field("produce_rate"),
                    format!("{} is out of range; expected 0 to 1e12", t.produce_rate),
                ));
            }
            if let Some(w) = &t.weights {
                if w.len() != t.partitions as usize
                    || w.iter().all(|&x| x == 0)
                    || w.iter().any(|&x| x > 1_000_000)
                {
                    return Err(fail(
                        &field("partition_weights"),
                        "one weight per partition, 0 to 1,000,000, not all 0".into(),
                    ));
                }
            }
            if let Some(TimeDist::Uniform { min, max }) = t.processing {
                if min > max {
                    return Err(fail(&field("processing"), "min is above max".into()));
                }
            }
            if let Some(load) = &t.load {
                if let Err(m) = check_load(load) {
                    return Err(fail(&field("load"), m));
                }
            }
            ms(fail, &field("linger"), t.linger, 0)?;
            if t.replication_factor == 0
                || t.replication_factor > c.brokers
                || t.replication_factor > limits::MAX_REPLICAS
            {
                return Err(fail(
                    &field("replication_factor"),
                    format!(
                        "{} is out of range; expected 1 to the {} brokers, at most {}",
                        t.replication_factor,
                        c.brokers,
                        limits::MAX_REPLICAS
                    ),
                ));
            }
        }
        if total > limits::MAX_TOTAL_PARTITIONS {
            return Err(fail(
                "topics",
                format!(
                    "more than {} partitions in all",
                    limits::MAX_TOTAL_PARTITIONS
                ),
            ));
        }
        Ok(())
    }

    fn check_group(&self, fail: &Fail<'_>) -> Result<(), ScenarioError> {
        let g = &self.group;
        if g.id.is_empty() {
            return Err(fail(
                "group.id",
                "must not be empty (the coordinator answers INVALID_GROUP_ID)".into(),
            ));
        }
        check_assignors(fail, "group.assignors", &g.assignors)?;
        ms(fail, "group.session_timeout", g.session_timeout, 1)?;
        ms(fail, "group.heartbeat_interval", g.heartbeat_interval, 1)?;
        ms(fail, "group.max_poll_interval", g.max_poll_interval, 1)?;
        ms(fail, "group.rebalance_timeout", g.rebalance_timeout, 1)?;
        ms(
            fail,
            "group.initial_rebalance_delay",
            g.initial_rebalance_delay,
            0,
        )?;
        if let CommitMode::Auto { interval } = g.commit {
            ms(fail, "group.auto_commit_interval", interval, 1)?;
        }
        let c = &self.cluster;
        if g.session_timeout < c.group_min_session_timeout
            || g.session_timeout > c.group_max_session_timeout
        {
            return Err(fail(
                "group.session_timeout",
                format!(
                    "{} is outside the broker's allowed range {}..{} (INVALID_SESSION_TIMEOUT)",
                    g.session_timeout, c.group_min_session_timeout, c.group_max_session_timeout
                ),
            ));
        }
        if g.consumer_session_timeout < c.group_consumer_min_session_timeout
            || g.consumer_session_timeout > c.group_consumer_max_session_timeout
        {
            return Err(fail(
                "group.consumer_session_timeout",
                format!(
                    "{} is outside the broker's allowed range {}..{}",
                    g.consumer_session_timeout,
                    c.group_consumer_min_session_timeout,
                    c.group_consumer_max_session_timeout
                ),
            ));
        }
        if g.consumer_heartbeat_interval < c.group_consumer_min_heartbeat_interval
            || g.consumer_heartbeat_interval > c.group_consumer_max_heartbeat_interval
            || g.consumer_heartbeat_interval >= g.consumer_session_timeout
        {
            return Err(fail(
                "group.consumer_heartbeat_interval",
                format!(
                    "{} is outside the broker's allowed range {}..{} or not below the session timeout",
                    g.consumer_heartbeat_interval,
                    c.group_consumer_min_heartbeat_interval,
                    c.group_consumer_max_heartbeat_interval
                ),
            ));
        }
        if g.heartbeat_interval >= g.session_timeout {
            return Err(fail(
                "group.heartbeat_interval",
                "must be lower than the session timeout, as Kafka's client requires".into(),
            ));
        }
        if g.max_poll_records == 0 {
            return Err(fail("group.max_poll_records", "must be at least 1".into()));
        }
        if g.topics.is_empty() {
            return Err(fail(
                "group.topics",
                "the group must subscribe to at least one topic".into(),
            ));
        }
        if let Some(t) = g
            .topics
            .iter()
            .find(|t| !self.topics.iter().any(|x| &x.name == *t))
        {
            return Err(fail("group.topics", format!("unknown topic \"{t}\"")));
        }
        Ok(())
    }

    fn check_consumers(&self, fail: &Fail<'_>) -> Result<(), ScenarioError> {
        if self.consumers.is_empty() {
            return Err(fail("consumers", "no consumers".into()));
        }
        if self.consumers.len() > limits::MAX_CONSUMERS as usize {
            return Err(fail(
                "consumers",
                format!("more than {} consumers", limits::MAX_CONSUMERS),
            ));
        }
        let mut names = BTreeSet::new();
        let mut instances = BTreeSet::new();
        for (i, c) in self.consumers.iter().enumerate() {
            if !is_valid_name(&c.name) || !names.insert(c.name.as_str()) {
                return Err(fail(
                    &format!("consumers.{i}.name"),
                    format!("\"{}\" is not a valid, unique consumer name", c.name),
                ));
            }
            if let Some(id) = &c.instance_id {
                if !is_valid_name(id) || !instances.insert(id.as_str()) {
                    return Err(fail(
                        &format!("consumers.{i}.instance_id"),
                        format!("\"{id}\" is not a valid, unique group.instance.id"),
                    ));
                }
            }
            if c.rack.as_ref().is_some_and(|r| r.trim().is_empty()) {
                return Err(fail(
                    &format!("consumers.{i}.rack"),
                    "an empty rack name".into(),
                ));
            }
            check_assignors(fail, &format!("consumers.{i}.assignors"), &c.assignors)?;
            if let TimeDist::Uniform { min, max } = c.processing {
                if min > max {
                    return Err(fail(
                        &format!("consumers.{i}.processing"),
                        "min is above max".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_timeline(&self, fail: &Fail<'_>) -> Result<(), ScenarioError> {
        let mut life: Vec<Option<Life>> = vec![None; self.consumers.len()];
        let mut previous = Duration::ZERO;
        for (k, e) in self.timeline.iter().enumerate() {
            let field = format!("timeline.{k}");
            if e.at < previous {
                return Err(fail(&field, "events must be sorted by time".into()));
            }
            previous = e.at;
            if e.at > self.duration {
                return Err(fail(
                    &field,
                    format!("{} is after the end of the run", e.at),
                ));
            }
            let Some(consumer) = self.consumers.get(e.consumer) else {
                return Err(fail(
                    &field,
                    format!(
                        "consumer index {} is out of range ({} consumers)",
                        e.consumer,
                        self.consumers.len()
                    ),
                ));
            };
            if let Some(list) = &e.assignors {
                check_assignors(fail, &format!("{field}.assignors"), list)?;
            }
            if e.action == Action::Subscribe {
                let known = |t: &String| self.topics.iter().any(|k| &k.name == t);
                if e.topics
                    .as_ref()
                    .is_none_or(|l| l.is_empty() || !l.iter().all(known))
                {
                    return Err(fail(
                        &format!("{field}.topics"),
                        "a subscribe needs one or more topics of [[topics]]".into(),
                    ));
                }
            }
            if let Action::Slow {
                processing: TimeDist::Uniform { min, max },
            } = e.action
            {
                if min > max {
                    return Err(fail(
                        &format!("{field}.processing"),
                        "min is above max".into(),
                    ));
                }
            }
            let state = life_at(life[e.consumer], consumer.starts_at_zero, e.at);
            let next =
                next_life(state, e.action, e.at, &consumer.name).map_err(|m| fail(&field, m))?;
            life[e.consumer] = Some(next);
        }
        Ok(())
    }
}

type Fail<'a> = dyn Fn(&str, String) -> ScenarioError + 'a;

fn check_assignors(
    fail: &Fail<'_>,
    field: &str,
    list: &[crate::assign::AssignorName],
) -> Result<(), ScenarioError> {
    if list.is_empty() {
        return Err(fail(field, "at least one assignor is required".into()));
    }
    for (k, a) in list.iter().enumerate() {
        if !SIMULATED_ASSIGNORS.contains(&a.as_str()) {
            return Err(fail(
                field,
                format!(
                    "\"{a}\" is not simulated in groups yet; expected {}",
                    SIMULATED_ASSIGNORS.join(", ")
                ),
            ));
        }
        if list[..k].contains(a) {
            return Err(fail(field, format!("\"{a}\" is listed twice")));
        }
    }
    Ok(())
}

fn ms(fail: &Fail<'_>, field: &str, v: Duration, min_ms: u64) -> Result<(), ScenarioError> {
    check_kafka_ms(v, min_ms).map_err(|m| fail(field, m))
}

/// The rules `load` shapes follow (as the scenario file's parser checks).
fn check_load(load: &RateShape) -> Result<(), String> {
    let rate = |r: f64| r.is_finite() && (0.0..=1e12).contains(&r);
    match load {
        RateShape::Steps(steps) => {
            if steps.first().is_none_or(|&(at, _)| at != Duration::ZERO) {
                return Err("the first step must be at 0s".into());
            }
            if steps.windows(2).any(|w| w[1].0 <= w[0].0) {
                return Err("steps must be in increasing time order".into());
            }
            if !steps.iter().all(|&(_, r)| rate(r)) {
                return Err("step rates must be 0 to 1e12".into());
            }
        }
        &RateShape::Ramp {
            from,
            to,
            start,
            end,
        } => {
            if !rate(from) || !rate(to) || end <= start {
                return Err("rates 0 to 1e12 and `end` after `start`".into());
            }
        }
        &RateShape::Bursts {
            base,
            burst,
            every,
            length,
            ..
        } => {
            if !rate(base) || !rate(burst) || length == Duration::ZERO || length > every {
                return Err("rates 0 to 1e12 and 0 < length <= every".into());
            }
        }
        &RateShape::Sine {
            mean,
            amplitude,
            period,
            ..
        } => {
            if !rate(mean) || !rate(amplitude) || amplitude > mean || period == Duration::ZERO {
                return Err("rates 0 to 1e12, amplitude <= mean, period > 0".into());
            }
        }
    }
    Ok(())
}
