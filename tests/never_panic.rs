//! Never panic, on any input (issue 6 §2): mutated scenario files and
//! mutated `assign` inputs go through the library calls the CLI makes and
//! must end in a value or an error, never a panic; a handful of mutated
//! files go through the binary itself.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use rebalance_sim::assign::{ASSIGNOR_NAMES, AssignorName, format_assignment, parse_assign_input};
use rebalance_sim::scenario::{Action, TimelineEvent};
use rebalance_sim::sim::Duration;
use rebalance_sim::{Scenario, Simulation};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The example scenarios, read at test time.
fn example_scenarios() -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no example scenarios");
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("readable"))
        .collect()
}

// ----- mutations ------------------------------------------------------------

/// Numbers that break assumptions: zero, negatives, beyond i32, u32, i64,
/// floats where integers go and the reverse.
const EXTREME_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1e308",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "4294967296",
    "4294967295",
    "1000",
    "2147483647",
    "-2147483648",
    "nan",
    "inf",
    "0.5",
    "1e-9",
];

/// Values of the wrong type for wherever they land.
const WRONG_TYPES: &[&str] = &[
    "\"text\"",
    "\"\"",
    "{ a = 1 }",
    "{}",
    "[1, \"x\"]",
    "[]",
    "true",
    "1.5",
    "-5",
    "\"🦀\"",
];

/// Text that is not ASCII, or that upsets parsers.
const INSERTS: &[&str] = &[
    "ü", "🦀", "\u{202e}", "\u{feff}", "\u{0}", "\n", "\"", "[", "=", "\\", "#",
];

/// One edit of a text; indices are reduced modulo what the text offers,
/// so any value applies to any text.
#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    /// Replace the n-th number (a run of digits, as in `12` or `"60s"`).
    Number(usize, usize),
    /// Replace the value of the n-th `key = value` (or `"key": value`) line.
    WrongType(usize, usize),
    /// Insert at the n-th character.
    Insert(usize, usize),
    /// Cut the text at the n-th character.
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let i = || 0usize..10_000;
    prop_oneof![
        2 => i().prop_map(Mutation::DeleteLine),
        2 => i().prop_map(Mutation::DuplicateLine),
        1 => (i(), i()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        4 => (i(), 0..EXTREME_NUMBERS.len()).prop_map(|(a, b)| Mutation::Number(a, b)),
        3 => (i(), 0..WRONG_TYPES.len()).prop_map(|(a, b)| Mutation::WrongType(a, b)),
        1 => (i(), 0..INSERTS.len()).prop_map(|(a, b)| Mutation::Insert(a, b)),
        1 => i().prop_map(Mutation::Truncate),
    ]
}

/// Byte ranges of every run of ASCII digits.
fn numbers(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            out.push((start, i));
        } else {
            i += 1;
        }
    }
    out
}

/// Byte ranges of the values of `key = value` and `"key": value` lines.
fn values(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', ',']);
        let sep = body.find(" = ").map(|p| p + 3).or_else(|| {
            body.find("\": ")
                .filter(|_| body.trim_start().starts_with('"'))
                .map(|p| p + 3)
        });
        if let Some(start) = sep {
            let end = body.len();
            if start < end {
                out.push((offset + start, offset + end));
            }
        }
        offset += line.len();
    }
    out
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    let n = lines.len();
    let replace = |ranges: Vec<(usize, usize)>, k: usize, with: &str| -> String {
        if ranges.is_empty() {
            return text.to_string();
        }
        let (a, b) = ranges[k % ranges.len()];
        format!("{}{with}{}", &text[..a], &text[b..])
    };
    let char_at = |k: usize| -> usize {
        let count = text.chars().count();
        text.char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .nth(k % (count + 1))
            .unwrap_or(text.len())
    };
    match *m {
        Mutation::DeleteLine(k) if n > 0 => {
            lines.remove(k % n);
            lines.concat()
        }
        Mutation::DuplicateLine(k) if n > 0 => {
            lines.insert(k % n, lines[k % n]);
            lines.concat()
        }
        Mutation::SwapLines(a, b) if n > 0 => {
            lines.swap(a % n, b % n);
            lines.concat()
        }
        Mutation::Number(k, v) => replace(numbers(text), k, EXTREME_NUMBERS[v]),
        Mutation::WrongType(k, v) => replace(values(text), k, WRONG_TYPES[v]),
        Mutation::Insert(k, v) => {
            let at = char_at(k);
            format!("{}{}{}", &text[..at], INSERTS[v], &text[at..])
        }
        Mutation::Truncate(k) => text[..char_at(k)].to_string(),
        _ => text.to_string(),
    }
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    mutations.iter().fold(text.to_string(), |t, m| apply(&t, m))
}

