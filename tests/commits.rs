//! Commit modes, fencing and zombies (issue 7 §4), on whole runs.

use rebalance_sim::{RunResult, Scenario, Simulation};

fn load(name: &str, overrides: &[&str]) -> RunResult {
    let path = format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let scenario = Scenario::load(path.as_ref(), &overrides).expect("valid scenario");
    Simulation::new(scenario, 1).expect("valid").run()
}

#[test]
fn a_zombies_commit_is_fenced_and_its_processing_counted() {
    let r = load("zombie-commit", &[]);
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    let refused: Vec<&str> = r
        .events
        .iter()
        .filter(|e| e.event == "commit_failed" && e.subject == "c1")
        .map(|e| e.detail.as_str())
        .collect();
    assert!(refused.contains(&"UNKNOWN_MEMBER_ID"), "{refused:?}");
    assert!(r.summary.zombie_records > 0);
    assert!(r.summary.zombie_partition_seconds > 0.0);
    assert!(
        r.summary.duplicates >= r.summary.zombie_records,
        "the zombie redid work"
    );
}

/// A consumer stalls at 30 s in a batch of its 2 partitions, is removed
/// at about 90 s (`max.poll.interval.ms`) and finishes the batch when the
/// stall ends: zombie partition-time is from the removal to the end of the
/// batch (2 × 10 s with a 70 s stall, 2 × 60 s with 2 minutes), not from
/// the batch's start, when it was still a member.
#[test]
fn zombie_partition_time_starts_when_the_member_is_removed() {
    for (stall, expected) in [("70s", 20.0), ("2m", 120.0)] {
        let r = load(
            "stalled-consumer",
            &[&format!("timeline.0.duration={stall}")],
        );
        let removed = r
            .events
            .iter()
            .find(|e| e.event == "member_removed")
            .expect("the stalled member is removed");
        assert!(
            (90_000.0..90_100.0).contains(&removed.time_ms),
            "{removed:?}"
        );
        assert!(
            r.summary.zombie_records > 0,
            "the zombie finished its batch"
        );
        let got = r.summary.zombie_partition_seconds;
        assert!(
            (expected..expected + 0.1).contains(&got),
            "stall {stall}: {got} partition-seconds"
        );
    }
}

#[test]
fn without_fencing_the_zombies_commit_moves_offsets_back_and_invariant_3_fires() {
    let r = load("zombie-commit", &["group.fencing=false"]);
    let three: Vec<&str> = r
        .summary
        .violations
        .iter()
        .filter(|v| v.invariant == 3)
        .map(|v| v.message.as_str())
        .collect();
    assert!(!three.is_empty(), "{:?}", r.summary.violations);
    assert!(three[0].contains("went back") && three[0].contains("commit by c1-"));
}

const CRASH: &str = r#"
[scenario]
duration = "90s"
[[topics]]
name = "t"
partitions = 6
produce_rate = 600
[consumers]
count = 3
processing = "1ms"
[[timeline]]
at = "30s"
action = "crash"
consumer = "c1"
"#;

fn run_mode(mode: &str) -> RunResult {
    let text = CRASH.replace(
        "[consumers]",
        &format!("[group]\ncommit = \"{mode}\"\n[consumers]"),
    );
    let scenario = Scenario::from_toml(&text, "inline.toml", "inline", &[]).expect("valid");
    Simulation::new(scenario, 1).expect("valid").run()
}

#[test]
fn at_most_once_with_a_crash_loses_records_and_at_least_once_loses_none() {
    let amo = run_mode("before-processing");
    assert!(
        amo.summary.lost > 0,
        "committed before processing, then crashed"
    );
    assert!(
        amo.summary.violations.iter().all(|v| v.invariant != 4),
        "invariant 4 is for at-least-once settings: {:?}",
        amo.summary.violations
    );
    assert_eq!(amo.summary.duplicates, 0, "nothing is processed twice");
    for mode in ["auto", "sync", "async"] {
        let r = run_mode(mode);
        assert_eq!(r.summary.lost, 0, "{mode}");
        assert!(
            r.summary.violations.is_empty(),
            "{mode}: {:?}",
            r.summary.violations
        );
    }
    // Commit after every batch redoes less than auto-commit's 5 s.
    assert!(run_mode("sync").summary.duplicates < run_mode("auto").summary.duplicates);
}

#[test]
fn async_commits_do_not_wait_for_their_answer() {
    let count = |r: &RunResult| r.summary.records_processed;
    // With a slow coordinator log, waiting for every commit costs
    // throughput; async commits do not wait.
    let slow = |mode: &str| {
        let text = CRASH
            .replace(
                "[consumers]",
                &format!("[group]\ncommit = \"{mode}\"\n[consumers]"),
            )
            .replace(
                "[[topics]]",
                "[cluster]\nappend_linger = \"50ms\"\n[[topics]]",
            )
            .replace("produce_rate = 600", "produce_rate = 6000");
        let scenario = Scenario::from_toml(&text, "inline.toml", "inline", &[]).expect("valid");
        Simulation::new(scenario, 1).expect("valid").run()
    };
    let (sync, asynchronous) = (slow("sync"), slow("async"));
    assert!(
        count(&asynchronous) > count(&sync),
        "{} vs {}",
        count(&asynchronous),
        count(&sync)
    );
}
