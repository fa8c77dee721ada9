//! Invariants (design §4), one checker per invariant, each in its own file:
//! 1. [`assignment`]: every assignment gives each partition to at most one
//!    member, only to subscribers, and (eager) assigns every subscribed
//!    partition;
//! 3. [`committed`]: committed offsets never go backwards;
//! 4. [`at_least_once`]: under at-least-once settings no record is lost;
//! 5. [`convergence`]: after the last fault the group converges within a
//!    bound, and stays converged;
//! 6. [`promise`]: the assignor keeps its balance promise.
//!
//! (Invariant 2 comes with cooperative rebalancing.) [`Checker`] feeds
//! every fact to every checker, asks 4 and 5 when the simulation says, and
//! keeps the violations.

pub mod assignment;
pub mod at_least_once;
pub mod committed;
pub mod convergence;
pub mod exclusive;
pub mod promise;

pub use assignment::check_assignment_validity;

use crate::events::{Fact, GroupState};
use crate::offsets::OffsetLedger;
use crate::sim::{Duration, Time};
use assignment::AssignmentCheck;
use at_least_once::AtLeastOnceCheck;
use committed::CommittedCheck;
use convergence::{ConvergenceCheck, GroupAtBound};
use exclusive::ExclusiveCheck;
use promise::PromiseCheck;
use serde::Serialize;

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// When it was detected (ms).
    pub time_ms: u64,
    /// Invariant number, as in the design.
    pub invariant: u8,
    /// What went wrong.
    pub message: String,
    /// Set when Kafka itself breaks the invariant this way: the simulator
    /// reproduces Kafka's behaviour on purpose, it is not a fault of the
    /// model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kafka_defect: Option<KafkaDefect>,
}

/// A way in which Apache Kafka itself breaks one of the invariants, read
/// in its sources and reproduced as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KafkaDefect {
    /// The eager `sticky` assignor gives a partition back to its previous
    /// owner, taken from that member's own user data of an older
    /// generation, without checking that the member still subscribes to
    /// its topic: `AbstractStickyAssignor.GeneralAssignmentBuilder`
    /// (`prepopulateCurrentAssignments` keeps every claimed partition in
    /// `prevAssignment`; `performReassignments` moves it back to its
    /// previous owner when that owner holds fewer). The member refuses the
    /// assignment and rejoins (`ConsumerCoordinator.onJoinComplete`,
    /// "received assignment does not match the current subscription"),
    /// and as long as its user data is unchanged the next assignment is
    /// the same: the partition is not consumed.
    StickyReturnsUnsubscribedPartition,
}

impl KafkaDefect {
    /// Its name in summary.json.
    pub fn id(self) -> &'static str {
        match self {
            KafkaDefect::StickyReturnsUnsubscribedPartition => {
                "sticky-returns-unsubscribed-partition"
            }
        }
    }

    /// The distinct defects among `violations`, in order of first sight.
    pub fn among(violations: &[Violation]) -> Vec<KafkaDefect> {
        let mut seen = Vec::new();
        for d in violations.iter().filter_map(|v| v.kafka_defect) {
            if !seen.contains(&d) {
                seen.push(d);
            }
        }
        seen
    }

    /// One sentence for reports.
    pub fn explanation(self) -> &'static str {
        match self {
            KafkaDefect::StickyReturnsUnsubscribedPartition => {
                "Kafka's StickyAssignor does this: it gives a partition back to its previous \
                 owner from that member's old user data without checking its subscription \
                 (AbstractStickyAssignor.performReassignments); the member refuses the \
                 assignment and rejoins, and the partition is not consumed meanwhile"
            }
        }
    }
}

/// The checker of one invariant.
pub trait InvariantCheck {
    /// The invariant's number, as in the design.
    fn invariant(&self) -> u8;

    /// Looks at one fact; returns what it breaks, if anything.
    /// `partition_name` names a partition by its dense index. Checkers
    /// that the simulation asks at set moments instead (4 at the end of the
    /// run, 5 at its bound) keep this default: no single fact decides them.
    fn observe(&mut self, fact: &Fact, partition_name: &dyn Fn(usize) -> String) -> Option<String> {
        let _ = (fact, partition_name);
        None
    }

    /// Whether the violation `observe` just returned is one Kafka commits
    /// itself (asked once per violation).
    fn take_kafka_defect(&mut self) -> Option<KafkaDefect> {
        None
    }
}

