//! Whether a closed library really left the process, and what closing does
//! per platform.

use std::path::Path;

/// What [`PluginLibrary::close`](crate::PluginLibrary::close) does with
/// the library once its instances are freed and its counters read.
///
/// | policy | Linux (glibc) | macOS | Windows |
/// |---|---|---|---|
/// | `Close` | `dlclose`; the image leaves unless a thread-local destructor of the library is pending on a live thread | `dlclose`; dyld keeps images that use thread-locals (nearly every Rust library) | `FreeLibrary`; the image leaves |
/// | `NoDelete` | opened with `RTLD_NODELETE`: stays mapped, reported `Kept` | as on Linux | treated as `Leak` |
/// | `Leak` | never closed, reported `Kept` | same | same |
///
/// Unmakers run and counters are read under every policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum UnloadPolicy {
    /// Close the library and verify that it left memory.
    #[default]
    Close,
    /// Open libraries so that the dynamic loader never unmaps them
    /// (`RTLD_NODELETE`): code addresses stay valid for the process's
    /// lifetime, for hosts that keep function pointers or backtraces.
    NoDelete,
    /// Never close the library.
    Leak,
}

/// Whether a closed library left the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnloadOutcome {
    /// Verified gone: the dynamic loader no longer knows it and no mapping
    /// of the file is left.
    Unloaded,
    /// Closed, but still in the process.
    Resident {
        /// What was seen.
        reason: String,
    },
    /// Not closed, by the policy.
    Kept {
        /// The policy that kept it.
        policy: UnloadPolicy,
    },
}

impl UnloadOutcome {
    /// Whether the image left the process.
    pub fn is_unloaded(&self) -> bool {
        matches!(self, Self::Unloaded)
    }
}

/// `/proc/self/maps`, empty where it cannot be read.
pub(crate) fn maps() -> String {
    std::fs::read_to_string("/proc/self/maps").unwrap_or_default()
}

/// Checks, after `dlclose`, whether the library loaded from `file` is still
/// in the process: whether the dynamic loader still has it, and whether
/// `maps` (`/proc/self/maps` as read after the close) shows a mapping
/// named `mapped_as` (of the inode `inode`, when known).
#[cfg(unix)]
pub(crate) fn probe(file: &Path, mapped_as: &str, inode: Option<u64>, maps: &str) -> UnloadOutcome {
    let mut seen = Vec::new();
    if still_loaded(file) {
        seen.push("the dynamic loader still has it open (dlopen with RTLD_NOLOAD succeeds)");
    }
    if mapped(mapped_as, inode, maps) {
        seen.push("its file is still mapped (/proc/self/maps)");
    }
    if seen.is_empty() {
        return UnloadOutcome::Unloaded;
    }
    UnloadOutcome::Resident {
        reason: format!(
            "{}; on glibc this means a thread-local destructor of the library is pending on a live thread (or another handle opened it)",
            seen.join(" and ")
        ),
    }
}

/// Not verified on this platform: reported as resident, never assumed gone.
#[cfg(not(unix))]
pub(crate) fn probe(
    _file: &Path,
    _mapped_as: &str,
    _inode: Option<u64>,
    _maps: &str,
) -> UnloadOutcome {
    UnloadOutcome::Resident {
        reason: "whether the library left memory is not checked on this platform".to_owned(),
    }
}

/// Whether the dynamic loader still has an image loaded under `file`.
#[cfg(unix)]
pub(crate) fn still_loaded(file: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(name) = std::ffi::CString::new(file.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: RTLD_NOLOAD never loads anything, so no initialiser runs; a
    // handle it returns is a new reference to an image already loaded,
    // given back at once.
    unsafe {
        let handle = libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD);
        if handle.is_null() {
            return false;
        }
        libc::dlclose(handle);
    }
    true
}

/// The name `/proc/self/maps` shows mappings of `file` under: for a
/// sealed in-memory copy (`/proc/self/fd/N`, while that is open) the
/// `/memfd:<name>` its link shows, else the file's canonical path.
pub(crate) fn mapped_name(file: &Path) -> String {
    if let Ok(link) = std::fs::read_link(file) {
        let link = link.to_string_lossy();
        if link.starts_with("/memfd:") {
            return link.trim_end_matches(" (deleted)").to_owned();
        }
    }
    std::fs::canonicalize(file)
        .unwrap_or_else(|_| file.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// Whether `maps` shows a mapping under `name` (from [`mapped_name`]) of
/// the inode `inode` when it is known: another file mapped under the same
/// name (a memory file's name need not be unique) is not this one.
#[cfg(unix)]
fn mapped(name: &str, inode: Option<u64>, maps: &str) -> bool {
    let deleted = format!("{name} (deleted)");
    let inode = inode.map(|inode| inode.to_string());
    maps.lines()
        .filter(|line| line.ends_with(&deleted) || line.ends_with(name))
        .any(|line| {
            // address, permissions, offset, device, inode, name
            inode
                .as_deref()
                .is_none_or(|inode| line.split_ascii_whitespace().nth(4) == Some(inode))
        })
}

#[cfg(all(test, unix))]
mod tests {
    use super::mapped;

    const MAPS: &str = "\
7f0000000000-7f0000016000 r--p 00000000 00:01 4242                       /memfd:plugin (deleted)
7f0000016000-7f0000058000 r-xp 00016000 00:01 4242                       /memfd:plugin (deleted)
7f1000000000-7f1000001000 r--p 00000000 08:01 77                         /usr/lib/libfoo.so
";

    #[test]
    fn a_mapping_counts_under_its_name_and_inode() {
        assert!(mapped("/memfd:plugin", None, MAPS));
        assert!(mapped("/memfd:plugin", Some(4242), MAPS));
        assert!(mapped("/usr/lib/libfoo.so", Some(77), MAPS));
        // Another memory file of the same name is not this one.
        assert!(!mapped("/memfd:plugin", Some(4243), MAPS));
        assert!(!mapped("/memfd:other", None, MAPS));
    }
}
