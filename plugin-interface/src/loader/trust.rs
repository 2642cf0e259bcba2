//! The trusted list: SHA-256 digests, in the format `sha256sum` writes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::PluginError;

/// The digests of the only libraries a host loads, when it is given one.
///
/// Read from a file in `sha256sum` format: one `<64 hex digits>  <name>`
/// per line (`*<name>` for binary mode); blank lines and lines starting
/// with `#` are skipped. Names are not used: a library is trusted when the
/// SHA-256 of exactly the bytes that will be mapped is listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedList {
    origin: PathBuf,
    digests: BTreeSet<[u8; 32]>,
}

impl TrustedList {
    /// Reads the list at `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, PluginError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PluginError::Io {
            library: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses `text`, the content of `origin`.
    pub fn parse(text: &str, origin: impl AsRef<Path>) -> Result<Self, PluginError> {
        let origin = origin.as_ref().to_path_buf();
        let mut digests = BTreeSet::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let digest = line
                .split_once([' ', '\t'])
                .map_or(line, |(digest, _)| digest);
            let parsed = (digest.len() == 64)
                .then(|| parse_hex(digest))
                .flatten()
                .ok_or_else(|| PluginError::TrustedList {
                    library: origin.clone(),
                    reason: format!(
                        "line {}: expected 64 hexadecimal digits, then the file name, found \"{}\"",
                        number + 1,
                        line.chars().take(80).collect::<String>().escape_debug()
                    ),
                })?;
            digests.insert(parsed);
        }
        Ok(Self { origin, digests })
    }

    /// The file the list was read from.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// Whether `digest` is listed.
    pub fn contains(&self, digest: &[u8; 32]) -> bool {
        self.digests.contains(digest)
    }

    /// Refuses `library` unless `digest`, its SHA-256, is listed.
    pub(crate) fn admit(&self, library: &Path, digest: &[u8; 32]) -> Result<(), PluginError> {
        if self.contains(digest) {
            return Ok(());
        }
        Err(PluginError::Untrusted {
            library: library.to_path_buf(),
            reason: format!(
                "its SHA-256 {} is not in the trusted list {}",
                crate::loader::source::hex(digest),
                self.origin.display()
            ),
        })
    }

    /// Number of digests listed.
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// Whether no digest is listed (then nothing loads).
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }
}

fn parse_hex(text: &str) -> Option<[u8; 32]> {
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *byte = u8::from_str_radix(core::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sha256sum_output() {
        let digest = "ab".repeat(32);
        let list = TrustedList::parse(
            &format!(
                "# trusted\n\n{digest}  libx.so\n{} *liby.so\n",
                "01".repeat(32)
            ),
            "trusted.txt",
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert!(list.contains(&[0xab; 32]));
        assert!(list.contains(&[0x01; 32]));
        assert!(!list.contains(&[0; 32]));
    }

    #[test]
    fn a_bad_line_is_named() {
        let error = TrustedList::parse("xyz  libx.so\n", "trusted.txt").unwrap_err();
        assert_eq!(
            error.to_string(),
            "trusted.txt: not a trusted list in sha256sum format: line 1: expected 64 hexadecimal digits, then the file name, found \"xyz  libx.so\""
        );
    }
}
