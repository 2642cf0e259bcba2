//! 500 cycles of load, call, reload and unload through one manager leave
//! nothing behind: no mapped in-memory copies, no file
//! descriptors. Run with `--nocapture` to see the figures.

use std::time::Instant;

use lifecycle_interface::Versioned;
use plugin_interface::{PluginManager, ReloadOutcome, UnloadOutcome};
use plugin_tests::lifecycle::{mapped_copies, open_fds, replace_with_link};
use plugin_tests::plugins;

const CYCLES: u32 = 500;
/// Cycles after which the allocator has reached its working size: reading
/// a multi-megabyte library to hash and copy it raises the high-water mark
/// once.
const WARM_UP: u32 = 50;

#[test]
fn five_hundred_reload_cycles_leak_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Both versions staged beside the watched file, so each replacement is
    // a hard link and a rename rather than a copy.
    let staged = [
        plugins().copy_to("lifecycle-v1", dir.path(), "staged-v1"),
        plugins().copy_to("lifecycle-v2", dir.path(), "staged-v2"),
    ];
    let path = dir.path().join("lifecycle.so");
    let fds_before = open_fds();
    let mut rss_warm = 0;

    let manager = PluginManager::new().unwrap();
    let started = Instant::now();
    for cycle in 0..CYCLES {
        if cycle == WARM_UP {
            rss_warm = resident_kib();
        }
        let (first, second) = if cycle % 2 == 0 { (1, 2) } else { (2, 1) };
        replace_with_link(&path, &staged[first - 1]);
        manager.load(&path).unwrap();
        let proxy = manager.proxy::<dyn Versioned>(&path, "Probe").unwrap();
        assert_eq!(proxy.version(), first as u32, "cycle {cycle}");

        replace_with_link(&path, &staged[second - 1]);
        match manager.reload(&path).unwrap() {
            ReloadOutcome::Reloaded { generation } => assert_eq!(generation, 2, "cycle {cycle}"),
            ReloadOutcome::Unchanged => panic!("cycle {cycle}: the reload saw no change"),
        }
        assert_eq!(proxy.version(), second as u32, "cycle {cycle}");

        drop(proxy);
        let report = manager.unload_by_path(&path).unwrap();
        assert!(
            matches!(report.outcome, UnloadOutcome::Unloaded),
            "cycle {cycle}: {report:?}"
        );
    }
    let elapsed = started.elapsed();

    drop(manager);
    let mapped = mapped_copies();
    let fds_after = open_fds();
    let rss_after = resident_kib();
    println!(
        "soak: {CYCLES} cycles in {elapsed:.2?}; in-memory copies mapped: {}; \
         open fds before {fds_before}, after {fds_after}; \
         resident memory after {WARM_UP} cycles {rss_warm} KiB, at the end {rss_after} KiB",
        mapped.len(),
    );
    // 450 more cycles leave the resident set where it was: a leaked image,
    // instance or copy buffer per cycle would add megabytes.
    assert!(
        rss_after <= rss_warm + 4 * 1024,
        "resident memory grew from {rss_warm} KiB to {rss_after} KiB"
    );
    assert!(mapped.is_empty(), "copies still mapped: {mapped:?}");
    assert!(
        fds_after <= fds_before + 2,
        "open file descriptors grew from {fds_before} to {fds_after}"
    );
}

/// The process's resident set, from `/proc/self/status`.
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}
