//! Whole runs: the example scenario, and a large group (2,000 partitions,
//! 100 consumers, rolling crashes) to show cost follows events, not records.

use criterion::{Criterion, criterion_group, criterion_main};
use rebalance_sim::{Scenario, Simulation};
use std::hint::black_box;

fn load(path: &str) -> Scenario {
    Scenario::load(std::path::Path::new(path), &[]).expect("valid scenario")
}

fn large() -> Scenario {
    let mut text = String::from(
        r#"
[scenario]
duration = "10m"
[[topics]]
name = "events"
partitions = 2000
produce_rate = 200000
[group]
assignor = "roundrobin"
[consumers]
count = 100
processing = { dist = "exponential", mean = "50us" }
"#,
    );
    for i in 0..10 {
        text.push_str(&format!(
            "[[timeline]]\nat = \"{}s\"\naction = \"crash\"\nconsumer = \"c{}\"\n",
            30 + i * 30,
            i + 1
        ));
    }
    Scenario::from_toml(&text, "large.toml", "large", &[]).expect("valid")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulation");
    g.sample_size(10);
    for name in ["consumer-crash", "scale-out", "stalled-consumer"] {
        let scenario = load(&format!("scenarios/{name}.toml"));
        g.bench_function(name, |b| {
            b.iter(|| black_box(Simulation::new(scenario.clone(), 1).run()))
        });
    }
    let big = large();
    g.bench_function("large-2000p-100c-10m", |b| {
        b.iter(|| black_box(Simulation::new(big.clone(), 1).run()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
