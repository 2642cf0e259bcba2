//! Calling methods by name with JSON values, through the serialised path
//! of real plugin libraries: every kind of carried value, panics, and the
//! refusals that name what was wrong before any plugin code runs. The
//! value-crossing cases run twice: in process, and with each library in
//! its own worker process.

use std::time::Duration;

use plugin_interface::isolation::{WorkerInvoker, WorkerLibrary, WorkerOptions};
use plugin_interface::{Invoker, LoadOptions, PluginError, PluginInterface, PluginLibrary};
use plugin_tests::{plugin_worker, plugins};
use serde_json::{Value, json};

/// A library called by name: loaded here, or served by a worker.
enum Library {
    Here(PluginLibrary),
    Worker(Box<WorkerLibrary>),
}

/// One instance called by name, here or in a worker.
enum Instance<'a> {
    Here(Invoker),
    Worker(WorkerInvoker<'a>),
}

impl Library {
    fn invoke(&self, trait_name: &str, method: &str, args: &[Value]) -> Result<Value, PluginError> {
        match self {
            Self::Here(library) => library.invoke(trait_name, method, args),
            Self::Worker(library) => library.invoke(trait_name, method, args),
        }
    }

    fn invoker(&self, trait_name: &str, entry: Option<&str>) -> Result<Instance<'_>, PluginError> {
        match self {
            Self::Here(library) => library.invoker(trait_name, entry).map(Instance::Here),
            Self::Worker(library) => library.invoker(trait_name, entry).map(Instance::Worker),
        }
    }
}

impl Instance<'_> {
    fn invoke(&mut self, method: &str, args: &[Value]) -> Result<Value, PluginError> {
        match self {
            Self::Here(instance) => instance.invoke(method, args),
            Self::Worker(instance) => instance.invoke(method, args),
        }
    }
}

fn here(package: &str) -> Library {
    Library::Here(PluginLibrary::open(plugins().path(package)).unwrap())
}

fn in_worker(package: &str) -> Library {
    let options = WorkerOptions::default()
        .worker(plugin_worker())
        .call_timeout(Duration::from_secs(30));
    let library =
        WorkerLibrary::spawn(plugins().path(package), &LoadOptions::default(), &options).unwrap();
    Library::Worker(Box::new(library))
}

fn open(package: &str) -> PluginLibrary {
    PluginLibrary::open(plugins().path(package)).unwrap()
}

fn call(library: &Library, trait_name: &str, method: &str, args: &[Value]) -> Value {
    library
        .invoke(trait_name, method, args)
        .unwrap_or_else(|error| panic!("{trait_name}::{method}: {error}"))
}

