//! Apache Kafka's own assignor unit tests, translated into fixture files
//! under tests/fixtures/assign/ (format: tests/fixtures/assign/README.md).

use rebalance_sim::assign::{Assignment, GroupSpec, kafka_balance_violation, parse_assign_input};
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

/// Kafka skips subscribed topics missing from metadata and ignores owned
/// partitions of deleted topics; our input format rejects both, so the
/// fixtures' missing subscribed topics become 0-partition topics and owned
/// partitions of topics absent from `topics` are dropped.
fn complete_topics(input: &mut Value) {
    let known: BTreeSet<String> = input["topics"]
        .as_object()
        .expect("topics")
        .keys()
        .cloned()
        .collect();
    let mut subscribed = BTreeSet::new();
    for m in input["members"]
        .as_object_mut()
        .expect("members")
        .values_mut()
    {
        for t in m["topics"].as_array().into_iter().flatten() {
            subscribed.insert(t.as_str().expect("topic").to_string());
        }
        if let Some(owned) = m.get_mut("owned").and_then(Value::as_array_mut) {
            owned.retain(|o| known.contains(o[0].as_str().expect("topic")));
        }
    }
    let topics = input["topics"].as_object_mut().expect("topics");
    for t in subscribed {
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
                "balanced" => kafka_balance_violation(&parsed.group, &assignment),
                "coop_valid" => cooperative_validity(&parsed.group, &assignment),
                other => Some(format!("unknown check {other}")),
            };
            if let Some(p) = problem {
                failures.push(format!("{name}: {check}: {p}"));
            }
        }
        for keep in case
            .get("keeps")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (m, t, p) = (
                keep[0].as_str().expect("member"),
                keep[1].as_str().expect("topic"),
                keep[2].as_u64().expect("p") as u32,
            );
            if !got
                .get(m)
                .is_some_and(|set| set.contains(&(t.to_string(), p)))
            {
                failures.push(format!(
                    "{name}: {m} must keep {t}-{p}; got {:?}",
                    got.get(m)
                ));
            }
        }
        if let Some(sizes) = case.get("sizes").and_then(Value::as_object) {
            for (m, n) in sizes {
                let have = got.get(m).map_or(0, BTreeSet::len);
                if have as u64 != n.as_u64().expect("size") {
                    failures.push(format!("{name}: {m} has {have} partitions, expected {n}"));
                }
            }
        }
        if let Some(max) = case.get("max_moved").and_then(Value::as_u64) {
            let moved = moved_count(&parsed.group, &assignment);
            if moved > max as usize {
                failures.push(format!(
                    "{name}: {moved} partitions moved, at most {max} allowed"
                ));
            }
        }
    }
    (cases.len(), failures)
}

/// Kafka's `verifyCooperativeValidity` plus basic validity: no partition
/// twice, only to subscribers, and never newly given to a member while
/// another member that owned it gives it up in the same round.
fn cooperative_validity(group: &GroupSpec, a: &Assignment) -> Option<String> {
    let mut seen = BTreeMap::new();
    for (m, parts) in a.per_member.iter().enumerate() {
        let member = &group.members[m];
        for tp in parts {
            if !member.subscribes(tp.topic) {
                return Some(format!(
                    "{} got {} without subscribing",
                    member.id,
                    group.tp_name(*tp)
                ));
            }
            if let Some(other) = seen.insert(*tp, m) {
                return Some(format!(
                    "{} given to {} and {}",
                    group.tp_name(*tp),
                    group.members[other].id,
                    member.id
                ));
            }
            if !member.owned.contains(tp) {
                if let Some(prev) = group
                    .members
                    .iter()
                    .find(|o| o.id != member.id && o.owned.contains(tp))
                {
                    return Some(format!(
                        "{} moves from {} to {} in one round",
                        group.tp_name(*tp),
                        prev.id,
                        member.id
                    ));
                }
            }
        }
    }
    None
}

/// Partitions a member owned, still subscribes to, and no longer has.
fn moved_count(group: &GroupSpec, a: &Assignment) -> usize {
    group
        .members
        .iter()
        .enumerate()
        .map(|(m, member)| {
            member
                .owned
                .iter()
                .filter(|tp| member.subscribes(tp.topic) && !a.per_member[m].contains(tp))
                .count()
        })
        .sum()
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

#[test]
fn sticky_matches_kafkas_sticky_assignor_tests() {
    assert_fixtures("sticky.json");
}

#[test]
fn cooperative_sticky_matches_kafkas_cooperative_sticky_assignor_tests() {
    assert_fixtures("cooperative_sticky.json");
}

#[test]
fn uniform_matches_kafkas_uniform_assignor_tests() {
    assert_fixtures("uniform.json");
}

#[test]
fn server_range_matches_kafkas_server_range_assignor_tests() {
    assert_fixtures("server_range.json");
}
