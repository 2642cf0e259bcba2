//! What the dynamic loader maps for a library: the file itself, when the
//! kernel guarantees that its bytes can no longer change, or else a sealed
//! in-memory copy of them.
//!
//! A library must run exactly the bytes that were checked, and keep
//! running them: a file written in place after the check, or while it is
//! loaded (`cp new.so plugin.so`), would otherwise change the code under
//! the host or take its pages away. Most files can be written, so their
//! loadable part is copied into a sealed memory file, which costs about
//! twice the `dlopen` itself. A file that cannot change is mapped as it
//! is, through the very descriptor its bytes were checked from.

use std::collections::BTreeSet;
use std::fs::File;
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::MetadataExt as _;
use std::sync::{Mutex, PoisonError};

/// Where a loaded library's code and data come from
/// ([`PluginLibrary::image`](crate::PluginLibrary::image)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Image {
    /// A sealed in-memory copy of the loadable part of the file, made when
    /// it was opened: the file could still be written, so later writes
    /// must not reach the running code.
    Copied,
    /// The file itself, mapped through the descriptor its bytes were
    /// checked from: the kernel guarantees they cannot change.
    Mapped(Immutable),
    /// Not loaded in this process: a worker process serves the library.
    InWorker,
}

/// Why the kernel guarantees that a file's bytes cannot change.
///
/// Only guarantees that no one can take back count. An immutable
/// attribute (`chattr +i`) can be cleared, and a read-only file system
/// reads from a device or image file that others may write, so both are
/// copied like any other file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Immutable {
    /// A memory file sealed against writes and shrinking
    /// (`F_SEAL_WRITE` and `F_SEAL_SHRINK`, which can never be removed),
    /// e.g. a host's `/proc/self/fd/N` of plugin bytes it received.
    Sealed,
    /// An inode protected by fs-verity: it can no longer be written, and a
    /// change to the storage under it (by whoever can write the device)
    /// reads as an error, never as other bytes; for a page of the loaded
    /// code read back in, that error is a fault in the host.
    Verity,
}

/// What the kernel says about an open file, as [`immutable`] reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Facts {
    /// Its seals, for a memory file.
    seals: Option<i32>,
    /// `statx`'s `stx_attributes`, already masked by `stx_attributes_mask`.
    attributes: u64,
}

impl Facts {
    fn immutable(self) -> Option<Immutable> {
        let sealed = libc::F_SEAL_WRITE | libc::F_SEAL_SHRINK;
        if self.seals.is_some_and(|seals| seals & sealed == sealed) {
            Some(Immutable::Sealed)
        } else if self.attributes & libc::STATX_ATTR_VERITY as u64 != 0 {
            Some(Immutable::Verity)
        } else {
            None
        }
    }
}

/// Why `file`'s bytes cannot change, when the kernel guarantees it; what
/// it cannot tell (an old kernel, a failed call) counts as changeable.
pub(crate) fn immutable(file: &File) -> Option<Immutable> {
    let fd = file.as_raw_fd();
    // SAFETY: `fcntl` on a descriptor `file` keeps open; a file that is
    // not a memory file answers -1.
    let seals = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
    // SAFETY: `statx` with `AT_EMPTY_PATH` describes `fd` itself into a
    // zeroed buffer of its own type, which it only writes.
    let attributes = unsafe {
        let mut buffer: libc::statx = core::mem::zeroed();
        let described = libc::statx(fd, c"".as_ptr(), libc::AT_EMPTY_PATH, 0, &mut buffer) == 0;
        if described {
            buffer.stx_attributes & buffer.stx_attributes_mask
        } else {
            0
        }
    };
    Facts {
        seals: (seals >= 0).then_some(seals),
        attributes,
    }
    .immutable()
}

/// Inodes mapped as they are by a library of this process that is loaded,
/// or that was closed without being seen to leave.
static CLAIMED: Mutex<BTreeSet<(u64, u64)>> = Mutex::new(BTreeSet::new());

/// The right to map one inode as it is. The dynamic loader knows a file by
/// its inode as well as by its name, and would hand a second load of the
/// same inode the image already loaded, with its state: a second library
/// opened from a claimed inode is copied instead, and gets an image of its
/// own.
#[derive(Debug)]
pub(crate) struct Claim {
    inode: (u64, u64),
}

impl Claim {
    /// Claims the inode `metadata` describes, unless a library holds it.
    pub(crate) fn take(metadata: &std::fs::Metadata) -> Option<Self> {
        let inode = (metadata.dev(), metadata.ino());
        let fresh = CLAIMED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(inode);
        // Made only when claimed: dropping one releases the inode.
        fresh.then(|| Self { inode })
    }

    /// Keeps the inode claimed for the life of the process: its image may
    /// still be in the process (closed without being seen to leave, or
    /// kept by the unload policy).
    pub(crate) fn keep(self) {
        core::mem::forget(self);
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        CLAIMED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.inode);
    }
}

#[cfg(test)]
mod tests {
    use super::{Claim, Facts, Immutable};

    #[test]
    fn only_what_the_kernel_guarantees_for_good_counts_as_immutable() {
        let plain = Facts::default();
        assert_eq!(plain.immutable(), None);
        let with = |change: &dyn Fn(&mut Facts)| {
            let mut facts = plain;
            change(&mut facts);
            facts.immutable()
        };
        // A memory file needs both seals: a grow seal alone, a write seal
        // that still lets it shrink, or a seal against new writable
        // mappings only, is not enough.
        assert_eq!(with(&|f| f.seals = Some(0)), None);
        assert_eq!(with(&|f| f.seals = Some(libc::F_SEAL_WRITE)), None);
        assert_eq!(
            with(&|f| f.seals = Some(libc::F_SEAL_FUTURE_WRITE | libc::F_SEAL_SHRINK)),
            None
        );
        assert_eq!(
            with(&|f| f.seals = Some(libc::F_SEAL_WRITE | libc::F_SEAL_SHRINK)),
            Some(Immutable::Sealed)
        );
        assert_eq!(
            with(&|f| f.attributes = libc::STATX_ATTR_VERITY as u64),
            Some(Immutable::Verity)
        );
        // `chattr +i` can be cleared (and the file rewritten under a
        // loaded library); append-only still grows.
        assert_eq!(
            with(&|f| f.attributes = libc::STATX_ATTR_IMMUTABLE as u64),
            None
        );
        assert_eq!(
            with(&|f| f.attributes = libc::STATX_ATTR_APPEND as u64),
            None
        );
    }

    #[test]
    fn a_regular_file_in_a_writable_directory_is_not_immutable() {
        let file = tempfile::tempfile().expect("a temporary file");
        assert_eq!(super::immutable(&file), None);
    }

    #[test]
    fn an_inode_is_claimed_once_until_released() {
        let file = tempfile::tempfile().expect("a temporary file");
        let metadata = file.metadata().expect("metadata");
        let claim = Claim::take(&metadata).expect("unclaimed");
        assert!(Claim::take(&metadata).is_none());
        drop(claim);
        let again = Claim::take(&metadata).expect("released");
        again.keep();
        assert!(Claim::take(&metadata).is_none());
    }
}
