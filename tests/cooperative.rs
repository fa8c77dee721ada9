//! Cooperative rebalancing (KIP-429) against eager and static membership,
//! on whole runs: what stops during a rolling deploy, and how a join and a
//! leave move partitions.

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

#[test]
fn a_rolling_restart_stops_everything_when_eager_and_only_what_moves_when_cooperative() {
    let eager = load("rolling-restart-eager");
    let coop = load("rolling-restart-cooperative");
    for r in [&eager, &coop] {
        assert!(
            r.summary.violations.is_empty(),
            "{:?}",
            r.summary.violations
        );
        assert_eq!(r.summary.converged, Some(true));
    }
    // After the initial join, every eager rebalance revokes all 24
    // partitions; a cooperative one stops at most one member's share.
    let after_start = |r: &RunResult| -> Vec<usize> {
        r.rebalance_spans
            .iter()
            .filter(|s| s.start_s > 10.0)
            .map(|s| s.partitions_stopped)
            .collect()
    };
    let (e, c) = (after_start(&eager), after_start(&coop));
    assert_eq!(e.len(), 12, "a leave and a rejoin per restart");
    assert!(e.iter().all(|&n| n == 24), "{e:?}");
    assert!(c.iter().all(|&n| n <= 4), "{c:?}");
    let (e_total, c_total): (usize, usize) = (e.iter().sum(), c.iter().sum());
    assert!(
        e_total >= 5 * c_total,
        "partitions stopped: eager {e_total}, cooperative {c_total}"
    );
    // At no instant after the start does a cooperative rebalance have more
    // than one member's share unowned; every eager one has all 24.
    let most = |r: &RunResult| -> Vec<u64> {
        r.rebalance_spans
            .iter()
            .filter(|s| s.start_s > 10.0)
            .map(|s| s.max_unowned)
            .collect()
    };
    assert!(most(&eager).iter().all(|&n| n == 24), "{:?}", most(&eager));
    assert!(most(&coop).iter().all(|&n| n <= 4), "{:?}", most(&coop));
    // The price: the second rebalance of each restart waits for the other
    // members' next heartbeat (their timers restarted with the last JoinGroup
    // response), so with caught-up consumers and short batches the few
    // withheld partitions stay unowned longer in total than eager's brief
    // stop of everything (see the README).
    let unowned = |r: &RunResult| -> f64 {
        r.rebalance_spans
            .iter()
            .filter(|s| s.start_s > 10.0)
            .map(|s| s.unowned_partition_seconds)
            .sum()
    };
    assert!(
        unowned(&coop) > unowned(&eager),
        "cooperative {} vs eager {}",
        unowned(&coop),
        unowned(&eager)
    );
}

#[test]
fn static_members_restarting_within_the_session_timeout_cause_no_rebalance() {
    let r = load("rolling-restart-static");
    assert_eq!(r.summary.rebalances, 1, "only the initial join");
    assert!(r.summary.violations.is_empty());
    assert!(r.events.iter().all(|e| e.event != "member_removed"));
    // Each instance's partitions are stalled (held, not processed) during
    // its 5 s downtime: 4 partitions × 5 s × 6 restarts.
    let stalled = r.summary.stalled_partition_seconds;
    assert!((110.0..=130.0).contains(&stalled), "{stalled}");
}

fn rows<'a>(r: &'a RunResult, event: &str, subject: &str) -> Vec<&'a LogRow> {
    r.events
        .iter()
        .filter(|e| e.event == event && e.subject == subject)
        .collect()
}

const COOP_GROUP: &str = r#"
[scenario]
duration = "2m"
[[topics]]
name = "t"
partitions = 12
produce_rate = 1200
[group]
assignors = ["cooperative-sticky"]
[consumers]
count = 3
"#;

