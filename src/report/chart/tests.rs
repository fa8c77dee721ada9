//! Every chart renders, without panicking, for runs at the edges: nothing
//! happening, one sample, no partitions, 100,000 consumers, very long
//! names, many events at one instant.

use crate::report::{OUTPUT_FILES, write_outputs};
use crate::simulation::{RebalanceSpan, RunResult};
use crate::{Scenario, Simulation};
use std::path::Path;

/// A small run of `timeline` (TOML `[[timeline]]` entries) on 6 partitions.
fn run(duration: &str, timeline: &str) -> RunResult {
    let text = format!(
        r#"
[scenario]
duration = "{duration}"
[[topics]]
name = "t"
partitions = 6
produce_rate = 300
[consumers]
count = 3
{timeline}
"#
    );
    let scenario =
        Scenario::from_toml(&text, "inline.toml", "inline", &[]).expect("valid scenario");
    Simulation::new(scenario, 1).expect("simulation").run()
}

fn crash_run() -> RunResult {
    run(
        "40s",
        "[[timeline]]\nat = \"10s\"\naction = \"crash\"\nconsumer = \"c2\"\n\
         [[timeline]]\nat = \"12s\"\naction = \"pause\"\nconsumer = \"c1\"\nduration = \"3s\"\n",
    )
}

/// Writes `r`'s outputs into a new directory and checks every file is
/// there, the charts not empty (a CSV of no rows is).
fn assert_renders(r: &RunResult, dir: &Path) {
    write_outputs(r, dir, false).expect("outputs written");
    for f in OUTPUT_FILES {
        let len = std::fs::metadata(dir.join(f))
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .len();
        let chart = f.ends_with(".png") || f.ends_with(".svg");
        assert!(len > 0 || !chart, "{f} is empty");
    }
}

#[test]
fn ordinary_and_quiet_runs_render() {
    let tmp = tempfile::tempdir().expect("tempdir");
    assert_renders(&crash_run(), &tmp.path().join("crash"));
    assert_renders(&run("5s", ""), &tmp.path().join("nothing"));
}

#[test]
fn a_run_with_one_sample_and_no_partitions_renders() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut r = crash_run();
    r.samples.truncate(1);
    assert_renders(&r, &tmp.path().join("one-sample"));
    r.samples.clear();
    r.partition_names.clear();
    r.ownership.clear();
    r.orphaned.clear();
    assert_renders(&r, &tmp.path().join("no-partitions"));
}

#[test]
fn a_hundred_thousand_consumers_and_long_names_render() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut r = crash_run();
    let n = 100_000;
    let long = "x".repeat(400);
    r.summary.scenario = format!("scenario-{long}");
    r.consumer_names = (0..n).map(|i| format!("consumer-{i}")).collect();
    r.consumer_names[7] = format!("consumer-{long}");
    r.partition_names = (0..500).map(|i| format!("topic-{long}-{i}")).collect();
    let end = r.summary.duration_ms as f64 / 1000.0;
    // Every partition changes hands among all the consumers.
    r.ownership = (0..n)
        .map(|c| {
            let t = c as f64 * end / n as f64;
            (c % 500, c, t, t + 0.5)
        })
        .collect();
    r.orphaned = vec![(0, 7, 1.0, 30.0), (499, 9, 0.0, end)];
    r.blocked = (0..n).step_by(10).map(|c| (c, 0.0, end)).collect();
    r.markers = (0..n)
        .map(|c| (20.0, format!("leave {}", r.consumer_names[c])))
        .chain((0..200).map(|i| (i as f64 * 0.2, format!("join c{i}"))))
        .collect();
    r.rebalance_spans = (0..400)
        .map(|i| RebalanceSpan {
            start_s: i as f64 * 0.1,
            end_s: i as f64 * 0.1 + 0.006,
            cause: format!("session expiry {long}"),
            ..Default::default()
        })
        .chain([RebalanceSpan {
            start_s: end,
            end_s: end,
            cause: "join c1".into(),
            ..Default::default()
        }])
        .collect();
    assert_renders(&r, &tmp.path().join("huge"));
}

#[test]
fn charts_are_byte_identical_for_the_same_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let r = crash_run();
    assert_renders(&r, &tmp.path().join("a"));
    assert_renders(&r, &tmp.path().join("b"));
    for f in ["chart.png", "ownership.svg", "health.png", "health.svg"] {
        let read = |d: &str| std::fs::read(tmp.path().join(d).join(f)).expect("read");
        assert!(read("a") == read("b"), "{f} differs");
    }
}
