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
    // without a rebalance (KIP-345). Its old member id stays in the
    // coordinator's pending-sync set, though (ClassicGroup
    // .replaceStaticMember does not move it), so the sync deadline finds
    // it missing and rebalances once more (GMM.expirePendingSync) —
    // without removing anyone.
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
    assert_eq!(r.summary.rebalances, 3, "{:#?}", r.events);
    let replaced = events(&r, "member_replaced");
    assert!(replaced.iter().any(|e| e.detail.contains("instance c2")));
    let third = &r.rebalance_spans[2];
    assert_eq!(third.cause, "sync timeout");
    assert!(
        third.start_s > replaced[0].time_ms / 1000.0,
        "the extra rebalance comes after the replacement: {third:?}"
    );
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
        3,
        "c2 gets its partitions at start, back after its restart, and in the extra generation"
    );
    assert_eq!(c2[0].detail, c2[1].detail);
    assert!(
        c2[1].time_ms < third.start_s * 1000.0,
        "back before the extra rebalance"
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

#[test]
fn a_static_member_paused_through_a_join_phase_rejoins_with_a_reset_generation_and_rebalances() {
    // c1 leads; c2 and c3 join later, so c2 has rejoined with a real
    // generation once. c2 is paused across the join phase c4 starts: the
    // generation forms without it (a static straggler). When it resumes,
    // its heartbeat gets ILLEGAL_GENERATION, it resets its generation and
    // rejoins with its member id and generation -1: no longer the
    // metadata it joined with (ClassicGroupMember.matches compares the
    // whole subscription), so the Stable group rebalances
    // (GMM.classicGroupJoinExistingMember). Comparing topics alone would
    // have handed it the current generation back.
    let r = run(r#"
[scenario]
duration = "3m"
[[topics]]
name = "t"
partitions = 8
produce_rate = 80
[group]
session_timeout = "60s"
max_poll_interval = "60s"
rebalance_timeout = "20s"
[consumers]
count = 1
static_membership = true
[[timeline]]
at = "2s"
action = "join"
consumer = "c2"
[[timeline]]
at = "12s"
action = "join"
consumer = "c3"
[[timeline]]
at = "30s"
action = "pause"
consumer = "c2"
duration = "40s"
[[timeline]]
at = "35s"
action = "join"
consumer = "c4"
"#);
    let leader_changes: Vec<_> = events(&r, "generation_started")
        .into_iter()
        .map(|e| e.subject.clone())
        .collect();
    assert!(
        leader_changes.iter().all(|l| l.starts_with("c1-")),
        "c1 leads throughout: {leader_changes:?}"
    );
    let rejoin = r
        .rebalance_spans
        .iter()
        .find(|s| s.cause == "rejoin c2")
        .unwrap_or_else(|| panic!("{:#?}", r.rebalance_spans));
    assert!(
        rejoin.start_s >= 70.0 && rejoin.start_s < 71.0,
        "right after the pause: {rejoin:?}"
    );
    // Its first request after the pause (an auto-commit or a heartbeat)
    // is refused for the old generation, and its partitions are lost.
    let refused = r
        .events
        .iter()
        .find(|e| {
            e.subject == "c2" && e.time_ms >= 70_000.0 && e.detail.contains("ILLEGAL_GENERATION")
        })
        .unwrap_or_else(|| panic!("{:#?}", r.events));
    assert!(refused.time_ms < rejoin.start_s * 1000.0);
    assert!(
        events(&r, "partitions_lost")
            .iter()
            .any(|e| e.subject == "c2" && e.time_ms >= 70_000.0)
    );
    assert!(
        events(&r, "member_replaced").is_empty(),
        "it kept its member id"
    );
    assert_eq!(r.summary.violations, vec![]);
    assert_eq!(r.summary.converged, Some(true));
}

#[test]
fn a_new_dynamic_member_joins_twice_through_member_id_required() {
    let r = run(r#"
[scenario]
duration = "20s"
[[topics]]
name = "t"
partitions = 4
produce_rate = 40
[consumers]
count = 2
"#);
    for consumer in ["c1", "c2"] {
        let required: Vec<_> = events(&r, "member_id_required")
            .into_iter()
            .filter(|e| e.subject == consumer)
            .collect();
        assert_eq!(required.len(), 1, "{consumer}: {:#?}", r.events);
        let id = required[0]
            .detail
            .rsplit(' ')
            .next()
            .expect("the id")
            .to_string();
        assert!(id.starts_with(&format!("{consumer}-")), "{id}");
        // The second JoinGroup, with the id, adds the member: one round
        // trip later.
        let added = events(&r, "member_added")
            .into_iter()
            .find(|e| e.subject == id)
            .unwrap_or_else(|| panic!("{:#?}", r.events));
        let gap = added.time_ms - required[0].time_ms;
        assert!((1.0..5.0).contains(&gap), "{consumer}: {gap} ms");
    }
    // The first JoinGroup starts nothing: the group leaves Empty only
    // when a member is added.
    let first_required = events(&r, "member_id_required")[0].time_ms;
    let preparing = events(&r, "group_state")
        .into_iter()
        .find(|e| e.subject == "PreparingRebalance")
        .expect("a rebalance");
    assert!(preparing.time_ms > first_required);
    assert_eq!(events(&r, "member_added")[0].time_ms, preparing.time_ms);
}

#[test]
fn overlapping_stalls_block_the_thread_until_the_later_end() {
    // Two stalls of c1, 10 s → 40 s and 12 s → 42 s: the thread is blocked
    // from 10 s to 42 s (their union), not for 60 s; the log, the stalled
    // partition-seconds and the backlog agree.
    let stalls = |second: &str| {
        format!(
            r#"
[scenario]
duration = "3m"
[[topics]]
name = "t"
partitions = 4
produce_rate = 100
[group]
assignor = "range"
[consumers]
count = 2
[[timeline]]
at = "10s"
action = "stall"
consumer = "c1"
duration = "30s"
{second}"#
        )
    };
    let both = run(&stalls(
        "[[timeline]]\nat = \"12s\"\naction = \"stall\"\nconsumer = \"c1\"\nduration = \"30s\"\n",
    ));
    let ended: Vec<u64> = events(&both, "stall_ended")
        .iter()
        .map(|e| e.time_ms as u64)
        .collect();
    assert_eq!(ended, [42_000], "one end, at the later stall's");
    // c1 holds 2 of the 4 partitions: 2 × 32 s stalled.
    assert!(
        (both.summary.stalled_partition_seconds - 64.0).abs() < 0.5,
        "{}",
        both.summary.stalled_partition_seconds
    );
    let caught_up = |r: &RunResult| {
        r.samples
            .iter()
            .find(|s| s.time_s > 43.0 && s.backlog_total < 50)
            .map(|s| s.time_s)
    };
    let one = run(&stalls(
        "[[timeline]]\nat = \"12s\"\naction = \"stall\"\nconsumer = \"c1\"\nduration = \"1s\"\n",
    ));
    // A stall inside another adds nothing: the same catch-up as one stall.
    assert!(
        caught_up(&both).is_some_and(|t| t < 60.0),
        "{:?}",
        caught_up(&both)
    );
    assert_eq!(
        events(&one, "stall_ended").len(),
        1,
        "a stall inside another ends with it"
    );
}
