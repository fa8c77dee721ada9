//! `sweep` and `merge` (issue 10 §2), through the binary: results do not
//! depend on --jobs, merged shards equal the whole sweep, --fail-if and
//! --junit on a passing and a failing sweep.

use std::path::Path;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rebalance-sim"))
}

fn scenario(name: &str) -> String {
    format!("{}/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn sweep(file: &str, out: &Path, extra: &[&str]) -> Output {
    let mut c = bin();
    c.args(["sweep", file, "--out"])
        .arg(out)
        .args(["--quiet"])
        .args(extra);
    c.output().expect("runs")
}

/// `merge DIRS --out OUT --quiet`.
fn merge<P: AsRef<std::ffi::OsStr>>(dirs: &[P], out: &Path) -> Output {
    bin()
        .arg("merge")
        .args(dirs)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .output()
        .expect("runs")
}

fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn results_do_not_depend_on_jobs_and_shards_merge_into_the_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let file = scenario("scenarios/consumer-crash.toml");
    let one = tmp.path().join("one");
    let two = tmp.path().join("two");
    for (dir, jobs) in [(&one, "1"), (&two, "2")] {
        let o = sweep(&file, dir, &["--seeds", "1..12", "--jobs", jobs]);
        assert!(o.status.success(), "{}", said(&o));
    }
    for f in ["sweep.csv", "sweep.json"] {
        assert!(
            read(&one.join(f)) == read(&two.join(f)),
            "{f} depends on --jobs"
        );
    }
    let csv = String::from_utf8(read(&one.join("sweep.csv"))).unwrap();
    assert_eq!(csv.lines().count(), 13, "a header and one row per seed");
    assert!(csv.lines().nth(1).unwrap().starts_with("1,"));
    // Three shards, merged.
    let mut shards = Vec::new();
    for i in 1..=3 {
        let dir = tmp.path().join(format!("shard{i}"));
        let o = sweep(
            &file,
            &dir,
            &["--seeds", "1..12", "--shard", &format!("{i}/3")],
        );
        assert!(o.status.success(), "{}", said(&o));
        shards.push(dir);
    }
    let merged = tmp.path().join("merged");
    let o = merge(&shards, &merged);
    assert!(o.status.success(), "{}", said(&o));
    for f in ["sweep.csv", "sweep.json"] {
        assert!(
            read(&one.join(f)) == read(&merged.join(f)),
            "{f}: merged shards differ from the whole sweep"
        );
    }
    // A seed in two shards is refused.
    let o = merge(&[&shards[0], &shards[0]], &tmp.path().join("twice"));
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(said(&o).contains("is in two of the shards"));
}

