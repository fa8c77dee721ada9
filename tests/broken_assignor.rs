//! The checker must catch a bad assignor: test-only assignors with planted
//! bugs are plugged into a simulation through the public `Assignor` trait.

use rebalance_sim::assign::{
    Assignment, Assignor, BalancePromise, GroupSpec, RangeAssignor, TopicPartition,
};
use rebalance_sim::{Scenario, Simulation};
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

fn run_with(assignor: Arc<dyn Assignor>) -> Vec<(u8, String)> {
    let scenario =
        Scenario::from_toml(SCENARIO, "inline.toml", "inline", &[]).expect("valid scenario");
    let result = Simulation::with_assignor(scenario, 1, assignor)
        .expect("valid")
        .run();
    result
        .summary
        .violations
        .iter()
        .map(|v| (v.invariant, v.message.clone()))
        .collect()
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
