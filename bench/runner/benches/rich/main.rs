//! Rich types per call, beside an in-process `&dyn` call and abi_stable
//! with `RString`/`RVec` fields: passing a borrowed `&Person`, returning a
//! `Person`, a plugin calling a host object back (64 callbacks per call),
//! and returning `&str` from 20,000 distinct strings against returning a
//! `String`. `cd bench && cargo bench --bench rich` prints the medians and
//! ratios; BENCHMARKS.md has a run.

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use abi_stable::library::lib_header_from_path;
use bench_rich_abi_stable_interface::{PersonR, RichBox, RichModRef};
use bench_rich_interface::{NAMES, Person, Rich, RichProxy, Tally, name, person, score};
use bench_runner::plugins::build_packages;
use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use plugin_interface::PluginLibrary;

/// Callbacks per `visit`.
const CALLBACKS: u32 = 64;

/// The trait implemented in the host, called through `&dyn Rich`.
struct HostRich {
    names: Vec<String>,
}

impl Rich for HostRich {
    fn score(&self, person: &Person) -> u64 {
        score(person)
    }

    fn person(&self, i: u32) -> Person {
        person(i)
    }

    fn visit(&self, tally: &dyn Tally, n: u32) -> u64 {
        (0..u64::from(n))
            .map(|k| tally.add(k))
            .fold(0, u64::wrapping_add)
    }

    fn name_of(&self, i: u32) -> &str {
        &self.names[(i % NAMES) as usize]
    }

    fn name_owned(&self, i: u32) -> String {
        self.names[(i % NAMES) as usize].clone()
    }
}

/// The host object plugins call back.
#[derive(Default)]
struct Total(AtomicU64);

impl Tally for Total {
    fn add(&self, x: u64) -> u64 {
        self.0.fetch_add(x, Ordering::Relaxed);
        x + 1
    }
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(50);
}

fn ours(path: &Path) -> RichProxy {
    let library = PluginLibrary::open(path).expect("the rich plugin loads");
    library
        .instantiate::<dyn Rich>()
        .expect("the rich plugin instantiates")
        .pop()
        .expect("one instance")
}

fn abi_stable(path: &Path) -> RichBox {
    let header = lib_header_from_path(path).expect("the abi_stable rich plugin loads");
    let module = header
        .init_root_module::<RichModRef>()
        .expect("the abi_stable layout check passes");
    (module.make())()
}

fn main() {
    let (libraries, _) = build_packages(&[
        ("bench-rich-plugin", "bench_rich_plugin"),
        (
            "bench-rich-abi-stable-plugin",
            "bench_rich_abi_stable_plugin",
        ),
        ("bench-rich-shared-plugin", "bench_rich_shared_plugin"),
    ]);
    let baseline = HostRich {
        names: (0..NAMES).map(name).collect(),
    };
    let ours = ours(&libraries[0]);
    let peer = abi_stable(&libraries[1]);
    let shared = self::ours(&libraries[2]);
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
