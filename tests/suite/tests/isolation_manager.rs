//! A `PluginManager` and `PluginLibrary::open_with` under
//! `Isolation::Process`: every library in a worker process, behind the
//! same proxies, reloaded (with its state) and unloaded as in process,
//! and followed by a watch.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use greeter_interface::Greeter;
use lifecycle_interface::{Counter, Versioned};
use plugin_interface::isolation::WorkerOptions;
use plugin_interface::watch::{ManagerNotification, WatchOptions, start_watch_background};
use plugin_interface::{
    CallError, Isolation, LoadOptions, ManagerOptions, PluginLibrary, PluginManager, ReloadOutcome,
    UnloadOutcome,
};
use plugin_tests::lifecycle::{replace_with, watched};
use plugin_tests::{plugin_worker, plugins};

fn isolated() -> LoadOptions {
    LoadOptions::default().isolation(Isolation::Process(
        WorkerOptions::default()
            .worker(plugin_worker())
            .call_timeout(Duration::from_secs(30)),
    ))
}

fn manager() -> PluginManager {
    PluginManager::with_options(ManagerOptions::default().load(isolated())).unwrap()
}

/// Whether a library of this file name is mapped into this process.
fn mapped_here(name: &str) -> bool {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .any(|line| line.contains(name))
}

#[test]
fn a_library_opened_with_isolation_runs_in_a_worker_behind_the_same_api() {
    let library = PluginLibrary::open_with(plugins().path("english-plugin"), &isolated()).unwrap();
    let greeters = library.instantiate::<dyn Greeter>().unwrap();
    assert_eq!(greeters[0].greet("world"), "Hello, world!");
    assert!(!mapped_here("libenglish_plugin"), "no image in the host");
    assert_eq!(library.entries("Greeter").unwrap()[0].entry, "English");
    let english = library.instantiate_entry::<dyn Greeter>("English").unwrap();
    assert_eq!(english.name(), "english");
    drop(english);
    assert_eq!(library.unmaker_counter("Greeter").unwrap(), 1);
    assert_eq!(
        library
            .invoke("Greeter", "greet", &[serde_json::json!("by name")])
            .unwrap(),
        serde_json::json!("Hello, by name!")
    );
    // Its symbols are not in this process.
    assert!(matches!(
        // SAFETY: the lookup fails; nothing is called.
        unsafe {
            plugin_interface::LibrarySymbols::function::<extern "C" fn()>(
                &library,
                "plugin_flush_output_v1",
            )
        },
        Err(plugin_interface::PluginError::SymbolMissing { .. })
    ));
    drop(greeters);
    let report = library.close().unwrap();
    assert_eq!(report.outcome, UnloadOutcome::Unloaded);
    assert_eq!(report.counter("Greeter"), Some(3));
}

#[test]
fn a_manager_reloads_a_library_in_a_worker_carrying_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = watched("lifecycle-v1", dir.path());
    let manager = manager();
    manager.load(&path).unwrap();
    let counter = manager.proxy::<dyn Counter>(&path, "Tally").unwrap();
    let version = manager.proxy::<dyn Versioned>(&path, "Probe").unwrap();
    for expected in 1..=5 {
        assert_eq!(counter.increment(), expected);
    }
    assert_eq!(version.version(), 1);
    assert!(!mapped_here("lifecycle"), "no image in the host");

    replace_with(&path, "lifecycle-v2");
    assert!(matches!(
        manager.reload(&path).unwrap(),
        ReloadOutcome::Reloaded { generation: 2 }
    ));
    // The same proxies, now served by the new version's worker, and the
    // count carried from the old worker to the new one.
    assert_eq!(version.version(), 2);
    assert_eq!(counter.increment(), 6);

    // A version that cannot read the state refuses the reload; the old
    // one keeps serving.
    replace_with(&path, "lifecycle-v3");
    let refused = manager.reload(&path).unwrap_err();
    assert!(
        refused.to_string().contains("incompatible state version 1"),
        "{refused}"
    );
    assert_eq!(version.version(), 2);
    assert_eq!(counter.increment(), 7);

    let report = manager.unload_by_path(&path).unwrap();
    assert_eq!(report.outcome, UnloadOutcome::Unloaded);
    assert!(matches!(
        counter.try_increment(),
        Err(CallError::Unloaded { .. })
    ));
}

#[test]
fn a_crash_under_a_manager_is_the_calls_error_and_the_host_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = plugins().copy_to("flaky-plugin", dir.path(), "libflaky");
    let manager = manager();
    manager.load(&path).unwrap();
    let flaky = manager.proxies::<dyn Greeter>(&path).unwrap().remove(0);
    assert_eq!(flaky.greet("world"), "Hi, world!");
    match flaky.try_greet("segv") {
        Err(CallError::Crashed { how, .. }) => assert_eq!(how, "was killed by SIGSEGV"),
        other => panic!("{other:?}"),
    }
    // The library unloads; its worker is gone already, so its counters
    // are unknown.
    drop(flaky);
    let report = manager.unload_by_path(&path).unwrap();
    assert_eq!(report.outcome, UnloadOutcome::Unloaded);
    assert_eq!(report.counter("Greeter"), None);
}

#[test]
fn a_watched_directory_of_isolated_libraries_follows_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let manager = Arc::new(manager());
    let (notifications, stop, thread) = start_watch_background::<dyn Versioned>(
        Arc::clone(&manager),
        dir.path(),
        &WatchOptions::default().emit_proxies(true),
    )
    .unwrap();
    let next = || {
        loop {
            match notifications.recv_timeout(Duration::from_secs(60)) {
                Ok(ManagerNotification::Event(_)) => {}
                Ok(notification) => return notification,
                Err(error) => panic!("no notification: {error}"),
            }
        }
    };
    let path = watched("lifecycle-v1", dir.path());
    let version = match next() {
        ManagerNotification::Loaded { proxies, .. } => proxies
            .into_iter()
            .next()
            .expect("a Versioned implementation"),
        other => panic!("expected Loaded, got {other:?}"),
    };
    assert_eq!(version.version(), 1);
    replace_with(&path, "lifecycle-v2");
    match next() {
        ManagerNotification::Reloaded { generation, .. } => assert_eq!(generation, 2),
        other => panic!("expected Reloaded, got {other:?}"),
    }
    assert_eq!(version.version(), 2, "the proxy follows the reload");
    assert!(!mapped_here(&path.file_name().unwrap().to_string_lossy()));
    drop(version);
    let _ = stop.send(());
    thread.join().unwrap();
    let _: &Path = &path;
}

#[test]
fn a_resident_plugin_is_refused_in_a_worker() {
    let manager = manager();
    let path = plugins().path("english-plugin");
    match manager.load_plugin(path.to_str().unwrap(), "") {
        Err(plugin_interface::PluginError::Worker { library, reason }) => {
            assert_eq!(library, path);
            assert!(
                reason.contains("load this library without `Isolation::Process`"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(manager.loaded().is_empty(), "nothing of it stays loaded");
}
