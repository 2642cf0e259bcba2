//! The settling state machine: which files are waiting to settle, what was
//! last reported for each, and the classification of a settled file into
//! appeared, changed or vanished. No clock and no file system of its own:
//! the caller passes the time and a way to look at a file.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::files::Sample;

/// One settled change of a library file in a watched directory, relative to
/// what was last reported for that path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// A library file that was not there (or not reported) is there now,
    /// complete: its size and content did not change for a settle interval.
    Appeared {
        /// The file: the watched directory, made absolute, joined with its
        /// name.
        path: PathBuf,
        /// xxh3-128 of its content ([`content_hash`](super::content_hash)).
        hash: u128,
    },
    /// A reported library file has new content, settled. Renaming another
    /// file over it, or deleting and recreating it within the debounce
    /// time, is a change too.
    Changed {
        /// The file.
        path: PathBuf,
        /// xxh3-128 of its new content.
        hash: u128,
    },
    /// A reported library file is gone.
    Vanished {
        /// The file.
        path: PathBuf,
    },
}

impl FileChange {
    /// The file the change is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Appeared { path, .. } | Self::Changed { path, .. } | Self::Vanished { path } => {
                path
            }
        }
    }
}

/// How long a file a writer still holds open is waited for.
const MAX_WRITING: Duration = Duration::from_secs(60);

/// How long an ELF file shorter than its program headers say is waited
/// for when no writer was seen closing it.
const INCOMPLETE_GRACE: Duration = Duration::from_secs(5);

/// A file waiting to settle.
#[derive(Debug)]
struct Pending {
    /// When to look at it next.
    due: Instant,
    /// When it was first touched since it last settled.
    since: Instant,
    /// What the previous look found; `None` if nothing was seen since the
    /// last event on the file.
    last: Option<Sample>,
}

/// The files waiting to settle and the last reported state of every file.
#[derive(Debug)]
pub(crate) struct Settler {
    debounce: Duration,
    settle: Duration,
    reported: BTreeMap<PathBuf, u128>,
    pending: BTreeMap<PathBuf, Pending>,
    /// Files a writer modified and has not closed yet, since when (only
    /// where the platform reports closing after writing).
    writing: BTreeMap<PathBuf, Instant>,
    /// Files a writer closed since they last settled.
    closed: std::collections::BTreeSet<PathBuf>,
}

impl Settler {
    /// A settler that first looks at a file `debounce` after the last event
    /// on it, and reports it once two looks `settle` apart agree.
    pub(crate) fn new(debounce: Duration, settle: Duration) -> Self {
        Self {
            debounce,
            settle,
            reported: BTreeMap::new(),
            pending: BTreeMap::new(),
            writing: BTreeMap::new(),
            closed: std::collections::BTreeSet::new(),
        }
    }

    /// A writer modified `path` at `now` and holds it open: it does not
    /// settle before the writer closes it (or [`MAX_WRITING`] passes).
    pub(crate) fn writing(&mut self, path: &Path, now: Instant) {
        self.closed.remove(path);
        self.writing.entry(path.to_path_buf()).or_insert(now);
    }

    /// A writer closed `path`: it is complete as far as the writer knows.
    pub(crate) fn closed(&mut self, path: &Path) {
        self.writing.remove(path);
        self.closed.insert(path.to_path_buf());
    }

    /// Something happened to `path` at `now`: forget any earlier look and
    /// look again after the debounce time.
    pub(crate) fn touched(&mut self, path: &Path, now: Instant) {
        self.schedule(path, now + self.debounce);
    }

    /// Look at `path` at `now`, without waiting for the debounce time (the
    /// files found by a scan, where there is no burst of events to wait
    /// out).
    pub(crate) fn scanned(&mut self, path: &Path, now: Instant) {
        self.schedule(path, now);
    }

    fn schedule(&mut self, path: &Path, due: Instant) {
        let since = self.pending.get(path).map_or(due, |pending| pending.since);
        self.pending.insert(
            path.to_path_buf(),
            Pending {
                due,
                since,
                last: None,
            },
        );
    }

    /// Whether a stable `seen` of `path` still waits at `now`: for its
    /// writer to close it, or, for an incomplete ELF image no writer was
    /// seen closing, for the rest of it.
    fn waits(&self, path: &Path, seen: Sample, since: Instant, now: Instant) -> bool {
        if seen == Sample::Missing {
            return false;
        }
        if let Some(started) = self.writing.get(path)
            && now.duration_since(*started) < MAX_WRITING
        {
            return true;
        }
        let incomplete = matches!(
            seen,
            Sample::Present {
                complete: false,
                ..
            }
        );
        incomplete && !self.closed.contains(path) && now.duration_since(since) < INCOMPLETE_GRACE
    }

    /// Every file reported or waiting at or under `path` (a directory that
    /// moved or vanished, or the watched directory after a lost event) is
    /// touched at `now`.
    pub(crate) fn touched_under(&mut self, path: &Path, now: Instant) {
        let known: Vec<PathBuf> = self
            .reported
            .keys()
            .chain(self.pending.keys())
            .filter(|known| known.starts_with(path))
            .cloned()
            .collect();
        for known in known {
            self.touched(&known, now);
        }
    }

