//! Services between plugins: a provider cannot be unloaded from under a
//! dependent, a cascade unloads dependents first, a reloaded provider
//! keeps serving its dependents, and two providers of one trait are
//! ambiguous.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use plugin_interface::{PluginError, PluginManager, ReloadOutcome, UnloadOutcome};
use plugin_tests::{capture, plugins};
use service_interface::{Greeter, Storage};

struct Pair {
    dir: tempfile::TempDir,
    manager: PluginManager,
}

impl Pair {
    fn hello(&self) -> PathBuf {
        self.dir.path().join("libhello_plugin.so")
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("libstore_plugin.so")
    }
}

/// Store, then hello, each loaded as a plugin.
fn pair() -> Pair {
    capture::install();
    let dir = tempfile::tempdir().unwrap();
    let store = plugins().copy_to("store-plugin", dir.path(), "libstore_plugin");
    let hello = plugins().copy_to("hello-plugin", dir.path(), "libhello_plugin");
    let manager = PluginManager::new().unwrap();
    manager
        .load_plugin(store.to_str().unwrap(), "prefix = \"app\"")
        .unwrap();
    manager
        .load_plugin(hello.to_str().unwrap(), "greeting = \"Howdy\"")
        .unwrap();
    capture::take();
    Pair { dir, manager }
}

/// Appends bytes past the end of the image: the same code under another
/// content hash, which a reload takes as a new version.
fn rebuild(path: &Path) {
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(b"another build").unwrap();
}

#[test]
fn a_provider_is_not_unloaded_from_under_its_dependent() {
    let pair = pair();
    let error = pair.manager.unload_by_path(pair.store()).unwrap_err();
    assert!(
        matches!(&error, PluginError::InUseByDependents { library, dependents }
            if *library == pair.store() && dependents == &[pair.hello()]),
        "{error:?}"
    );
    assert!(error.to_string().contains("libhello_plugin.so"), "{error}");
    // Still serving.
    let greeter = pair
        .manager
        .proxy::<dyn Greeter>(pair.hello(), "Hello")
        .unwrap();
    assert_eq!(greeter.greet("again"), "Howdy, again!");
    assert!(capture::take().is_empty());
}

#[test]
fn a_cascade_unloads_dependents_first() {
    let pair = pair();
    let reports = pair.manager.unload_cascade(pair.store()).unwrap();
    let unloaded: Vec<&Path> = reports
        .iter()
        .map(|report| report.library.as_path())
        .collect();
    assert_eq!(unloaded, [pair.hello().as_path(), pair.store().as_path()]);
    // Logging, configs and services pin neither library in memory.
    for report in &reports {
        assert_eq!(report.outcome, UnloadOutcome::Unloaded, "{report:?}");
    }
    assert_eq!(
        capture::messages(),
        ["hello shut down", "store closing with 1 keys"]
    );
    assert!(pair.manager.loaded().is_empty());
}

#[test]
fn a_reloaded_provider_keeps_serving_its_dependent() {
    let pair = pair();
    let greeter = pair
        .manager
        .proxy::<dyn Greeter>(pair.hello(), "Hello")
        .unwrap();
    assert_eq!(greeter.greet("before"), "Howdy, before!");
    rebuild(&pair.store());
    let outcome = pair.manager.reload(pair.store()).unwrap();
    assert_eq!(outcome, ReloadOutcome::Reloaded { generation: 2 });
    // The new version was constructed with the same config; the old one
    // closed once it was replaced.
    assert_eq!(
        capture::messages(),
        ["store ready with prefix app", "store closing with 1 keys"]
    );
    // Hello's service now reaches the new store.
    assert_eq!(greeter.greet("after"), "Howdy, after!");
    let store = pair
        .manager
        .proxy::<dyn Storage>(pair.store(), "Store")
        .unwrap();
    assert_eq!(store.get("last").as_deref(), Some("after"));
    drop((greeter, store));
    // The edge survived the reload.
    assert!(matches!(
        pair.manager.unload_by_path(pair.store()),
        Err(PluginError::InUseByDependents { .. })
    ));
    pair.manager.close().unwrap();
    assert_eq!(
        capture::messages(),
        ["hello shut down", "store closing with 2 keys"]
    );
}

/// A store of the host's.
#[derive(Default)]
struct HostStore(Mutex<BTreeMap<String, String>>);

impl Storage for HostStore {
    fn get(&self, key: &str) -> Option<String> {
        self.0.lock().unwrap().get(key).cloned()
    }

    fn put(&self, key: &str, value: String) {
        self.0.lock().unwrap().insert(key.to_owned(), value);
    }
}

#[test]
fn two_providers_of_a_trait_are_ambiguous() {
    capture::install();
    let dir = tempfile::tempdir().unwrap();
    let store = plugins().copy_to("store-plugin", dir.path(), "libstore_plugin");
    let hello = plugins().copy_to("hello-plugin", dir.path(), "libhello_plugin");
    let manager = PluginManager::new().unwrap();
    manager.provide::<dyn Storage>(Arc::new(HostStore::default()));
    manager
        .load_plugin(store.to_str().unwrap(), "prefix = \"app\"")
        .unwrap();
    let error = manager
        .load_plugin(hello.to_str().unwrap(), "greeting = \"Howdy\"")
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("`Storage` is provided by the host and ")
            && message.contains("libstore_plugin.so"),
        "{message}"
    );
    assert!(manager.handle(&hello).is_none());
    manager.close().unwrap();
    capture::take();
}
