//! Subscription changes at a time (`subscribe`), for eager, cooperative and
//! consumer-protocol groups: a topic only one consumer subscribes to goes
//! to it alone, and what it drops moves to the others.

use rebalance_sim::{RunResult, Scenario, Simulation};

const GROUP: &str = r#"
[scenario]
duration = "3m"
convergence_bound = "60s"
[[topics]]
name = "a"
partitions = 6
produce_rate = 600
[[topics]]
name = "b"
partitions = 4
produce_rate = 400
[group]
topics = ["a"]
PROTOCOL
[consumers]
count = 3
[[timeline]]
at = "30s"
action = "subscribe"
consumer = "c1"
topics = ["a", "b"]
[[timeline]]
at = "90s"
action = "subscribe"
consumer = "c2"
topics = ["b"]
"#;

fn run(protocol: &str) -> RunResult {
    let text = GROUP.replace("PROTOCOL", protocol);
    let scenario = Scenario::from_toml(&text, "s.toml", "s", &[]).expect("valid");
    Simulation::new(scenario, 1).expect("valid").run()
}

fn owners(r: &RunResult, partition: &str) -> String {
    r.partition_rows
        .iter()
        .find(|p| p.partition == partition)
        .map(|p| p.owners.clone())
        .expect("row")
}

#[test]
fn a_new_topic_goes_to_its_subscribers_and_a_dropped_one_moves_away() {
    for protocol in [
        "assignor = \"range\"",
        "assignors = [\"cooperative-sticky\"]",
        "protocol = \"consumer\"",
    ] {
        let r = run(protocol);
        assert!(
            r.summary.violations.is_empty(),
            "{protocol}: {:?}",
            r.summary.violations
        );
        assert_eq!(r.summary.converged, Some(true), "{protocol}");
        assert!(
            r.events
                .iter()
                .any(|e| e.event == "subscription_changed" && e.subject == "c1")
        );
        // b is read only once c1 subscribes, then by c1 or (after 90 s) c2,
        // never by c3, which never subscribes to it.
        for p in 0..4 {
            let o = owners(&r, &format!("b-{p}"));
            assert!(!o.is_empty(), "{protocol}: b-{p} never owned");
            assert!(!o.contains("c3"), "{protocol}: b-{p} went to c3: {o}");
            let first: f64 = o
                .split(' ')
                .nth(1)
                .and_then(|span| span.split('-').next())
                .and_then(|t| t.parse().ok())
                .expect("a span");
            assert!(first >= 30.0, "{protocol}: b-{p} owned at {first}s");
        }
        // c2 drops a at 90 s: afterwards it holds none of a.
        for p in 0..6 {
            let o = owners(&r, &format!("a-{p}"));
            let late_c2 = o.split("; ").any(|span| {
                span.starts_with("c2 ")
                    && span
                        .rsplit('-')
                        .next()
                        .and_then(|end| end.parse::<f64>().ok())
                        .is_some_and(|end| end > 95.0)
            });
            assert!(!late_c2, "{protocol}: c2 kept a-{p}: {o}");
        }
    }
}

#[test]
fn a_subscription_to_an_unknown_topic_is_refused() {
    let text = GROUP
        .replace("PROTOCOL", "")
        .replace("topics = [\"a\", \"b\"]", "topics = [\"zz\"]");
    let e = Scenario::from_toml(&text, "s.toml", "s", &[]).expect_err("refused");
    assert!(e.to_string().contains("unknown topic \"zz\""), "{e}");
}
