//! A library's bytes in a memory file sealed against every change, named
//! by its `/proc/self/fd/N` path: the kind of file a host makes of plugin
//! bytes it received, and one the framework maps without copying.

use std::ffi::CString;
use std::fs::{self, File, Permissions};
use std::io::Write as _;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// A sealed memory file, closed when dropped.
#[derive(Debug)]
pub struct Sealed {
    /// Kept open: `path` names this descriptor.
    _fd: OwnedFd,
    path: PathBuf,
}

impl Sealed {
    /// A new memory file holding `library`'s bytes, sealed against writes,
    /// growing and shrinking, and private to its owner.
    ///
    /// # Panics
    ///
    /// If the library cannot be read or the memory file made.
    pub fn new(library: &Path) -> Self {
        let bytes = fs::read(library).unwrap_or_else(|e| panic!("cannot read {library:?}: {e}"));
        let name = CString::new("bench-sealed").expect("no NUL");
        // SAFETY: `name` is NUL-terminated and outlives the call.
        let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_ALLOW_SEALING) };
        assert!(fd >= 0, "memfd_create: {}", std::io::Error::last_os_error());
        // SAFETY: a descriptor `memfd_create` just returned, owned by no one.
        let mut file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        file.write_all(&bytes).expect("write the memory file");
        // Memory files are made with mode 0777, which the trust policy
        // refuses for a file others could write before it was sealed.
        file.set_permissions(Permissions::from_mode(0o700))
            .expect("chmod the memory file");
        let fd = OwnedFd::from(file);
        let seals =
            libc::F_SEAL_WRITE | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
        // SAFETY: `fcntl` on a descriptor owned here.
        let sealed = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) };
        assert_eq!(
            sealed,
            0,
            "F_ADD_SEALS: {}",
            std::io::Error::last_os_error()
        );
        let path = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
        Self { _fd: fd, path }
    }

    /// The path that names the memory file while `self` lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for Sealed {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}
