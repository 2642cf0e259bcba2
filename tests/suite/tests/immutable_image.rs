//! A file the kernel keeps from changing is loaded as it is, without the
//! sealed copy every other file gets: here a memory file sealed against
//! writes, the kind a host makes of plugin bytes it received.

use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::path::PathBuf;

use greeter_interface::Greeter;
use plugin_interface::{
    Image, Immutable, PluginLibrary, PluginManager, UnloadOutcome, get_unmaker_counter,
};
use plugin_tests::plugins;

/// A memory file holding the English greeter's bytes, private to its
/// owner and sealed with `seals` when given, and the `/proc/self/fd/N`
/// path that names it.
fn memory_file(name: &str, seals: Option<i32>) -> (OwnedFd, PathBuf) {
    memory_file_with_mode(name, seals, 0o700)
}

/// [`memory_file`] with the permissions `mode`.
fn memory_file_with_mode(name: &str, seals: Option<i32>, mode: u32) -> (OwnedFd, PathBuf) {
    let bytes = std::fs::read(plugins().path("english-plugin")).unwrap();
    let name = std::ffi::CString::new(name).unwrap();
    // SAFETY: `name` is NUL-terminated and outlives the call.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_ALLOW_SEALING) };
    assert!(fd >= 0, "{}", std::io::Error::last_os_error());
    // SAFETY: a descriptor `memfd_create` just returned, owned by no one.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut file = std::fs::File::from(fd);
    std::io::Write::write_all(&mut file, &bytes).unwrap();
    let mode = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(mode);
    file.set_permissions(mode).unwrap();
    let fd = OwnedFd::from(file);
    if let Some(seals) = seals {
        // SAFETY: `fcntl` on a descriptor owned here.
        let sealed = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) };
        assert_eq!(sealed, 0, "{}", std::io::Error::last_os_error());
    }
    let path = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    (fd, path)
}

const SEALED: Option<i32> = Some(libc::F_SEAL_WRITE | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW);

fn greeter(library: &PluginLibrary) -> Box<dyn Greeter> {
    let mut proxies = library.instantiate::<dyn Greeter>().unwrap();
    assert_eq!(proxies.len(), 1);
    Box::new(proxies.remove(0))
}

#[test]
fn a_sealed_memory_file_is_mapped_as_it_is_and_a_second_load_of_it_is_copied() {
    let (_fd, path) = memory_file("sealed-english", SEALED);
    let library = PluginLibrary::open(&path).unwrap();
    assert_eq!(library.image(), Image::Mapped(Immutable::Sealed));
    // The dynamic loader mapped the host's memory file, not a copy of it.
    assert!(
        library.mapped_name().starts_with("/memfd:sealed-english"),
        "{}",
        library.mapped_name()
    );
    let first = greeter(&library);
    assert_eq!(first.greet("world"), "Hello, world!");

    // The same inode again, while it is loaded: the dynamic loader would
    // hand back the image already loaded, so this one gets a copy, with
    // state of its own.
    let again = PluginLibrary::open(&path).unwrap();
    assert_eq!(again.image(), Image::Copied);
    assert_ne!(again.mapped_name(), library.mapped_name());
    drop(greeter(&again));
    assert_eq!(get_unmaker_counter(&again, "Greeter").unwrap(), 1);
    assert_eq!(get_unmaker_counter(&library, "Greeter").unwrap(), 0);
    assert_eq!(first.greet("again"), "Hello, again!");
    drop(first);
    assert_eq!(get_unmaker_counter(&library, "Greeter").unwrap(), 1);

    assert_eq!(library.close().unwrap().outcome, UnloadOutcome::Unloaded);
    assert_eq!(again.close().unwrap().outcome, UnloadOutcome::Unloaded);
    // Seen to leave: the inode is free to be mapped as it is again.
    let third = PluginLibrary::open(&path).unwrap();
    assert_eq!(third.image(), Image::Mapped(Immutable::Sealed));
    assert_eq!(greeter(&third).greet("third"), "Hello, third!");
    drop(third);
    // Dropped without `close`, nobody saw the image leave: the next load
    // of the inode is copied.
    let fourth = PluginLibrary::open(&path).unwrap();
    assert_eq!(fourth.image(), Image::Copied);
    assert_eq!(fourth.close().unwrap().outcome, UnloadOutcome::Unloaded);
}

