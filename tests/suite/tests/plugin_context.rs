//! What a constructor gets from the host: its config (serde, every TOML
//! type), its identity, and what happens when it refuses to start.

use std::path::PathBuf;

use plugin_interface::{PluginError, PluginManager, load_plugins};
use plugin_tests::plugins;
use service_interface::Storage;

fn store_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = plugins().copy_to("store-plugin", dir.path(), "libstore_plugin");
    (dir, path)
}

#[test]
fn a_config_of_every_toml_type_reaches_the_constructor() {
    let (_dir, path) = store_copy();
    let manager = PluginManager::new().unwrap();
    let config = r#"
prefix = "typed"
when = 1979-05-27T07:32:00-08:00

[types]
text = "a \"quoted\" line"
count = -42
ratio = 2.5
on = true
list = [1, 2, 3]
table = { left = "l", right = "r" }
"#;
    manager.load_plugin(path.to_str().unwrap(), config).unwrap();
    let store = manager.proxy::<dyn Storage>(&path, "Store").unwrap();
    assert_eq!(
        store.get("types").as_deref(),
        Some(
            r#"Types { text: "a \"quoted\" line", count: -42, ratio: 2.5, on: true, list: [1, 2, 3], table: {"left": "l", "right": "r"} }"#
        )
    );
    assert_eq!(
        store.get("when").as_deref(),
        Some("1979-05-27T07:32:00-08:00")
    );
}

#[test]
fn the_constructor_learns_its_entry_trait_library_and_host_version() {
    let (_dir, path) = store_copy();
    let manager = PluginManager::new().unwrap();
    manager
        .load_plugin(
            &format!("lib:{}?entry=Store#Storage", path.display()),
            "prefix = \"p\"",
        )
        .unwrap();
    let store = manager.proxy::<dyn Storage>(&path, "Store").unwrap();
    assert_eq!(
        store.get("@context").unwrap(),
        format!(
            "Store Storage {} libstore_plugin.so",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn a_wrong_config_type_refuses_with_serdes_message_and_leaves_nothing_loaded() {
    let (_dir, path) = store_copy();
    let manager = PluginManager::new().unwrap();
    let error = manager
        .load_plugin(path.to_str().unwrap(), "prefix = 7")
        .unwrap_err();
    let PluginError::ConstructorRefused {
        library,
        trait_name,
        entry,
        message,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(library, &path);
    assert_eq!((trait_name.as_str(), entry.as_str()), ("Storage", "Store"));
    assert!(
        message.contains("invalid type: integer `7`, expected a string"),
        "{message}"
    );
    assert!(error.to_string().contains("libstore_plugin.so"), "{error}");
    assert!(manager.loaded().is_empty());
    assert!(manager.handle(&path).is_none());
}

#[test]
fn without_a_manager_constructors_get_no_config_and_no_services() {
    let (_dir, path) = store_copy();
    let report = load_plugins::<dyn Storage>(&path).unwrap();
    let error = report.errors().next().expect("refused");
    let message = error.to_string();
    assert!(
        message.contains("constructor of `Store` refused"),
        "{message}"
    );
    assert!(message.contains("missing field `prefix`"), "{message}");
}

#[test]
fn an_unknown_trait_is_refused_with_what_the_library_has() {
    let (_dir, path) = store_copy();
    let manager = PluginManager::new().unwrap();
    let error = manager
        .load_plugin(&format!("lib:{}#Greeter", path.display()), "prefix = \"p\"")
        .unwrap_err();
    assert!(
        matches!(&error, PluginError::TraitNotExported { trait_name, available, .. }
            if trait_name == "Greeter" && available == &["Storage".to_owned()]),
        "{error:?}"
    );
    let error = manager
        .load_plugin(
            &format!("lib:{}?entry=Shop", path.display()),
            "prefix = \"p\"",
        )
        .unwrap_err();
    assert!(
        matches!(&error, PluginError::EntryNotFound { entry, available, .. }
            if entry == "Shop" && available == &["Store".to_owned()]),
        "{error:?}"
    );
    assert!(manager.loaded().is_empty());
}

#[test]
fn a_spec_selects_a_trait_for_load_plugins_too() {
    let (_dir, path) = store_copy();
    let report = load_plugins::<dyn Storage>(format!("lib:{}#Greeter", path.display())).unwrap();
    let error = report.errors().next().expect("refused");
    assert!(
        error
            .to_string()
            .contains("selects `Greeter`, but `Storage` plugins are being loaded"),
        "{error}"
    );
}
