//! Loading many distinct libraries at once: the time to load them all, the
//! memory they hold, and the time to close them all.
//!
//! ```sh
//! cargo run --release --example many            # 2,000 libraries, 3 runs of each approach
//! cargo run --release --example many -- 1000 5  # 1,000 libraries, 5 runs
//! ```
//!
//! Each run is its own process, loading `N` fresh copies of ours' plugin
//! file with one approach:
//!
//! - `bare`: `read_dir` + `dlopen` + `dlsym` of the canary per file;
//! - `library`: `load_plugins::<dyn Bench>(dir)` (one proxy per library);
//! - `manager`: `PluginManager::load_plugins::<dyn Bench>(dir)`;
//! - `sealed-bare` and `sealed-manager`: the same file's bytes in `N`
//!   sealed memory files (made before the clock starts), each opened by
//!   its `/proc/self/fd/N` path with `dlopen` + `dlsym`, or with
//!   `PluginManager::load` + `proxy`, which maps such a file as it is
//!   instead of copying it.
//!
//! Memory is read from `/proc/self/status` before and after: resident
//! anonymous memory (the host's heap and the libraries' relocated data),
//! resident file pages (a bare load maps the files themselves), resident
//! pages of in-memory copies, and the growth of the machine's `Shmem`
//! (`/proc/meminfo`): every page of the in-memory copies, mapped or not.
//! The table is printed on stderr, one JSON line per run on stdout.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use bench_ours_interface::Bench;
use bench_runner::fresh::FreshCopies;
use bench_runner::plugins;
use bench_runner::sealed::Sealed;
use plugin_interface::{Image, LoadReport, PluginManager, load_plugins};

const APPROACHES: [&str; 5] = [
    "bare",
    "library",
    "manager",
    "sealed-bare",
    "sealed-manager",
];

/// Kilobytes of the fields of interest, from `/proc/self/status` and
/// `/proc/meminfo`.
#[derive(Debug, Clone, Copy, Default)]
struct Memory {
    anon: i64,
    file: i64,
    shmem_mapped: i64,
    shmem_machine: i64,
}

fn field(text: &str, name: &str) -> i64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} field"))
}

fn memory() -> Memory {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let machine = std::fs::read_to_string("/proc/meminfo").expect("/proc/meminfo");
    Memory {
        anon: field(&status, "RssAnon:"),
        file: field(&status, "RssFile:"),
        shmem_mapped: field(&status, "RssShmem:"),
        shmem_machine: field(&machine, "Shmem:"),
    }
}

/// Loads every library of `dir` with `approach`, keeps them, and closes
/// them; the JSON row of the run.
fn run(approach: &str, dir: &Path, count: usize) -> serde_json::Value {
    let sealed: Vec<Sealed> = if approach.starts_with("sealed-") {
        let first = std::fs::read_dir(dir)
            .expect("read the directory")
            .next()
            .expect("a library in the directory")
            .expect("a directory entry")
            .path();
        (0..count).map(|_| Sealed::new(&first)).collect()
    } else {
        Vec::new()
    };
    let before = memory();
    let start = Instant::now();
    let (after, close) = match approach {
        "bare" => {
            let libraries: Vec<libloading::Library> = std::fs::read_dir(dir)
                .expect("read the directory")
                .map(|entry| bare(&entry.expect("a directory entry").path()))
                .collect();
            let loaded = start.elapsed();
            assert_eq!(libraries.len(), count);
            let after = memory();
            let closing = Instant::now();
            drop(libraries);
            ((loaded, after), closing.elapsed())
        }
        "library" => {
            let report = load_plugins::<dyn Bench>(dir).expect("load the directory");
            let loaded = start.elapsed();
            every_plugin_answers(&report, count);
            let after = memory();
            let closing = Instant::now();
            drop(report);
            ((loaded, after), closing.elapsed())
        }
        "manager" => {
            let manager = PluginManager::new().expect("a manager");
            let report = manager
                .load_plugins::<dyn Bench>(dir)
                .expect("load the directory");
            let loaded = start.elapsed();
            every_plugin_answers(&report, count);
            let after = memory();
            let closing = Instant::now();
            drop(report);
            let reports = manager.close().expect("close the manager");
            assert_eq!(reports.len(), count);
            ((loaded, after), closing.elapsed())
        }
        "sealed-bare" => {
            let libraries: Vec<libloading::Library> =
                sealed.iter().map(|file| bare(file.path())).collect();
            let loaded = start.elapsed();
            let after = memory();
            let closing = Instant::now();
            drop(libraries);
            ((loaded, after), closing.elapsed())
        }
        "sealed-manager" => {
            let manager = PluginManager::new().expect("a manager");
            let proxies: Vec<_> = sealed
                .iter()
                .map(|file| {
                    let handle = manager.load(file.path()).expect("load a sealed file");
                    assert!(
                        matches!(handle.image(), Image::Mapped(_)),
                        "{:?}",
                        handle.image()
                    );
                    manager
                        .proxy::<dyn Bench>(file.path(), "Impl")
                        .expect("a proxy")
                })
                .collect();
            let loaded = start.elapsed();
            assert!(proxies.iter().all(|proxy| proxy.add(2, 3) == 5));
            let after = memory();
            let closing = Instant::now();
            drop(proxies);
            let reports = manager.close().expect("close the manager");
            assert_eq!(reports.len(), count);
            ((loaded, after), closing.elapsed())
        }
        other => panic!("unknown approach {other}"),
    };
    let (loaded, after) = after;
    let per = |kb: i64| kb as f64 * 1024.0 / count as f64;
    serde_json::json!({
        "approach": approach,
        "libraries": count,
        "load_ms": loaded.as_secs_f64() * 1e3,
        "close_ms": close.as_secs_f64() * 1e3,
        "anon_per_library": per(after.anon - before.anon),
        "file_per_library": per(after.file - before.file),
        "shmem_mapped_per_library": per(after.shmem_mapped - before.shmem_mapped),
        "shmem_machine_per_library": per(after.shmem_machine - before.shmem_machine),
        "total_mb": (after.anon - before.anon + after.file - before.file
            + after.shmem_machine - before.shmem_machine) as f64 / 1024.0,
    })
}