#[test]
fn a_cooperative_join_revokes_exactly_what_moves_and_hands_it_over_one_rebalance_later() {
    let r = run(&format!(
        "{COOP_GROUP}[[timeline]]\nat = \"30s\"\naction = \"join\"\nconsumer = \"c4\"\n"
    ));
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    let revoked: Vec<String> = ["c1", "c2", "c3"]
        .iter()
        .flat_map(|c| rows(&r, "partitions_revoked", c))
        .flat_map(|e| e.detail.split(' ').map(String::from).collect::<Vec<_>>())
        .collect();
    assert_eq!(
        revoked.len(),
        3,
        "12 partitions over 4: one each from 3 owners: {revoked:?}"
    );
    let c4: Vec<&LogRow> = rows(&r, "partitions_assigned", "c4");
    assert_eq!(
        c4.len(),
        2,
        "nothing in the first rebalance, its share in the second"
    );
    assert_eq!(c4[0].detail, "", "first round withholds moving partitions");
    let mut got: Vec<String> = c4[1].detail.split(' ').map(String::from).collect();
    let mut moved = revoked.clone();
    got.sort();
    moved.sort();
    assert_eq!(
        got, moved,
        "the joiner gets exactly what the others gave up"
    );
    assert_eq!(c4[1].generation, Some(c4[0].generation.unwrap_or(0) + 1));
    // The survivors never stopped consuming what they kept.
    assert_eq!(r.summary.duplicates, 0);
}

#[test]
fn a_cooperative_leave_revokes_nothing_from_the_survivors() {
    let r = run(&format!(
        "{COOP_GROUP}[[timeline]]\nat = \"30s\"\naction = \"leave\"\nconsumer = \"c3\"\n"
    ));
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    for c in ["c1", "c2"] {
        assert!(
            rows(&r, "partitions_revoked", c).is_empty(),
            "{c} keeps everything it had"
        );
    }
    // One rebalance after the leave hands c3's partitions to c1 and c2.
    assert_eq!(r.summary.rebalances, 2);
}

#[test]
fn the_default_strategy_is_eager_range_as_in_kafka() {
    let r = run(&COOP_GROUP.replace("assignors = [\"cooperative-sticky\"]", ""));
    assert_eq!(r.summary.assignor, "range");
    let r = run(&COOP_GROUP.replace(
        "assignors = [\"cooperative-sticky\"]",
        "assignors = [\"cooperative-sticky\", \"range\"]",
    ));
    assert_eq!(
        r.summary.assignor, "cooperative-sticky",
        "every member votes for its first choice"
    );
}

#[test]
fn a_member_sharing_no_assignor_with_the_group_is_refused_and_exits() {
    let r = run(&format!(
        "{COOP_GROUP}[[timeline]]\nat = \"30s\"\naction = \"join\"\nconsumer = \"odd\"\nassignors = [\"roundrobin\"]\n"
    ));
    let refused: Vec<&LogRow> = rows(&r, "rejoin_needed", "odd");
    assert!(
        refused
            .iter()
            .any(|e| e.detail.contains("INCONSISTENT_GROUP_PROTOCOL")),
        "{refused:?}"
    );
    assert_eq!(rows(&r, "consumer_stopped", "odd").len(), 1);
}

#[test]
fn the_two_bounce_upgrade_switches_assignor_then_protocol_without_stopping_the_group() {
    let r = load("upgrade-to-cooperative");
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    assert_eq!(r.summary.converged, Some(true));
    let protocols: Vec<(f64, &str)> = r
        .events
        .iter()
        .filter(|e| e.event == "assignment_computed")
        .map(|e| (e.time_ms, e.detail.split(':').next().unwrap_or_default()))
        .collect();
    // range until every member supports cooperative-sticky (after the
    // first bounce), cooperative-sticky from then on.
    assert!(
        protocols
            .iter()
            .filter(|p| p.0 < 120_000.0)
            .all(|p| p.1 == "range"),
        "{protocols:?}"
    );
    assert!(
        protocols
            .iter()
            .filter(|p| p.0 > 150_000.0)
            .all(|p| p.1 == "cooperative-sticky"),
        "{protocols:?}"
    );
    // In the second bounce, once the first member is back cooperative, no
    // rebalance has all 24 partitions unowned at once (the first one does:
    // its leaver revoked on close, the five still eager revoke everything).
    let second: Vec<u64> = r
        .rebalance_spans
        .iter()
        .filter(|s| s.start_s > 190.0)
        .map(|s| s.max_unowned)
        .collect();
    assert!(second.len() >= 10, "{second:?}");
    assert!(second.iter().all(|&n| n < 24), "{second:?}");
    let stopped: Vec<usize> = r
        .rebalance_spans
        .iter()
        .filter(|s| s.start_s > 190.0)
        .map(|s| s.partitions_stopped)
        .collect();
    assert!(
        stopped.last() < stopped.first(),
        "fewer stop as more are cooperative: {stopped:?}"
    );
}