    /// The files as last reported, with their hashes.
    pub(crate) fn reported(&self) -> impl Iterator<Item = (&Path, u128)> {
        self.reported
            .iter()
            .map(|(path, hash)| (path.as_path(), *hash))
    }

    /// When the next look is due, if any file is waiting.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.pending.values().map(|pending| pending.due).min()
    }

    /// Looks at every file due at `now` through `look`, in path order.
    /// Settled files are classified against what was last reported; a file
    /// that cannot be read is reported as an error and waits for its next
    /// event.
    pub(crate) fn look(
        &mut self,
        now: Instant,
        mut look: impl FnMut(&Path) -> io::Result<Sample>,
    ) -> Vec<Result<FileChange, (PathBuf, io::Error)>> {
        let due: Vec<PathBuf> = self
            .pending
            .iter()
            .filter(|(_, pending)| pending.due <= now)
            .map(|(path, _)| path.clone())
            .collect();
        let mut out = Vec::new();
        for path in due {
            let seen = match look(&path) {
                Ok(seen) => seen,
                Err(error) => {
                    self.pending.remove(&path);
                    out.push(Err((path, error)));
                    continue;
                }
            };
            let Some(pending) = self.pending.get(&path) else {
                continue;
            };
            let (last, since) = (pending.last, pending.since);
            let waits = self.waits(&path, seen, since, now);
            let pending = self.pending.get_mut(&path).expect("looked up above");
            if last == Some(seen) && !waits {
                self.pending.remove(&path);
                self.writing.remove(&path);
                self.closed.remove(&path);
                if let Some(change) = self.classify(path, seen) {
                    out.push(Ok(change));
                }
            } else {
                pending.last = Some(seen);
                pending.due = now + self.settle;
            }
        }
        out
    }

    /// The change a settled `seen` makes to what was last reported, and
    /// the new last report.
    fn classify(&mut self, path: PathBuf, seen: Sample) -> Option<FileChange> {
        match seen {
            Sample::Present { hash, .. } => match self.reported.insert(path.clone(), hash) {
                None => Some(FileChange::Appeared { path, hash }),
                Some(old) if old != hash => Some(FileChange::Changed { path, hash }),
                Some(_) => None,
            },
            Sample::Missing => self
                .reported
                .remove(&path)
                .map(|_| FileChange::Vanished { path }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBOUNCE: Duration = Duration::from_millis(300);
    const SETTLE: Duration = Duration::from_millis(200);

    fn present(len: u64, hash: u128) -> Sample {
        Sample::Present {
            len,
            hash,
            complete: true,
        }
    }

    /// Looks at due files until nothing is pending, returning every change.
    fn run(
        settler: &mut Settler,
        mut now: Instant,
        disk: &BTreeMap<PathBuf, Sample>,
    ) -> Vec<FileChange> {
        let mut changes = Vec::new();
        while let Some(due) = settler.next_due() {
            now = now.max(due);
            for result in settler.look(now, |path| {
                Ok(disk.get(path).copied().unwrap_or(Sample::Missing))
            }) {
                changes.push(result.expect("no read errors here"));
            }
        }
        changes
    }

    #[test]
    fn a_file_settles_once_and_a_touch_reports_nothing() {
        let start = Instant::now();
        let mut settler = Settler::new(DEBOUNCE, SETTLE);
        let path = PathBuf::from("a.so");
        let mut disk = BTreeMap::from([(path.clone(), present(3, 7))]);
        settler.touched(&path, start);
        assert_eq!(
            run(&mut settler, start, &disk),
            [FileChange::Appeared {
                path: path.clone(),
                hash: 7
            }]
        );
        settler.touched(&path, start);
        assert_eq!(run(&mut settler, start, &disk), []);
        disk.insert(path.clone(), present(4, 8));
        settler.touched(&path, start);
        assert_eq!(
            run(&mut settler, start, &disk),
            [FileChange::Changed {
                path: path.clone(),
                hash: 8
            }]
        );
        disk.clear();
        settler.touched(&path, start);
        assert_eq!(
            run(&mut settler, start, &disk),
            [FileChange::Vanished { path: path.clone() }]
        );
        assert_eq!(settler.reported().count(), 0);
    }

    #[test]
    fn a_growing_file_is_not_reported_until_two_looks_agree() {
        let start = Instant::now();
        let mut settler = Settler::new(DEBOUNCE, SETTLE);
        let path = PathBuf::from("a.so");
        settler.touched(&path, start);
        let first = start + DEBOUNCE;
        assert_eq!(settler.next_due(), Some(first));
        let mut len = 0;
        let mut growing = |_: &Path| {
            len += 1;
            Ok(present(len, u128::from(len)))
        };
        assert!(settler.look(first, &mut growing).is_empty());
        assert!(settler.look(first + SETTLE, &mut growing).is_empty());
        assert!(settler.look(first + SETTLE * 2, &mut growing).is_empty());
        // It stopped growing: the next two looks agree.
        let done = |_: &Path| Ok(present(9, 9));
        assert!(settler.look(first + SETTLE * 3, done).is_empty());
        let settled = settler.look(first + SETTLE * 4, done);
        assert_eq!(settled.len(), 1);
        assert_eq!(
            settled[0].as_ref().ok(),
            Some(&FileChange::Appeared { path, hash: 9 })
        );
    }

    #[test]
    fn an_event_between_looks_starts_over() {
        let start = Instant::now();
        let mut settler = Settler::new(DEBOUNCE, SETTLE);
        let path = PathBuf::from("a.so");
        settler.touched(&path, start);
        let same = |_: &Path| Ok(present(1, 1));
        assert!(settler.look(start + DEBOUNCE, same).is_empty());
        settler.touched(&path, start + DEBOUNCE);
        // Not due yet: the debounce time runs from the latest event.
        assert!(settler.look(start + DEBOUNCE + SETTLE, same).is_empty());
        assert_eq!(settler.next_due(), Some(start + DEBOUNCE * 2));
    }

    #[test]
    fn read_errors_are_reported_and_the_file_waits_for_its_next_event() {
        let start = Instant::now();
        let mut settler = Settler::new(DEBOUNCE, SETTLE);
        let path = PathBuf::from("a.so");
        settler.touched(&path, start);
        let results = settler.look(start + DEBOUNCE, |_| {
            Err(io::Error::from(io::ErrorKind::PermissionDenied))
        });
        assert!(matches!(&results[..], [Err((p, _))] if p == &path));
        assert_eq!(settler.next_due(), None);
    }

    #[test]
    fn a_vanished_directory_touches_what_was_under_it() {
        let start = Instant::now();
        let mut settler = Settler::new(DEBOUNCE, SETTLE);
        let inside = PathBuf::from("dir/sub/a.so");
        let outside = PathBuf::from("dir/b.so");
        let disk = BTreeMap::from([
            (inside.clone(), present(1, 1)),
            (outside.clone(), present(2, 2)),
        ]);
        settler.scanned(&inside, start);
        settler.scanned(&outside, start);
        assert_eq!(run(&mut settler, start, &disk).len(), 2);
        settler.touched_under(Path::new("dir/sub"), start);
        let disk = BTreeMap::from([(outside, present(2, 2))]);
        assert_eq!(
            run(&mut settler, start, &disk),
            [FileChange::Vanished { path: inside }]
        );
    }

    /// Looks once at `at`; the changes reported.
    fn look_at(settler: &mut Settler, at: Instant, seen: Sample) -> Vec<FileChange> {
        settler
            .look(at, |_| Ok(seen))
            .into_iter()
            .map(|result| result.expect("no read errors here"))
            .collect()
    }

    #[test]
    fn a_file_open_for_writing_waits_for_its_writer_to_close_it() {
        let start = Instant::now();
        let mut settler = Settler::new(DEBOUNCE, SETTLE);
        let path = PathBuf::from("a.so");
        settler.touched(&path, start);
        settler.writing(&path, start);
        // The writer pauses for seconds: size and hash hold still.
        let mut now = start + DEBOUNCE;
        for _ in 0..20 {
            assert_eq!(look_at(&mut settler, now, present(3, 7)), []);
            now += SETTLE;
        }
        settler.closed(&path);
        settler.touched(&path, now);
        assert_eq!(
            run(
                &mut settler,
                now,
                &BTreeMap::from([(path.clone(), present(3, 7))])
            ),
            [FileChange::Appeared { path, hash: 7 }]
        );
    }

    #[test]
    fn an_incomplete_image_waits_unless_its_writer_closed_it() {
        let start = Instant::now();
        let mut settler = Settler::new(DEBOUNCE, SETTLE);
        let path = PathBuf::from("a.so");
        let cut = Sample::Present {
            len: 3,
            hash: 7,
            complete: false,
        };
        settler.touched(&path, start);
        let mut now = start + DEBOUNCE;
        while now < start + INCOMPLETE_GRACE {
            assert_eq!(look_at(&mut settler, now, cut), []);
            now += SETTLE;
        }
        // Past the grace time it is reported, and refused by the loader.
        now += SETTLE;
        assert_eq!(
            look_at(&mut settler, now, cut),
            [FileChange::Appeared {
                path: path.clone(),
                hash: 7
            }]
        );
        // A cut file its writer closed is reported once it holds still.
        let cut = Sample::Present {
            len: 4,
            hash: 8,
            complete: false,
        };
        settler.touched(&path, now);
        settler.closed(&path);
        now += DEBOUNCE;
        assert_eq!(look_at(&mut settler, now, cut), []);
        now += SETTLE;
        assert_eq!(
            look_at(&mut settler, now, cut),
            [FileChange::Changed { path, hash: 8 }]
        );
    }
}
