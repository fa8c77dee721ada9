//! The checker must catch a bad assignor: test-only assignors with planted
//! bugs are plugged into a simulation through the public `Assignor` trait.

use rebalance_sim::assign::{
    Assignment, Assignor, BalancePromise, GroupSpec, RangeAssignor, RebalanceProtocol,
    TopicPartition,
};
use rebalance_sim::{RunResult, Scenario, Simulation};
use std::sync::Arc;

const SCENARIO: &str = r#"
[scenario]
duration = "40s"
[[topics]]
name = "t"
partitions = 6
produce_rate = 100
[consumers]
count = 3
"#;

fn simulate(assignor: Arc<dyn Assignor>) -> RunResult {
    let scenario =
        Scenario::from_toml(SCENARIO, "inline.toml", "inline", &[]).expect("valid scenario");
    Simulation::with_assignor(scenario, 1, assignor)
        .expect("valid")
        .run()
}

fn violations(result: &RunResult) -> Vec<(u8, String)> {
    result
        .summary
        .violations
        .iter()
        .map(|v| (v.invariant, v.message.clone()))
        .collect()
}

fn run_with(assignor: Arc<dyn Assignor>) -> Vec<(u8, String)> {
    violations(&simulate(assignor))
}

/// Range's result changed by `plant`: each planted bug below.
struct Planted {
    name: &'static str,
    plant: fn(&mut Assignment),
    promise: BalancePromise,
}

impl Assignor for Planted {
    fn name(&self) -> &str {
        self.name
    }
    fn assign(&self, group: &GroupSpec) -> Assignment {
        let mut a = RangeAssignor.assign(group);
        (self.plant)(&mut a);
        a
    }
    fn promise(&self) -> BalancePromise {
        self.promise
    }
}

/// Runs a planted bug: the run must complete (no panic in the cluster,
/// metrics or ownership code), report invariant 1 with `expect`, and go
/// on consuming what was valid. Once without a balance promise, once with
/// one, whose check must not trip over the broken assignment either.
fn assert_reported(name: &'static str, plant: fn(&mut Assignment), expect: &str) {
    for promise in [BalancePromise::None, BalancePromise::KafkaBalanced] {
        let result = simulate(Arc::new(Planted {
            name,
            plant,
            promise,
        }));
        let v = violations(&result);
        assert!(
            v.iter().any(|(i, m)| *i == 1 && m.contains(expect)),
            "{name} ({promise:?}): expected invariant 1 with {expect:?} in {v:?}"
        );
        assert!(
            result.summary.records_processed > 0,
            "{name} ({promise:?}): the valid part of the assignment is consumed"
        );
    }
}

/// Gives partition 0 to every member as well as range's result.
struct DuplicatingAssignor;

impl Assignor for DuplicatingAssignor {
    fn name(&self) -> &str {
        "duplicating"
    }
    fn assign(&self, group: &GroupSpec) -> Assignment {
        let mut a = RangeAssignor.assign(group);
        for list in &mut a.per_member {
            if !list.contains(&TopicPartition::new(0, 0)) {
                list.insert(0, TopicPartition::new(0, 0));
            }
        }
        a
    }
}

/// Forgets the last partition.
struct ForgetfulAssignor;

impl Assignor for ForgetfulAssignor {
    fn name(&self) -> &str {
        "forgetful"
    }
    fn assign(&self, group: &GroupSpec) -> Assignment {
        let mut a = RangeAssignor.assign(group);
        for list in &mut a.per_member {
            list.retain(|tp| tp.partition != 5);
        }
        a
    }
}

/// Promises balance but gives everything to one member.
struct GreedyAssignor;

impl Assignor for GreedyAssignor {
    fn name(&self) -> &str {
        "greedy"
    }
    fn assign(&self, group: &GroupSpec) -> Assignment {
        let mut a = Assignment::empty(group.members.len());
        let first = (0..group.members.len())
            .min_by_key(|&m| &group.members[m].id)
            .expect("members");
        a.per_member[first] = (0..group.topics[0].partitions)
            .map(|p| TopicPartition::new(0, p))
            .collect();
        a
    }
    fn promise(&self) -> BalancePromise {
        BalancePromise::TotalWhenSubscriptionsEqual
    }
}

