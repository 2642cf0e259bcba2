//! Unmaker counters and exported functions, read from a [`PluginLibrary`]
//! or from a `libloading::Library` the host opened itself.

use std::path::PathBuf;

use crate::abi::UnmakerCounter;
use crate::abi::{ABI_EPOCH, CANARY_MAGIC, CANARY_VERSION, FRAMEWORK_VERSION, PluginCanary};
use crate::error::PluginError;
use crate::interface::PluginInterface;
use crate::loader::PluginLibrary;
use crate::loader::canary;
use crate::registrations::LibrarySymbols;

/// A loaded plugin library whose unmaker counters can be read: a
/// [`PluginLibrary`], or a `libloading::Library` opened by the host, as in
/// the seed's host example:
///
/// ```no_run
/// use libloading::Library;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // SAFETY: a plugin library of this framework; its initialisers run.
/// let lib = unsafe { Library::new("target/debug/libenglish_plugin.so")? };
/// let freed = plugin_interface::get_unmaker_counter(&lib, "Greeter")?;
/// println!("{freed} Greeter instances freed so far");
/// # Ok(())
/// # }
/// ```
pub trait UnmakerCounters {
    /// How many instances of `trait_name` the library has freed so far.
    ///
    /// Fails when the library is not a plugin of this framework's ABI, or
    /// does not implement `trait_name`; the error names the library file.
    fn unmaker_counter(&self, trait_name: &str) -> Result<u64, PluginError>;
}

impl UnmakerCounters for PluginLibrary {
    fn unmaker_counter(&self, trait_name: &str) -> Result<u64, PluginError> {
        PluginLibrary::unmaker_counter(self, trait_name)
    }
}

impl UnmakerCounters for libloading::Library {
    fn unmaker_counter(&self, trait_name: &str) -> Result<u64, PluginError> {
        let symbol = plugin_symbols::c_name(plugin_symbols::CANARY);
        // SAFETY: looked up as an address; read below only once it is known
        // to be a canary of this framework's layout.
        let address = unsafe { self.get::<*const PluginCanary>(&symbol) }.map(|symbol| *symbol);
        let address = match address {
            Ok(address) => address,
            Err(error) => {
                return Err(PluginError::NotAPlugin {
                    library: file_named_in(&error),
                    symbol: plugin_symbols::CANARY.to_owned(),
                });
            }
        };
        let library = file_of(address.cast());
        // SAFETY: the library is loaded (the host opened it), and loaded
        // code is trusted; the first fields of every canary version are
        // the magic and the version, read before anything else.
        let (magic, version) = unsafe { ((*address).magic, (*address).canary_version) };
        if magic != CANARY_MAGIC {
            return Err(PluginError::BadMagic {
                library,
                expected: String::from_utf8_lossy(&CANARY_MAGIC).into_owned(),
                found: magic.escape_ascii().to_string(),
            });
        }
        if version != CANARY_VERSION {
            return Err(PluginError::CanaryVersion {
                library,
                expected: CANARY_VERSION,
                found: version,
            });
        }
        // SAFETY: a canary of this layout version (checked above), in a
        // loaded library.
        let canary = canary::info(unsafe { &*address });
        if canary.abi_epoch != ABI_EPOCH {
            return Err(PluginError::AbiEpoch {
                library,
                expected: ABI_EPOCH,
                found: canary.abi_epoch,
                plugin_framework: canary.framework_version,
                host_framework: FRAMEWORK_VERSION.to_owned(),
            });
        }
        if canary.trait_info(trait_name).is_none() {
            return Err(PluginError::TraitNotExported {
                library,
                trait_name: trait_name.to_owned(),
                available: canary.trait_names(),
            });
        }
        let name = plugin_symbols::unmaker_counter(trait_name);
        // SAFETY: the canary is of this framework's epoch, whose
        // `plugin_unmaker_counter_*` functions have this type.
        let counter = unsafe { self.get::<UnmakerCounter>(&plugin_symbols::c_name(&name)) }
            .map(|symbol| *symbol)
            .map_err(|error| PluginError::SymbolMissing {
                library,
                symbol: name,
                message: error.to_string(),
            })?;
        // SAFETY: the counter getter only loads an atomic.
        Ok(unsafe { counter() })
    }
}

impl LibrarySymbols for libloading::Library {
    unsafe fn function<F: Copy>(&self, name: &str) -> Result<F, PluginError> {
        // SAFETY: forwarded from the caller: `F` is the symbol's type.
        unsafe { self.get::<F>(&plugin_symbols::c_name(name)) }
            .map(|symbol| *symbol)
            .map_err(|error| PluginError::SymbolMissing {
                library: file_named_in(&error),
                symbol: name.to_owned(),
                message: error.to_string(),
            })
    }
}

/// The library a failed lookup names: the dynamic loader's message is
/// `<file>: undefined symbol: <name>`.
fn file_named_in(error: &libloading::Error) -> PathBuf {
    let message = error.to_string();
    match message.rfind(": undefined symbol") {
        Some(end) => PathBuf::from(&message[..end]),
        None => PathBuf::from("<a library opened with libloading>"),
    }
}

/// The file of the loaded image `address` is in, as the dynamic loader
/// names it.
fn file_of(address: *const u8) -> PathBuf {
    let mut info = core::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    // SAFETY: `dladdr` only reads the dynamic loader's tables and fills
    // `info`; it is initialised when the call returns non-zero.
    let found = unsafe { libc::dladdr(address.cast(), info.as_mut_ptr()) };
    // SAFETY: filled by the successful call.
    let name = (found != 0).then(|| unsafe { info.assume_init() }.dli_fname);
    match name {
        Some(name) if !name.is_null() => {
            // SAFETY: `dli_fname` is a NUL-terminated string of the
            // dynamic loader, alive while the image is loaded.
            let name = unsafe { core::ffi::CStr::from_ptr(name) };
            PathBuf::from(name.to_string_lossy().into_owned())
        }
        _ => PathBuf::from("<unknown library>"),
    }
}

/// Reads the unmaker counter of `trait_name` from a loaded library: how
/// many plugin instances of that trait the library has freed so far. The
/// library is a [`PluginLibrary`] or a `libloading::Library`.
///
/// [`PluginLibrary::close`] captures the same counters into host memory, for
/// assertions after the library is gone.
pub fn get_unmaker_counter(
    library: &impl UnmakerCounters,
    trait_name: &str,
) -> Result<u64, PluginError> {
    library.unmaker_counter(trait_name)
}

/// [`get_unmaker_counter`] for the trait `I`, e.g.
/// `get_unmaker_counter_for::<dyn Greeter>(&library)`.
pub fn get_unmaker_counter_for<I: ?Sized + PluginInterface>(
    library: &impl UnmakerCounters,
) -> Result<u64, PluginError> {
    library.unmaker_counter(I::DESCRIPTOR.name.as_str())
}
