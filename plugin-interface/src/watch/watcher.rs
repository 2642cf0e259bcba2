//! `DirWatcher`: a watched directory whose library files are reported once
//! each time they settle.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::EventKind;
use notify::event::{AccessKind, AccessMode, ModifyKind};

use super::backend::{Backend, RawEvent, watch_error};
use super::files;
use super::options::WatchOptions;
use super::settle::{FileChange, Settler};
use crate::error::PluginError;

/// Watches one directory and reports each settled change of its library
/// files exactly once, as a [`FileChange`].
///
/// The directory is watched, not the files, so a file may be replaced,
/// deleted and created again. Events are hints: after the last event on a
/// file, the watcher waits [`debounce_ms`](WatchOptions::debounce_ms), then
/// reads the file until two reads [`settle_ms`](WatchOptions::settle_ms)
/// apart find the same size and xxh3-128 content hash, and only then
/// compares it with what it last reported for that path. So a file written
/// slowly is reported once, complete; touching a file or rewriting the same
/// bytes reports nothing; and a file renamed over another is one
/// [`FileChange::Changed`]. The files present at the start are reported as
/// [`FileChange::Appeared`] once they have settled.
///
/// Library files are those with this platform's library suffix whose name
/// does not start with `.`, `~` or `#` (temporary files of editors and copy
/// tools). Nothing is loaded: see
/// [`watch_and_load_blocking`](super::watch_and_load_blocking) for that.
///
/// ```
/// use std::time::Duration;
/// use plugin_interface::watch::{DirWatcher, FileChange, WatchOptions, content_hash};
///
/// let dir = tempfile::tempdir()?;
/// let options = WatchOptions::default().debounce_ms(50).settle_ms(50);
/// let mut watcher = DirWatcher::new(dir.path(), &options)?;
///
/// let library = dir.path().join(format!("greeter.{}", std::env::consts::DLL_EXTENSION));
/// std::fs::write(&library, b"the bytes of a plugin")?;
/// std::fs::write(dir.path().join("notes.txt"), b"not a library")?;
/// match watcher.next_change(Duration::from_secs(30)) {
///     Some(Ok(FileChange::Appeared { path, hash })) => {
///         assert_eq!(path, library);
///         assert_eq!(hash, content_hash(&library)?);
///     }
///     other => panic!("expected the library to appear, got {other:?}"),
/// }
///
/// std::fs::remove_file(&library)?;
/// match watcher.next_change(Duration::from_secs(30)) {
///     Some(Ok(FileChange::Vanished { path })) => assert_eq!(path, library),
///     other => panic!("expected the library to vanish, got {other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DirWatcher {
    dir: PathBuf,
    recursive: bool,
    backend: Backend,
    events: Receiver<RawEvent>,
    settler: Settler,
    ready: VecDeque<Result<FileChange, PluginError>>,
    /// How often a lost directory is looked for.
    rearm_every: Duration,
    /// Set when the watched directory vanished: its watch is gone.
    lost: Option<Instant>,
    /// Set when the backend stopped sending.
    disconnected: bool,
}