#[test]
fn a_correct_assignor_gives_no_violation() {
    assert_eq!(run_with(Arc::new(RangeAssignor)), vec![]);
}

#[test]
fn a_partition_given_twice_breaks_invariant_1() {
    let v = run_with(Arc::new(DuplicatingAssignor));
    assert!(
        v.iter()
            .any(|(i, m)| *i == 1 && m.contains("t-0 is assigned to both")),
        "{v:?}"
    );
}

#[test]
fn a_forgotten_partition_breaks_invariant_1() {
    let v = run_with(Arc::new(ForgetfulAssignor));
    assert!(
        v.iter()
            .any(|(i, m)| *i == 1 && m.contains("t-5 is subscribed but assigned to nobody")),
        "{v:?}"
    );
}

#[test]
fn a_broken_balance_promise_breaks_invariant_6() {
    let v = run_with(Arc::new(GreedyAssignor));
    assert!(
        v.iter()
            .any(|(i, m)| *i == 6 && m.contains("has 6 partitions")),
        "{v:?}"
    );
}

#[test]
fn a_partition_that_does_not_exist_breaks_invariant_1() {
    assert_reported(
        "nonexistent",
        |a| a.per_member[0].push(TopicPartition::new(0, 99)),
        "got t-99, which does not exist",
    );
}

#[test]
fn a_topic_id_out_of_range_breaks_invariant_1() {
    assert_reported(
        "unknown-topic",
        |a| a.per_member[0].push(TopicPartition::new(7, 0)),
        "got partition 0 of topic id 7, which does not exist (1 topics)",
    );
}

#[test]
fn too_few_member_lists_break_invariant_1() {
    assert_reported(
        "too-few",
        |a| {
            a.per_member.pop();
        },
        "the assignor returned 2 member lists for 3 members",
    );
}

#[test]
fn too_many_member_lists_break_invariant_1() {
    assert_reported(
        "too-many",
        |a| {
            a.per_member
                .push(vec![TopicPartition::new(0, 0), TopicPartition::new(3, 1)])
        },
        "the assignor returned 4 member lists for 3 members",
    );
}

#[test]
fn a_partition_listed_twice_for_one_member_breaks_invariant_1() {
    assert_reported(
        "listed-twice",
        |a| {
            if let Some(&tp) = a.per_member[0].first() {
                a.per_member[0].push(tp);
            }
        },
        "is listed twice for member",
    );
}

#[test]
fn a_partition_given_to_every_member_is_reported_and_consumed() {
    assert_reported(
        "everyone",
        |a| {
            for list in &mut a.per_member {
                if !list.contains(&TopicPartition::new(0, 0)) {
                    list.push(TopicPartition::new(0, 0));
                }
            }
        },
        "t-0 is assigned to both",
    );
}

/// Declares KIP-429 cooperative rebalancing but moves partitions straight
/// from one owner to another as range does: not cooperative-safe.
struct CooperativeAssignor;

impl Assignor for CooperativeAssignor {
    fn name(&self) -> &str {
        "my-cooperative"
    }
    fn assign(&self, group: &GroupSpec) -> Assignment {
        RangeAssignor.assign(group)
    }
    fn rebalance_protocol(&self) -> RebalanceProtocol {
        RebalanceProtocol::Cooperative
    }
}

#[test]
fn an_assignor_declared_cooperative_that_moves_owned_partitions_is_caught() {
    // A fourth consumer joins: range moves partitions between the three
    // owners at once, which a cooperative group must never do.
    let text =
        format!("{SCENARIO}[[timeline]]\nat = \"20s\"\naction = \"join\"\nconsumer = \"c4\"\n");
    let scenario = Scenario::from_toml(&text, "inline.toml", "inline", &[]).expect("valid");
    let r = Simulation::with_assignor(scenario, 1, Arc::new(CooperativeAssignor))
        .expect("cooperative assignors run")
        .run();
    let found = violations(&r);
    assert!(
        found
            .iter()
            .any(|(i, m)| *i == 1 && m.contains("while") && m.contains("still owns it")),
        "{found:?}"
    );
    // Members kept consuming through the rebalance: cooperative members
    // revoke only what moves.
    assert!(r.summary.records_processed > 0);
}