#[test]
fn fail_if_and_junit_on_a_passing_and_a_failing_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let crash = scenario("scenarios/consumer-crash.toml");
    let junit = tmp.path().join("passing.xml");
    let o = sweep(
        &crash,
        &tmp.path().join("pass"),
        &[
            "--seeds",
            "1..5",
            "--fail-if",
            "p99(convergence_ms) > 60000 || max(lost) > 0",
            "--junit",
        ],
    );
    // --junit needs its value: clap refuses the line.
    assert_eq!(o.status.code(), Some(2));
    let mut c = bin();
    c.args([
        "sweep",
        &crash,
        "--quiet",
        "--seeds",
        "1..5",
        "--fail-if",
        "p99(convergence_ms) > 60000 || max(lost) > 0",
        "--out",
    ])
    .arg(tmp.path().join("pass"))
    .arg("--junit")
    .arg(&junit);
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", said(&o));
    let xml = String::from_utf8(read(&junit)).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert!(xml.contains("tests=\"6\" failures=\"0\""), "{xml}");
    assert_eq!(xml.matches("<testcase").count(), 6);
    assert_eq!(
        xml.matches("<testcase").count(),
        xml.matches("/>").count() + xml.matches("</testcase>").count()
    );
    // The same expression made to hold: exit 1, the verdict says why.
    let o = sweep(
        &crash,
        &tmp.path().join("fails"),
        &["--seeds", "1..5", "--fail-if", "p50(convergence_ms) > 1000"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    assert!(
        said(&o).contains("holds: p50(convergence_ms) = "),
        "{}",
        said(&o)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&read(&tmp.path().join("fails/sweep.json"))).unwrap();
    assert_eq!(json["fail_if"]["holds"], true);
    // A failing scenario: every seed violates invariant 5, each listed
    // with its replay command, and in JUnit as a failure.
    let storm = scenario("tests/scenarios/rebalance-storm.toml");
    let junit = tmp.path().join("storm.xml");
    let mut c = bin();
    c.args(["sweep", &storm, "--quiet", "--seeds", "1..3", "--out"])
        .arg(tmp.path().join("storm"))
        .arg("--junit")
        .arg(&junit);
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    assert!(
        said(&o).contains("replay with: rebalance-sim run"),
        "{}",
        said(&o)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&read(&tmp.path().join("storm/sweep.json"))).unwrap();
    let failing = json["failing"].as_array().unwrap();
    assert_eq!(failing.len(), 3);
    assert_eq!(failing[0]["invariant"], 5);
    assert!(failing[0]["replay"].as_str().unwrap().ends_with("--seed 1"));
    let xml = String::from_utf8(read(&junit)).unwrap();
    assert!(xml.contains("tests=\"3\" failures=\"3\""), "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 3);
}

#[test]
fn bad_sweep_arguments_are_refused_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let crash = scenario("scenarios/consumer-crash.toml");
    for (args, says) in [
        (vec!["--seeds", "9..1"], "below"),
        (vec!["--shard", "4/3"], "--shard"),
        (vec!["--fail-if", "p98(lost) > 0"], "not a statistic"),
        (vec!["--fail-if", "max(losts) > 0"], "not a field"),
    ] {
        let o = sweep(&crash, &tmp.path().join("x"), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", said(&o));
        assert!(said(&o).contains(says), "{args:?}: {}", said(&o));
    }
    // --junit never replaces a file rebalance-sim did not write.
    let mine = tmp.path().join("mine.xml");
    std::fs::write(&mine, "<notes/>").unwrap();
    let o = bin()
        .args(["sweep", &crash, "--quiet", "--seeds", "1", "--out"])
        .arg(tmp.path().join("y"))
        .arg("--junit")
        .arg(&mine)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "<notes/>");
}

#[test]
fn keep_writes_the_chosen_seeds_runs_and_a_rerun_replaces_only_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let storm = scenario("tests/scenarios/rebalance-storm.toml");
    let dir = tmp.path().join("kept");
    let o = sweep(&storm, &dir, &["--seeds", "1..2", "--keep", "failing"]);
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    // Each kept seed holds what `run --seed N` writes.
    let single = tmp.path().join("single");
    let o = bin()
        .args(["run", &storm, "--seed", "2", "--quiet", "--out"])
        .arg(&single)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    for f in ["summary.json", "events.csv", "timeseries.csv"] {
        assert!(
            read(&dir.join("seeds/2").join(f)) == read(&single.join(f)),
            "{f}"
        );
    }
    // Nothing kept of a passing seed with `failing`.
    let crash = scenario("scenarios/consumer-crash.toml");
    let pass = tmp.path().join("pass");
    let o = sweep(&crash, &pass, &["--seeds", "1", "--keep", "failing"]);
    assert!(o.status.success(), "{}", said(&o));
    assert_eq!(std::fs::read_dir(pass.join("seeds")).unwrap().count(), 0);
    // A rerun replaces the directory; a file of the user's inside it stops it.
    let o = sweep(&storm, &dir, &["--seeds", "1", "--keep", "all"]);
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    assert!(!dir.join("seeds/2").exists() && dir.join("seeds/1/summary.json").is_file());
    std::fs::write(dir.join("seeds/1/notes.txt"), "mine").unwrap();
    let o = sweep(&storm, &dir, &["--seeds", "1", "--keep", "all"]);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("seeds/1/notes.txt")).unwrap(),
        "mine"
    );
}

/// A sweep under the opt-in `fetch_quantum` says so (sweep.json, the
/// table), shards under it merge keeping it, and shards run with different
/// quanta (or one exact) are refused.
#[test]
fn a_sweep_under_a_quantum_says_so_and_mixed_shards_do_not_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let file = scenario("scenarios/consumer-crash.toml");
    let run = |name: &str, extra: &[&str]| {
        let dir = tmp.path().join(name);
        let mut c = bin();
        c.args(["sweep", &file, "--out"])
            .arg(&dir)
            .args(["--seeds", "1..4"])
            .args(extra);
        let o = c.output().expect("runs");
        assert!(o.status.success(), "{}", said(&o));
        (dir, said(&o))
    };
    let q = ["--set", "scenario.fetch_quantum=100ms"];
    let (coarse, table) = run("coarse", &q);
    assert!(table.contains("approximation"), "{table}");
    assert!(table.contains("fetch_quantum = 100ms"), "{table}");
    let json: serde_json::Value =
        serde_json::from_slice(&read(&coarse.join("sweep.json"))).unwrap();
    assert_eq!(json["approximation"]["fetch_quantum_us"], 100_000);

    let (exact, table) = run("exact", &[]);
    assert!(!table.contains("approximation"), "{table}");
    let json: serde_json::Value = serde_json::from_slice(&read(&exact.join("sweep.json"))).unwrap();
    assert!(json.get("approximation").is_none(), "{json}");

    // Two shards under the quantum merge and keep it.
    let a = run("a", &[&q[..], &["--shard", "1/2"]].concat()).0;
    let b = run("b", &[&q[..], &["--shard", "2/2"]].concat()).0;
    let merged = tmp.path().join("merged");
    let o = merge(&[&a, &b], &merged);
    assert!(o.status.success(), "{}", said(&o));
    assert!(read(&merged.join("sweep.json")) == read(&coarse.join("sweep.json")));

    // An exact shard and one under the quantum do not.
    let o = merge(&[&exact, &b], &tmp.path().join("mixed"));
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(
        said(&o).contains("different approximations"),
        "{}",
        said(&o)
    );
}
