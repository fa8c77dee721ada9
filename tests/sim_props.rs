//! Whole simulations over random small scenarios: every invariant holds,
//! and the same seed always gives the same run.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use rebalance_sim::{Engine, Scenario, Simulation};

#[derive(Debug, Clone)]
struct Fault {
    at_s: u32,
    consumer: usize,
    kind: u8,
    length_s: u32,
}

/// Builds a timeline that respects each consumer's life cycle: stopped
/// consumers can only join; running ones can leave, crash, restart,
/// pause or stall.
fn timeline(consumers: usize, raw: &[Fault], mixed: bool) -> String {
    let mut running = vec![true; consumers];
    let mut busy_until = vec![0u32; consumers];
    let mut raw = raw.to_vec();
    raw.sort_by_key(|f| f.at_s);
    let mut out = String::new();
    for f in raw {
        let c = f.consumer % consumers;
        if f.at_s < busy_until[c] {
            continue;
        }
        let name = format!("c{}", c + 1);
        // Mixed groups: a process (re)starts speaking either protocol, so
        // the group converts between classic and consumer (online
        // migration) as members come and go.
        let protocol = if mixed {
            if f.kind / 6 % 2 == 0 {
                "\nprotocol = \"consumer\""
            } else {
                "\nprotocol = \"classic\""
            }
        } else {
            ""
        };
        let entry = if !running[c] {
            running[c] = true;
            format!("action = \"join\"{protocol}")
        } else {
            match f.kind % 6 {
                0 => {
                    running[c] = false;
                    "action = \"leave\"".to_string()
                }
                1 => {
                    running[c] = false;
                    "action = \"crash\"".to_string()
                }
                2 => {
                    busy_until[c] = f.at_s + f.length_s;
                    format!(
                        "action = \"restart\"\ndowntime = \"{}s\"\ngraceful = {}{protocol}",
                        f.length_s,
                        f.length_s % 2 == 0
                    )
                }
                3 => {
                    busy_until[c] = f.at_s + f.length_s;
                    format!("action = \"pause\"\nduration = \"{}s\"", f.length_s)
                }
                4 => format!("action = \"stall\"\nduration = \"{}s\"", f.length_s),
                // A subscription change: one topic, the other, or both.
                _ => format!(
                    "action = \"subscribe\"\ntopics = {}",
                    ["[\"a\"]", "[\"b\"]", "[\"a\", \"b\"]"][f.length_s as usize % 3]
                ),
            }
        };
        out.push_str(&format!(
            "\n[[timeline]]\nat = \"{}s\"\nconsumer = \"{name}\"\n{entry}\n",
            f.at_s
        ));
    }
    out
}

fn scenario_text(
    partitions: u32,
    consumers: usize,
    assignor: &str,
    commit: &str,
    static_members: bool,
    faults: &[Fault],
    mixed: bool,
) -> String {
    format!(
        r#"
[scenario]
duration = "150s"

[[topics]]
name = "a"
partitions = {partitions}
produce_rate = 200

[[topics]]
name = "b"
partitions = 2
produce_rate = 20

[group]
{assignor_line}
commit = "{commit}"
auto_offset_reset = "earliest"
{classic_timing}
max_poll_interval = "15s"
initial_rebalance_delay = "1s"

[consumers]
count = {consumers}
static_membership = {static_members}
processing = {{ dist = "exponential", mean = "200us" }}
{}"#,
        timeline(consumers, faults, mixed),
        // The consumer protocol takes its session and heartbeat from the
        // broker.
        classic_timing = if matches!(assignor, "uniform" | "server-range") {
            ""
        } else {
            "session_timeout = \"8s\"\nheartbeat_interval = \"1s\""
        },
        // uniform and server-range are the consumer protocol's (KIP-848).
        assignor_line = if matches!(assignor, "uniform" | "server-range") {
            format!("protocol = \"consumer\"\nremote_assignor = \"{assignor}\"")
        } else {
            format!("assignor = \"{assignor}\"")
        },
    )
}