impl DirWatcher {
    /// Starts watching `dir`, which must be a directory, with the
    /// `debounce_ms`, `settle_ms`, `recursive` and `poll` settings of
    /// `options`. The library files already there are scheduled at once, to
    /// be reported as they settle.
    ///
    /// Falls back to notify's `PollWatcher` when the platform's watcher
    /// cannot be created or cannot watch `dir` (for instance when the
    /// inotify limits are reached); [`is_polling`](Self::is_polling) and
    /// [`fallback_reason`](Self::fallback_reason) say so.
    pub fn new(dir: impl AsRef<Path>, options: &WatchOptions) -> Result<Self, PluginError> {
        let given = dir.as_ref();
        let io = |source| PluginError::Io {
            library: given.to_path_buf(),
            source,
        };
        // Absolute, as the manager keys its libraries: the paths reported
        // are the paths the manager knows.
        let dir = std::path::absolute(given).map_err(io)?;
        let metadata = std::fs::metadata(&dir).map_err(io)?;
        if !metadata.is_dir() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "the watcher watches directories; watch the directory that holds the library",
            )));
        }
        let (sender, events) = mpsc::channel();
        // The watch is in place before the scan, so a file written between
        // the two is seen by one or the other (or both: it settles once).
        let backend = Backend::start(
            &dir,
            options.recursive,
            options.poll,
            options.poll_interval(),
            &sender,
        )?;
        let mut watcher = Self {
            dir,
            recursive: options.recursive,
            backend,
            events,
            settler: Settler::new(options.debounce(), options.settle()),
            ready: VecDeque::new(),
            rearm_every: options.poll_interval(),
            lost: None,
            disconnected: false,
        };
        watcher.rescan(Instant::now())?;
        Ok(watcher)
    }

    /// The watched directory, made absolute (as [`std::path::absolute`]
    /// does: without resolving symbolic links). Reported paths are in it.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether notify's `PollWatcher` is in use (asked for with
    /// [`WatchOptions::poll`], or because the native watcher failed).
    pub fn is_polling(&self) -> bool {
        self.backend.is_polling()
    }

    /// Why the native watcher could not be used, when the poll watcher
    /// replaced it.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.backend.fallback_reason()
    }

    /// The library files as last reported, with their content hashes, in
    /// path order.
    pub fn known(&self) -> impl Iterator<Item = (&Path, u128)> {
        self.settler.reported()
    }

    /// Waits up to `timeout` for the next settled change; `None` if there
    /// was none. An `Err` is a file that could not be read (it is looked at
    /// again after its next event) or a failure of the underlying watcher;
    /// watching goes on after either.
    pub fn next_change(&mut self, timeout: Duration) -> Option<Result<FileChange, PluginError>> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(ready) = self.ready.pop_front() {
                return Some(ready);
            }
            let now = Instant::now();
            if let Some(since) = self.lost
                && now >= since + self.rearm_every
            {
                self.rearm(now);
                continue;
            }
            if self.settler.next_due().is_some_and(|due| due <= now) {
                self.look(now);
                continue;
            }
            if now >= end {
                return None;
            }
            let mut wake = end;
            if let Some(due) = self.settler.next_due() {
                wake = wake.min(due);
            }
            if let Some(since) = self.lost {
                wake = wake.min(since + self.rearm_every);
            }
            let wait = wake.saturating_duration_since(now);
            if self.disconnected {
                std::thread::sleep(wait);
                continue;
            }
            match self.events.recv_timeout(wait) {
                Ok(event) => {
                    let now = Instant::now();
                    self.absorb(event, now);
                    while let Ok(event) = self.events.try_recv() {
                        self.absorb(event, now);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.disconnected = true;
                    self.ready.push_back(Err(PluginError::Io {
                        library: self.dir.clone(),
                        source: std::io::Error::other(
                            "the file watcher stopped sending events; changes are no longer seen",
                        ),
                    }));
                }
            }
        }
    }

    /// Takes one notify event (or error) into account.
    fn absorb(&mut self, event: RawEvent, now: Instant) {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                self.ready.push_back(Err(watch_error(&self.dir, error)));
                self.rescan_or_lose(now);
                return;
            }
        };
        if event.need_rescan() {
            self.rescan_or_lose(now);
            return;
        }
        // Reads (ours included: hashing opens the file) change nothing.
        if let EventKind::Access(kind) = event.kind
            && kind != AccessKind::Close(AccessMode::Write)
        {
            return;
        }
        let close_write = self.backend.reports_close_write();
        let written = close_write && matches!(event.kind, EventKind::Modify(ModifyKind::Data(_)));
        let closed = close_write
            && matches!(
                event.kind,
                EventKind::Access(AccessKind::Close(AccessMode::Write))
            );
        for path in &event.paths {
            if files::is_library_file(path) {
                self.settler.touched(path, now);
                if written {
                    self.settler.writing(path, now);
                } else if closed {
                    self.settler.closed(path);
                }
                continue;
            }
            // A directory (or other file) moved or removed takes the files
            // under it along; one created brings its files.
            self.settler.touched_under(path, now);
            if path == &self.dir {
                if !self.dir.is_dir() {
                    self.lost = Some(now);
                }
            } else if self.recursive && path.starts_with(&self.dir) && path.is_dir() {
                self.scan(path, now);
            }
        }
    }

    /// Every known file is touched and every library file scanned.
    fn rescan(&mut self, now: Instant) -> Result<(), PluginError> {
        self.settler.touched_under(&self.dir, now);
        let found =
            files::libraries(&self.dir, self.recursive).map_err(|source| PluginError::Io {
                library: self.dir.clone(),
                source,
            })?;
        for path in found {
            self.settler.scanned(&path, now);
        }
        Ok(())
    }

    /// [`rescan`](Self::rescan), noting a vanished directory as lost.
    fn rescan_or_lose(&mut self, now: Instant) {
        if self.rescan(now).is_err() && !self.dir.is_dir() {
            self.lost = Some(now);
        }
    }

    /// The library files under a subdirectory that appeared.
    fn scan(&mut self, dir: &Path, now: Instant) {
        // The subdirectory may be gone again already; its events say so.
        if let Ok(found) = files::libraries(dir, true) {
            for path in found {
                self.settler.scanned(&path, now);
            }
        }
    }

    /// Watches the directory again once it exists again.
    fn rearm(&mut self, now: Instant) {
        if !self.dir.is_dir() {
            self.lost = Some(now);
            return;
        }
        self.lost = None;
        if let Err(error) = self.backend.rewatch(&self.dir, self.recursive) {
            self.ready.push_back(Err(error));
            self.lost = Some(now);
            return;
        }
        self.rescan_or_lose(now);
    }

    /// Looks at the files that are due and queues what settled.
    fn look(&mut self, now: Instant) {
        for result in self.settler.look(now, files::sample) {
            self.ready
                .push_back(result.map_err(|(library, source)| PluginError::Io { library, source }));
        }
    }
}
