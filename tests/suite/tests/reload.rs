//! Hot reload through `PluginManager`: a watched file replaced atomically
//! is reloaded from a fresh in-memory copy and the same proxy follows it; an
//! unchanged file is left alone; a reload that fails for any reason keeps
//! the old generation serving and says why, in its error and in a
//! `ReloadEvent::Failed`.

use std::path::Path;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use lifecycle_interface::{Versioned, VersionedProxy};
use plugin_interface::{PluginLibrary, PluginManager, ReloadEvent, ReloadOutcome};
use plugin_tests::lifecycle::{replace_with, replace_with_bytes, watched};
use plugin_tests::{in_child_process, patch, plugins};

/// A manager watching a copy of lifecycle-v1, and a proxy of its `Probe`.
fn load_v1(dir: &Path) -> (PluginManager, std::path::PathBuf, VersionedProxy) {
    let path = watched("lifecycle-v1", dir);
    let manager = PluginManager::new().unwrap();
    manager.load(&path).unwrap();
    let proxy = manager.proxy::<dyn Versioned>(&path, "Probe").unwrap();
    assert_eq!(proxy.version(), 1);
    (manager, path, proxy)
}

/// The next event, waiting long enough for any sane manager.
fn next_event(events: &Receiver<ReloadEvent>) -> ReloadEvent {
    events
        .recv_timeout(Duration::from_secs(30))
        .expect("a reload event")
}

fn assert_preparing(event: ReloadEvent, watched: &Path) {
    match event {
        ReloadEvent::Preparing { path } => assert_eq!(path, watched),
        other => panic!("expected Preparing, got {other:?}"),
    }
}

#[test]
fn the_same_proxy_follows_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let (manager, path, proxy) = load_v1(dir.path());
    let first_copy = manager.handle(&path).unwrap().copy_path().to_path_buf();
    assert_ne!(first_copy, path, "the manager loads an in-memory copy");
    assert!(first_copy.starts_with("/proc/self/fd"), "an in-memory copy");

    replace_with(&path, "lifecycle-v2");
    match manager.reload(&path).unwrap() {
        ReloadOutcome::Reloaded { generation } => assert_eq!(generation, 2),
        ReloadOutcome::Unchanged => panic!("v2 has other bytes than v1"),
    }
    assert_eq!(proxy.version(), 2);
    assert_eq!(proxy.try_version().unwrap(), 2);
    let handle = manager.handle(&path).unwrap();
    assert_eq!(handle.generation(), 2);
    assert_eq!(handle.path(), path);
    // As strings: `Path` comparison skips the `.` components that keep
    // the names of two copies apart.
    assert_ne!(
        handle.copy_path().as_os_str(),
        first_copy.as_os_str(),
        "each generation its own copy"
    );
}

/// A plain `dlopen` of a path it already has open returns the library it
/// has, even after the file was atomically replaced; every open maps its
/// own copy of the bytes it checked, so the new file is what loads.
#[test]
fn an_open_after_an_atomic_replace_loads_the_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = watched("lifecycle-v1", dir.path());
    let first = PluginLibrary::open(&path).unwrap();
    assert_eq!(
        first.instantiate::<dyn Versioned>().unwrap()[0].version(),
        1
    );

    replace_with(&path, "lifecycle-v2");
    let second = PluginLibrary::open(&path).unwrap();
    let proxies = second.instantiate::<dyn Versioned>().unwrap();
    assert_eq!(proxies[0].version(), 2, "the new file's bytes are loaded");
    drop(proxies);
    drop(first);
}

#[test]
fn unchanged_content_is_not_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let (manager, path, proxy) = load_v1(dir.path());
    assert!(matches!(
        manager.reload(&path).unwrap(),
        ReloadOutcome::Unchanged
    ));
    // The same bytes under a new inode are still unchanged content.
    replace_with(&path, "lifecycle-v1");
    assert!(matches!(
        manager.reload(&path).unwrap(),
        ReloadOutcome::Unchanged
    ));
    assert_eq!(manager.handle(&path).unwrap().generation(), 1);
    assert_eq!(proxy.version(), 1);
}