/// Broker and network faults: at most one broker down at a time (a crash
/// or a controlled shutdown, then a restart), and cuts between a consumer
/// and the coordinator (one way or both) or isolating a consumer, each
/// healed after a while; and, when `grow`, partitions added to topic
/// "a" (a classic leader would notice them only after 5 minutes, longer
/// than these runs).
fn cluster_timeline(consumers: usize, raw: &[Fault], partitions: u32, grow: bool) -> String {
    let mut raw = raw.to_vec();
    raw.sort_by_key(|f| f.at_s);
    let mut broker_busy_until = 0;
    let mut partitions = partitions;
    let mut out = String::new();
    for f in raw {
        let entry = match f.kind % if grow { 5 } else { 4 } {
            4 => {
                // Partitions added to topic "a".
                partitions += 1 + f.length_s % 3;
                format!("action = \"add-partitions\"\ntopic = \"a\"\npartitions = {partitions}")
            }
            k @ (0 | 1) => {
                if f.at_s < broker_busy_until {
                    continue;
                }
                broker_busy_until = f.at_s + f.length_s + 1;
                let broker = f.consumer % 3;
                let stop = if k == 0 {
                    "broker-crash"
                } else {
                    "broker-shutdown"
                };
                format!(
                    "action = \"{stop}\"\nbroker = {broker}\n\n[[timeline]]\nat = \"{}s\"\naction = \"broker-restart\"\nbroker = {broker}",
                    f.at_s + f.length_s
                )
            }
            k => {
                let c = format!("c{}", f.consumer % consumers + 1);
                let to = if k == 2 {
                    format!("to = \"coordinator\"\none_way = {}", f.length_s % 2 == 0)
                } else {
                    String::new()
                };
                format!(
                    "action = \"network-partition\"\nfrom = \"{c}\"\n{to}\nduration = \"{}s\"",
                    f.length_s.min(20)
                )
            }
        };
        out.push_str(&format!("\n[[timeline]]\nat = \"{}s\"\n{entry}\n", f.at_s));
    }
    out
}

fn faults() -> impl Strategy<Value = Vec<Fault>> {
    prop::collection::vec(
        (0u32..50, 0usize..4, 0u8..12, 1u32..12).prop_map(|(at_s, consumer, kind, length_s)| {
            Fault {
                at_s,
                consumer,
                kind,
                length_s,
            }
        }),
        0..6,
    )
}

/// Runs `text` twice with `seed`, on the fast engine and on the reference
/// one: no violation, nothing lost, converged, and the same digest,
/// summary, samples, partition rows and events both times.
///
/// The one exception is a violation Kafka commits itself, which the
/// simulator reproduces on purpose (`Violation::kafka_defect`, e.g. the
/// eager sticky assignor handing a member a partition of a topic it left):
/// then every other violation must be the group's failure to converge
/// that follows from it, and the run must still replay.
fn keeps_every_invariant_and_replays(text: &str, seed: u64) -> Result<(), TestCaseError> {
    let scenario = Scenario::from_toml(text, "random.toml", "random", &[])
        .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    let a = Simulation::new(scenario.clone(), seed)
        .expect("valid")
        .run();
    let violations = &a.summary.violations;
    let kafka_defect = violations.first().is_some_and(|v| v.kafka_defect.is_some());
    prop_assert!(
        violations
            .iter()
            .all(|v| kafka_defect && (v.kafka_defect.is_some() || v.invariant == 5)),
        "{:?}\n{}",
        violations,
        text
    );
    prop_assert_eq!(a.summary.lost, 0);
    // The cost table counts each rebalance once.
    let rows: usize = a.summary.rebalance_costs.iter().map(|c| c.rebalances).sum();
    prop_assert_eq!(rows, a.summary.rebalances as usize, "{}", text);
    if !kafka_defect {
        prop_assert_eq!(a.summary.converged, Some(true), "{}", text);
    }
    // The replay runs on the reference engine: the fast one must give
    // exactly its outputs.
    let b = Simulation::new(scenario, seed)
        .expect("valid")
        .with_engine(Engine::Reference)
        .run();
    prop_assert_eq!(&a.summary.trace_digest, &b.summary.trace_digest);
    let json = |r: &rebalance_sim::RunResult| serde_json::to_string(&r.summary).expect("json");
    prop_assert_eq!(json(&a), json(&b));
    prop_assert_eq!(format!("{:?}", a.samples), format!("{:?}", b.samples));
    prop_assert_eq!(
        format!("{:?}", a.partition_rows),
        format!("{:?}", b.partition_rows)
    );
    prop_assert_eq!(a.events, b.events);
    Ok(())
}

/// The scenario with `[scenario] fetch_quantum` set, when one is drawn: the
/// opt-in approximation must keep every invariant, and both engines must
/// still agree under it.
fn with_quantum(text: String, quantum: Option<&str>) -> String {
    match quantum {
        Some(q) => text.replacen(
            "[scenario]\n",
            &format!("[scenario]\nfetch_quantum = \"{q}\"\n"),
            1,
        ),
        None => text,
    }
}

