//! Process isolation: a library served by its own worker process, called
//! by name, whose crashes, exits and hangs come back as errors while the
//! host (this test process) goes on.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use plugin_interface::isolation::{WorkerLibrary, WorkerOptions};
use plugin_interface::{LoadOptions, PluginError, ReloadEvent};
use plugin_tests::{plugin_host, plugin_worker, plugins};
use serde_json::json;

fn options() -> WorkerOptions {
    WorkerOptions::default()
        .worker(plugin_worker())
        .call_timeout(Duration::from_secs(30))
}

fn spawn_with(package: &str, options: &WorkerOptions) -> WorkerLibrary {
    WorkerLibrary::spawn(plugins().path(package), &LoadOptions::default(), options)
        .unwrap_or_else(|error| panic!("{error}"))
}

fn spawn(package: &str) -> WorkerLibrary {
    spawn_with(package, &options())
}

/// Whether process `pid` is gone (reaped, or never there).
fn gone(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as i32, 0) != 0 }
}

#[test]
fn a_library_in_a_worker_answers_by_name_and_its_worker_ends_with_it() {
    let english = spawn("english-plugin");
    let pid = english.pid();
    assert_ne!(pid, std::process::id());
    assert!(english.is_alive());
    assert_eq!(
        english
            .invoke("Greeter", "greet", &[json!("world")])
            .unwrap(),
        json!("Hello, world!")
    );
    let mut invoker = english.invoker("Greeter", Some("English")).unwrap();
    assert_eq!(invoker.entry(), "English");
    assert_eq!(invoker.invoke("name", &[]).unwrap(), json!("english"));
    assert_eq!(
        invoker.invoke("greet", &[json!("again")]).unwrap(),
        json!("Hello, again!")
    );
    drop(invoker);
    // Two instances were made and freed, read from the live worker.
    assert_eq!(english.counter("Greeter"), Some(2));
    english.close().unwrap();
    assert!(gone(pid), "the worker {pid} outlived its library");

    let dropped = spawn("english-plugin");
    let pid = dropped.pid();
    drop(dropped);
    assert!(gone(pid), "the worker {pid} outlived its dropped library");
}

#[test]
fn rich_values_cross_to_a_worker_and_back() {
    let zoo = spawn("zoo-plugin");
    assert_eq!(
        zoo.invoke("Zoo", "grow", &[json!({"Rect": [2.0, 3.0]}), json!(2.0)])
            .unwrap(),
        json!({"Rect": [4.0, 6.0]})
    );
    assert_eq!(
        zoo.invoke("Zoo", "split", &[json!([7, "seven"])]).unwrap(),
        json!(["seven", 7])
    );
}

#[test]
fn a_worker_that_dies_is_a_crash_naming_the_signal_or_code_and_the_method() {
    for (target, how) in [
        ("abort", "was killed by SIGABRT"),
        ("segv", "was killed by SIGSEGV"),
        ("exit", "exited with code 3"),
    ] {
        let flaky = spawn("flaky-plugin");
        match flaky.invoke("Greeter", "greet", &[json!(target)]) {
            Err(PluginError::Crashed {
                library,
                how: found,
                method,
            }) => {
                assert_eq!(library, plugins().path("flaky-plugin"));
                assert_eq!(found, how, "greeting {target}");
                assert_eq!(method.as_deref(), Some("Greeter::greet"));
            }
            other => panic!("greeting {target}: {other:?}"),
        }
        assert!(!flaky.is_alive());
        // A dead worker's counters are unknown, never invented.
        assert_eq!(flaky.counter("Greeter"), None);
        let again = flaky.invoke("Greeter", "greet", &[json!("world")]);
        assert!(
            matches!(&again, Err(PluginError::Crashed { how: found, .. }) if found == how),
            "{again:?}"
        );
    }
}

