//! One opened plugin library.

use core::ffi::c_void;
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::abi::TraitDescriptor;
use crate::abi::{FactoryVisitor, RegistrationFactory, UnmakerCounter, VisitFactories};
use crate::allocator::{HOST_TABLE, InstallAllocator, PluginAllocator};
use crate::error::PluginError;
use crate::interface::PluginInterface;
use crate::loader::canary::{self, CanaryInfo, TraitInfo};
use crate::loader::checked;
use crate::loader::compat::{self, Slots};
use crate::loader::image::{Claim, Image};
use crate::loader::options::LoadOptions;
use crate::loader::residency::{self, UnloadOutcome, UnloadPolicy};
use crate::loader::source::{Hashes, Source};
use crate::loader::walk::CheckedCanary;
use crate::registrations::LibrarySymbols;

/// A plugin library, opened and with its canary checked.
///
/// Cloning is cheap and shares the library. The library stays mapped while
/// this value, a clone, or any proxy made from it is alive.
///
/// ```no_run
/// use plugin_interface::{PluginLibrary, get_unmaker_counter};
/// # fn main() -> Result<(), plugin_interface::PluginError> {
/// let library = PluginLibrary::open("target/debug/libenglish_plugin.so")?;
/// for info in &library.canary().traits {
///     println!("{} {} {}", info.name, info.interface_crate, info.interface_version);
/// }
/// println!("{} unmaker calls so far", get_unmaker_counter(&library, "Greeter")?);
/// let report = library.close()?;
/// println!("{:?}", report.counter("Greeter"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PluginLibrary {
    inner: Arc<Inner>,
}

struct Inner {
    /// The path the host named; errors and proxies report it.
    path: Arc<Path>,
    /// The name the copy was mapped under, `/proc/self/fd/N`.
    loaded_from: PathBuf,
    policy: UnloadPolicy,
    /// Whose allocator the library's heap memory comes from.
    allocator: PluginAllocator,
    /// SHA-256 of the file, when a trusted list asked for it.
    sha256: Option<[u8; 32]>,
    /// The canary copied into host memory, made when first asked for.
    canary: OnceLock<CanaryInfo>,
    /// The canary as read from the file before loading, in host memory:
    /// every later check reads this, never the library's memory.
    checked: CheckedCanary,
    // `None` only while `close` consumes it, or for a library served by a
    // worker process.
    library: Option<libloading::Library>,
    /// The name `/proc/self/maps` shows the image's mappings under.
    mapped_as: String,
    /// The inode of the mapped file, which `/proc/self/maps` shows beside
    /// `mapped_as`.
    mapped_inode: Option<u64>,
    /// Whether the image is the file itself or a copy.
    image: Image,
    /// The file's inode, when the image is the file itself: released only
    /// once the image is seen to leave the process.
    claim: Option<Claim>,
    /// The worker process serving the library, when it runs in one
    /// (`Isolation::Process`): then no code of it is in this process.
    #[cfg(unix)]
    worker: Option<Arc<crate::isolation::Link>>,
}

/// One implementation of a trait in a library, as its factory lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    /// Trait implemented.
    pub trait_name: String,
    /// Name of the implementing type; what `?entry=` selects.
    pub entry: String,
}

/// What [`PluginLibrary::close`] observed, kept in host memory after the
/// library is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnloadReport {
    /// The library that was closed.
    pub library: PathBuf,
    /// Unmaker counter of each trait, read just before closing.
    pub counters: BTreeMap<String, u64>,
    /// Whether the library really left the process.
    pub outcome: UnloadOutcome,
}

impl UnloadReport {
    /// The unmaker counter of `trait_name` at unload.
    pub fn counter(&self, trait_name: &str) -> Option<u64> {
        self.counters.get(trait_name).copied()
    }
}