/// Watches facts and reports violations: a dispatcher over one checker
/// per invariant.
#[derive(Debug)]
pub struct Checker {
    assignment: AssignmentCheck,
    committed: CommittedCheck,
    at_least_once: AtLeastOnceCheck,
    exclusive: ExclusiveCheck,
    convergence: ConvergenceCheck,
    promise: PromiseCheck,
    violations: Vec<Violation>,
}

/// Most violations kept in full; later ones are only counted.
const MAX_KEPT: usize = 100;

impl Checker {
    /// A checker for `partitions` partitions, an assignor promising
    /// `promise`, and a run whose last fault ends at `last_fault_end` with
    /// `convergence_bound` to converge after it.
    pub fn new(partitions: usize, last_fault_end: Time, convergence_bound: Duration) -> Self {
        Checker {
            assignment: AssignmentCheck::default(),
            committed: CommittedCheck::new(partitions),
            at_least_once: AtLeastOnceCheck,
            exclusive: ExclusiveCheck::new(partitions),
            convergence: ConvergenceCheck::new(last_fault_end, convergence_bound),
            promise: PromiseCheck,
            violations: Vec::new(),
        }
    }

    /// The checkers in invariant order, which is the order of the
    /// violations one fact reveals.
    fn checks(&mut self) -> [&mut dyn InvariantCheck; 5] {
        [
            &mut self.assignment,
            &mut self.committed,
            &mut self.at_least_once,
            &mut self.convergence,
            &mut self.promise,
        ]
    }

    /// Looks at one fact; returns the violations it reveals.
    pub fn observe(
        &mut self,
        now: Time,
        fact: &Fact,
        partition_name: impl Fn(usize) -> String,
    ) -> Vec<Fact> {
        let mut found = Vec::new();
        for check in self.checks() {
            if let Some(message) = check.observe(fact, &partition_name) {
                found.push((check.invariant(), message, check.take_kafka_defect()));
            }
        }
        found
            .into_iter()
            .map(|(invariant, message, defect)| self.record_with(now, invariant, message, defect))
            .collect()
    }

    /// Looks at a stored commit, which only invariant 3 watches: what
    /// [`Checker::observe`] returns for it, without asking the others.
    pub fn commit_stored(
        &mut self,
        now: Time,
        fact: &Fact,
        partition_name: impl Fn(usize) -> String,
    ) -> Option<Fact> {
        debug_assert!(matches!(fact, Fact::CommitStored { .. }));
        let message = self.committed.observe(fact, &partition_name)?;
        let defect = self.committed.take_kafka_defect();
        Some(self.record_with(now, self.committed.invariant(), message, defect))
    }

    /// Invariant 2: a current member processed `p` over `since..now`.
    #[allow(clippy::too_many_arguments)]
    pub fn processed(
        &mut self,
        now: Time,
        consumer: usize,
        p: usize,
        since: Time,
        name: &dyn Fn(usize) -> String,
        partition: &dyn Fn(usize) -> String,
    ) -> Option<Fact> {
        let message = self
            .exclusive
            .processed(consumer, p, since, now, name, partition)?;
        Some(self.record(now, 2, message))
    }

    /// Invariant 4 at the end of the run (`end`), on the run's ledger.
    pub fn at_end(&mut self, end: Time, ledger: &OffsetLedger) -> Option<Fact> {
        let message = self.at_least_once.at_end(ledger)?;
        Some(self.record(end, self.at_least_once.invariant(), message))
    }

    /// Invariant 5 when its bound has passed (`now`).
    pub fn convergence_at_bound(&mut self, now: Time, group: &GroupAtBound) -> Option<Fact> {
        let message = self.convergence.at_bound(now, group)?;
        Some(self.record(now, self.convergence.invariant(), message))
    }

    /// Invariant 5 after its bound, on a membership change at `now`:
    /// convergence went from `was` to `is`, the coordinator is in `state`.
    pub fn convergence_after_bound(
        &mut self,
        now: Time,
        was: bool,
        is: bool,
        state: GroupState,
    ) -> Option<Fact> {
        let message = self.convergence.after_bound(now, was, is, state)?;
        Some(self.record(now, self.convergence.invariant(), message))
    }

    /// Records a violation of `invariant` found at `now`; returns the fact
    /// that reports it.
    pub fn record(&mut self, now: Time, invariant: u8, message: String) -> Fact {
        self.record_with(now, invariant, message, None)
    }

