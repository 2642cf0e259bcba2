//! A host loads two plugins from a manifest: `hello` greets and requires
//! the `Storage` service, which `store` provides. Configs reach the
//! constructors, the plugins' log records reach the host's logger, and
//! shutdown runs dependents first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use plugin_interface::{PluginError, PluginManager};
use plugin_tests::{capture, plugins};
use service_interface::{Greeter, Storage};

/// A directory holding both plugin libraries and a manifest.
fn setup(manifest: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    plugins().copy_to("hello-plugin", dir.path(), "libhello_plugin");
    plugins().copy_to("store-plugin", dir.path(), "libstore_plugin");
    let path = dir.path().join("plugins.toml");
    std::fs::write(&path, manifest).unwrap();
    (dir, path)
}

const BOTH: &str = r#"
# hello is listed first, but needs store's Storage
[[plugin]]
kind = "lib:libhello_plugin.so?entry=Hello#Greeter"
config = { greeting = "Howdy" }

[[plugin]]
kind = "lib:libstore_plugin.so"
config = { prefix = "app" }
"#;

fn hello(dir: &Path) -> PathBuf {
    dir.join("libhello_plugin.so")
}

fn store(dir: &Path) -> PathBuf {
    dir.join("libstore_plugin.so")
}

#[test]
fn plugins_start_in_dependency_order_and_stop_dependents_first() {
    capture::install();
    capture::take();
    let (dir, manifest) = setup(BOTH);
    let manager = PluginManager::new().unwrap();
    let handles = manager.load_manifest(&manifest).unwrap();
    assert_eq!(handles.len(), 2);
    let greeter = manager
        .proxy::<dyn Greeter>(hello(dir.path()), "Hello")
        .unwrap();
    assert_eq!(greeter.greet("world"), "Howdy, world!");
    let storage = manager
        .proxy::<dyn Storage>(store(dir.path()), "Store")
        .unwrap();
    assert_eq!(storage.get("last").as_deref(), Some("world"));
    drop(storage);
    drop(greeter);
    manager.close().unwrap();
    let records = capture::take();
    let seen: Vec<(&str, &str)> = records
        .iter()
        .map(|record| (record.target.as_str(), record.message.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("store_plugin", "store ready with prefix app"),
            ("hello_plugin", "hello shut down"),
            ("store_plugin", "store closing with 2 keys"),
        ]
    );
    assert!(
        records
            .iter()
            .all(|record| record.module_path.as_deref() == Some(record.target.as_str()))
    );
}

#[test]
fn a_missing_service_refuses_the_manifest_naming_trait_and_library() {
    let (_dir, manifest) = setup(
        r#"
[[plugin]]
kind = "lib:libhello_plugin.so"
config = { greeting = "Howdy" }
"#,
    );
    let manager = PluginManager::new().unwrap();
    let error = manager.load_manifest(&manifest).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(&error, PluginError::ManifestEntry { line: 2, source, .. }
            if matches!(&**source, PluginError::MissingService { trait_name, .. } if trait_name == "Storage")),
        "{error:?}"
    );
    assert!(message.contains("Storage"), "{message}");
    assert!(message.contains("libhello_plugin.so"), "{message}");
    assert!(message.contains("plugins.toml:2:"), "{message}");
    assert!(manager.loaded().is_empty());
}

#[test]
fn a_misspelt_config_field_refuses_the_plugin_and_unloads_everything() {
    capture::install();
    capture::take();
    let (_dir, manifest) = setup(&BOTH.replace("greeting = ", "greting = "));
    let manager = PluginManager::new().unwrap();
    let error = manager.load_manifest(&manifest).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("`greeting`"), "{message}");
    assert!(message.contains("libhello_plugin.so"), "{message}");
    assert!(message.contains("plugins.toml:3:"), "{message}");
    let PluginError::ManifestEntry { source, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(
        matches!(&**source, PluginError::ConstructorRefused { entry, .. } if entry == "Hello"),
        "{source:?}"
    );
    // The store was made first, and freed again with the refusal.
    assert!(manager.loaded().is_empty());
    assert_eq!(
        capture::messages(),
        ["store ready with prefix app", "store closing with 0 keys"]
    );
}

/// The host's own store.
#[derive(Default)]
struct HostStore {
    values: Mutex<BTreeMap<String, String>>,
}

impl Storage for HostStore {
    fn get(&self, key: &str) -> Option<String> {
        self.values.lock().unwrap().get(key).cloned()
    }

