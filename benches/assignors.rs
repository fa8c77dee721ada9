//! Assignor speed on the cases of the reference table in the README (Apache
//! Kafka 4.3's Java assignors measured on the same machine), plus the
//! KIP-848 benchmark points.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rebalance_sim::assign::{
    Assignor, CooperativeStickyAssignor, GroupSpec, MemberSpec, RangeAssignor, RoundRobinAssignor,
    ServerRangeAssignor, StickyAssignor, TopicSpec, UniformAssignor,
};
use std::hint::black_box;

/// `topics` topics of `partitions` partitions and `members` members all
/// subscribed to everything.
pub fn equal(topics: u32, partitions: u32, members: usize) -> GroupSpec {
    let width = (topics.max(2) as f64 - 1.0).log10() as usize + 1;
    // Members with the same subscription share it, as parsed input does.
    let all: rebalance_sim::assign::Subscription = (0..topics).collect::<Vec<_>>().into();
    GroupSpec {
        topics: (0..topics)
            .map(|t| TopicSpec::new(format!("topic-{t:0width$}"), partitions))
            .collect(),
        members: (0..members)
            .map(|m| MemberSpec {
                id: format!("consumer-{m:05}"),
                topics: all.clone(),
                ..Default::default()
            })
            .collect(),
    }
}

/// As [`equal`], with members in `groups` subscription groups, each
/// subscribing to its own slice of the topics.
pub fn grouped(topics: u32, partitions: u32, members: usize, groups: u32) -> GroupSpec {
    let mut g = equal(topics, partitions, members);
    let per_group = topics / groups;
    let members_per_group = members.div_ceil(groups as usize);
    let slices: Vec<rebalance_sim::assign::Subscription> = (0..groups)
        .map(|k| {
            (k * per_group..(k + 1) * per_group)
                .collect::<Vec<_>>()
                .into()
        })
        .collect();
    for (i, m) in g.members.iter_mut().enumerate() {
        m.topics = slices[i / members_per_group].clone();
    }
    g
}

/// As [`equal`], with members on racks a/b/c and each partition replicated
/// on `replicas` consecutive racks.
pub fn racked(topics: u32, partitions: u32, members: usize, replicas: usize) -> GroupSpec {
    let mut g = equal(topics, partitions, members);
    let racks = ["a", "b", "c"];
    for t in &mut g.topics {
        t.replica_racks = (0..3)
            .map(|p| {
                (0..replicas)
                    .map(|j| racks[(p + j) % 3].to_string())
                    .collect()
            })
            .collect();
    }
    for (i, m) in g.members.iter_mut().enumerate() {
        m.rack = Some(racks[i % 3].to_string());
    }
    g
}

/// `g` after a first assignment by `a` (owned, generation 1), then `change`.
pub fn after(a: &dyn Assignor, g: GroupSpec, change: impl FnOnce(&mut GroupSpec)) -> GroupSpec {
    let first = a.assign(&g);
    let mut g = g;
    for (m, owned) in g.members.iter_mut().zip(first.per_member) {
        m.owned = owned;
        m.generation = Some(1);
    }
    change(&mut g);
    g
}

fn join(g: &mut GroupSpec) {
    let topics = g.members[0].topics.clone();
    g.members.push(MemberSpec {
        id: "consumer-new".into(),
        topics,
        ..Default::default()
    });
}

fn leave(g: &mut GroupSpec) {
    g.members.remove(g.members.len() / 2);
}

fn bench(c: &mut Criterion) {
    let client: Vec<(&str, Box<dyn Assignor>)> = vec![
        ("range", Box::new(RangeAssignor)),
        ("roundrobin", Box::new(RoundRobinAssignor)),
        ("sticky", Box::new(StickyAssignor)),
        ("cooperative-sticky", Box::new(CooperativeStickyAssignor)),
    ];
    let mut g = c.benchmark_group("assign");
    g.sample_size(10);
    for (name, a) in &client {
        let cases: Vec<(&str, GroupSpec)> = vec![
            ("10x100-100m-equal", equal(10, 100, 100)),
            ("1000x50-1000m-equal", equal(1000, 50, 1000)),
            ("1000x50-1000m-5groups", grouped(1000, 50, 1000, 5)),
            ("1000x50-1000m-3racks-3replicas", racked(1000, 50, 1000, 3)),
            ("1000x50-1000m-3racks-2replicas", racked(1000, 50, 1000, 2)),
            ("500x2000-2000m-fresh", equal(500, 2000, 2000)),
            (
                "500x2000-1999m-one-joins",
                after(a.as_ref(), equal(500, 2000, 1999), join),
            ),
            (
                "500x2000-2001m-one-leaves",
                after(a.as_ref(), equal(500, 2000, 2001), leave),
            ),
        ];
        for (case, spec) in cases {
            g.bench_function(format!("{name}/{case}"), |b| {
                b.iter_batched_ref(
                    || (),
                    |_| black_box(a.assign(&spec)),
                    BatchSize::PerIteration,
                )
            });
        }
    }
    // KIP-848 points: members × partitions per member × topics.
    type Cases = Vec<(&'static str, GroupSpec)>;
    let server: Vec<(&str, Box<dyn Assignor>, Cases)> = vec![
        (
            "uniform",
            Box::new(UniformAssignor),
            vec![("10000m-10ppm-1000t-equal", equal(1000, 100, 10_000))],
        ),
        (
            "server-range",
            Box::new(ServerRangeAssignor),
            vec![
                ("10000m-50ppm-1000t-equal", equal(1000, 500, 10_000)),
                ("10000m-50ppm-1000t-5groups", grouped(1000, 500, 10_000, 5)),
            ],
        ),
    ];
    for (name, a, cases) in &server {
        for (case, spec) in cases {
            // Timed as the client rows above: one call per measurement, the
            // result dropped outside it.
            g.bench_function(format!("{name}/{case}"), |b| {
                b.iter_batched_ref(
                    || (),
                    |_| black_box(a.assign(spec)),
                    BatchSize::PerIteration,
                )
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
