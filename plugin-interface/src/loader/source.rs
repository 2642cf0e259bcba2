//! Opening a library file once: refusing what is not a regular file
//! without blocking, applying the trust policy, and holding the bytes the
//! dynamic loader reads or maps (not debug information) where they cannot
//! change: the file itself when the kernel guarantees it cannot change
//! (see [`image`](crate::loader::image)), else a sealed memory file they
//! are copied into. The checks read those bytes, and the dynamic loader
//! maps the same descriptor (`/proc/self/fd/N`), so no rename or write
//! after the check changes what runs, and a copy leaves nothing on disk,
//! even after `SIGKILL`.

use std::fs::File;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::Digest as _;

use crate::error::PluginError;
use crate::loader::elf;
use crate::loader::image::{self, Claim, Image};
use crate::loader::options::LoadOptions;
use crate::loader::policy;

/// Bytes kept of a file that is not ELF (refused from its first bytes
/// anyway).
const CHUNK: usize = 1 << 20;

/// The first bytes of an ELF file.
const ELF_MAGIC: [u8; 4] = *b"\x7fELF";

/// A library file's loadable bytes, where they cannot change.
#[derive(Debug)]
pub(crate) struct Source {
    /// The file itself, or the sealed copy.
    image: OwnedFd,
    /// Which of the two.
    kind: Image,
    /// The file's inode and the name no loaded image answers to, when it
    /// is mapped as it is.
    mapped: Option<(Claim, PathBuf)>,
    map: Mapping,
    digest: Option<[u8; 32]>,
    content_hash: Option<u128>,
    target: Option<PathBuf>,
}

/// Which hashes of the whole file [`Source::open`] computes; with neither
/// (and no trusted list), no byte of the file passes through user space
/// but those the checks read.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Hashes {
    /// SHA-256 (always, when there is a trusted list).
    pub(crate) sha256: bool,
    /// XXH3-128, the manager's change detector.
    pub(crate) content: bool,
}

/// A private read-only mapping of a file that cannot change, unmapped on
/// drop.
#[derive(Debug)]
struct Mapping {
    start: *const u8,
    length: usize,
}

// SAFETY: the mapping is owned by this value and only read; the file
// under it cannot change (sealed, or immutable by the kernel's word).
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps the first `length` bytes of `fd`, a file that cannot change
    /// and is at least that long.
    fn new(fd: std::os::fd::RawFd, length: usize) -> std::io::Result<Self> {
        if length == 0 {
            return Ok(Self {
                start: core::ptr::null(),
                length,
            });
        }
        // SAFETY: a private read-only mapping of `length` bytes of a file
        // that can neither shrink nor change: every mapped page stays
        // readable and constant.
        let map = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                length,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                fd,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Self {
            start: map.cast::<u8>().cast_const(),
            length,
        })
    }

    fn bytes(&self) -> &[u8] {
        if self.start.is_null() {
            return &[];
        }
        // SAFETY: a live read-only mapping of `length` bytes, unmapped only
        // when `self` drops; the file under it never changes.
        unsafe { core::slice::from_raw_parts(self.start, self.length) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if !self.start.is_null() {
            // SAFETY: the mapping made in `Source::open`, unmapped once.
            unsafe { libc::munmap(self.start.cast_mut().cast(), self.length) };
        }
    }
}

impl Source {
    /// Opens `path` once and holds its loadable bytes (the file itself when
    /// it cannot change and no loaded library maps it, else a sealed
    /// copy), refusing (in this order) anything that is not a regular
    /// file, a file the trust policy of `options` refuses, and one whose
    /// digest is not on its trusted list.
    /// Errors name `name`: the file itself, or the file `path` is a copy
    /// of.
    pub(crate) fn open(
        path: &Path,
        name: &Path,
        options: &LoadOptions,
        hashes: Hashes,
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
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .map_err(io)?;
        let opened = file.metadata().map_err(io)?;
        if !opened.is_file() {
            return Err(refuse(format!("not a regular file: {}", kind(&opened))));
        }
        let immutable = image::immutable(&file);
        if !options.allow_insecure_permissions {
            let real = target.as_deref().unwrap_or(path);
            policy::permissions(real, &opened, immutable.is_some()).map_err(|reason| {
                PluginError::Untrusted {
                    library: name.to_path_buf(),
                    reason,
                }
            })?;
        }
        let extent = extent(&file).map_err(io)?;
        let mapped = immutable
            .and_then(|why| Some((why, Claim::take(&opened)?)))
            .and_then(|(why, claim)| {
                // Other code of the process may have loaded this inode
                // itself; the dynamic loader would hand a load of it that
                // image. Asked under a name no image has, so that only the
                // inode can answer; the dynamic loader then opens that name.
                let name = fresh_name(file.as_raw_fd());
                let free = !crate::loader::residency::still_loaded(&name);
                free.then_some((why, claim, name))
            });
        let (copy, kind, mapped, length) = match mapped {
            // The file's size cannot change either.
            Some((why, claim, name)) => (
                None,
                Image::Mapped(why),
                Some((claim, name)),
                extent.min(opened.len()),
            ),
            None => {
                let copy = File::from(memfd(name)?);
                let length = kernel_copy(&file, &copy, extent).map_err(io)?;
                seal(&copy).map_err(io)?;
                (Some(copy), Image::Copied, None, length)
            }
        };
        let length = usize::try_from(length).map_err(|_| refuse("too large to map".to_owned()))?;
        let image = copy.as_ref().unwrap_or(&file);
        let map = Mapping::new(image.as_raw_fd(), length).map_err(io)?;
        // A library served by a worker is compared with what the worker
        // checked by its digest.
        let isolated = !matches!(options.isolation, crate::loader::Isolation::InProcess);
        let sha256 = hashes.sha256 || options.trusted.is_some() || isolated;
        let (digest, content_hash) = if sha256 || hashes.content {
            hash(image, length as u64, &file, sha256, hashes.content).map_err(io)?
        } else {
            (None, None)
        };
        if let (Some(trusted), Some(digest)) = (&options.trusted, &digest) {
            trusted.admit(name, digest)?;
        }
        Ok(Self {
            image: OwnedFd::from(copy.unwrap_or(file)),
            kind,
            mapped,
            map,
            digest,
            content_hash,
            target,
        })
    }

