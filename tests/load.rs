//! Load shapes, key skew and processing-time changes on whole runs: the
//! produced totals follow each shape's closed form, hot partitions lag
//! alone, a burst's backlog drains, and a consumer slowed past
//! `max.poll.interval.ms` is expelled.

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

fn produced(load: &str, duration: &str) -> u64 {
    let text = format!(
        "[scenario]\nduration = \"{duration}\"\n[[topics]]\nname = \"t\"\npartitions = 4\nlinger = \"0ms\"\nload = {load}\n[consumers]\ncount = 1\n"
    );
    run(&text).summary.records_produced
}

#[test]
fn each_load_shape_produces_its_closed_form_total() {
    // Steps: 100/s for 10 s, then 1000/s for 10 s.
    assert_eq!(
        produced(
            r#"{ shape = "steps", steps = [{ at = "0s", rate = 100 }, { at = "10s", rate = 1000 }] }"#,
            "20s"
        ),
        11_000
    );
    // Ramp 0 → 100/s over 10 s (500 records), then 100/s for 10 s.
    assert_eq!(
        produced(
            r#"{ shape = "ramp", from = 0, to = 100, start = "0s", end = "10s" }"#,
            "20s"
        ),
        1_500
    );
    // Bursts: 10/s, 100/s for 10 s every 60 s from 30 s: two bursts in 2 min.
    assert_eq!(
        produced(
            r#"{ shape = "bursts", base = 10, burst = 100, every = "60s", length = "10s", start = "30s" }"#,
            "2m"
        ),
        1_200 + 2 * 10 * 90
    );
    // Sine: whole periods produce the mean.
    assert_eq!(
        produced(
            r#"{ shape = "sine", mean = 100, amplitude = 60, period = "50s", phase = "0s" }"#,
            "100s"
        ),
        10_000
    );
}

#[test]
fn a_burst_on_a_group_with_little_headroom_builds_a_backlog_that_drains_after_it() {
    let r = load("traffic-burst");
    // No fault: convergence is timed from the start, and said so.
    let table = rebalance_sim::report::summary_table(&r, "out");
    assert!(
        table.contains("after the start (no fault)") && !table.contains("last fault"),
        "{table}"
    );
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    // 3,500/s for 10 min plus 31,500/s more for 2 min.
    assert_eq!(r.summary.records_produced, 3_500 * 600 + 31_500 * 120);
    let at = |t: f64| r.samples.iter().find(|s| s.time_s >= t).expect("a sample");
    assert_eq!(at(180.0).produced_per_s, 35_000.0);
    assert!(at(240.0).backlog_total > 2_000_000);
    assert!(at(480.0).backlog_total < 1_000, "drained by 8 min");
    assert_eq!(r.summary.rebalances, 1, "lag alone does not rebalance");
}

#[test]
fn a_hot_partition_lags_alone_and_a_new_consumer_does_not_fix_it() {
    let r = load("hot-partition");
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    let lag = |name: &str| {
        r.partition_rows
            .iter()
            .find(|p| p.partition == name)
            .map(|p| p.lag_max)
            .expect("partition row")
    };
    assert!(
        lag("orders-0") > 20 * lag("orders-11").max(1),
        "{} vs {}",
        lag("orders-0"),
        lag("orders-11")
    );
    assert!(r.summary.lag_growing);
    // The group has the capacity (3,000 records/s for 2,400): skew alone
    // makes c1 the bottleneck while the others idle.
    let processed = |name: &str| {
        r.consumer_rows
            .iter()
            .find(|c| c.consumer == name)
            .map(|c| c.records_processed)
            .expect("consumer row")
    };
    let c1 = processed("c1");
    assert!(c1 > 280_000, "c1 saturated at 1,000/s for 5 min: {c1}");
    for other in ["c2", "c3"] {
        assert!(
            processed(other) * 2 < c1,
            "{other} idles: {} vs {c1}",
            processed(other)
        );
    }
}

#[test]
fn a_consumer_slowed_past_max_poll_interval_is_expelled() {
    let text = r#"
[scenario]
duration = "3m"
[[topics]]
name = "t"
partitions = 4
produce_rate = 400
[group]
max_poll_interval = "30s"
max_poll_records = 100
[consumers]
count = 2
processing = "1ms"
[[timeline]]
at = "30s"
action = "slow"
consumer = "c1"
processing = "500ms"
"#;
    let r = run(text);
    assert!(
        r.events
            .iter()
            .any(|e| e.event == "processing_changed" && e.subject == "c1")
    );
    // 100 records × 500 ms = 50 s per batch > 30 s: expelled, and expelled
    // again after every rejoin — the group never settles, which
    // invariant 5 reports (and nothing else breaks).
    let timeouts = r
        .events
        .iter()
        .filter(|e| e.event == "poll_timeout" && e.subject == "c1")
        .count();
    assert!(timeouts >= 2, "{timeouts}");
    assert!(!r.summary.violations.is_empty());
    assert!(
        r.summary.violations.iter().all(|v| v.invariant == 5),
        "{:?}",
        r.summary.violations
    );
    assert_eq!(r.summary.lost, 0);
}

#[test]
fn a_topic_with_its_own_processing_time_is_processed_at_that_pace() {
    // Two topics read by one consumer: "slow" records take 10 ms each,
    // "fast" ones the consumer's 100 µs. The consumer keeps up with fast
    // (100/s) but not with slow (200/s needs 2 s of work a second).
    let text = r#"
[scenario]
duration = "1m"
[[topics]]
name = "fast"
partitions = 2
produce_rate = 100
[[topics]]
name = "slow"
partitions = 2
produce_rate = 200
processing = "10ms"
[consumers]
count = 1
processing = "100us"
"#;
    let r = run(text);
    let lag = |name: &str| {
        r.partition_rows
            .iter()
            .find(|p| p.partition == name)
            .map(|p| p.lag_max)
            .expect("row")
    };
    // The slow topic's backlog grows; the fast one only waits behind it.
    assert!(
        lag("slow-0") > 2 * lag("fast-0").max(1),
        "{} vs {}",
        lag("slow-0"),
        lag("fast-0")
    );
    // The consumer spends its time on slow records: at most 100 of them a
    // second, so well under the 18,000 produced get processed.
    assert!(
        r.summary.records_processed < 100 * 60 + 100 * 60 + 500,
        "{}",
        r.summary.records_processed
    );
    assert!(r.summary.lag_growing);
}
