//! Brokers and the network (issue 9 §1, §2, §7): broker crashes and
//! shutdowns move partition leadership, the group coordinator fails over,
//! network cuts make zombies; each asserted on whole runs.

use rebalance_sim::{RunResult, Scenario, Simulation};

fn run_file(name: &str, overrides: &[&str]) -> RunResult {
    let path = format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let scenario = Scenario::load(path.as_ref(), &overrides).expect("valid scenario");
    Simulation::new(scenario, 1).expect("valid").run()
}

fn run_text(text: &str) -> RunResult {
    let scenario = Scenario::from_toml(text, "t.toml", "t", &[]).expect("valid scenario");
    Simulation::new(scenario, 1).expect("valid").run()
}

fn rows<'a>(r: &'a RunResult, event: &str) -> Vec<&'a rebalance_sim::metrics::LogRow> {
    r.events.iter().filter(|e| e.event == event).collect()
}

/// Times (ms) the group entered PreparingRebalance.
fn rebalance_starts(r: &RunResult) -> Vec<f64> {
    r.events
        .iter()
        .filter(|e| e.event == "group_state" && e.subject == "PreparingRebalance")
        .map(|e| e.time_ms)
        .collect()
}

fn no_violations(r: &RunResult) {
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    assert_eq!(r.summary.lost, 0);
}

#[test]
fn a_steady_state_coordinator_failover_causes_no_rebalance() {
    let r = run_file("coordinator-failover", &[]);
    no_violations(&r);
    // The first crash (60 s) hits a Stable group: no rebalance until c5
    // joins at 150 s.
    let starts = rebalance_starts(&r);
    assert!(
        starts.iter().all(|&t| !(60_000.0..150_000.0).contains(&t)),
        "{starts:?}"
    );
    let loaded = rows(&r, "coordinator_loaded");
    assert!(
        loaded[0].detail.contains("generation 1, state Stable"),
        "{}",
        loaded[0].detail
    );
    // Every consumer found the new coordinator and kept its partitions.
    let found = rows(&r, "coordinator_found");
    assert!(found.iter().filter(|e| e.time_ms < 100_000.0).count() >= 4);
    assert!(
        rows(&r, "partitions_lost")
            .iter()
            .all(|e| e.time_ms < 60_000.0 || e.time_ms >= 150_000.0)
    );
}

