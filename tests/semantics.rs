//! Whole-run checks of specific Kafka behaviours.

use rebalance_sim::assign::{Assignment, Assignor, GroupSpec, RangeAssignor};
use rebalance_sim::{RunResult, Scenario, Simulation};
use std::sync::Arc;

fn run(text: &str) -> RunResult {
    let scenario = Scenario::from_toml(text, "inline.toml", "inline", &[]).expect("valid scenario");
    Simulation::new(scenario, 1).expect("valid").run()
}

fn events<'a>(r: &'a RunResult, kind: &str) -> Vec<&'a rebalance_sim::metrics::LogRow> {
    r.events.iter().filter(|e| e.event == kind).collect()
}

#[test]
fn a_static_member_that_misses_the_join_phase_keeps_its_partitions_until_it_returns() {
    // c2 (static) crashes; c4 joins, so the group waits the rebalance
    // timeout for c2, then forms a generation that still includes c2.
    // c2 restarts before the sync deadline and takes its partitions back
    // without a third rebalance (KIP-345).
    let r = run(r#"
[scenario]
duration = "5m"
[[topics]]
name = "t"
partitions = 6
produce_rate = 60
[group]
session_timeout = "10m"
max_poll_interval = "60s"
[consumers]
count = 3
static_membership = true
[[timeline]]
at = "60s"
action = "restart"
consumer = "c2"
downtime = "2m"
graceful = false
[[timeline]]
at = "70s"
action = "join"
consumer = "c4"
"#);
    assert_eq!(r.summary.rebalances, 2, "{:#?}", r.events);
    assert!(
        events(&r, "member_removed").is_empty(),
        "no static member is removed"
    );
    let c2: Vec<_> = events(&r, "partitions_assigned")
        .into_iter()
        .filter(|e| e.subject == "c2")
        .collect();
    assert_eq!(
        c2.len(),
        2,
        "c2 gets its partitions at start and back after its restart"
    );
    assert_eq!(c2[0].detail, c2[1].detail);
    assert!(
        events(&r, "member_replaced")
            .iter()
            .any(|e| e.detail.contains("instance c2"))
    );
}

/// Range, with every member's list reversed: valid, just not sorted.
struct Unsorted;

impl Assignor for Unsorted {
    fn name(&self) -> &str {
        "unsorted"
    }
    fn assign(&self, group: &GroupSpec) -> Assignment {
        let mut a = RangeAssignor.assign(group);
        for l in &mut a.per_member {
            l.reverse();
        }
        a
    }
}

#[test]
fn an_assignor_returning_unsorted_lists_still_converges() {
    let text = "[scenario]\nduration = \"2m\"\n[[topics]]\nname = \"t\"\npartitions = 6\nproduce_rate = 60\n[group]\nsession_timeout = \"10s\"\nheartbeat_interval = \"1s\"\nmax_poll_interval = \"20s\"\n[consumers]\ncount = 3\n";
    let scenario = Scenario::from_toml(text, "inline.toml", "inline", &[]).expect("valid");
    let r = Simulation::with_assignor(scenario, 1, Arc::new(Unsorted))
        .expect("valid")
        .run();
    assert_eq!(r.summary.violations, vec![]);
    assert_eq!(r.summary.converged, Some(true));
}

#[test]
fn an_event_that_breaks_nothing_recovers_at_once() {
    let r = run(r#"
[scenario]
duration = "3m"
[[topics]]
name = "t"
partitions = 4
produce_rate = 40
[consumers]
count = 2
[[timeline]]
at = "30s"
action = "stall"
consumer = "c1"
duration = "5s"
[[timeline]]
at = "60s"
action = "crash"
consumer = "c2"
"#);
    let d = &r.summary.disruptions;
    assert_eq!(
        d[0].converged_after_ms,
        Some(0),
        "a short stall never broke the group"
    );
    assert!(
        d[1].converged_after_ms.is_some_and(|ms| ms > 40_000),
        "the crash waits for the session timeout"
    );
}

#[test]
fn broker_racks_reach_rack_aware_range_in_a_run() {
    let r = run(r#"
[scenario]
duration = "20s"
[cluster]
brokers = 3
racks = ["a", "b", "c"]
[[topics]]
name = "t"
partitions = 6
produce_rate = 60
replication_factor = 1
[[consumers.named]]
name = "x"
rack = "a"
[[consumers.named]]
name = "y"
rack = "b"
[[consumers.named]]
name = "z"
rack = "c"
"#);
    // Partition p lives on broker p % 3, whose rack is a, b, c in turn.
    let assigned: Vec<(String, String)> = events(&r, "partitions_assigned")
        .into_iter()
        .map(|e| (e.subject.clone(), e.detail.clone()))
        .collect();
    assert!(
        assigned.contains(&("x".into(), "t-0 t-3".into())),
        "{assigned:?}"
    );
    assert!(
        assigned.contains(&("y".into(), "t-1 t-4".into())),
        "{assigned:?}"
    );
    assert!(
        assigned.contains(&("z".into(), "t-2 t-5".into())),
        "{assigned:?}"
    );
}
