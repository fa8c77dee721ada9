//! Runs the `rebalance-sim` binary on scenario files and assignment inputs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rebalance-sim"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    bin()
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn run_scenario(file: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        file,
        "--quiet",
        "--out",
        out.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// Every file a run writes (the library's list, which tests/output_safety.rs
/// checks is exactly what lands in the directory).
const OUTPUTS: [&str; 12] = rebalance_sim::report::OUTPUT_FILES;

#[test]
fn every_example_scenario_runs_clean_and_writes_all_outputs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut seen = 0;
    for entry in std::fs::read_dir(root().join("scenarios")).expect("scenarios/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        seen += 1;
        let first = std::fs::read_to_string(&path).expect("readable");
        assert!(
            first.starts_with('#'),
            "{} must start with a comment saying what it shows",
            path.display()
        );
        let out = tmp.path().join(path.file_stem().expect("stem"));
        let o = run_scenario(path.to_str().expect("utf-8"), &out, &[]);
        assert!(o.status.success(), "{}: {}", path.display(), text(&o));
        for f in OUTPUTS {
            let meta = std::fs::metadata(out.join(f))
                .unwrap_or_else(|e| panic!("{}: {f}: {e}", path.display()));
            assert!(meta.len() > 0, "{}: {f} is empty", path.display());
        }
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("summary.json")).expect("summary"),
        )
        .expect("json");
        for key in [
            "scenario",
            "seed",
            "duration_ms",
            "rebalances",
            "time_in_rebalance_ms",
            "unowned_partition_seconds",
            "max_lag",
            "duplicates",
            "lost",
            "violations",
            "trace_digest",
        ] {
            assert!(
                summary.get(key).is_some(),
                "{}: summary.json lacks {key}",
                path.display()
            );
        }
        assert_eq!(summary["violations"].as_array().map(Vec::len), Some(0));
    }
    assert!(seen >= 3, "at least three example scenarios");
}

#[test]
fn default_output_directory_is_output_scenario_seed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let scenario = root().join("scenarios/consumer-crash.toml");
    let o = bin()
        .args([
            "run",
            scenario.to_str().expect("utf-8"),
            "--seed",
            "7",
            "--set",
            "scenario.duration=90s",
        ])
        .current_dir(tmp.path())
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", text(&o));
    for f in OUTPUTS {
        assert!(
            tmp.path().join("output/consumer-crash/7").join(f).is_file(),
            "{f}"
        );
    }
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("trace digest") && table.contains("rebalances"),
        "{table}"
    );
}

#[test]
fn same_seed_gives_byte_identical_outputs_and_another_seed_another_digest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = "scenarios/consumer-crash.toml";
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    for (dir, seed) in [(&a, "3"), (&b, "3"), (&c, "4")] {
        let o = run_scenario(file, dir, &["--seed", seed]);
        assert!(o.status.success(), "{}", text(&o));
    }
    for f in OUTPUTS {
        let x = std::fs::read(a.join(f)).expect("a");
        let y = std::fs::read(b.join(f)).expect("b");
        assert!(x == y, "{f} differs between two runs with the same seed");
    }
    let digest = |d: &Path| {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).expect("s"))
                .expect("j");
        v["trace_digest"].as_str().expect("digest").to_string()
    };
    assert_ne!(digest(&a), digest(&c), "another seed must give another run");
}

#[test]
fn a_violated_invariant_exits_1_with_the_replay_command() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("storm");
    let o = run_scenario(
        "tests/scenarios/rebalance-storm.toml",
        &out,
        &["--seed", "5"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("invariant 5"), "{err}");
    assert!(
        err.contains("rebalance-sim run tests/scenarios/rebalance-storm.toml --seed 5"),
        "{err}"
    );
    let events = std::fs::read_to_string(out.join("events.csv")).expect("events.csv");
    assert!(
        events.contains(",violation,"),
        "the violation is in events.csv"
    );
    let summary = std::fs::read_to_string(out.join("summary.json")).expect("summary");
    assert!(summary.contains("\"invariant\": 5"), "{summary}");
}

/// A violation Kafka commits itself still fails the run, and is named.
#[test]
fn a_kafka_defect_exits_1_and_is_named_in_the_summary() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("sticky");
    let o = run_scenario(
        "tests/scenarios/sticky-left-topic.toml",
        &out,
        &["--seed", "0"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("invariant 1 violated")
            && err.contains("kafka defect sticky-returns-unsubscribed-partition"),
        "{err}"
    );
    let summary = std::fs::read_to_string(out.join("summary.json")).expect("summary");
    assert!(
        summary.contains("\"kafka_defect\": \"sticky-returns-unsubscribed-partition\""),
        "{summary}"
    );
    let report = std::fs::read_to_string(out.join("report.html")).expect("report");
    assert!(
        report.contains("Kafka defect <code>sticky-returns-unsubscribed-partition</code>"),
        "the report explains it"
    );
}

