//! Enums, owned structs, tuples, maps, wide integers, host objects,
//! closures and plugin objects cross into a real plugin library and back.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use plugin_interface::{CallError, load_plugins};
use plugin_tests::plugins;
use plugin_tests::zoo::{HostServices, Reflector};
use zoo_interface::{Person, Services, Shape, Zoo, ZooError, ZooProxy};

fn zoo() -> ZooProxy {
    let plugins = load_plugins::<dyn Zoo>(plugins().path("zoo-plugin")).unwrap();
    if let Some(error) = plugins.errors().next() {
        panic!("{error}");
    }
    plugins.into_iter().next().expect("the keeper")
}

fn person(name: &str, age: Option<u32>) -> Person {
    Person {
        name: name.to_owned(),
        tags: vec!["a".to_owned(), "ünïcödé 🦀".to_owned()],
        age,
        home: Shape::Rect(2.0, 3.5),
    }
}

#[test]
fn enums_cross_both_ways() {
    let zoo = zoo();
    assert_eq!(zoo.name(), "keeper");
    assert_eq!(zoo.area(&Shape::Rect(2.0, 3.0)), 6.0);
    assert_eq!(zoo.area(&Shape::Empty), 0.0);
    assert!((zoo.area(&Shape::Circle { radius: 1.0 }) - std::f64::consts::PI).abs() < 1e-12);
    assert_eq!(
        zoo.grow(Shape::Circle { radius: 1.5 }, 2.0),
        Shape::Circle { radius: 3.0 }
    );
    assert_eq!(zoo.grow(Shape::Rect(1.0, 2.0), 3.0), Shape::Rect(3.0, 6.0));
    assert_eq!(zoo.grow(Shape::Empty, 3.0), Shape::Empty);
}

#[test]
fn owned_structs_and_results_with_enum_errors() {
    let zoo = zoo();
    let renamed = zoo.rename(person("ada", Some(36)), "grace").unwrap();
    assert_eq!(
        renamed,
        Person {
            name: "grace".to_owned(),
            ..person("ada", Some(36))
        }
    );
    assert_eq!(
        zoo.rename(person("ada", None), "nobody"),
        Err(ZooError::NotFound("ada".to_owned()))
    );
    assert_eq!(
        zoo.rename(person("ada", None), ""),
        Err(ZooError::Invalid {
            code: 22,
            why: "ada cannot have an empty name".to_owned()
        })
    );
}

#[test]
fn borrowed_slices_of_owned_structs() {
    let zoo = zoo();
    let people = [
        person("a", Some(3)),
        person("b", None),
        person("c", Some(70)),
        person("d", Some(5)),
    ];
    assert_eq!(zoo.oldest(&people), Some(person("c", Some(70))));
    assert_eq!(zoo.oldest(&[]), None);
    let words: Vec<String> = ["a", "b", "a", "日本", "a"]
        .iter()
        .map(|w| (*w).to_owned())
        .collect();
    let counts = zoo.count(&words);
    assert_eq!(
        counts,
        HashMap::from([
            ("a".to_owned(), 3),
            ("b".to_owned(), 1),
            ("日本".to_owned(), 1)
        ])
    );
    assert!(zoo.count(&[]).is_empty());
}

#[test]
fn vectors_of_owned_structs_empty_and_large() {
    let zoo = zoo();
    assert!(zoo.crowd(0).is_empty());
    let crowd = zoo.crowd(10_000);
    assert_eq!(crowd.len(), 10_000);
    assert_eq!(crowd[7].name, "visitor 7");
    assert_eq!(crowd[7].tags, ["crowd", "#7"]);
    assert_eq!(crowd[7].age, Some(7));
    assert_eq!(crowd[7].home, Shape::Circle { radius: 7.0 });
    assert_eq!(crowd[9].age, None);
    assert_eq!(crowd[9_998].home, Shape::Rect(9_998.0, 2.0));
}

