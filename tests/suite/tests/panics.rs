//! A panicking plugin method: the host survives, `try_` returns
//! `Panicked` with the message, and later calls still work.

use std::panic::{AssertUnwindSafe, catch_unwind};

use greeter_interface::Greeter;
use plugin_interface::{CallError, PluginError, PluginLibrary};
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
        CallError::Panicked {
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
fn a_call_error_becomes_its_plugin_error_namesake_through_question_mark() {
    fn open_and_greet(path: &std::path::Path, name: &str) -> Result<String, PluginError> {
        let library = PluginLibrary::open(path)?;
        let greeters = library.instantiate::<dyn Greeter>()?;
        Ok(greeters[0].try_greet(name)?)
    }

    let path = plugins().path("roundtrip-plugin");
    assert_eq!(open_and_greet(path, "you").unwrap(), "Hi, you.");
    match open_and_greet(path, "panic") {
        Err(PluginError::Panicked {
            library,
            trait_name,
            method,
            message,
        }) => {
            assert_eq!(library, path);
            assert_eq!((trait_name.as_str(), method.as_str()), ("Greeter", "greet"));
            assert_eq!(message, "touchy refuses to greet \"panic\"");
        }
        other => panic!("{other:?}"),
    }
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
                Err(CallError::Panicked {
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
                Err(CallError::Panicked {
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

/// With backtraces on, a panic caught in the plugin still leaves nothing
/// of the library behind once it is closed: the panic is captured on the
/// plugin's side without the thread-local destructors that would pin it.
#[test]
fn a_caught_panic_with_backtraces_on_leaves_the_library_unloadable() {
    const CHILD: &str = "PLUGIN_TESTS_BACKTRACE_CHILD";
    if std::env::var_os(CHILD).is_none() {
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "a_caught_panic_with_backtraces_on_leaves_the_library_unloadable",
                "--exact",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD, "1")
            .env("RUST_BACKTRACE", "full")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains("1 passed"), "{stdout}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = plugins().copy_to("roundtrip-plugin", dir.path(), "roundtrip");
    let library = PluginLibrary::open(&path).unwrap();
    let greeters = library.instantiate::<dyn Greeter>().unwrap();
    assert!(matches!(
        greeters[0].try_greet("panic"),
        Err(CallError::Panicked { .. })
    ));
    let raised = catch_unwind(AssertUnwindSafe(|| greeters[0].greet("panic")));
    assert!(raised.is_err());
    drop(greeters);
    let report = library.close().unwrap();
    assert!(report.outcome.is_unloaded(), "{:?}", report.outcome);
}
