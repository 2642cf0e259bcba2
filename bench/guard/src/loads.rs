//! Loads: a checked load of a fresh copy of a plugin library, against a
//! bare `dlopen` + `dlsym` of another fresh copy; and the same for sealed
//! memory files, which the framework maps without copying.

use std::path::{Path, PathBuf};

use bench_ours_interface::{Bench, BenchProxy};
use bench_runner::fresh::FreshCopies;
use bench_runner::sealed::Sealed;
use libloading::Library;
use plugin_interface::{Image, PluginLibrary, PluginManager};

use crate::measure::batch_ratio;

/// Loads per timed batch.
const LOADS: usize = 8;

/// `(case, measured ratio)` for every load the guard checks.
pub fn ratios(bench: &Path, target_dir: &Path) -> Vec<(&'static str, f64)> {
    let mut copies = FreshCopies::new(target_dir, "guard");
    let mut fresh = || -> Vec<PathBuf> { (0..LOADS).map(|_| copies.copy(bench)).collect() };
    let open = batch_ratio(&mut fresh, bare, |paths| open_all(&paths));
    let manager = batch_ratio(&mut fresh, bare, |paths| manage_all(&paths));
    let mut sealed = || -> Vec<Sealed> { (0..LOADS).map(|_| Sealed::new(bench)).collect() };
    let open_sealed = batch_ratio(&mut sealed, bare, |files| {
        let opened = open_all(&files);
        for (_, library) in &opened {
            mapped_as_it_is(library.image());
        }
        (opened, files)
    });
    let manager_sealed = batch_ratio(&mut sealed, bare, |files| {
        let managed = manage_all(&files);
        for file in &files {
            let handle = managed.1.handle(file).expect("loaded");
            mapped_as_it_is(handle.image());
        }
        (managed, files)
    });
    vec![
        ("PluginLibrary::open + instantiate", open),
        ("PluginManager::load + proxy", manager),
        ("sealed: PluginLibrary::open + instantiate", open_sealed),
        ("sealed: PluginManager::load + proxy", manager_sealed),
    ]
}

/// Asserts that a sealed memory file was loaded without a copy: the
/// sealed rows measure that path.
fn mapped_as_it_is(image: Image) {
    assert!(
        matches!(image, Image::Mapped(_)),
        "a sealed memory file was not mapped as it is: {image:?}"
    );
}

/// `PluginLibrary::open` + `instantiate` of every file.
fn open_all(files: &[impl AsRef<Path>]) -> Vec<(Vec<BenchProxy>, PluginLibrary)> {
    files
        .iter()
        .map(|file| {
            let library =
                PluginLibrary::open(file.as_ref()).unwrap_or_else(|error| panic!("{error}"));
            let proxies = library
                .instantiate::<dyn Bench>()
                .unwrap_or_else(|error| panic!("{error}"));
            (proxies, library)
        })
        .collect()
}

/// `PluginManager::load` + `proxy` of every file, in one new manager.
fn manage_all(files: &[impl AsRef<Path>]) -> (Vec<BenchProxy>, PluginManager) {
    let manager = PluginManager::new().unwrap_or_else(|error| panic!("{error}"));
    let proxies = files
        .iter()
        .map(|file| {
            manager
                .load(file.as_ref())
                .unwrap_or_else(|error| panic!("{error}"));
            manager
                .proxy::<dyn Bench>(file.as_ref(), "Impl")
                .unwrap_or_else(|error| panic!("{error}"))
        })
        .collect::<Vec<_>>();
    (proxies, manager)
}

/// `dlopen` + `dlsym` of the canary, each library kept until the batch's
/// results are dropped.
fn bare(files: Vec<impl AsRef<Path>>) -> (Vec<(Library, usize)>, Vec<impl AsRef<Path>>) {
    let libraries = files
        .iter()
        .map(|file| {
            // SAFETY: the benchmark's own plugin, whose initialisers are
            // harmless.
            let library = unsafe { Library::new(file.as_ref()) }.expect("dlopen");
            // SAFETY: looked up as an address only, never dereferenced.
            let address = unsafe { library.get::<*const u8>(b"plugin_canary_v1\0") }
                .map(|symbol| *symbol as usize)
                .expect("dlsym");
            (library, address)
        })
        .collect();
    (libraries, files)
}
