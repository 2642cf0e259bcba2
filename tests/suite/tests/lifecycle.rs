//! Two-phase unload through `PluginManager`: proxies kept past an unload
//! refuse new calls, calls in flight finish first (or the unload gives up
//! with `Busy` and the plugin stays), the report counts every unmade
//! instance and says whether the library really left the process, and a
//! manager unmaps its in-memory copies.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lifecycle_interface::{Counter, Versioned};
use plugin_interface::{CallError, ManagerOptions, PluginError, PluginManager, UnloadOutcome};
use plugin_tests::in_child_process;
use plugin_tests::lifecycle::{mapped_copies, watched};

/// Starts `proxy.try_slow(millis)` on another thread; returns once the
/// thread is about to call, with the instant it did and its handle.
fn call_slowly(
    proxy: &lifecycle_interface::VersionedProxy,
    millis: u64,
) -> (Instant, std::thread::JoinHandle<Result<u32, CallError>>) {
    let proxy = proxy.clone();
    let (started, start) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        started.send(Instant::now()).unwrap();
        proxy.try_slow(millis)
    });
    let at = start.recv().unwrap();
    // Give the thread time to enter the plugin before the caller unloads.
    std::thread::sleep(Duration::from_millis(100));
    (at, thread)
}

#[test]
fn a_kept_proxy_refuses_calls_after_unload() {
    let dir = tempfile::tempdir().unwrap();
    let path = watched("lifecycle-v1", dir.path());
    let manager = PluginManager::new().unwrap();
    manager.load(&path).unwrap();
    let proxy = manager.proxy::<dyn Versioned>(&path, "Probe").unwrap();
    let kept = proxy.clone();
    drop(proxy);
    assert_eq!(kept.try_version().unwrap(), 1);

    manager.unload_by_path(&path).unwrap();
    match kept.try_version() {
        Err(CallError::Unloaded {
            trait_name, method, ..
        }) => {
            assert_eq!(trait_name, "Versioned");
            assert_eq!(method, "version");
        }
        other => panic!("expected Unloaded, got {other:?}"),
    }
    assert!(manager.handle(&path).is_none());
    assert!(matches!(
        manager.unload_by_path(&path),
        Err(PluginError::NotLoaded { .. })
    ));
}

/// The thread of [`call_slowly`] gives the thread 100 ms to enter the
/// plugin; on a loaded machine it may not have. A call that was refused
/// with `Unloaded` never got in flight: the scenario is run again.
const ATTEMPTS: u32 = 5;

fn never_in_flight(result: &Result<u32, CallError>) -> bool {
    matches!(result, Err(CallError::Unloaded { .. }))
}

#[test]
fn an_unload_waits_for_the_call_in_flight() {
    for attempt in 1..=ATTEMPTS {
        let dir = tempfile::tempdir().unwrap();
        let path = watched("lifecycle-v1", dir.path());
        let manager = PluginManager::new().unwrap();
        manager.load(&path).unwrap();
        let proxy = manager.proxy::<dyn Versioned>(&path, "Probe").unwrap();

        let (started, call) = call_slowly(&proxy, 500);
        let report = manager.unload_by_path(&path).unwrap();
        let unloaded_after = started.elapsed();
        let result = call.join().unwrap();
        if never_in_flight(&result) {
            eprintln!("attempt {attempt}: the call had not started before the unload");
            continue;
        }
        assert_eq!(result.unwrap(), 1, "the call completed");
        // The plugin sleeps at least 500 ms, so an unload that waited for
        // the call cannot return sooner (a lower bound, not a measurement).
        assert!(
            unloaded_after >= Duration::from_millis(500),
            "the unload returned after {unloaded_after:?}, while the call was in flight"
        );
        assert_eq!(report.counter("Versioned"), Some(1));
        assert!(matches!(
            proxy.try_version(),
            Err(CallError::Unloaded { .. })
        ));
        return;
    }
    panic!("in {ATTEMPTS} attempts the slow call never got in flight before the unload");
}

#[test]
fn a_drain_timeout_gives_busy_and_keeps_the_plugin() {
    for attempt in 1..=ATTEMPTS {
        let dir = tempfile::tempdir().unwrap();
        let path = watched("lifecycle-v1", dir.path());
        let options = ManagerOptions::default().drain_timeout(Duration::from_millis(10));
        let manager = PluginManager::with_options(options).unwrap();
        manager.load(&path).unwrap();
        let proxy = manager.proxy::<dyn Versioned>(&path, "Probe").unwrap();

        let (_, call) = call_slowly(&proxy, 2_000);
        let unload = manager.unload_by_path(&path);
        if unload.is_ok() {
            let result = call.join().unwrap();
            assert!(
                never_in_flight(&result),
                "the unload went through while a call was in flight: {result:?}"
            );
            eprintln!("attempt {attempt}: the call had not started before the unload");
            continue;
        }
        match unload {
            Err(PluginError::Busy { library, .. }) => {
                assert_eq!(library, path);
            }
            other => panic!("expected Busy, got {other:?}"),
        }
        assert_eq!(proxy.try_version().unwrap(), 1, "the plugin stays usable");
        assert!(manager.handle(&path).is_some(), "and loaded");
        assert_eq!(call.join().unwrap().unwrap(), 1);
        // With nothing in flight, the unload goes through.
        let report = manager.unload_by_path(&path).unwrap();
        assert_eq!(report.counter("Versioned"), Some(1));
        return;
    }
    panic!("in {ATTEMPTS} attempts the slow call never got in flight before the unload");
}

