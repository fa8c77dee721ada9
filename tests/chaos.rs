//! Random fault timelines (`[chaos]`): drawn from the seed, shown in the
//! event log like written faults, printed by `run --emit-timeline` as
//! entries that replay the same run, and followed by a quiet phase.

use rebalance_sim::{Scenario, Simulation};
use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rebalance-sim"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every kind of random fault, on a small group.
const CHAOS: &str = r#"
[scenario]
duration = "6m"
convergence_bound = "90s"
[cluster]
brokers = 3
[[topics]]
name = "t"
partitions = 8
produce_rate = 400
[[topics]]
name = "u"
partitions = 4
produce_rate = 100
[group]
protocol = "consumer"
[consumers]
count = 4
[chaos]
start = "10s"
end = "2m"
crash = { every = "60s" }
restart = { every = "40s", downtime = "3s" }
pause = { every = "90s", duration = "5s" }
stall = { every = "90s", duration = "20s" }
leave = { every = "80s" }
join = { every = "40s" }
slow = { every = "2m", processing = { dist = "uniform", min = "1ms", max = "2ms" } }
broker_crash = { every = "2m", downtime = "20s" }
network_partition = { every = "90s", duration = "15s" }
add_partitions = { every = "2m", count = 2 }
"#;

/// The text before `[chaos]`: the scenario without it.
fn without_chaos(text: &str) -> &str {
    &text[..text.find("[chaos]").expect("a [chaos] table")]
}

#[test]
fn an_emitted_timeline_replays_the_drawn_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("storm.toml");
    std::fs::write(&file, CHAOS).expect("write");
    let scenario = Scenario::load(&file, &[]).expect("valid");
    let mut kinds_seen = std::collections::BTreeSet::new();
    for seed in 1..=6u64 {
        let out = bin()
            .args(["run", file.to_str().unwrap(), "--emit-timeline", "--seed"])
            .arg(seed.to_string())
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let entries = String::from_utf8(out.stdout).expect("utf-8");
        assert!(entries.starts_with("# The faults [chaos] draws with seed"));
        for line in entries.lines().filter(|l| l.starts_with("action = ")) {
            kinds_seen.insert(line.to_string());
        }
        // The drawn run, and the plain scenario with the emitted entries.
        let drawn = Simulation::new(scenario.clone(), seed)
            .expect("valid")
            .run();
        let plain_text = format!("{}{entries}", without_chaos(CHAOS));
        let plain_file = tmp.path().join("storm-fixed.toml");
        std::fs::write(&plain_file, &plain_text).expect("write");
        let plain = Scenario::load(&plain_file, &[]).expect("the emitted entries are valid");
        assert!(plain.chaos.is_none());
        assert!(!plain.timeline.is_empty(), "seed {seed} drew faults");
        let fixed = Simulation::new(plain, seed).expect("valid").run();
        assert_eq!(
            drawn.summary.trace_digest, fixed.summary.trace_digest,
            "seed {seed}: the emitted timeline replays the run"
        );
        assert_eq!(drawn.events.len(), fixed.events.len());
        assert!(
            drawn.summary.violations.is_empty(),
            "seed {seed}: {:?}",
            drawn.summary.violations
        );
        assert_eq!(drawn.summary.converged, Some(true), "seed {seed} converged");
    }
    // Over six seeds every kind of fault was drawn at least once.
    for action in [
        "crash",
        "restart",
        "pause",
        "stall",
        "leave",
        "join",
        "slow",
        "broker-crash",
        "broker-restart",
        "network-partition",
        "add-partitions",
    ] {
        assert!(
            kinds_seen.contains(&format!("action = \"{action}\"")),
            "{action} drawn: {kinds_seen:?}"
        );
    }
}

#[test]
fn drawn_faults_are_in_the_event_log_and_differ_between_seeds() {
    let s = Scenario::from_toml(CHAOS, "storm.toml", "storm", &[]).expect("valid");
    let a = s.drawn_timeline(1);
    let b = s.drawn_timeline(2);
    assert_ne!(a, b, "another seed draws another timeline");
    assert_eq!(a, s.drawn_timeline(1), "the same seed draws the same one");
    let r = Simulation::new(s, 1).expect("valid").run();
    let first_at = a
        .lines()
        .find_map(|l| l.strip_prefix("at = "))
        .expect("a drawn fault");
    let first_action = a
        .lines()
        .find_map(|l| l.strip_prefix("action = "))
        .expect("an action")
        .trim_matches('"')
        .to_string();
    let logged = r
        .events
        .iter()
        .any(|e| format!("{e:?}").contains(&first_action));
    assert!(logged, "{first_action} at {first_at} is in events.csv");
}

#[test]
fn a_window_without_room_for_the_quiet_phase_is_refused() {
    let text = CHAOS.replace("end = \"2m\"", "end = \"5m\"");
    let err = Scenario::from_toml(&text, "storm.toml", "storm", &[])
        .expect_err("no quiet phase")
        .to_string();
    assert!(err.contains("no room for the quiet phase"), "{err}");
    assert!(err.contains("storm.toml:"), "located: {err}");
    let text = CHAOS.replace("end = \"2m\"\n", "");
    let err = Scenario::from_toml(&text, "storm.toml", "storm", &[])
        .expect_err("no end")
        .to_string();
    assert!(err.contains("[chaos] needs `end`"), "{err}");
    let text = CHAOS.replace("duration = \"5s\" }", "duration = \"5s\", count = 3 }");
    let err = Scenario::from_toml(&text, "storm.toml", "storm", &[])
        .expect_err("count on a pause")
        .to_string();
    assert!(err.contains("`count` does not apply"), "{err}");
    let text = CHAOS.replace(
        "broker_crash = { every = \"2m\", downtime = \"20s\" }",
        "broker_crash = { every = \"2m\" }",
    );
    let err = Scenario::from_toml(&text, "storm.toml", "storm", &[])
        .expect_err("no downtime")
        .to_string();
    assert!(err.contains("needs `downtime`"), "{err}");
}

#[test]
fn emit_timeline_needs_a_chaos_table() {
    let out = bin()
        .args(["run", "scenarios/consumer-crash.toml", "--emit-timeline"])
        .current_dir(root())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has none"));
}

#[test]
fn chaos_leaves_written_faults_alone() {
    // c1 is restarted by the file: chaos never picks it.
    let text = CHAOS.replace(
        "[chaos]",
        "[[timeline]]\nat = \"30s\"\naction = \"restart\"\nconsumer = \"c1\"\ndowntime = \"10s\"\n[chaos]",
    );
    let s = Scenario::from_toml(&text, "storm.toml", "storm", &[]).expect("valid");
    for seed in 1..=10 {
        let drawn = s.drawn_timeline(seed);
        assert!(!drawn.contains("\"c1\""), "seed {seed}: {drawn}");
        Simulation::new(s.clone(), seed).expect("valid draws");
    }
}