#[test]
fn a_good_reload_sends_preparing_then_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let (manager, path, proxy) = load_v1(dir.path());
    let events = manager.subscribe();
    replace_with(&path, "lifecycle-v2");
    manager.reload(&path).unwrap();
    assert_preparing(next_event(&events), &path);
    match next_event(&events) {
        ReloadEvent::Reloaded {
            path: reloaded,
            generation,
        } => {
            assert_eq!(reloaded, path);
            assert_eq!(generation, 2);
        }
        other => panic!("expected Reloaded, got {other:?}"),
    }
    assert_eq!(proxy.version(), 2);
}

/// Replaces the watched v1 with `bytes`, reloads, and checks that the
/// reload fails naming `expected`, in its error and its `Failed` event,
/// while v1 keeps answering.
fn failed_reload(bytes: &[u8], expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (manager, path, proxy) = load_v1(dir.path());
    let events = manager.subscribe();
    replace_with_bytes(&path, bytes);

    let error = manager
        .reload(&path)
        .expect_err("the reload must be refused");
    let line = error.to_string();
    assert!(line.contains(expected), "expected {expected:?} in: {line}");
    assert!(!line.contains('\n'), "one line: {line}");

    assert_eq!(proxy.version(), 1, "the old generation keeps serving");
    assert_eq!(proxy.try_slow(1).unwrap(), 1);
    assert_eq!(manager.handle(&path).unwrap().generation(), 1);
    let fresh = manager.proxy::<dyn Versioned>(&path, "Probe").unwrap();
    assert_eq!(
        fresh.version(),
        1,
        "new proxies come from the old generation"
    );

    assert_preparing(next_event(&events), &path);
    match next_event(&events) {
        ReloadEvent::Failed {
            path: failed,
            reason,
        } => {
            assert_eq!(failed, path);
            assert_eq!(reason, line, "the event carries the error's Display");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

/// Where the last loadable segment of an ELF file ends.
fn loadable_end(bytes: &[u8]) -> usize {
    use object::read::elf::{FileHeader as _, ProgramHeader as _};
    let header = object::elf::FileHeader64::<object::Endianness>::parse(bytes).unwrap();
    let endian = header.endian().unwrap();
    let end = header
        .program_headers(endian, bytes)
        .unwrap()
        .iter()
        .filter(|segment| segment.p_type(endian) == object::elf::PT_LOAD)
        .map(|segment| segment.p_offset(endian) + segment.p_filesz(endian))
        .max()
        .expect("a library has loadable segments");
    usize::try_from(end).unwrap()
}

#[test]
fn a_truncated_library_is_refused() {
    in_child_process("a_truncated_library_is_refused", || {
        let bytes = std::fs::read(plugins().path("lifecycle-v2")).unwrap();
        // Cut inside what the loader maps (debug sections, which it does
        // not map, fill the end of the file).
        let cut = loadable_end(&bytes) / 2;
        failed_reload(&bytes[..cut], "truncated");
    });
}

#[test]
fn a_canary_mismatch_is_refused() {
    in_child_process("a_canary_mismatch_is_refused", || {
        let mut bytes = std::fs::read(plugins().path("lifecycle-v2")).unwrap();
        assert!(patch(&mut bytes, b"RSPLUGIN", b"XXPLUGIN") > 0);
        failed_reload(&bytes, "canary magic is \"XXPLUGIN\"");
    });
}

#[test]
fn a_library_without_the_trait_is_refused() {
    let bytes = std::fs::read(plugins().path("english-plugin")).unwrap();
    failed_reload(&bytes, "does not export trait `Versioned`");
}

#[test]
fn a_panicking_constructor_is_refused() {
    let bytes = std::fs::read(plugins().path("lifecycle-broken")).unwrap();
    failed_reload(&bytes, "the Versioned constructor fails on purpose");
}
