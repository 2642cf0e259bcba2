//! What a manager reports: options, handles, reload events and outcomes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::loader::{Image, LoadOptions, UnloadPolicy};

/// Options of a [`PluginManager`](super::PluginManager).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ManagerOptions {
    /// How long an unload or reload waits for calls in flight into the old
    /// instances. An unload that times out returns
    /// [`PluginError::Busy`](crate::PluginError::Busy) and leaves the
    /// plugin serving; a reload that times out frees the old version later.
    pub drain_timeout: Duration,
    /// How libraries are opened and closed, including the
    /// [`UnloadPolicy`].
    pub load: LoadOptions,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        Self {
            drain_timeout: Duration::from_secs(5),
            load: LoadOptions::default(),
        }
    }
}

impl ManagerOptions {
    /// Sets how long unload and reload wait for calls in flight.
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Sets what unloading does with a library once its instances are freed.
    pub fn policy(mut self, policy: UnloadPolicy) -> Self {
        self.load.policy = policy;
        self
    }

    /// Sets the options libraries are opened with.
    pub fn load(mut self, load: LoadOptions) -> Self {
        self.load = load;
        self
    }
}

/// A library the manager has loaded, as of when the handle was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginHandle {
    pub(super) path: Arc<Path>,
    pub(super) copy: PathBuf,
    pub(super) mapped: String,
    pub(super) image: Image,
    pub(super) generation: u64,
    pub(super) hash: u128,
}

impl PluginHandle {
    /// The path the host named (the watched file).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The name the dynamic loader mapped the library under,
    /// `/proc/self/fd/N` of its sealed in-memory copy (or of the file
    /// itself, when the kernel keeps it from changing; see
    /// [`Image`](crate::Image)), valid while it is loaded.
    /// Each load gets a name of its own, `/proc/self/fd/N` with `.`
    /// components that spell a serial number: compare two of them as
    /// strings (`as_os_str`), since `Path` comparison skips `.`.
    pub fn copy_path(&self) -> &Path {
        &self.copy
    }

    /// The name `/proc/self/maps` shows the loaded image under.
    pub fn mapped_name(&self) -> &str {
        &self.mapped
    }

    /// Whether the loaded image is a sealed copy of the file or the file
    /// itself.
    pub fn image(&self) -> Image {
        self.image
    }

    /// 1 for the first load, one more for each reload.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Content hash (XXH3-128) of the whole file as it was loaded.
    pub fn hash(&self) -> u128 {
        self.hash
    }
}

/// What [`PluginManager::reload`](super::PluginManager::reload) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The new version serves; its proxies' calls go to it.
    Reloaded {
        /// The new generation.
        generation: u64,
    },
    /// The file's content is what is loaded already: nothing was done.
    Unchanged,
}

/// A reload's progress, sent to every
/// [`subscribe`](super::PluginManager::subscribe)r.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadEvent {
    /// A changed file is being loaded beside the serving version.
    Preparing {
        /// The path the host named.
        path: PathBuf,
    },
    /// The new version serves.
    Reloaded {
        /// The path the host named.
        path: PathBuf,
        /// The new generation.
        generation: u64,
    },
    /// The new version serves a different set of implementations than the
    /// old one: proxies of removed ones now return
    /// [`CallError::Unloaded`](crate::CallError::Unloaded), added ones
    /// can be asked for. Sent right after [`Reloaded`](Self::Reloaded).
    EntriesChanged {
        /// The path the host named.
        path: PathBuf,
        /// `Trait::Entry` of each implementation the new version lacks.
        removed: Vec<String>,
        /// `Trait::Entry` of each implementation only the new version has.
        added: Vec<String>,
    },
    /// A library's worker process ended and a new one serves it
    /// ([`WorkerOptions::restart`](crate::isolation::WorkerOptions::restart)):
    /// every live instance was made again, with the state of its last call
    /// where its implementation carries state (`PluginState`), and empty
    /// otherwise. Sent to the subscribers of
    /// [`WorkerLibrary::subscribe`](crate::isolation::WorkerLibrary::subscribe);
    /// a `PluginManager`'s subscribers do not receive it.
    Restarted {
        /// The library's path.
        path: PathBuf,
        /// How many restarts the library's worker has had, this one included.
        restarts: u32,
        /// How the previous worker ended, e.g. `was killed by SIGKILL`.
        ended: String,
    },
    /// The new version was refused; the old one keeps serving. For a
    /// library in a worker process: its worker could not be restarted (its
    /// budget is spent, or the new worker failed), and its calls fail.
    Failed {
        /// The path the host named.
        path: PathBuf,
        /// Why, as the error says it.
        reason: String,
    },
}