    fn record_with(
        &mut self,
        now: Time,
        invariant: u8,
        message: String,
        kafka_defect: Option<KafkaDefect>,
    ) -> Fact {
        debug_assert!((1..=6).contains(&invariant), "invariant {invariant}");
        if self.violations.len() < MAX_KEPT {
            self.violations.push(Violation {
                time_ms: now.millis(),
                invariant,
                message: message.clone(),
                kafka_defect,
            });
        }
        Fact::Violation { invariant, message }
    }

    /// Violations so far (the first [`MAX_KEPT`]).
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }
}

/// Builders shared by the checkers' tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::InvariantCheck;
    use crate::assign::{
        Assignment, BalancePromise, GroupSpec, NamedMember, TopicPartition, TopicSpec,
    };
    use crate::events::Fact;
    use std::sync::Arc;

    /// A group over `topics` (name, partitions) whose `members` (id,
    /// subscribed topics) keep their order.
    pub fn group(topics: &[(&str, u32)], members: &[(&str, &[&str])]) -> GroupSpec {
        GroupSpec::from_named(
            topics.iter().map(|&(n, p)| TopicSpec::new(n, p)).collect(),
            members
                .iter()
                .map(|&(id, topics)| NamedMember {
                    id: id.into(),
                    instance_id: None,
                    rack: None,
                    topics: topics.iter().map(|t| t.to_string()).collect(),
                    owned: Vec::new(),
                    generation: None,
                })
                .collect(),
        )
        .expect("known topics")
    }

    /// One partition list per member, as in [`Assignment::per_member`].
    pub type Lists = Vec<Vec<TopicPartition>>;

    /// The leader's result for generation 1, as the coordinator reports it.
    pub fn computed(group: &GroupSpec, per_member: Lists) -> Fact {
        computed_by(group, per_member, BalancePromise::PerTopic, false)
    }

    /// As [`computed`], by an assignor promising `promise`, cooperative or
    /// not.
    pub fn computed_by(
        group: &GroupSpec,
        per_member: Lists,
        promise: BalancePromise,
        cooperative: bool,
    ) -> Fact {
        Fact::AssignmentComputed {
            generation: 1,
            leader: group.members[0].id.clone(),
            protocol: "test".into(),
            promise,
            cooperative,
            group: Arc::new(group.clone()),
            assignment: Arc::new(Assignment { per_member }),
        }
    }

    /// Feeds `facts` to `check` in order; returns the messages, partitions
    /// named `p<index>`.
    pub fn feed(check: &mut dyn InvariantCheck, facts: &[Fact]) -> Vec<String> {
        facts
            .iter()
            .filter_map(|f| check.observe(f, &|p| format!("p{p}")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{computed, group};
    use super::*;
    use crate::assign::TopicPartition;

    #[test]
    fn a_kafka_defect_is_named_in_json_as_in_reports() {
        let d = KafkaDefect::StickyReturnsUnsubscribedPartition;
        let json = serde_json::to_string(&d).expect("serializes");
        assert_eq!(json, format!("\"{}\"", d.id()));
        let plain = Violation {
            time_ms: 1,
            invariant: 1,
            message: "m".into(),
            kafka_defect: None,
        };
        let json = serde_json::to_string(&plain).expect("serializes");
        assert!(!json.contains("kafka_defect"), "{json}");
    }

    fn checker() -> Checker {
        Checker::new(
            2,
            Time::ZERO + Duration::from_secs(20),
            Duration::from_secs(10),
        )
    }

    fn kept(c: &Checker) -> Vec<(u64, u8, &str)> {
        c.violations()
            .iter()
            .map(|v| (v.time_ms, v.invariant, v.message.as_str()))
            .collect()
    }

    fn name(p: usize) -> String {
        format!("p{p}")
    }

    #[test]
    fn a_fact_breaking_two_invariants_reports_both_in_invariant_order() {
        let g = group(&[("t", 4)], &[("a", &["t"]), ("b", &["t"])]);
        let t = |p| TopicPartition::new(0, p);
        let mut c = checker();
        let now = Time::ZERO + Duration::from_millis(1500);
        // t-3 twice (1), and 4 partitions against 1 (6).
        let bad = computed(&g, vec![vec![t(0), t(1), t(2), t(3)], vec![t(3)]]);
        let facts = c.observe(now, &bad, name);
        let numbers: Vec<u8> = facts
            .iter()
            .map(|f| match f {
                Fact::Violation { invariant, .. } => *invariant,
                other => panic!("not a violation: {other:?}"),
            })
            .collect();
        assert_eq!(numbers, [1, 6]);
        assert_eq!(
            kept(&c),
            [
                (1500, 1, "generation 1: t-3 is assigned to both a and b"),
                (
                    1500,
                    6,
                    "generation 1: balance promise broken: topic t: member a has 4 partitions but member b has 1"
                ),
            ]
        );
    }

    /// The simulation's fast path for stored commits reports what the
    /// general one does, violation facts included.
    #[test]
    fn a_stored_commit_reports_the_same_through_either_path() {
        let commit = |offset: u64| Fact::CommitStored {
            partition: 1,
            offset,
            member: "a".into(),
        };
        let at = Time::ZERO + Duration::from_secs(3);
        let (mut general, mut fast) = (checker(), checker());
        for offset in [7, 9, 4, 4, 8, 2] {
            let by_observe: Vec<String> = general
                .observe(at, &commit(offset), name)
                .iter()
                .map(|f| format!("{f:?}"))
                .collect();
            let by_fast: Vec<String> = fast
                .commit_stored(at, &commit(offset), name)
                .iter()
                .map(|f| format!("{f:?}"))
                .collect();
            assert_eq!(by_fast, by_observe, "offset {offset}");
        }
        assert_eq!(kept(&fast), kept(&general));
        assert_eq!(
            kept(&fast),
            [
                (
                    3000,
                    3,
                    "committed offset of p1 went back from 9 to 4 (commit by a)"
                ),
                (
                    3000,
                    3,
                    "committed offset of p1 went back from 8 to 2 (commit by a)"
                ),
            ]
        );
    }

    #[test]
    fn facts_breaking_nothing_report_nothing() {
        let g = group(&[("t", 4)], &[("a", &["t"]), ("b", &["t"])]);
        let t = |p| TopicPartition::new(0, p);
        let mut c = checker();
        let facts = [
            computed(&g, vec![vec![t(0), t(1)], vec![t(2), t(3)]]),
            Fact::CommitStored {
                partition: 1,
                offset: 7,
                member: "a".into(),
            },
            // Violations are fed back to the checkers: they reveal nothing.
            Fact::Violation {
                invariant: 3,
                message: "x".into(),
            },
        ];
        for fact in &facts {
            assert!(c.observe(Time::ZERO, fact, name).is_empty(), "{fact:?}");
        }
        assert_eq!(kept(&c), []);
    }

    #[test]
    fn the_asked_checks_are_recorded_when_asked() {
        let mut c = checker();
        let mut ledger = OffsetLedger::new(2);
        ledger.record_processed(0, 0, 5);
        assert!(c.at_end(Time::ZERO, &ledger).is_none(), "nothing lost yet");
        ledger.record_commit(0, 8);
        let bound = Time::ZERO + Duration::from_secs(30);
        let group = GroupAtBound {
            converged: false,
            state: GroupState::Stable,
            stable: 1,
            running: 2,
        };
        let later = Time::ZERO + Duration::from_secs(40);
        let facts = [
            c.convergence_at_bound(bound, &group),
            c.convergence_after_bound(later, false, true, GroupState::Stable),
            c.convergence_after_bound(later, true, false, GroupState::PreparingRebalance),
            c.at_end(Time::ZERO + Duration::from_secs(60), &ledger),
        ];
        assert_eq!(facts.iter().filter(|f| f.is_some()).count(), 3);
        assert_eq!(
            kept(&c),
            [
                (
                    30_000,
                    5,
                    "the group did not converge within 10s after the last fault ended at 20.000s: state Stable, 1 of 2 running consumers stable"
                ),
                (
                    40_000,
                    5,
                    "the group stopped being stable at 40.000s although no fault was left in the timeline (state PreparingRebalance): it does not stay converged"
                ),
                (
                    60_000,
                    4,
                    "3 records were committed past without being processed (at-least-once broken)"
                ),
            ]
        );
    }

    #[test]
    fn violations_past_the_first_hundred_are_reported_but_not_kept() {
        let mut c = checker();
        for i in 0..MAX_KEPT + 5 {
            let fact = c.record(Time::ZERO, 3, format!("v{i}"));
            assert!(
                matches!(fact, Fact::Violation { invariant: 3, ref message } if *message == format!("v{i}"))
            );
        }
        assert_eq!(c.violations().len(), MAX_KEPT);
        assert_eq!(
            c.violations()[MAX_KEPT - 1].message,
            format!("v{}", MAX_KEPT - 1)
        );
    }
}