#[test]
fn a_call_past_its_timeout_kills_the_worker() {
    let timeout = Duration::from_millis(300);
    let flaky = spawn_with("flaky-plugin", &options().call_timeout(timeout));
    let pid = flaky.pid();
    let started = Instant::now();
    match flaky.invoke("Greeter", "greet", &[json!("loop")]) {
        Err(PluginError::TimedOut { method, after, .. }) => {
            assert_eq!(method, "Greeter::greet");
            assert_eq!(after, timeout);
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() >= timeout);
    assert!(!flaky.is_alive());
    assert!(gone(pid), "the hung worker {pid} was not killed");
}

#[test]
fn a_cpu_limit_ends_a_worker_that_spins() {
    let flaky = spawn_with("flaky-plugin", &options().cpu_limit(Duration::from_secs(1)));
    match flaky.invoke("Greeter", "greet", &[json!("loop")]) {
        Err(PluginError::Crashed { how, .. }) => {
            assert_eq!(how, "was killed by SIGXCPU (its CPU limit)");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_panic_is_an_error_and_the_worker_keeps_serving() {
    let flaky = spawn("flaky-plugin");
    match flaky.invoke("Greeter", "greet", &[json!("panic")]) {
        Err(PluginError::Panicked {
            method, message, ..
        }) => {
            assert_eq!(method, "greet");
            assert_eq!(message, "asked to panic");
        }
        other => panic!("{other:?}"),
    }
    assert!(flaky.is_alive());
    assert_eq!(
        flaky.invoke("Greeter", "greet", &[json!("world")]).unwrap(),
        json!("Hi, world!")
    );
}

#[test]
fn the_host_checks_before_the_worker_runs_anything() {
    let refused = WorkerLibrary::spawn(
        plugins().path("not-a-plugin"),
        &LoadOptions::default(),
        &options(),
    );
    assert!(
        matches!(refused, Err(PluginError::NotAPlugin { .. })),
        "{refused:?}"
    );
    let english = spawn("english-plugin");
    assert!(matches!(
        english.invoke("Greeter", "greet", &[]),
        Err(PluginError::WrongArity {
            expected: 1,
            found: 0,
            ..
        })
    ));
    assert!(matches!(
        english.invoke("Greeter", "greet", &[json!(3)]),
        Err(PluginError::InvalidArgument { .. })
    ));
    assert!(matches!(
        english.invoker("Greeter", Some("French")),
        Err(PluginError::EntryNotFound { .. })
    ));
    assert!(matches!(
        english.invoke("Calculator", "add", &[json!(1), json!(2)]),
        Err(PluginError::TraitNotExported { .. })
    ));
    assert!(english.is_alive());
    assert_eq!(english.counter("Greeter"), Some(0));
}

#[test]
fn a_missing_worker_executable_is_an_error_naming_it() {
    let missing = Path::new("/nonexistent/plugin-worker");
    let error = WorkerLibrary::spawn(
        plugins().path("english-plugin"),
        &LoadOptions::default(),
        &WorkerOptions::default().worker(missing),
    )
    .unwrap_err();
    assert!(matches!(error, PluginError::Worker { .. }), "{error:?}");
    assert!(
        error.to_string().contains("/nonexistent/plugin-worker"),
        "{error}"
    );
}

/// The children of process `pid`.
fn children(pid: u32) -> Vec<u32> {
    // Each thread's children: workers are forked from a spawner thread.
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| tasks.flatten().map(|task| task.path()).collect())
        .unwrap_or_else(|_| Vec::new());
    tasks
        .iter()
        .flat_map(|task| {
            std::fs::read_to_string(task.join("children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|child| child.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Whether process `pid` has ended (gone, or a zombie nobody reaped yet).
fn ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

#[test]
fn a_worker_dies_with_its_host() {
    /// Kills the host if the test fails before it does.
    struct Host(std::process::Child);
    impl Drop for Host {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    plugin_worker();
    let host = Command::new(plugin_host())
        .args(["call", "--isolate"])
        .arg(plugins().path("flaky-plugin"))
        .args(["Greeter.greet", "loop"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut host = Host(host);
    let deadline = Instant::now() + Duration::from_secs(30);
    let worker = loop {
        if let Some(&worker) = children(host.0.id()).first() {
            break worker;
        }
        assert!(Instant::now() < deadline, "plugin-host started no worker");
        std::thread::sleep(Duration::from_millis(10));
    };
    host.0.kill().unwrap();
    host.0.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ended(worker) {
        assert!(
            Instant::now() < deadline,
            "the worker {worker} outlived its killed host"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

mod typed {
    //! The same typed proxies as in process, of instances in a worker.

    use std::collections::HashMap;

    use greeter_interface::Greeter;
    use plugin_interface::CallError;
    use plugin_tests::plugins;
    use zoo_interface::{Person, Shape, Zoo, ZooError};

    use super::spawn;

    fn person(name: &str, age: Option<u32>) -> Person {
        Person {
            name: name.to_owned(),
            tags: vec!["a".to_owned()],
            age,
            home: Shape::Rect(2.0, 3.0),
        }
    }

    #[test]
    fn a_typed_proxy_calls_a_worker_like_a_library() {
        let english = spawn("english-plugin");
        let proxies = english.instantiate::<dyn Greeter>().unwrap();
        assert_eq!(proxies.len(), 1);
        let greeter = &proxies[0];
        assert_eq!(greeter.greet("world"), "Hello, world!");
        assert_eq!(greeter.name(), "english");
        let info = greeter.info();
        assert_eq!(info.entry(), "English");
        assert_eq!(info.library(), plugins().path("english-plugin"));
        assert!(info.interface().starts_with("greeter-interface "));
        // Its instances keep the worker: the library does not close under
        // them, and the worker ends with the last of them.
        let pid = english.pid();
        match english.close() {
            Err(plugin_interface::PluginError::InUse { .. }) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(proxies[0].greet("again"), "Hello, again!");
        drop(proxies);
        assert!(super::gone(pid), "the worker {pid} outlived its proxies");
    }

    #[test]
    fn rich_values_cross_both_ways_through_a_typed_proxy() {
        let library = spawn("zoo-plugin");
        let zoo = library.instantiate::<dyn Zoo>().unwrap().remove(0);
        assert_eq!(zoo.area(&Shape::Rect(2.0, 3.0)), 6.0);
        assert_eq!(
            zoo.grow(Shape::Circle { radius: 1.0 }, 2.0),
            Shape::Circle { radius: 2.0 }
        );
        let alice = person("alice", Some(30));
        assert_eq!(
            zoo.rename(alice.clone(), "bob").unwrap(),
            Person {
                name: "bob".to_owned(),
                ..alice.clone()
            }
        );
        assert_eq!(
            zoo.rename(alice.clone(), "nobody"),
            Err(ZooError::NotFound("alice".to_owned()))
        );
        let people = [person("young", Some(3)), person("old", Some(90))];
        assert_eq!(zoo.oldest(&people).unwrap().name, "old");
        assert_eq!(zoo.crowd(3).len(), 3);
        assert_eq!(zoo.split((7, "seven".to_owned())), ("seven".to_owned(), 7));
        assert_eq!(
            zoo.wide(u128::MAX / 3, -5, 'é'),
            (u128::MAX / 3 * 3, 5, 'É')
        );
        let words = ["a".to_owned(), "b".to_owned(), "a".to_owned()];
        assert_eq!(
            zoo.count(&words),
            HashMap::from([("a".to_owned(), 2), ("b".to_owned(), 1)])
        );
        assert_eq!(zoo.reverse([1, 2, 3, 4]), [4, 3, 2, 1]);
    }

    #[test]
    fn a_crash_in_a_typed_call_is_its_failure_and_the_host_goes_on() {
        let library = spawn("flaky-plugin");
        let flaky = library.instantiate::<dyn Greeter>().unwrap().remove(0);
        assert_eq!(flaky.greet("world"), "Hi, world!");
        match flaky.try_greet("abort") {
            Err(CallError::Crashed {
                library: path,
                trait_name,
                method,
                how,
            }) => {
                assert_eq!(path, plugins().path("flaky-plugin"));
                assert_eq!((trait_name.as_str(), method.as_str()), ("Greeter", "greet"));
                assert_eq!(how, "was killed by SIGABRT");
            }
            other => panic!("{other:?}"),
        }
        // `?` code gets the `PluginError` of the same name.
        let error = plugin_interface::PluginError::from(flaky.try_greet("world").unwrap_err());
        assert!(
            matches!(&error, plugin_interface::PluginError::Crashed { how, .. } if how == "was killed by SIGABRT"),
            "{error:?}"
        );
        assert!(!library.is_alive());
        assert_eq!(library.counter("Greeter"), None);
        // The trait's own method panics with the error's message.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| flaky.greet("x")))
            .unwrap_err();
        let message = panicked
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(
            message.ends_with("the worker process was killed by SIGABRT during Greeter::greet"),
            "{message}"
        );
    }

    #[test]
    fn a_typed_call_past_its_timeout_is_timed_out() {
        let options = super::options().call_timeout(std::time::Duration::from_millis(300));
        let library = super::spawn_with("flaky-plugin", &options);
        let flaky = library.instantiate::<dyn Greeter>().unwrap().remove(0);
        match flaky.try_greet("loop") {
            Err(CallError::TimedOut { method, after, .. }) => {
                assert_eq!(method, "greet");
                assert_eq!(after, std::time::Duration::from_millis(300));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_worker_that_died_is_restarted_on_the_next_call_while_its_budget_lasts() {
    use greeter_interface::Greeter;
    use plugin_interface::CallError;

    let options = options().restart(1, Duration::from_millis(10));
    let library = spawn_with("flaky-plugin", &options);
    let events = library.subscribe();
    let flaky = library.instantiate::<dyn Greeter>().unwrap().remove(0);
    let mut by_name = library.invoker("Greeter", None).unwrap();
    let first = library.pid();
    // The call during which the worker dies fails with the crash...
    assert!(matches!(
        flaky.try_greet("exit"),
        Err(CallError::Crashed { how, .. }) if how == "exited with code 3"
    ));
    // ...and the next one is served by a new worker, with every live
    // instance made again.
    assert_eq!(flaky.greet("again"), "Hi, again!");
    assert_eq!(library.restarts(), 1);
    assert_ne!(library.pid(), first);
    assert!(!gone(library.pid()));
    assert!(gone(first), "the crashed worker {first} was not reaped");
    assert_eq!(
        by_name.invoke("greet", &[json!("by name")]).unwrap(),
        json!("Hi, by name!")
    );
    // The budget spent, a second crash stays.
    assert!(flaky.try_greet("abort").is_err());
    match flaky.try_greet("world") {
        Err(CallError::Crashed { how, .. }) => assert_eq!(
            how,
            "was killed by SIGABRT (not restarted: its 1 restart(s) are spent)"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(library.restarts(), 1);
    // Subscribers heard of the restart, and once of the one refused.
    let path = plugins().path("flaky-plugin").to_path_buf();
    let heard: Vec<ReloadEvent> = events.try_iter().collect();
    assert_eq!(
        heard,
        [
            ReloadEvent::Restarted {
                path: path.clone(),
                restarts: 1,
                ended: "exited with code 3".to_owned(),
            },
            ReloadEvent::Failed {
                path: path.clone(),
                reason: format!(
                    "{}: the worker process was killed by SIGABRT (not restarted: its 1 restart(s) are spent)",
                    path.display()
                ),
            },
        ]
    );
    assert!(flaky.try_greet("world").is_err());
    assert!(events.try_recv().is_err(), "the refusal is told once");
}

#[test]
fn a_restarted_worker_restores_the_state_of_each_instances_last_call() {
    use lifecycle_interface::Counter;

    let options = options().restart(2, Duration::from_millis(1));
    let library = spawn_with("lifecycle-v1", &options);
    let events = library.subscribe();
    let counter = library.instantiate_entry::<dyn Counter>("Tally").unwrap();
    for expected in 1..=5 {
        assert_eq!(counter.increment(), expected);
    }
    // SAFETY: sends a signal to the worker process.
    unsafe { libc::kill(library.pid() as i32, libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(100));
    // The implementation carries its state (`PluginState`): the new
    // worker's instance goes on from the last call's count.
    assert_eq!(counter.increment(), 6);
    assert_eq!(counter.increment(), 7);
    assert!(matches!(
        events.try_recv(),
        Ok(ReloadEvent::Restarted { restarts: 1, ended, .. }) if ended == "was killed by SIGKILL"
    ));
    // A count read by name is the same instance's.
    assert_eq!(library.restarts(), 1);
}

#[test]
fn calls_from_eight_threads_survive_their_worker_being_killed_from_outside() {
    use greeter_interface::Greeter;
    use plugin_interface::CallError;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let options = options().restart(20, Duration::from_millis(1));
    let library = spawn_with("flaky-plugin", &options);
    let flaky = library.instantiate::<dyn Greeter>().unwrap().remove(0);
    let stop = AtomicBool::new(false);
    let (answered, crashed) = (AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|scope| {
        for thread in 0..8 {
            let (flaky, stop, answered, crashed) = (&flaky, &stop, &answered, &crashed);
            scope.spawn(move || {
                let name = format!("thread {thread}");
                while !stop.load(Ordering::Relaxed) {
                    match flaky.try_greet(&name) {
                        Ok(greeting) => {
                            assert_eq!(greeting, format!("Hi, {name}!"));
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(CallError::Crashed { .. }) => {
                            crashed.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(other) => panic!("{other}"),
                    }
                }
            });
        }
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(100));
            // SAFETY: signalling the worker this test started.
            unsafe { libc::kill(library.pid() as i32, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(100));
        stop.store(true, Ordering::Relaxed);
    });
    assert!(answered.load(Ordering::Relaxed) > 0);
    assert!(library.restarts() >= 1, "no restart after three kills");
    assert_eq!(flaky.greet("after"), "Hi, after!");
}

#[test]
fn load_plugins_gives_the_same_proxies_one_option_away() {
    use greeter_interface::Greeter;
    use plugin_interface::{CallError, Isolation, load_plugins_with};

    let dir = tempfile::tempdir().unwrap();
    plugins().copy_to("english-plugin", dir.path(), "a-english");
    plugins().copy_to("flaky-plugin", dir.path(), "b-flaky");
    let load = LoadOptions::default().isolation(Isolation::Process(options()));
    let report = load_plugins_with::<dyn Greeter>(dir.path(), &load).unwrap();
    assert_eq!(report.errors().count(), 0);
    let greeters: Vec<_> = report.into_iter().collect();
    let greetings: Vec<String> = greeters
        .iter()
        .map(|greeter| greeter.greet("world"))
        .collect();
    assert_eq!(greetings, ["Hello, world!", "Hi, world!"]);
    assert!(matches!(
        greeters[1].try_greet("segv"),
        Err(CallError::Crashed { how, .. }) if how == "was killed by SIGSEGV"
    ));
    // The other library's worker is untouched.
    assert_eq!(greeters[0].greet("still"), "Hello, still!");
    // A spec selects one implementation, in a worker too.
    let spec = format!(
        "lib:{}?entry=English",
        dir.path().join("a-english.so").display()
    );
    let report = load_plugins_with::<dyn Greeter>(spec, &load).unwrap();
    let english: Vec<_> = report.into_iter().collect();
    assert_eq!(english.len(), 1);
    assert_eq!(english[0].info().entry(), "English");
}

#[test]
fn one_worker_survives_every_way_to_fail_by_restarting() {
    use greeter_interface::Greeter;
    use plugin_interface::CallError;

    let options = options()
        .call_timeout(Duration::from_millis(500))
        .restart(10, Duration::from_millis(1));
    let library = spawn_with("flaky-plugin", &options);
    let events = library.subscribe();
    let flaky = library.instantiate::<dyn Greeter>().unwrap().remove(0);
    for (target, restarts) in [
        ("abort", 1),
        ("segv", 2),
        ("exit", 3),
        ("loop", 4),
        ("panic", 4),
    ] {
        match flaky.try_greet(target) {
            Err(CallError::Crashed { .. } | CallError::TimedOut { .. }) if target != "panic" => {}
            Err(CallError::Panicked { message, .. }) if target == "panic" => {
                assert_eq!(message, "asked to panic");
            }
            other => panic!("greeting {target}: {other:?}"),
        }
        // The next call is served, by a new worker unless the last one
        // only panicked.
        assert_eq!(flaky.greet("world"), "Hi, world!", "after {target}");
        assert_eq!(library.restarts(), restarts, "after {target}");
    }
    let restarted = events
        .try_iter()
        .filter(|event| matches!(event, ReloadEvent::Restarted { .. }))
        .count();
    assert_eq!(restarted, 4);
}
