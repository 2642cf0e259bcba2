//! The host side: opening plugin libraries, checking their canary, making
//! instances and unloading. Enabled by the `host` feature.

mod arena;
mod canary;
mod checked;
mod compat;
mod counter;
pub(crate) mod elf;
mod image;
mod instances;
mod invoke;
mod library;
mod options;
mod policy;
pub(crate) mod residency;
mod scan;
mod source;
mod trust;
mod walk;

pub use canary::{CanaryInfo, MethodInfo, TraitInfo};
pub use checked::PluginFile;
pub use counter::{UnmakerCounters, get_unmaker_counter, get_unmaker_counter_for};
pub use image::{Image, Immutable};
pub use invoke::{Invoker, ParameterInfo};
pub(crate) use invoke::{compared_with_host, outcome, parameters, prepare};
pub use library::{EntryInfo, PluginLibrary, UnloadReport};
pub use residency::{UnloadOutcome, UnloadPolicy};
pub use trust::TrustedList;

pub(crate) use library::Probe;
pub use options::{FreeThrough, Isolation, LoadOptions};
#[cfg(feature = "watch")]
pub(crate) use scan::is_library_file;
pub use scan::{
    DirectoryScan, FileReport, LoadReport, PluginSpec, load_plugins, load_plugins_with,
    scan_directory,
};
pub(crate) use source::{Hashes, Source};