#[test]
fn a_memory_file_that_can_still_change_is_copied() {
    for (name, seals) in [
        ("unsealed-english", None),
        // Sealed against writes, but it could still shrink under the host.
        ("unshrinkable-english", Some(libc::F_SEAL_WRITE)),
    ] {
        let (_fd, path) = memory_file(name, seals);
        let library = PluginLibrary::open(&path).unwrap();
        assert_eq!(library.image(), Image::Copied, "{name}");
        assert!(
            library.mapped_name().starts_with("/memfd:plugin-"),
            "{name}: {}",
            library.mapped_name()
        );
        assert_eq!(greeter(&library).greet(name), format!("Hello, {name}!"));
        assert_eq!(library.close().unwrap().outcome, UnloadOutcome::Unloaded);
    }
}

#[test]
fn a_regular_file_is_copied() {
    let dir = tempfile::tempdir().unwrap();
    let path = plugins().copy_to("english-plugin", dir.path(), "english");
    let library = PluginLibrary::open(&path).unwrap();
    assert_eq!(library.image(), Image::Copied);
    assert_eq!(library.close().unwrap().outcome, UnloadOutcome::Unloaded);
}

#[test]
fn a_manager_maps_a_sealed_memory_file_and_knows_it_unchanged() {
    let (_fd, path) = memory_file("managed-english", SEALED);
    let manager = PluginManager::new().unwrap();
    let handle = manager.load(&path).unwrap();
    assert_eq!(handle.image(), Image::Mapped(Immutable::Sealed));
    assert!(
        handle.mapped_name().starts_with("/memfd:managed-english"),
        "{}",
        handle.mapped_name()
    );
    let proxy = manager.proxy::<dyn Greeter>(&path, "English").unwrap();
    assert_eq!(proxy.greet("manager"), "Hello, manager!");
    // Its content hash was taken from the mapped bytes and the rest of the
    // file: a reload finds the same.
    assert!(matches!(
        manager.reload(&path).unwrap(),
        plugin_interface::ReloadOutcome::Unchanged
    ));
    drop(proxy);
    let reports = manager.close().unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].outcome, UnloadOutcome::Unloaded);
}

#[test]
fn a_sealed_memory_file_the_host_loaded_itself_is_copied() {
    let (_fd, path) = memory_file("host-loaded-english", SEALED);
    // SAFETY: the English greeter, whose initialisers are harmless.
    let host_own = unsafe { libloading::Library::new(&path) }.unwrap();
    let library = PluginLibrary::open(&path).unwrap();
    // The dynamic loader knows the inode already: mapping it again would
    // hand back the host's own image, so the library gets a copy.
    assert_eq!(library.image(), Image::Copied);
    assert!(
        library.mapped_name().starts_with("/memfd:plugin-"),
        "{}",
        library.mapped_name()
    );
    assert_eq!(greeter(&library).greet("host"), "Hello, host!");
    assert_eq!(library.close().unwrap().outcome, UnloadOutcome::Unloaded);
    drop(host_own);
}

/// Run alone in a child process, so that its first load is the process's
/// first, under the plain `/proc/self/fd/N` name that the next open's
/// reused descriptor number spells again.
#[test]
fn sealed_memory_files_loaded_one_after_another_are_each_mapped() {
    plugin_tests::in_child_process(
        "sealed_memory_files_loaded_one_after_another_are_each_mapped",
        || {
            let files: Vec<(OwnedFd, PathBuf)> = (0..3)
                .map(|index| memory_file(&format!("one-after-another-{index}"), SEALED))
                .collect();
            let libraries: Vec<PluginLibrary> = files
                .iter()
                .map(|(_, path)| PluginLibrary::open(path).unwrap())
                .collect();
            for library in &libraries {
                assert_eq!(library.image(), Image::Mapped(Immutable::Sealed));
                assert_eq!(greeter(library).greet("again"), "Hello, again!");
            }
            for library in libraries {
                assert_eq!(library.close().unwrap().outcome, UnloadOutcome::Unloaded);
            }
        },
    );
}

#[test]
fn write_bits_count_only_on_a_memory_file_that_can_still_change() {
    // Memory files are made with mode 0777. Sealed, nobody can write one
    // whatever its mode says; unsealed, the trust policy refuses it.
    let (_fd, sealed) = memory_file_with_mode("open-sealed-english", SEALED, 0o777);
    let library = PluginLibrary::open(&sealed).unwrap();
    assert_eq!(library.image(), Image::Mapped(Immutable::Sealed));
    assert_eq!(library.close().unwrap().outcome, UnloadOutcome::Unloaded);
    let (_fd, open) = memory_file_with_mode("open-english", None, 0o777);
    let error = PluginLibrary::open(&open).unwrap_err();
    assert!(
        matches!(error, plugin_interface::PluginError::Untrusted { .. }),
        "{error}"
    );
}
