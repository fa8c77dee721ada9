//! `rebalance-sim compare`: variants on the same seeds, side by side. Each
//! variant's runs are the runs `run` makes of it, seed for seed.

#[path = "common/html.rs"]
mod html_check;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rebalance-sim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

const SCENARIO: &str = r#"# A crash and a restart, for comparisons.
[scenario]
duration = "90s"
convergence_bound = "60s"
[[topics]]
name = "t"
partitions = 6
produce_rate = 300
[group]
id = "g"
[consumers]
count = 3
[[timeline]]
at = "20s"
action = "crash"
consumer = "c1"
[[timeline]]
at = "40s"
action = "restart"
consumer = "c2"
downtime = "3s"
"#;

/// `compare FILE ARGS --out OUT`, which must succeed: what it printed.
fn compare_ok(file: &Path, args: &[&str], out: &Path) -> String {
    let mut all = vec!["compare", file.to_str().unwrap()];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", out.to_str().unwrap()]);
    let o = run(&all);
    let said = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    said
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).expect("csv");
    let mut rows = vec![
        r.headers()
            .expect("header")
            .iter()
            .map(String::from)
            .collect(),
    ];
    for rec in r.records() {
        rows.push(rec.expect("record").iter().map(String::from).collect());
    }
    rows
}