    /// The bytes kept: the file up to the end of its program headers and
    /// segments (all of it, short of that), exactly as read. These are
    /// checked, and these are mapped.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.map.bytes()
    }

    /// Whether the bytes are the file itself or a copy.
    pub(crate) fn kind(&self) -> Image {
        self.kind
    }

    /// SHA-256 of the whole file as read, as `sha256sum` computes it,
    /// when it was asked for or a trusted list needed it.
    pub(crate) fn digest(&self) -> Option<[u8; 32]> {
        self.digest
    }

    /// XXH3-128 of the whole file as read, when it was asked for: what a
    /// manager compares to tell whether a file changed.
    pub(crate) fn content_hash(&self) -> Option<u128> {
        self.content_hash
    }

    /// The file a symlink named, when the path was one.
    pub(crate) fn target(&self) -> Option<&Path> {
        self.target.as_deref()
    }

    /// The path the dynamic loader opens the bytes by, the descriptor it
    /// names (the file or the copy), which must stay open until the
    /// dynamic loader has mapped it, and the file's claim when it is
    /// mapped as it is.
    ///
    /// The dynamic loader matches a name against the images it holds
    /// before it looks at the file: a name an image still loaded (or left
    /// resident by an earlier copy) answers to would hand that image back.
    /// Descriptor numbers are reused as soon as a copy is mapped and
    /// closed, so the name spells a serial number, never reused in the
    /// process, in `.` components the kernel resolves away. A file mapped
    /// as it is was asked about under its name when it was opened.
    pub(crate) fn into_image(self) -> std::io::Result<(PathBuf, OwnedFd, Option<Claim>)> {
        if let Some((claim, name)) = self.mapped {
            return Ok((name, self.image, Some(claim)));
        }
        for _ in 0..64 {
            let name = fresh_name(self.image.as_raw_fd());
            if !crate::loader::residency::still_loaded(&name) {
                return Ok((name, self.image, None));
            }
        }
        Err(std::io::Error::other(
            "every name tried for the library's descriptor is taken by a loaded library",
        ))
    }
}

/// A name of `fd` never made before in the process: [`load_name`] with the
/// next serial number.
fn fresh_name(fd: std::os::fd::RawFd) -> PathBuf {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    load_name(fd, SERIAL.fetch_add(1, Ordering::Relaxed))
}

/// `/proc/self/fd/<fd>` with `serial` written in base 4 as `.` components,
/// one per digit, each followed by one to four slashes: `/proc/self/fd/5`
/// for serial 0, `/proc/self/fd/.//5` for serial 1, `/proc/self/fd/.////.//5`
/// for serial 7. Distinct serials give distinct names for the same file.
fn load_name(fd: std::os::fd::RawFd, mut serial: u64) -> PathBuf {
    let mut name = String::from("/proc/self/fd/");
    while serial != 0 {
        name.push('.');
        for _ in 0..=(serial % 4) {
            name.push('/');
        }
        serial /= 4;
    }
    name.push_str(&fd.to_string());
    PathBuf::from(name)
}

/// How much of a file whose first bytes are `head` is kept: what the
/// dynamic loader reads or maps of an ELF file (all of it if that cannot be
/// told), the first chunk of anything else, which is refused from its
/// first bytes anyway.
fn kept(head: &[u8]) -> u64 {
    if head.starts_with(&ELF_MAGIC) {
        elf::mapped_extent(head).unwrap_or(u64::MAX)
    } else {
        CHUNK as u64
    }
}

