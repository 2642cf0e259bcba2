//! Plugins built against greeter-interface 1.0, 1.1 and 2.0, loaded by
//! hosts built against each: majors must match, a plugin built against an
//! older minor loads (its missing methods give `MethodMissing` or run the
//! default body), a newer minor is refused, and a refused plugin's code
//! never runs.

use greeter_1_1::Greeter as Greeter11;
use greeter_2_0::Greeter as Greeter20;
use greeter_interface::Greeter as Greeter10;
use plugin_interface::{CallError, PluginError, PluginLibrary};
use plugin_tests::plugins;

const V10: &str = "english-plugin";
const V11: &str = "greeter-plugin-1-1";
const V20: &str = "greeter-plugin-2-0";

fn open(package: &str) -> PluginLibrary {
    PluginLibrary::open(plugins().path(package)).unwrap()
}

#[test]
fn host_1_0_loads_1_0_and_refuses_1_1_and_2_0() {
    assert_eq!(
        open(V10).instantiate::<dyn Greeter10>().unwrap()[0].greet("x"),
        "Hello, x!"
    );

    let newer = open(V11).instantiate::<dyn Greeter10>().unwrap_err();
    assert_eq!(
        newer.to_string(),
        format!(
            "{}: Greeter: the plugin was built against a newer interface than the host's \
             (plugin built against greeter-interface 1.1.0, host has greeter-interface 1.0.0)",
            plugins().path(V11).display()
        )
    );

    let changed = open(V20).instantiate::<dyn Greeter10>().unwrap_err();
    assert_eq!(
        changed.to_string(),
        format!(
            "{}: Greeter::greet argument 1: expected RStr, found u64 \
             (plugin built against greeter-interface 2.0.0, host has greeter-interface 1.0.0)",
            plugins().path(V20).display()
        )
    );
    assert!(matches!(changed, PluginError::LayoutMismatch { .. }));
    let detail = changed.detail().expect("a full report behind the line");
    assert!(
        detail.contains("host: trait Greeter from greeter-interface 1.0.0"),
        "{detail}"
    );
    assert!(
        detail.contains("plugin: trait Greeter from greeter-interface 2.0.0"),
        "{detail}"
    );
    assert!(
        detail.contains("fn greet(&self, target: u64) -> String"),
        "{detail}"
    );
}

#[test]
fn host_1_1_loads_1_0_with_missing_methods_and_defaults() {
    let proxies = open(V10).instantiate::<dyn Greeter11>().unwrap();
    let english = &proxies[0];
    assert_eq!(english.greet("you"), "Hello, you!");
    assert_eq!(
        english.shout("you"),
        "HELLO, YOU!",
        "the trait's default body"
    );
    assert_eq!(english.try_shout("me").unwrap(), "HELLO, ME!");
    match english.try_farewell("you") {
        Err(CallError::MethodMissing {
            trait_name,
            method,
            interface,
            ..
        }) => {
            assert_eq!(
                (trait_name.as_str(), method.as_str()),
                ("Greeter", "farewell")
            );
            assert_eq!(interface, "greeter-interface 1.0.0");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        english.try_farewell("you").unwrap_err().to_string(),
        format!(
            "{}: Greeter::farewell is not in the plugin: it was built against greeter-interface 1.0.0, which lacks it",
            plugins().path(V10).display()
        )
    );
}

#[test]
fn host_1_1_loads_1_1_and_refuses_2_0() {
    let proxies = open(V11).instantiate::<dyn Greeter11>().unwrap();
    assert_eq!(proxies[0].farewell("you"), "Goodbye, you.");
    assert_eq!(proxies[0].shout("you"), "GOOD DAY, YOU.");
    let error = open(V20).instantiate::<dyn Greeter11>().unwrap_err();
    assert!(
        error.to_string().contains(
            "Greeter::greet argument 1: expected RStr, found u64 \
             (plugin built against greeter-interface 2.0.0, host has greeter-interface 1.1.0)"
        ),
        "{error}"
    );
}

#[test]
fn host_2_0_refuses_1_x_and_loads_2_0() {
    for (package, version) in [(V10, "1.0.0"), (V11, "1.1.0")] {
        let error = open(package).instantiate::<dyn Greeter20>().unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: Greeter::greet argument 1: expected u64, found RStr \
                 (plugin built against greeter-interface {version}, host has greeter-interface 2.0.0)",
                plugins().path(package).display()
            )
        );
    }
    let proxies = open(V20).instantiate::<dyn Greeter20>().unwrap();
    assert_eq!(proxies[0].greet(7), "Hello, visitor 7!");
}

#[test]
fn no_code_of_a_refused_plugin_runs() {
    // The 2.0 plugin's constructor writes the marker file. A 1.0 host
    // refuses the plugin from its canary alone: no marker.
    plugin_tests::in_child_process("no_code_of_a_refused_plugin_runs", || {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("constructor-ran");
        // SAFETY: this child process runs this one test, on one thread.
        unsafe { std::env::set_var("PLUGIN_FIXTURE_MARKER", &marker) };
        let library = open(V20);
        assert!(library.instantiate::<dyn Greeter10>().is_err());
        assert!(library.entries("Greeter").unwrap().len() == 1);
        assert!(!marker.exists(), "a refused plugin's constructor ran");
        // The marker works: a 2.0 host makes the instance.
        let proxies = library.instantiate::<dyn Greeter20>().unwrap();
        assert!(marker.exists());
        drop(proxies);
    });
}
