//! The host side: opening plugin libraries, checking their canary, making
//! instances and unloading. Enabled by the `host` feature.

mod arena;
mod canary;
mod checked;
mod compat;
pub(crate) mod elf;
mod instances;
mod library;
mod policy;
pub(crate) mod residency;
mod scan;
mod source;
mod trust;
mod walk;

pub use canary::{CanaryInfo, MethodInfo, TraitInfo};
pub use checked::PluginFile;
pub use library::{EntryInfo, PluginLibrary, UnloadReport};
pub use residency::{UnloadOutcome, UnloadPolicy};
pub use trust::TrustedList;

pub(crate) use library::Probe;
pub use scan::{
    DirectoryScan, FileReport, LoadOptions, LoadReport, PluginSpec, UnloadPath, load_plugins,
    load_plugins_with, scan_directory,
};
pub(crate) use source::{Hashes, Source};

use crate::PluginError;
use crate::interface::PluginInterface;

/// Reads the unmaker counter of `trait_name` from a loaded library: how
/// many plugin instances of that trait the library has freed so far.
///
/// [`PluginLibrary::close`] captures the same counters into host memory, for
/// assertions after the library is gone.
pub fn get_unmaker_counter(library: &PluginLibrary, trait_name: &str) -> Result<u64, PluginError> {
    library.unmaker_counter(trait_name)
}

/// [`get_unmaker_counter`] for the trait `I`, e.g.
/// `get_unmaker_counter_for::<dyn Greeter>(&library)`.
pub fn get_unmaker_counter_for<I: ?Sized + PluginInterface>(
    library: &PluginLibrary,
) -> Result<u64, PluginError> {
    library.unmaker_counter(I::DESCRIPTOR.name.as_str())
}
