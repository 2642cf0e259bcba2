//! Calls one method of one approach `N` times and nothing else, so that
//! instruction counts per call can be read off two runs:
//!
//! ```sh
//! valgrind --tool=callgrind target/release/examples/probe ours add 100000
//! valgrind --tool=callgrind target/release/examples/probe ours add 200000
//! # (Ir of the second - Ir of the first) / 100000 = instructions per call
//! ```
//!
//! Approaches: `baseline`, `c_abi`, `c_abi_string`, `abi_stable`,
//! `abi_stable_string` (`greet` only), `stabby`,
//! `ours`, `ours_try`, `ours_manager` (a proxy from a `PluginManager`),
//! `ours_inline_slot`, `ours_shared` and `ours_shared_manager` (the plugin
//! built with `allocator = host`); methods: `add`, `greet`, `sum`. Or `load`
//! and one of `bare`, `open`, `open_instantiate`, `load_plugins`: `N`
//! loads of fresh copies of ours' library (the copies are made first, but
//! are counted too; they cost the same in every mode).

#[allow(dead_code)]
#[path = "../benches/suite/approaches.rs"]
mod approaches;

use std::hint::black_box;

use abi_stable::std_types::{RSlice, RStr};
use approaches::{A, B, HostBench, Loaded, NAME, xs};
use bench_ours_interface::Bench;
use bench_stabby_interface::BenchStabbyDyn;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [approach, method, n] = args.as_slice() else {
        eprintln!("usage: probe <approach> <add|greet|sum> <calls>");
        std::process::exit(2);
    };
    let n: u64 = n.parse().expect("a number of calls");
    let plugins = bench_runner::plugins::build();
    if approach == "load" {
        load(&plugins, method, n);
        return;
    }
    let loaded = Loaded::load(&plugins);
    let xs = xs();
    let xs = xs.as_slice();
    let baseline: &dyn HostBench = black_box(&loaded.baseline);
    let c_abi = black_box(&loaded.c_abi);
    let abi_stable = black_box(&loaded.abi_stable);
    let stabby = black_box(&loaded.stabby.object);
    let ours = black_box(&loaded.ours);
    let manager = black_box(&loaded.ours_manager);
    let proto = black_box(&loaded.ours_inline_slot);
    let shared = black_box(&loaded.ours_shared);
    let shared_manager = black_box(&loaded.ours_shared_manager);
    macro_rules! run {
        ($call:expr) => {
            for _ in 0..n {
                black_box($call);
            }
        };
    }
    match (approach.as_str(), method.as_str()) {
        ("baseline", "add") => run!(baseline.add(black_box(A), black_box(B))),
        ("baseline", "greet") => run!(baseline.greet(black_box(NAME))),
        ("baseline", "sum") => run!(baseline.sum(black_box(xs))),
        ("c_abi", "add") => run!(c_abi.add(black_box(A), black_box(B))),
        ("c_abi", "greet") => run!(c_abi.greet(black_box(NAME))),
        ("c_abi_string", "greet") => run!(c_abi.greet_string(black_box(NAME))),
        ("c_abi", "sum") => run!(c_abi.sum(black_box(xs))),
        ("abi_stable", "add") => run!(abi_stable.add(black_box(A), black_box(B))),
        ("abi_stable", "greet") => run!(abi_stable.greet(RStr::from(black_box(NAME)))),
        ("abi_stable_string", "greet") => {
            run!(abi_stable.greet(RStr::from(black_box(NAME))).into_string())
        }
        ("abi_stable", "sum") => run!(abi_stable.sum(RSlice::from_slice(black_box(xs)))),
        ("stabby", "add") => run!(stabby.add(black_box(A), black_box(B))),
        ("stabby", "greet") => run!(stabby.greet(black_box(NAME).into())),
        ("stabby", "sum") => run!(stabby.sum(black_box(xs).into())),
        ("ours", "add") => run!(ours.add(black_box(A), black_box(B))),
        ("ours", "greet") => run!(ours.greet(black_box(NAME))),
        ("ours", "sum") => run!(ours.sum(black_box(xs))),
        ("ours_try", "add") => run!(ours.try_add(black_box(A), black_box(B)).expect("add")),
        ("ours_try", "greet") => run!(ours.try_greet(black_box(NAME)).expect("greet")),
        ("ours_try", "sum") => run!(ours.try_sum(black_box(xs)).expect("sum")),
        ("ours_manager", "add") => run!(manager.add(black_box(A), black_box(B))),
        ("ours_manager", "greet") => run!(manager.greet(black_box(NAME))),
        ("ours_manager", "sum") => run!(manager.sum(black_box(xs))),
        ("ours_inline_slot", "add") => run!(proto.add(black_box(A), black_box(B))),
        ("ours_inline_slot", "greet") => run!(proto.greet(black_box(NAME))),
        ("ours_inline_slot", "sum") => run!(proto.sum(black_box(xs))),
        ("ours_shared", "add") => run!(shared.add(black_box(A), black_box(B))),
        ("ours_shared", "greet") => run!(shared.greet(black_box(NAME))),
        ("ours_shared", "sum") => run!(shared.sum(black_box(xs))),
        ("ours_shared_manager", "add") => run!(shared_manager.add(black_box(A), black_box(B))),
        ("ours_shared_manager", "greet") => run!(shared_manager.greet(black_box(NAME))),
        ("ours_shared_manager", "sum") => run!(shared_manager.sum(black_box(xs))),
        _ => {
            eprintln!("unknown approach or method: {approach} {method}");
            std::process::exit(2);
        }
    }
}

/// `n` loads of fresh copies of ours' library, all kept loaded.
fn load(plugins: &bench_runner::plugins::Plugins, mode: &str, n: u64) {
    let mut copies = bench_runner::fresh::FreshCopies::new(&plugins.target_dir, "probe");
    let paths: Vec<_> = (0..n).map(|_| copies.copy(&plugins.ours)).collect();
    let mut kept: Vec<Box<dyn std::any::Any>> = Vec::new();
    for path in &paths {
        kept.push(match mode {
            "bare" => Box::new(approaches::load_bare(path, approaches::CANARY_SYMBOL)),
            "open" => Box::new(plugin_interface::PluginLibrary::open(path).expect("open")),
            "open_instantiate" => Box::new(approaches::load_ours(path)),
            "load_plugins" => Box::new(approaches::load_plugins_ours(path)),
            _ => {
                eprintln!("unknown load mode: {mode}");
                std::process::exit(2);
            }
        });
    }
    black_box(&kept);
}
