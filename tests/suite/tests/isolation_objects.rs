//! Objects across processes: the host's objects and closures lent or
//! given to a library in a worker are served back during its calls, and
//! the objects a worker returns are proxies of its own.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use plugin_interface::isolation::{WorkerLibrary, WorkerOptions};
use plugin_interface::{CallError, LoadOptions};
use plugin_tests::zoo::{HostServices, Reflector};
use plugin_tests::{plugin_worker, plugins};
use zoo_interface::{Counter, Pen, PenProxy, Services, Shape, Zoo, ZooProxy};

fn options() -> WorkerOptions {
    WorkerOptions::default()
        .worker(plugin_worker())
        .call_timeout(Duration::from_secs(30))
}

fn spawn_with(options: &WorkerOptions) -> WorkerLibrary {
    WorkerLibrary::spawn(
        plugins().path("zoo-plugin"),
        &LoadOptions::default(),
        options,
    )
    .unwrap_or_else(|error| panic!("{error}"))
}

fn zoo(library: &WorkerLibrary) -> ZooProxy {
    library.instantiate::<dyn Zoo>().unwrap().remove(0)
}

fn pen(library: &WorkerLibrary) -> PenProxy {
    library.instantiate::<dyn Pen>().unwrap().remove(0)
}

#[test]
fn lent_objects_and_closures_are_served_back_during_the_call() {
    let library = spawn_with(&options());
    let zoo = zoo(&library);
    let services = HostServices::default();
    assert_eq!(zoo.ask(&services, "colour"), "colour is green");
    assert_eq!(zoo.ask(&services, "size"), "size is unknown");
    assert_eq!(services.drops.load(Ordering::SeqCst), 0, "lent, not given");

    let mut seen = Vec::new();
    let called = zoo.each(10, &mut |i| {
        seen.push(i);
        i < 3
    });
    assert_eq!((called, seen.as_slice()), (4, [0, 1, 2, 3].as_slice()));

    struct Tally(u32);
    impl Counter for Tally {
        fn bump(&mut self) -> u32 {
            self.0 += 1;
            self.0
        }
    }
    let pen = pen(&library);
    let mut tally = Tally(10);
    assert_eq!(pen.bump_twice(&mut tally), 12);
    assert_eq!(tally.0, 12, "the worker changed the host's object");
    let suffix = "!".to_owned();
    let words = pen.apply("one two three", &|word, n| format!("{n}:{word}{suffix}"));
    assert_eq!(words, ["0:one!", "1:two!", "2:three!"]);
}

#[test]
fn a_host_object_receives_and_returns_every_kind_of_value_across_processes() {
    let library = spawn_with(&options());
    assert_eq!(pen(&library).reflect(&Reflector), "ok");
}

#[test]
fn given_host_objects_live_in_the_worker_until_it_drops_them() {
    let library = spawn_with(&options());
    let zoo = zoo(&library);
    assert!(!zoo.ping("before"));
    let services = HostServices::default();
    let (lines, drops) = (Arc::clone(&services.lines), Arc::clone(&services.drops));
    zoo.attach(Box::new(services));
    // Kept by the worker, and called in later calls.
    assert!(zoo.ping("one"));
    assert!(zoo.ping("two"));
    assert_eq!(*lines.lock().unwrap(), ["attached to keeper", "one", "two"]);
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    // Another attach drops the first services in the worker: the host's
    // object is dropped before the call returns.
    let second = HostServices::default();
    let second_drops = Arc::clone(&second.drops);
    zoo.attach(Box::new(second));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    // The worker's end drops what it still holds.
    drop(zoo);
    library.close().unwrap();
    assert_eq!(second_drops.load(Ordering::SeqCst), 1);
}