#[test]
fn tuples_wide_integers_chars_and_arrays() {
    let zoo = zoo();
    assert_eq!(zoo.split((7, "seven".to_owned())), ("seven".to_owned(), 7));
    assert_eq!(zoo.split((0, String::new())), (String::new(), 0));
    assert_eq!(
        zoo.wide(u128::MAX / 5, i128::MIN + 1, 'é'),
        ((u128::MAX / 5).wrapping_mul(3), i128::MAX, 'É')
    );
    assert_eq!(
        zoo.wide(1 << 100, -(1 << 90), '🦀'),
        (3 << 100, 1 << 90, '🦀')
    );
    assert_eq!(zoo.reverse([1, 2, 3, 4]), [4, 3, 2, 1]);
}

#[test]
fn lent_host_objects_are_called_back() {
    let zoo = zoo();
    let services = HostServices::default();
    assert_eq!(zoo.ask(&services, "colour"), "colour is green");
    assert_eq!(zoo.ask(&services, "size"), "size is unknown");
    assert_eq!(services.drops.load(Ordering::SeqCst), 0, "lent, not given");
}

#[test]
fn given_host_objects_are_kept_and_dropped_by_the_plugin() {
    let zoo = zoo();
    assert!(!zoo.ping("before"));
    let services = HostServices::default();
    let (lines, drops) = (Arc::clone(&services.lines), Arc::clone(&services.drops));
    zoo.attach(Box::new(services));
    assert!(zoo.ping("one"));
    assert!(zoo.ping("two"));
    assert_eq!(*lines.lock().unwrap(), ["attached to keeper", "one", "two"]);
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    // Another attach drops the first services in the plugin: the host's
    // `Drop` runs.
    zoo.attach(Box::new(HostServices::default()));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn a_returned_object_keeps_its_parent_and_what_the_parent_holds() {
    let zoo = zoo();
    let services = HostServices::default();
    let drops = Arc::clone(&services.drops);
    zoo.attach(Box::new(services));
    let child = zoo.child("junior");
    drop(zoo);
    // The parent instance lives on with its child, and so do the host's
    // services it holds.
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    assert_eq!(child.name(), "junior");
    drop(child);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn closures_are_called_back_until_they_stop() {
    let zoo = zoo();
    let mut seen = Vec::new();
    let called = zoo.each(10, &mut |i| {
        seen.push(i);
        i < 3
    });
    assert_eq!(called, 4);
    assert_eq!(seen, [0, 1, 2, 3]);
    assert_eq!(zoo.each(0, &mut |_| true), 0);
}

#[test]
fn plugin_objects_come_back_as_proxies() {
    let zoo = zoo();
    let child = zoo.child("junior");
    assert_eq!(child.name(), "junior");
    assert_eq!(
        child.grow(Shape::Rect(1.0, 1.0), 2.0),
        Shape::Rect(2.0, 2.0)
    );
    let grandchild = child.child("tiny");
    assert_eq!(grandchild.name(), "tiny");
    // A proxy handed back to a plugin, its own or another object.
    assert_eq!(zoo.greet_other(&*child), "keeper greets junior");
    assert_eq!(child.greet_other(&zoo), "junior greets keeper");
    assert_eq!(grandchild.greet_other(&*grandchild), "tiny greets tiny");
    drop(zoo);
    // The child keeps its library loaded after the registration is gone.
    assert_eq!(child.name(), "junior");
}

#[test]
fn a_panicking_callback_resumes_in_the_host_as_it_began() {
    let zoo = zoo();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        zoo.each(5, &mut |i| {
            if i == 2 {
                std::panic::panic_any(42_u32);
            }
            true
        })
    }))
    .expect_err("the callback's panic reaches the host");
    assert_eq!(
        caught.downcast_ref::<u32>(),
        Some(&42),
        "the original payload"
    );
    // The plugin is still usable, and a `try_` call returns the panic.
    assert_eq!(zoo.each(2, &mut |_| true), 2);
    match zoo.try_each(5, &mut |_| panic!("callback gave up")) {
        Err(CallError::Panicked {
            message, method, ..
        }) => {
            assert_eq!(method, "each");
            assert!(message.contains("callback gave up"), "{message}");
        }
        other => panic!("expected Panicked, got {other:?}"),
    }
}