impl PluginLibrary {
    /// Opens the library at `path`. The file is opened once (anything but
    /// a regular file is refused without blocking), checked against the
    /// trust policy, and copied into a sealed memory file, unless the
    /// kernel already keeps it from changing (see [`Image`]); those bytes
    /// are checked as [`PluginFile`](crate::PluginFile) does (an ELF
    /// shared object for this machine, the canary with every descriptor,
    /// layout and implementation name); only then does the dynamic loader
    /// map those same bytes (`/proc/self/fd/N` of the copy or of the
    /// opened file) and run its initialisers. No later change to the file
    /// changes what runs.
    ///
    /// Loaded code is trusted: the checks keep a bad file from crashing,
    /// hanging or fooling the host before it runs, not a loaded plugin from
    /// misbehaving.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, PluginError> {
        Self::open_with(path, &LoadOptions::default())
    }

    /// [`open`](Self::open) with options: the trust policy, and whether a
    /// plugin built with `panic = "abort"` is accepted.
    ///
    /// With `Isolation::Process`, the library is checked here from its
    /// bytes and served by a worker process (see
    /// [`isolation`](crate::isolation)): its proxies, calls by name and
    /// counters are the same, and its symbols are not reachable from
    /// this process.
    pub fn open_with(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Self, PluginError> {
        let path = path.as_ref();
        Self::open_source(
            path,
            Source::open(path, path, options, Hashes::default())?,
            options,
        )
    }

    /// Opens the library whose bytes `source` read from `path`: the checks
    /// on those bytes, then the dynamic loader on the same bytes.
    pub(crate) fn open_source(
        path: &Path,
        source: Source,
        options: &LoadOptions,
    ) -> Result<Self, PluginError> {
        let checked = checked::read(path, &source, options)?;
        let sha256 = source.digest();
        #[cfg(unix)]
        if let crate::loader::Isolation::Process(worker) = &options.isolation {
            let link = crate::isolation::Link::open(path, options, worker)?.shared();
            // The worker maps the file its host-side check read, by digest;
            // that must be the file checked here (whose digest the source
            // took for it), or the canary kept below would describe
            // another build.
            if sha256 != Some(link.file().sha256()) {
                return Err(PluginError::Open {
                    library: path.to_path_buf(),
                    message:
                        "the file changed between its check and its worker's start; load it again"
                            .to_owned(),
                });
            }
            return Ok(Self {
                inner: Arc::new(Inner {
                    path: Arc::from(path),
                    loaded_from: path.to_path_buf(),
                    policy: options.policy,
                    allocator: PluginAllocator::Own,
                    sha256,
                    canary: OnceLock::new(),
                    checked,
                    library: None,
                    mapped_as: String::new(),
                    mapped_inode: None,
                    image: Image::InWorker,
                    claim: None,
                    worker: Some(link),
                }),
            });
        }
        let image = source.kind();
        let (load_path, descriptor, claim) =
            source.into_image().map_err(|source| PluginError::Io {
                library: path.to_path_buf(),
                source,
            })?;
        let mapped_as = residency::mapped_name(&load_path);
        let library =
            // SAFETY: loading a library runs its initialisers. Its bytes
            // passed every check above, and they are what the dynamic
            // loader maps: the sealed copy, or the file the kernel keeps
            // from changing, through the descriptor they were read from.
            unsafe { dlopen(&load_path, options.policy) }.map_err(|error| PluginError::Open {
                library: path.to_path_buf(),
                message: loader_message(&load_path, &error),
            })?;
        let symbol = plugin_symbols::c_name(plugin_symbols::CANARY);
        // SAFETY: looked up as an address only, compared below.
        let address = unsafe { library.get::<*const u8>(&symbol) }
            .map(|symbol| *symbol)
            .ok();
        // Mapped: the descriptor may go, once its inode is known.
        let mapped_inode = File::from(descriptor)
            .metadata()
            .ok()
            .map(|file| file.ino());
        if address.and_then(image_offset) != Some(checked.address()) {
            // Closed without being seen to leave.
            if let Some(claim) = claim {
                claim.keep();
            }
            return Err(PluginError::Open {
                library: path.to_path_buf(),
                message: "the dynamic loader's canary is not the one checked".to_owned(),
            });
        }
        // Before any function of the library runs, so that its first
        // allocation already goes to the host's allocator.
        let allocator = install_allocator(&library);
        crate::lifecycle::host::offer(&library);
        Ok(Self {
            inner: Arc::new(Inner {
                path: Arc::from(path),
                loaded_from: load_path,
                policy: options.policy,
                allocator,
                sha256,
                canary: OnceLock::new(),
                checked,
                library: Some(library),
                mapped_as,
                mapped_inode,
                image,
                claim,
                #[cfg(unix)]
                worker: None,
            }),
        })
    }

    /// The worker process serving the library, when it runs in one.
    #[cfg(unix)]
    pub(crate) fn worker(&self) -> Option<&Arc<crate::isolation::Link>> {
        self.inner.worker.as_ref()
    }

    /// The path the library was opened from (for a manager's library, the
    /// path the host named, not the `/proc/self/fd/N` it was loaded as).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The name the dynamic loader mapped the library under:
    /// `/proc/self/fd/N` of the sealed in-memory copy of
    /// [`path`](Self::path), or of the file itself (see
    /// [`image`](Self::image)); for a library served by a worker process,
    /// `path` itself.
    /// Each load gets a name of its own, `/proc/self/fd/N` with `.`
    /// components that spell a serial number: compare two of them as
    /// strings (`as_os_str`), since `Path` comparison skips `.`.
    pub fn loaded_from(&self) -> &Path {
        &self.inner.loaded_from
    }

    /// The name `/proc/self/maps` shows the library's mappings under, e.g.
    /// `/memfd:plugin-7-libenglish_plugin.so`; empty for a library served
    /// by a worker process, which is not mapped here.
    pub fn mapped_name(&self) -> &str {
        &self.inner.mapped_as
    }

    /// Where the library's code and data come from: a sealed copy of the
    /// file's loadable bytes, or the file itself when the kernel
    /// guarantees it cannot change (a sealed memory file, an fs-verity
    /// inode), which loads without the copy's cost.
    pub fn image(&self) -> Image {
        self.inner.image
    }

    /// SHA-256 of the file, when it was opened with a trusted list (which
    /// needs it); the hash is skipped otherwise.
    pub fn sha256(&self) -> Option<[u8; 32]> {
        self.inner.sha256
    }

    /// Whose allocator the library allocates with: its own, or the host's
    /// (`#[plugin_aggregates(..., allocator = host)]`), in which case
    /// strings and vectors its methods return are adopted, not copied.
    pub fn allocator(&self) -> PluginAllocator {
        self.inner.allocator
    }

    pub(crate) fn shared_path(&self) -> Arc<Path> {
        Arc::clone(&self.inner.path)
    }

    /// What the library's canary says.
    pub fn canary(&self) -> &CanaryInfo {
        self.inner.canary()
    }

    /// The canary entry of `trait_name`, or an error listing the traits the
    /// library does implement.
    pub fn trait_info(&self, trait_name: &str) -> Result<&TraitInfo, PluginError> {
        self.inner.trait_info(trait_name)
    }

    /// Checks that the library implements `I` compatibly with the host's
    /// copy of the interface: the same interface crate, a semver-compatible
    /// version no newer than the host's, and the same layout in every
    /// vtable slot the plugin has. Reads statics only.
    pub fn check_interface<I: ?Sized + PluginInterface>(&self) -> Result<(), PluginError> {
        self.slots::<I>().map(drop)
    }

    /// [`check_interface`](Self::check_interface), returning how many of
    /// the host's vtable slots the plugin fills.
    pub(crate) fn slots<I: ?Sized + PluginInterface>(&self) -> Result<Slots, PluginError> {
        let plugin = self.inner.descriptor(I::DESCRIPTOR.name.as_str())?;
        compat::check(self.path(), I::DESCRIPTOR, plugin)
    }

    /// The plugin's descriptor of `trait_name`, read from its canary.
    pub(crate) fn descriptor(&self, trait_name: &str) -> Result<&TraitDescriptor, PluginError> {
        self.inner.descriptor(trait_name)
    }

    /// The implementations of `trait_name` in this library, in entry-name
    /// order, without making any instance.
    pub fn entries(&self, trait_name: &str) -> Result<Vec<EntryInfo>, PluginError> {
        self.inner.descriptor(trait_name)?;
        #[cfg(unix)]
        if let Some(worker) = &self.inner.worker {
            return worker.file().entries(trait_name);
        }
        let visit: VisitFactories =
            // SAFETY: the canary matched this framework's epoch, whose
            // `plugin_factories_*` functions have this type.
            unsafe { self.inner.function(&plugin_symbols::factories(trait_name)) }?;
        let mut entries: Vec<EntryInfo> = Vec::new();
        // SAFETY: `collect_entry` matches `FactoryVisitor`, does not unwind,
        // and gets the `entries` vector as its context for the call only.
        unsafe {
            visit(
                collect_entry as FactoryVisitor,
                (&raw mut entries).cast::<c_void>(),
            );
        }
        Ok(entries)
    }

    /// Every `Trait::Entry` of the library, sorted, as read from the file
    /// before it was loaded (no library code runs).
    pub(crate) fn entry_names(&self) -> Vec<String> {
        self.inner.checked.entry_names()
    }

    /// Writes out what the library's code printed and its own `std` still
    /// holds: a plugin links a `std` of its own, whose stdout buffer keeps
    /// a line until its `\n` and which the host's flushes do not reach.
    /// Closing or dropping the library flushes it too. (A worker process
    /// flushes its library's output after each request.)
    pub fn flush_output(&self) {
        self.inner.flush_output();
    }

    /// Reads the unmaker counter of `trait_name`: how many instances of that
    /// trait the library has freed so far.
    pub fn unmaker_counter(&self, trait_name: &str) -> Result<u64, PluginError> {
        self.inner.unmaker_counter(trait_name)
    }

    /// Closes the library, reading every trait's unmaker counter into the
    /// returned report first.
    ///
    /// Fails with [`PluginError::InUse`] while proxies made from the library
    /// are alive; the library is then closed when the last one is dropped.
    pub fn close(self) -> Result<UnloadReport, PluginError> {
        let (mut report, probe) = self.close_unprobed()?;
        if let Some(probe) = probe {
            report.outcome = probe.finish(&residency::maps());
        }
        Ok(report)
    }

    /// [`close`](Self::close), leaving the check of whether the image left
    /// the process to the returned [`Probe`], so that closing many
    /// libraries reads `/proc/self/maps` once. The report's outcome is
    /// final when no probe is returned.
    pub(crate) fn close_unprobed(self) -> Result<(UnloadReport, Option<Probe>), PluginError> {
        let path = self.path().to_path_buf();
        let mut inner = Arc::try_unwrap(self.inner).map_err(|inner| PluginError::InUse {
            library: path.clone(),
            holders: Arc::strong_count(&inner) - 1,
        })?;
        #[cfg(unix)]
        if let Some(worker) = inner.worker.take() {
            return close_worker(path, &inner, worker).map(|report| (report, None));
        }
        let counters = inner
            .canary()
            .traits
            .iter()
            .map(|info| Ok((info.name.clone(), inner.unmaker_counter(&info.name)?)))
            .collect::<Result<BTreeMap<_, _>, PluginError>>()?;
        inner.flush_output();
        let library = inner.library.take().expect("open until closed");
        let mut probe = None;
        let outcome = match inner.policy {
            UnloadPolicy::Close => {
                library.close().map_err(|error| PluginError::Close {
                    library: path.clone(),
                    message: error.to_string(),
                })?;
                probe = Some(Probe {
                    loaded_from: inner.loaded_from.clone(),
                    mapped_as: inner.mapped_as.clone(),
                    mapped_inode: inner.mapped_inode,
                    claim: inner.claim.take(),
                });
                UnloadOutcome::Resident {
                    reason: "not checked yet".to_owned(),
                }
            }
            UnloadPolicy::NoDelete if cfg!(unix) => {
                library.close().map_err(|error| PluginError::Close {
                    library: path.clone(),
                    message: error.to_string(),
                })?;
                UnloadOutcome::Kept {
                    policy: UnloadPolicy::NoDelete,
                }
            }
            policy => {
                core::mem::forget(library);
                UnloadOutcome::Kept { policy }
            }
        };
        Ok((
            UnloadReport {
                library: path,
                counters,
                outcome,
            },
            probe,
        ))
    }
}