/// `dlopen` + `dlsym` of the canary.
fn bare(path: &Path) -> libloading::Library {
    // SAFETY: the benchmark's own plugin; its initialisers are harmless.
    let library = unsafe { libloading::Library::new(path) }.expect("dlopen");
    // SAFETY: looked up as an address only.
    let canary = unsafe { library.get::<*const u8>(b"plugin_canary_v1\0") };
    assert!(canary.is_ok(), "the canary of {path:?}");
    library
}

/// Asserts that `count` libraries loaded, one proxy each, and that every
/// proxy answers: each number is of real, working plugins.
fn every_plugin_answers(report: &LoadReport<dyn Bench>, count: usize) {
    assert_eq!(report.errors().count(), 0, "{:?}", report.errors().next());
    assert_eq!(report.plugins().count(), count);
    assert!(report.plugins().all(|proxy| proxy.add(2, 3) == 5));
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [approach, dir, count] = args.as_slice()
        && APPROACHES.contains(&approach.as_str())
    {
        let row = run(approach, Path::new(dir), count.parse().expect("a count"));
        println!("{row}");
        return;
    }
    let count: usize = args.first().map_or(2000, |n| n.parse().expect("a count"));
    let runs: usize = args
        .get(1)
        .map_or(3, |n| n.parse().expect("a number of runs"));
    let plugins = plugins::build();
    let mut copies = FreshCopies::new(&plugins.target_dir, "many");
    let me = std::env::current_exe().expect("this program's path");
    let mut rows: Vec<(String, Vec<serde_json::Value>)> = APPROACHES
        .iter()
        .map(|approach| ((*approach).to_owned(), Vec::new()))
        .collect();
    // Interleaved, so a machine that slows down slows every approach.
    for _ in 0..runs {
        for (approach, results) in &mut rows {
            let dir: PathBuf = copies.copy_many(&plugins.ours, count);
            let output = Command::new(&me)
                .args([approach.as_str(), dir.to_str().expect("a UTF-8 path")])
                .arg(count.to_string())
                .output()
                .expect("run one approach");
            assert!(
                output.status.success(),
                "{approach}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let line = String::from_utf8(output.stdout).expect("UTF-8");
            println!("{}", line.trim());
            results.push(serde_json::from_str(line.trim()).expect("one JSON row"));
            copies.discard(&dir);
        }
    }
    let value = |row: &serde_json::Value, key: &str| row[key].as_f64().expect("a number");
    let bare_load = median(rows[0].1.iter().map(|row| value(row, "load_ms")).collect());
    eprintln!(
        "{count} libraries, median of {runs} runs (memory per library in KiB; total MiB = anon + file + in-memory copies)"
    );
    eprintln!(
        "| approach | load | ratio to bare | close | anon | file | copies (all) | copies (resident) | total |"
    );
    eprintln!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (approach, results) in &rows {
        let m = |key: &str| median(results.iter().map(|row| value(row, key)).collect());
        eprintln!(
            "| {approach} | {:.0} ms | {:.2}x | {:.0} ms | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} MiB |",
            m("load_ms"),
            m("load_ms") / bare_load,
            m("close_ms"),
            m("anon_per_library") / 1024.0,
            m("file_per_library") / 1024.0,
            m("shmem_machine_per_library") / 1024.0,
            m("shmem_mapped_per_library") / 1024.0,
            m("total_mb"),
        );
    }
}
