//! Loads: a checked load of a fresh copy of a plugin library, against a
//! bare `dlopen` + `dlsym` of another fresh copy.

use std::path::{Path, PathBuf};

use bench_ours_interface::{Bench, BenchProxy};
use bench_runner::fresh::FreshCopies;
use libloading::Library;
use plugin_interface::{PluginLibrary, PluginManager};

use crate::measure::batch_ratio;

/// Loads per timed batch.
const LOADS: usize = 8;

/// `(case, measured ratio)` for every load the guard checks.
pub fn ratios(bench: &Path, target_dir: &Path) -> Vec<(&'static str, f64)> {
    let mut copies = FreshCopies::new(target_dir, "guard");
    let mut fresh = || -> Vec<PathBuf> { (0..LOADS).map(|_| copies.copy(bench)).collect() };
    let open = batch_ratio(&mut fresh, bare, |paths| {
        paths
            .iter()
            .map(|path| {
                let library = PluginLibrary::open(path).unwrap_or_else(|error| panic!("{error}"));
                let proxies: Vec<BenchProxy> = library
                    .instantiate::<dyn Bench>()
                    .unwrap_or_else(|error| panic!("{error}"));
                (proxies, library)
            })
            .collect::<Vec<_>>()
    });
    let manager = batch_ratio(&mut fresh, bare, |paths| {
        let manager = PluginManager::new().unwrap_or_else(|error| panic!("{error}"));
        let proxies = paths
            .iter()
            .map(|path| {
                manager.load(path).unwrap_or_else(|error| panic!("{error}"));
                manager
                    .proxy::<dyn Bench>(path, "Impl")
                    .unwrap_or_else(|error| panic!("{error}"))
            })
            .collect::<Vec<_>>();
        (proxies, manager)
    });
    vec![
        ("PluginLibrary::open + instantiate", open),
        ("PluginManager::load + proxy", manager),
    ]
}

/// `dlopen` + `dlsym` of the canary, each library kept until the batch's
/// results are dropped.
fn bare(paths: Vec<PathBuf>) -> Vec<(Library, usize)> {
    paths
        .iter()
        .map(|path| {
            // SAFETY: the benchmark's own plugin, whose initialisers are
            // harmless.
            let library = unsafe { Library::new(path) }.expect("dlopen");
            // SAFETY: looked up as an address only, never dereferenced.
            let address = unsafe { library.get::<*const u8>(b"plugin_canary_v1\0") }
                .map(|symbol| *symbol as usize)
                .expect("dlsym");
            (library, address)
        })
        .collect()
}
