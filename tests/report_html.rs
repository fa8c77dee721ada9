//! `report.html`: the binary writes one well-formed, self-contained page per
//! run, with the summary, violations, charts, disruptions and event log,
//! the same bytes for the same run.

#[path = "common/html.rs"]
mod html_check;

use html_check::{assert_self_contained, check_html, section};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_scenario(file: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rebalance-sim"))
        .arg("run")
        .arg(file)
        .args(["--quiet", "--out"])
        .arg(out)
        .args(extra)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

fn report(out: &Path) -> String {
    std::fs::read_to_string(out.join("report.html")).expect("report.html is written, in UTF-8")
}

#[test]
fn a_run_writes_a_well_formed_self_contained_report() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("crash");
    let o = run_scenario(Path::new("scenarios/consumer-crash.toml"), &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = report(&out);
    assert!(html.starts_with("<!DOCTYPE html>\n"), "an HTML5 page");
    let parsed =
        check_html(&html).unwrap_or_else(|e| panic!("report.html is not well-formed: {e}"));
    assert_eq!(parsed.svg_roots, 3, "the three charts, inline");
    assert_eq!(
        parsed.opened[..3],
        ["html", "head", "meta"],
        "{:?}",
        &parsed.opened[..5]
    );
    assert!(html.contains("<style>") && html.contains("@media print"));
    assert_self_contained(&html);

    // The sections, in order.
    let ids = [
        "id=\"title\"",
        "id=\"summary\"",
        "id=\"violations\"",
        "id=\"charts\"",
        "id=\"chart\"",
        "id=\"ownership\"",
        "id=\"health\"",
        "id=\"disruptions\"",
        "id=\"rebalance-costs\"",
        "id=\"events\"",
    ];
    let at: Vec<usize> = ids
        .iter()
        .map(|id| html.find(id).unwrap_or_else(|| panic!("no {id}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "out of order: {at:?}");
    assert!(html.contains("<h1>consumer-crash — seed 1</h1>"));
    assert!(html.contains("rebalance-sim run scenarios/consumer-crash.toml --seed 1"));

    // The summary holds the numbers of summary.json.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("json"))
            .expect("summary.json");
    let table = section(&html, "summary");
    let digest = summary["trace_digest"].as_str().expect("digest");
    for (key, value) in [
        ("rebalances", summary["rebalances"].to_string()),
        ("trace digest", digest.to_string()),
        ("lost", "0".to_string()),
    ] {
        assert!(
            table.contains(&format!("<th scope=\"row\">{key}</th><td>{value}")),
            "{key}: {value} not in {table}"
        );
    }
    for key in [
        "time rebalancing",
        "unowned",
        "stalled",
        "unavailable",
        "max lag",
        "max backlog",
        "lag growing",
        "records produced",
        "records processed",
        "duplicates",
        "zombie records",
        "converged",
        "final generation",
        "engine events",
    ] {
        assert!(
            table.contains(&format!("<th scope=\"row\">{key}</th>")),
            "{key}"
        );
    }
    assert!(section(&html, "violations").contains("All invariants held"));
    let disruptions = section(&html, "disruptions");
    assert!(
        disruptions.contains("<td>60.000s crash c2</td>"),
        "{disruptions}"
    );
    assert!(
        disruptions.contains("<td>session expiry</td>"),
        "{disruptions}"
    );

    // Every row of events.csv, in order (fewer than the cap here).
    let mut csv = csv::Reader::from_path(out.join("events.csv")).expect("events.csv");
    let rows: Vec<csv::StringRecord> = csv.records().map(|r| r.expect("a row")).collect();
    assert!(!rows.is_empty() && rows.len() < 5_000);
    let events = section(&html, "events");
    assert_eq!(
        events.matches("<tr>").count(),
        rows.len() + 1,
        "a header and one row per event"
    );
    let mut from = 0;
    for r in &rows {
        let cell = format!("<td>{}</td>", &r[1]);
        from += events[from..]
            .find(&cell)
            .unwrap_or_else(|| panic!("event {r:?} missing or out of order"));
    }
    assert!(!events.contains("more are in events.csv"));
}

#[test]
fn the_same_run_twice_gives_the_same_report_byte_for_byte() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = Path::new("scenarios/consumer-crash.toml");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for dir in [&a, &b] {
        let o = run_scenario(file, dir, &["--seed", "7"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (x, y) = (
        std::fs::read(a.join("report.html")).expect("a"),
        std::fs::read(b.join("report.html")).expect("b"),
    );
    assert!(!x.is_empty());
    assert!(x == y, "report.html differs between two identical runs");
}

#[test]
fn violations_are_highlighted_and_the_description_escaped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(root().join("tests/scenarios/rebalance-storm.toml"))
        .expect("the storm scenario");
    let description = r#"storm <b>bold</b> & "quotes" 'too' </section>"#;
    let text = text.replacen(
        "[scenario]\n",
        &format!("[scenario]\ndescription = '''{description}'''\n"),
        1,
    );
    assert!(
        text.contains("description ="),
        "a [scenario] table to add it to"
    );
    let file = tmp.path().join("storm.toml");
    std::fs::write(&file, text).expect("write");
    let out = tmp.path().join("out");
    let o = run_scenario(&file, &out, &["--seed", "5"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let html = report(&out);
    check_html(&html).unwrap_or_else(|e| panic!("report.html is not well-formed: {e}"));
    assert_self_contained(&html);
    assert!(html.contains(
        "storm &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quotes&quot; &#39;too&#39; &lt;/section&gt;"
    ));
    assert!(!html.contains("<b>bold"));
    let violations = section(&html, "violations");
    assert!(
        violations.starts_with("<section id=\"violations\" class=\"violations\">"),
        "{violations}"
    );
    assert!(
        violations.contains("<td>5</td>"),
        "invariant 5: {violations}"
    );
    assert!(!violations.contains("All invariants held"));
    assert!(html.contains("<tr class=\"alert\"><th scope=\"row\">violations</th><td>1</td>"));
}

#[test]
fn the_checker_rejects_broken_pages() {
    let good = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><style>a > b { }</style></head>\
                <body><!-- x < y --><p>a &amp; b &#39;<br></p><svg viewBox=\"0 0 1 1\"><rect x=\"0\"/>\
                <text>1 &lt; 2</text></svg></body></html>\n";
    let parsed = check_html(good).expect("well-formed");
    assert_eq!(parsed.svg_roots, 1);
    for bad in [
        "<html><body><div></body></html>",
        "<html><p></html>",
        "<p>1 < 2</p>",
        "<p>Tom & Jerry</p>",
        "<p/>",
        "<!-- never closed",
        "<p title=\"x>",
        "</p>",
        "<div><span></div></span>",
    ] {
        assert!(check_html(bad).is_err(), "accepted: {bad}");
    }
}