    fn put(&self, key: &str, value: String) {
        self.values.lock().unwrap().insert(key.to_owned(), value);
    }
}

#[test]
fn a_host_service_serves_a_plugin_that_requires_it() {
    let (dir, manifest) = setup(
        r#"
[[plugin]]
kind = "lib:libhello_plugin.so"
config = { greeting = "Hi" }
"#,
    );
    let manager = PluginManager::new().unwrap();
    let host_store = Arc::new(HostStore::default());
    manager.provide::<dyn Storage>(host_store.clone());
    manager.load_manifest(&manifest).unwrap();
    let greeter = manager
        .proxy::<dyn Greeter>(hello(dir.path()), "Hello")
        .unwrap();
    assert_eq!(greeter.greet("host"), "Hi, host!");
    assert_eq!(host_store.get("last").as_deref(), Some("host"));
    manager.close().unwrap();
    assert_eq!(host_store.get("bye").as_deref(), Some("hello"));
}

/// The error of loading `manifest`, with nothing left loaded.
fn refused(manifest: &str) -> PluginError {
    let (_dir, path) = setup(manifest);
    let manager = PluginManager::new().unwrap();
    let error = manager.load_manifest(&path).unwrap_err();
    assert!(manager.loaded().is_empty(), "{error}");
    error
}

#[test]
fn entry_errors_name_the_line_the_library_and_the_cause() {
    let missing = refused(
        r#"
[[plugin]]
kind = "lib:libstore_plugin.so"
config = { prefix = "app" }

[[plugin]]
kind = "lib:libgone.so"
"#,
    );
    let message = missing.to_string();
    assert!(message.contains("plugins.toml:6: "), "{message}");
    assert!(message.contains("libgone.so"), "{message}");

    let unknown_entry = refused(
        r#"
[[plugin]]
kind = "lib:libstore_plugin.so?entry=Shelf"
"#,
    );
    let message = unknown_entry.to_string();
    assert!(message.contains("plugins.toml:2: "), "{message}");
    assert!(
        message.contains("Shelf") && message.contains("Store"),
        "{message}"
    );
    assert!(message.contains("libstore_plugin.so"), "{message}");

    let wrong_type = refused(
        r#"
[[plugin]]
kind = "lib:libstore_plugin.so"
config = { prefix = ["a", "b"] }
"#,
    );
    let message = wrong_type.to_string();
    assert!(message.contains("plugins.toml:2: "), "{message}");
    assert!(
        message.contains("invalid type: sequence, expected a string"),
        "{message}"
    );
}

#[test]
fn a_malformed_manifest_is_refused_at_its_line() {
    for (manifest, line, cause) in [
        (
            "[[plugin]]\nkind = \"lib:x.so\"\nconfig = { a = }\n",
            3,
            "invalid",
        ),
        ("[[plugin]]\nconfig = {}\n", 1, "missing `kind"),
        (
            "[[plugin]]\nkind = \"lib:x.so\"\nnote = 1\n",
            1,
            "unknown key `note`",
        ),
        (
            "[[plugin]]\nkind = \"lib:x.so\"\nconfig = 3\n",
            1,
            "`config` is a table",
        ),
        ("[plugins]\n", 0, "unknown key `plugins`"),
    ] {
        let error = refused(manifest);
        let message = error.to_string();
        assert!(
            matches!(&error, PluginError::Manifest { line: at, .. } if *at == line),
            "{manifest:?}: {error:?}"
        );
        assert!(message.contains(cause), "{manifest:?}: {message}");
    }
}

#[test]
fn libraries_that_require_each_other_are_refused_as_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    plugins().copy_to("hello-plugin", dir.path(), "libhello_plugin");
    plugins().copy_to("ring-store", dir.path(), "libring_store");
    let manifest = dir.path().join("plugins.toml");
    std::fs::write(
        &manifest,
        r#"
[[plugin]]
kind = "lib:libhello_plugin.so"
config = { greeting = "Hi" }

[[plugin]]
kind = "lib:libring_store.so"
"#,
    )
    .unwrap();
    let manager = PluginManager::new().unwrap();
    let error = manager.load_manifest(&manifest).unwrap_err();
    let PluginError::ManifestEntry {
        line: 2, source, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert!(
        matches!(&**source, PluginError::DependencyCycle { cycle, .. }
            if cycle == &["libhello_plugin.so needs Storage", "libring_store.so needs Greeter", "libhello_plugin.so"]),
        "{error}"
    );
    assert!(manager.loaded().is_empty());
}