#[test]
fn set_overrides_scalar_fields() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("rr");
    let o = run_scenario(
        "scenarios/consumer-crash.toml",
        &out,
        &[
            "--set",
            "group.assignor=roundrobin",
            "--set",
            "topics.0.partitions=5",
            "--set",
            "scenario.duration=65s",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let summary = std::fs::read_to_string(out.join("summary.json")).expect("summary");
    assert!(
        summary.contains("\"assignor\": \"roundrobin\""),
        "{summary}"
    );
    assert!(summary.contains("\"duration_ms\": 65000"), "{summary}");
    let events = std::fs::read_to_string(out.join("events.csv")).expect("events");
    assert!(
        events.contains("orders-4") && !events.contains("orders-5"),
        "5 partitions"
    );
}

/// Writes `body` to a scenario file, runs it, and checks exit code 2, the
/// message, and that no output directory appeared.
fn assert_bad(body: &str, extra: &[&str], expect: &[&str]) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("bad.toml");
    std::fs::write(&file, body).expect("write");
    let out = tmp.path().join("out");
    let o = run_scenario(file.to_str().expect("utf-8"), &out, extra);
    let msg = text(&o);
    assert_eq!(o.status.code(), Some(2), "{msg}");
    for e in expect {
        assert!(msg.contains(e), "expected {e:?} in:\n{msg}");
    }
    assert!(!msg.contains("panicked"), "{msg}");
    assert!(!out.exists(), "no output directory for bad input");
}

const GOOD: &str =
    "[[topics]]\nname = \"t\"\npartitions = 4\nproduce_rate = 10\n\n[consumers]\ncount = 2\n";

#[test]
fn bad_scenarios_exit_2_naming_file_line_column_and_field() {
    assert_bad("[[topics]\nname = \"t\"\n", &[], &["bad.toml:1:"]);
    assert_bad(
        &format!("{GOOD}\n[group]\nassignr = \"range\"\n"),
        &[],
        &[
            "bad.toml:10:1",
            "group.assignr",
            "unknown field",
            "assignor",
        ],
    );
    assert_bad(
        &format!("{GOOD}\n[group]\nassignor = \"sticky-ish\"\n"),
        &[],
        &[
            "bad.toml:10:12",
            "group.assignor",
            "\"range\"",
            "\"roundrobin\"",
        ],
    );
    assert_bad(
        &format!("{GOOD}\n[group]\nsession_timeout = \"45 parsecs\"\n"),
        &[],
        &["bad.toml:10:19", "group.session_timeout", "\"250ms\""],
    );
    assert_bad(
        &format!("{GOOD}\n[group]\nsession_timeout = 45\n"),
        &[],
        &["bad.toml:10:19", "no unit"],
    );
    assert_bad(
        &format!("{GOOD}\n[group]\nheartbeat_interval = \"50s\"\n"),
        &[],
        &[
            "bad.toml:10:22",
            "group.heartbeat_interval",
            "lower than the session timeout",
        ],
    );
    assert_bad(
        &format!("{GOOD}\n[group]\nsession_timeout = \"1s\"\nheartbeat_interval = \"100ms\"\n"),
        &[],
        &["bad.toml:10:19", "INVALID_SESSION_TIMEOUT"],
    );
    assert_bad(
        &format!("{GOOD}\n[[timeline]]\nat = \"10s\"\naction = \"crash\"\nconsumer = \"c9\"\n"),
        &[],
        &[
            "bad.toml:12:12",
            "timeline[0].consumer",
            "unknown consumer \"c9\"",
            "c1, c2",
        ],
    );
    assert_bad(
        &format!("{GOOD}\n[[timeline]]\nat = \"10s\"\naction = \"explode\"\nconsumer = \"c1\"\n"),
        &[],
        &["timeline[0].action", "\"crash\""],
    );
    assert_bad(
        &format!(
            "{GOOD}\n[[timeline]]\nat = \"10s\"\naction = \"join\"\nconsumer = \"c3\"\n\n[[timeline]]\nat = \"20s\"\naction = \"join\"\nconsumer = \"c3\"\n"
        ),
        &[],
        &["timeline[1].action", "already running at 20s"],
    );
    assert_bad(
        &format!("{GOOD}\n[[timeline]]\nat = \"10s\"\naction = \"pause\"\nconsumer = \"c1\"\n"),
        &[],
        &["needs `duration`"],
    );
    assert_bad("[consumers]\ncount = 1\n", &[], &["topics"]);
    assert_bad(
        &GOOD.replace("partitions = 4", "partitions = 0"),
        &[],
        &["bad.toml:3:14", "topics[0].partitions", "from 1"],
    );
    assert_bad(
        &format!("{GOOD}\n[group]\ntopics = [\"nope\"]\n"),
        &[],
        &["group.topics", "unknown topic \"nope\""],
    );
    assert_bad(&format!("{GOOD}\n[consumers.named]\n"), &[], &["bad.toml:"]);
    // Used to allocate a broker list of 4 billion entries and abort.
    assert_bad(
        &format!("[cluster]\nbrokers = 4294967295\n{GOOD}"),
        &[],
        &["bad.toml:2:11", "cluster.brokers", "from 1 to 10000"],
    );
    assert_bad(
        &format!("[cluster]\nbrokers = 40\n{GOOD}")
            .replace("partitions = 4", "partitions = 4\nreplication_factor = 33"),
        &[],
        &["topics[0].replication_factor", "from 1 to 32"],
    );
}

