//! `PluginFile`: a library checked from its bytes alone, never loaded.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::abi::TraitDescriptor;
use crate::error::PluginError;
use crate::interface::PluginInterface;
use crate::loader::canary::{self, CanaryInfo, TraitInfo};
use crate::loader::compat;
use crate::loader::elf::Image;
use crate::loader::library::EntryInfo;
use crate::loader::options::LoadOptions;
use crate::loader::source::{self, Hashes, Source};
use crate::loader::walk::{self, CheckedCanary};

/// A plugin library file, checked without running any of its code: the
/// file is opened once, copied, and its canary, trait and method
/// descriptors, layouts and implementation names are read from the copy's
/// bytes, with every pointer resolved through the relocations that fill
/// it and every offset, length and count bounds-checked.
///
/// This is what `plugin-host check`, `inspect` and `list` use, and the
/// stage [`PluginLibrary::open`](crate::PluginLibrary::open) runs before
/// the dynamic loader sees the bytes.
///
/// ```no_run
/// use plugin_interface::PluginFile;
/// let file = PluginFile::check("plugins/libenglish_plugin.so")?;
/// for info in &file.canary().traits {
///     println!("{}: {:?}", info.name, file.entries(&info.name)?);
/// }
/// # Ok::<(), plugin_interface::PluginError>(())
/// ```
#[derive(Debug)]
pub struct PluginFile {
    path: PathBuf,
    target: Option<PathBuf>,
    sha256: [u8; 32],
    length: u64,
    checked: CheckedCanary,
    info: OnceLock<CanaryInfo>,
}

impl PluginFile {
    /// Checks the file at `path` under the default options.
    pub fn check(path: impl AsRef<Path>) -> Result<Self, PluginError> {
        Self::check_with(path, &LoadOptions::default())
    }

    /// Checks the file at `path`: its type, the trust policy of `options`,
    /// the ELF image and the canary.
    pub fn check_with(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Self, PluginError> {
        let path = path.as_ref();
        let source = Source::open(
            path,
            path,
            options,
            Hashes {
                sha256: true,
                content: false,
            },
        )?;
        let checked = read(path, &source, options)?;
        Ok(Self {
            path: path.to_path_buf(),
            target: source.target().map(Path::to_path_buf),
            sha256: source.digest().expect("asked for"),
            length: source.bytes().len() as u64,
            checked,
            info: OnceLock::new(),
        })
    }

    /// Checks `bytes` as the content of a file at `path`, reading no file:
    /// the ELF image and the canary, and the trusted list of `options` if
    /// it has one (the permission rules are about files, so they do not
    /// apply).
    pub fn check_bytes(
        path: impl AsRef<Path>,
        bytes: &[u8],
        options: &LoadOptions,
    ) -> Result<Self, PluginError> {
        use sha2::Digest as _;
        let path = path.as_ref();
        let sha256: [u8; 32] = sha2::Sha256::digest(bytes).into();
        if let Some(trusted) = &options.trusted {
            trusted.admit(path, &sha256)?;
        }
        let checked = read_image(path, bytes, options)?;
        Ok(Self {
            path: path.to_path_buf(),
            target: None,
            sha256,
            length: bytes.len() as u64,
            checked,
            info: OnceLock::new(),
        })
    }

    /// The path that was checked.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file a symlink at [`path`](Self::path) named, if it was one.
    pub fn target(&self) -> Option<&Path> {
        self.target.as_deref()
    }

    /// SHA-256 of the whole file, as `sha256sum` computes it.
    pub fn sha256(&self) -> [u8; 32] {
        self.sha256
    }

    /// [`sha256`](Self::sha256) in hexadecimal, as `sha256sum` prints it.
    pub fn sha256_hex(&self) -> String {
        source::hex(&self.sha256)
    }

    /// Number of bytes checked: the file up to the end of its program
    /// headers and segments, what the dynamic loader would map.
    pub fn len(&self) -> u64 {
        self.length
    }

    /// Whether the file was empty (never true of a file that passed).
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// What the canary says, copied into host memory.
    pub fn canary(&self) -> &CanaryInfo {
        self.info
            .get_or_init(|| canary::info(self.checked.canary()))
    }

    /// The canary entry of `trait_name`, or an error listing the traits the
    /// library does implement.
    pub fn trait_info(&self, trait_name: &str) -> Result<&TraitInfo, PluginError> {
        self.descriptor(trait_name)?;
        Ok(self
            .canary()
            .trait_info(trait_name)
            .expect("the copy lists what the canary lists"))
    }

    /// The implementations of `trait_name`, in entry-name order, from the
    /// names of the library's exported makers.
    pub fn entries(&self, trait_name: &str) -> Result<Vec<EntryInfo>, PluginError> {
        self.descriptor(trait_name)?;
        Ok(self
            .checked
            .entries(trait_name)
            .map(<[EntryInfo]>::to_vec)
            .unwrap_or_default())
    }

    /// Checks that the library implements `I` compatibly with the host's
    /// copy of the interface, as
    /// [`PluginLibrary::check_interface`](crate::PluginLibrary::check_interface)
    /// does after loading.
    pub fn check_interface<I: ?Sized + PluginInterface>(&self) -> Result<(), PluginError> {
        let plugin = self.descriptor(I::DESCRIPTOR.name.as_str())?;
        compat::check(&self.path, I::DESCRIPTOR, plugin).map(drop)
    }

    pub(crate) fn descriptor(&self, trait_name: &str) -> Result<&TraitDescriptor, PluginError> {
        descriptor(&self.path, &self.checked, trait_name)
    }
}

/// Checks the image in `source`, the bytes of `path`, and reads its canary.
pub(crate) fn read(
    path: &Path,
    source: &Source,
    options: &LoadOptions,
) -> Result<CheckedCanary, PluginError> {
    read_image(path, source.bytes(), options)
}

/// Checks `bytes`, the content of `path`, and reads its canary.
fn read_image(
    path: &Path,
    bytes: &[u8],
    options: &LoadOptions,
) -> Result<CheckedCanary, PluginError> {
    let image = Image::parse(bytes).map_err(|reason| PluginError::NotALibrary {
        library: path.to_path_buf(),
        reason,
    })?;
    walk::read(path, &image, options)
}

/// The descriptor of `trait_name` in `checked`, or an error listing the
/// traits it has.
pub(crate) fn descriptor<'c>(
    path: &Path,
    checked: &'c CheckedCanary,
    trait_name: &str,
) -> Result<&'c TraitDescriptor, PluginError> {
    let canary = checked.canary();
    canary
        .traits
        .iter()
        .copied()
        .find(|descriptor| descriptor.name.as_str() == trait_name)
        .ok_or_else(|| PluginError::TraitNotExported {
            library: path.to_path_buf(),
            trait_name: trait_name.to_owned(),
            available: canary
                .traits
                .iter()
                .map(|descriptor| descriptor.name.as_str().to_owned())
                .collect(),
        })
}
