//! Opening a library file once: refusing what is not a regular file
//! without blocking, applying the trust policy, and copying the bytes the
//! dynamic loader reads or maps (not debug information) into a sealed
//! memory file, hashing the whole file while it streams. The
//! checks read that copy, and the dynamic loader maps that copy
//! (`/proc/self/fd/N`), so no rename or write after the check changes what
//! runs, and nothing is left on disk, even after `SIGKILL`.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::Digest as _;

use crate::PluginError;
use crate::loader::elf;
use crate::loader::policy;
use crate::loader::scan::LoadOptions;

/// Bytes read and hashed at a time.
const CHUNK: usize = 1 << 20;

/// The first bytes of an ELF file.
const ELF_MAGIC: [u8; 4] = *b"\x7fELF";

/// A library file's bytes, copied once into a sealed memory file.
#[derive(Debug)]
pub(crate) struct Source {
    memfd: OwnedFd,
    map: Mapping,
    digest: [u8; 32],
    content_hash: u128,
    target: Option<PathBuf>,
}

/// A private read-only mapping of a sealed memory file, unmapped on drop.
#[derive(Debug)]
struct Mapping {
    start: *const u8,
    length: usize,
}

// SAFETY: the mapping is owned by this value and only read; the memory
// file under it is sealed against every change.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        if !self.start.is_null() {
            // SAFETY: the mapping made in `Source::open`, unmapped once.
            unsafe { libc::munmap(self.start.cast_mut().cast(), self.length) };
        }
    }
}

