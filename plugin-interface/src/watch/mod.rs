//! Watching a plugin directory (feature `watch`): library files that
//! appear, change or vanish are loaded, reloaded and unloaded through a
//! [`PluginManager`](crate::PluginManager), once each, and only once they
//! are complete.
//!
//! ```no_run
//! use std::sync::Arc;
//! use plugin_interface::PluginManager;
//! use plugin_interface::watch::{ManagerNotification, WatchOptions, start_watch_background};
//! # use plugin_interface::plugin_trait;
//! # #[plugin_trait] pub trait Greeter: Send + Sync { fn greet(&self, target: &str) -> String; }
//!
//! let manager = Arc::new(PluginManager::new()?);
//! let options = WatchOptions::default().emit_proxies(true);
//! let (notifications, _stop, _thread) =
//!     start_watch_background::<dyn Greeter>(Arc::clone(&manager), "plugins/", &options)?;
//! for notification in notifications {
//!     match notification {
//!         ManagerNotification::Loaded { path, proxies, .. } => {
//!             for greeter in &proxies {
//!                 println!("{}: {}", path.display(), greeter.greet("world"));
//!             }
//!         }
//!         ManagerNotification::Reloaded { path, generation } => {
//!             println!("{}: generation {generation}", path.display())
//!         }
//!         ManagerNotification::Unloaded { path, report } => {
//!             println!("{}: gone, {:?} instances freed", path.display(), report.counter("Greeter"))
//!         }
//!         ManagerNotification::Error { path, action, error } => {
//!             eprintln!("{}: {action} failed: {error}", path.display())
//!         }
//!         ManagerNotification::Event(_) => {} // the manager's reload events, passed on
//!     }
//! }
//! # Ok::<(), plugin_interface::PluginError>(())
//! ```
//!
//! Two layers:
//!
//! - [`DirWatcher`] settles the files and knows nothing of plugins. The
//!   directory is watched with the `notify` crate (inotify, FSEvents,
//!   ReadDirectoryChangesW or kqueue; its `PollWatcher` when those fail or
//!   when [`WatchOptions::poll`] asks for it). File-system events are only
//!   hints: a file is reported as a [`FileChange`] when two reads
//!   [`WatchOptions::settle_ms`] apart agree on its size and xxh3-128
//!   content hash, so a half-written file is never reported, and a touch
//!   or a rewrite with the same bytes is not reported at all.
//! - [`watch_and_load_blocking`] (and [`start_watch_background`] on a
//!   thread of its own) applies each settled change to a manager and
//!   reports what it did as a [`ManagerNotification`].

mod backend;
mod background;
mod files;
mod manage;
mod notification;
mod options;
mod settle;
mod watcher;

pub use background::{
    BackgroundWatch, process_watch_notifications_blocking, start_watch_background,
};
pub use files::content_hash;
pub use manage::watch_and_load_blocking;
pub use notification::{ManagerNotification, WatchAction};
pub use options::WatchOptions;
pub use settle::FileChange;
pub use watcher::DirWatcher;

#[cfg(test)]
mod tests;
