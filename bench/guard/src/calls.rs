//! Calls: each method through the framework's proxies, against the same
//! method implemented in the host and called through `&dyn`.

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use bench_ours_interface::{Bench, BenchProxy};
use bench_rich_interface::{Person, Rich, RichProxy, Tally, person, score};
use plugin_interface::{PluginLibrary, PluginManager};

use crate::measure::call_ratio;

/// `Bench`, implemented in the host.
struct InProcess;

impl Bench for InProcess {
    fn add(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    fn greet(&self, name: &str) -> String {
        format!("Hello, {name}!")
    }

    fn sum(&self, xs: &[u64]) -> u64 {
        xs.iter().copied().fold(0, u64::wrapping_add)
    }
}

/// `Rich`, implemented in the host (the methods the guard calls).
struct RichInProcess;

impl Rich for RichInProcess {
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

    fn name_of(&self, _: u32) -> &str {
        "name"
    }

    fn name_owned(&self, _: u32) -> String {
        "name".to_owned()
    }
}

/// The host object the `visit` calls lend: a running total.
#[derive(Default)]
struct Count(AtomicU64);

impl Tally for Count {
    fn add(&self, x: u64) -> u64 {
        self.0.fetch_add(x, Ordering::Relaxed);
        x + 1
    }
}

/// `(case, measured ratio)` for every call the guard checks.
pub fn ratios(bench: &Path, rich: &Path) -> Vec<(&'static str, f64)> {
    let library = PluginLibrary::open(bench).unwrap_or_else(|error| panic!("{error}"));
    let direct: BenchProxy = library
        .instantiate::<dyn Bench>()
        .unwrap_or_else(|error| panic!("{error}"))
        .pop()
        .expect("one Bench implementation");
    let manager = PluginManager::new().unwrap_or_else(|error| panic!("{error}"));
    manager
        .load(bench)
        .unwrap_or_else(|error| panic!("{error}"));
    let managed: BenchProxy = manager
        .proxy::<dyn Bench>(bench, "Impl")
        .unwrap_or_else(|error| panic!("{error}"));
    let rich_library = PluginLibrary::open(rich).unwrap_or_else(|error| panic!("{error}"));
    let rich_proxy: RichProxy = rich_library
        .instantiate::<dyn Rich>()
        .unwrap_or_else(|error| panic!("{error}"))
        .pop()
        .expect("one Rich implementation");

    let host: &dyn Bench = &InProcess;
    let host = black_box(host);
    let xs: Vec<u64> = (0..64).collect();
    let xs = xs.as_slice();
    let mut found = Vec::new();
    let kinds = [
        (["add, direct", "greet, direct", "sum, direct"], &direct),
        (["add, manager", "greet, manager", "sum, manager"], &managed),
    ];
    for ([add, greet, sum], ours) in kinds {
        let ours: &dyn Bench = ours;
        let ours = black_box(ours);
        found.push((
            add,
            call_ratio(
                |n| repeat(n, || host.add(black_box(3), black_box(4))),
                |n| repeat(n, || ours.add(black_box(3), black_box(4))),
            ),
        ));
        found.push((
            greet,
            call_ratio(
                |n| repeat(n, || host.greet(black_box("world"))),
                |n| repeat(n, || ours.greet(black_box("world"))),
            ),
        ));
        found.push((
            sum,
            call_ratio(
                |n| repeat(n, || host.sum(black_box(xs))),
                |n| repeat(n, || ours.sum(black_box(xs))),
            ),
        ));
    }

    let host: &dyn Rich = &RichInProcess;
    let host = black_box(host);
    let ours: &dyn Rich = &rich_proxy;
    let ours = black_box(ours);
    let tally = Count::default();
    let alice = person(7);
    found.push((
        "score(&Person)",
        call_ratio(
            |n| repeat(n, || host.score(black_box(&alice))),
            |n| repeat(n, || ours.score(black_box(&alice))),
        ),
    ));
    found.push((
        "person() -> Person",
        call_ratio(
            |n| repeat(n, || host.person(black_box(7))),
            |n| repeat(n, || ours.person(black_box(7))),
        ),
    ));
    found.push((
        "visit(&dyn Tally, 64)",
        call_ratio(
            |n| repeat(n, || host.visit(black_box(&tally), 64)),
            |n| repeat(n, || ours.visit(black_box(&tally), 64)),
        ),
    ));
    drop(managed);
    drop(manager);
    found
}

/// Calls `f` `n` times, keeping each result alive until the next call.
#[inline(always)]
fn repeat<T>(n: u64, mut f: impl FnMut() -> T) {
    for _ in 0..n {
        black_box(f());
    }
}
