//! A panicking plugin method: the host survives, `try_` returns
//! `Panicked` with the message, and later calls still work.

use std::panic::{AssertUnwindSafe, catch_unwind};

use greeter_interface::Greeter;
use plugin_interface::{PluginError, PluginLibrary};
use plugin_tests::plugins;
use roundtrip_interface::RoundTrip;

#[test]
fn try_method_returns_panicked_with_the_message() {
    let path = plugins().path("roundtrip-plugin");
    let library = PluginLibrary::open(path).unwrap();
    let greeters = library.instantiate::<dyn Greeter>().unwrap();
    let touchy = &greeters[0];

    let error = touchy.try_greet("panic").unwrap_err();
    match &error {
        PluginError::Panicked {
            library,
            trait_name,
            method,
            message,
        } => {
            assert_eq!(library, path);
            assert_eq!(trait_name, "Greeter");
            assert_eq!(method, "greet");
            assert_eq!(message, "touchy refuses to greet \"panic\"");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        error.to_string(),
        format!(
            "{}: Greeter::greet panicked: touchy refuses to greet \"panic\"",
            path.display()
        )
    );

    // The instance and the library are still usable.
    assert_eq!(touchy.greet("world"), "Hi, world.");
    assert_eq!(touchy.try_greet("again").unwrap(), "Hi, again.");
}

#[test]
fn trait_method_re_raises_the_panic_in_the_host() {
    let library = PluginLibrary::open(plugins().path("roundtrip-plugin")).unwrap();
    let greeters = library.instantiate::<dyn Greeter>().unwrap();
    let touchy = &greeters[0];

    let payload = catch_unwind(AssertUnwindSafe(|| touchy.greet("panic"))).unwrap_err();
    let message = payload
        .downcast_ref::<String>()
        .expect("a formatted panic message");
    assert!(
        message.ends_with("Greeter::greet panicked: touchy refuses to greet \"panic\""),
        "{message}"
    );
    assert_eq!(touchy.greet("after"), "Hi, after.");
}

#[test]
fn panics_in_methods_returning_values_and_unit() {
    let library = PluginLibrary::open(plugins().path("roundtrip-plugin")).unwrap();
    for proxy in library.instantiate::<dyn RoundTrip>().unwrap() {
        for round in 0..3 {
            let message = format!("boom {round} ✗");
            match proxy.try_fail(&message) {
                Err(PluginError::Panicked {
                    method,
                    message: got,
                    ..
                }) => {
                    assert_eq!(method, "fail");
                    assert_eq!(got, message);
                }
                other => panic!("{other:?}"),
            }
            match proxy.try_fail_unit("") {
                Err(PluginError::Panicked {
                    method,
                    message: got,
                    ..
                }) => {
                    assert_eq!(method, "fail_unit");
                    assert_eq!(got, "");
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(proxy.echo_str("still alive"), "still alive");
        }
    }
}
