//! What the watcher reads from the file system: which names are library
//! files, the library files of a directory, and a file's size and content
//! hash.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::Xxh3Default;

use crate::error::PluginError;

pub(crate) use crate::loader::is_library_file;

/// The library files under `dir` (in its subdirectories too when
/// `recursive`; symbolic links to directories are not followed), sorted.
pub(crate) fn libraries(dir: &Path, recursive: bool) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    collect(dir, recursive, &mut found)?;
    found.sort();
    Ok(found)
}

fn collect(dir: &Path, recursive: bool, found: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if recursive {
                // A subdirectory that vanished meanwhile has no files left
                // to report; its removal arrives as events of its own.
                match collect(&path, recursive, found) {
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                    other => other?,
                }
            }
        } else if is_library_file(&path) {
            found.push(path);
        }
    }
    Ok(())
}

/// What one look at a file found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sample {
    /// No regular file at the path.
    Missing,
    /// A regular file of `len` bytes whose content hashes to `hash`.
    Present {
        /// The bytes read.
        len: u64,
        /// xxh3-128 of those bytes.
        hash: u128,
        /// False for an ELF file shorter than its own program headers say
        /// (a segment or the header table runs past its end): being
        /// written, or cut off.
        complete: bool,
    },
}

/// Reads the file at `path` through and hashes it; `Missing` if there is no
/// regular file there.
pub(crate) fn sample(path: &Path) -> io::Result<Sample> {
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_file() => {}
        Ok(_) => return Ok(Sample::Missing),
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Sample::Missing),
        Err(error) => return Err(error),
    }
    match hash_reader(path) {
        Ok((len, hash, complete)) => Ok(Sample::Present {
            len,
            hash,
            complete,
        }),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Sample::Missing),
        Err(error) => Err(error),
    }
}

/// The byte count and xxh3-128 hash of the file at `path`, read in 64 KiB
/// blocks, and whether it holds as many bytes as its ELF program headers
/// (in the first block) say it must.
fn hash_reader(path: &Path) -> io::Result<(u64, u128, bool)> {
    let mut file = File::open(path)?;
    let mut hasher = Xxh3Default::new();
    let mut buffer = vec![0; 64 * 1024];
    let mut len = 0u64;
    let mut extent = None;
    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if len == 0 {
            extent = crate::loader::elf::mapped_extent(&buffer[..read]);
        }
        hasher.update(&buffer[..read]);
        len += read as u64;
    }
    let complete = extent.is_none_or(|extent| len >= extent);
    Ok((len, hasher.digest128(), complete))
}

/// The content hash the watcher reports for the file at `path`: xxh3-128
/// of its bytes, the hash [`FileChange::Appeared`](super::FileChange) and
/// [`FileChange::Changed`](super::FileChange) carry.
///
/// ```no_run
/// let hash = plugin_interface::watch::content_hash("plugins/libenglish_plugin.so")?;
/// println!("{hash:032x}");
/// # Ok::<(), plugin_interface::PluginError>(())
/// ```
pub fn content_hash(path: impl AsRef<Path>) -> Result<u128, PluginError> {
    let path = path.as_ref();
    hash_reader(path)
        .map(|(_, hash, _)| hash)
        .map_err(|source| PluginError::Io {
            library: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lib(name: &str) -> PathBuf {
        PathBuf::from(format!("dir/{name}.{}", std::env::consts::DLL_EXTENSION))
    }

    #[test]
    fn library_names_and_temporaries() {
        assert!(is_library_file(&lib("libx")));
        assert!(!is_library_file(&lib(".#libx")));
        assert!(!is_library_file(&lib(".libx")));
        assert!(!is_library_file(&lib("~libx")));
        assert!(!is_library_file(Path::new("dir/libx.txt")));
        assert!(!is_library_file(&lib("libx").with_extension("part")));
    }

    #[test]
    fn samples_hash_the_whole_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.bin");
        assert_eq!(sample(&path).expect("sample"), Sample::Missing);
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).expect("write");
        let expected = xxhash_rust::xxh3::xxh3_128(&bytes);
        assert_eq!(
            sample(&path).expect("sample"),
            Sample::Present {
                len: bytes.len() as u64,
                hash: expected,
                complete: true,
            }
        );
        assert_eq!(content_hash(&path).expect("hash"), expected);
        assert_eq!(sample(dir.path()).expect("sample"), Sample::Missing);
    }

    #[test]
    fn listing_skips_other_files_and_optionally_recurses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let suffix = std::env::consts::DLL_EXTENSION;
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).expect("mkdir");
        for path in [
            dir.path().join(format!("b.{suffix}")),
            dir.path().join(format!("a.{suffix}")),
            dir.path().join("notes.txt"),
            dir.path().join(format!(".tmp.{suffix}")),
            sub.join(format!("c.{suffix}")),
        ] {
            std::fs::write(path, b"x").expect("write");
        }
        let flat = libraries(dir.path(), false).expect("list");
        assert_eq!(
            flat,
            [
                dir.path().join(format!("a.{suffix}")),
                dir.path().join(format!("b.{suffix}"))
            ]
        );
        let deep = libraries(dir.path(), true).expect("list");
        assert_eq!(deep.len(), 3);
        assert_eq!(deep[2], sub.join(format!("c.{suffix}")));
    }
}
