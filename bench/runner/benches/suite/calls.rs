//! Per-call cost of `add`, `greet` and `sum`, for every approach.
//!
//! Each handle is passed through `black_box` once, so no call can be
//! devirtualised or inlined; the arguments go through `black_box` on every
//! call, and criterion drops every result inside the timed loop (so freeing
//! a returned string counts).

use std::hint::black_box;
use std::time::Duration;

use abi_stable::std_types::{RSlice, RStr};
use bench_ours_interface::Bench;
use bench_stabby_interface::BenchStabbyDyn;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};

use crate::approaches::{A, B, GREETING, HostBench, Loaded, NAME, SUM, xs};

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(50)
        .nresamples(20_000);
}

pub fn bench(c: &mut Criterion, loaded: &Loaded) {
    loaded.check();
    add(c, loaded);
    greet(c, loaded);
    sum(c, loaded);
}

fn add(c: &mut Criterion, loaded: &Loaded) {
    let mut group = c.benchmark_group("add");
    configure(&mut group);
    let expected = A + B;

    let baseline: &dyn HostBench = black_box(&loaded.baseline);
    assert_eq!(baseline.add(A, B), expected);
    group.bench_function("baseline", |b| {
        b.iter(|| baseline.add(black_box(A), black_box(B)))
    });

    let c_abi = black_box(&loaded.c_abi);
    assert_eq!(c_abi.add(A, B), expected);
    group.bench_function("c_abi", |b| {
        b.iter(|| c_abi.add(black_box(A), black_box(B)))
    });

    let abi_stable = black_box(&loaded.abi_stable);
    assert_eq!(abi_stable.add(A, B), expected);
    group.bench_function("abi_stable", |b| {
        b.iter(|| abi_stable.add(black_box(A), black_box(B)))
    });

    let stabby = black_box(&loaded.stabby.object);
    assert_eq!(stabby.add(A, B), expected);
    group.bench_function("stabby", |b| {
        b.iter(|| stabby.add(black_box(A), black_box(B)))
    });

    let ours = black_box(&loaded.ours);
    assert_eq!(ours.add(A, B), expected);
    group.bench_function("ours", |b| b.iter(|| ours.add(black_box(A), black_box(B))));
    assert_eq!(ours.try_add(A, B).ok(), Some(expected));
    group.bench_function("ours_try", |b| {
        b.iter(|| {
            ours.try_add(black_box(A), black_box(B))
                .expect("the plugin does not panic")
        })
    });

    let manager = black_box(&loaded.ours_manager);
    assert_eq!(manager.add(A, B), expected);
    group.bench_function("ours_manager", |b| {
        b.iter(|| manager.add(black_box(A), black_box(B)))
    });

    let proto = black_box(&loaded.ours_inline_slot);
    assert_eq!(proto.add(A, B), expected);
    group.bench_function("ours_inline_slot", |b| {
        b.iter(|| proto.add(black_box(A), black_box(B)))
    });

    for (id, shared) in [
        ("ours_shared", &loaded.ours_shared),
        ("ours_shared_manager", &loaded.ours_shared_manager),
    ] {
        let shared = black_box(shared);
        assert_eq!(shared.add(A, B), expected);
        group.bench_function(id, |b| b.iter(|| shared.add(black_box(A), black_box(B))));
    }
    group.finish();
}

