//! Greeting through every example plugin, several impls and several traits
//! per library, entry selection.

use calculator_interface::{Calculator, Stats};
use greeter_interface::Greeter;
use plugin_interface::{PluginError, PluginLibrary, load_plugins};
use plugin_tests::plugins;

fn greetings(package: &str) -> Vec<(String, String)> {
    let report = load_plugins::<dyn Greeter>(plugins().path(package)).unwrap();
    report
        .into_result()
        .unwrap()
        .iter()
        .map(|p| (p.info().entry().to_owned(), p.greet("world")))
        .collect()
}

#[test]
fn english_plugin_greets() {
    assert_eq!(
        greetings("english-plugin"),
        [("English".to_owned(), "Hello, world!".to_owned())]
    );
}

#[test]
fn two_impls_in_one_library_both_load_in_entry_order() {
    assert_eq!(
        greetings("multi-greeter-plugin"),
        [
            ("French".to_owned(), "Bonjour, world !".to_owned()),
            ("Pirate".to_owned(), "Ahoy, world! Arr!".to_owned()),
        ]
    );
}

#[test]
fn two_traits_in_one_library() {
    let path = plugins().path("calculator-plugin");
    let library = PluginLibrary::open(path).unwrap();
    assert_eq!(library.canary().trait_names(), ["Calculator", "Greeter"]);

    let greeters = library.instantiate::<dyn Greeter>().unwrap();
    assert_eq!(greeters.len(), 1);
    assert_eq!(greeters[0].name(), "counting");
    assert_eq!(
        greeters[0].greet("world"),
        "Hello, world, the answer is 42."
    );

    let mut calculators = library.instantiate::<dyn Calculator>().unwrap();
    let calculator = &mut calculators[0];
    assert_eq!(calculator.name(), "arithmetic");
    assert_eq!(calculator.evaluate("1 + 2 * (3 - 4)"), Ok(-1.0));
    assert_eq!(
        calculator.evaluate("1 / 0"),
        Err("division by zero".to_owned())
    );
    assert_eq!(calculator.tokens("2*(3)"), ["2", "*", "(", "3", ")"]);
    assert_eq!(calculator.stats(&[]), None);
    assert_eq!(
        calculator.stats(&[2.0, -1.0, 5.0]),
        Some(Stats {
            count: 3,
            sum: 6.0,
            min: -1.0,
            max: 5.0
        })
    );
    assert_eq!(calculator.store(Some(1.5)), None);
    assert_eq!(calculator.store(None), Some(1.5));
}

#[test]
fn proxies_work_as_boxed_trait_objects() {
    let report = load_plugins::<dyn Greeter>(plugins().path("multi-greeter-plugin")).unwrap();
    let boxed: Vec<Box<dyn Greeter>> = report
        .into_iter()
        .map(|p| Box::new(p) as Box<dyn Greeter>)
        .collect();
    let names: Vec<String> = boxed.iter().map(|g| g.name()).collect();
    assert_eq!(names, ["french", "pirate"]);
}

#[test]
fn proxies_can_move_to_other_threads() {
    let report = load_plugins::<dyn Greeter>(plugins().path("english-plugin")).unwrap();
    let proxy = report.into_plugins().pop().unwrap();
    let greeting = std::thread::spawn(move || proxy.greet("thread"))
        .join()
        .unwrap();
    assert_eq!(greeting, "Hello, thread!");
}

#[test]
fn spec_selects_one_entry() {
    let spec = format!(
        "lib:{}?entry=Pirate",
        plugins().path("multi-greeter-plugin").display()
    );
    let proxies = load_plugins::<dyn Greeter>(&spec)
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!(proxies.len(), 1);
    assert_eq!(proxies[0].info().entry(), "Pirate");
    assert_eq!(proxies[0].greet("you"), "Ahoy, you! Arr!");
}

#[test]
fn unknown_entry_lists_the_available_ones() {
    let path = plugins().path("multi-greeter-plugin");
    let spec = format!("lib:{}?entry=German", path.display());
    let error = load_plugins::<dyn Greeter>(&spec)
        .unwrap()
        .into_result()
        .unwrap_err();
    match &error {
        PluginError::EntryNotFound {
            library,
            entry,
            available,
            ..
        } => {
            assert_eq!(library, path);
            assert_eq!(entry, "German");
            assert_eq!(available, &["French", "Pirate"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        error
            .to_string()
            .ends_with("no `Greeter` entry named `German` (available: French, Pirate)")
    );
}

#[test]
fn asking_for_a_trait_the_library_lacks_names_what_it_has() {
    let path = plugins().path("english-plugin");
    let error = PluginLibrary::open(path)
        .unwrap()
        .instantiate::<dyn Calculator>()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: does not export trait `Calculator` (it exports: Greeter)",
            path.display()
        )
    );
}

#[test]
fn entries_are_listed_without_making_instances() {
    let library = PluginLibrary::open(plugins().path("roundtrip-plugin")).unwrap();
    let entries: Vec<String> = library
        .entries("RoundTrip")
        .unwrap()
        .into_iter()
        .map(|e| e.entry)
        .collect();
    assert_eq!(entries, ["Echo", "Mirror"]);
    assert_eq!(library.unmaker_counter("RoundTrip").unwrap(), 0);
}

#[test]
fn canary_describes_the_build() {
    let library = PluginLibrary::open(plugins().path("english-plugin")).unwrap();
    let canary = library.canary();
    assert_eq!(canary.abi_epoch, plugin_interface::abi::ABI_EPOCH);
    assert_eq!(
        canary.framework_version,
        plugin_interface::abi::FRAMEWORK_VERSION
    );
    assert!(
        canary.rustc_version.starts_with("rustc "),
        "{}",
        canary.rustc_version
    );
    assert_eq!(canary.target, plugin_interface::abi::TARGET);
    let greeter = &canary.traits[0];
    assert_eq!(greeter.name, "Greeter");
    assert_eq!(greeter.interface_crate, "greeter-interface");
    assert_eq!(greeter.interface_version, "1.0.0");
    let signatures: Vec<&str> = greeter
        .methods
        .iter()
        .map(|m| m.signature.as_str())
        .collect();
    assert_eq!(
        signatures,
        [
            "fn name(&self) -> String",
            "fn greet(&self, target: &str) -> String"
        ]
    );
}
