//! Eight threads call one manager proxy (through clones) while the main
//! thread reloads its library 100 times: every call answers 1 or 2, or
//! fails cleanly, and once the reloads stop every call answers with the
//! version that was loaded last.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use lifecycle_interface::Versioned;
use plugin_interface::{PluginManager, ReloadOutcome};
use plugin_tests::lifecycle::{replace_with_link, watched};
use plugin_tests::plugins;

const THREADS: usize = 8;
const RELOADS: u64 = 100;

/// What one calling thread saw.
#[derive(Debug, Default)]
struct Seen {
    ones: u64,
    twos: u64,
    errors: Vec<String>,
    /// The answer of the call made after the last reload.
    last: Option<u32>,
}

#[test]
fn calls_during_a_hundred_reloads_answer_or_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let staged = [
        plugins().copy_to("lifecycle-v1", dir.path(), "staged-v1"),
        plugins().copy_to("lifecycle-v2", dir.path(), "staged-v2"),
    ];
    let path = watched("lifecycle-v1", dir.path());
    let manager = PluginManager::new().unwrap();
    manager.load(&path).unwrap();
    let proxy = manager.proxy::<dyn Versioned>(&path, "Probe").unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let proxy = proxy.clone();
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut seen = Seen::default();
                loop {
                    // Read the flag before calling: a call that starts after
                    // the last reload returned must see its version.
                    let finished = done.load(Ordering::SeqCst);
                    match proxy.try_version() {
                        Ok(1) => seen.ones += 1,
                        Ok(2) => seen.twos += 1,
                        Ok(other) => panic!("version {other} was never loaded"),
                        Err(error) => seen.errors.push(error.to_string()),
                    }
                    if finished {
                        seen.last = proxy.try_version().ok();
                        return seen;
                    }
                }
            })
        })
        .collect();

    // Reload 1 loads v2, reload 2 v1, ...: the last (even) one loads v1.
    for reload in 1..=RELOADS {
        let package = if reload % 2 == 1 { 1 } else { 0 };
        replace_with_link(&path, &staged[package]);
        match manager.reload(&path).unwrap() {
            ReloadOutcome::Reloaded { generation } => assert_eq!(generation, reload + 1),
            ReloadOutcome::Unchanged => panic!("reload {reload} saw no change"),
        }
    }
    done.store(true, Ordering::SeqCst);

    let seen: Vec<Seen> = threads
        .into_iter()
        .map(|thread| thread.join().expect("a calling thread panicked"))
        .collect();
    let ones: u64 = seen.iter().map(|s| s.ones).sum();
    let twos: u64 = seen.iter().map(|s| s.twos).sum();
    let errors: Vec<&String> = seen.iter().flat_map(|s| &s.errors).collect();
    println!(
        "threads: {THREADS} threads, {RELOADS} reloads; answers: {ones} x 1, {twos} x 2; {} errors",
        errors.len()
    );
    for error in &errors {
        assert!(!error.contains('\n'), "one line: {error}");
    }
    for (thread, seen) in seen.iter().enumerate() {
        assert_eq!(seen.last, Some(1), "thread {thread}: {seen:?}");
    }
    assert_eq!(proxy.version(), 1);
    assert_eq!(manager.handle(&path).unwrap().generation(), RELOADS + 1);
}
