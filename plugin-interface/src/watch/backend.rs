//! The notify watcher behind a [`DirWatcher`](super::DirWatcher): the
//! platform's own (inotify, FSEvents, ReadDirectoryChangesW, kqueue), or
//! notify's `PollWatcher` when asked for or when the native one cannot be
//! created.

use std::io;
use std::path::Path;
use std::sync::mpsc::Sender;
use std::time::Duration;

use notify::{Config, PollWatcher, RecommendedWatcher, RecursiveMode, Watcher};

use crate::error::PluginError;

/// What the watcher sends: notify's events, or its errors.
pub(crate) type RawEvent = notify::Result<notify::Event>;

/// A running notify watcher of one directory.
#[derive(Debug)]
pub(crate) enum Backend {
    /// The platform's notification API.
    Native(RecommendedWatcher),
    /// A scan every interval; `reason` says why when it replaced the native
    /// watcher.
    Poll {
        watcher: PollWatcher,
        reason: Option<String>,
    },
}

impl Backend {
    /// Whether events say when a writer closes a file (inotify's
    /// `IN_CLOSE_WRITE`), so that a file still open for writing can be
    /// told apart from one a writer finished.
    pub(crate) fn reports_close_write(&self) -> bool {
        cfg!(target_os = "linux") && matches!(self, Self::Native(_))
    }

    /// Watches `dir` (recursively if asked), sending what happens to
    /// `events`: with the native watcher, unless `poll` or the native
    /// watcher fails, then with a `PollWatcher` scanning every `interval`.
    pub(crate) fn start(
        dir: &Path,
        recursive: bool,
        poll: bool,
        interval: Duration,
        events: &Sender<RawEvent>,
    ) -> Result<Self, PluginError> {
        let mode = mode(recursive);
        let reason = if poll {
            None
        } else {
            match RecommendedWatcher::new(events.clone(), Config::default())
                .and_then(|mut watcher| watcher.watch(dir, mode).map(|()| watcher))
            {
                Ok(watcher) => return Ok(Self::Native(watcher)),
                Err(error) => Some(error.to_string()),
            }
        };
        let config = Config::default().with_poll_interval(interval);
        let mut watcher =
            PollWatcher::new(events.clone(), config).map_err(|error| watch_error(dir, error))?;
        watcher
            .watch(dir, mode)
            .map_err(|error| watch_error(dir, error))?;
        Ok(Self::Poll { watcher, reason })
    }

    /// Watches `dir` again, after it was removed and created anew.
    pub(crate) fn rewatch(&mut self, dir: &Path, recursive: bool) -> Result<(), PluginError> {
        let result = match self {
            Self::Native(watcher) => {
                // The old watch died with the old directory; removing it
                // fails when the backend already dropped it.
                let _ = watcher.unwatch(dir);
                watcher.watch(dir, mode(recursive))
            }
            Self::Poll { watcher, .. } => {
                let _ = watcher.unwatch(dir);
                watcher.watch(dir, mode(recursive))
            }
        };
        result.map_err(|error| watch_error(dir, error))
    }

    /// Whether this is notify's `PollWatcher`.
    pub(crate) fn is_polling(&self) -> bool {
        matches!(self, Self::Poll { .. })
    }

    /// Why the native watcher could not be used, when polling replaced it.
    pub(crate) fn fallback_reason(&self) -> Option<&str> {
        match self {
            Self::Poll { reason, .. } => reason.as_deref(),
            Self::Native(_) => None,
        }
    }
}

fn mode(recursive: bool) -> RecursiveMode {
    if recursive {
        RecursiveMode::Recursive
    } else {
        RecursiveMode::NonRecursive
    }
}

/// A notify error as a [`PluginError::Io`] about the first path it names,
/// else about `dir`.
pub(crate) fn watch_error(dir: &Path, error: notify::Error) -> PluginError {
    let library = error
        .paths
        .first()
        .cloned()
        .unwrap_or_else(|| dir.to_path_buf());
    let source = match error.kind {
        notify::ErrorKind::Io(source) => source,
        kind => io::Error::other(format!("watching {}: {}", dir.display(), describe(&kind))),
    };
    PluginError::Io { library, source }
}

fn describe(kind: &notify::ErrorKind) -> String {
    match kind {
        notify::ErrorKind::Generic(message) => message.clone(),
        notify::ErrorKind::Io(error) => error.to_string(),
        notify::ErrorKind::PathNotFound => "no such path".to_owned(),
        notify::ErrorKind::WatchNotFound => "the watch is gone".to_owned(),
        notify::ErrorKind::InvalidConfig(config) => format!("invalid configuration {config:?}"),
        notify::ErrorKind::MaxFilesWatch => {
            "the system limit on watches was reached (fs.inotify.max_user_watches)".to_owned()
        }
    }
}
