//! `watch_and_load_blocking`: settled changes applied to a
//! [`PluginManager`], until stopped.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Duration;

use super::notification::{ManagerNotification, WatchAction};
use super::options::WatchOptions;
use super::settle::FileChange;
use super::watcher::DirWatcher;
use crate::error::PluginError;
use crate::interface::PluginInterface;
use crate::manager::{PluginManager, ReloadOutcome};

/// How often the stop channel and the manager's reload events are looked
/// at while no file is settling.
const TICK: Duration = Duration::from_millis(50);

/// Watches `dir` and keeps `manager` in step with its library files until
/// `stop` receives `()` or its sender is dropped; every step is passed to
/// `on_notification`, on the calling thread.
///
/// The library files already in `dir` are loaded first, as they settle;
/// then each settled change (see [`DirWatcher`]) is applied once:
///
/// | change | library loaded in `manager` | not loaded |
/// |---|---|---|
/// | appeared, changed | [`reload`](PluginManager::reload) → `Reloaded` (nothing if the content is what is loaded) | [`load`](PluginManager::load) → `Loaded` (if `auto_load`) |
/// | vanished | [`unload_by_path`](PluginManager::unload_by_path) → `Unloaded` (if `auto_unload`) | nothing |
///
/// The decision is taken from the manager's state, not from the kind of
/// change, so a file that failed to load is loaded again when it changes
/// (a touch, with the same bytes, is no change), a failed reload is tried
/// again on the next change while the old version keeps serving, and
/// libraries loaded by hand in `manager` are reloaded and unloaded too.
/// Failures are [`ManagerNotification::Error`]s; the watch goes on. The
/// manager's own [`ReloadEvent`](crate::ReloadEvent)s are passed on as
/// [`ManagerNotification::Event`].
///
/// `I::Proxy` must be `Send`, as the manager's proxies follow reloads made
/// from any thread: declare the plugin trait `: Send + Sync`.
///
/// Returns `Err` only when `dir` cannot be watched at all.
///
/// ```no_run
/// use std::sync::mpsc;
/// use plugin_interface::PluginManager;
/// use plugin_interface::watch::{ManagerNotification, WatchOptions, watch_and_load_blocking};
/// # use plugin_interface::plugin_trait;
/// # #[plugin_trait] pub trait Greeter: Send + Sync { fn greet(&self, target: &str) -> String; }
///
/// let manager = PluginManager::new()?;
/// let (_stop, stop) = mpsc::channel::<()>(); // send `()` (or drop `_stop`) to end the watch
/// let options = WatchOptions::default().emit_proxies(true);
/// watch_and_load_blocking::<dyn Greeter>(&manager, "plugins/", &options, stop, |notification| {
///     match notification {
///         ManagerNotification::Loaded { path, proxies, .. } => {
///             for greeter in &proxies {
///                 println!("{}: {}", path.display(), greeter.greet("world"));
///             }
///         }
///         ManagerNotification::Error { path, action, error } => {
///             eprintln!("{}: {action}: {error}", path.display())
///         }
///         other => println!("{other:?}"),
///     }
/// })?;
/// # Ok::<(), plugin_interface::PluginError>(())
/// ```
pub fn watch_and_load_blocking<I: ?Sized + PluginInterface>(
    manager: &PluginManager,
    dir: impl AsRef<Path>,
    options: &WatchOptions,
    stop: Receiver<()>,
    mut on_notification: impl FnMut(ManagerNotification<I>),
) -> Result<(), PluginError>
where
    I::Proxy: Send,
{
    let watcher = DirWatcher::new(dir, options)?;
    run(manager, watcher, options, &stop, |notification| {
        on_notification(notification);
        ControlFlow::Continue(())
    });
    Ok(())
}

