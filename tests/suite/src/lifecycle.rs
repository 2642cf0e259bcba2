//! Helpers for the manager tests (reload, state, lifecycle, soak,
//! threads): a watched copy of a fixture, atomic replacement of the
//! watched file, and what `/proc/self` says about mapped libraries and open
//! file descriptors.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::plugins;

/// Copies the library of `package` into `dir` as `lifecycle.so`: the file
/// a manager watches.
pub fn watched(package: &str, dir: &Path) -> PathBuf {
    plugins().copy_to(package, dir, "lifecycle")
}

/// Replaces `path` with `bytes` the way a deployment should: written to a
/// temporary name in the same directory, then renamed over `path`. A reader
/// sees either the whole old file or the whole new one.
pub fn replace_with_bytes(path: &Path, bytes: &[u8]) {
    let temporary = temporary_beside(path);
    std::fs::write(&temporary, bytes)
        .unwrap_or_else(|e| panic!("writing {}: {e}", temporary.display()));
    rename(&temporary, path);
}

/// Replaces `path` atomically with the library of `package`.
pub fn replace_with(path: &Path, package: &str) {
    let temporary = temporary_beside(path);
    std::fs::copy(plugins().path(package), &temporary)
        .unwrap_or_else(|e| panic!("copying {package} to {}: {e}", temporary.display()));
    rename(&temporary, path);
}

/// Replaces `path` atomically with a hard link to `staged` (a file in the
/// same directory): as atomic as [`replace_with`], without copying bytes.
pub fn replace_with_link(path: &Path, staged: &Path) {
    let temporary = temporary_beside(path);
    std::fs::hard_link(staged, &temporary).unwrap_or_else(|e| {
        panic!(
            "linking {} to {}: {e}",
            staged.display(),
            temporary.display()
        )
    });
    rename(&temporary, path);
}

/// A name in `path`'s directory that no other replacement uses.
fn temporary_beside(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .unwrap_or_else(|| panic!("{} has no file name", path.display()))
        .to_string_lossy();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

fn rename(from: &Path, to: &Path) {
    std::fs::rename(from, to)
        .unwrap_or_else(|e| panic!("renaming {} to {}: {e}", from.display(), to.display()));
}

/// The in-memory copies of plugin libraries mapped in this process:
/// `/memfd:plugin-...` names from `/proc/self/maps`.
pub fn mapped_copies() -> BTreeSet<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("reading /proc/self/maps");
    maps.lines()
        .filter_map(|line| {
            // address perms offset dev inode path: the path is what follows
            // the fifth field, and may contain spaces.
            let path = line.splitn(6, ' ').nth(5)?.trim_start();
            let name = path.strip_suffix(" (deleted)").unwrap_or(path);
            name.starts_with("/memfd:plugin-").then(|| name.to_owned())
        })
        .collect()
}

/// How many file descriptors this process has open.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("reading /proc/self/fd")
        .count()
}

/// The names of the entries of `dir`, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