/// Each case run with its library loaded here and in a worker.
macro_rules! here_and_in_a_worker {
    ($($case:ident),* $(,)?) => {
        mod in_process {
            $(#[test] fn $case() { super::$case(super::here) })*
        }
        mod in_a_worker {
            $(#[test] fn $case() { super::$case(super::in_worker) })*
        }
    };
}

here_and_in_a_worker!(
    the_english_greeter_answers_by_name,
    derived_structs_and_enums_cross_by_name,
    tuples_wide_integers_chars_maps_and_arrays_cross_by_name,
    a_plugin_mirror_gives_every_kind_back,
    primitives_strings_options_and_results_cross_by_name,
    a_panic_in_the_method_is_a_typed_error,
);

fn the_english_greeter_answers_by_name(open: fn(&str) -> Library) {
    let english = open("english-plugin");
    assert_eq!(
        call(&english, "Greeter", "greet", &[json!("world")]),
        json!("Hello, world!")
    );
}

fn derived_structs_and_enums_cross_by_name(open: fn(&str) -> Library) {
    let zoo = open("zoo-plugin");
    let ada =
        json!({"name": "Ada", "tags": ["a", "ünï 🦀"], "age": 36, "home": {"Rect": [2.0, 3.5]}});
    let bob = json!({"name": "Bob", "tags": [], "age": null, "home": "Empty"});
    assert_eq!(
        call(&zoo, "Zoo", "area", &[json!({"Rect": [2.0, 3.0]})]),
        json!(6.0)
    );
    assert_eq!(
        call(
            &zoo,
            "Zoo",
            "grow",
            &[json!({"Circle": {"radius": 1.5}}), json!(2)]
        ),
        json!({"Circle": {"radius": 3.0}})
    );
    let mut renamed = ada.clone();
    renamed["name"] = json!("Grace");
    assert_eq!(
        call(&zoo, "Zoo", "rename", &[ada.clone(), json!("Grace")]),
        json!({ "Ok": renamed })
    );
    assert_eq!(
        call(&zoo, "Zoo", "rename", &[bob.clone(), json!("")]),
        json!({"Err": {"Invalid": {"code": 22, "why": "Bob cannot have an empty name"}}})
    );
    assert_eq!(
        call(&zoo, "Zoo", "rename", &[bob.clone(), json!("nobody")]),
        json!({"Err": {"NotFound": "Bob"}})
    );
    assert_eq!(call(&zoo, "Zoo", "oldest", &[json!([bob, ada])]), ada);
    assert_eq!(call(&zoo, "Zoo", "oldest", &[json!([])]), json!(null));
    let crowd = call(&zoo, "Zoo", "crowd", &[json!(2)]);
    assert_eq!(crowd[1]["name"], json!("visitor 1"));
    assert_eq!(crowd[1]["tags"], json!(["crowd", "#1"]));
}

fn tuples_wide_integers_chars_maps_and_arrays_cross_by_name(open: fn(&str) -> Library) {
    let zoo = open("zoo-plugin");
    assert_eq!(
        call(&zoo, "Zoo", "split", &[json!([7, "seven"])]),
        json!(["seven", 7])
    );
    let big = u128::MAX / 5;
    assert_eq!(
        call(
            &zoo,
            "Zoo",
            "wide",
            &[
                json!(big.to_string()),
                json!("-170141183460469231731687303715884105727"),
                json!("ß")
            ]
        ),
        json!([
            big.wrapping_mul(3).to_string(),
            "170141183460469231731687303715884105727",
            "S"
        ])
    );
    assert_eq!(
        call(&zoo, "Zoo", "count", &[json!(["a", "b", "a"])]),
        json!({"a": 2, "b": 1})
    );
    assert_eq!(
        call(&zoo, "Zoo", "reverse", &[json!([1, 2, 3, 4])]),
        json!([4, 3, 2, 1])
    );
}

fn a_plugin_mirror_gives_every_kind_back(open: fn(&str) -> Library) {
    let zoo = open("zoo-plugin");
    let person =
        json!({"name": "Ada", "tags": ["x"], "age": null, "home": {"Circle": {"radius": 1.0}}});
    let mut shouted = person.clone();
    shouted["name"] = json!("Ada!");
    assert_eq!(
        call(&zoo, "Mirror", "person", std::slice::from_ref(&person)),
        shouted
    );
    assert_eq!(
        call(&zoo, "Mirror", "people", &[json!([person, shouted])]),
        json!([shouted, person])
    );
    assert_eq!(
        call(&zoo, "Mirror", "shape", &[json!("Empty")]),
        json!("Empty")
    );
    assert_eq!(
        call(
            &zoo,
            "Mirror",
            "wide",
            &[json!([u128::MAX.to_string(), i128::MIN.to_string(), "🦀"])]
        ),
        json!([u128::MAX.to_string(), i128::MIN.to_string(), "🦀"])
    );
    assert_eq!(
        call(&zoo, "Mirror", "map", &[json!({"b": 2, "a": 1})]),
        json!({"a": 1, "b": 2})
    );
    let nested = json!([{"Ok": [1, 2]}, {"Err": {"NotFound": "x"}}, {"Err": {"Invalid": {"code": -1, "why": ""}}}]);
    assert_eq!(
        call(&zoo, "Mirror", "nested", std::slice::from_ref(&nested)),
        nested
    );
    assert_eq!(call(&zoo, "Mirror", "nested", &[json!(null)]), json!(null));
    assert_eq!(
        call(&zoo, "Mirror", "set", &[json!(["z", "a", "m"])]),
        json!(["a", "m", "z"])
    );
    assert_eq!(
        call(&zoo, "Mirror", "boxed", &[json!({"Rect": [1.0, 2.0]})]),
        json!({"Rect": [1.0, 2.0]})
    );
}

fn primitives_strings_options_and_results_cross_by_name(open: fn(&str) -> Library) {
    let library = open("roundtrip-plugin");
    let mut echo = library.invoker("RoundTrip", Some("Echo")).unwrap();
    let mut call = |method: &str, args: &[Value]| {
        echo.invoke(method, args)
            .unwrap_or_else(|error| panic!("{method}: {error}"))
    };
    assert_eq!(
        call(
            "ints",
            &[json!(-1), json!(-2), json!(-3), json!(-4), json!(-5)]
        ),
        json!(-10) // each plus one
    );
    assert_eq!(
        call(
            "uints",
            &[json!(255), json!(65535), json!(1), json!(2), json!(3)]
        ),
        json!(65796)
    );
    assert_eq!(call("floats", &[json!(1.5), json!(2.25)]), json!(7.5));
    assert_eq!(call("not", &[json!(true)]), json!(false));
    assert_eq!(call("echo_str", &[json!("héllo")]), json!("héllo"));
    assert_eq!(call("echo_string", &[json!("")]), json!(""));
    assert_eq!(call("echo_bytes", &[json!([0, 255])]), json!([0, 255]));
    assert_eq!(call("reverse", &[json!(["a", "b"])]), json!(["b", "a"]));
    assert_eq!(call("echo_option", &[json!("x")]), json!("x"));
    assert_eq!(call("echo_option", &[json!(null)]), json!(null));
    assert_eq!(call("echo_result", &[json!({"Ok": 5})]), json!({"Ok": 5}));
    assert_eq!(
        call("echo_result", &[json!({"Err": "e"})]),
        json!({"Err": "e"})
    );
    assert_eq!(call("check", &[json!(true)]), json!({"Ok": null}));
    let point = json!({"x": 1.0, "y": -1.0, "id": 3, "visible": true});
    assert_eq!(call("echo_point", std::slice::from_ref(&point)), point);
    assert_eq!(
        call(
            "sum_points",
            &[json!([point, {"x": 1.0, "y": 1.0, "id": 9, "visible": false}])]
        ),
        json!({"x": 2.0, "y": 0.0, "id": 9, "visible": true})
    );
    // `&str` borrowed from the instance, and state kept across calls.
    assert_eq!(call("label", &[]), json!("echo"));
    assert_eq!(call("set_label", &[json!("renamed")]), json!(null));
    assert_eq!(call("label", &[]), json!("renamed"));
    assert_eq!(call("bump", &[]), json!(1));
    assert_eq!(call("bump", &[]), json!(2));
}

fn a_panic_in_the_method_is_a_typed_error(open: fn(&str) -> Library) {
    let library = open("roundtrip-plugin");
    let mut echo = library.invoker("RoundTrip", Some("Echo")).unwrap();
    match echo.invoke("fail", &[json!("boom")]) {
        Err(PluginError::Panicked {
            trait_name,
            method,
            message,
            ..
        }) => {
            assert_eq!(
                (trait_name.as_str(), method.as_str()),
                ("RoundTrip", "fail")
            );
            assert_eq!(message, "boom");
        }
        other => panic!("{other:?}"),
    }
    // The instance still answers.
    assert_eq!(echo.invoke("not", &[json!(false)]).unwrap(), json!(true));
}

#[test]
fn wrong_calls_are_refused_naming_what_was_wrong() {
    let english = open("english-plugin");
    let path = plugins().path("english-plugin").display().to_string();
    let error = english.invoke("Greeter", "greet", &[]).unwrap_err();
    assert!(
        matches!(
            error,
            PluginError::WrongArity {
                expected: 1,
                found: 0,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("{path}: Greeter::greet takes 1 argument(s) (target), 0 given")
    );
    let error = english.invoke("Greeter", "greet", &[json!(3)]).unwrap_err();
    assert!(
        matches!(&error, PluginError::InvalidArgument { parameter, .. } if parameter == "target"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{path}: Greeter::greet: argument `target`: RStr: expected a string, found a number"
        )
    );
    let error = english.invoke("Greeter", "shout", &[]).unwrap_err();
    assert!(
        matches!(error, PluginError::MethodNotFound { .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .ends_with("Greeter has no method `shout` (it has: name, greet)"),
        "{error}"
    );
    let error = english.invoke("Calculator", "add", &[]).unwrap_err();
    assert!(
        matches!(error, PluginError::TraitNotExported { .. }),
        "{error:?}"
    );

    let zoo = open("zoo-plugin");
    let error = zoo
        .invoke(
            "Zoo",
            "rename",
            &[
                json!({"name": "a", "tags": [], "age": null, "home": "Square"}),
                json!("b"),
            ],
        )
        .unwrap_err();
    assert!(
        error.to_string().ends_with(
            "Zoo::rename: argument `person`: Person: .home: unknown variant `Square`, expected one of Circle, Rect, Empty"
        ),
        "{error}"
    );
    let roundtrip = open("roundtrip-plugin");
    let error = roundtrip
        .invoke("RoundTrip", "not", &[json!(true)])
        .unwrap_err();
    assert!(
        matches!(error, PluginError::EntryNotFound { ref available, .. } if available.len() == 2),
        "{error:?}"
    );
}

#[test]
fn objects_and_closures_are_refused_naming_the_parameter() {
    let zoo = open("zoo-plugin");
    let refused = |method: &str, args: &[Value]| match zoo.invoke("Zoo", method, args) {
        Err(PluginError::NotSerialisable {
            parameter, reason, ..
        }) => format!("{parameter}: {reason}"),
        other => panic!("{method}: {other:?}"),
    };
    assert_eq!(
        refused("ask", &[json!(null), json!("k")]),
        "argument `host`: a lent or owned object (`&dyn Trait`) does not cross the serialised path"
    );
    assert!(refused("attach", &[json!(null)]).starts_with("argument `host`: "));
    assert_eq!(
        refused("each", &[json!(1), json!(null)]),
        "argument `f`: a lent closure does not cross the serialised path"
    );
    assert!(refused("child", &[json!("x")]).starts_with("the return value: "));
}

#[test]
fn a_plugin_whose_layout_differs_is_refused_before_any_dispatch() {
    // The host links forged-interface 1.0.0; the plugin was built against
    // a release whose `Mood` renamed a variant.
    assert_eq!(
        <dyn forged_interface::Oracle as PluginInterface>::DESCRIPTOR
            .name
            .as_str(),
        "Oracle"
    );
    let library = open("forged-plugin-variant");
    let error = library.invoke("Oracle", "letter", &[]).unwrap_err();
    assert!(
        matches!(error, PluginError::LayoutMismatch { .. }),
        "{error:?}"
    );
    let error = library.invoker("Oracle", None).unwrap_err();
    assert!(
        matches!(error, PluginError::LayoutMismatch { .. }),
        "{error:?}"
    );
    // No instance was made, so none was freed.
    assert_eq!(library.unmaker_counter("Oracle").unwrap(), 0);
}