/// A closed library whose leaving the process is still to be checked.
#[derive(Debug)]
pub(crate) struct Probe {
    loaded_from: PathBuf,
    mapped_as: String,
    mapped_inode: Option<u64>,
    claim: Option<Claim>,
}

impl Probe {
    /// Whether the image left, given `maps`, a read of `/proc/self/maps`
    /// made after the library was closed. The file's inode, when it was
    /// mapped as it is, is free for another load only if it did.
    pub(crate) fn finish(mut self, maps: &str) -> UnloadOutcome {
        let outcome = residency::probe(&self.loaded_from, &self.mapped_as, self.mapped_inode, maps);
        if outcome.is_unloaded() {
            // Seen to leave: the inode is free for another load.
            drop(self.claim.take());
        }
        outcome
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        // Not finished, or not seen to leave: the image may still be in
        // the process.
        if let Some(claim) = self.claim.take() {
            claim.keep();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.library.is_some() {
            self.flush_output();
        }
        // Not closed through `close`, or kept by the unload policy: the
        // image may still be in the process.
        if let Some(claim) = self.claim.take() {
            claim.keep();
        }
    }
}

impl Inner {
    /// Flushes the library's own stdout and stderr buffers, where its
    /// version exports `plugin_flush_output_v1`.
    fn flush_output(&self) {
        // SAFETY: the canary matched this framework's epoch, whose
        // `plugin_flush_output_v1` has this type.
        if let Ok(flush) = unsafe { self.function::<extern "C" fn()>(plugin_symbols::FLUSH_OUTPUT) }
        {
            flush();
        }
    }