/// No quantum (the exact model) half of the time, else one of a few.
fn quantum() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec!["5ms", "50ms", "300ms", "1s"]).prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("tests/proptest-regressions/sim_props.txt"))),
        ..ProptestConfig::with_cases(40)
    })]

    #[test]
    fn random_scenarios_keep_every_invariant(
        partitions in 1u32..10,
        consumers in 1usize..5,
        assignor in prop::sample::select(vec![
            "range", "roundrobin", "sticky", "cooperative-sticky", "uniform", "server-range",
        ]),
        commit in prop::sample::select(vec!["auto", "sync", "async"]),
        static_members in any::<bool>(),
        faults in faults(),
        quantum in quantum(),
        seed in 0u64..1000,
    ) {
        let text = scenario_text(partitions, consumers, assignor, commit, static_members, &faults, false);
        let text = with_quantum(text, quantum);
        keeps_every_invariant_and_replays(&text, seed)?;
    }

    /// Brokers crash, shut down and restart, links to the coordinator are
    /// cut, on top of consumer faults: coordinator failovers, leader
    /// elections and zombies, and still every invariant holds.
    #[test]
    fn random_broker_and_network_faults_keep_every_invariant(
        partitions in 1u32..10,
        consumers in 1usize..5,
        assignor in prop::sample::select(vec!["range", "cooperative-sticky", "uniform"]),
        commit in prop::sample::select(vec!["auto", "sync"]),
        static_members in any::<bool>(),
        faults in faults(),
        cluster_faults in faults(),
        replication in 2u32..4,
        quantum in quantum(),
        seed in 0u64..1000,
    ) {
        let text = scenario_text(partitions, consumers, assignor, commit, static_members, &faults, false)
            .replacen("[[topics]]", &format!("[cluster]\nbrokers = 3\n\n[[topics]]\nreplication_factor = {replication}"), 1)
            // Room for the bound after a late cut: request.timeout.ms more.
            .replacen("duration = \"150s\"", "duration = \"200s\"", 1)
            + &cluster_timeline(consumers, &cluster_faults, partitions, assignor == "uniform");
        let text = with_quantum(text, quantum);
        keeps_every_invariant_and_replays(&text, seed)?;
    }

    /// Random `[chaos]` tables (every kind of fault, random rates and
    /// windows): the drawn runs keep every invariant and converge in the
    /// quiet phase, and the emitted timeline replays each one exactly.
    #[test]
    fn random_chaos_keeps_every_invariant_and_its_timeline_replays(
        partitions in 1u32..10,
        consumers in 1usize..5,
        assignor in prop::sample::select(vec!["range", "cooperative-sticky", "uniform"]),
        commit in prop::sample::select(vec!["auto", "sync"]),
        static_members in any::<bool>(),
        rates in prop::collection::vec(prop::option::of(10u32..90), 10),
        window in (0u32..20, 20u32..60),
        seed in 0u64..1000,
    ) {
        let kinds = [
            "crash = { every = \"%s\" }",
            "restart = { every = \"%s\", downtime = \"3s\" }",
            "pause = { every = \"%s\", duration = \"6s\" }",
            "stall = { every = \"%s\", duration = \"20s\" }",
            "leave = { every = \"%s\" }",
            "join = { every = \"%s\" }",
            "slow = { every = \"%s\", processing = \"1ms\" }",
            "broker_crash = { every = \"%s\", downtime = \"15s\" }",
            "network_partition = { every = \"%s\", duration = \"12s\" }",
            "add_partitions = { every = \"%s\" }",
        ];
        let mut chaos = format!("\n[chaos]\nstart = \"{}s\"\nend = \"{}s\"\n", window.0, window.1);
        let mut any = false;
        for (i, (kind, rate)) in kinds.iter().zip(&rates).enumerate() {
            // A classic leader notices added partitions only after 5 minutes.
            let Some(every) = rate.filter(|_| i != 9 || assignor == "uniform") else { continue };
            chaos.push_str(&kind.replace("%s", &format!("{every}s")));
            chaos.push('\n');
            any = true;
        }
        prop_assume!(any);
        let base = scenario_text(partitions, consumers, assignor, commit, static_members, &[], false)
            .replacen("[[topics]]", "[cluster]\nbrokers = 3\n\n[[topics]]\nreplication_factor = 3", 1)
            .replacen("duration = \"150s\"", "duration = \"220s\"", 1);
        let text = format!("{base}{chaos}");
        keeps_every_invariant_and_replays(&text, seed)?;
        let scenario = Scenario::from_toml(&text, "chaos.toml", "chaos", &[]).expect("valid");
        let plain = format!("{base}{}", scenario.drawn_timeline(seed));
        let fixed = Scenario::from_toml(&plain, "chaos.toml", "chaos", &[])
            .map_err(|e| TestCaseError::fail(format!("{e}\n{plain}")))?;
        let drawn = Simulation::new(scenario, seed).expect("valid").run();
        let replayed = Simulation::new(fixed, seed).expect("valid").run();
        prop_assert_eq!(drawn.summary.trace_digest, replayed.summary.trace_digest, "{}", plain);
    }

    /// Mixed groups: classic members and members restarted with the
    /// consumer protocol, so the group converts both ways.
    #[test]
    fn random_mixed_protocol_timelines_keep_every_invariant(
        partitions in 1u32..10,
        consumers in 2usize..5,
        assignor in prop::sample::select(vec!["range", "cooperative-sticky"]),
        commit in prop::sample::select(vec!["auto", "sync"]),
        static_members in any::<bool>(),
        faults in faults(),
        seed in 0u64..1000,
    ) {
        let text = scenario_text(partitions, consumers, assignor, commit, static_members, &faults, true);
        keeps_every_invariant_and_replays(&text, seed)?;
    }
}
