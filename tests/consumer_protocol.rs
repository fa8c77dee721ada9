//! The KIP-848 consumer protocol on whole runs: joins and leaves move only
//! what moves, reconciliation is paced by heartbeats, the rolling restart
//! against eager and cooperative, the rebalance timeout, static members,
//! and commits fenced by member epoch.

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

fn rows<'a>(r: &'a RunResult, event: &str, subject: &str) -> Vec<&'a LogRow> {
    r.events
        .iter()
        .filter(|e| e.event == event && e.subject == subject)
        .collect()
}

fn partitions(row: &LogRow) -> Vec<String> {
    row.detail
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

const GROUP: &str = r#"
[scenario]
duration = "2m"
convergence_bound = "60s"
[[topics]]
name = "t"
partitions = 12
produce_rate = 1200
[group]
protocol = "consumer"
[consumers]
count = 3
"#;

/// Heartbeat interval (group.consumer.heartbeat.interval.ms) plus the
/// assignment interval: the bound of each step of a handover.
const STEP_MS: f64 = 5_000.0 + 1_000.0;

#[test]
fn a_join_revokes_only_what_moves_and_is_reconciled_within_two_heartbeats() {
    let r = run(&format!(
        "{GROUP}[[timeline]]\nat = \"30s\"\naction = \"join\"\nconsumer = \"c4\"\n"
    ));
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    assert_eq!(r.summary.converged, Some(true));
    let revoked: Vec<String> = ["c1", "c2", "c3"]
        .iter()
        .flat_map(|c| rows(&r, "partitions_revoked", c))
        .filter(|e| e.time_ms > 30_000.0)
        .flat_map(partitions)
        .collect();
    assert_eq!(
        revoked.len(),
        3,
        "12 over 4: one from each owner: {revoked:?}"
    );
    // The joiner gets exactly what the others gave up, nothing else.
    let mut got: Vec<String> = rows(&r, "partitions_assigned", "c4")
        .into_iter()
        .flat_map(partitions)
        .collect();
    let mut moved = revoked.clone();
    got.sort();
    moved.sort();
    assert_eq!(got, moved);
    // Each change is reconciled within two heartbeat intervals of the join.
    let done = rows(&r, "partitions_assigned", "c4")
        .last()
        .map(|e| e.time_ms)
        .expect("c4 got partitions");
    assert!(done - 30_000.0 <= 2.0 * STEP_MS, "reconciled at {done} ms");
    // Nobody stopped consuming what it kept: no duplicates, and each
    // survivor revoked once, only its moving partition.
    assert_eq!(r.summary.duplicates, 0);
    for c in ["c1", "c2", "c3"] {
        let revokes: Vec<_> = rows(&r, "partitions_revoked", c)
            .into_iter()
            .filter(|e| e.time_ms > 30_000.0)
            .collect();
        assert_eq!(revokes.len(), 1, "{c}: {revokes:?}");
    }
}

#[test]
fn a_leave_revokes_nothing_from_the_survivors_and_is_reconciled_within_two_heartbeats() {
    let r = run(&format!(
        "{GROUP}[[timeline]]\nat = \"30s\"\naction = \"leave\"\nconsumer = \"c3\"\n"
    ));
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    for c in ["c1", "c2"] {
        assert!(
            rows(&r, "partitions_revoked", c).is_empty(),
            "{c} keeps all"
        );
        let last = rows(&r, "partitions_assigned", c)
            .last()
            .map(|e| e.time_ms)
            .expect("assigned");
        assert!(
            last > 30_000.0 && last - 30_000.0 <= 2.0 * STEP_MS,
            "{c} took c3's share at {last} ms"
        );
    }
    // The leave is one epoch bump.
    let bumps = r
        .events
        .iter()
        .filter(|e| e.event == "epoch_bumped" && e.time_ms > 30_000.0)
        .count();
    assert_eq!(bumps, 1);
    assert_eq!(r.summary.converged, Some(true));
}

#[test]
fn the_rolling_restart_under_kip_848_leaves_fewer_partitions_unowned_than_eager_or_cooperative() {
    let eager = load("rolling-restart-eager");
    let coop = load("rolling-restart-cooperative");
    let modern = load("rolling-restart-consumer-protocol");
    for r in [&eager, &coop, &modern] {
        assert!(
            r.summary.violations.is_empty(),
            "{:?}",
            r.summary.violations
        );
        assert_eq!(r.summary.converged, Some(true));
    }
    let (e, c, m) = (
        eager.summary.unowned_partition_seconds,
        coop.summary.unowned_partition_seconds,
        modern.summary.unowned_partition_seconds,
    );
    assert!(m <= c, "KIP-848 {m} vs cooperative {c}");
    assert!(m < e, "KIP-848 {m} vs eager {e}");
    // What moves is at most one member's share at a time (4 of 24), where
    // every eager rebalance stops all 24.
    let after_start = |r: &RunResult| -> Vec<u64> {
        r.rebalance_spans
            .iter()
            .filter(|s| s.start_s > 10.0)
            .map(|s| s.max_unowned)
            .collect()
    };
    assert!(
        after_start(&modern).iter().all(|&n| n <= 4),
        "{:?}",
        after_start(&modern)
    );
    let stopped = |r: &RunResult| -> usize {
        r.rebalance_spans
            .iter()
            .filter(|s| s.start_s > 10.0)
            .map(|s| s.partitions_stopped)
            .sum()
    };
    assert!(
        stopped(&eager) >= 5 * stopped(&modern),
        "stopped: eager {}, KIP-848 {}",
        stopped(&eager),
        stopped(&modern)
    );
    assert_eq!(modern.summary.duplicates, 0);
}

#[test]
fn a_member_that_does_not_revoke_within_its_rebalance_timeout_is_fenced_and_its_partitions_move() {
    // c1's application thread stalls for 60 s; c4 joins meanwhile, so c1
    // must revoke, which runs from poll(): it cannot. Its rebalance
    // timeout (10 s, below max.poll.interval.ms) fences it.
    let text = GROUP
        .replace(
            "protocol = \"consumer\"",
            "protocol = \"consumer\"\nrebalance_timeout = \"10s\"",
        )
        .replace("duration = \"2m\"", "duration = \"3m\"")
        + "[[timeline]]\nat = \"30s\"\naction = \"stall\"\nconsumer = \"c1\"\nduration = \"60s\"\n\
         [[timeline]]\nat = \"31s\"\naction = \"join\"\nconsumer = \"c4\"\n";
    let r = run(&text);
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    let fenced: Vec<&LogRow> = r
        .events
        .iter()
        .filter(|e| e.event == "member_removed" && e.detail.contains("rebalance timeout"))
        .collect();
    assert_eq!(fenced.len(), 1, "{:?}", fenced);
    assert!(fenced[0].subject.starts_with("c1-"));
    let at = fenced[0].time_ms;
    assert!(
        (40_000.0..=40_000.0 + STEP_MS).contains(&at),
        "fenced at {at} ms"
    );
    // c1 learns it at its next heartbeat and loses its partitions at its
    // next poll (after the stall); the others have them by then.
    assert!(
        rows(&r, "rejoin_needed", "c1")
            .iter()
            .any(|e| e.detail.contains("UNKNOWN_MEMBER_ID"))
    );
    assert!(!rows(&r, "partitions_lost", "c1").is_empty());
    assert_eq!(r.summary.converged, Some(true));
}

#[test]
fn stale_epoch_commits_are_refused_and_without_fencing_a_zombie_commit_moves_offsets_back() {
    // The classic zombie-commit scenario under KIP-848: c1's process is
    // frozen for 60 s, past the broker's 45 s session timeout; it comes
    // back and commits with its old member epoch.
    let text = r#"
[scenario]
duration = "4m"
convergence_bound = "120s"
[[topics]]
name = "payments"
partitions = 6
produce_rate = 600
[group]
protocol = "consumer"
commit = "sync"
max_poll_records = 10
[consumers]
count = 3
processing = "100us"
[[timeline]]
at = "60s"
action = "pause"
consumer = "c1"
duration = "60s"
"#;
    let fenced = run(text);
    assert!(
        fenced.summary.violations.is_empty(),
        "{:?}",
        fenced.summary.violations
    );
    let refused = rows(&fenced, "commit_failed", "c1");
    assert!(
        refused
            .iter()
            .any(|e| e.detail.contains("UNKNOWN_MEMBER_ID")
                || e.detail.contains("STALE_MEMBER_EPOCH")),
        "{refused:?}"
    );
    assert!(fenced.summary.zombie_records > 0);
    let open = run(&text.replace("commit = \"sync\"", "commit = \"sync\"\nfencing = false"));
    assert!(
        open.summary.violations.iter().any(|v| v.invariant == 3),
        "the zombie's old offsets overwrite newer ones: {:?}",
        open.summary.violations
    );
}

#[test]
fn a_static_member_restarting_within_the_session_timeout_keeps_its_partitions_without_an_epoch_bump()
 {
    let text = GROUP.replace("count = 3", "count = 3\nstatic_membership = true")
        + "[[timeline]]\nat = \"30s\"\naction = \"restart\"\nconsumer = \"c2\"\ndowntime = \"10s\"\n";
    let r = run(&text);
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    let bumps_after = r
        .events
        .iter()
        .filter(|e| e.event == "epoch_bumped" && e.time_ms > 30_000.0)
        .count();
    assert_eq!(
        bumps_after, 0,
        "leave with epoch -2, replaced without a bump"
    );
    assert_eq!(
        r.events
            .iter()
            .filter(|e| e.event == "member_replaced")
            .count(),
        1
    );
    let before = rows(&r, "partitions_assigned", "c2")
        .iter()
        .filter(|e| e.time_ms < 30_000.0)
        .flat_map(|e| partitions(e))
        .collect::<Vec<_>>();
    let after = rows(&r, "partitions_assigned", "c2")
        .iter()
        .filter(|e| e.time_ms > 30_000.0)
        .flat_map(|e| partitions(e))
        .collect::<Vec<_>>();
    assert_eq!(
        before, after,
        "the new instance gets the same partitions back"
    );
    // Nobody else took them meanwhile: they were stalled, not moved.
    for c in ["c1", "c3"] {
        assert!(
            rows(&r, "partitions_revoked", c)
                .iter()
                .all(|e| e.time_ms < 30_000.0)
        );
        assert!(
            rows(&r, "partitions_assigned", c)
                .iter()
                .filter(|e| e.time_ms > 30_000.0)
                .all(|e| partitions(e).is_empty()),
            "{c} got nothing of c2's"
        );
    }
}

#[test]
fn client_side_assignors_are_refused_with_the_consumer_protocol_and_server_side_ones_with_classic()
{
    let e = Scenario::from_toml(
        &GROUP.replace(
            "protocol = \"consumer\"",
            "protocol = \"consumer\"\nassignor = \"range\"",
        ),
        "x.toml",
        "x",
        &[],
    )
    .expect_err("refused");
    assert!(e.to_string().contains("remote_assignor"), "{e}");
    let e = Scenario::from_toml(
        &GROUP.replace("protocol = \"consumer\"", "assignor = \"uniform\""),
        "x.toml",
        "x",
        &[],
    )
    .expect_err("refused");
    assert!(
        e.to_string().contains("group.protocol = \\\"consumer\\\"")
            || e.to_string().contains("group.protocol = \"consumer\""),
        "{e}"
    );
    let e = Scenario::from_toml(
        &GROUP.replace(
            "protocol = \"consumer\"",
            "protocol = \"consumer\"\nremote_assignor = \"sticky\"",
        ),
        "x.toml",
        "x",
        &[],
    )
    .expect_err("refused");
    assert!(e.to_string().contains("server-side"), "{e}");
    let r = run(&GROUP.replace(
        "protocol = \"consumer\"",
        "protocol = \"consumer\"\nremote_assignor = \"server-range\"",
    ));
    assert_eq!(r.summary.assignor, "server-range");
}

#[test]
fn the_static_rolling_restart_under_kip_848_stalls_each_share_for_its_downtime_without_a_rebalance()
{
    let r = load("rolling-restart-consumer-protocol-static");
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    assert_eq!(r.summary.converged, Some(true));
    // Only the initial joins bump the epoch; each restart is a -2 leave and
    // a replacement.
    assert!(
        r.events
            .iter()
            .filter(|e| e.event == "epoch_bumped")
            .all(|e| e.time_ms < 30_000.0)
    );
    assert_eq!(
        r.events
            .iter()
            .filter(|e| e.event == "member_replaced")
            .count(),
        6
    );
    assert!(r.events.iter().all(|e| e.event != "member_removed"));
    // 4 partitions × 5 s × 6 restarts held but not processed.
    let stalled = r.summary.stalled_partition_seconds;
    assert!((110.0..=130.0).contains(&stalled), "{stalled}");
}

#[test]
fn a_poll_timeout_leaves_with_epoch_minus_one_loses_the_partitions_and_rejoins_at_the_next_poll() {
    // c1's application thread blocks for 40 s, past max.poll.interval.ms
    // (20 s): the heartbeat manager sends the leave at once, the
    // partitions move to the others, and c1 rejoins when its poll returns.
    let text = GROUP
        .replace(
            "protocol = \"consumer\"",
            "protocol = \"consumer\"\nmax_poll_interval = \"20s\"",
        )
        .replace("duration = \"2m\"", "duration = \"3m\"")
        + "[[timeline]]\nat = \"30s\"\naction = \"stall\"\nconsumer = \"c1\"\nduration = \"40s\"\n";
    let r = run(&text);
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    let timeout = rows(&r, "poll_timeout", "c1");
    assert_eq!(timeout.len(), 1);
    let at = timeout[0].time_ms;
    assert!((50_000.0..51_000.0).contains(&at), "{at}");
    // The leave is processed at once: the member is removed within a
    // round trip, not after the 45 s session timeout.
    let removed = r
        .events
        .iter()
        .find(|e| e.event == "member_removed" && e.subject.starts_with("c1-"))
        .expect("c1 removed");
    assert!(
        removed.time_ms - at < 100.0,
        "removed at {}",
        removed.time_ms
    );
    assert!(removed.detail.contains("left the group"));
    // Lost at the next poll (after the stall), then a rejoin at epoch 0:
    // c1 gets partitions again.
    let lost = rows(&r, "partitions_lost", "c1");
    assert_eq!(lost.len(), 1);
    assert!(lost[0].time_ms >= 70_000.0);
    assert!(
        rows(&r, "partitions_assigned", "c1")
            .iter()
            .any(|e| e.time_ms > 70_000.0 && !partitions(e).is_empty())
    );
    assert_eq!(r.summary.converged, Some(true));
}

#[test]
fn classic_only_client_settings_are_refused_with_the_consumer_protocol_and_broker_bounds_are_settings()
 {
    let refused = |extra: &str| {
        Scenario::from_toml(
            &GROUP.replace(
                "protocol = \"consumer\"",
                &format!("protocol = \"consumer\"\n{extra}"),
            ),
            "x.toml",
            "x",
            &[],
        )
        .expect_err("refused")
        .to_string()
    };
    assert!(refused("session_timeout = \"10s\"").contains("consumer_session_timeout"));
    assert!(refused("heartbeat_interval = \"1s\"").contains("consumer_heartbeat_interval"));
    assert!(
        refused("consumer_session_timeout = \"10s\"")
            .contains("cluster.group_consumer_min/max_session_timeout")
    );
    // Kafka's name for the server-side range assignor, and any case for
    // the protocol, as Kafka takes them.
    let r = run(&GROUP.replace(
        "protocol = \"consumer\"",
        "protocol = \"Consumer\"\nremote_assignor = \"range\"",
    ));
    assert_eq!(r.summary.assignor, "server-range");
    // A faster failover needs the broker's bounds lowered.
    let text = GROUP
        .replace(
            "[group]",
            "[cluster]\ngroup_consumer_min_session_timeout = \"10s\"\n[group]",
        )
        .replace(
            "protocol = \"consumer\"",
            "protocol = \"consumer\"\nconsumer_session_timeout = \"10s\"",
        )
        + "[[timeline]]\nat = \"30s\"\naction = \"crash\"\nconsumer = \"c2\"\n";
    let r = run(&text);
    let expired = r
        .events
        .iter()
        .find(|e| e.event == "session_expired")
        .expect("c2 expires");
    assert!(expired.time_ms < 40_500.0, "{}", expired.time_ms);
    // Per-consumer client assignors are refused too.
    let e = Scenario::from_toml(
        &(GROUP.to_string() + "[[consumers.named]]\nname = \"x\"\nassignors = [\"range\"]\n"),
        "x.toml",
        "x",
        &[],
    )
    .expect_err("refused");
    assert!(e.to_string().contains("remote_assignor"), "{e}");
}

#[test]
fn without_a_rebalance_listener_a_fenced_member_loses_its_partitions_and_rejoins_at_once() {
    // As the rebalance-timeout test, with no revoke callback: the lost
    // callback completes on the background thread, so c1 rejoins while its
    // application thread is still stalled.
    let text = GROUP
        .replace(
            "protocol = \"consumer\"",
            "protocol = \"consumer\"\nrebalance_timeout = \"10s\"\ncommit_on_revoke = false",
        )
        .replace("duration = \"2m\"", "duration = \"3m\"")
        + "[[timeline]]\nat = \"30s\"\naction = \"stall\"\nconsumer = \"c1\"\nduration = \"60s\"\n\
           [[timeline]]\nat = \"31s\"\naction = \"join\"\nconsumer = \"c4\"\n";
    let r = run(&text);
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    let lost = rows(&r, "partitions_lost", "c1");
    assert_eq!(lost.len(), 1);
    assert!(
        lost[0].time_ms < 60_000.0,
        "lost at {} ms, before the stall ends",
        lost[0].time_ms
    );
    let rejoined = r
        .events
        .iter()
        .filter(|e| {
            e.event == "member_added" && e.subject.starts_with("c1-") && e.time_ms > 40_000.0
        })
        .count();
    assert_eq!(rejoined, 1);
}