#[test]
fn each_variant_reproduces_its_own_runs_seed_for_seed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("crash.toml");
    std::fs::write(&file, SCENARIO).expect("write");
    let out = tmp.path().join("cmp");
    let o = run(&[
        "compare",
        file.to_str().unwrap(),
        "--vary",
        "group.assignor=range,cooperative-sticky",
        "--seeds",
        "1..3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("assignor=range"), "{table}");
    assert!(table.contains("assignor=cooperative-sticky"), "{table}");
    assert!(table.contains("(×"), "ratios to the first: {table}");
    let runs = read_csv(&out.join("runs.csv"));
    let header = &runs[0];
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    assert_eq!(runs.len(), 1 + 2 * 3, "a row per variant and seed");
    for row in &runs[1..] {
        let assignor = row[col("variant")]
            .trim_start_matches("assignor=")
            .to_string();
        let seed = &row[col("seed")];
        let dir = tmp.path().join(format!("run-{assignor}-{seed}"));
        let set = format!("group.assignor={assignor}");
        let r = run(&[
            "run",
            file.to_str().unwrap(),
            "--seed",
            seed,
            "--set",
            &set,
            "--quiet",
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(r.status.success());
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("summary.json")).expect("summary"),
        )
        .expect("json");
        for field in [
            "trace_digest",
            "rebalances",
            "time_in_rebalance_ms",
            "max_lag",
            "duplicates",
            "lost",
            "engine_events",
        ] {
            let want = match &summary[field] {
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            assert_eq!(row[col(field)], want, "{assignor} seed {seed}: {field}");
        }
    }
    // compare.csv: a row per metric and variant; the first's ratio is 1.
    let metrics = read_csv(&out.join("compare.csv"));
    assert_eq!(metrics.len(), 1 + 9 * 2);
    let first = metrics
        .iter()
        .find(|r| r[0] == "rebalances" && r[1] == "assignor=range")
        .expect("a row");
    assert_eq!(first.last().map(String::as_str), Some("1.0"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("compare.json")).expect("json"))
            .expect("parses");
    assert_eq!(json["seeds"], serde_json::json!([1, 2, 3]));
    let band = &json["variants"][0]["backlog"];
    let n = band["time_s"].as_array().expect("times").len();
    assert!(n > 80, "a sample per second");
    for i in 0..n {
        let (lo, mid, hi) = (
            band["p5"][i].as_f64().unwrap(),
            band["p50"][i].as_f64().unwrap(),
            band["p95"][i].as_f64().unwrap(),
        );
        assert!(lo <= mid && mid <= hi, "the band holds its median");
    }
    let md = std::fs::read_to_string(out.join("compare.md")).expect("md");
    assert!(md.contains("| metric: median / p95 | assignor=range | assignor=cooperative-sticky |"));
    for f in rebalance_sim::report::COMPARE_FILES {
        assert!(out.join(f).is_file(), "{f} written");
    }
}

#[test]
fn variants_tables_and_several_files_name_the_variants() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("crash.toml");
    let text = format!(
        "{SCENARIO}[[variants]]\nname = \"eager\"\n[[variants]]\nname = \"coop\"\nset = {{ \"group.assignor\" = \"cooperative-sticky\" }}\n[[variants]]\nname = \"kip848\"\nset = {{ group = {{ protocol = \"consumer\", remote_assignor = \"uniform\" }} }}\n"
    );
    std::fs::write(&file, &text).expect("write");
    let out = tmp.path().join("cmp");
    let o = run(&[
        "compare",
        file.to_str().unwrap(),
        "--seeds",
        "4,5",
        "--jobs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("compare.json")).expect("json"))
            .expect("parses");
    let names: Vec<&str> = json["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["eager", "coop", "kip848"]);
    assert_eq!(
        json["variants"][2]["overrides"],
        serde_json::json!([
            "group.protocol=\"consumer\"",
            "group.remote_assignor=\"uniform\""
        ])
    );
    // The same on one job: byte for byte.
    let again = tmp.path().join("cmp1");
    let o = run(&[
        "compare",
        file.to_str().unwrap(),
        "--seeds",
        "4,5",
        "--jobs",
        "1",
        "--quiet",
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    for f in rebalance_sim::report::COMPARE_FILES {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f} does not depend on --jobs"
        );
    }
    // compare.html: well formed, self-contained, every chart and table.
    let html = std::fs::read_to_string(out.join("compare.html")).expect("html");
    let parsed = html_check::check_html(&html).expect("well formed");
    assert_eq!(parsed.svg_roots, 2, "both charts inline");
    html_check::assert_self_contained(&html);
    for id in ["variants", "comparison", "charts", "failing", "runs"] {
        assert!(html.contains(&format!("<section id=\"{id}\"")), "{id}");
    }
    let comparison = html_check::section(&html, "comparison");
    for name in ["eager", "coop", "kip848"] {
        assert!(comparison.contains(name));
    }
    assert_eq!(
        html_check::section(&html, "runs").matches("<tr>").count(),
        1 + 3 * 2,
        "a row per run and the header"
    );

    // Several files: each one a variant, named by what their names do
    // not share.
    let o = run(&[
        "compare",
        "scenarios/rolling-restart-eager.toml",
        "scenarios/rolling-restart-static.toml",
        "--seeds",
        "1",
        "--quiet",
        "--out",
        tmp.path().join("files").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(tmp.path().join("files/compare.md")).expect("md");
    assert!(md.starts_with("rolling-restart: 2 variants"), "{md}");
    assert!(md.contains("| eager | static |"), "{md}");
}

#[test]
fn bad_comparisons_are_refused_with_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["compare", "scenarios/consumer-crash.toml"],
            "at least two variants",
        ),
        (
            &[
                "compare",
                "scenarios/consumer-crash.toml",
                "--vary",
                "group.assignor",
            ],
            "expected KEY=V1,V2",
        ),
        (
            &[
                "compare",
                "scenarios/consumer-crash.toml",
                "--vary",
                "group.assignor=range,nope",
            ],
            "variant \"assignor=nope\"",
        ),
    ];
    for (args, want) in cases {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn a_failing_run_fails_the_comparison_and_says_how_to_replay_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = run(&[
        "compare",
        "tests/scenarios/rebalance-storm.toml",
        "--vary",
        "consumers.count=1,2",
        "--seeds",
        "1",
        "--out",
        tmp.path().join("storm").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("replay with: rebalance-sim run"), "{err}");
    let html = std::fs::read_to_string(tmp.path().join("storm/compare.html")).expect("html");
    assert!(html_check::section(&html, "failing").contains("class=\"violations\""));
}

#[test]
fn varying_the_assignor_replaces_a_written_list_of_assignors() {
    // rolling-restart-eager.toml writes `assignors = ["range"]`.
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("cmp");
    let o = run(&[
        "compare",
        "scenarios/rolling-restart-eager.toml",
        "--vary",
        "group.assignor=range,cooperative-sticky",
        "--seeds",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let runs = read_csv(&out.join("runs.csv"));
    let digest = runs[0].iter().position(|h| h == "trace_digest").unwrap();
    assert_ne!(
        runs[1][digest], runs[2][digest],
        "the assignor changed the run"
    );
}

#[test]
fn the_readme_variants_example_runs_on_a_file_with_an_assignor_list() {
    // A variant switching to the consumer protocol leaves the file's
    // classic `assignors` behind.
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("rr.toml");
    let base =
        std::fs::read_to_string(root().join("scenarios/rolling-restart-eager.toml")).unwrap();
    std::fs::write(
        &file,
        format!(
            "{base}\n[[variants]]\nname = \"eager\"\n[[variants]]\nname = \"cooperative\"\nset = {{ \"group.assignor\" = \"cooperative-sticky\" }}\n[[variants]]\nname = \"kip848\"\nset = {{ group = {{ protocol = \"consumer\", remote_assignor = \"uniform\" }} }}\n"
        ),
    )
    .unwrap();
    let o = run(&[
        "compare",
        file.to_str().unwrap(),
        "--seeds",
        "1",
        "--quiet",
        "--out",
        tmp.path().join("cmp").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let runs = read_csv(&tmp.path().join("cmp/runs.csv"));
    assert_eq!(runs.len(), 4);
}

/// An exact variant beside one under the opt-in `fetch_quantum`: the
/// approximate one is marked in compare.json and the table, the exact one
/// is not, and the quantum shows in what it changes (fewer engine events).
#[test]
fn an_approximate_variant_is_marked_and_the_exact_one_is_not() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("q.toml");
    let text = format!(
        "{SCENARIO}\n[[variants]]\nname = \"exact\"\n\
         [[variants]]\nname = \"coarse\"\nset = {{ \"scenario.fetch_quantum\" = \"1s\" }}\n"
    );
    std::fs::write(&file, text).unwrap();
    let out = tmp.path().join("cmp");
    let said = compare_ok(&file, &["--seeds", "1..3"], &out);
    assert!(
        said.contains("approximation     coarse: fetch_quantum = 1s"),
        "{said}"
    );
    assert!(!said.contains("exact: fetch_quantum"), "{said}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("compare.json")).unwrap()).unwrap();
    assert!(json["variants"][0].get("approximation").is_none());
    assert_eq!(
        json["variants"][1]["approximation"]["fetch_quantum_us"],
        1_000_000
    );
    // The Markdown for design documents and the HTML page say so too.
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    assert!(
        md.contains("Approximation: coarse ran with fetch_quantum = 1s (not exact: records reach"),
        "{md}"
    );
    assert!(!md.contains("exact ran with"), "{md}");
    let html = std::fs::read_to_string(out.join("compare.html")).unwrap();
    assert!(
        html.contains("<th scope=\"col\">model</th>"),
        "no model column"
    );
    assert!(html.contains("fetch_quantum = 1s (not exact: records reach"));
    assert!(
        html.contains("<td>exact</td>"),
        "the exact variant says exact"
    );
    let svg = std::fs::read_to_string(out.join("compare.svg")).unwrap();
    assert!(
        svg.contains("coarse (fetch_quantum = 1s, not exact)"),
        "legend"
    );
    assert!(!svg.contains("exact (fetch_quantum"), "legend");
    let runs = read_csv(&out.join("runs.csv"));
    let events = runs[0].iter().position(|h| h == "engine_events").unwrap();
    let variant = runs[0].iter().position(|h| h == "variant").unwrap();
    let of = |name: &str| -> u64 {
        runs[1..]
            .iter()
            .filter(|r| r[variant] == name)
            .map(|r| r[events].parse::<u64>().unwrap())
            .sum()
    };
    assert!(
        of("coarse") * 4 < of("exact"),
        "{} against {}",
        of("coarse"),
        of("exact")
    );
}

/// `--vary scenario.fetch_quantum=exact,1s`: "exact" is the default
/// written out, so the approximation can be varied like any field.
#[test]
fn the_quantum_can_be_varied_against_exact() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("q.toml");
    std::fs::write(&file, SCENARIO).unwrap();
    let vary = ["--vary", "scenario.fetch_quantum=exact,1s", "--seeds", "1"];
    let said = compare_ok(&file, &vary, &tmp.path().join("cmp"));
    assert!(
        said.contains("fetch_quantum=1s: fetch_quantum = 1s (not exact)"),
        "{said}"
    );
    assert!(
        !said.contains("fetch_quantum=exact: fetch_quantum"),
        "{said}"
    );
}
