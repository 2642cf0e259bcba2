//! Fresh copies of a library file, each at a new path, so the dynamic
//! loader never hands back a handle it already has: every load in the
//! benchmark maps, relocates and initialises a library from scratch.

use std::fs;
use std::path::{Path, PathBuf};

/// A private directory of copies, removed when dropped.
#[derive(Debug)]
pub struct FreshCopies {
    dir: PathBuf,
    next: u64,
}

impl FreshCopies {
    /// A new, empty directory under `<target>/bench-tmp/`.
    ///
    /// # Panics
    ///
    /// If the directory cannot be created.
    pub fn new(target_dir: &Path, label: &str) -> Self {
        let dir = target_dir
            .join("bench-tmp")
            .join(format!("{label}-{}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("cannot clear {dir:?}: {e}"));
        }
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {dir:?}: {e}"));
        Self { dir, next: 0 }
    }

    /// The directory holding the copies.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Copies `library` to a path never used before.
    ///
    /// # Panics
    ///
    /// If the copy fails.
    pub fn copy(&mut self, library: &Path) -> PathBuf {
        let name = self.unique_name(library);
        let path = self.dir.join(name);
        fs::copy(library, &path).unwrap_or_else(|e| panic!("cannot copy {library:?}: {e}"));
        path
    }

    /// Copies `library` `count` times into a new subdirectory, and returns it.
    ///
    /// # Panics
    ///
    /// If a copy fails.
    pub fn copy_many(&mut self, library: &Path, count: usize) -> PathBuf {
        self.next += 1;
        let dir = self.dir.join(format!("set-{}", self.next));
        fs::create_dir(&dir).unwrap_or_else(|e| panic!("cannot create {dir:?}: {e}"));
        for _ in 0..count {
            let name = self.unique_name(library);
            let path = dir.join(name);
            fs::copy(library, &path).unwrap_or_else(|e| panic!("cannot copy {library:?}: {e}"));
        }
        dir
    }

    fn unique_name(&mut self, library: &Path) -> String {
        self.next += 1;
        let stem = library
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or("lib");
        let extension = library
            .extension()
            .and_then(|extension| extension.to_str())
            .unwrap_or("so");
        format!("{stem}-{:06}.{extension}", self.next)
    }

    /// Removes a copy or a set of copies made by this value. Errors are
    /// ignored: the whole directory goes when `self` is dropped.
    pub fn discard(&self, path: &Path) {
        debug_assert!(path.starts_with(&self.dir));
        if path.is_dir() {
            let _ = fs::remove_dir_all(path);
        } else {
            let _ = fs::remove_file(path);
        }
    }
}

impl Drop for FreshCopies {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}