// ----- property 1: scenario text --------------------------------------------

/// Longest run the property simulates. The examples (4 or 5 minutes, a
/// few consumers) take milliseconds each; a mutated duration beyond this
/// is cut (`--set scenario.duration`) to a few seconds after the last
/// timeline event, or the run skipped when that is still too long.
const LONGEST_RUN: Duration = Duration::from_secs(300);

/// What the CLI does with a scenario text, minus writing files: parse,
/// and when it is valid simulate it.
fn parse_and_run(text: &str, seed: u64) {
    let Ok(mut scenario) = Scenario::from_toml(text, "m.toml", "m", &[]) else {
        return;
    };
    if scenario.duration > LONGEST_RUN {
        let last_event = scenario
            .timeline
            .iter()
            .map(|e| e.at)
            .max()
            .unwrap_or(Duration::ZERO);
        let short = last_event + Duration::from_secs(3);
        if short > LONGEST_RUN {
            return;
        }
        let set = format!("scenario.duration={}us", short.micros());
        match Scenario::from_toml(text, "m.toml", "m", &[set]) {
            Ok(s) => scenario = s,
            Err(_) => return,
        }
    }
    if let Ok(simulation) = Simulation::new(scenario, seed) {
        let result = simulation.run();
        // The summary must also serialize (summary.json).
        serde_json::to_string(&result.summary).expect("summary serializes");
    }
}

// ----- property 2: assign input ---------------------------------------------

/// Valid `assign` inputs, one key per line so that line mutations delete
/// or duplicate keys: every assignor, owned partitions, generations,
/// static members, racks and replica racks.
fn assign_inputs() -> Vec<String> {
    let mut out = Vec::new();
    for name in ASSIGNOR_NAMES {
        out.push(format!(
            r#"{{
"assignor": "{name}",
"topics": {{
"t0": 4,
"t1": {{"partitions": 3, "replica_racks": [["a", "b"], ["b", "c"]]}}
}},
"members": {{
"c1": {{
"topics": ["t0", "t1"],
"owned": [["t0", 0], ["t0", 1], ["t1", 2]],
"generation": 3,
"rack": "a"
}},
"c2": {{
"topics": ["t0", "t1"],
"owned": [["t0", 2], ["t0", 3]],
"generation": 2,
"instance": "i2",
"rack": "b"
}},
"c3": {{
"topics": ["t1"],
"instance": "i3",
"rack": "c"
}}
}}
}}"#
        ));
        out.push(format!(
            r#"{{
"assignor": "{name}",
"topics": {{
"t": 6
}},
"members": {{
"a": {{"topics": ["t"], "owned": [["t", 0], ["t", 1], ["t", 2]], "generation": 2}},
"b": {{"topics": ["t"], "owned": [["t", 3], ["t", 4], ["t", 5]], "generation": 2}},
"c": {{"topics": ["t"]}}
}}
}}"#
        ));
    }
    out
}

