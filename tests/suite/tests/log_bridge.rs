//! A plugin's `log` records reach the host's logger with their level,
//! module path and a target naming the plugin crate, filtered at the
//! host's level; `tracing` events too, for a plugin built with the
//! feature `tracing`. One test: the level is the process's.

use std::sync::Arc;

use plugin_interface::PluginManager;
use plugin_tests::capture::{self, Captured};
use plugin_tests::plugins;
use service_interface::{Greeter, Storage};

/// A store of the host's that keeps nothing.
struct Nowhere;

impl Storage for Nowhere {
    fn get(&self, _: &str) -> Option<String> {
        None
    }

    fn put(&self, _: &str, _: String) {}
}

#[test]
fn records_cross_at_the_hosts_level() {
    capture::install();
    let dir = tempfile::tempdir().unwrap();
    let hello = plugins().copy_to("hello-plugin", dir.path(), "libhello_plugin");
    let manager = PluginManager::new().unwrap();
    manager.provide::<dyn Storage>(Arc::new(Nowhere));
    manager
        .load_plugin(hello.to_str().unwrap(), "greeting = \"Hi\"")
        .unwrap();
    let greeter = manager.proxy::<dyn Greeter>(&hello, "Hello").unwrap();

    // At `Info`, the plugin's `debug!` is dropped.
    assert_eq!(greeter.greet("quiet"), "Hi, quiet!");
    assert!(capture::take().is_empty());

    // A plugin constructed at `Debug` logs at `Debug`.
    log::set_max_level(log::LevelFilter::Debug);
    manager.unload_by_path(&hello).unwrap();
    assert_eq!(capture::messages(), ["hello shut down"]);
    manager
        .load_plugin(hello.to_str().unwrap(), "greeting = \"Hi\"")
        .unwrap();
    assert_eq!(
        greeter.try_greet("gone").ok(),
        None,
        "the old proxy was retired"
    );
    let greeter = manager.proxy::<dyn Greeter>(&hello, "Hello").unwrap();
    assert_eq!(greeter.greet("loud"), "Hi, loud!");
    assert_eq!(
        capture::take(),
        [Captured {
            level: log::Level::Debug,
            target: "hello_plugin".to_owned(),
            module_path: Some("hello_plugin".to_owned()),
            message: "greeted loud".to_owned(),
        }]
    );

    // Back at `Warn`, even `Info` records of a `Drop` stay behind.
    log::set_max_level(log::LevelFilter::Warn);
    manager.unload_by_path(&hello).unwrap();
    assert!(capture::take().is_empty());
    log::set_max_level(log::LevelFilter::Info);

    // `tracing` events cross as records, with their fields.
    let store = plugins().copy_to("store-plugin", dir.path(), "libstore_plugin");
    manager
        .load_plugin(store.to_str().unwrap(), "prefix = \"p\"")
        .unwrap();
    let storage = manager.proxy::<dyn Storage>(&store, "Store").unwrap();
    assert_eq!(storage.get("@trace"), None);
    let records = capture::take();
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(
        records[1],
        Captured {
            level: log::Level::Warn,
            target: "store_plugin".to_owned(),
            module_path: Some("store_plugin".to_owned()),
            message: r#"traced lookup key="@trace" keys=0"#.to_owned(),
        }
    );
    log::set_max_level(log::LevelFilter::Error);
    assert_eq!(storage.get("@trace"), None);
    assert!(capture::take().is_empty());
    log::set_max_level(log::LevelFilter::Info);
}
