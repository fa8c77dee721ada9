//! Partitions added to a topic (issue 9 §3): producers use them after
//! their metadata refresh; a classic group's leader notices at its own
//! refresh; a KIP-848 group bumps its epoch at the next heartbeat; with
//! `auto.offset.reset = latest` what was written before the first fetch
//! is skipped and counted.

use rebalance_sim::{RunResult, Scenario, Simulation};

fn text(overrides: &[(&str, &str)]) -> String {
    let path = format!(
        "{}/scenarios/add-partitions.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut text = std::fs::read_to_string(path).unwrap();
    for (from, to) in overrides {
        assert!(text.contains(from), "{from}");
        text = text.replacen(from, to, 1);
    }
    text
}

fn run(text: &str) -> RunResult {
    let s = Scenario::from_toml(text, "t.toml", "t", &[]).expect("valid");
    Simulation::new(s, 1).expect("valid").run()
}

/// When each of the new partitions orders-6..11 was first assigned (ms).
fn first_assigned(r: &RunResult) -> Vec<f64> {
    (6..12)
        .map(|p| {
            let name = format!("orders-{p}");
            r.events
                .iter()
                .find(|e| {
                    e.event == "partitions_assigned" && e.detail.split(' ').any(|t| t == name)
                })
                .map_or(f64::INFINITY, |e| e.time_ms)
        })
        .collect()
}

#[test]
fn a_classic_leader_notices_added_partitions_at_its_metadata_refresh() {
    let r = run(&text(&[]));
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    assert_eq!(r.summary.lost, 0);
    // The leader started within the start jitter (3 s) and refreshes
    // metadata.max.age.ms (5 min) later; then one rebalance.
    let leader_rejoin = r
        .events
        .iter()
        .find(|e| e.event == "rejoin_needed" && e.detail.starts_with("metadata refresh"))
        .expect("the leader rejoins");
    assert!((300_000.0..303_000.0).contains(&leader_rejoin.time_ms));
    for t in first_assigned(&r) {
        assert!(
            (leader_rejoin.time_ms..leader_rejoin.time_ms + 10_000.0).contains(&t),
            "{t}"
        );
    }
    // Subscribed but unowned meanwhile: 6 partitions for about 4 minutes.
    assert!(r.summary.unowned_partition_seconds > 6.0 * 240.0);
    // Producers switched before the group read them: those records were
    // skipped by auto.offset.reset = latest, and counted.
    assert!(r.summary.skipped_in_added_partitions > 0);
    assert!(r.summary.skipped_in_added_partitions <= r.summary.skipped_by_reset);
    // At most what the producers wrote to them (half the topic's rate)
    // from the add to the assignment.
    assert!(r.summary.skipped_in_added_partitions <= 600 * 245);
}

#[test]
fn with_earliest_nothing_of_the_added_partitions_is_skipped() {
    let r = run(&text(&[(
        "assignor = \"range\"",
        "assignor = \"range\"\nauto_offset_reset = \"earliest\"",
    )]));
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    assert_eq!(r.summary.skipped_in_added_partitions, 0);
    assert_eq!(r.summary.skipped_by_reset, 0);
    let backlog = r.samples.last().map_or(0, |s| s.backlog_total);
    assert_eq!(
        r.summary.records_processed + backlog,
        r.summary.records_produced
    );
}

#[test]
fn a_consumer_group_assigns_added_partitions_at_the_next_heartbeat() {
    let r = run(&text(&[(
        "assignor = \"range\"",
        "protocol = \"consumer\"",
    )]));
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    let bump = r
        .events
        .iter()
        .find(|e| e.event == "epoch_bumped" && e.detail.contains("partitions were added"))
        .expect("the epoch is bumped");
    // Within one heartbeat interval (5 s) of the add.
    assert!(
        (60_000.0..65_000.0).contains(&bump.time_ms),
        "{}",
        bump.time_ms
    );
    for t in first_assigned(&r) {
        // Each member takes its share at its own next heartbeat.
        assert!((60_000.0..71_000.0).contains(&t), "{t}");
    }
}

#[test]
fn producers_use_new_partitions_only_after_their_metadata_refresh() {
    use rebalance_sim::assign::TopicPartition;
    use rebalance_sim::cluster::Cluster;
    use rebalance_sim::sim::{Duration, Time};
    let s = Scenario::from_toml(&text(&[]), "t.toml", "t", &[]).expect("valid");
    let mut cluster = Cluster::new(&s, 1);
    cluster.add_partitions(0, 12);
    let at = |secs: u64| Time::ZERO + Duration::from_secs(secs);
    let leo = |c: &Cluster, p: u32, t: Time| c.log_end_offset(TopicPartition::new(0, p), t);
    // The producers' refresh comes within metadata.max.age.ms (5 min) of
    // the add at 60 s: a new partition is empty until then, and fills after.
    let switch = (60..=360)
        .find(|&t| leo(&cluster, 6, at(t)) > 0)
        .expect("producers switch within 5 minutes");
    assert!(switch > 60, "not before the add: {switch}");
    for t in [0, 30, 60, switch - 1, switch, switch + 1, 400, 480] {
        let total: u64 = (0..12).map(|p| leo(&cluster, p, at(t))).sum();
        // linger (5 ms) rounds what is visible; the total is the topic's.
        assert_eq!(total, cluster.visible_records(0, at(t)), "at {t}s");
        assert!((6..12).all(|p| (leo(&cluster, p, at(t)) > 0) == (t >= switch)));
    }
    // Records dealt evenly over 12 after the switch.
    let grown = |p| leo(&cluster, p, at(480)) - leo(&cluster, p, at(switch));
    assert!(grown(0).abs_diff(grown(11)) <= 1);
}

#[test]
fn added_partitions_are_validated() {
    for ((from, to), expected) in [
        (
            ("partitions = 12\n", "partitions = 6\n"),
            "must be more than 6",
        ),
        (
            ("topic = \"orders\"", "topic = \"nope\""),
            "unknown topic \"nope\"",
        ),
        (
            ("topic = \"orders\"\n", ""),
            "needs `topic` and `partitions`",
        ),
    ] {
        let t = text(&[(from, to)]);
        let err = Scenario::from_toml(&t, "t.toml", "t", &[])
            .expect_err(expected)
            .to_string();
        assert!(err.contains(expected), "{err}");
        assert!(err.contains("t.toml:"), "{err}");
    }
}