    fn canary(&self) -> &CanaryInfo {
        self.canary
            .get_or_init(|| canary::info(self.checked.canary()))
    }

    fn trait_info(&self, trait_name: &str) -> Result<&TraitInfo, PluginError> {
        self.descriptor(trait_name)?;
        Ok(self
            .canary()
            .trait_info(trait_name)
            .expect("the copy lists what the canary lists"))
    }

    /// The canary's descriptor of `trait_name`, without copying anything.
    fn descriptor(&self, trait_name: &str) -> Result<&TraitDescriptor, PluginError> {
        checked::descriptor(&self.path, &self.checked, trait_name)
    }

    /// # Safety
    ///
    /// As for [`PluginLibrary::function`].
    unsafe fn function<F: Copy>(&self, name: &str) -> Result<F, PluginError> {
        let Some(library) = self.library.as_ref() else {
            // Served by a worker process: its symbols are not here.
            return Err(PluginError::SymbolMissing {
                library: self.path.to_path_buf(),
                symbol: name.to_owned(),
                message: "the library runs in a worker process, not in this one".to_owned(),
            });
        };
        // SAFETY: forwarded from the caller.
        unsafe { library.get::<F>(&plugin_symbols::c_name(name)) }
            .map(|symbol| *symbol)
            .map_err(|error| PluginError::SymbolMissing {
                library: self.path.to_path_buf(),
                symbol: name.to_owned(),
                message: error.to_string(),
            })
    }

