//! The fast engine against the reference one: identical outputs —
//! summary.json, timeseries.csv, events.csv and every other file — on
//! every example scenario and on random scenarios (tests/sim_props.rs
//! runs the random ones through both).

use rebalance_sim::{Engine, RunResult, Scenario, Simulation};

/// Every output file of `r`, written to a fresh directory and read back.
fn outputs(r: &RunResult) -> Vec<(String, Vec<u8>)> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("out");
    rebalance_sim::report::write_run_into(r, &dir).expect("written");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("listed")
        .map(|e| {
            let p = e.expect("entry").path();
            let name = p.file_name().expect("name").to_string_lossy().to_string();
            (name, std::fs::read(&p).expect("read"))
        })
        .filter(|(name, _)| !name.ends_with(".png"))
        .collect();
    files.sort();
    files
}

fn run(scenario: &Scenario, seed: u64, engine: Engine) -> RunResult {
    Simulation::new(scenario.clone(), seed)
        .expect("valid")
        .with_engine(engine)
        .run()
}

#[test]
fn every_example_scenario_gives_the_same_outputs_with_either_engine() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(root.join("scenarios")).expect("scenarios/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        seen += 1;
        let scenario = Scenario::load(&path, &[]).expect("valid");
        for seed in [1, 2] {
            let reference = run(&scenario, seed, Engine::Reference);
            let fast = run(&scenario, seed, Engine::Fast);
            assert_eq!(
                reference.summary.trace_digest,
                fast.summary.trace_digest,
                "{} seed {seed}",
                path.display()
            );
            let (a, b) = (outputs(&reference), outputs(&fast));
            for ((name, x), (_, y)) in a.iter().zip(&b) {
                assert!(x == y, "{} seed {seed}: {name} differs", path.display());
            }
            assert_eq!(a.len(), b.len());
        }
    }
    assert!(seen >= 19, "{seen} example scenarios");
}