/// A random small group as `assign` input, one key per line: topics with
/// and without replica racks (empty entries and empty rack names too),
/// members with overlapping, duplicated and foreign owned partitions,
/// extreme generations, shared instance ids and racks.
fn random_assign_input() -> impl Strategy<Value = String> {
    let topic = (0u32..5, prop::collection::vec(racks(), 0..3));
    let member = (
        prop::collection::vec(0usize..4, 0..4),
        prop::collection::vec((0usize..4, 0u32..5), 0..5),
        prop::sample::select(vec![
            None,
            Some(-1),
            Some(0),
            Some(1),
            Some(2),
            Some(i32::MAX),
            Some(i32::MIN),
        ]),
        prop::sample::select(vec![None, Some("i1"), Some("i2")]),
        prop::sample::select(vec![None, Some("a"), Some("b"), Some(""), Some("z")]),
    );
    (
        0usize..ASSIGNOR_NAMES.len(),
        prop::collection::vec(topic, 1..4),
        prop::collection::vec(member, 0..6),
    )
        .prop_map(|(assignor, topics, members)| {
            let mut out = format!("{{\n\"assignor\": \"{}\",\n\"topics\": {{\n", ASSIGNOR_NAMES[assignor]);
            let entries: Vec<String> = topics
                .iter()
                .enumerate()
                .map(|(i, (partitions, racks))| {
                    if racks.is_empty() {
                        format!("\"t{i}\": {partitions}")
                    } else {
                        format!("\"t{i}\": {{\"partitions\": {partitions}, \"replica_racks\": {racks:?}}}")
                    }
                })
                .collect();
            out.push_str(&entries.join(",\n"));
            out.push_str("\n},\n\"members\": {\n");
            let topic_count = topics.len();
            let entries: Vec<String> = members
                .iter()
                .enumerate()
                .map(|(m, (subs, owned, generation, instance, rack))| {
                    let subs: Vec<String> =
                        subs.iter().map(|t| format!("\"t{}\"", t % topic_count)).collect();
                    let owned: Vec<String> = owned
                        .iter()
                        .filter(|(t, p)| *p < topics[t % topic_count].0)
                        .map(|(t, p)| format!("[\"t{}\", {p}]", t % topic_count))
                        .collect();
                    let mut lines = vec![
                        format!("\"topics\": [{}]", subs.join(", ")),
                        format!("\"owned\": [{}]", owned.join(", ")),
                    ];
                    if let Some(g) = generation {
                        lines.push(format!("\"generation\": {g}"));
                    }
                    if let Some(i) = instance {
                        lines.push(format!("\"instance\": \"{i}\""));
                    }
                    if let Some(r) = rack {
                        lines.push(format!("\"rack\": \"{r}\""));
                    }
                    format!("\"m{m}\": {{\n{}\n}}", lines.join(",\n"))
                })
                .collect();
            out.push_str(&entries.join(",\n"));
            out.push_str("\n}\n}\n");
            out
        })
}

/// One partition's replica racks.
fn racks() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(prop::sample::select(vec!["a", "b", "c", ""]), 0..3)
}

/// What `assign` does with a text, with the named assignor and every
/// other one on the same group: parse, assign, format, and three rounds.
fn parse_and_assign(text: &str) {
    let Ok(input) = parse_assign_input(text) else {
        return;
    };
    for name in ASSIGNOR_NAMES {
        let assignor = AssignorName::parse(name).expect("listed").build();
        let assignment = assignor.assign(&input.group);
        format_assignment(&input.group, &assignment);
        for round in rebalance_sim::assign::run_rounds(assignor.as_ref(), &input.group, 3) {
            format_assignment(&input.group, &round.assignment);
        }
    }
}

// ----- the properties ---------------------------------------------------------

/// Runs `f`; a panic fails the case, showing the input.
fn no_panic(input: &str, f: impl FnOnce()) -> Result<(), TestCaseError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let what = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(TestCaseError::fail(format!(
                "panicked: {what}\n--- input ---\n{input}"
            )))
        }
    }
}

/// Failing cases of both properties are kept here and replayed first.
fn persistence() -> Option<Box<dyn proptest::test_runner::FailurePersistence>> {
    Some(Box::new(FileFailurePersistence::Direct(
        "tests/proptest-regressions/never_panic.txt",
    )))
}

proptest! {
    // Each case may simulate a few minutes (milliseconds of work).
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: persistence(),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_scenarios_never_panic(
        which in 0usize..100,
        mutations in prop::collection::vec(mutation(), 1..3),
        seed in 0u64..1000,
    ) {
        let seeds = example_scenarios();
        let text = mutate(&seeds[which % seeds.len()], &mutations);
        no_panic(&text, || parse_and_run(&text, seed))?;
    }
}

proptest! {
    // Tiny groups: microseconds per case.
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: persistence(),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_assign_inputs_never_panic(
        which in 0usize..100,
        random in random_assign_input(),
        mutations in prop::collection::vec(mutation(), 0..4),
    ) {
        // Half the cases start from a fixed input, half from a random group.
        let text = if which % 2 == 0 {
            let seeds = assign_inputs();
            mutate(&seeds[which / 2 % seeds.len()], &mutations)
        } else {
            mutate(&random, &mutations)
        };
        no_panic(&text, || parse_and_assign(&text))?;
    }
}

