//! Rich values cross without leaking on either side: the process's live
//! heap (glibc's count, which covers the host and every library, since
//! all of them allocate through `malloc` here) is the same after 10,000
//! rounds of every kind of call as before them.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::sync::{Arc, Mutex};

use plugin_interface::load_plugins;
use plugin_tests::plugins;
use zoo_interface::{Person, Services, Shape, Zoo, ZooProxy};

/// Bytes the process has allocated and not freed.
fn live_bytes() -> usize {
    // SAFETY: `mallinfo2` only reads the allocator's statistics.
    unsafe { libc::mallinfo2() }.uordblks
}

struct Recorder(Arc<Mutex<Vec<String>>>);

impl Services for Recorder {
    fn lookup(&self, key: &str) -> Option<String> {
        Some(key.repeat(2))
    }

    fn record(&self, line: String) {
        let mut lines = self.0.lock().unwrap();
        lines.push(line);
        // Keep the host's own record bounded: this test measures the
        // boundary, not a growing log.
        if lines.len() > 4 {
            lines.clear();
        }
    }
}

fn zoo() -> ZooProxy {
    load_plugins::<dyn Zoo>(plugins().path("zoo-plugin"))
        .unwrap()
        .into_iter()
        .next()
        .expect("the keeper")
}

/// Every method once, with values that own memory on both sides.
fn round(zoo: &ZooProxy, lines: &Arc<Mutex<Vec<String>>>) {
    let person = Person {
        name: "ada".to_owned(),
        tags: vec!["x".to_owned(), "ÿ".to_owned()],
        age: Some(36),
        home: Shape::Circle { radius: 1.0 },
    };
    assert_eq!(zoo.area(&person.home), std::f64::consts::PI);
    assert_eq!(zoo.grow(Shape::Rect(1.0, 2.0), 2.0), Shape::Rect(2.0, 4.0));
    assert_eq!(zoo.rename(person.clone(), "grace").unwrap().name, "grace");
    assert!(zoo.rename(person.clone(), "").is_err());
    assert_eq!(
        zoo.oldest(std::slice::from_ref(&person)).unwrap().name,
        "ada"
    );
    assert_eq!(zoo.crowd(3).len(), 3);
    assert_eq!(zoo.split((1, "one".to_owned())).0, "one");
    assert_eq!(zoo.wide(1, 2, 'a').2, 'A');
    assert_eq!(zoo.count(&person.tags).len(), 2);
    assert_eq!(zoo.reverse([1, 2, 3, 4]), [4, 3, 2, 1]);
    assert_eq!(zoo.ask(&Recorder(Arc::clone(lines)), "k"), "k is kk");
    assert_eq!(zoo.each(3, &mut |_| true), 3);
    zoo.attach(Box::new(Recorder(Arc::clone(lines))));
    assert!(zoo.ping("line"));
    let child = zoo.child("junior");
    assert_eq!(zoo.greet_other(&*child), "keeper greets junior");
}

#[test]
fn calls_of_every_kind_leave_the_heap_as_it_was() {
    let zoo = zoo();
    let lines = Arc::new(Mutex::new(Vec::new()));
    // Warm up: thread-locals, the library's own first allocations.
    for _ in 0..100 {
        round(&zoo, &lines);
    }
    let before = live_bytes();
    for _ in 0..10_000 {
        round(&zoo, &lines);
    }
    let after = live_bytes();
    assert!(
        after <= before + 16 * 1024,
        "live heap grew from {before} to {after} bytes over 10,000 rounds"
    );

    // A crowd of 1,000 people, 200 times: the heap stays flat.
    for _ in 0..20 {
        assert_eq!(zoo.crowd(1000).len(), 1000);
    }
    let before = live_bytes();
    for _ in 0..200 {
        assert_eq!(zoo.crowd(1000).len(), 1000);
    }
    let after = live_bytes();
    assert!(
        after <= before + 16 * 1024,
        "live heap grew from {before} to {after} bytes over 200 crowds"
    );

    // A vector refused halfway (a forged enum tag in its middle element)
    // frees what was lifted before it and what came after it.
    let library = plugin_interface::PluginLibrary::open(plugins().path("forged-plugin")).unwrap();
    let forged = library
        .instantiate::<dyn forged_interface::Oracle>()
        .unwrap()
        .into_iter()
        .find(|oracle| oracle.info().entry() == "Forged")
        .expect("the forged oracle");
    for _ in 0..100 {
        assert!(forged.try_moods().is_err());
    }
    let before = live_bytes();
    for _ in 0..10_000 {
        assert!(forged.try_moods().is_err());
    }
    let after = live_bytes();
    assert!(
        after <= before + 16 * 1024,
        "live heap grew from {before} to {after} bytes over 10,000 refused vectors"
    );
}
