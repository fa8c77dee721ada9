//! Assignor speed on the cases of the issue tracker's reference table.

use criterion::{Criterion, criterion_group, criterion_main};
use rebalance_sim::assign::{
    Assignor, GroupSpec, MemberSpec, RangeAssignor, RoundRobinAssignor, TopicSpec,
};
use std::hint::black_box;

/// `topics` topics of `partitions` partitions, `members` members all
/// subscribed to everything.
fn equal(topics: u32, partitions: u32, members: usize) -> GroupSpec {
    let width = (topics as f64).log10() as usize + 1;
    GroupSpec {
        topics: (0..topics)
            .map(|t| TopicSpec::new(format!("t{t:0width$}"), partitions))
            .collect(),
        members: (0..members)
            .map(|m| MemberSpec {
                id: format!("consumer-{m:05}"),
                topics: (0..topics).collect(),
                ..Default::default()
            })
            .collect(),
    }
}

/// As `equal`, but members in `groups` subscription groups, each
/// subscribing to its own slice of the topics.
fn grouped(topics: u32, partitions: u32, members: usize, groups: u32) -> GroupSpec {
    let mut g = equal(topics, partitions, members);
    let per = topics / groups;
    for (i, m) in g.members.iter_mut().enumerate() {
        let k = i as u32 % groups;
        m.topics = (k * per..(k + 1) * per).collect();
    }
    g
}

fn bench(c: &mut Criterion) {
    let cases = [
        ("10x100-100m-equal", equal(10, 100, 100)),
        ("1000x50-1000m-equal", equal(1000, 50, 1000)),
        ("1000x50-1000m-5groups", grouped(1000, 50, 1000, 5)),
        ("500x2000-2000m-fresh", equal(500, 2000, 2000)),
    ];
    let assignors: [(&str, &dyn Assignor); 2] = [
        ("range", &RangeAssignor),
        ("roundrobin", &RoundRobinAssignor),
    ];
    let mut g = c.benchmark_group("assign");
    g.sample_size(10);
    for (case, spec) in &cases {
        for (name, a) in assignors {
            g.bench_function(format!("{name}/{case}"), |b| {
                b.iter(|| black_box(a.assign(spec)))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