// ----- the binary on fixed mutated files -------------------------------------

/// `text` with `from` replaced by `to`; `from` must be there.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} is no longer in the example");
    text.replace(from, to)
}

#[test]
fn the_binary_exits_0_1_or_2_on_mutated_files() {
    let seeds = example_scenarios();
    let crash = seeds
        .iter()
        .find(|s| s.starts_with("# consumer-crash:"))
        .expect("scenarios/consumer-crash.toml");
    // (mutated file, the exit codes it may give: 2 for bad input; 0, or 1
    // for a violated invariant, when it runs)
    let cases: Vec<(String, &[i32])> = vec![
        (edit(crash, "brokers = 3", "brokers = 4294967295"), &[2]),
        (
            edit(crash, "partitions = 12", "partitions = 4294967296"),
            &[2],
        ),
        (
            edit(crash, "produce_rate = 2400", "produce_rate = nan"),
            &[2],
        ),
        (
            edit(crash, "duration = \"4m\"", "duration = \"1e308s\""),
            &[2],
        ),
        (
            edit(crash, "at = \"60s\"", "at = \"9223372036854775807s\""),
            &[2],
        ),
        (edit(crash, "name = \"orders\"", "name = \"🦀\""), &[2]),
        (
            edit(crash, "consumer = \"c2\"", "consumer = \"\u{202e}c2\""),
            &[2],
        ),
        (edit(crash, "count = 4", "count = { a = 1 }"), &[2]),
        (
            crash.chars().take(crash.chars().count() / 2).collect(),
            &[2],
        ),
        // Crashing c2 again while it is down.
        (
            format!("{crash}\n[[timeline]]\nat = \"61s\"\naction = \"crash\"\nconsumer = \"c2\"\n"),
            &[2],
        ),
        // Valid after the edits: c2 comes back; a shorter run.
        (
            format!("{crash}\n[[timeline]]\nat = \"61s\"\naction = \"join\"\nconsumer = \"c2\"\n"),
            &[0, 1],
        ),
        (
            edit(crash, "duration = \"4m\"", "duration = \"70s\""),
            &[0, 1],
        ),
    ];
    let tmp = tempfile::tempdir().expect("tempdir");
    for (i, (body, expected)) in cases.iter().enumerate() {
        let file = tmp.path().join(format!("m{i}.toml"));
        std::fs::write(&file, body).expect("write");
        let o = Command::new(env!("CARGO_BIN_EXE_rebalance-sim"))
            .args(["run", file.to_str().expect("utf-8"), "--quiet", "--out"])
            .arg(tmp.path().join(format!("out{i}")))
            .output()
            .expect("the binary runs");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.code().is_some_and(|c| expected.contains(&c)),
            "case {i}: exit {:?}, expected one of {expected:?}\n{err}\n--- file ---\n{body}",
            o.status.code()
        );
        assert!(!err.contains("panicked"), "case {i}: {err}");
    }
}

// ----- scenarios built in code ------------------------------------------------

fn small_scenario() -> Scenario {
    Scenario::from_toml(
        "[[topics]]\nname = \"t\"\npartitions = 3\nproduce_rate = 10\n[consumers]\ncount = 2\n",
        "s.toml",
        "s",
        &[],
    )
    .expect("valid")
}

#[test]
fn a_timeline_event_naming_a_missing_consumer_is_refused() {
    let mut s = small_scenario();
    s.timeline.push(TimelineEvent {
        at: Duration::from_secs(1),
        consumer: 99,
        action: Action::Crash,
        assignors: None,
        protocol: None,
        via: None,
        topics: None,
    });
    let e = Simulation::new(s, 1).err().expect("refused");
    assert!(
        e.to_string()
            .contains("consumer index 99 is out of range (2 consumers)"),
        "{e}"
    );
}

#[test]
fn a_zero_sample_interval_is_refused() {
    let mut s = small_scenario();
    s.sample_interval = Duration::ZERO;
    let e = Simulation::new(s, 1).err().expect("refused");
    assert!(e.to_string().contains("scenario.sample_interval"), "{e}");
}