fn greet(c: &mut Criterion, loaded: &Loaded) {
    let mut group = c.benchmark_group("greet");
    configure(&mut group);

    let baseline: &dyn HostBench = black_box(&loaded.baseline);
    assert_eq!(baseline.greet(NAME), GREETING);
    group.bench_function("baseline", |b| b.iter(|| baseline.greet(black_box(NAME))));

    let c_abi = black_box(&loaded.c_abi);
    assert_eq!(&*c_abi.greet(NAME), GREETING);
    group.bench_function("c_abi", |b| b.iter(|| c_abi.greet(black_box(NAME))));
    assert_eq!(c_abi.greet_string(NAME), GREETING);
    group.bench_function("c_abi_string", |b| {
        b.iter(|| c_abi.greet_string(black_box(NAME)))
    });

    let abi_stable = black_box(&loaded.abi_stable);
    assert_eq!(abi_stable.greet(RStr::from(NAME)), GREETING);
    group.bench_function("abi_stable", |b| {
        b.iter(|| abi_stable.greet(RStr::from(black_box(NAME))))
    });
    // The same work as ours: the greeting ends up a host `String`.
    assert_eq!(abi_stable.greet(RStr::from(NAME)).into_string(), GREETING);
    group.bench_function("abi_stable_string", |b| {
        b.iter(|| -> String { abi_stable.greet(RStr::from(black_box(NAME))).into_string() })
    });

    let stabby = black_box(&loaded.stabby.object);
    assert_eq!(stabby.greet(NAME.into()).as_str(), GREETING);
    group.bench_function("stabby", |b| {
        b.iter(|| stabby.greet(black_box(NAME).into()))
    });

    let ours = black_box(&loaded.ours);
    assert_eq!(ours.greet(NAME), GREETING);
    group.bench_function("ours", |b| b.iter(|| ours.greet(black_box(NAME))));
    assert_eq!(ours.try_greet(NAME).ok().as_deref(), Some(GREETING));
    group.bench_function("ours_try", |b| {
        b.iter(|| {
            ours.try_greet(black_box(NAME))
                .expect("the plugin does not panic")
        })
    });

    let manager = black_box(&loaded.ours_manager);
    assert_eq!(manager.greet(NAME), GREETING);
    group.bench_function("ours_manager", |b| {
        b.iter(|| manager.greet(black_box(NAME)))
    });

    let proto = black_box(&loaded.ours_inline_slot);
    assert_eq!(proto.greet(NAME), GREETING);
    group.bench_function("ours_inline_slot", |b| {
        b.iter(|| proto.greet(black_box(NAME)))
    });

    for (id, shared) in [
        ("ours_shared", &loaded.ours_shared),
        ("ours_shared_manager", &loaded.ours_shared_manager),
    ] {
        let shared = black_box(shared);
        assert_eq!(shared.greet(NAME), GREETING);
        group.bench_function(id, |b| b.iter(|| shared.greet(black_box(NAME))));
    }
    group.finish();
}

fn sum(c: &mut Criterion, loaded: &Loaded) {
    let mut group = c.benchmark_group("sum");
    configure(&mut group);
    let xs = xs();
    let xs = xs.as_slice();

    let baseline: &dyn HostBench = black_box(&loaded.baseline);
    assert_eq!(baseline.sum(xs), SUM);
    group.bench_function("baseline", |b| b.iter(|| baseline.sum(black_box(xs))));

    let c_abi = black_box(&loaded.c_abi);
    assert_eq!(c_abi.sum(xs), SUM);
    group.bench_function("c_abi", |b| b.iter(|| c_abi.sum(black_box(xs))));

    let abi_stable = black_box(&loaded.abi_stable);
    assert_eq!(abi_stable.sum(RSlice::from_slice(xs)), SUM);
    group.bench_function("abi_stable", |b| {
        b.iter(|| abi_stable.sum(RSlice::from_slice(black_box(xs))))
    });

    let stabby = black_box(&loaded.stabby.object);
    assert_eq!(stabby.sum(xs.into()), SUM);
    group.bench_function("stabby", |b| b.iter(|| stabby.sum(black_box(xs).into())));

    let ours = black_box(&loaded.ours);
    assert_eq!(ours.sum(xs), SUM);
    group.bench_function("ours", |b| b.iter(|| ours.sum(black_box(xs))));
    assert_eq!(ours.try_sum(xs).ok(), Some(SUM));
    group.bench_function("ours_try", |b| {
        b.iter(|| {
            ours.try_sum(black_box(xs))
                .expect("the plugin does not panic")
        })
    });

    let manager = black_box(&loaded.ours_manager);
    assert_eq!(manager.sum(xs), SUM);
    group.bench_function("ours_manager", |b| b.iter(|| manager.sum(black_box(xs))));

    let proto = black_box(&loaded.ours_inline_slot);
    assert_eq!(proto.sum(xs), SUM);
    group.bench_function("ours_inline_slot", |b| b.iter(|| proto.sum(black_box(xs))));

    for (id, shared) in [
        ("ours_shared", &loaded.ours_shared),
        ("ours_shared_manager", &loaded.ours_shared_manager),
    ] {
        let shared = black_box(shared);
        assert_eq!(shared.sum(xs), SUM);
        group.bench_function(id, |b| b.iter(|| shared.sum(black_box(xs))));
    }
    group.finish();
}