    fn unmaker_counter(&self, trait_name: &str) -> Result<u64, PluginError> {
        self.descriptor(trait_name)?;
        #[cfg(unix)]
        if let Some(worker) = &self.worker {
            return match (worker.counter(trait_name), worker.ended()) {
                (Some(counter), _) => Ok(counter),
                (None, Some(how)) => Err(PluginError::Crashed {
                    library: self.path.to_path_buf(),
                    how,
                    method: Some(format!("reading the unmaker counter of {trait_name}")),
                }),
                (None, None) => Err(PluginError::SymbolMissing {
                    library: self.path.to_path_buf(),
                    symbol: plugin_symbols::unmaker_counter(trait_name),
                    message: "the worker found no unmaker counter for the trait".to_owned(),
                }),
            };
        }
        let counter: UnmakerCounter =
            // SAFETY: the canary matched this framework's epoch, whose
            // `plugin_unmaker_counter_*` functions have this type.
            unsafe { self.function(&plugin_symbols::unmaker_counter(trait_name)) }?;
        // SAFETY: the counter getter only loads an atomic.
        Ok(unsafe { counter() })
    }
}

/// Copies one factory's names into the `Vec<EntryInfo>` behind `context`.
///
/// # Safety
///
/// `context` must point to a `Vec<EntryInfo>` not otherwise borrowed, and
/// `factory` must be null or point to a factory that outlives the call.
unsafe extern "C" fn collect_entry(context: *mut c_void, factory: *const RegistrationFactory) {
    if context.is_null() || factory.is_null() {
        return;
    }
    // Never unwind into the plugin: a failure here only drops one entry.
    let copied = std::panic::catch_unwind(|| {
        // SAFETY: both non-null, valid per the contract above.
        let (entries, factory) = unsafe { (&mut *context.cast::<Vec<EntryInfo>>(), &*factory) };
        entries.push(EntryInfo {
            trait_name: factory.trait_name.as_str().to_owned(),
            entry: factory.entry.as_str().to_owned(),
        });
    });
    if let Err(payload) = copied {
        crate::export::drop_payload(payload);
    }
}

/// Opens `path` with the flags `policy` asks for.
///
/// # Safety
///
/// As for [`libloading::Library::new`]: the library's initialisers run.
unsafe fn dlopen(
    path: &Path,
    policy: UnloadPolicy,
) -> Result<libloading::Library, libloading::Error> {
    #[cfg(unix)]
    {
        use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
        let flags = match policy {
            UnloadPolicy::NoDelete => RTLD_NOW | RTLD_LOCAL | libc::RTLD_NODELETE,
            UnloadPolicy::Close | UnloadPolicy::Leak => RTLD_NOW | RTLD_LOCAL,
        };
        // SAFETY: forwarded from the caller.
        unsafe { Library::open(Some(path), flags) }.map(Into::into)
    }
    #[cfg(not(unix))]
    {
        let _ = policy;
        // SAFETY: forwarded from the caller.
        unsafe { libloading::Library::new(path) }
    }
}

/// The offset of `address` from the start of the mapping of the image that
/// holds it (`dli_fbase`).
fn image_offset(address: *const u8) -> Option<u64> {
    let mut info = core::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    // SAFETY: `dladdr` only reads the dynamic loader's tables and fills
    // `info`; it is initialised when the call returns non-zero.
    let found = unsafe { libc::dladdr(address.cast(), info.as_mut_ptr()) };
    if found == 0 {
        return None;
    }
    // SAFETY: filled by the successful call above.
    let base = unsafe { info.assume_init() }.dli_fbase;
    (address as usize)
        .checked_sub(base as usize)
        .map(|offset| offset as u64)
}

/// The dynamic loader's message without the path it starts with, which
/// the error names already.
fn loader_message(path: &Path, error: &libloading::Error) -> String {
    let message = error.to_string();
    let prefix = format!("{}: ", path.display());
    match message.find(&prefix) {
        Some(at) => format!("{}{}", &message[..at], &message[at + prefix.len()..]),
        None => message,
    }
}

impl LibrarySymbols for PluginLibrary {
    unsafe fn function<F: Copy>(&self, name: &str) -> Result<F, PluginError> {
        // SAFETY: forwarded from the caller: `F` is the symbol's type.
        unsafe { self.inner.function(name) }
    }
}

impl fmt::Debug for PluginLibrary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginLibrary")
            .field("path", &self.inner.path)
            .field("traits", &self.canary().trait_names())
            .finish()
    }
}

