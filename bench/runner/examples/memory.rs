//! Host-side memory per loaded plugin, beyond the mapped image.
//!
//! For each approach, loads 100 fresh copies of its library and keeps them
//! all loaded, then reports per plugin:
//!
//! - Rust-heap allocations, bytes allocated and bytes still held by the
//!   host's Rust code (a counting `#[global_allocator]` in this program; a
//!   plugin's own allocations go through its own copy of the Rust
//!   allocator shims and are not seen here);
//! - `malloc` bytes held by the whole process (glibc `mallinfo2`): the
//!   host's heap, the dynamic loader's bookkeeping (`link_map`, scopes,
//!   TLS descriptors) and the plugins' own heap allocations (instances).
//!
//! Run by `cargo bench`; alone: `cargo run --release --example memory`.
//! Prints a table on stderr and one JSON line on stdout.

#[allow(dead_code)]
#[path = "../benches/suite/approaches.rs"]
mod approaches;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use bench_runner::fresh::FreshCopies;
use bench_runner::plugins;

use approaches::{
    A, B, CANARY_SYMBOL, CAbi, Stabby, load_abi_stable, load_bare, load_ours, load_plugins_ours,
};
use bench_ours_interface::Bench;
use bench_stabby_interface::BenchStabbyDyn;

/// Counts every allocation of this program's Rust code.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to `System` unchanged; the counters are
// atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        ALLOCATED.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        FREED.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        ALLOCATED.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        ALLOCATED.fetch_add(new_size as u64, Relaxed);
        FREED.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: forwarded from the caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Plugins loaded at once per approach.
const PLUGINS: usize = 100;

#[derive(Debug, Clone, Copy)]
struct Snapshot {
    allocations: u64,
    allocated: u64,
    freed: u64,
    malloc_in_use: u64,
}

fn snapshot() -> Snapshot {
    // SAFETY: `mallinfo2` only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    Snapshot {
        allocations: ALLOCATIONS.load(Relaxed),
        allocated: ALLOCATED.load(Relaxed),
        freed: FREED.load(Relaxed),
        malloc_in_use: info.uordblks as u64 + info.hblkhd as u64,
    }
}

/// Loads `PLUGINS` fresh copies of `file` with `load`, all kept loaded, and
/// returns the per-plugin row.
fn measure<L>(
    label: &str,
    copies: &mut FreshCopies,
    file: &Path,
    load: impl Fn(&Path) -> L,
    check: impl Fn(&L),
) -> serde_json::Value {
    // One load first, so one-time set-up (lazy statics, the loader's first
    // `dlerror` buffer, abi_stable's globals) is not charged per plugin.
    let warm = copies.copy(file);
    drop(load(&warm));
    let paths: Vec<PathBuf> = (0..PLUGINS).map(|_| copies.copy(file)).collect();
    let mut loaded: Vec<L> = Vec::with_capacity(PLUGINS);
    let before = snapshot();
    for path in &paths {
        loaded.push(load(path));
    }
    let after = snapshot();
    loaded.iter().for_each(&check);
    let per = |value: u64| value as f64 / PLUGINS as f64;
    let row = serde_json::json!({
        "label": label,
        "allocations": per(after.allocations - before.allocations),
        "bytes_allocated": per(after.allocated - before.allocated),
        "bytes_kept": (after.allocated as f64 - after.freed as f64
            - (before.allocated as f64 - before.freed as f64)) / PLUGINS as f64,
        "malloc_kept": (after.malloc_in_use as f64 - before.malloc_in_use as f64) / PLUGINS as f64,
    });
    drop(loaded);
    row
}

fn main() {
    let plugins = plugins::build();
    let mut copies = FreshCopies::new(&plugins.target_dir, "memory");
    let bare_check = |(_, address): &(libloading::Library, usize)| assert_ne!(*address, 0);
    let ours_check = |proxy: &bench_ours_interface::BenchProxy| assert_eq!(proxy.add(A, B), A + B);
    let rows = vec![
        measure(
            "bare `dlopen`+`dlsym` (ours' file)",
            &mut copies,
            &plugins.ours,
            |p| load_bare(p, CANARY_SYMBOL),
            bare_check,
        ),
        measure(
            "ours: `PluginLibrary::open`",
            &mut copies,
            &plugins.ours,
            |p| plugin_interface::PluginLibrary::open(p).expect("open"),
            |library| assert!(library.canary().trait_info("Bench").is_some()),
        ),
        measure(
            "ours: `open` + `instantiate` (one proxy)",
            &mut copies,
            &plugins.ours,
            load_ours,
            ours_check,
        ),
        measure(
            "ours: `load_plugins(file)` (one proxy)",
            &mut copies,
            &plugins.ours,
            load_plugins_ours,
            ours_check,
        ),
        measure(
            "C ABI: `dlopen`+`dlsym`+make",
            &mut copies,
            &plugins.c_abi,
            CAbi::load,
            |plugin| assert_eq!(plugin.add(A, B), A + B),
        ),
        measure(
            "stabby: `dlopen`+`get_stabbied`+make",
            &mut copies,
            &plugins.stabby,
            Stabby::load,
            |plugin| assert_eq!(plugin.object.add(A, B), A + B),
        ),
        // Last: abi_stable leaks every library it loads.
        measure(
            "abi_stable: header + `init_root_module` + make",
            &mut copies,
            &plugins.abi_stable,
            load_abi_stable,
            |plugin| assert_eq!(plugin.add(A, B), A + B),
        ),
    ];
    eprintln!("host-side memory per loaded plugin ({PLUGINS} loaded at once):");
    eprintln!(
        "{:<50} {:>8} {:>10} {:>10} {:>12}",
        "approach", "allocs", "allocated", "kept", "malloc kept"
    );
    for row in &rows {
        eprintln!(
            "{:<50} {:>8.1} {:>10.0} {:>10.0} {:>12.0}",
            row["label"].as_str().unwrap_or_default(),
            row["allocations"].as_f64().unwrap_or_default(),
            row["bytes_allocated"].as_f64().unwrap_or_default(),
            row["bytes_kept"].as_f64().unwrap_or_default(),
            row["malloc_kept"].as_f64().unwrap_or_default(),
        );
    }
    let json = serde_json::json!({ "plugins": PLUGINS, "rows": rows });
    println!("{json}");
}