#[test]
fn bad_set_overrides_exit_2_naming_the_argument() {
    assert_bad(
        GOOD,
        &["--set", "group.assignor=bogus"],
        &["--set group.assignor=bogus", "\"roundrobin\""],
    );
    assert_bad(
        GOOD,
        &["--set", "group.session_timeout=soon"],
        &["--set group.session_timeout=soon", "duration"],
    );
    assert_bad(GOOD, &["--set", "novalue"], &["expected key=value"]);
    assert_bad(GOOD, &["--set", "topics.7.partitions=3"], &["no entry 7"]);
    assert_bad(
        GOOD,
        &["--set", "group.nonsense=1"],
        &["group.nonsense", "unknown field"],
    );
}

#[test]
fn missing_scenario_file_exits_2() {
    let o = run(&["run", "scenarios/does-not-exist.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("does-not-exist.toml"), "{}", text(&o));
}

fn assign_stdin(input: &str) -> Output {
    assign_stdin_with(&[], input)
}

/// Runs `assign -` with extra arguments, feeding `input` on stdin.
fn assign_stdin_with(extra: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = bin()
        .args(["assign", "-"])
        .args(extra)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    child.wait_with_output().expect("wait")
}

#[test]
fn assign_prints_one_line_per_member() {
    let o = assign_stdin(
        r#"{"assignor": "range", "topics": {"t0": 4, "t1": 3},
            "members": {"c2": {"topics": ["t0", "t1"]}, "c1": {"topics": ["t0", "t1"], "owned": [["t0", 0]], "generation": 1},
                        "c3": {"topics": ["t1"], "instance": "i3", "rack": "a"}}}"#,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "c1: t0-0 t0-1 t1-1\nc2: t0-2 t0-3 t1-2\nc3: t1-0\n"
    );
    let o = assign_stdin(
        r#"{"assignor": "roundrobin", "topics": {"t": 5}, "members": {"a": {"topics": ["t"]}, "b": {"topics": []}}}"#,
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "a: t-0 t-1 t-2 t-3 t-4\nb:\n"
    );
}

#[test]
fn assign_reads_files_too() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = tmp.path().join("in.json");
    std::fs::write(&f, r#"{"assignor": "roundrobin", "topics": {"t": 3}, "members": {"x": {"topics": ["t"]}, "y": {"topics": ["t"]}}}"#)
        .expect("write");
    let o = run(&["assign", f.to_str().expect("utf-8")]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "x: t-0 t-2\ny: t-1\n");
}

#[test]
fn bad_assign_inputs_exit_2() {
    for (input, expect) in [
        (
            r#"{"assignor": "fastest", "topics": {}, "members": {}}"#,
            "unknown assignor \"fastest\"",
        ),
        (
            r#"{"assignor": "range", "topics": {"t": 1}, "members": {"c": {"topics": ["u"]}}}"#,
            "unknown topic \"u\"",
        ),
        (
            r#"{"assignor": "range", "topics": {"t": 1}, "members": {"c": {"topics": ["t"]}"#,
            "malformed JSON at line 1",
        ),
        (
            r#"{"assignor": "range", "topics": {"t": -1}, "members": {}}"#,
            "topics.t",
        ),
        (
            r#"{"assignor": "range", "topics": {"t": 1}, "members": {"c": {"topics": ["t"], "owned": [["t", 5]]}}}"#,
            "does not exist",
        ),
        (
            r#"{"assignor": "range", "topics": {"t": 1}, "members": {"c": {"topicz": ["t"]}}}"#,
            "unknown field",
        ),
    ] {
        let o = assign_stdin(input);
        assert_eq!(o.status.code(), Some(2), "{input}: {}", text(&o));
        assert!(
            text(&o).contains(expect),
            "{input}: expected {expect:?} in {}",
            text(&o)
        );
    }
}

#[test]
fn every_subcommand_has_help() {
    for args in [&["--help"][..], &["run", "--help"], &["assign", "--help"]] {
        let o = run(args);
        assert!(o.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn assign_runs_every_assignor_and_rounds() {
    let members = r#""a": {"topics": ["t"], "owned": [["t", 0], ["t", 1], ["t", 2]], "generation": 2},
                     "b": {"topics": ["t"], "owned": [["t", 3], ["t", 4], ["t", 5]], "generation": 2},
                     "c": {"topics": ["t"]}"#;
    for assignor in [
        "range",
        "roundrobin",
        "sticky",
        "cooperative-sticky",
        "uniform",
        "server-range",
    ] {
        let o = assign_stdin(&format!(
            r#"{{"assignor": "{assignor}", "topics": {{"t": 6}}, "members": {{{members}}}}}"#
        ));
        assert!(o.status.success(), "{assignor}: {}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(out.lines().count(), 3, "{assignor}: {out}");
    }
    // Sticky keeps what it can: a and b give one partition each to c.
    let o = assign_stdin(&format!(
        r#"{{"assignor": "sticky", "topics": {{"t": 6}}, "members": {{{members}}}}}"#
    ));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "a: t-0 t-1\nb: t-3 t-4\nc: t-2 t-5\n"
    );
    // Cooperative: round 1 withholds the moving partitions, round 2 hands them over.
    let o = assign_stdin_with(
        &["--rounds", "2", "--repeat", "5"],
        &format!(
            r#"{{"assignor": "cooperative-sticky", "topics": {{"t": 6}}, "members": {{{members}}}}}"#
        ),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "# round 1: 2 partitions moved, 2 unassigned\na: t-0 t-1\nb: t-3 t-4\nc:\n\
         # round 2: 0 partitions moved, 0 unassigned\na: t-0 t-1\nb: t-3 t-4\nc: t-2 t-5\n"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cooperative-sticky: median"),
        "{}",
        text(&o)
    );
}

#[test]
fn racks_in_assign_input_drive_rack_aware_range() {
    // Partition p is on rack a when p is even and b when odd.
    let o = assign_stdin(
        r#"{"assignor": "range", "topics": {"t": {"partitions": 4, "replica_racks": [["a"], ["b"]]}},
            "members": {"x": {"topics": ["t"], "rack": "b"}, "y": {"topics": ["t"], "rack": "a"}}}"#,
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "x: t-1 t-3\ny: t-0 t-2\n"
    );
}

#[test]
fn a_closed_stdout_ends_assign_quietly_with_exit_0() {
    use std::io::{Read, Write};
    use std::process::Stdio;
    // 200,000 partitions: the output (about 2 MB) is far more than a pipe
    // holds, so the binary is still writing when the reader goes away.
    let members: Vec<String> = (0..2000)
        .map(|i| format!(r#""m{i:04}": {{"topics": ["t"]}}"#))
        .collect();
    let input = format!(
        r#"{{"assignor": "roundrobin", "topics": {{"t": 200000}}, "members": {{{}}}}}"#,
        members.join(", ")
    );
    let mut child = bin()
        .args(["assign", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    // Written from a thread so that neither side waits on a full pipe.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut stdout = child.stdout.take().expect("stdout");
    let mut head = [0u8; 20];
    stdout.read_exact(&mut head).expect("the first bytes");
    drop(stdout);
    writer.join().expect("writer").expect("stdin written");
    let o = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err, "", "nothing to say about a closed stdout");
    assert!(head.starts_with(b"m0000: t-0 "), "{head:?}");
}

#[test]
fn assign_applies_the_size_limits_of_run() {
    let members = |n: usize| -> String {
        (0..n)
            .map(|i| format!(r#""m{i}": {{"topics": ["t0"]}}"#))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let eleven_full_topics = (0..11)
        .map(|i| format!(r#""t{i}": 1000000"#))
        .collect::<Vec<_>>()
        .join(", ");
    let racks = (0..33)
        .map(|i| format!(r#""r{i}""#))
        .collect::<Vec<_>>()
        .join(", ");
    for (input, expect) in [
        // Used to allocate 34 GB for the assignment and abort.
        (
            format!(
                r#"{{"assignor": "range", "topics": {{"t0": 4294967295}}, "members": {{{}}}}}"#,
                members(1)
            ),
            "<stdin>: topics.t0: 4294967295 partitions is above rebalance-sim's limit of 1000000 per topic",
        ),
        (
            format!(
                r#"{{"assignor": "range", "topics": {{"t0": {{"partitions": 1000001}}}}, "members": {{{}}}}}"#,
                members(1)
            ),
            "topics.t0.partitions: 1000001 partitions is above rebalance-sim's limit of 1000000 per topic",
        ),
        (
            format!(
                r#"{{"assignor": "range", "topics": {{{eleven_full_topics}}}, "members": {{{}}}}}"#,
                members(1)
            ),
            "topics: more than 10000000 partitions in all, rebalance-sim's limit",
        ),
        (
            format!(
                r#"{{"assignor": "range", "topics": {{"t0": 1}}, "members": {{{}}}}}"#,
                members(100_001)
            ),
            "members: 100001 members is above rebalance-sim's limit of 100000",
        ),
        (
            format!(
                r#"{{"assignor": "range", "topics": {{"t0": {{"partitions": 2, "replica_racks": [["a"], [{racks}]]}}}}, "members": {{{}}}}}"#,
                members(1)
            ),
            "topics.t0.replica_racks[1]: 33 replica racks is above rebalance-sim's limit of 32 per partition",
        ),
    ] {
        let o = assign_stdin(&input);
        let msg = text(&o);
        assert_eq!(o.status.code(), Some(2), "{expect}: {msg}");
        assert!(msg.contains(expect), "expected {expect:?} in {msg}");
        assert!(!msg.contains("panicked"), "{msg}");
    }
}

#[test]
fn assign_survives_conflicting_owned_partitions_and_extreme_generations() {
    // t-0 listed twice by a and owned by b too; t-1 owned by three members;
    // a owns u-0 without subscribing to u; generations at both ends of i32;
    // c and d claim the same instance id.
    let members = r#""a": {"topics": ["t"], "owned": [["t", 0], ["t", 0], ["t", 1], ["u", 0]], "generation": 3},
                     "b": {"topics": ["t", "u"], "owned": [["t", 0], ["t", 1]], "generation": 3},
                     "c": {"topics": ["t", "u"], "owned": [["t", 1]], "generation": 2147483647, "instance": "i"},
                     "d": {"topics": ["u"], "instance": "i", "generation": -2147483648}"#;
    for assignor in [
        "range",
        "roundrobin",
        "sticky",
        "cooperative-sticky",
        "uniform",
        "server-range",
    ] {
        let o = assign_stdin_with(
            &["--rounds", "3"],
            &format!(
                r#"{{"assignor": "{assignor}", "topics": {{"t": 4, "u": 2}}, "members": {{{members}}}}}"#
            ),
        );
        let msg = text(&o);
        assert_eq!(o.status.code(), Some(0), "{assignor}: {msg}");
        // By the last round every partition has exactly one owner.
        let out = String::from_utf8_lossy(&o.stdout);
        let last = out.rsplit("# round").next().expect("a round");
        let mut got: Vec<&str> = last
            .lines()
            .skip(1)
            .flat_map(|l| l.split_whitespace().skip(1))
            .collect();
        got.sort_unstable();
        assert_eq!(
            got,
            ["t-0", "t-1", "t-2", "t-3", "u-0", "u-1"],
            "{assignor}: {out}"
        );
    }
}

/// An unreadable scenario names the file and the cause once (a review
/// found "Is a directory (os error 21): Is a directory (os error 21)").
#[test]
fn an_unreadable_scenario_names_its_cause_once() {
    let dir = std::env::temp_dir();
    let o = run(&["run", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains("cannot read the scenario file"), "{err}");
    assert_eq!(err.matches("(os error").count(), 1, "{err}");
}

/// `--emit-timeline` runs nothing, so an output directory with it is
/// refused rather than silently ignored (a review found it ignored).
#[test]
fn emit_timeline_refuses_an_output_directory() {
    let o = run(&[
        "run",
        "scenarios/chaos.toml",
        "--emit-timeline",
        "--out",
        "target/never-written",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("cannot be used with '--out"),
        "{}",
        text(&o)
    );
    assert!(!root().join("target/never-written").exists());
    let o = run(&["run", "scenarios/chaos.toml", "--emit-timeline"]);
    assert!(o.status.success(), "{}", text(&o));
}
