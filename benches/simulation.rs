//! Whole runs: the example scenario, and a large group (2,000 partitions,
//! 100 consumers, rolling crashes) to show cost follows events, not records,
//! and the scale cases: 10,000 and 100,000 members, 1,000,000 partitions.

use criterion::{Criterion, criterion_group, criterion_main};
use rebalance_sim::{Engine, Scenario, Simulation};
use std::hint::black_box;

fn load(path: &str) -> Scenario {
    Scenario::load(std::path::Path::new(path), &[]).expect("valid scenario")
}

/// 100 consumers (roundrobin, 50 µs exponential processing per record)
/// on one topic for `duration`, with `crashes` consumers crashing one
/// after the other, `crash_every_s` seconds apart from `first_crash_s`.
fn group_of_100(
    duration: &str,
    partitions: u32,
    rate: u32,
    crashes: u32,
    first_crash_s: u32,
    crash_every_s: u32,
) -> Scenario {
    let mut text = format!(
        "[scenario]\nduration = \"{duration}\"\n\
         [[topics]]\nname = \"events\"\npartitions = {partitions}\nproduce_rate = {rate}\n\
         [group]\nassignor = \"roundrobin\"\n\
         [consumers]\ncount = 100\nprocessing = {{ dist = \"exponential\", mean = \"50us\" }}\n"
    );
    for i in 0..crashes {
        text.push_str(&format!(
            "[[timeline]]\nat = \"{}s\"\naction = \"crash\"\nconsumer = \"c{}\"\n",
            first_crash_s + i * crash_every_s,
            i + 1
        ));
    }
    Scenario::from_toml(&text, "group.toml", "group", &[]).expect("valid")
}

/// The large case: 10 minutes, 2,000 partitions, 200,000 records/s, a
/// crash every 30 s from 30 s to 300 s.
fn large() -> Scenario {
    group_of_100("10m", 2000, 200_000, 10, 30, 30)
}

/// Issue 11's hour: 1,000 partitions, 100,000 records/s, a crash every
/// 5 minutes.
fn hour() -> Scenario {
    group_of_100("1h", 1000, 100_000, 11, 300, 300)
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
    use rebalance_sim::sim::Duration;
    for name in ["consumer-crash", "scale-out", "stalled-consumer"] {
        let scenario = load(&format!("scenarios/{name}.toml"));
        g.bench_function(name, |b| {
            b.iter(|| black_box(Simulation::new(scenario.clone(), 1).expect("valid").run()))
        });
        // The same under the opt-in approximation (README, Performance).
        for (label, quantum) in [
            ("100ms", Duration::from_millis(100)),
            ("1s", Duration::from_secs(1)),
        ] {
            let mut coarse = scenario.clone();
            coarse.fetch_quantum = Some(quantum);
            g.bench_function(format!("{name}/fetch-quantum-{label}"), |b| {
                b.iter(|| black_box(Simulation::new(coarse.clone(), 1).expect("valid").run()))
            });
        }
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
    // The hour exact takes about 40 s a run (README, Performance): only
    // its approximation is benched.
    let mut coarse_hour = hour();
    coarse_hour.fetch_quantum = Some(Duration::from_secs(1));
    g.bench_function("hour-1000p-100c-1h/fetch-quantum-1s", |b| {
        b.iter(|| {
            black_box(
                Simulation::new(coarse_hour.clone(), 1)
                    .expect("valid")
                    .run(),
            )
        })
    });
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
/// 1,000 partitions and 100,000 records/s, then both doubled, exact and
/// under a 1 s fetch quantum; under the quantum also each doubled alone
/// (partitions add processed ranges; the rate adds polls in an exact run,
/// not under the quantum, where a caught-up consumer reads each quantum in
/// one poll: README, "How cost grows"). Cost that followed group
/// interactions only would stay the same.
fn bench_growth(c: &mut Criterion) {
    let mut g = c.benchmark_group("growth");
    g.sample_size(10);
    for quantum in [None, Some(rebalance_sim::sim::Duration::from_secs(1))] {
        // Under the quantum also each doubled alone, to show which of the
        // two the growth follows.
        let pairs: &[(u32, u32)] = if quantum.is_some() {
            &[
                (1000, 100_000),
                (2000, 200_000),
                (1000, 200_000),
                (2000, 100_000),
            ]
        } else {
            &[(1000, 100_000), (2000, 200_000)]
        };
        for &(partitions, rate) in pairs {
            let mut scenario = group_of_100("5m", partitions, rate, 1, 150, 0);
            scenario.fetch_quantum = quantum;
            let name = format!(
                "100c-{partitions}p-{}k-per-s-5m{}",
                rate / 1000,
                if quantum.is_some() {
                    "/fetch-quantum-1s"
                } else {
                    ""
                }
            );
            g.bench_function(name, |b| {
                b.iter(|| black_box(Simulation::new(scenario.clone(), 1).expect("valid").run()))
            });
        }
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