#[test]
fn the_report_counts_every_instance_made() {
    let dir = tempfile::tempdir().unwrap();
    let path = watched("lifecycle-v1", dir.path());
    let manager = PluginManager::new().unwrap();
    let handle = manager.load(&path).unwrap();
    let dropped_early = manager.proxy::<dyn Versioned>(&path, "Probe").unwrap();
    let kept: Vec<_> = (0..2)
        .map(|_| manager.proxy::<dyn Versioned>(&path, "Probe").unwrap())
        .chain(manager.proxies::<dyn Versioned>(&path).unwrap())
        .collect();
    assert_eq!(kept.len(), 3, "one Versioned implementation in the library");
    let counter = manager.proxy::<dyn Counter>(&path, "Tally").unwrap();
    assert_eq!(counter.increment(), 1);
    drop(dropped_early);

    let report = manager.unload_by_path(&path).unwrap();
    assert_eq!(report.counter("Versioned"), Some(4), "{report:?}");
    assert_eq!(report.counter("Counter"), Some(1), "{report:?}");
    assert!(
        report.library == path || report.library == handle.copy_path(),
        "{report:?}"
    );
    drop(kept);
}

#[test]
fn a_pinned_library_stays_resident() {
    in_child_process("a_pinned_library_stays_resident", || {
        let dir = tempfile::tempdir().unwrap();
        let path = watched("lifecycle-v1", dir.path());
        let manager = PluginManager::new().unwrap();
        manager.load(&path).unwrap();
        let proxy = manager.proxy::<dyn Versioned>(&path, "Probe").unwrap();
        // A thread-local destructor on this thread, which outlives the unload.
        assert_eq!(proxy.pin_thread(), 1);
        drop(proxy);
        let report = manager.unload_by_path(&path).unwrap();
        match &report.outcome {
            UnloadOutcome::Resident { reason } => assert!(!reason.is_empty()),
            other => panic!("expected Resident, got {other:?}"),
        }
        assert_eq!(report.counter("Versioned"), Some(1));
    });
}

#[test]
fn an_unpinned_library_leaves_the_process() {
    in_child_process("an_unpinned_library_leaves_the_process", || {
        let dir = tempfile::tempdir().unwrap();
        let path = watched("lifecycle-v1", dir.path());
        let manager = PluginManager::new().unwrap();
        let name = manager.load(&path).unwrap().mapped_name().to_owned();
        let proxy = manager.proxy::<dyn Versioned>(&path, "Probe").unwrap();
        assert_eq!(proxy.version(), 1);
        assert_eq!(proxy.try_slow(1).unwrap(), 1);
        assert!(mapped_copies().contains(&name), "{name} is mapped");
        drop(proxy);
        let report = manager.unload_by_path(&path).unwrap();
        assert!(
            matches!(report.outcome, UnloadOutcome::Unloaded),
            "{report:?}"
        );
        let mapped = mapped_copies();
        assert!(!mapped.contains(&name), "still mapped: {mapped:?}");
    });
}

#[test]
fn close_reports_every_library() {
    let dir = tempfile::tempdir().unwrap();
    let first = watched("lifecycle-v1", dir.path());
    let second = plugins_copy(dir.path(), "lifecycle-v2", "second");
    let manager = PluginManager::new().unwrap();
    manager.load(&first).unwrap();
    manager.load(&second).unwrap();
    let one = manager.proxy::<dyn Versioned>(&first, "Probe").unwrap();
    let two = manager.proxy::<dyn Versioned>(&second, "Probe").unwrap();
    assert_eq!((one.version(), two.version()), (1, 2));
    assert_eq!(manager.loaded().len(), 2);

    let reports = manager.close().unwrap();
    assert_eq!(reports.len(), 2, "{reports:?}");
    for report in &reports {
        assert_eq!(report.counter("Versioned"), Some(1), "{report:?}");
        assert_eq!(report.counter("Counter"), Some(0), "{report:?}");
    }
    assert!(matches!(one.try_version(), Err(CallError::Unloaded { .. })));
    assert!(matches!(two.try_version(), Err(CallError::Unloaded { .. })));
}

#[test]
fn dropping_a_manager_unmaps_its_copies() {
    let dir = tempfile::tempdir().unwrap();
    let path = watched("lifecycle-v1", dir.path());
    let manager = PluginManager::new().unwrap();
    let handle = manager.load(&path).unwrap();
    let copy = handle.copy_path().to_path_buf();
    let name = handle.mapped_name().to_owned();
    assert!(copy.starts_with("/proc/self/fd"), "{}", copy.display());
    assert!(mapped_copies().contains(&name));
    let proxy = manager.proxy::<dyn Versioned>(&path, "Probe").unwrap();
    assert_eq!(proxy.version(), 1);

    drop(manager);
    assert!(!mapped_copies().contains(&name), "{name} is still mapped");
    assert!(path.exists(), "the watched file is the user's");
    assert!(matches!(
        proxy.try_version(),
        Err(CallError::Unloaded { .. })
    ));
}

fn plugins_copy(dir: &Path, package: &str, name: &str) -> std::path::PathBuf {
    plugin_tests::plugins().copy_to(package, dir, name)
}