#[test]
fn a_failover_in_the_middle_of_a_rebalance_costs_one_more() {
    let with = run_file("coordinator-failover", &[]);
    no_violations(&with);
    // The same run without the second crash.
    let path = format!(
        "{}/scenarios/coordinator-failover.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let second_crash = "[[timeline]]\nat = \"150050ms\"\naction = \"broker-crash\"\nbroker = 0\n\n[[timeline]]\nat = \"210s\"\naction = \"broker-restart\"\nbroker = 0\n";
    let without_text = text.replace(second_crash, "");
    assert_ne!(
        text, without_text,
        "the scenario's second crash is where the test expects it"
    );
    let without = run_text(&without_text);
    no_violations(&without);
    let after = |r: &RunResult| {
        rebalance_starts(r)
            .into_iter()
            .filter(|&t| t >= 150_000.0)
            .count()
    };
    assert_eq!(after(&without), 1);
    assert_eq!(after(&with), 2, "the lost join phase is run again");
    // The loaded group is the last synced generation.
    let loaded = rows(&with, "coordinator_loaded");
    assert!(
        loaded[1].detail.contains("4 members, generation 1"),
        "{}",
        loaded[1].detail
    );
    // Loaded Stable, and said so: the metrics stop counting the lost join
    // phase as rebalancing until the next one starts (a review found the
    // Stable stretch counted as rebalancing).
    let state = rows(&with, "group_state");
    let at_load = state
        .iter()
        .find(|e| e.time_ms == loaded[1].time_ms)
        .expect("a group_state row at the load");
    assert_eq!(at_load.subject, "Stable");
    let sample = with
        .samples
        .iter()
        .find(|s| s.time_s * 1000.0 > loaded[1].time_ms)
        .expect("a sample after the load");
    assert_eq!(sample.rebalancing, 0, "{sample:?}");
    assert_eq!(with.summary.final_generation, 2);
    assert_eq!(
        with.summary.final_generation,
        without.summary.final_generation
    );
}

#[test]
fn a_consumer_group_keeps_its_epoch_across_a_failover() {
    let path = format!(
        "{}/scenarios/coordinator-failover.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("assignor = \"range\"", "protocol = \"consumer\"");
    let r = run_text(&text);
    no_violations(&r);
    let bumps_between = |from: f64, to: f64| {
        rows(&r, "epoch_bumped")
            .iter()
            .filter(|e| e.time_ms >= from && e.time_ms < to)
            .count()
    };
    assert_eq!(bumps_between(60_000.0, 150_000.0), 0);
    let loaded = rows(&r, "coordinator_loaded");
    assert!(
        loaded[0]
            .detail
            .starts_with("consumer group loaded: 4 members"),
        "{}",
        loaded[0].detail
    );
}

const CRASH: &str = r#"
[scenario]
duration = "4m"
[cluster]
brokers = 3
[[topics]]
name = "orders"
partitions = 12
produce_rate = 2400
replication_factor = 3
[group]
id = "orders-app"
assignor = "range"
[consumers]
count = 4
processing = { dist = "uniform", min = "500us", max = "1500us" }
[[timeline]]
at = "60s"
action = "broker-crash"
broker = 1
[[timeline]]
at = "180s"
action = "broker-restart"
broker = 1
"#;

#[test]
fn a_broker_crash_stalls_exactly_its_partitions_for_the_election_time() {
    let r = run_text(CRASH);
    no_violations(&r);
    // Broker 1 is the first replica of orders-1, -4, -7, -10.
    let down = rows(&r, "leaders_changed");
    assert_eq!(down[0].time_ms, 60_000.0);
    assert_eq!(
        down[0].detail,
        "unavailable: orders-1 orders-4 orders-7 orders-10"
    );
    let fenced = rows(&r, "broker_fenced");
    let election = fenced[0].time_ms - 60_000.0;
    // broker.session.timeout.ms after the last heartbeat (every 2 s).
    assert!((7_000.0..=9_000.0).contains(&election), "{election}");
    assert_eq!(down[1].time_ms, fenced[0].time_ms);
    assert_eq!(
        down[1].detail,
        "available again: orders-1 orders-4 orders-7 orders-10"
    );
    let seconds = r.summary.unavailable_partition_seconds;
    assert!(
        (seconds - 4.0 * election / 1000.0).abs() < 0.01,
        "{seconds}"
    );
    // A broker problem, not a rebalance: nothing unowned after the start.
    assert_eq!(r.summary.rebalances, 1);
    let during: Vec<_> = r
        .samples
        .iter()
        .filter(|s| s.time_s > 60.0 && s.time_s < 60.0 + election / 1000.0)
        .collect();
    assert!(
        during
            .iter()
            .all(|s| s.unavailable_partitions == 4 && s.unowned_partitions == 0)
    );
    // Producers buffered: the gap, then the burst; nothing lost or
    // processed twice.
    assert_eq!(r.summary.duplicates, 0);
    assert_eq!(r.summary.records_produced, 2400 * 240);
}

#[test]
fn without_a_live_replica_a_partition_waits_for_its_broker() {
    let r = run_text(&CRASH.replace("replication_factor = 3", "replication_factor = 1"));
    no_violations(&r);
    // Down from 60 s until the restart at 180 s.
    let seconds = r.summary.unavailable_partition_seconds;
    assert!((seconds - 4.0 * 120.0).abs() < 0.01, "{seconds}");
    assert!(rows(&r, "broker_started")[0].time_ms == 180_000.0);
}

#[test]
fn a_controlled_shutdown_moves_leadership_first() {
    let r = run_text(&CRASH.replace("broker-crash", "broker-shutdown"));
    no_violations(&r);
    assert_eq!(r.summary.unavailable_partition_seconds, 0.0);
    let moved = rows(&r, "leaders_changed");
    assert_eq!(moved[0].detail, "4 moved without an outage");
}

#[test]
fn a_partitioned_consumer_is_a_zombie_until_the_link_heals() {
    let r = run_file("network-partition", &[]);
    no_violations(&r);
    assert!(r.summary.zombie_records > 0, "c1 kept processing");
    assert!(r.summary.duplicates >= r.summary.zombie_records);
    // Its first request after the cut (a heartbeat within 3 s) times out
    // request.timeout.ms later.
    let unknown = rows(&r, "coordinator_unknown");
    let t = unknown[0].time_ms;
    assert!((90_000.0..93_100.0).contains(&t), "{t}");
    assert!(unknown[0].detail.starts_with("DISCONNECTED"));
    // The coordinator expires it; after the heal it learns and rejoins.
    assert!(
        rows(&r, "session_expired")
            .iter()
            .any(|e| e.subject.starts_with("c1-"))
    );
    let lost = rows(&r, "partitions_lost");
    assert!(
        lost.iter()
            .any(|e| e.subject == "c1" && e.time_ms > 150_000.0)
    );
    assert!(
        rows(&r, "member_added")
            .iter()
            .any(|e| e.subject.starts_with("c1-") && e.time_ms > 150_000.0)
    );
    assert_eq!(r.summary.converged, Some(true));
}

#[test]
fn without_fencing_the_partitioned_zombie_moves_offsets_back() {
    let r = run_file("network-partition", &["group.fencing=false"]);
    // The zombie's commits are stored: offsets go back and forth between
    // it and the partitions' new owners.
    assert!(
        r.summary.violations.iter().any(|v| v.invariant == 3),
        "{:?}",
        r.summary.violations
    );
}

#[test]
fn an_isolated_consumer_cannot_fetch_either() {
    let path = format!(
        "{}/scenarios/network-partition.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("to = \"coordinator\"\n", "");
    let r = run_text(&text);
    no_violations(&r);
    assert!(rows(&r, "network_partitioned")[0].subject == "c1 isolated");
    // Expired and replaced, but with no way to fetch it processes nothing
    // while cut off: its zombie work is the one poll (max.poll.records)
    // it makes after the heal, before its heartbeat learns it was fenced —
    // against thousands when only the coordinator is cut off.
    assert!(
        rows(&r, "session_expired")
            .iter()
            .any(|e| e.subject.starts_with("c1-"))
    );
    assert!(
        r.summary.zombie_records <= 500,
        "{}",
        r.summary.zombie_records
    );
    // Its partitions, cut off from their leaders, count as unavailable
    // (not unowned, not stalled) while the cut lasts: 2 partitions until
    // its session expires and they move, about 42 s.
    let unavailable = r.summary.unavailable_partition_seconds;
    assert!((60.0..110.0).contains(&unavailable), "{unavailable}");
    let coordinator_only = run_file("network-partition", &[]);
    assert!(coordinator_only.summary.zombie_records > 5_000);
}

#[test]
fn a_rolling_broker_restart_expands_to_shutdowns_and_restarts() {
    let text = CRASH.split("[[timeline]]").next().unwrap().to_string()
        + r#"
[[timeline]]
at = "30s"
action = "rolling-broker-restart"
every = "60s"
downtime = "20s"
"#;
    let s = Scenario::from_toml(&text, "t.toml", "t", &[]).expect("valid");
    let got: Vec<(u64, String)> = s
        .cluster_timeline
        .iter()
        .map(|e| (e.at.millis() / 1000, e.action.label(&s)))
        .collect();
    let want: Vec<(u64, String)> = [
        (30, "broker-shutdown broker-0"),
        (50, "broker-restart broker-0"),
        (90, "broker-shutdown broker-1"),
        (110, "broker-restart broker-1"),
        (150, "broker-shutdown broker-2"),
        (170, "broker-restart broker-2"),
    ]
    .iter()
    .map(|(t, l)| (*t, l.to_string()))
    .collect();
    assert_eq!(got, want);
    let r = Simulation::new(s, 1).expect("valid").run();
    no_violations(&r);
    let steps = rows(&r, "timeline");
    assert_eq!(steps.len(), 6);
    assert_eq!(steps[0].detail, "rolling-broker-restart at 30s, 1 of 3");
    // Controlled shutdowns with replication factor 3: no outage.
    assert_eq!(r.summary.unavailable_partition_seconds, 0.0);
}

#[test]
fn cluster_faults_are_validated_with_located_errors() {
    let base = CRASH.split("[[timeline]]").next().unwrap().to_string();
    for (timeline, expected) in [
        ("action = \"broker-crash\"\n", "needs `broker`"),
        ("action = \"broker-crash\"\nbroker = 7\n", "no broker 7"),
        (
            "action = \"broker-crash\"\nbroker = 0\nconsumer = \"c1\"\n",
            "takes no `consumer`",
        ),
        ("action = \"network-partition\"\n", "needs `from`"),
        (
            "action = \"network-partition\"\nfrom = \"c9\"\n",
            "unknown node \"c9\"",
        ),
        (
            "action = \"network-partition\"\nfrom = \"c1\"\nto = \"c1\"\n",
            "the same node",
        ),
        (
            "action = \"network-heal\"\nfrom = \"c1\"\nduration = \"5s\"\n",
            "applies to network-partition only",
        ),
        ("action = \"explode\"\n", "\"broker-crash\""),
        (
            "action = \"crash\"\nconsumer = \"c1\"\nbroker = 1\n",
            "`broker` belongs to the broker",
        ),
        (
            "action = \"broker-restart\"\nbroker = 1\n",
            "broker 1 is running",
        ),
        (
            "action = \"broker-crash\"\nbroker = 1\n[[timeline]]\nat = \"20s\"\naction = \"broker-shutdown\"\nbroker = 1\n",
            "broker 1 is down at 20s",
        ),
        ("action = \"network-heal\"\n", "nothing is cut"),
        (
            "action = \"network-partition\"\nfrom = \"c1\"\nto = \"coordinator\"\n[[timeline]]\nat = \"20s\"\naction = \"network-heal\"\nfrom = \"c2\"\nto = \"coordinator\"\n",
            "no network-partition with these",
        ),
        (
            "action = \"network-partition\"\nfrom = \"broker-0\"\nto = \"broker-1\"\n",
            "links between brokers are not modelled",
        ),
    ] {
        let text = format!("{base}[[timeline]]\nat = \"10s\"\n{timeline}");
        let err = Scenario::from_toml(&text, "t.toml", "t", &[])
            .expect_err(timeline)
            .to_string();
        assert!(err.contains(expected), "{timeline}: {err}");
        assert!(err.contains("t.toml:"), "located: {err}");
    }
}

#[test]
fn a_slow_link_delays_that_consumers_requests_only() {
    let text = r#"
[scenario]
duration = "30s"
[consumers]
count = 2
start_jitter = "0s"
[[topics]]
name = "t"
partitions = 4
produce_rate = 100
[[cluster.links]]
from = "c1"
latency = "100ms"
"#;
    let r = run_text(text);
    no_violations(&r);
    let one_way = |c: &str| {
        let started = r
            .events
            .iter()
            .find(|e| e.event == "consumer_started" && e.subject == c)
            .unwrap()
            .time_ms;
        let answered = r
            .events
            .iter()
            .find(|e| e.event == "member_id_required" && e.subject == c)
            .unwrap()
            .time_ms;
        answered - started
    };
    // The coordinator logs MEMBER_ID_REQUIRED when the first JoinGroup
    // arrives: 100 ms over c1's link, the default 0.5–1.5 ms over c2's.
    assert_eq!(one_way("c1"), 100.0);
    assert!(one_way("c2") < 10.0, "{}", one_way("c2"));
    let err = Scenario::from_toml(
        &text.replace("from = \"c1\"", "from = \"broker-0\""),
        "t.toml",
        "t",
        &[],
    )
    .expect_err("a link starts at a consumer")
    .to_string();
    assert!(err.contains("a link's `from` is a consumer"), "{err}");
}
