//! Apache Kafka's own assignor unit tests, translated into fixture files
//! under tests/fixtures/assign/ (format: tests/fixtures/assign/README.md).

use rebalance_sim::assign::{Assignment, GroupSpec, parse_assign_input};
use rebalance_sim::check::check_assignment_validity;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn load(file: &str) -> Vec<Value> {
    let path = format!(
        "{}/tests/fixtures/assign/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    doc["cases"].as_array().expect("cases").clone()
}

/// Kafka skips subscribed topics missing from metadata; our input format
/// rejects them, so the fixtures' missing topics become 0-partition topics.
fn complete_topics(input: &mut Value) {
    let mut named = BTreeSet::new();
    for m in input["members"].as_object().expect("members").values() {
        for t in m["topics"].as_array().into_iter().flatten() {
            named.insert(t.as_str().expect("topic").to_string());
        }
        for o in m
            .get("owned")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            named.insert(o[0].as_str().expect("topic").to_string());
        }
    }
    let topics = input["topics"].as_object_mut().expect("topics");
    for t in named {
        topics.entry(t).or_insert(Value::from(0));
    }
}

type Named = BTreeMap<String, BTreeSet<(String, u32)>>;

fn named(group: &GroupSpec, a: &Assignment) -> Named {
    group
        .members
        .iter()
        .zip(&a.per_member)
        .map(|(m, parts)| {
            let set = parts
                .iter()
                .map(|tp| (group.topics[tp.topic as usize].name.clone(), tp.partition))
                .collect();
            (m.id.clone(), set)
        })
        .collect()
}

fn expected(v: &Value) -> Named {
    v.as_object()
        .expect("expected is an object")
        .iter()
        .map(|(m, parts)| {
            let set = parts
                .as_array()
                .expect("list")
                .iter()
                .map(|p| {
                    (
                        p[0].as_str().expect("topic").to_string(),
                        p[1].as_u64().expect("partition") as u32,
                    )
                })
                .collect();
            (m.clone(), set)
        })
        .collect()
}

/// Runs every case of `file`; returns the failures.
fn run_fixtures(file: &str) -> (usize, Vec<String>) {
    let cases = load(file);
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or("?").to_string();
        let mut input = case["input"].clone();
        complete_topics(&mut input);
        let parsed = match parse_assign_input(&input.to_string()) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{name}: input rejected: {e}"));
                continue;
            }
        };
        let assignment = parsed.assignor.build().assign(&parsed.group);
        let got = named(&parsed.group, &assignment);
        if let Some(exp) = case.get("expected") {
            let exp = expected(exp);
            if got != exp {
                failures.push(format!("{name}:\n  expected {exp:?}\n  got      {got:?}"));
                continue;
            }
        }
        for check in case
            .get("checks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let check = check.as_str().expect("check name");
            let problem = match check {
                "valid" => check_assignment_validity(&parsed.group, &assignment),
                "fully_balanced" => {
                    let sizes: Vec<usize> = assignment.per_member.iter().map(Vec::len).collect();
                    let (lo, hi) = (sizes.iter().min(), sizes.iter().max());
                    match (lo, hi) {
                        (Some(lo), Some(hi)) if hi - lo > 1 => Some(format!("sizes {sizes:?}")),
                        _ => None,
                    }
                }
                other => Some(format!("check {other} not supported by this harness yet")),
            };
            if let Some(p) = problem {
                failures.push(format!("{name}: {check}: {p}"));
            }
        }
    }
    (cases.len(), failures)
}

fn assert_fixtures(file: &str) {
    let (n, failures) = run_fixtures(file);
    assert!(n > 0, "{file} has no cases");
    assert!(
        failures.is_empty(),
        "{} of {n} cases in {file} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn range_matches_kafkas_range_assignor_tests() {
    assert_fixtures("range.json");
}

#[test]
fn roundrobin_matches_kafkas_roundrobin_assignor_tests() {
    assert_fixtures("roundrobin.json");
}
