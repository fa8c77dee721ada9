//! The online migration between the classic and the consumer protocol on
//! whole runs: the rolling upgrade converts a running classic group and
//! ends as a consumer group with every invariant kept; the last
//! consumer-protocol member leaving converts it back; the migration policy
//! can forbid the upgrade.

use rebalance_sim::metrics::LogRow;
use rebalance_sim::{RunResult, Scenario, Simulation};

fn load(name: &str) -> RunResult {
    let path = format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let scenario = Scenario::load(path.as_ref(), &[]).expect("valid scenario");
    Simulation::new(scenario, 1).expect("valid").run()
}

fn run(text: &str) -> RunResult {
    let scenario = Scenario::from_toml(text, "inline.toml", "inline", &[]).expect("valid scenario");
    Simulation::new(scenario, 1).expect("valid").run()
}

fn events<'a>(r: &'a RunResult, event: &str) -> Vec<&'a LogRow> {
    r.events.iter().filter(|e| e.event == event).collect()
}

#[test]
fn the_rolling_upgrade_converts_the_running_group_keeps_every_invariant_and_ends_as_a_consumer_group()
 {
    let r = load("migrate-to-consumer-protocol");
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    assert_eq!(r.summary.converged, Some(true));
    assert_eq!(r.summary.lost, 0);
    assert_eq!(r.summary.final_group_type, "consumer");
    let converted = events(&r, "group_converted");
    assert_eq!(converted.len(), 1, "{converted:?}");
    assert!(converted[0].detail.contains("online upgrade"));
    // It happens when c1 comes back with the consumer protocol (35 s),
    // and the consumer group starts at the classic generation.
    assert!((35_000.0..36_000.0).contains(&converted[0].time_ms));
    let generation_before = events(&r, "generation_started")
        .last()
        .and_then(|e| e.generation)
        .expect("a classic generation");
    assert_eq!(converted[0].generation, Some(generation_before));
    // Classic members keep speaking their protocol in the consumer group:
    // told to rejoin by heartbeat, they revoke only what moves.
    let told: Vec<&LogRow> = r
        .events
        .iter()
        .filter(|e| {
            e.event == "rejoin_needed"
                && e.time_ms > converted[0].time_ms
                && e.detail.contains("REBALANCE_IN_PROGRESS")
        })
        .collect();
    assert!(!told.is_empty());
    let revoked_after: usize = r
        .events
        .iter()
        .filter(|e| {
            e.event == "partitions_revoked"
                && e.time_ms > converted[0].time_ms
                && e.time_ms < 60_000.0
        })
        .map(|e| e.detail.split(' ').count())
        .sum();
    assert!(
        revoked_after <= 4,
        "only c1's new share moves: {revoked_after}"
    );
    // No eager stop of everything after the conversion.
    let worst = r
        .rebalance_spans
        .iter()
        .filter(|s| s.start_s > 36.0)
        .map(|s| s.max_unowned)
        .max()
        .unwrap_or(0);
    assert!(worst <= 4, "{worst}");
}

const MIXED: &str = r#"
[scenario]
duration = "3m"
convergence_bound = "60s"
[[topics]]
name = "t"
partitions = 12
produce_rate = 1200
[group]
assignors = ["cooperative-sticky"]
[consumers]
count = 3
[[timeline]]
at = "30s"
action = "restart"
consumer = "c1"
downtime = "2s"
protocol = "consumer"
[[timeline]]
at = "70s"
action = "leave"
consumer = "c1"
"#;

#[test]
fn the_group_converts_back_when_its_last_consumer_protocol_member_leaves() {
    let r = run(MIXED);
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    let converted = events(&r, "group_converted");
    assert_eq!(converted.len(), 2, "{converted:?}");
    assert!(converted[0].detail.contains("online upgrade"));
    assert!(converted[1].detail.contains("online downgrade"));
    assert!(converted[1].time_ms > 70_000.0);
    assert_eq!(r.summary.final_group_type, "classic");
    // The classic group rebalances after the downgrade and settles.
    assert!(
        events(&r, "generation_started")
            .iter()
            .any(|e| e.time_ms > converted[1].time_ms)
    );
    assert_eq!(r.summary.converged, Some(true));
}

#[test]
fn a_migration_policy_without_upgrade_refuses_the_consumer_protocol_member() {
    let r = run(&MIXED.replace(
        "assignors = [\"cooperative-sticky\"]",
        "assignors = [\"cooperative-sticky\"]\nmigration_policy = \"downgrade\"",
    ));
    assert!(events(&r, "group_converted").is_empty());
    assert!(
        r.events.iter().any(|e| e.event == "rejoin_needed"
            && e.subject == "c1"
            && e.detail.contains("GROUP_ID_NOT_FOUND")),
        "the consumer-protocol member gets GROUP_ID_NOT_FOUND and exits"
    );
    assert_eq!(r.summary.final_group_type, "classic");
    // It does not come back, and the summary says so.
    assert_eq!(
        r.summary.fatal_exits.len(),
        1,
        "{:?}",
        r.summary.fatal_exits
    );
    assert!(r.summary.fatal_exits[0].starts_with("c1 at "));
}
