//! `LoadOptions`: what a load accepts and how what it makes is freed,
//! shared by every way of loading.

use std::sync::Arc;

use crate::loader::residency::UnloadPolicy;
use crate::loader::trust::TrustedList;

/// Which of a library's functions free the instances made by
/// [`PluginLibrary::instantiate_with`](crate::PluginLibrary::instantiate_with).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FreeThrough {
    /// Through `plugin_unregister_all_<Trait>_v1` when the library exports
    /// it, else through each registration's own factory's unmaker.
    #[default]
    Auto,
    /// Always through each registration's own factory's unmaker.
    PerFactory,
}

/// Where the libraries loaded with [`LoadOptions`] run.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum Isolation {
    /// In the host process, called directly (the default).
    #[default]
    InProcess,
    /// Each library in its own worker process, with these options: the
    /// same proxies come back, whose calls cross to the worker (see
    /// [`isolation`](crate::isolation)).
    #[cfg(unix)]
    Process(crate::isolation::WorkerOptions),
}

/// Options of [`load_plugins_with`](crate::load_plugins_with).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LoadOptions {
    /// Which functions free the instances.
    pub free_through: FreeThrough,
    /// Accept plugins built with `panic = "abort"` (refused by default: a
    /// panic in them ends the host process).
    pub allow_panic_abort: bool,
    /// What closing a library does.
    pub policy: UnloadPolicy,
    /// Accept a library writable by its group or others, owned by another
    /// user than this process's or root, or in a directory others may
    /// write to without the sticky bit (all refused by default).
    pub allow_insecure_permissions: bool,
    /// When set, only libraries whose SHA-256 is on this list load.
    pub trusted: Option<Arc<TrustedList>>,
    /// Where the libraries loaded with these options run:
    /// `load_plugins_with`, [`PluginLibrary::open_with`](crate::PluginLibrary::open_with)
    /// and a `PluginManager` whose options hold them run each in its own
    /// worker process under `Isolation::Process`.
    pub isolation: Isolation,
}

impl LoadOptions {
    /// Sets which functions free the instances.
    pub fn free_through(mut self, free_through: FreeThrough) -> Self {
        self.free_through = free_through;
        self
    }

    /// Accepts plugins built with `panic = "abort"`.
    pub fn allow_panic_abort(mut self, allow: bool) -> Self {
        self.allow_panic_abort = allow;
        self
    }

    /// Sets what closing a library does.
    pub fn policy(mut self, policy: UnloadPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Accepts libraries the default permission rules refuse.
    pub fn allow_insecure_permissions(mut self, allow: bool) -> Self {
        self.allow_insecure_permissions = allow;
        self
    }

    /// Loads only libraries whose SHA-256 is on `list`.
    pub fn trusted(mut self, list: TrustedList) -> Self {
        self.trusted = Some(Arc::new(list));
        self
    }

    /// Runs the libraries loaded with these options where `isolation`
    /// says: `Isolation::Process(WorkerOptions::default())` gives each its
    /// own worker process.
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }
}