#[test]
fn a_panicking_host_object_resumes_in_the_host() {
    struct Failing;
    impl Services for Failing {
        fn lookup(&self, key: &str) -> Option<String> {
            panic!("no lookups for {key}")
        }
        fn record(&self, _: String) {}
    }
    let zoo = zoo();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| zoo.ask(&Failing, "x")))
        .expect_err("the host object's panic reaches the host");
    assert_eq!(
        caught.downcast_ref::<String>().map(String::as_str),
        Some("no lookups for x")
    );
}

#[test]
fn large_values_cross_both_ways() {
    let zoo = zoo();
    // A 1 MB string, by value both ways.
    let text = "ü".repeat(1 << 19);
    assert_eq!(zoo.split((3, text.clone())), (text, 3));
    // A million borrowed strings.
    let words: Vec<String> = (0..1_000_000).map(|i| (i % 7).to_string()).collect();
    let counts = zoo.count(&words);
    assert_eq!(counts.len(), 7);
    assert_eq!(counts["0"], 142_858);
    // A crowd of 100,000 owned structs, each with strings, a vector, an
    // option and an enum.
    let crowd = zoo.crowd(100_000);
    assert_eq!(crowd.len(), 100_000);
    assert_eq!(crowd[99_999].name, "visitor 99999");
}

#[test]
fn objects_handed_out_under_a_manager_are_retired_with_their_library() {
    use plugin_interface::PluginManager;

    /// The panic a call through a retired object raises.
    fn unloaded(object: &dyn Zoo) -> bool {
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| object.name()))
            .expect_err("a retired object's call panics");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        message.ends_with("the plugin was unloaded")
    }

    let dir = tempfile::tempdir().unwrap();
    let path = plugins().copy_to("zoo-plugin", dir.path(), "libzoo");
    let manager = PluginManager::new().unwrap();
    manager.load(&path).unwrap();
    let zoo = manager.proxy::<dyn Zoo>(&path, "Keeper").unwrap();
    let child = zoo.child("junior");
    let grandchild = child.child("tiny");
    assert_eq!(child.name(), "junior");
    assert_eq!(grandchild.name(), "tiny");
    drop(zoo.child("brief"));

    // A reload keeps the instance's proxy and retires what the old version
    // handed out.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"another build");
    std::fs::write(&path, bytes).unwrap();
    manager.reload(&path).unwrap();
    assert_eq!(zoo.name(), "keeper");
    assert!(unloaded(&*child), "retired by the reload");
    assert!(unloaded(&*grandchild));

    // Unloading retires what the new version handed out, and the library
    // leaves the process.
    let fresh = zoo.child("fresh");
    assert_eq!(fresh.name(), "fresh");
    let report = manager.unload_by_path(&path).unwrap();
    assert!(unloaded(&*fresh));
    assert!(matches!(zoo.try_name(), Err(CallError::Unloaded { .. })));
    assert!(report.outcome.is_unloaded(), "{:?}", report.outcome);
}

