//! State carried across reloads: an implementation declared with
//! `#[plugin_impl(Counter, state)]` hands its count to the instance that
//! replaces it, and a new version that cannot read the old state version
//! refuses the reload, leaving the old version serving with its state.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lifecycle_interface::{Counter, CounterProxy, Versioned};
use plugin_interface::{PluginError, PluginManager, ReloadEvent, ReloadOutcome};
use plugin_tests::lifecycle::{replace_with, watched};

/// A manager watching lifecycle-v1, and a Counter incremented 5 times.
fn counted_to_five(dir: &Path) -> (PluginManager, PathBuf, CounterProxy) {
    let path = watched("lifecycle-v1", dir);
    let manager = PluginManager::new().unwrap();
    manager.load(&path).unwrap();
    let counter = manager.proxy::<dyn Counter>(&path, "Tally").unwrap();
    for expected in 1..=5 {
        assert_eq!(counter.increment(), expected);
    }
    (manager, path, counter)
}

fn reload_to(manager: &PluginManager, path: &Path, package: &str) -> u64 {
    replace_with(path, package);
    match manager.reload(path).unwrap() {
        ReloadOutcome::Reloaded { generation } => generation,
        ReloadOutcome::Unchanged => panic!("{package} has other bytes"),
    }
}

#[test]
fn the_count_survives_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let (manager, path, counter) = counted_to_five(dir.path());
    let version = manager.proxy::<dyn Versioned>(&path, "Probe").unwrap();

    assert_eq!(reload_to(&manager, &path, "lifecycle-v2"), 2);
    assert_eq!(version.version(), 2, "v2 is serving");
    assert_eq!(counter.count(), 5, "v2 took over v1's count");
    assert_eq!(counter.increment(), 6);
    assert_eq!(counter.try_count().unwrap(), 6);
}

#[test]
fn an_unreadable_state_version_refuses_the_reload() {
    let dir = tempfile::tempdir().unwrap();
    let (manager, path, counter) = counted_to_five(dir.path());
    let version = manager.proxy::<dyn Versioned>(&path, "Probe").unwrap();
    assert_eq!(reload_to(&manager, &path, "lifecycle-v2"), 2);
    assert_eq!(counter.count(), 5);

    let events = manager.subscribe();
    replace_with(&path, "lifecycle-v3");
    let error = manager
        .reload(&path)
        .expect_err("v3 cannot read state version 1");
    match &error {
        PluginError::StateRefused { entry, message, .. } => {
            assert_eq!(entry, "Tally");
            assert!(
                message.contains("incompatible state version 1"),
                "{message}"
            );
        }
        other => panic!("expected StateRefused, got {other:?}"),
    }
    let line = error.to_string();
    assert!(line.contains("incompatible state version 1"), "{line}");

    let mut failed = None;
    while let Ok(event) = events.recv_timeout(Duration::from_secs(30)) {
        if let ReloadEvent::Failed { path: at, reason } = event {
            assert_eq!(at, path);
            failed = Some(reason);
            break;
        }
    }
    assert_eq!(failed.expect("a Failed event"), line);

    assert_eq!(version.version(), 2, "v2 keeps serving");
    assert_eq!(manager.handle(&path).unwrap().generation(), 2);
    assert_eq!(counter.count(), 5, "with its count intact");
    assert_eq!(counter.increment(), 6);
}
