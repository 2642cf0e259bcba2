//! `ManagerNotification`: what the watcher did with a settled change.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::PluginError;
use crate::interface::PluginInterface;
use crate::loader::UnloadReport;
use crate::manager::ReloadEvent;

/// What [`watch_and_load_blocking`](super::watch_and_load_blocking) did
/// about a settled change, or a reload event of the manager passed on.
///
/// `I` is the plugin trait whose proxies [`Loaded`](Self::Loaded) carries
/// (when [`WatchOptions::emit_proxies`](super::WatchOptions::emit_proxies)
/// is set).
pub enum ManagerNotification<I: ?Sized + PluginInterface> {
    /// A reload event of the manager (preparing, reloaded, failed), passed
    /// on as the manager's subscribers receive it; it comes before the
    /// watcher's own [`Reloaded`](Self::Reloaded) or
    /// [`Error`](Self::Error) for the same reload.
    Event(ReloadEvent),
    /// A library file that appeared (or was there at the start, or changed
    /// while not loaded) was loaded.
    Loaded {
        /// The watched file.
        path: PathBuf,
        /// Generation of the loaded library, as its handle says.
        generation: u64,
        /// Content hash of the bytes loaded.
        hash: u128,
        /// One proxy per implementation of `I` in the library (each its own
        /// instance; they follow later reloads), when
        /// [`emit_proxies`](super::WatchOptions::emit_proxies) is set;
        /// empty otherwise, or when the proxies could not be made (an
        /// [`Error`](Self::Error) with [`WatchAction::Proxies`] follows).
        proxies: Vec<I::Proxy>,
    },
    /// A loaded library's file changed and the new version now serves.
    Reloaded {
        /// The watched file.
        path: PathBuf,
        /// The new generation.
        generation: u64,
    },
    /// A loaded library's file vanished and the library was unloaded.
    Unloaded {
        /// The watched file.
        path: PathBuf,
        /// What the unload observed: the unmaker counter of each trait and
        /// whether the library left the process.
        report: UnloadReport,
    },
    /// Something failed. A load or reload that failed is tried again when
    /// the file changes again; a failed reload keeps the old version
    /// serving.
    Error {
        /// The file (or, for [`WatchAction::Watch`], the file or directory)
        /// the error is about.
        path: PathBuf,
        /// What was being done.
        action: WatchAction,
        /// Why it failed.
        error: PluginError,
    },
}

/// What the watcher was doing when a [`ManagerNotification::Error`] came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WatchAction {
    /// Watching or reading the files: a file that could not be read, or a
    /// failure of the underlying watcher.
    Watch,
    /// Loading a library file.
    Load,
    /// Making the proxies of a library that loaded.
    Proxies,
    /// Reloading a loaded library.
    Reload,
    /// Unloading a library whose file vanished.
    Unload,
}

impl fmt::Display for WatchAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Watch => "watch",
            Self::Load => "load",
            Self::Proxies => "proxies",
            Self::Reload => "reload",
            Self::Unload => "unload",
        })
    }
}

impl<I: ?Sized + PluginInterface> ManagerNotification<I> {
    /// The file the notification is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Event(event) => match event {
                ReloadEvent::Preparing { path }
                | ReloadEvent::Reloaded { path, .. }
                | ReloadEvent::EntriesChanged { path, .. }
                | ReloadEvent::Restarted { path, .. }
                | ReloadEvent::Failed { path, .. } => path,
            },
            Self::Loaded { path, .. }
            | Self::Reloaded { path, .. }
            | Self::Unloaded { path, .. }
            | Self::Error { path, .. } => path,
        }
    }
}

impl<I: ?Sized + PluginInterface> fmt::Debug for ManagerNotification<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Event(event) => f.debug_tuple("Event").field(event).finish(),
            Self::Loaded {
                path,
                generation,
                hash,
                proxies,
            } => f
                .debug_struct("Loaded")
                .field("path", path)
                .field("generation", generation)
                .field("hash", &format_args!("{hash:032x}"))
                .field("proxies", &proxies.len())
                .finish(),
            Self::Reloaded { path, generation } => f
                .debug_struct("Reloaded")
                .field("path", path)
                .field("generation", generation)
                .finish(),
            Self::Unloaded { path, report } => f
                .debug_struct("Unloaded")
                .field("path", path)
                .field("report", report)
                .finish(),
            Self::Error {
                path,
                action,
                error,
            } => f
                .debug_struct("Error")
                .field("path", path)
                .field("action", action)
                .field("error", &format_args!("{error}"))
                .finish(),
        }
    }
}