#[test]
fn returned_objects_are_proxies_of_the_workers_objects() {
    let library = spawn_with(&options());
    let zoo = zoo(&library);
    let child = zoo.child("junior");
    assert_eq!(child.name(), "junior");
    assert_eq!(
        child.grow(Shape::Rect(1.0, 1.0), 2.0),
        Shape::Rect(2.0, 2.0)
    );
    let grandchild = child.child("tiny");
    assert_eq!(grandchild.name(), "tiny");
    // A worker's object lent back to it: it calls the host's proxy, which
    // calls the worker again while the first call waits.
    assert_eq!(zoo.greet_other(&*child), "keeper greets junior");
    assert_eq!(child.greet_other(&zoo), "junior greets keeper");
    assert_eq!(grandchild.greet_other(&*grandchild), "tiny greets tiny");
    // A returned object keeps the worker: it outlives the instance that
    // made it.
    drop(zoo);
    assert_eq!(child.name(), "junior");
    match library.close() {
        Err(plugin_interface::PluginError::InUse { .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn objects_pass_through_the_worker_and_shared_ones_are_released_by_it() {
    let library = spawn_with(&options());
    let pen = pen(&library);
    let zoo = zoo(&library);
    // The worker's own object, given to it and back.
    let kid = pen.keep(zoo.child("kid"));
    assert_eq!(kid.name(), "kid");
    // In the worker, the host's object is a stand-in calling the host,
    // not a proxy of another library.
    assert_eq!(pen.kind(&*kid), "own");
    // A shared object: the worker holds one reference, the host another.
    let shared: Arc<dyn Zoo> = Arc::from(zoo.child("shared"));
    assert_eq!(pen.share(Arc::clone(&shared)), "shared");
    assert_eq!(Arc::strong_count(&shared), 2, "the worker keeps one");
    pen.release();
    assert_eq!(Arc::strong_count(&shared), 1, "released by the worker");
}

#[test]
fn failures_in_host_objects_and_closures_fail_the_call_with_their_message() {
    struct Failing;
    impl Services for Failing {
        fn lookup(&self, key: &str) -> Option<String> {
            panic!("no lookups for {key}")
        }
        fn record(&self, _: String) {}
    }
    let library = spawn_with(&options());
    let zoo = zoo(&library);
    match zoo.try_ask(&Failing, "x") {
        Err(CallError::Panicked {
            method, message, ..
        }) => {
            assert_eq!(method, "ask");
            assert!(message.contains("no lookups for x"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    match zoo.try_each(5, &mut |_| panic!("callback gave up")) {
        Err(CallError::Panicked {
            method, message, ..
        }) => {
            assert_eq!(method, "each");
            assert!(message.contains("callback gave up"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // The worker goes on.
    assert_eq!(zoo.each(2, &mut |_| true), 2);
    assert!(library.is_alive());
}

#[test]
fn a_worker_killed_during_a_callback_is_a_crash_of_the_call() {
    let library = spawn_with(&options());
    let zoo = zoo(&library);
    let pid = library.pid();
    let outcome = zoo.try_each(5, &mut |i| {
        if i == 1 {
            // SAFETY: sends a signal to the worker process.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            std::thread::sleep(Duration::from_millis(100));
        }
        true
    });
    match outcome {
        Err(CallError::Crashed { method, how, .. }) => {
            assert_eq!(method, "each");
            assert_eq!(how, "was killed by SIGKILL");
        }
        other => panic!("{other:?}"),
    }
    assert!(!library.is_alive());
}

#[test]
fn time_spent_in_the_hosts_callbacks_is_not_the_workers() {
    let options = options().call_timeout(Duration::from_millis(500));
    let library = spawn_with(&options);
    let zoo = zoo(&library);
    // Four callbacks of 200 ms each: 800 ms in all, past the timeout, but
    // the worker itself answers at once.
    let called = zoo.each(4, &mut |_| {
        std::thread::sleep(Duration::from_millis(200));
        true
    });
    assert_eq!(called, 4);
    assert!(library.is_alive());
}

#[test]
fn a_restarted_workers_objects_are_lost_and_say_so() {
    let options = options().restart(1, Duration::from_millis(10));
    let library = spawn_with(&options);
    let zoo = zoo(&library);
    let child = zoo.child("junior");
    let services = HostServices::default();
    let drops = Arc::clone(&services.drops);
    zoo.attach(Box::new(services));
    // SAFETY: sends a signal to the worker process.
    unsafe { libc::kill(library.pid() as i32, libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(100));
    // The instance is made again in a new worker; the host's services
    // the old one held are dropped with it.
    assert_eq!(zoo.name(), "keeper");
    assert_eq!(library.restarts(), 1);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(!zoo.ping("after"), "the new instance holds no services");
    let lost = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| child.name()))
        .expect_err("a lost object's call fails");
    let message = lost.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("the object was lost when its worker was restarted"),
        "{message}"
    );
}

#[test]
fn a_host_object_holding_a_workers_object_is_dropped_after_the_exchange_that_freed_it() {
    let library = spawn_with(&options());
    let pen = pen(&library);
    let zoo = zoo(&library);
    // The only reference to the worker's object is the one the worker
    // holds through the host's object: releasing it frees the worker's
    // object too, once the call that dropped it is over.
    assert_eq!(pen.share(Arc::from(zoo.child("shared"))), "shared");
    pen.release();
    assert_eq!(zoo.name(), "keeper");
    assert!(library.is_alive(), "the worker answered in turn");
}

#[test]
fn objects_given_to_a_call_that_never_reached_the_worker_are_dropped() {
    let library = spawn_with(&options());
    let zoo = zoo(&library);
    // SAFETY: sends a signal to the worker process.
    unsafe { libc::kill(library.pid() as i32, libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(100));
    let services = HostServices::default();
    let drops = Arc::clone(&services.drops);
    assert!(matches!(
        zoo.try_attach(Box::new(services)),
        Err(CallError::Crashed { .. })
    ));
    assert_eq!(drops.load(Ordering::SeqCst), 1, "not stranded in the host");
}
