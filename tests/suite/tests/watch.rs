//! The directory watcher driving a `PluginManager` with real plugin
//! libraries: one load per library that appears, one reload per settled
//! change, nothing for a touch, one unload per deletion, and never a load
//! attempt on a half-written file.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use greeter_interface::{Greeter, GreeterProxy};
use plugin_interface::watch::{
    ManagerNotification, WatchAction, WatchOptions, content_hash, start_watch_background,
    watch_and_load_blocking,
};
use plugin_interface::{CallError, PluginManager, ReloadEvent};
use plugin_tests::lifecycle::replace_with_bytes;
use plugin_tests::{patch, plugins};

/// How long a notification may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(60);
/// How long "nothing happens" is watched for: several debounce and settle
/// intervals.
const QUIET: Duration = Duration::from_secs(2);

type Notification = ManagerNotification<dyn Greeter>;

/// The watched library file in `dir`.
fn library(dir: &Path) -> PathBuf {
    dir.join(format!("greeter.{}", std::env::consts::DLL_EXTENSION))
}

/// The bytes of the english-plugin library.
fn english() -> Vec<u8> {
    fs::read(plugins().path("english-plugin")).expect("read the english-plugin library")
}

/// The english-plugin library saying "Howdy" instead of "Hello": another
/// build with the same entry, so proxies follow the reload.
fn howdy() -> Vec<u8> {
    let mut bytes = english();
    assert!(patch(&mut bytes, b"Hello, ", b"Howdy, ") >= 1);
    bytes
}

/// A manager watching a fresh directory from a background thread, with
/// proxies in the load notifications.
struct Watch {
    dir: tempfile::TempDir,
    manager: Arc<PluginManager>,
    notifications: Receiver<Notification>,
    stop: mpsc::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Watch {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let manager = Arc::new(PluginManager::new().expect("a manager"));
        Self::start_with(dir, manager, WatchOptions::default().emit_proxies(true))
    }

    fn start_with(
        dir: tempfile::TempDir,
        manager: Arc<PluginManager>,
        options: WatchOptions,
    ) -> Self {
        let (notifications, stop, thread) =
            start_watch_background::<dyn Greeter>(Arc::clone(&manager), dir.path(), &options)
                .expect("watching a fresh directory");
        Self {
            dir,
            manager,
            notifications,
            stop,
            thread: Some(thread),
        }
    }

    fn path(&self) -> PathBuf {
        library(self.dir.path())
    }

    /// The next notification other than a passed-on reload event.
    fn next(&self) -> Notification {
        self.next_with_events().1
    }

    /// The reload events passed on before the next other notification,
    /// and that notification.
    fn next_with_events(&self) -> (Vec<ReloadEvent>, Notification) {
        let mut events = Vec::new();
        loop {
            match self.notifications.recv_timeout(PATIENCE) {
                Ok(ManagerNotification::Event(event)) => events.push(event),
                Ok(notification) => return (events, notification),
                Err(error) => panic!("no notification within {PATIENCE:?}: {error}"),
            }
        }
    }

    /// Fails on any notification within `QUIET`.
    fn nothing(&self) {
        if let Ok(notification) = self.notifications.recv_timeout(QUIET) {
            panic!("expected nothing, got {notification:?}");
        }
    }

    /// The next notification, which must be a load of the watched file;
    /// its generation, content hash and proxies.
    fn loaded(&self) -> (u64, u128, Vec<GreeterProxy>) {
        match self.next() {
            ManagerNotification::Loaded {
                path,
                generation,
                hash,
                proxies,
            } => {
                assert_eq!(path, self.path());
                (generation, hash, proxies)
            }
            other => panic!("expected Loaded, got {other:?}"),
        }
    }
}

