//! The example libraries export the documented symbol scheme, with the
//! names computed by `plugin-symbols`.

use std::path::Path;

use plugin_tests::plugins;

fn exports(path: &Path, name: &str) -> bool {
    // SAFETY: the example libraries are this workspace's own plugins;
    // loading them runs only their initialisers.
    let library = unsafe { libloading::Library::new(path) }.unwrap();
    // SAFETY: looked up as an address only, never called.
    unsafe { library.get::<*const u8>(&plugin_symbols::c_name(name)) }.is_ok()
}

/// A trait and the types implementing it in one library.
type TraitImpls = (&'static str, &'static [&'static str]);

#[test]
fn per_impl_per_trait_and_canary_symbols_are_exported() {
    let cases: &[(&str, &[TraitImpls])] = &[
        ("english-plugin", &[("Greeter", &["English"])]),
        (
            "multi-greeter-plugin",
            &[("Greeter", &["French", "Pirate"])],
        ),
        (
            "calculator-plugin",
            &[("Calculator", &["Arithmetic"]), ("Greeter", &["Counting"])],
        ),
    ];
    for (package, traits) in cases {
        let path = plugins().path(package);
        assert!(exports(path, plugin_symbols::CANARY), "{package}: canary");
        // Every library answers the host's offer of its allocator.
        assert!(
            exports(path, plugin_symbols::ALLOCATOR),
            "{package}: {}",
            plugin_symbols::ALLOCATOR
        );
        // And takes the host's table, and lists what it requires.
        for symbol in [plugin_symbols::HOST, plugin_symbols::REQUIRES] {
            assert!(exports(path, symbol), "{package}: {symbol}");
        }
        for (trait_name, types) in *traits {
            for symbol in [
                plugin_symbols::register_all(trait_name),
                plugin_symbols::unregister_all(trait_name),
                plugin_symbols::unmaker_counter(trait_name),
                plugin_symbols::factories(trait_name),
            ] {
                assert!(exports(path, &symbol), "{package}: {symbol}");
            }
            for type_name in *types {
                for symbol in [
                    plugin_symbols::register(trait_name, type_name),
                    plugin_symbols::unregister(trait_name, type_name),
                ] {
                    assert!(exports(path, &symbol), "{package}: {symbol}");
                }
            }
        }
        assert!(!exports(path, "plugin_register_all_Nothing_v1"));
    }
}

#[test]
fn the_seed_scheme_is_spelled_out() {
    assert_eq!(
        plugin_symbols::register("Greeter", "English"),
        "plugin_register_Greeter_English_v1"
    );
    assert_eq!(
        plugin_symbols::unmaker_counter("Greeter"),
        "plugin_unmaker_counter_Greeter_v1"
    );
}
