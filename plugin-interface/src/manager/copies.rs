//! The manager's private copies: the dynamic loader never maps a watched
//! file, so a rebuilt file is never confused with the resident old image
//! and an in-place overwrite never changes mapped pages.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::PluginError;

/// A private directory (mode 0700 on Unix), removed with everything in it
/// when dropped.
#[derive(Debug)]
pub(super) struct Copies {
    dir: tempfile::TempDir,
    next: AtomicU64,
}

impl Copies {
    pub(super) fn new() -> Result<Self, PluginError> {
        let dir = tempfile::Builder::new()
            .prefix("plugin-copies-")
            .tempdir()
            .map_err(|source| PluginError::Io {
                library: std::env::temp_dir(),
                source,
            })?;
        // Private whatever the umask: only this user reads or replaces the
        // files the dynamic loader maps.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).map_err(
                |source| PluginError::Io {
                    library: dir.path().to_path_buf(),
                    source,
                },
            )?;
        }
        Ok(Self {
            dir,
            next: AtomicU64::new(1),
        })
    }

    pub(super) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `bytes`, the content of `origin`, to a new uniquely named
    /// copy: `<name>-<sequence>-g<generation>-<hash>.<extension>`.
    pub(super) fn write(
        &self,
        origin: &Path,
        generation: u64,
        hash: u128,
        bytes: &[u8],
    ) -> Result<PathBuf, PluginError> {
        let stem = origin
            .file_stem()
            .map_or_else(|| "plugin".into(), |stem| stem.to_string_lossy());
        let sequence = self.next.fetch_add(1, Ordering::Relaxed);
        let mut name = format!("{stem}-{sequence}-g{generation}-{:08x}", hash as u32);
        if let Some(extension) = origin.extension() {
            name.push('.');
            name.push_str(&extension.to_string_lossy());
        }
        let copy = self.dir.path().join(name);
        let io = |source| PluginError::Io {
            library: origin.to_path_buf(),
            source,
        };
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&copy)
            .map_err(io)?;
        file.write_all(bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(copy)
    }
}

/// Reads the whole file: the copy is made from these bytes, and the hash
/// computed over them, so what is mapped is what was hashed.
pub(super) fn read(path: &Path) -> Result<Vec<u8>, PluginError> {
    fs::read(path).map_err(|source| PluginError::Io {
        library: path.to_path_buf(),
        source,
    })
}

/// The content hash that decides whether a file changed.
pub(super) fn hash(bytes: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(bytes)
}

/// Removes a copy; one already gone is fine.
pub(super) fn remove(copy: &Path) {
    drop(fs::remove_file(copy));
}