impl Drop for Watch {
    /// Stops the watch and waits for its thread, so the manager is dropped
    /// (and its copies unmapped) before the test ends.
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn appear_change_touch_vanish_reappear_each_act_once() {
    let watch = Watch::start();
    let path = watch.path();

    // Appears: one load, with a proxy.
    fs::write(&path, english()).expect("copy the plugin in");
    let (generation, _, proxies) = watch.loaded();
    assert_eq!(generation, 1);
    assert_eq!(proxies.len(), 1);
    let greeter = &proxies[0];
    assert_eq!(greeter.greet("world"), "Hello, world!");
    watch.nothing();

    // Another build renamed over it: one reload, which the proxy follows.
    replace_with_bytes(&path, &howdy());
    let (events, notification) = watch.next_with_events();
    match notification {
        ManagerNotification::Reloaded {
            path: reloaded,
            generation,
        } => {
            assert_eq!(reloaded, path);
            assert_eq!(generation, 2);
        }
        other => panic!("expected Reloaded, got {other:?}"),
    }
    assert!(
        matches!(
            &events[..],
            [
                ReloadEvent::Preparing { .. },
                ReloadEvent::Reloaded { generation: 2, .. }
            ]
        ),
        "{events:?}"
    );
    assert_eq!(greeter.greet("world"), "Howdy, world!");
    watch.nothing();

    // Touched, content unchanged: nothing at all.
    File::options()
        .write(true)
        .open(&path)
        .and_then(|file| file.set_modified(SystemTime::now() + Duration::from_secs(10)))
        .expect("set the modification time");
    watch.nothing();
    assert_eq!(
        watch
            .manager
            .handle(&path)
            .expect("still loaded")
            .generation(),
        2
    );

    // Deleted: one unload, with the unmaker counter of the one instance.
    fs::remove_file(&path).expect("delete the plugin");
    match watch.next() {
        ManagerNotification::Unloaded {
            path: unloaded,
            report,
        } => {
            assert_eq!(unloaded, path);
            assert_eq!(report.counter("Greeter"), Some(1), "{report:?}");
        }
        other => panic!("expected Unloaded, got {other:?}"),
    }
    assert!(matches!(
        greeter.try_greet("world"),
        Err(CallError::Unloaded { .. })
    ));
    assert!(watch.manager.handle(&path).is_none());
    watch.nothing();

    // Created again: loaded again, from generation 1.
    fs::write(&path, english()).expect("copy the plugin in again");
    let (generation, _, proxies) = watch.loaded();
    assert_eq!(generation, 1);
    assert_eq!(proxies[0].greet("world"), "Hello, world!");
    watch.nothing();
}

#[test]
fn an_overwrite_in_place_keeps_calls_working_and_is_one_reload() {
    let watch = Watch::start();
    let path = watch.path();
    fs::write(&path, english()).expect("copy the plugin in");
    let (_, _, proxies) = watch.loaded();
    let greeter = &proxies[0];
    // Truncated and rewritten in place, in chunks, while the plugin is
    // called: the loaded copy is another file, so calls keep working.
    let bytes = howdy();
    let mut file = File::create(&path).expect("truncate the watched file");
    for piece in bytes.chunks(bytes.len().div_ceil(5)) {
        file.write_all(piece).expect("write a chunk");
        file.flush().expect("flush");
        assert_eq!(greeter.greet("world"), "Hello, world!");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(file);
    assert!(matches!(
        watch.next(),
        ManagerNotification::Reloaded { generation: 2, .. }
    ));
    assert_eq!(greeter.greet("world"), "Howdy, world!");
    watch.nothing();
}

#[test]
fn a_library_written_slowly_is_loaded_once_complete() {
    let watch = Watch::start();
    let path = watch.path();
    let bytes = english();
    // About ten chunks, 100 ms apart: the file is readable, and wrong,
    // for a second.
    let chunk = bytes.len().div_ceil(10).next_multiple_of(64 * 1024);
    let writer = {
        let (path, bytes) = (path.clone(), bytes.clone());
        std::thread::spawn(move || {
            let mut file = File::create(&path).expect("create the library file");
            for piece in bytes.chunks(chunk) {
                file.write_all(piece).expect("write a chunk");
                file.flush().expect("flush");
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    // The first notification is the load of the whole file: a load of a
    // partial file would have been an `Error` (truncated) before it.
    let (generation, hash, proxies) = watch.loaded();
    writer.join().expect("the writer finished");
    assert_eq!(generation, 1);
    let built = plugins().path("english-plugin");
    assert_eq!(hash, content_hash(built).expect("hash the built library"));
    assert_eq!(watch.manager.handle(&path).expect("loaded").hash(), hash);
    assert_eq!(proxies[0].greet("world"), "Hello, world!");
    watch.nothing();
}

#[test]
fn a_writer_pausing_mid_file_is_waited_for() {
    let watch = Watch::start();
    let path = watch.path();
    let bytes = english();
    // The start of the library, cut inside its loadable segments, then a
    // pause far longer than the settle time with the file still open, then
    // the rest.
    let writer = {
        let (path, bytes) = (path.clone(), bytes.clone());
        std::thread::spawn(move || {
            let mut file = File::create(&path).expect("create the library file");
            let (head, tail) = bytes.split_at(200_000);
            file.write_all(head).expect("write the start");
            file.flush().expect("flush");
            std::thread::sleep(Duration::from_millis(1500));
            file.write_all(tail).expect("write the rest");
        })
    };
    let (generation, hash, proxies) = watch.loaded();
    writer.join().expect("the writer finished");
    assert_eq!(generation, 1);
    assert_eq!(
        hash,
        content_hash(plugins().path("english-plugin")).unwrap()
    );
    assert_eq!(proxies[0].greet("world"), "Hello, world!");
    watch.nothing();
}

#[test]
fn twenty_rapid_rewrites_load_the_last_once() {
    let watch = Watch::start();
    let path = watch.path();
    let (english, howdy) = (english(), howdy());
    for round in 0..20 {
        let bytes = if round % 2 == 0 { &english } else { &howdy };
        fs::write(&path, bytes).expect("rewrite the library");
    }
    let (generation, hash, proxies) = watch.loaded();
    assert_eq!(generation, 1);
    assert_eq!(watch.manager.handle(&path).expect("loaded").hash(), hash);
    assert_eq!(proxies[0].greet("world"), "Howdy, world!");
    watch.nothing();
}

#[test]
fn a_library_that_failed_to_load_is_tried_again_when_it_changes() {
    let watch = Watch::start();
    let path = watch.path();
    let mut bytes = english();
    // Cut inside the first loadable segment (the second half of a debug
    // build is debug information, which the library loads without).
    bytes.truncate(100_000);
    fs::write(&path, &bytes).expect("write the start of a library");
    match watch.next() {
        ManagerNotification::Error {
            path: failed,
            action,
            error,
        } => {
            assert_eq!(failed, path);
            assert_eq!(action, WatchAction::Load);
            assert!(error.to_string().contains("truncated"), "{error}");
        }
        other => panic!("expected a load error, got {other:?}"),
    }
    // Touched, same bytes: not tried again.
    File::options()
        .write(true)
        .open(&path)
        .and_then(|file| file.set_modified(SystemTime::now() + Duration::from_secs(10)))
        .expect("set the modification time");
    watch.nothing();
    // The whole library renamed over it: loaded.
    replace_with_bytes(&path, &english());
    let (generation, _, proxies) = watch.loaded();
    assert_eq!(generation, 1);
    assert_eq!(proxies[0].greet("world"), "Hello, world!");
}

#[test]
fn a_library_without_the_trait_loads_and_says_why_it_has_no_proxies() {
    let watch = Watch::start();
    let path = watch.path();
    // Built against greeter-interface 1.1; this host has 1.0.
    fs::write(
        &path,
        fs::read(plugins().path("greeter-plugin-1-1")).expect("read"),
    )
    .expect("copy the plugin in");
    let (generation, _, proxies) = watch.loaded();
    assert_eq!(generation, 1);
    assert!(proxies.is_empty());
    match watch.next() {
        ManagerNotification::Error { action, error, .. } => {
            assert_eq!(action, WatchAction::Proxies);
            assert!(error.to_string().contains("newer interface"), "{error}");
        }
        other => panic!("expected a proxies error, got {other:?}"),
    }
    // A build this host can use, renamed over it: one reload, and its
    // proxies come from the manager.
    replace_with_bytes(&path, &english());
    assert!(matches!(
        watch.next(),
        ManagerNotification::Reloaded { generation: 2, .. }
    ));
    let greeter = watch
        .manager
        .proxy::<dyn Greeter>(&path, "English")
        .expect("a proxy of the new build");
    assert_eq!(greeter.greet("world"), "Hello, world!");
}

#[test]
fn without_auto_load_and_unload_only_libraries_loaded_by_hand_follow_their_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = library(dir.path());
    fs::write(&path, english()).expect("copy the plugin in");
    let manager = Arc::new(PluginManager::new().expect("a manager"));
    manager.load(&path).expect("load by hand");
    let greeter = manager
        .proxy::<dyn Greeter>(&path, "English")
        .expect("a proxy");
    let options = WatchOptions::default().auto_load(false).auto_unload(false);
    let watch = Watch::start_with(dir, manager, options);
    // Already loaded, same content: nothing to do.
    watch.nothing();

    // A new library is left alone.
    let other = watch
        .dir
        .path()
        .join(format!("other.{}", std::env::consts::DLL_EXTENSION));
    fs::write(&other, english()).expect("copy another plugin in");
    watch.nothing();
    assert!(watch.manager.handle(&other).is_none());

    // The library loaded by hand is reloaded...
    replace_with_bytes(&path, &howdy());
    assert!(matches!(
        watch.next(),
        ManagerNotification::Reloaded { generation: 2, .. }
    ));
    assert_eq!(greeter.greet("world"), "Howdy, world!");

    // ... and keeps serving from its copy when its file is deleted.
    fs::remove_file(&path).expect("delete the plugin");
    watch.nothing();
    assert_eq!(greeter.greet("world"), "Howdy, world!");
}

#[test]
fn the_blocking_watch_loads_what_is_there_and_stops_when_told() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = library(dir.path());
    fs::write(&path, english()).expect("copy the plugin in");
    let manager = PluginManager::new().expect("a manager");
    let (stop, stopped) = mpsc::channel();
    let mut seen = Vec::new();
    watch_and_load_blocking::<dyn Greeter>(
        &manager,
        dir.path(),
        &WatchOptions::default(),
        stopped,
        |notification| {
            if matches!(notification, ManagerNotification::Loaded { .. }) {
                stop.send(()).expect("the watch is running");
            }
            seen.push(notification);
        },
    )
    .expect("watching a directory");
    match &seen[..] {
        [
            ManagerNotification::Loaded {
                path: loaded,
                generation: 1,
                proxies,
                ..
            },
        ] => {
            assert_eq!(loaded, &path);
            assert!(proxies.is_empty(), "emit_proxies is off by default");
        }
        other => panic!("expected one load, got {other:?}"),
    }
    assert!(manager.handle(&path).is_some());
    // The manager is still in charge after the watch: unloading works.
    let report = manager.unload_by_path(&path).expect("unload");
    assert_eq!(report.counter("Greeter"), Some(0));
}

#[test]
fn watching_a_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = library(dir.path());
    fs::write(&path, english()).expect("copy the plugin in");
    let manager = Arc::new(PluginManager::new().expect("a manager"));
    let error = start_watch_background::<dyn Greeter>(manager, &path, &WatchOptions::default())
        .expect_err("a file is not a directory");
    assert!(error.to_string().contains("directories"), "{error}");
}
