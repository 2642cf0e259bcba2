//! Load cost. Every load maps a fresh copy of the library file, made at a
//! path never used before and outside the timed span, so the dynamic
//! loader cannot hand back a handle it already has. Only the load is
//! timed: the copy, the checks of the result, dropping it (`dlclose`) and
//! removing the copy are not.

use std::fs;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use bench_c_abi_interface::MAKE_SYMBOL as C_MAKE_SYMBOL;
use bench_ours_interface::{Bench, BenchProxy};
use bench_runner::fresh::FreshCopies;
use bench_runner::plugins::Plugins;
use bench_stabby_interface::BenchStabbyDyn;
use criterion::measurement::WallTime;
use criterion::{Bencher, Criterion, SamplingMode};
use libloading::Library;
use plugin_interface::load_plugins;

use crate::approaches::{
    A, B, CANARY_SYMBOL, CAbi, Stabby, load_abi_stable, load_bare, load_ours, load_plugins_ours,
};

/// The abi_stable root module's symbol, for the bare load of its file.
const ABI_STABLE_SYMBOL: &[u8] = abi_stable::library::ROOT_MODULE_LOADER_NAME_WITH_NUL.as_bytes();
/// The stabby maker's checked symbol, for the bare load of its file.
const STABBY_SYMBOL: &[u8] = b"stabby_bench_make_stabbied_v3\0";

/// Number of files of the many-files benchmark.
pub const MANY: usize = 1000;

/// Times `load` of a fresh copy of `file`, `iters` times; `check` asserts
/// on each result outside the timed span.
fn fresh_loads<L>(
    b: &mut Bencher<'_, WallTime>,
    copies: &mut FreshCopies,
    file: &Path,
    load: impl Fn(&Path) -> L,
    check: impl Fn(&L),
) {
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let path = copies.copy(file);
            let start = Instant::now();
            let loaded = black_box(load(black_box(&path)));
            total += start.elapsed();
            check(&loaded);
            drop(loaded);
            copies.discard(&path);
        }
        total
    });
}

pub fn bench(c: &mut Criterion, plugins: &Plugins) {
    let mut copies = FreshCopies::new(&plugins.target_dir, "loads");
    one(c, plugins, &mut copies);
    many(c, plugins, &mut copies);
}

fn one(c: &mut Criterion, plugins: &Plugins, copies: &mut FreshCopies) {
    let mut group = c.benchmark_group("load");
    group
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(20))
        .measurement_time(Duration::from_millis(150))
        .sample_size(30)
        .nresamples(20_000);
    let bare_check = |(_, address): &(Library, usize)| assert_ne!(*address, 0);
    let ours_check = |proxy: &BenchProxy| assert_eq!(proxy.add(A, B), A + B);

    group.bench_function("ours_bare", |b| {
        fresh_loads(
            b,
            copies,
            &plugins.ours,
            |p| load_bare(p, CANARY_SYMBOL),
            bare_check,
        )
    });
    group.bench_function("ours_open", |b| {
        fresh_loads(
            b,
            copies,
            &plugins.ours,
            |p| plugin_interface::PluginLibrary::open(p).expect("open"),
            |library| assert!(library.canary().trait_info("Bench").is_some()),
        )
    });
    group.bench_function("ours_open_instantiate", |b| {
        fresh_loads(b, copies, &plugins.ours, load_ours, ours_check)
    });
    group.bench_function("ours_load_plugins", |b| {
        fresh_loads(b, copies, &plugins.ours, load_plugins_ours, ours_check)
    });

    group.bench_function("c_abi_bare", |b| {
        fresh_loads(
            b,
            copies,
            &plugins.c_abi,
            |p| load_bare(p, C_MAKE_SYMBOL),
            bare_check,
        )
    });
    group.bench_function("c_abi", |b| {
        fresh_loads(b, copies, &plugins.c_abi, CAbi::load, |plugin| {
            assert_eq!(plugin.add(A, B), A + B)
        })
    });

    group.bench_function("stabby_bare", |b| {
        fresh_loads(
            b,
            copies,
            &plugins.stabby,
            |p| load_bare(p, STABBY_SYMBOL),
            bare_check,
        )
    });
    group.bench_function("stabby", |b| {
        fresh_loads(b, copies, &plugins.stabby, Stabby::load, |plugin| {
            assert_eq!(plugin.object.add(A, B), A + B)
        })
    });

    group.bench_function("abi_stable_bare", |b| {
        fresh_loads(
            b,
            copies,
            &plugins.abi_stable,
            |p| load_bare(p, ABI_STABLE_SYMBOL),
            bare_check,
        )
    });
    // abi_stable never unloads: every load here leaks one library, and each
    // library the process holds makes every later `dlopen` a little slower.
    // So this runs last, with few iterations.
    group
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(10))
        .sample_size(10);
    group.bench_function("abi_stable", |b| {
        fresh_loads(b, copies, &plugins.abi_stable, load_abi_stable, |plugin| {
            assert_eq!(plugin.add(A, B), A + B)
        })
    });
    group.finish();
}

fn many(c: &mut Criterion, plugins: &Plugins, copies: &mut FreshCopies) {
    let mut group = c.benchmark_group("load_1000");
    // One iteration per sample: each one copies 1,000 files first.
    group
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(1))
        .sample_size(10)
        .nresamples(20_000);

    group.bench_function("bare_loop", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = copies.copy_many(&plugins.ours, MANY);
                let start = Instant::now();
                let libraries: Vec<(Library, usize)> = fs::read_dir(&dir)
                    .expect("read the directory")
                    .map(|entry| entry.expect("a directory entry").path())
                    .filter(|path| {
                        path.extension()
                            .is_some_and(|extension| extension == std::env::consts::DLL_EXTENSION)
                    })
                    .map(|path| load_bare(&path, CANARY_SYMBOL))
                    .collect();
                total += start.elapsed();
                assert_eq!(libraries.len(), MANY);
                drop(libraries);
                copies.discard(&dir);
            }
            total
        })
    });
    group.bench_function("ours_load_plugins", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = copies.copy_many(&plugins.ours, MANY);
                let start = Instant::now();
                let report = load_plugins::<dyn Bench>(&dir).expect("load the directory");
                total += start.elapsed();
                assert_eq!(report.errors().count(), 0);
                assert_eq!(report.plugins().count(), MANY);
                assert!(report.plugins().all(|proxy| proxy.add(A, B) == A + B));
                drop(report);
                copies.discard(&dir);
            }
            total
        })
    });
    group.finish();
}