impl Source {
    /// Opens `path` once and copies it, refusing (in this order) anything
    /// that is not a regular file, a file the trust policy of `options`
    /// refuses, and one whose digest is not on its trusted list.
    /// Errors name `name`: the file itself, or the file `path` is a copy
    /// of.
    pub(crate) fn open(
        path: &Path,
        name: &Path,
        options: &LoadOptions,
    ) -> Result<Self, PluginError> {
        let io = |source| PluginError::Io {
            library: name.to_path_buf(),
            source,
        };
        let refuse = |reason: String| PluginError::NotALibrary {
            library: name.to_path_buf(),
            reason,
        };
        // `stat` never blocks, whatever the file is.
        let named = std::fs::metadata(path).map_err(io)?;
        if !named.is_file() {
            return Err(refuse(format!("not a regular file: {}", kind(&named))));
        }
        let target = std::fs::symlink_metadata(path)
            .ok()
            .filter(|link| link.file_type().is_symlink())
            .and_then(|_| std::fs::canonicalize(path).ok());
        // A file swapped for a FIFO since the `stat` still does not block
        // the open, and `fstat` sees what was opened.
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .map_err(io)?;
        let opened = file.metadata().map_err(io)?;
        if !opened.is_file() {
            return Err(refuse(format!("not a regular file: {}", kind(&opened))));
        }
        if !options.allow_insecure_permissions {
            policy::permissions(target.as_deref().unwrap_or(path), &opened).map_err(|reason| {
                PluginError::Untrusted {
                    library: name.to_path_buf(),
                    reason,
                }
            })?;
        }
        let memfd = memfd(name)?;
        let mut copy = File::from(memfd);
        let mut hasher = sha2::Sha256::new();
        let mut content = xxhash_rust::xxh3::Xxh3Default::new();
        let mut buffer = vec![0u8; CHUNK];
        // Only what the dynamic loader reads or maps is kept (debug
        // information is not), decided from the first chunk; every byte
        // is hashed.
        let mut keep = None;
        let mut position = 0u64;
        let mut length = 0usize;
        loop {
            let read = read_full(&mut file, &mut buffer).map_err(io)?;
            if read == 0 {
                break;
            }
            let chunk = &buffer[..read];
            let keep = *keep.get_or_insert_with(|| {
                if chunk.starts_with(&ELF_MAGIC) {
                    elf::mapped_extent(chunk).unwrap_or(u64::MAX)
                } else {
                    // Refused from its first bytes anyway.
                    CHUNK as u64
                }
            });
            hasher.update(chunk);
            content.update(chunk);
            let kept = keep.saturating_sub(position).min(read as u64) as usize;
            copy.write_all(&chunk[..kept]).map_err(io)?;
            length += kept;
            position += read as u64;
            if read < CHUNK {
                break;
            }
        }
        drop(buffer);
        let memfd = OwnedFd::from(copy);
        let seals =
            libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
        // SAFETY: `fcntl` on a descriptor this function owns.
        if unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
            return Err(io(std::io::Error::last_os_error()));
        }
        let digest: [u8; 32] = hasher.finalize().into();
        if let Some(trusted) = &options.trusted {
            trusted.admit(name, &digest)?;
        }
        let map = if length == 0 {
            core::ptr::null()
        } else {
            // SAFETY: a private read-only mapping of a sealed memory file
            // of `length` bytes: it can neither shrink nor change, so every
            // mapped page stays readable and constant.
            let map = unsafe {
                libc::mmap(
                    core::ptr::null_mut(),
                    length,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE,
                    memfd.as_raw_fd(),
                    0,
                )
            };
            if map == libc::MAP_FAILED {
                return Err(io(std::io::Error::last_os_error()));
            }
            map.cast::<u8>().cast_const()
        };
        Ok(Self {
            memfd,
            map: Mapping { start: map, length },
            digest,
            content_hash: content.digest128(),
            target,
        })
    }

    /// The bytes kept: the file up to the end of its program headers and
    /// segments (all of it, short of that), exactly as read. These are
    /// checked, and these are mapped.
    pub(crate) fn bytes(&self) -> &[u8] {
        if self.map.start.is_null() {
            return &[];
        }
        // SAFETY: a live read-only mapping of `length` bytes, unmapped only
        // when `self` drops; the sealed file under it never changes.
        unsafe { core::slice::from_raw_parts(self.map.start, self.map.length) }
    }

    /// SHA-256 of the whole file as read, as `sha256sum` computes it.
    pub(crate) fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// XXH3-128 of the whole file as read: what a manager compares to tell
    /// whether a file changed.
    pub(crate) fn content_hash(&self) -> u128 {
        self.content_hash
    }

    /// The file a symlink named, when the path was one.
    pub(crate) fn target(&self) -> Option<&Path> {
        self.target.as_deref()
    }

    /// The path the dynamic loader opens the copy by, and the copy itself,
    /// which must stay open while the image may be loaded under that name.
    pub(crate) fn into_memfd(self) -> (PathBuf, OwnedFd) {
        let path = PathBuf::from(format!("/proc/self/fd/{}", self.memfd.as_raw_fd()));
        (path, self.memfd)
    }
}

/// Reads until `buffer` is full or the file ends; how many bytes were read.
fn read_full(file: &mut File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// What a non-regular file is, for a refusal.
fn kind(metadata: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let kind = metadata.file_type();
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "not a file"
    }
}

/// A new sealable memory file, named after `path` and unique in the
/// process, so `/proc/self/maps` tells its mappings apart.
fn memfd(path: &Path) -> Result<OwnedFd, PluginError> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let stem: String = path
        .file_name()
        .map_or_else(|| "plugin".into(), |name| name.to_string_lossy())
        .chars()
        .filter(|c| *c != '\0' && *c != '/')
        .take(200)
        .collect();
    let name = format!("plugin-{}-{stem}\0", NEXT.fetch_add(1, Ordering::Relaxed));
    // SAFETY: `name` is NUL-terminated and outlives the call.
    let fd = unsafe {
        libc::memfd_create(
            name.as_ptr().cast(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if fd < 0 {
        return Err(PluginError::Io {
            library: path.to_path_buf(),
            source: std::io::Error::last_os_error(),
        });
    }
    // SAFETY: a descriptor `memfd_create` just returned, owned by no one.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Lowercase hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
