//! The settling layer on plain files in a temporary directory.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use xxhash_rust::xxh3::xxh3_128;

use super::{DirWatcher, FileChange, WatchOptions};

/// Long enough for anything to settle on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);
/// How long "nothing happens" is watched for.
const QUIET: Duration = Duration::from_millis(1500);

fn lib(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.{}", std::env::consts::DLL_EXTENSION))
}

fn options() -> WatchOptions {
    WatchOptions::default().debounce_ms(100).settle_ms(100)
}

/// The next change, failing the test on an error or after `PATIENCE`.
fn next(watcher: &mut DirWatcher) -> FileChange {
    match watcher.next_change(PATIENCE) {
        Some(Ok(change)) => change,
        Some(Err(error)) => panic!("watcher error: {error}"),
        None => panic!("no change within {PATIENCE:?}"),
    }
}

/// Fails if anything is reported within `QUIET`.
fn nothing(watcher: &mut DirWatcher) {
    if let Some(change) = watcher.next_change(QUIET) {
        panic!("expected nothing, got {change:?}");
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) {
    let temporary = path.with_extension("part");
    fs::write(&temporary, bytes).expect("write the temporary file");
    fs::rename(&temporary, path).expect("rename over the library");
}

#[test]
fn appear_touch_change_rename_delete_recreate_are_reported_once_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut watcher = DirWatcher::new(dir.path(), &options()).expect("watch");
    let path = lib(dir.path(), "a");

    fs::write(&path, b"one").expect("write");
    assert_eq!(
        next(&mut watcher),
        FileChange::Appeared {
            path: path.clone(),
            hash: xxh3_128(b"one")
        }
    );
    nothing(&mut watcher);

    // New mtime, same bytes; then the same bytes written again.
    File::options()
        .write(true)
        .open(&path)
        .and_then(|file| file.set_modified(SystemTime::now() + Duration::from_secs(5)))
        .expect("touch");
    fs::write(&path, b"one").expect("rewrite");
    nothing(&mut watcher);

    write_atomically(&path, b"two");
    assert_eq!(
        next(&mut watcher),
        FileChange::Changed {
            path: path.clone(),
            hash: xxh3_128(b"two")
        }
    );
    nothing(&mut watcher);

    fs::remove_file(&path).expect("delete");
    assert_eq!(
        next(&mut watcher),
        FileChange::Vanished { path: path.clone() }
    );
    nothing(&mut watcher);

    fs::write(&path, b"two").expect("recreate");
    assert_eq!(
        next(&mut watcher),
        FileChange::Appeared {
            path: path.clone(),
            hash: xxh3_128(b"two")
        }
    );
    assert_eq!(
        watcher.known().collect::<Vec<_>>(),
        [(path.as_path(), xxh3_128(b"two"))]
    );
    nothing(&mut watcher);
}

#[test]
fn a_file_written_slowly_is_reported_once_complete() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The default timing: 500 ms of quiet before a report, against pauses
    // of 100 ms between chunks.
    let mut watcher = DirWatcher::new(dir.path(), &WatchOptions::default()).expect("watch");
    let path = lib(dir.path(), "slow");
    let bytes: Vec<u8> = (0..11 * 64 * 1024u32).map(|i| (i % 253) as u8).collect();
    let writer = {
        let path = path.clone();
        let bytes = bytes.clone();
        std::thread::spawn(move || {
            let mut file = File::create(&path).expect("create");
            for chunk in bytes.chunks(64 * 1024) {
                file.write_all(chunk).expect("write a chunk");
                file.flush().expect("flush");
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let started = Instant::now();
    let change = next(&mut watcher);
    writer.join().expect("the writer finished");
    assert_eq!(
        change,
        FileChange::Appeared {
            path: path.clone(),
            hash: xxh3_128(&bytes)
        },
        "reported after {:?}",
        started.elapsed()
    );
    nothing(&mut watcher);
}

#[test]
fn files_present_at_the_start_are_reported_and_others_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (lib(dir.path(), "a"), lib(dir.path(), "b"));
    fs::write(&b, b"b").expect("write");
    fs::write(&a, b"a").expect("write");
    fs::write(dir.path().join("notes.txt"), b"notes").expect("write");
    fs::write(lib(dir.path(), ".hidden"), b"tmp").expect("write");
    let mut watcher = DirWatcher::new(dir.path(), &options()).expect("watch");
    assert_eq!(
        next(&mut watcher),
        FileChange::Appeared {
            path: a,
            hash: xxh3_128(b"a")
        }
    );
    assert_eq!(
        next(&mut watcher),
        FileChange::Appeared {
            path: b,
            hash: xxh3_128(b"b")
        }
    );
    fs::write(dir.path().join("notes.txt"), b"more notes").expect("write");
    fs::write(lib(dir.path(), "c").with_extension("tmp"), b"tmp").expect("write");
    nothing(&mut watcher);
}

#[test]
fn the_poll_watcher_reports_the_same_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut watcher = DirWatcher::new(dir.path(), &options().poll(true)).expect("watch");
    assert!(watcher.is_polling());
    assert_eq!(watcher.fallback_reason(), None);
    let path = lib(dir.path(), "a");
    fs::write(&path, b"one").expect("write");
    assert_eq!(
        next(&mut watcher),
        FileChange::Appeared {
            path: path.clone(),
            hash: xxh3_128(b"one")
        }
    );
    fs::remove_file(&path).expect("delete");
    assert_eq!(next(&mut watcher), FileChange::Vanished { path });
}

#[test]
fn recursive_watching_sees_new_subdirectories() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut watcher = DirWatcher::new(dir.path(), &options().recursive(true)).expect("watch");
    let sub = dir.path().join("sub");
    fs::create_dir(&sub).expect("mkdir");
    let path = lib(&sub, "deep");
    fs::write(&path, b"deep").expect("write");
    assert_eq!(
        next(&mut watcher),
        FileChange::Appeared {
            path: path.clone(),
            hash: xxh3_128(b"deep")
        }
    );
    fs::remove_dir_all(&sub).expect("rm -r");
    assert_eq!(next(&mut watcher), FileChange::Vanished { path });
}

#[test]
fn a_removed_and_recreated_directory_is_watched_again() {
    let parent = tempfile::tempdir().expect("tempdir");
    let dir = parent.path().join("plugins");
    fs::create_dir(&dir).expect("mkdir");
    let path = lib(&dir, "a");
    fs::write(&path, b"one").expect("write");
    let mut watcher = DirWatcher::new(&dir, &options()).expect("watch");
    assert!(matches!(next(&mut watcher), FileChange::Appeared { .. }));
    fs::remove_dir_all(&dir).expect("rm -r");
    assert_eq!(
        next(&mut watcher),
        FileChange::Vanished { path: path.clone() }
    );
    fs::create_dir(&dir).expect("mkdir again");
    fs::write(&path, b"two").expect("write again");
    assert_eq!(
        next(&mut watcher),
        FileChange::Appeared {
            path,
            hash: xxh3_128(b"two")
        }
    );
}

#[test]
fn only_directories_are_watched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = lib(dir.path(), "a");
    fs::write(&path, b"x").expect("write");
    let error = DirWatcher::new(&path, &options()).expect_err("a file is refused");
    assert!(error.to_string().contains("directories"), "{error}");
    assert!(DirWatcher::new(dir.path().join("missing"), &options()).is_err());
}
