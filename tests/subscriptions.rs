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

/// A consumer whose subscription changes while its JoinGroup is answered
/// gets an assignment for the old subscription: it refuses it
/// (ConsumerCoordinator.onJoinComplete) and rejoins, and never takes a
/// partition of the topic it left.
#[test]
fn an_assignment_for_a_subscription_left_meanwhile_is_refused_and_the_member_rejoins() {
    // The consumers start within 2 s and the first generation forms at
    // about 6 s (initial_rebalance_delay); c1 switches from a to b at 4 s,
    // while its JoinGroup waits.
    let text = GROUP
        .replace("PROTOCOL", "assignor = \"range\"")
        .replace("at = \"30s\"", "at = \"4s\"")
        .replace("topics = [\"a\", \"b\"]", "topics = [\"b\"]");
    let scenario = Scenario::from_toml(&text, "s.toml", "s", &[]).expect("valid");
    let r = Simulation::new(scenario, 1).expect("valid").run();
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    assert_eq!(r.summary.converged, Some(true));
    let refused: Vec<_> = r
        .events
        .iter()
        .filter(|e| {
            e.event == "rejoin_needed"
                && e.detail
                    .starts_with("received assignment does not match the current subscription")
        })
        .collect();
    assert!(
        refused.iter().any(|e| e.subject == "c1"),
        "c1 refused nothing: {:?}",
        r.events.iter().take(40).collect::<Vec<_>>()
    );
    for p in 0..6 {
        let o = owners(&r, &format!("a-{p}"));
        assert!(!o.contains("c1 "), "c1 took a-{p}: {o}");
    }
}

/// Kafka's eager StickyAssignor hands a partition back to its previous
/// owner from that member's own (older) user data without checking its
/// subscription (AbstractStickyAssignor.performReassignments): c2 leaves
/// topic a while stalled, rejoins after its session expired, and is given
/// a-1 again every generation. It refuses each time, so a-1 is never
/// consumed again. The run reports invariant 1 as that Kafka defect, and
/// the group never converges.
const STICKY_DEFECT: &str = include_str!("scenarios/sticky-left-topic.toml");

#[test]
fn the_sticky_assignor_returning_a_left_topic_is_reported_as_kafkas_defect() {
    let scenario = Scenario::from_toml(STICKY_DEFECT, "s.toml", "s", &[]).expect("valid");
    let r = Simulation::new(scenario, 0).expect("valid").run();
    let v = &r.summary.violations;
    let first = v.first().expect("a violation");
    assert_eq!(first.invariant, 1);
    assert_eq!(
        first.kafka_defect,
        Some(rebalance_sim::check::KafkaDefect::StickyReturnsUnsubscribedPartition)
    );
    assert!(
        first
            .message
            .contains("got a-1 but does not subscribe to a"),
        "{}",
        first.message
    );
    // Every later generation repeats it; the rest is invariant 5.
    assert!(v.iter().filter(|v| v.kafka_defect.is_some()).count() >= 10);
    assert!(
        v.iter()
            .all(|v| v.kafka_defect.is_some() || v.invariant == 5),
        "{v:?}"
    );
    assert_eq!(r.summary.converged, Some(false));
    assert_eq!(r.summary.lost, 0);
    assert!(r.events.iter().any(|e| e.event == "rejoin_needed"
        && e.subject == "c2"
        && e.detail == "received assignment does not match the current subscription (a-1)"));
    // After c3 gave a-1 up in generation 3 (26.7 s), nobody owns it.
    let a1 = owners(&r, "a-1");
    let last_end: f64 = a1
        .rsplit('-')
        .next()
        .and_then(|t| t.parse().ok())
        .expect("an end");
    assert!(last_end < 27.0, "a-1 owned later: {a1}");
}
