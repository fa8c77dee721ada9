//! Whole runs: the example scenario, and a large group (2,000 partitions,
//! 100 consumers, rolling crashes) to show cost follows events, not records,
//! and the scale cases: 10,000 and 100,000 members, 1,000,000 partitions.

use criterion::{Criterion, criterion_group, criterion_main};
use rebalance_sim::{Engine, Scenario, Simulation};
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

/// One topic of `partitions` partitions, one record per partition per
/// second, `consumers` consumers, for `duration`: the scale cases.
fn scale(consumers: u32, partitions: u32, duration: &str) -> Scenario {
    let text = format!(
        "[scenario]\nduration = \"{duration}\"\nsample_interval = \"1s\"\n\
         [[topics]]\nname = \"events\"\npartitions = {partitions}\nproduce_rate = {partitions}\n\
         [consumers]\ncount = {consumers}\n"
    );
    Scenario::from_toml(&text, "scale.toml", "scale", &[]).expect("valid")
}

fn bench_scale(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale");
    g.sample_size(10);
    for (name, scenario) in [
        ("10k-consumers-10kp-1m", scale(10_000, 10_000, "1m")),
        ("100k-consumers-100kp-1m", scale(100_000, 100_000, "1m")),
        ("1-consumer-1Mp-10s", scale(1, 1_000_000, "10s")),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| black_box(Simulation::new(scenario.clone(), 1).expect("valid").run()))
        });
    }
    g.finish();
}

/// Seed sweeps of the example scenario: 100 seeds on 1 and 2 jobs (the
/// scaling), and the 1,000-seed sweep of issue 10's target.
fn bench_sweep(c: &mut Criterion) {
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    let scenario = load("scenarios/consumer-crash.toml");
    let hundred: Vec<u64> = (1..=100).collect();
    let thousand: Vec<u64> = (1..=1000).collect();
    for (name, seeds, jobs) in [
        ("consumer-crash-100-seeds-1-job", &hundred, 1),
        ("consumer-crash-100-seeds-2-jobs", &hundred, 2),
        ("consumer-crash-1000-seeds-2-jobs", &thousand, 2),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    rebalance_sim::sweep::run_seeds(&scenario, seeds, jobs, &|_| {}, &|_, _| {})
                        .expect("valid"),
                )
            })
        });
    }
    g.finish();
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulation");
    g.sample_size(10);
    for name in ["consumer-crash", "scale-out", "stalled-consumer"] {
        let scenario = load(&format!("scenarios/{name}.toml"));
        g.bench_function(name, |b| {
            b.iter(|| black_box(Simulation::new(scenario.clone(), 1).expect("valid").run()))
        });
    }
    let big = large();
    g.bench_function("large-2000p-100c-10m", |b| {
        b.iter(|| black_box(Simulation::new(big.clone(), 1).expect("valid").run()))
    });
    // The same on the reference engine: what handling wake-ups ahead of
    // time saves.
    g.bench_function("large-2000p-100c-10m/reference-engine", |b| {
        b.iter(|| {
            black_box(
                Simulation::new(big.clone(), 1)
                    .expect("valid")
                    .with_engine(Engine::Reference)
                    .run(),
            )
        })
    });
    // The opt-in approximation `[scenario] fetch_quantum` (README,
    // Performance): the same group fetching once per quantum.
    use rebalance_sim::sim::Duration;
    for (quantum, every) in [
        ("100ms", Duration::from_millis(100)),
        ("1s", Duration::from_secs(1)),
    ] {
        let mut coarse = big.clone();
        coarse.fetch_quantum = Some(every);
        g.bench_function(
            format!("large-2000p-100c-10m/fetch-quantum-{quantum}"),
            |b| b.iter(|| black_box(Simulation::new(coarse.clone(), 1).expect("valid").run())),
        );
    }
    g.finish();
}

/// The engine core alone (issue 11's 10 M events/s target): the hold
/// model — 10,000 events pending, each pop followed by a push 0–50 ms
/// later (a pseudo-random delay) — over 1,000,000 pops.
fn bench_engine(c: &mut Criterion) {
    use rebalance_sim::sim::{EventQueue, Time};
    let mut g = c.benchmark_group("engine");
    g.sample_size(10);
    g.throughput(criterion::Throughput::Elements(1_000_000));
    g.bench_function("queue-hold-10k-pending-1M-pops", |b| {
        b.iter(|| {
            let mut q: EventQueue<u32> = EventQueue::new();
            let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
            let mut delay = || {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 33) % 50_000
            };
            for i in 0..10_000u32 {
                q.push(Time(delay()), i);
            }
            let mut sum = 0u64;
            for _ in 0..1_000_000 {
                let (at, e) = q.pop().expect("never empty");
                sum = sum.wrapping_add(u64::from(e));
                q.push(Time(at.micros() + delay()), e);
            }
            black_box(sum)
        })
    });
    g.finish();
}

/// How cost grows with load (issue 11): 100 consumers for 5 minutes at
/// 1,000 partitions and 100,000 records/s, then both doubled. Cost that
/// followed group interactions only would stay the same.
fn bench_growth(c: &mut Criterion) {
    let case = |partitions: u32, rate: u32| {
        let text = format!(
            "[scenario]\nduration = \"5m\"\n[[topics]]\nname = \"events\"\npartitions = {partitions}\nproduce_rate = {rate}\n\
             [group]\nassignor = \"roundrobin\"\n[consumers]\ncount = 100\n\
             processing = {{ dist = \"exponential\", mean = \"50us\" }}\n\
             [[timeline]]\nat = \"150s\"\naction = \"crash\"\nconsumer = \"c1\"\n"
        );
        Scenario::from_toml(&text, "growth.toml", "growth", &[]).expect("valid")
    };
    let mut g = c.benchmark_group("growth");
    g.sample_size(10);
    for (name, scenario) in [
        ("100c-1000p-100k-per-s-5m", case(1000, 100_000)),
        ("100c-2000p-200k-per-s-5m", case(2000, 200_000)),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| black_box(Simulation::new(scenario.clone(), 1).expect("valid").run()))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench,
    bench_scale,
    bench_sweep,
    bench_engine,
    bench_growth
);
criterion_main!(benches);
