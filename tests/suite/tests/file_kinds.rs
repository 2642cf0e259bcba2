//! Files that are not regular files are refused at once, without blocking,
//! and a file replaced while it is being checked or loaded never crashes
//! the host: what was checked is what is mapped.
#![cfg(target_os = "linux")]

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use greeter_interface::Greeter;
use plugin_interface::{PluginError, PluginFile, PluginLibrary, PluginManager, load_plugins};
use plugin_tests::{in_child_process, plugins};

/// A FIFO, a socket, a directory and a character device, each named like
/// a library, with the reason each is refused.
fn odd_files(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let fifo = dir.join("libfifo.so");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo: {status}");
    let socket = dir.join("libsocket.so");
    std::mem::forget(UnixListener::bind(&socket).unwrap());
    let directory = dir.join("libdir.so");
    std::fs::create_dir(&directory).unwrap();
    let device = dir.join("libdevice.so");
    std::os::unix::fs::symlink("/dev/null", &device).unwrap();
    vec![
        (fifo, "not a regular file: a FIFO"),
        (socket, "not a regular file: a socket"),
        (directory, "not a regular file: a directory"),
        (device, "not a regular file: a character device"),
    ]
}

fn reason(error: &PluginError) -> &str {
    match error {
        PluginError::NotALibrary { reason, .. } => reason,
        other => panic!("expected NotALibrary, got {other:?}"),
    }
}

#[test]
fn fifos_sockets_directories_and_devices_are_refused_without_blocking() {
    in_child_process(
        "fifos_sockets_directories_and_devices_are_refused_without_blocking",
        || {
            watchdog(Duration::from_secs(60));
            let dir = tempfile::tempdir().unwrap();
            for (path, expected) in odd_files(dir.path()) {
                let checked = PluginFile::check(&path).unwrap_err();
                assert_eq!(reason(&checked), expected, "{}", path.display());
                assert_eq!(checked.library(), path);
                let opened = PluginLibrary::open(&path).unwrap_err();
                assert_eq!(reason(&opened), expected, "{}", path.display());
                let manager = PluginManager::new().unwrap();
                let loaded = manager.load(&path).unwrap_err();
                assert_eq!(reason(&loaded), expected, "{}", path.display());
            }
            // A directory of them: one refusal each, the scan goes on. The
            // subdirectory is not a library file of the scan.
            let report = load_plugins::<dyn Greeter>(dir.path()).unwrap();
            assert_eq!(report.errors().count(), 3, "{report:?}");
            assert_eq!(report.len(), 0);
        },
    );
}

#[test]
fn a_file_swapped_during_checks_and_loads_never_crashes_the_host() {
    in_child_process(
        "a_file_swapped_during_checks_and_loads_never_crashes_the_host",
        || {
            watchdog(Duration::from_secs(300));
            let dir = tempfile::tempdir().unwrap();
            let full = std::fs::read(plugins().path("english-plugin")).unwrap();
            let whole = plugin_tests::image::layout(&full).bytes;
            let truncated = &whole[..whole.len() / 2];
            let path = dir.path().join("libswapped.so");
            std::fs::write(&path, &whole).unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let swapper = {
                let (dir, path, stop) = (dir.path().to_path_buf(), path.clone(), stop.clone());
                let (whole, truncated) = (whole.clone(), truncated.to_vec());
                std::thread::spawn(move || {
                    let staging = dir.join("staging");
                    let mut round = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let bytes = if round.is_multiple_of(2) {
                            &truncated
                        } else {
                            &whole
                        };
                        std::fs::write(&staging, bytes).unwrap();
                        std::fs::rename(&staging, &path).unwrap();
                        round += 1;
                    }
                    round
                })
            };
            let manager = PluginManager::new().unwrap();
            let (mut loaded, mut refused) = (0, 0);
            for iteration in 0..500 {
                let result = match iteration % 3 {
                    0 => PluginFile::check(&path).map(drop),
                    1 => PluginLibrary::open(&path).and_then(|library| {
                        let greeters = library.instantiate::<dyn Greeter>()?;
                        assert_eq!(greeters[0].greet("swap"), "Hello, swap!");
                        Ok(())
                    }),
                    _ => manager.load(&path).and_then(|_| {
                        let english = manager.proxy::<dyn Greeter>(&path, "English")?;
                        assert_eq!(english.greet("swap"), "Hello, swap!");
                        drop(english);
                        manager.unload_by_path(&path).map(drop)
                    }),
                };
                match result {
                    Ok(()) => loaded += 1,
                    Err(error) => {
                        assert!(!error.to_string().contains('\n'), "{error}");
                        refused += 1;
                    }
                }
            }
            stop.store(true, Ordering::Relaxed);
            let swaps = swapper.join().unwrap();
            println!("500 iterations during {swaps} swaps: {loaded} loaded, {refused} refused");
            assert!(swaps > 0);
        },
    );
}

/// Aborts the process if the test has not finished in `limit`: a hang
/// fails instead of stalling the run.
fn watchdog(limit: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("still running after {limit:?}: a hang");
        std::process::abort();
    });
}