/// Offers this image's global allocator to a library, which takes it if
/// it was built with `allocator = host`. Every library of this epoch
/// exports the function, so the lookup never takes the dynamic loader's
/// slower path for a missing symbol.
fn install_allocator(library: &libloading::Library) -> PluginAllocator {
    let symbol = plugin_symbols::c_name(plugin_symbols::ALLOCATOR);
    // SAFETY: the canary matched this framework's epoch, whose every
    // library exports `plugin_allocator_v1` with this type.
    let Ok(install) = (unsafe { library.get::<InstallAllocator>(&symbol) }) else {
        return PluginAllocator::Own;
    };
    // SAFETY: the table is a static of this image, which outlives every
    // library it loads; `install` only compares and stores it.
    PluginAllocator::from_u8(unsafe { install(&HOST_TABLE) })
}

/// Closes a library served by a worker: its counters read from the live
/// worker (those it cannot tell are left out), then the worker asked to
/// free everything and exit. No image of it was in this process.
#[cfg(unix)]
fn close_worker(
    path: PathBuf,
    inner: &Inner,
    worker: Arc<crate::isolation::Link>,
) -> Result<UnloadReport, PluginError> {
    let counters = inner
        .canary()
        .traits
        .iter()
        .filter_map(|info| Some((info.name.clone(), worker.counter(&info.name)?)))
        .collect();
    let link = Arc::try_unwrap(worker).map_err(|link| PluginError::InUse {
        library: path.clone(),
        holders: Arc::strong_count(&link) - 1,
    })?;
    match link.close() {
        // A worker that crashed was reported by the call that saw it; the
        // library is unloaded all the same, and its counters are unknown.
        Ok(()) | Err(PluginError::Crashed { method: None, .. }) => {}
        Err(other) => return Err(other),
    }
    Ok(UnloadReport {
        library: path,
        counters,
        outcome: UnloadOutcome::Unloaded,
    })
}
