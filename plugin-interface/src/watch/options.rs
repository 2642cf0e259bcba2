//! `WatchOptions`: how long to wait, what to watch, and what to do with a
//! settled change.

use std::time::Duration;

/// How a directory is watched, and what the manager glue does with each
/// settled change.
///
/// Written as a struct literal over [`Default`], or built with the
/// builder methods of the same names:
///
/// ```
/// use plugin_interface::watch::WatchOptions;
///
/// let options = WatchOptions {
///     auto_load: true,
///     auto_unload: true,
///     emit_proxies: false,
///     ..Default::default()
/// };
/// assert_eq!(options, WatchOptions::default());
///
/// let options = WatchOptions::default()
///     .debounce_ms(100)
///     .recursive(true)
///     .emit_proxies(true);
/// assert_eq!(options.debounce_ms, 100);
/// assert!(options.auto_load && options.auto_unload);
/// ```
///
/// Later versions may add fields: a literal that ends in
/// `..Default::default()` keeps compiling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchOptions {
    /// Quiet time after the last file-system event on a file before it is
    /// first examined, in milliseconds. Default 300.
    pub debounce_ms: u64,
    /// Time between two examinations of a file that must find the same size
    /// and content hash before the file counts as settled, in
    /// milliseconds. Default 200.
    pub settle_ms: u64,
    /// Also watch the subdirectories, and those created later. Default
    /// `false`.
    pub recursive: bool,
    /// Use notify's `PollWatcher` (a scan every `debounce_ms`, at least
    /// every 100 ms) even where the platform's notification API works: for
    /// network file systems and container mounts that deliver no events.
    /// The poll watcher is also used, whatever this says, when the native
    /// watcher cannot be created. Default `false`.
    pub poll: bool,
    /// Load libraries that are in the directory at the start or appear in
    /// it later. Without it, only libraries already loaded in the manager
    /// are reloaded and unloaded. Default `true`.
    pub auto_load: bool,
    /// Unload a library whose file vanished. Without it the loaded
    /// generation keeps serving from its in-memory copy. Default `true`.
    pub auto_unload: bool,
    /// Make the proxies of every loaded library and hand them over in
    /// [`ManagerNotification::Loaded`](super::ManagerNotification::Loaded).
    /// Without it the library is loaded but no instance is made. Default
    /// `false`.
    pub emit_proxies: bool,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            debounce_ms: 300,
            settle_ms: 200,
            recursive: false,
            poll: false,
            auto_load: true,
            auto_unload: true,
            emit_proxies: false,
        }
    }
}

impl WatchOptions {
    /// Sets [`debounce_ms`](Self::debounce_ms).
    pub fn debounce_ms(mut self, debounce_ms: u64) -> Self {
        self.debounce_ms = debounce_ms;
        self
    }

    /// Sets [`settle_ms`](Self::settle_ms).
    pub fn settle_ms(mut self, settle_ms: u64) -> Self {
        self.settle_ms = settle_ms;
        self
    }

    /// Sets [`recursive`](Self::recursive).
    pub fn recursive(mut self, recursive: bool) -> Self {
        self.recursive = recursive;
        self
    }

    /// Sets [`poll`](Self::poll).
    pub fn poll(mut self, poll: bool) -> Self {
        self.poll = poll;
        self
    }

    /// Sets [`auto_load`](Self::auto_load).
    pub fn auto_load(mut self, auto_load: bool) -> Self {
        self.auto_load = auto_load;
        self
    }

    /// Sets [`auto_unload`](Self::auto_unload).
    pub fn auto_unload(mut self, auto_unload: bool) -> Self {
        self.auto_unload = auto_unload;
        self
    }

    /// Sets [`emit_proxies`](Self::emit_proxies).
    pub fn emit_proxies(mut self, emit_proxies: bool) -> Self {
        self.emit_proxies = emit_proxies;
        self
    }

    /// [`debounce_ms`](Self::debounce_ms) as a duration.
    pub(crate) fn debounce(&self) -> Duration {
        Duration::from_millis(self.debounce_ms)
    }

    /// [`settle_ms`](Self::settle_ms) as a duration.
    pub(crate) fn settle(&self) -> Duration {
        Duration::from_millis(self.settle_ms)
    }

    /// How often the poll watcher scans: `debounce_ms`, at least 100 ms.
    pub(crate) fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.debounce_ms.max(100))
    }
}