#[test]
fn objects_passed_back_and_forth_pile_up_no_wrappers() {
    use zoo_interface::Pen;

    /// A zoo of the host's own.
    struct HostZoo;
    impl Zoo for HostZoo {
        fn name(&self) -> String {
            "host zoo".to_owned()
        }
        fn area(&self, _: &Shape) -> f64 {
            0.0
        }
        fn grow(&self, shape: Shape, _: f64) -> Shape {
            shape
        }
        fn rename(&self, person: Person, _: &str) -> Result<Person, ZooError> {
            Ok(person)
        }
        fn oldest(&self, _: &[Person]) -> Option<Person> {
            None
        }
        fn crowd(&self, _: u32) -> Vec<Person> {
            Vec::new()
        }
        fn split(&self, pair: (u32, String)) -> (String, u32) {
            (pair.1, pair.0)
        }
        fn wide(&self, x: u128, y: i128, c: char) -> (u128, i128, char) {
            (x, y, c)
        }
        fn count(&self, _: &[String]) -> HashMap<String, u32> {
            HashMap::new()
        }
        fn reverse(&self, xs: [u8; 4]) -> [u8; 4] {
            xs
        }
        fn ask(&self, _: &dyn Services, key: &str) -> String {
            key.to_owned()
        }
        fn attach(&self, _: Box<dyn Services>) {}
        fn ping(&self, _: &str) -> bool {
            false
        }
        fn each(&self, _: u32, _: &mut dyn FnMut(u32) -> bool) -> u32 {
            0
        }
        fn child(&self, _: &str) -> Box<dyn Zoo> {
            Box::new(HostZoo)
        }
        fn greet_other(&self, other: &dyn Zoo) -> String {
            other.name()
        }
    }

    // One image: a second load of the same file is another image, whose
    // objects are wrapped like any other library's.
    let library = plugin_interface::PluginLibrary::open(plugins().path("zoo-plugin")).unwrap();
    let pen = library.instantiate::<dyn Pen>().unwrap().pop().unwrap();
    let elsewhere = zoo();
    let zoo = library.instantiate::<dyn Zoo>().unwrap().pop().unwrap();
    assert_eq!(
        pen.kind(&elsewhere),
        "proxy",
        "another image's object is wrapped"
    );
    assert_eq!(pen.kind(&*elsewhere.child("far")), "proxy");

    // The plugin's own object, bounced through the host a hundred times,
    // reaches the plugin as itself each time.
    let mut kid = zoo.child("kid");
    for _ in 0..100 {
        kid = pen.keep(kid);
        assert_eq!(pen.kind(&*kid), "own");
    }
    assert_eq!(kid.name(), "kid");

    // The host's own object comes back as itself, not as a proxy.
    let mut mine: Box<dyn Zoo> = Box::new(HostZoo);
    for _ in 0..100 {
        mine = pen.keep(mine);
    }
    assert!(mine.__plugin_proxy().is_none(), "the host's own object");
    assert_eq!(mine.name(), "host zoo");
    assert_eq!(
        pen.kind(&*mine),
        "proxy",
        "a host object is a proxy to the plugin"
    );
}

fn pen() -> zoo_interface::PenProxy {
    let library = plugin_interface::PluginLibrary::open(plugins().path("zoo-plugin")).unwrap();
    library
        .instantiate::<dyn zoo_interface::Pen>()
        .unwrap()
        .pop()
        .unwrap()
}

#[test]
fn a_host_object_receives_and_returns_every_kind_of_value() {
    use zoo_interface::Pen;

    assert_eq!(pen().reflect(&Reflector), "ok");
}

#[test]
fn shared_objects_mutable_loans_and_closures_of_several_arguments() {
    use zoo_interface::{Counter, Pen};

    struct Tally(u32);
    impl Counter for Tally {
        fn bump(&mut self) -> u32 {
            self.0 += 1;
            self.0
        }
    }

    let pen = pen();
    let mut tally = Tally(10);
    assert_eq!(pen.bump_twice(&mut tally), 12);
    assert_eq!(tally.0, 12, "the plugin changed the host's object");

    let suffix = "!".to_owned();
    let words = pen.apply("one two three", &|word, n| format!("{n}:{word}{suffix}"));
    assert_eq!(words, ["0:one!", "1:two!", "2:three!"]);

    // A shared object: the plugin holds one reference, the host another,
    // and the plugin's is released through it.
    let shared: Arc<dyn Zoo> = Arc::new(zoo());
    assert_eq!(pen.share(Arc::clone(&shared)), "keeper");
    assert_eq!(
        Arc::strong_count(&shared),
        2,
        "the plugin keeps one reference"
    );
    pen.release();
    assert_eq!(Arc::strong_count(&shared), 1, "released through the plugin");
}