/// The loop behind [`watch_and_load_blocking`], on a watcher already
/// started; also ends when `emit` breaks.
pub(crate) fn run<I: ?Sized + PluginInterface>(
    manager: &PluginManager,
    mut watcher: DirWatcher,
    options: &WatchOptions,
    stop: &Receiver<()>,
    mut emit: impl FnMut(ManagerNotification<I>) -> ControlFlow<()>,
) where
    I::Proxy: Send,
{
    let events = manager.subscribe();
    let glue = Glue { manager, options };
    loop {
        match stop.try_recv() {
            Err(TryRecvError::Empty) => {}
            Ok(()) | Err(TryRecvError::Disconnected) => return,
        }
        let notifications = match watcher.next_change(TICK) {
            None => Vec::new(),
            Some(Ok(change)) => glue.apply::<I>(change),
            Some(Err(error)) => vec![ManagerNotification::Error {
                path: error.library().to_path_buf(),
                action: WatchAction::Watch,
                error,
            }],
        };
        // The manager's events of a reload come before the watcher's
        // notification of it.
        let forwarded = events.try_iter().map(ManagerNotification::Event);
        for notification in forwarded.chain(notifications) {
            if emit(notification).is_break() {
                return;
            }
        }
    }
}

/// Applies settled changes to a manager.
struct Glue<'a> {
    manager: &'a PluginManager,
    options: &'a WatchOptions,
}

impl Glue<'_> {
    /// What `change` calls for, done; what happened.
    fn apply<I: ?Sized + PluginInterface>(&self, change: FileChange) -> Vec<ManagerNotification<I>>
    where
        I::Proxy: Send,
    {
        match change {
            FileChange::Appeared { path, .. } | FileChange::Changed { path, .. } => {
                if self.manager.handle(&path).is_some() {
                    self.reload(path, true)
                } else if self.options.auto_load {
                    self.load(path, true)
                } else {
                    Vec::new()
                }
            }
            FileChange::Vanished { path } => {
                if self.options.auto_unload && self.manager.handle(&path).is_some() {
                    self.unload(path)
                } else {
                    Vec::new()
                }
            }
        }
    }

    /// Loads `path`; if it was loaded meanwhile by someone else (and
    /// `switch`), reloads it instead.
    fn load<I: ?Sized + PluginInterface>(
        &self,
        path: PathBuf,
        switch: bool,
    ) -> Vec<ManagerNotification<I>>
    where
        I::Proxy: Send,
    {
        let handle = match self.manager.load(&path) {
            Ok(handle) => handle,
            Err(PluginError::AlreadyLoaded { .. }) if switch => return self.reload(path, false),
            Err(error) => return vec![error_about(path, WatchAction::Load, error)],
        };
        let mut notifications = Vec::new();
        let proxies = if self.options.emit_proxies {
            match self.manager.proxies::<I>(&path) {
                Ok(proxies) => proxies,
                Err(error) => {
                    notifications.push(error_about(path.clone(), WatchAction::Proxies, error));
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        notifications.insert(
            0,
            ManagerNotification::Loaded {
                path,
                generation: handle.generation(),
                hash: handle.hash(),
                proxies,
            },
        );
        notifications
    }

    /// Reloads `path`; if it was unloaded meanwhile by someone else (and
    /// `switch`), loads it instead.
    fn reload<I: ?Sized + PluginInterface>(
        &self,
        path: PathBuf,
        switch: bool,
    ) -> Vec<ManagerNotification<I>>
    where
        I::Proxy: Send,
    {
        match self.manager.reload(&path) {
            Ok(ReloadOutcome::Reloaded { generation }) => {
                vec![ManagerNotification::Reloaded { path, generation }]
            }
            Ok(ReloadOutcome::Unchanged) => Vec::new(),
            Err(PluginError::NotLoaded { .. }) if switch && self.options.auto_load => {
                self.load(path, false)
            }
            Err(error) => vec![error_about(path, WatchAction::Reload, error)],
        }
    }

    fn unload<I: ?Sized + PluginInterface>(&self, path: PathBuf) -> Vec<ManagerNotification<I>> {
        match self.manager.unload_by_path(&path) {
            Ok(report) => vec![ManagerNotification::Unloaded { path, report }],
            Err(PluginError::NotLoaded { .. }) => Vec::new(),
            Err(error) => vec![error_about(path, WatchAction::Unload, error)],
        }
    }
}

fn error_about<I: ?Sized + PluginInterface>(
    path: PathBuf,
    action: WatchAction,
    error: PluginError,
) -> ManagerNotification<I> {
    ManagerNotification::Error {
        path,
        action,
        error,
    }
}
