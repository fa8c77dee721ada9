//! Timeline shorthands expand to the documented events, each logged in
//! `events.csv` with where it came from.

use rebalance_sim::scenario::Action;
use rebalance_sim::{Scenario, Simulation};

const BASE: &str = r#"
[scenario]
duration = "5m"
[[topics]]
name = "t"
partitions = 12
produce_rate = 1200
[consumers]
count = 3
"#;

fn parse(timeline: &str) -> Result<Scenario, String> {
    Scenario::from_toml(&format!("{BASE}{timeline}"), "s.toml", "s", &[]).map_err(|e| e.to_string())
}

#[test]
fn rolling_restart_scale_out_and_scale_in_expand_to_their_events() {
    let s = parse(
        r#"
[[timeline]]
at = "30s"
action = "rolling-restart"
every = "20s"
downtime = "5s"
graceful = false
[[timeline]]
at = "2m"
action = "scale-out"
count = 2
every = "10s"
[[timeline]]
at = "3m"
action = "scale-in"
count = 3
"#,
    )
    .expect("valid");
    let got: Vec<(u64, String, &str)> = s
        .timeline
        .iter()
        .map(|e| {
            (
                e.at.micros() / 1_000_000,
                s.consumers[e.consumer].name.clone(),
                e.action.name(),
            )
        })
        .collect();
    let want: Vec<(u64, String, &str)> = [
        (30, "c1", "restart"),
        (50, "c2", "restart"),
        (70, "c3", "restart"),
        (120, "c4", "join"),
        (130, "c5", "join"),
        // scale-in stops the last consumers first, 30 s apart by default.
        (180, "c5", "leave"),
        (210, "c4", "leave"),
        (240, "c3", "leave"),
    ]
    .into_iter()
    .map(|(t, c, a)| (t, c.to_string(), a))
    .collect();
    assert_eq!(got, want);
    assert!(s.timeline.iter().take(3).all(|e| e.action
        == Action::Restart {
            downtime: rebalance_sim::sim::Duration::from_secs(5),
            graceful: false
        }));
    let r = Simulation::new(s, 1).expect("valid").run();
    assert!(
        r.summary.violations.is_empty(),
        "{:?}",
        r.summary.violations
    );
    let logged: Vec<&str> = r
        .events
        .iter()
        .filter(|e| e.event == "timeline")
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(logged.len(), 8);
    assert_eq!(logged[0], "restart (rolling-restart at 30s, 1 of 3)");
    assert_eq!(logged[7], "leave (scale-in at 3m, 3 of 3)");
}

#[test]
fn shorthands_refuse_what_they_cannot_do() {
    let cases = [
        ("action = \"scale-in\"\ncount = 4", "only 3 exist"),
        ("action = \"scale-out\"", "needs `count`"),
        (
            "action = \"rolling-restart\"\nconsumers = [\"zz\"]",
            "unknown consumer \"zz\"",
        ),
        (
            "action = \"rolling-restart\"\nconsumer = \"c1\"",
            "not `consumer`",
        ),
        (
            "action = \"restart\"\nconsumer = \"c1\"\nevery = \"5s\"",
            "belong to the shorthands",
        ),
        ("action = \"crash\"", "needs `consumer`"),
    ];
    for (body, expect) in cases {
        let e = parse(&format!("[[timeline]]\nat = \"10s\"\n{body}\n")).expect_err(body);
        assert!(e.contains(expect), "{body}: {e}");
    }
}
