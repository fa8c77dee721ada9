//! `shrink`: a failing run made small. The shrunk scenario must still fail
//! the same invariant with the same seed, and be no larger than the bounds
//! the README documents.

use rebalance_sim::assign::{Assignment, Assignor, GroupSpec, RangeAssignor, TopicPartition};
use rebalance_sim::shrink::{ShrinkError, shrink};
use rebalance_sim::{Scenario, Simulation};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rebalance-sim"));
    c.current_dir(root());
    c
}

/// Range, but once the group has three members or more, partition 0 of
/// the first topic also goes to every member: invariant 1.
struct DuplicatesInBigGroups;

impl Assignor for DuplicatesInBigGroups {
    fn name(&self) -> &str {
        "duplicates-in-big-groups"
    }
    fn assign(&self, group: &GroupSpec) -> Assignment {
        let mut a = RangeAssignor.assign(group);
        if group.members.len() >= 3 {
            for list in &mut a.per_member {
                if !list.contains(&TopicPartition::new(0, 0)) {
                    list.push(TopicPartition::new(0, 0));
                }
            }
        }
        a
    }
}

/// A group of six on two topics with written faults and drawn ones.
const BIG: &str = r#"
[scenario]
duration = "8m"
convergence_bound = "2m"
[[topics]]
name = "a"
partitions = 12
produce_rate = 600
[[topics]]
name = "b"
partitions = 12
produce_rate = 600
[consumers]
count = 6
[[timeline]]
at = "30s"
action = "restart"
consumer = "c1"
downtime = "5s"
[[timeline]]
at = "60s"
action = "crash"
consumer = "c2"
[[timeline]]
at = "90s"
action = "pause"
consumer = "c3"
duration = "10s"
[[timeline]]
at = "2m"
action = "leave"
consumer = "c4"
[chaos]
start = "2m"
end = "4m"
crash = { every = "40s" }
join = { every = "40s" }
"#;

#[test]
fn a_planted_assignor_bug_shrinks_to_its_smallest_group() {
    let scenario = Scenario::from_toml(BIG, "big.toml", "big", &[]).expect("valid");
    let runner = |s: Scenario, seed: u64| {
        Ok(Simulation::with_assignor(s, seed, Arc::new(DuplicatesInBigGroups))?.run())
    };
    let mut printed = Vec::new();
    let shrunk = shrink(&scenario, 7, 2000, &runner, &mut |s| {
        printed.push(s.clone())
    })
    .expect("shrinks");
    assert_eq!(shrunk.invariant, 1);
    assert!(
        shrunk.original.timeline_entries > 4,
        "drawn faults count as entries: {}",
        shrunk.original
    );
    assert!(
        !printed.is_empty() && printed == shrunk.steps,
        "each step is reported"
    );
    // The documented bound: no timeline, three consumers, one topic of one
    // partition, and at most a quarter of the run.
    let s = shrunk.size;
    assert_eq!(s.timeline_entries, 0, "{s}");
    assert_eq!(s.consumers, 3, "{s}");
    assert_eq!(s.topics, 1, "{s}");
    assert_eq!(s.partitions, 1, "{s}");
    assert!(s.duration_ms * 4 <= shrunk.original.duration_ms, "{s}");
    // A standalone scenario that still fails the same way, and no longer
    // draws anything.
    let small = Scenario::from_toml(&shrunk.text, "small.toml", "small", &[]).expect("valid");
    assert!(small.chaos.is_none());
    assert_eq!(small.default_seed, 7);
    let again = runner(small, 7).expect("runs");
    assert!(again.summary.violations.iter().any(|v| v.invariant == 1));
    // The real assignor keeps the invariant on the shrunk scenario.
    let fine = Scenario::from_toml(&shrunk.text, "small.toml", "small", &[]).unwrap();
    assert!(
        Simulation::new(fine, 7)
            .unwrap()
            .run()
            .summary
            .violations
            .is_empty()
    );
}

#[test]
fn a_passing_run_has_nothing_to_shrink() {
    let scenario = Scenario::from_toml(BIG, "big.toml", "big", &[]).expect("valid");
    let err = shrink(
        &scenario,
        1,
        50,
        &rebalance_sim::shrink::simulate,
        &mut |_| {},
    )
    .expect_err("no failure");
    assert!(matches!(err, ShrinkError::NoViolation(1)), "{err}");
}

#[test]
fn the_rebalance_storm_shrinks_to_its_slow_consumer_from_the_command_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("storm.toml");
    let o = bin()
        .args([
            "shrink",
            "tests/scenarios/rebalance-storm.toml",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let steps = String::from_utf8_lossy(&o.stdout);
    assert!(steps.contains("consumers.count"), "steps printed: {steps}");
    assert!(steps.contains("invariant 5 still violated"), "{steps}");
    let text = std::fs::read_to_string(&out).expect("written");
    assert!(text.starts_with(
        "# Shrunk by rebalance-sim shrink from tests/scenarios/rebalance-storm.toml --seed 3 (checksum "
    ));
    let small = Scenario::load(&out, &[]).expect("a valid scenario");
    // The bound: the one slow consumer, one partition, a shorter run.
    assert_eq!(small.consumers.len(), 1);
    assert_eq!(small.consumers[0].name, "c3");
    assert_eq!(small.topics[0].partitions, 1);
    assert!(small.duration.millis() < 180_000);
    let run = bin()
        .args(["run", out.to_str().unwrap(), "--quiet", "--out"])
        .arg(tmp.path().join("replay"))
        .output()
        .expect("runs");
    assert_eq!(run.status.code(), Some(1), "still fails");
    assert!(String::from_utf8_lossy(&run.stderr).contains("invariant 5"));
    // A second shrink may replace its own file, never a foreign one.
    let again = bin()
        .args([
            "shrink",
            "tests/scenarios/rebalance-storm.toml",
            "--seed",
            "3",
            "-q",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("runs");
    assert!(again.status.success());
    // Edited since (a regression test now): never replaced.
    std::fs::write(&out, format!("{text}# my notes\n")).unwrap();
    let edited = bin()
        .args([
            "shrink",
            "tests/scenarios/rebalance-storm.toml",
            "--seed",
            "3",
            "-q",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(edited.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&edited.stderr).contains("edited since"));
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .ends_with("# my notes\n")
    );
    let foreign = tmp.path().join("mine.toml");
    std::fs::write(&foreign, "precious").unwrap();
    let refused = bin()
        .args([
            "shrink",
            "tests/scenarios/rebalance-storm.toml",
            "-q",
            "--out",
        ])
        .arg(&foreign)
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&foreign).unwrap(), "precious");
    let nothing = bin()
        .args(["shrink", "scenarios/consumer-crash.toml", "-q", "--out"])
        .arg(tmp.path().join("x.toml"))
        .output()
        .expect("runs");
    assert_eq!(nothing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("no failure to shrink"));
}
