//! Rich types per call, beside an in-process `&dyn` call and abi_stable
//! with `RString`/`RVec` fields: passing a borrowed `&Person`, returning a
//! `Person`, a plugin calling a host object back (64 callbacks per call),
//! and returning `&str` from 20,000 distinct strings against returning a
//! `String`. `cd bench && cargo bench --bench rich` prints the medians and
//! ratios; BENCHMARKS.md has a run.

mod approaches;

use std::hint::black_box;
use std::time::Duration;

use approaches::{CALLBACKS, HostRich, Total};
use bench_rich_abi_stable_interface::PersonR;
use bench_rich_interface::{NAMES, Rich, name, person};
use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(50);
}

fn main() {
    let libraries = approaches::build();
    let baseline = HostRich {
        names: (0..NAMES).map(name).collect(),
    };
    let ours = approaches::ours(&libraries[0]);
    let peer = approaches::abi_stable(&libraries[1]);
    let shared = approaches::ours(&libraries[2]);
    let alice = person(7);
    let alice_r = bench_rich_abi_stable_interface::person(7);
    let total = Total::default();

    // Every approach gives the same answers.
    let baseline: &dyn Rich = black_box(&baseline);
    assert_eq!(ours.score(&alice), baseline.score(&alice));
    assert_eq!(peer.score(&alice_r), baseline.score(&alice));
    assert_eq!(ours.person(3), baseline.person(3));
    assert_eq!(shared.person(3), baseline.person(3));
    assert_eq!(peer.person(3).name.as_str(), baseline.person(3).name);
    assert_eq!(
        ours.visit(&total, CALLBACKS),
        baseline.visit(&total, CALLBACKS)
    );
    assert_eq!(ours.name_of(12_345), baseline.name_of(12_345));
    assert_eq!(ours.name_owned(12_345), baseline.name_owned(12_345));

    let mut c = Criterion::default().configure_from_args();
    let ours = black_box(&ours);
    let peer = black_box(&peer);
    let shared = black_box(&shared);

    let mut group = c.benchmark_group("person_ref");
    configure(&mut group);
    group.bench_function("baseline", |b| b.iter(|| baseline.score(black_box(&alice))));
    group.bench_function("abi_stable", |b| b.iter(|| peer.score(black_box(&alice_r))));
    group.bench_function("ours", |b| b.iter(|| ours.score(black_box(&alice))));
    group.finish();

    let mut group = c.benchmark_group("person_return");
    configure(&mut group);
    group.bench_function("baseline", |b| b.iter(|| baseline.person(black_box(7))));
    group.bench_function("abi_stable", |b| {
        b.iter(|| -> PersonR { peer.person(black_box(7)) })
    });
    group.bench_function("ours", |b| b.iter(|| ours.person(black_box(7))));
    group.bench_function("ours_shared_allocator", |b| {
        b.iter(|| shared.person(black_box(7)))
    });
    group.finish();

    // The same call without callbacks: the difference is what 64 callbacks
    // cost.
    let mut group = c.benchmark_group("callback0");
    configure(&mut group);
    group.bench_function("baseline", |b| {
        b.iter(|| baseline.visit(black_box(&total), 0))
    });
    group.bench_function("ours", |b| b.iter(|| ours.visit(black_box(&total), 0)));
    group.finish();

    let mut group = c.benchmark_group("callback64");
    configure(&mut group);
    group.bench_function("baseline", |b| {
        b.iter(|| baseline.visit(black_box(&total), CALLBACKS))
    });
    group.bench_function("ours", |b| {
        b.iter(|| ours.visit(black_box(&total), CALLBACKS))
    });
    group.finish();

    let mut group = c.benchmark_group("strings");
    configure(&mut group);
    let mut i = 0u32;
    group.bench_function("ours_str_20000_distinct", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            ours.name_of(black_box(i)).len()
        })
    });
    group.bench_function("ours_string", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            ours.name_owned(black_box(i))
        })
    });
    group.bench_function("baseline_string", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            baseline.name_owned(black_box(i))
        })
    });
    group.finish();
    c.final_summary();
}
