//! The watch on a thread of its own, and a loop draining its
//! notifications.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use super::manage::run;
use super::notification::ManagerNotification;
use super::options::WatchOptions;
use super::watcher::DirWatcher;
use crate::error::PluginError;
use crate::interface::PluginInterface;
use crate::manager::PluginManager;

/// What [`start_watch_background`] returns: the notifications, the sender
/// that stops the watch, and the watch's thread.
pub type BackgroundWatch<I> = (Receiver<ManagerNotification<I>>, Sender<()>, JoinHandle<()>);

/// [`watch_and_load_blocking`](super::watch_and_load_blocking) on a new
/// thread (named `plugin-watch`): returns the notifications as they come,
/// the sender that stops the watch, and the thread.
///
/// The watch ends when `()` is sent on the stop sender, when the stop
/// sender is dropped, or when the notification receiver is dropped; the
/// thread then ends and drops its `Arc` of the manager. Starting fails,
/// with nothing left running, when `dir` cannot be watched.
///
/// ```no_run
/// use std::sync::Arc;
/// use plugin_interface::PluginManager;
/// use plugin_interface::watch::{WatchOptions, process_watch_notifications_blocking, start_watch_background};
/// # use plugin_interface::plugin_trait;
/// # #[plugin_trait] pub trait Greeter: Send + Sync { fn greet(&self, target: &str) -> String; }
///
/// let manager = Arc::new(PluginManager::new()?);
/// let (notifications, stop, thread) =
///     start_watch_background::<dyn Greeter>(Arc::clone(&manager), "plugins/", &WatchOptions::default())?;
/// std::thread::spawn(move || {
///     std::thread::sleep(std::time::Duration::from_secs(60));
///     let _ = stop.send(());
/// });
/// process_watch_notifications_blocking(notifications, |notification| println!("{notification:?}"));
/// thread.join().expect("the watch thread does not panic");
/// # Ok::<(), plugin_interface::PluginError>(())
/// ```
pub fn start_watch_background<I>(
    manager: Arc<PluginManager>,
    dir: impl AsRef<Path>,
    options: &WatchOptions,
) -> Result<BackgroundWatch<I>, PluginError>
where
    I: ?Sized + PluginInterface + 'static,
    I::Proxy: Send,
{
    let dir = dir.as_ref();
    let watcher = DirWatcher::new(dir, options)?;
    let (notify, notifications) = mpsc::channel();
    let (stop, stopped) = mpsc::channel();
    let options = options.clone();
    let thread = std::thread::Builder::new()
        .name("plugin-watch".to_owned())
        .spawn(move || {
            run::<I>(
                &manager,
                watcher,
                &options,
                &stopped,
                |notification| match notify.send(notification) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                },
            );
        })
        .map_err(|source| PluginError::Io {
            library: dir.to_path_buf(),
            source,
        })?;
    Ok((notifications, stop, thread))
}

/// Passes every notification of `receiver` to `handler`, on the calling
/// thread, until the watch ends and the channel closes.
///
/// ```no_run
/// # use std::sync::mpsc;
/// # use plugin_interface::watch::{ManagerNotification, process_watch_notifications_blocking};
/// # use plugin_interface::plugin_trait;
/// # #[plugin_trait] pub trait Greeter: Send + Sync { fn greet(&self, target: &str) -> String; }
/// # let (_, receiver) = mpsc::channel::<ManagerNotification<dyn Greeter>>();
/// process_watch_notifications_blocking(receiver, |notification| match notification {
///     ManagerNotification::Reloaded { path, generation } => {
///         println!("{}: generation {generation}", path.display())
///     }
///     other => println!("{other:?}"),
/// });
/// ```
pub fn process_watch_notifications_blocking<I: ?Sized + PluginInterface>(
    receiver: Receiver<ManagerNotification<I>>,
    mut handler: impl FnMut(ManagerNotification<I>),
) {
    for notification in receiver {
        handler(notification);
    }
}
