//! Unloading through the bulk and the per-factory paths, unmaker counters
//! kept in host memory, and repeated load/unload without leaks.

use greeter_interface::Greeter;
use plugin_interface::{
    FreeThrough, LoadOptions, PluginError, PluginLibrary, get_unmaker_counter,
    get_unmaker_counter_for, load_plugins_with,
};
use plugin_tests::plugins;
use roundtrip_interface::RoundTrip;

/// A private copy, so the counters start at zero whatever other tests in
/// this process did with the same library.
fn fresh_copy(package: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = plugins().copy_to(package, dir.path(), "copy");
    (dir, path)
}

#[test]
fn bulk_unload_counts_every_registration() {
    let (_dir, path) = fresh_copy("multi-greeter-plugin");
    let library = PluginLibrary::open(&path).unwrap();
    let proxies = library.instantiate::<dyn Greeter>().unwrap();
    assert_eq!(proxies.len(), 2);
    assert_eq!(get_unmaker_counter(&library, "Greeter").unwrap(), 0);
    drop(proxies);
    assert_eq!(get_unmaker_counter(&library, "Greeter").unwrap(), 2);
    assert_eq!(get_unmaker_counter_for::<dyn Greeter>(&library).unwrap(), 2);

    let report = library.close().unwrap();
    assert_eq!(report.library, path);
    assert_eq!(report.counter("Greeter"), Some(2));
}

#[test]
fn per_factory_unload_counts_every_registration() {
    let (_dir, path) = fresh_copy("roundtrip-plugin");
    let library = PluginLibrary::open(&path).unwrap();
    let proxies = library
        .instantiate_with::<dyn RoundTrip>(FreeThrough::PerFactory)
        .unwrap();
    assert_eq!(proxies.len(), 2);
    assert_eq!(proxies[0].live_instances(), 2);
    drop(proxies);
    let report = library.close().unwrap();
    assert_eq!(report.counter("RoundTrip"), Some(2));
    assert_eq!(report.counter("Greeter"), Some(0));
}

#[test]
fn load_plugins_with_per_factory_path() {
    let (_dir, path) = fresh_copy("multi-greeter-plugin");
    let options = LoadOptions::default().free_through(FreeThrough::PerFactory);
    let proxies = load_plugins_with::<dyn Greeter>(&path, &options)
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!(proxies.len(), 2);
    // Each open maps its own copy of the file, so the counter is read from
    // a library opened the same way `load_plugins_with` opens it.
    let library = PluginLibrary::open_with(&path, &options).unwrap();
    let again = library
        .instantiate_with::<dyn Greeter>(options.free_through)
        .unwrap();
    drop(proxies);
    assert_eq!(get_unmaker_counter(&library, "Greeter").unwrap(), 0);
    drop(again);
    assert_eq!(get_unmaker_counter(&library, "Greeter").unwrap(), 2);
}

#[test]
fn single_entry_unloads_through_its_own_unmaker() {
    let (_dir, path) = fresh_copy("multi-greeter-plugin");
    let library = PluginLibrary::open(&path).unwrap();
    let pirate = library.instantiate_entry::<dyn Greeter>("Pirate").unwrap();
    assert_eq!(pirate.name(), "pirate");
    drop(pirate);
    assert_eq!(library.close().unwrap().counter("Greeter"), Some(1));
}

#[test]
fn close_while_proxies_live_is_refused_and_keeps_them_working() {
    let (_dir, path) = fresh_copy("english-plugin");
    let library = PluginLibrary::open(&path).unwrap();
    let proxies = library.instantiate::<dyn Greeter>().unwrap();
    match library.close() {
        Err(PluginError::InUse { library, holders }) => {
            assert_eq!(library, path);
            assert_eq!(holders, 1);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(proxies[0].greet("still"), "Hello, still!");
}

#[test]
fn hundred_instantiate_and_unload_cycles_leak_nothing() {
    let (_dir, path) = fresh_copy("roundtrip-plugin");
    let library = PluginLibrary::open(&path).unwrap();
    for cycle in 1..=100u64 {
        let unload = if cycle % 2 == 0 {
            FreeThrough::Auto
        } else {
            FreeThrough::PerFactory
        };
        let proxies = library.instantiate_with::<dyn RoundTrip>(unload).unwrap();
        assert_eq!(proxies[0].live_instances(), 2, "cycle {cycle}");
        drop(proxies);
        assert_eq!(
            get_unmaker_counter(&library, "RoundTrip").unwrap(),
            2 * cycle,
            "cycle {cycle}"
        );
    }
    let probe = library.instantiate_entry::<dyn RoundTrip>("Echo").unwrap();
    assert_eq!(probe.live_instances(), 1, "only the probe is alive");
    drop(probe);
    assert_eq!(library.close().unwrap().counter("RoundTrip"), Some(201));
}

#[test]
fn hundred_open_and_close_cycles_report_each_unload() {
    let (_dir, path) = fresh_copy("multi-greeter-plugin");
    for cycle in 0..100 {
        let library = PluginLibrary::open(&path).unwrap();
        let proxies = library.instantiate::<dyn Greeter>().unwrap();
        assert_eq!(proxies.len(), 2);
        drop(proxies);
        let report = library.close().unwrap();
        assert_eq!(
            report.counter("Greeter"),
            Some(2),
            "cycle {cycle}: counter reset on reload"
        );
    }
}