/// How much of `file` is kept: [`kept`] of its first bytes. Program
/// headers nearly always sit in the first page, so that is read first
/// (on the stack); only a head that begins an ELF file whose program
/// headers lie further on is read again, up to 64 KiB.
fn extent(file: &File) -> std::io::Result<u64> {
    let mut page = [0u8; 4096];
    let filled = read_head(file, &mut page)?;
    let head = &page[..filled];
    if filled < page.len() || !head.starts_with(&ELF_MAGIC) || elf::mapped_extent(head).is_some() {
        return Ok(kept(head));
    }
    let mut head = vec![0u8; 64 * 1024];
    let filled = read_head(file, &mut head)?;
    Ok(kept(&head[..filled]))
}

/// Fills `head` from the start of `file`, or up to its end; the number of
/// bytes read.
fn read_head(file: &File, head: &mut [u8]) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt as _;
    let mut filled = 0;
    while filled < head.len() {
        match file.read_at(&mut head[filled..], filled as u64) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Copies the first `extent` bytes of `file` (fewer if it is shorter) to
/// `copy` inside the kernel; the number of bytes copied.
fn kernel_copy(file: &File, copy: &File, extent: u64) -> std::io::Result<u64> {
    let mut offset: libc::off_t = 0;
    loop {
        let left = extent.saturating_sub(offset as u64).min(1 << 30) as usize;
        if left == 0 {
            break;
        }
        // SAFETY: both descriptors are open for the call; `offset` is a
        // live local the kernel updates.
        let sent = unsafe { libc::sendfile(copy.as_raw_fd(), file.as_raw_fd(), &mut offset, left) };
        match sent {
            0 => break,
            sent if sent > 0 => {}
            _ => {
                let error = std::io::Error::last_os_error();
                if error.kind() != std::io::ErrorKind::Interrupted {
                    return Err(error);
                }
            }
        }
    }
    Ok(offset as u64)
}

/// The hashes asked for of the whole file: its first `kept` bytes (those
/// checked and mapped) read from `image`, the sealed copy or the file
/// itself when it cannot change, then what follows them in `file`, read
/// to its end. What follows is never loaded, so a change to it while it
/// is read only makes a digest that no trusted list holds. Read through
/// one buffer rather than from the mapping the checks use: hashing the
/// mapping would fault in every page of it, which costs more than reading
/// the same bytes.
fn hash(
    image: &File,
    kept: u64,
    file: &File,
    sha256: bool,
    content: bool,
) -> std::io::Result<(Option<[u8; 32]>, Option<u128>)> {
    use std::os::unix::fs::FileExt as _;
    let mut sha = sha256.then(sha2::Sha256::new);
    let mut xxh = content.then(xxhash_rust::xxh3::Xxh3Default::new);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut position = 0u64;
    loop {
        let (from, want) = if position < kept {
            (image, (kept - position).min(buffer.len() as u64) as usize)
        } else {
            (file, buffer.len())
        };
        let read = match from.read_at(&mut buffer[..want], position) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        let chunk = &buffer[..read];
        if let Some(sha) = &mut sha {
            sha.update(chunk);
        }
        if let Some(xxh) = &mut xxh {
            xxh.update(chunk);
        }
        position += read as u64;
    }
    Ok((
        sha.map(|sha| sha.finalize().into()),
        xxh.map(|xxh| xxh.digest128()),
    ))
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

/// Seals the copy against any change. The kernel refuses the write seal
/// with `EBUSY` while some page of the file is pinned, which the copy's
/// own writes or the kernel's page scanners may still do for a moment:
/// that is retried, for up to about a quarter of a second.
fn seal(memfd: &File) -> std::io::Result<()> {
    use std::time::Duration;
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
    let (mut wait, mut waited) = (Duration::from_micros(250), Duration::ZERO);
    loop {
        // SAFETY: `fcntl` on a descriptor the caller owns.
        if unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, seals) } == 0 {
            return Ok(());
        }
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::EBUSY) || waited >= Duration::from_millis(250) {
            return Err(error);
        }
        std::thread::sleep(wait);
        waited += wait;
        wait = (wait * 2).min(Duration::from_millis(50));
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::load_name;

    #[test]
    fn load_names_differ_by_serial_and_name_the_same_descriptor() {
        assert_eq!(load_name(5, 0).to_str(), Some("/proc/self/fd/5"));
        assert_eq!(load_name(5, 1).to_str(), Some("/proc/self/fd/.//5"));
        assert_eq!(load_name(5, 7).to_str(), Some("/proc/self/fd/.////.//5"));
        // As strings: `Path` comparison would resolve the `.` components.
        let names: HashSet<_> = (0..10_000)
            .map(|serial| load_name(9, serial).into_os_string())
            .collect();
        assert_eq!(names.len(), 10_000);
        let file = std::fs::File::open("/proc/self/status").expect("/proc is mounted");
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        let direct = std::fs::read_link(load_name(fd, 0)).expect("the descriptor's link");
        for serial in [1, 7, 4_095, u64::MAX] {
            assert_eq!(
                std::fs::read_link(load_name(fd, serial)).ok(),
                Some(direct.clone())
            );
        }
    }
}
