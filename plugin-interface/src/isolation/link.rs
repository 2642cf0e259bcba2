//! The host's connection to a worker: starting it, one exchange at a
//! time within a deadline, telling a crash from a timeout, and restarting
//! a worker that died, with its instances made again.

use core::ffi::c_void;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use super::WorkerOptions;
use super::process::{self, ended};
use super::protocol::{MAX_FRAME, Request, Response, Snapshot, read_frame, write_frame};
use super::serve::{WorkerArgs, default_worker};
use crate::abi::TraitDescriptor;
use crate::error::PluginError;
use crate::loader::{LoadOptions, PluginFile, compared_with_host};
use crate::manager::ReloadEvent;
use crate::wire::{
    Answer, DispatchSink, DispatchStatus, Keep, LocalObject, Peer, PeerTable, answer_sink, given,
};

/// The bit that marks a handle as one of the worker's objects (returned
/// or lent by it) rather than an instance the host made: such a handle
/// also carries the worker's run (its restart count) in bits 32 to 62,
/// and the worker's id of the object in the low 32 bits.
const OBJECT: u64 = 1 << 63;

/// How long a worker has to open its library when no call timeout is set.
const STARTUP: Duration = Duration::from_secs(60);

/// How long a closing worker has to free its instances and exit before it
/// is killed.
pub(crate) const CLOSING: Duration = Duration::from_secs(5);

/// The checked file and the worker serving it, shared by the library, its
/// invokers and the typed proxies of its instances.
#[derive(Debug)]
pub(crate) struct Link {
    file: PluginFile,
    /// The path as errors and proxies report it.
    path: Arc<Path>,
    /// How to start the worker again.
    executable: PathBuf,
    args: Vec<String>,
    options: WorkerOptions,
    /// The current worker's process id.
    pid: AtomicU32,
    /// How the current worker ended, once it has, and how many times the
    /// worker was restarted: readable while a call holds `worker`.
    state: Mutex<State>,
    /// The instances made and not freed, by the id their owners hold,
    /// with what to make them again from in a restarted worker.
    instances: Mutex<HashMap<u32, Live>>,
    next_id: AtomicU32,
    /// The host's objects the worker may call: lent for a call in
    /// progress, or given to the worker until it drops them.
    kept: Mutex<HashMap<u64, Arc<Kept>>>,
    /// Kept objects the worker dropped during an exchange, dropped in turn
    /// once the exchange is over (they may hold this worker's objects,
    /// whose release is an exchange of its own).
    dropped: Mutex<Vec<Arc<Kept>>>,
    next_kept: AtomicU64,
    /// This link, for the peer tables its kept objects are called with.
    me: OnceLock<Weak<Link>>,
    /// Who hears of restarts (`WorkerLibrary::subscribe`).
    subscribers: Mutex<Vec<Sender<ReloadEvent>>>,
    worker: Mutex<Worker>,
}

/// A host object the worker may call.
#[derive(Debug)]
struct Kept {
    object: LocalObject,
    /// For an object lent for a call: the thread whose call it is, the
    /// only one that may run it.
    lender: Option<ThreadId>,
    /// Whether every call takes it mutably (an object lent as `&mut`, a
    /// closure); otherwise its trait's `&mut self` methods do.
    always_mutable: bool,
    /// The calls running on it: how many take it shared, or
    /// [`EXCLUSIVE`] for one that takes it mutably. A worker that calls
    /// back into an object while a call holds it mutably is refused, so
    /// the object is never borrowed mutably twice.
    access: AtomicU32,
}

/// [`Kept::access`] of an object a call holds mutably.
const EXCLUSIVE: u32 = u32::MAX;

impl Kept {
    /// Whether method `method` takes the object mutably.
    fn mutable(&self, method: u32) -> bool {
        if self.always_mutable || self.object.descriptor.is_null() {
            return true;
        }
        // SAFETY: a host object's descriptor: a static of this image,
        // set by `LocalObject::of`.
        let descriptor = unsafe { &*self.object.descriptor };
        descriptor
            .methods
            .as_slice()
            .get(method as usize)
            .is_none_or(|method| method.mutable)
    }

    /// Takes the object for a call of a method that takes it mutably or
    /// not; false when a running call forbids it.
    fn enter(&self, mutable: bool) -> bool {
        if mutable {
            self.access
                .compare_exchange(0, EXCLUSIVE, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        } else {
            self.access
                .fetch_update(Ordering::Acquire, Ordering::Relaxed, |calls| {
                    (calls < EXCLUSIVE - 1).then_some(calls + 1)
                })
                .is_ok()
        }
    }

    /// Gives back what [`enter`](Self::enter) took.
    fn leave(&self, mutable: bool) {
        if mutable {
            self.access.store(0, Ordering::Release);
        } else {
            self.access.fetch_sub(1, Ordering::Release);
        }
    }
}

thread_local! {
    /// The links this thread serves a worker's callback for, with their
    /// locked worker: a call the callback makes to the same worker goes
    /// through the exchange in progress instead of waiting for the lock
    /// it holds.
    static SERVING: RefCell<Vec<(*const Link, *mut Worker)>> = const { RefCell::new(Vec::new()) };
}

#[derive(Debug, Default)]
struct State {
    ended: Option<String>,
    restarts: u32,
    /// Whether the failed restart that spent the budget was reported.
    gave_up: bool,
}

/// An instance in the worker: its trait and entry, and the worker's
/// handle of it.
#[derive(Debug, Clone)]
struct Live {
    trait_name: String,
    entry: String,
    handle: u32,
    /// The instance's state after its last call, when its implementation
    /// carries state: what a restarted worker restores.
    state: Option<Snapshot>,
}

/// The worker process and the host's end of its socket.
#[derive(Debug)]
struct Worker {
    child: Child,
    socket: UnixStream,
    /// Whether the worker was reaped: then nothing is left to end.
    reaped: bool,
}

impl Link {
    /// Checks the library at `path` under `load` and starts its worker.
    pub(crate) fn open(
        path: &Path,
        load: &LoadOptions,
        options: &WorkerOptions,
    ) -> Result<Self, PluginError> {
        let file = PluginFile::check_with(path, load)?;
        let executable = match &options.worker {
            Some(worker) => worker.clone(),
            None => default_worker().ok_or_else(|| PluginError::Worker {
                library: path.to_path_buf(),
                reason: "no worker executable: set WorkerOptions::worker or PLUGIN_WORKER, or \
                         put `plugin-worker` beside this executable"
                    .to_owned(),
            })?,
        };
        let args = WorkerArgs {
            sha256: file.sha256_hex(),
            allow_insecure_permissions: load.allow_insecure_permissions,
            allow_panic_abort: load.allow_panic_abort,
            library: path.to_path_buf(),
        }
        .to_args();
        let worker = start(path, &executable, &args, options)?;
        Ok(Self {
            file,
            path: Arc::from(path),
            executable,
            args,
            options: options.clone(),
            pid: AtomicU32::new(worker.child.id()),
            state: Mutex::new(State::default()),
            instances: Mutex::new(HashMap::new()),
            next_id: AtomicU32::new(0),
            kept: Mutex::new(HashMap::new()),
            dropped: Mutex::new(Vec::new()),
            next_kept: AtomicU64::new(0),
            me: OnceLock::new(),
            subscribers: Mutex::new(Vec::new()),
            worker: Mutex::new(worker),
        })
    }

    /// The link in its `Arc`, knowing itself.
    pub(crate) fn shared(self) -> Arc<Self> {
        let link = Arc::new(self);
        let _ = link.me.set(Arc::downgrade(&link));
        link
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn file(&self) -> &PluginFile {
        &self.file
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid.load(Ordering::Relaxed)
    }

    pub(crate) fn restarts(&self) -> u32 {
        self.state().restarts
    }

    /// The plugin's descriptor of `trait_name`, compared with the host's.
    pub(crate) fn descriptor(&self, trait_name: &str) -> Result<&TraitDescriptor, PluginError> {
        let descriptor = self.file.descriptor(trait_name)?;
        compared_with_host(self.path(), descriptor)?;
        Ok(descriptor)
    }

    fn lock(&self) -> MutexGuard<'_, Worker> {
        self.worker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How the worker ended, if it has (as far as this side knows).
    pub(crate) fn ended(&self) -> Option<String> {
        self.state().ended.clone()
    }

    fn set_ended(&self, how: &str) {
        self.state().ended = Some(how.to_owned());
    }

    /// Whether the worker still serves. Never waits for a call in
    /// progress: a worker busy with one is alive.
    pub(crate) fn is_alive(&self) -> bool {
        if self.ended().is_some() {
            return false;
        }
        let Ok(mut worker) = self.worker.try_lock() else {
            return true;
        };
        if let Ok(Some(status)) = worker.child.try_wait() {
            worker.reaped = true;
            self.set_ended(&ended(status));
            return false;
        }
        true
    }

    /// Makes an instance of `entry` (`None`: the only implementation of
    /// `trait_name`) in the worker; the id its owner calls it by, and its
    /// entry name.
    pub(crate) fn instantiate(
        &self,
        trait_name: &str,
        entry: Option<&str>,
    ) -> Result<(u32, String), PluginError> {
        let entries: Vec<String> = self
            .file
            .entries(trait_name)?
            .into_iter()
            .map(|info| info.entry)
            .collect();
        let known = match entry {
            Some(entry) => entries.iter().any(|known| known == entry),
            None => entries.len() == 1,
        };
        if !known {
            return Err(PluginError::EntryNotFound {
                library: self.path().to_path_buf(),
                trait_name: trait_name.to_owned(),
                entry: entry.unwrap_or("(none named)").to_owned(),
                available: entries,
            });
        }
        self.restart_if_ended()?;
        let (handle, entry) = self.make(trait_name, entry)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        self.instances().insert(
            id,
            Live {
                trait_name: trait_name.to_owned(),
                entry: entry.clone(),
                handle,
                state: None,
            },
        );
        Ok((id, entry))
    }

    fn instances(&self) -> MutexGuard<'_, HashMap<u32, Live>> {
        self.instances
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks the worker for an instance; its handle and entry name.
    fn make(&self, trait_name: &str, entry: Option<&str>) -> Result<(u32, String), PluginError> {
        let request = Request::Instantiate {
            trait_name: trait_name.to_owned(),
            entry: entry.map(str::to_owned),
            state: None,
        };
        let doing = format!("{trait_name} (making an instance)");
        match self.request(&request, &doing)? {
            Response::Instantiated { handle, entry } => Ok((handle, entry)),
            Response::Failed(reason) => Err(PluginError::Worker {
                library: self.path().to_path_buf(),
                reason,
            }),
            other => Err(self.unexpected(&other)),
        }
    }

    /// Calls method `index` of `handle` (an instance's id, or one of the
    /// worker's objects) with encoded `args`, serving the worker's calls
    /// to the host's objects meanwhile; the dispatch's status and bytes.
    pub(crate) fn call(
        &self,
        handle: u64,
        index: u32,
        args: Vec<u8>,
        doing: &str,
    ) -> Result<(u32, Vec<u8>), PluginError> {
        self.answer(handle, index, args, doing)
            .map(|answer| (answer.status, answer.bytes))
    }

    /// [`call`](Self::call), with the run of the worker that answered,
    /// read under its lock: the ids of objects in the answer are that
    /// run's.
    fn answer(
        &self,
        handle: u64,
        index: u32,
        args: Vec<u8>,
        doing: &str,
    ) -> Result<Answer, PluginError> {
        let timeout = self.options.call_timeout.unwrap_or(Duration::ZERO);
        let (response, run) = self.with_worker(true, |worker| {
            // The worker's handle is read under the worker's lock: a
            // restart changes it while holding the lock.
            let request = Request::Call {
                handle: self.worker_handle(handle)?,
                method: index,
                args,
            };
            let mut response =
                self.exchange_locked(worker, Some(&request), timeout, Some(doing))?;
            // The snapshot is kept under the lock, so that a later call's
            // never gives way to an earlier one's.
            if let Response::Dispatched { state, .. } = &mut response
                && let Some(state) = state.take()
                && handle & OBJECT == 0
                && let Some(live) = self.instances().get_mut(&(handle as u32))
            {
                live.state = Some(state);
            }
            Ok((response, self.restarts()))
        })?;
        match response {
            Response::Dispatched { status, bytes, .. } => Ok(Answer { status, bytes, run }),
            Response::Failed(reason) => Err(PluginError::Worker {
                library: self.path().to_path_buf(),
                reason,
            }),
            other => Err(self.unexpected(&other)),
        }
    }

    /// Runs `exchange` with the worker: through the exchange in progress
    /// when this thread is serving one of its callbacks, else under the
    /// worker's lock, after restarting a worker that ended when `restart`.
    fn with_worker<R>(
        &self,
        restart: bool,
        exchange: impl FnOnce(&mut Worker) -> Result<R, PluginError>,
    ) -> Result<R, PluginError> {
        if let Some(worker) = self.serving() {
            // SAFETY: the frame that registered the worker (`reentrant`)
            // holds its lock and waits, on this thread, for the callback
            // this call is part of. The pointer was made from its `&mut
            // Worker`, which it does not use until the callback returns
            // (it keeps no borrow derived from it across the callback), so
            // this is the only use of the worker meanwhile.
            let worker = unsafe { &mut *worker };
            return exchange(worker);
        }
        if restart {
            self.restart_if_ended()?;
        }
        let result = {
            let mut worker = self.lock();
            exchange(&mut worker)
        };
        self.drop_dropped();
        result
    }

    /// The worker this thread is serving a callback of, if it is this
    /// link's.
    fn serving(&self) -> Option<*mut Worker> {
        let me = core::ptr::from_ref(self);
        SERVING
            .try_with(|serving| {
                serving
                    .borrow()
                    .iter()
                    .rev()
                    .find(|(link, _)| *link == me)
                    .map(|(_, worker)| *worker)
            })
            .ok()
            .flatten()
    }

    /// Drops the kept objects the worker gave up, now that no exchange is
    /// in progress on this thread.
    fn drop_dropped(&self) {
        loop {
            let dropped =
                core::mem::take(&mut *self.dropped.lock().unwrap_or_else(PoisonError::into_inner));
            if dropped.is_empty() {
                return;
            }
            drop(dropped);
        }
    }

    /// The worker's id for `handle`: an instance's current one, or the
    /// object's, unless the worker that had it was restarted since.
    fn worker_handle(&self, handle: u64) -> Result<u32, PluginError> {
        if handle & OBJECT == 0 {
            let id = u32::try_from(handle).unwrap_or(u32::MAX);
            return self
                .instances()
                .get(&id)
                .map(|live| live.handle)
                .ok_or_else(|| PluginError::Worker {
                    library: self.path().to_path_buf(),
                    reason: format!("no instance {handle}"),
                });
        }
        let run = (handle >> 32) & 0x7fff_ffff;
        if run != u64::from(self.restarts()) {
            return Err(PluginError::Worker {
                library: self.path().to_path_buf(),
                reason: "the object was lost when its worker was restarted".to_owned(),
            });
        }
        Ok(handle as u32)
    }

    /// The state of instance `handle`, when its implementation carries
    /// state; `None` otherwise.
    pub(crate) fn save_state(&self, handle: u64) -> Result<Option<Snapshot>, PluginError> {
        let response = self.with_worker(false, |worker| {
            let request = Request::SaveState {
                handle: self.worker_handle(handle)?,
            };
            let timeout = self.options.call_timeout.unwrap_or(Duration::ZERO);
            self.exchange_locked(worker, Some(&request), timeout, Some("saving state"))
        })?;
        match response {
            Response::State(state) => Ok(state),
            Response::Failed(reason) => Err(PluginError::Worker {
                library: self.path().to_path_buf(),
                reason,
            }),
            other => Err(self.unexpected(&other)),
        }
    }

    /// The state instance `handle` had after its last call, when its
    /// implementation carries state: what a worker that ended leaves.
    pub(crate) fn last_state(&self, handle: u64) -> Option<Snapshot> {
        let id = u32::try_from(handle).ok()?;
        self.instances().get(&id)?.state.clone()
    }

    /// Restores `state` into the fresh instance `handle`; the snapshot a
    /// restart restores from then is this one.
    pub(crate) fn load_state(&self, handle: u64, state: Snapshot) -> Result<(), PluginError> {
        let response = self.with_worker(false, |worker| {
            let request = Request::LoadState {
                handle: self.worker_handle(handle)?,
                state: state.clone(),
            };
            let timeout = self.options.call_timeout.unwrap_or(Duration::ZERO);
            self.exchange_locked(worker, Some(&request), timeout, Some("restoring state"))
        })?;
        match response {
            Response::Loaded => {
                if handle & OBJECT == 0
                    && let Some(live) = self.instances().get_mut(&(handle as u32))
                {
                    live.state = Some(state);
                }
                Ok(())
            }
            Response::Failed(reason) => Err(PluginError::Worker {
                library: self.path().to_path_buf(),
                reason,
            }),
            other => Err(self.unexpected(&other)),
        }
    }

    /// Frees `handle` (an instance's id, or one of the worker's objects)
    /// in the worker, when it is alive and still has it.
    pub(crate) fn release(&self, handle: u64) {
        let alive = self.is_alive();
        let _ = self.with_worker(false, |worker| {
            let target = if handle & OBJECT == 0 {
                let id = u32::try_from(handle).unwrap_or(u32::MAX);
                self.instances().remove(&id).map(|live| live.handle)
            } else {
                self.worker_handle(handle).ok()
            };
            if let Some(target) = target
                && alive
                && self.ended().is_none()
            {
                let request = Request::Release { handle: target };
                let timeout = self.options.call_timeout.unwrap_or(Duration::ZERO);
                self.exchange_locked(worker, Some(&request), timeout, Some("freeing an object"))?;
            }
            Ok(())
        });
    }

    /// The unmaker counter of `trait_name` in the live worker; `None` when
    /// it has none, or when the worker is not running.
    pub(crate) fn counter(&self, trait_name: &str) -> Option<u64> {
        if !self.is_alive() {
            return None;
        }
        let request = Request::Counter {
            trait_name: trait_name.to_owned(),
        };
        match self.request(&request, "reading a counter") {
            Ok(Response::Counter(counter)) => counter,
            _ => None,
        }
    }

    /// A worker that ended is started again, when the options allow a
    /// restart and the budget has one left: after the backoff (doubling
    /// with each restart), with every live instance made again (see
    /// `restart_locked`), and subscribers told. Otherwise its end is the
    /// error.
    fn restart_if_ended(&self) -> Result<(), PluginError> {
        if self.serving().is_some() {
            // Inside one of this worker's callbacks: the lock is this
            // thread's, and the worker is alive or its end is the answer.
            return match self.ended() {
                Some(how) => Err(PluginError::Crashed {
                    library: self.path().to_path_buf(),
                    how,
                    method: None,
                }),
                None => Ok(()),
            };
        }
        // A worker killed between calls is seen here, before a call is
        // sent to it.
        self.is_alive();
        let Some(how) = self.ended() else {
            return Ok(());
        };
        let crashed = |how: String| PluginError::Crashed {
            library: self.path().to_path_buf(),
            how,
            method: None,
        };
        let Some(policy) = self.options.restart else {
            return Err(crashed(how));
        };
        // The host's objects the old worker held are dropped after the
        // lock is given up: they may hold proxies of this worker's objects.
        let mut lost = Vec::new();
        let mut worker = self.lock();
        // Another caller may have restarted it while this one waited.
        let Some(how) = self.ended() else {
            return Ok(());
        };
        let restarts = self.restarts();
        if restarts >= policy.budget {
            let error = crashed(format!(
                "{how} (not restarted: its {} restart(s) are spent)",
                policy.budget
            ));
            if !std::mem::replace(&mut self.state().gave_up, true) {
                self.notify(ReloadEvent::Failed {
                    path: self.path().to_path_buf(),
                    reason: error.to_string(),
                });
            }
            return Err(error);
        }
        self.state().restarts += 1;
        std::thread::sleep(policy.backoff.saturating_mul(1 << restarts.min(16)));
        match self.restart_locked(&mut worker, &mut lost) {
            Ok(()) => {
                self.notify(ReloadEvent::Restarted {
                    path: self.path().to_path_buf(),
                    restarts: restarts + 1,
                    ended: how,
                });
                Ok(())
            }
            Err(error) => {
                self.notify(ReloadEvent::Failed {
                    path: self.path().to_path_buf(),
                    reason: format!("restarting the worker, which {how}: {error}"),
                });
                Err(error)
            }
        }
    }

    /// Starts a new worker in place of the one that ended, and makes every
    /// live instance again in it, restoring the state of those whose
    /// implementation carries state. The host's objects the old worker
    /// held are moved to `lost`, to be dropped once the lock is given up.
    fn restart_locked(
        &self,
        worker: &mut Worker,
        lost: &mut Vec<(u64, Arc<Kept>)>,
    ) -> Result<(), PluginError> {
        let fresh = start(self.path(), &self.executable, &self.args, &self.options)?;
        if !worker.reaped {
            process::kill(&mut worker.child);
        }
        *worker = fresh;
        self.pid.store(worker.child.id(), Ordering::Relaxed);
        // The host's objects the old worker held go with it.
        lost.extend(self.kept().drain());
        self.state().ended = None;
        // Every live instance is made again before any call reaches the
        // new worker: the lock is held throughout.
        let lives: Vec<(u32, Live)> = self
            .instances()
            .iter()
            .map(|(id, live)| (*id, live.clone()))
            .collect();
        for (id, live) in lives {
            let request = Request::Instantiate {
                trait_name: live.trait_name.clone(),
                entry: Some(live.entry.clone()),
                state: live.state.clone(),
            };
            let timeout = self.options.call_timeout.unwrap_or(Duration::ZERO);
            let doing = format!("{} (making an instance again)", live.trait_name);
            let reason =
                match self.exchange_locked(worker, Some(&request), timeout, Some(&doing))? {
                    Response::Instantiated { handle, .. } => {
                        if let Some(kept) = self.instances().get_mut(&id) {
                            kept.handle = handle;
                        }
                        continue;
                    }
                    Response::Failed(reason) => reason,
                    other => format!("{other:?}"),
                };
            self.kill(worker, "could not make its instances again and was killed");
            return Err(PluginError::Worker {
                library: self.path().to_path_buf(),
                reason: format!("making `{}` again: {reason}", live.entry),
            });
        }
        Ok(())
    }

    /// Sends `event` to every subscriber still listening.
    fn notify(&self, event: ReloadEvent) {
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|subscriber| subscriber.send(event.clone()).is_ok());
    }

    /// A receiver of the worker's restarts and failed restarts.
    pub(crate) fn subscribe(&self) -> Receiver<ReloadEvent> {
        let (sender, receiver) = channel();
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sender);
        receiver
    }

    /// Sends `request` and reads the answer, within the call timeout;
    /// `doing` names the call in errors.
    fn request(&self, request: &Request, doing: &str) -> Result<Response, PluginError> {
        let timeout = self.options.call_timeout.unwrap_or(Duration::ZERO);
        self.with_worker(false, |worker| {
            self.exchange_locked(worker, Some(request), timeout, Some(doing))
        })
    }

    /// Sends `request`, if any, and reads its answer within `timeout`
    /// (none when zero), with the worker locked (or serving a callback on
    /// this thread). Meanwhile the worker's calls to the host's objects are
    /// served, and the time they take is not counted against the deadline.
    /// A worker that closes the socket has crashed; one that misses the
    /// deadline is killed.
    ///
    /// No borrow of `worker` is held while a callback runs: a call it
    /// makes to this worker uses it (see `with_worker`).
    fn exchange_locked(
        &self,
        worker: &mut Worker,
        request: Option<&Request>,
        timeout: Duration,
        doing: Option<&str>,
    ) -> Result<Response, PluginError> {
        if let Some(how) = self.ended() {
            return Err(PluginError::Crashed {
                library: self.path().to_path_buf(),
                how,
                method: None,
            });
        }
        let timeout = (!timeout.is_zero()).then_some(timeout);
        let mut deadline = timeout.map(|timeout| Instant::now() + timeout);
        if let Some(request) = request {
            self.send(worker, request.encode(), deadline, timeout, doing)?;
        }
        loop {
            let frame = read_frame(&mut Deadline {
                socket: &worker.socket,
                deadline,
            });
            let response = match frame {
                Ok(Some(frame)) => Response::decode(&frame).map_err(|reason| {
                    self.kill(worker, "sent a malformed response and was killed");
                    PluginError::Worker {
                        library: self.path().to_path_buf(),
                        reason,
                    }
                })?,
                Ok(None) => {
                    let error = io::ErrorKind::UnexpectedEof.into();
                    return Err(self.failed(worker, error, timeout, doing));
                }
                Err(error) => return Err(self.failed(worker, error, timeout, doing)),
            };
            match response {
                Response::Callback {
                    handle,
                    method,
                    args,
                } => {
                    let started = Instant::now();
                    let (status, bytes) = self.serve(worker, handle, method, &args);
                    deadline = deadline.map(|deadline| deadline + started.elapsed());
                    let mut answer = Request::Returned { status, bytes }.encode();
                    if answer.len() > MAX_FRAME {
                        answer = Request::Returned {
                            status: DispatchStatus::BadResult as u32,
                            bytes: format!(
                                "a result of {} bytes, more than the {MAX_FRAME} a frame carries",
                                answer.len()
                            )
                            .into_bytes(),
                        }
                        .encode();
                    }
                    self.send(worker, answer, deadline, timeout, doing)?;
                }
                Response::Drop { handle } => {
                    // The object may hold the worker's objects in turn,
                    // whose release is an exchange of its own: it is
                    // dropped once this one is over.
                    let dropped = self.kept().remove(&handle);
                    if let Some(dropped) = dropped {
                        self.dropped
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(dropped);
                    }
                }
                other => return Ok(other),
            }
        }
    }

    /// Writes one frame to the worker within the deadline.
    fn send(
        &self,
        worker: &mut Worker,
        frame: Vec<u8>,
        deadline: Option<Instant>,
        timeout: Option<Duration>,
        doing: Option<&str>,
    ) -> Result<(), PluginError> {
        if frame.len() > MAX_FRAME {
            // The host's own limit: the worker is not disturbed.
            return Err(PluginError::Worker {
                library: self.path().to_path_buf(),
                reason: format!(
                    "a request of {} bytes, more than the {MAX_FRAME} a frame carries",
                    frame.len()
                ),
            });
        }
        let mut to = Deadline {
            socket: &worker.socket,
            deadline,
        };
        write_frame(&mut to, &frame).map_err(|error| self.failed(worker, error, timeout, doing))
    }

    /// Serves the worker's call of method `method` of the host's object
    /// `handle`: the dispatch's status and bytes.
    fn serve(&self, worker: &mut Worker, handle: u64, method: u32, args: &[u8]) -> (u32, Vec<u8>) {
        let unreachable =
            |reason: String| (DispatchStatus::Unreachable as u32, reason.into_bytes());
        let Some(kept) = self.kept().get(&handle).cloned() else {
            return unreachable(format!(
                "the host has no object {handle}: the call it was lent for ended, or the worker released it"
            ));
        };
        if kept
            .lender
            .is_some_and(|lender| lender != std::thread::current().id())
        {
            return unreachable(format!(
                "the host's object {handle} was lent for another thread's call"
            ));
        }
        let Some(me) = self.me.get().and_then(Weak::upgrade) else {
            return unreachable("the host's link is closing".to_owned());
        };
        let mutable = kept.mutable(method);
        if !kept.enter(mutable) {
            return unreachable(format!(
                "the host's object {handle} is in a call that holds it mutably, or takes it mutably while calls hold it"
            ));
        }
        let local: Arc<dyn Peer> = me.clone();
        let table = table(&me, &local);
        // The object is let go inside: if this was the last reference (the
        // worker dropped it meanwhile), its drop may release this worker's
        // objects, through the exchange in progress.
        self.reentrant(worker, move || {
            // SAFETY: a kept object, alive while `kept` holds it; the
            // table is this link's, alive for the call (`me` holds the
            // link, `local` the peer it points to).
            let answer = unsafe { kept.object.call(method, args, &table) };
            kept.leave(mutable);
            drop(kept);
            answer
        })
    }

    /// Runs `f`, which may call this worker again, from within an exchange
    /// that holds it: such calls go through `worker` (see `with_worker`).
    fn reentrant<R>(&self, worker: &mut Worker, f: impl FnOnce() -> R) -> R {
        /// Unregisters the worker when `f` returns or unwinds.
        struct Registered;
        impl Drop for Registered {
            fn drop(&mut self) {
                let _ = SERVING.try_with(|serving| serving.borrow_mut().pop());
            }
        }
        let entry = (core::ptr::from_ref(self), core::ptr::from_mut(worker));
        if SERVING
            .try_with(|serving| serving.borrow_mut().push(entry))
            .is_err()
        {
            // Thread-local teardown: nothing of this thread calls back.
            return f();
        }
        let _registered = Registered;
        f()
    }

    fn kept(&self) -> MutexGuard<'_, HashMap<u64, Arc<Kept>>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The error for an exchange that failed with `error`: past the
    /// deadline, the worker is killed; a frame too large for the protocol
    /// is the worker's fault, and it is killed; a closed socket means the
    /// worker ended, and how it ended says why.
    fn failed(
        &self,
        worker: &mut Worker,
        error: io::Error,
        timeout: Option<Duration>,
        doing: Option<&str>,
    ) -> PluginError {
        let library = self.path().to_path_buf();
        let method = doing.map(str::to_owned);
        match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                self.kill(worker, "was killed after a call timed out");
                PluginError::TimedOut {
                    library,
                    method: method.unwrap_or_else(|| "opening the library".to_owned()),
                    after: timeout.unwrap_or_default(),
                }
            }
            io::ErrorKind::InvalidData => {
                self.kill(worker, "sent an oversized frame and was killed");
                PluginError::Worker {
                    library,
                    reason: error.to_string(),
                }
            }
            _ => {
                let how = self.died(worker);
                PluginError::Crashed {
                    library,
                    how,
                    method,
                }
            }
        }
    }

    /// The socket closed under the host: waits for the worker (it is
    /// ending, or killed) and says how it ended.
    fn died(&self, worker: &mut Worker) -> String {
        let how = match process::exit_within(&mut worker.child, CLOSING) {
            Some(status) => ended(status),
            None => "closed its socket and was killed".to_owned(),
        };
        worker.reaped = true;
        self.set_ended(&how);
        how
    }

    /// Kills the worker (and what it started) and records `how` it ended.
    fn kill(&self, worker: &mut Worker, how: &str) {
        process::kill(&mut worker.child);
        worker.reaped = true;
        self.set_ended(how);
    }

    fn unexpected(&self, response: &Response) -> PluginError {
        let _ = self.with_worker(false, |worker| {
            self.kill(worker, "answered out of turn and was killed");
            Ok(())
        });
        PluginError::Worker {
            library: self.path().to_path_buf(),
            reason: format!("an unexpected answer: {response:?}"),
        }
    }
}

/// The host's end of the socket, read and written within a deadline
/// (each read and write waits at most for what is left of it), and
/// written without `SIGPIPE`: a worker that died is an error, not a
/// signal that would end a host that does not ignore it.
struct Deadline<'a> {
    socket: &'a UnixStream,
    deadline: Option<Instant>,
}

impl Deadline<'_> {
    fn left(&self) -> io::Result<Option<Duration>> {
        match self.deadline {
            None => Ok(None),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    Err(io::ErrorKind::TimedOut.into())
                } else {
                    Ok(Some(left))
                }
            }
        }
    }
}

impl io::Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.set_read_timeout(self.left()?)?;
        (&*self.socket).read(buf)
    }
}

impl io::Write for Deadline<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.socket.set_write_timeout(self.left()?)?;
        // SAFETY: sends from `buf`, valid for `buf.len()` bytes, on a
        // socket this side owns.
        let sent = unsafe {
            libc::send(
                self.socket.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        usize::try_from(sent).map_err(|_| io::Error::last_os_error())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Worker {
    /// Closes the socket and waits for the worker to exit, killing it
    /// (and what it started) after [`CLOSING`]; its status, or `None` when
    /// it had to be killed.
    fn finish(&mut self) -> Option<std::process::ExitStatus> {
        let _ = self.socket.shutdown(Shutdown::Both);
        self.reaped = true;
        process::exit_within(&mut self.child, CLOSING)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if !self.reaped {
            self.finish();
        }
    }
}

/// Starts a worker for `path` and waits until it has opened the library.
fn start(
    path: &Path,
    executable: &Path,
    args: &[String],
    options: &WorkerOptions,
) -> Result<Worker, PluginError> {
    let failed = |reason: String| PluginError::Worker {
        library: path.to_path_buf(),
        reason,
    };
    let (socket, theirs) =
        UnixStream::pair().map_err(|error| failed(format!("cannot make its socket: {error}")))?;
    let child = process::spawn(executable, path, args, &theirs, options)
        .map_err(|error| failed(format!("cannot start {}: {error}", executable.display())))?;
    drop(theirs);
    let mut worker = Worker {
        child,
        socket,
        reaped: false,
    };
    let startup = options.call_timeout.unwrap_or(STARTUP);
    let deadline = Instant::now() + startup;
    let answer = read_frame(&mut Deadline {
        socket: &worker.socket,
        deadline: Some(deadline),
    });
    let outcome = match answer {
        Ok(Some(frame)) => match Response::decode(&frame) {
            Ok(Response::Ready) => return Ok(worker),
            Ok(Response::Refused(message)) => failed(format!("refused the library: {message}")),
            Ok(other) => failed(format!("answered {other:?} instead of being ready")),
            Err(reason) => failed(reason),
        },
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            PluginError::TimedOut {
                library: path.to_path_buf(),
                method: "opening the library".to_owned(),
                after: startup,
            }
        }
        Ok(None) | Err(_) => {
            let how = match worker.child.wait() {
                Ok(status) => ended(status),
                Err(error) => error.to_string(),
            };
            worker.reaped = true;
            PluginError::Crashed {
                library: path.to_path_buf(),
                how,
                method: Some("opening the library".to_owned()),
            }
        }
    };
    if !worker.reaped {
        process::kill(&mut worker.child);
        worker.reaped = true;
    }
    Err(outcome)
}

impl Link {
    /// Closes the library: the worker frees its instances, closes it and
    /// exits; how it ended, as an error unless it exited normally.
    pub(crate) fn close(self) -> Result<(), PluginError> {
        let library = self.path.to_path_buf();
        if let Some(how) = self.ended() {
            return Err(PluginError::Crashed {
                library,
                how,
                method: None,
            });
        }
        let mut worker = self
            .worker
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        match worker.finish() {
            Some(status) if status.success() => Ok(()),
            Some(status) => Err(PluginError::Crashed {
                library,
                how: ended(status),
                method: Some("close".to_owned()),
            }),
            None => Err(PluginError::Crashed {
                library,
                how: format!("did not exit within {CLOSING:?} of closing and was killed"),
                method: Some("close".to_owned()),
            }),
        }
    }
}

impl Peer for Link {
    fn library(&self) -> &Path {
        self.path()
    }

    fn call(
        &self,
        handle: u64,
        method: u32,
        args: Vec<u8>,
        doing: &str,
    ) -> Result<Answer, PluginError> {
        self.answer(handle, method, args, doing)
    }

    fn keep(&self, object: LocalObject, how: Keep) -> Result<u64, String> {
        let id = self.next_kept.fetch_add(1, Ordering::Relaxed) + 1;
        let kept = Kept {
            object,
            lender: (how != Keep::Given).then(|| std::thread::current().id()),
            always_mutable: how == Keep::LentMut,
            access: AtomicU32::new(0),
        };
        self.kept().insert(id, Arc::new(kept));
        Ok(id)
    }

    fn forget(&self, id: u64) {
        let forgotten = self.kept().remove(&id);
        drop(forgotten);
    }

    fn release(&self, handle: u64) {
        Link::release(self, handle);
    }

    fn adopt(&self, id: u64, run: u32) -> u64 {
        OBJECT | (u64::from(run) & 0x7fff_ffff) << 32 | (id & 0xffff_ffff)
    }

    fn run(&self) -> u32 {
        self.restarts()
    }

    fn proxies(&self) -> bool {
        true
    }
}

/// The link as a [`PeerTable`], for the dispatch of its kept objects
/// (the host's own code, through the same functions a library uses).
fn table(link: &Arc<Link>, local: &Arc<dyn Peer>) -> PeerTable {
    use std::os::unix::ffi::OsStrExt;
    let path = link.path().as_os_str().as_bytes();
    PeerTable {
        context: Arc::as_ptr(link).cast(),
        library: path.as_ptr(),
        library_len: path.len(),
        retain: table_retain,
        release_context: table_release_context,
        call: table_call,
        keep: table_keep,
        forget: table_forget,
        release: table_release,
        local: core::ptr::from_ref(local),
    }
}

/// # Safety
///
/// `context` must be a live `Arc<Link>`'s pointer, as [`table`] gives.
unsafe extern "C" fn table_retain(context: *const c_void) {
    // SAFETY: per the contract; `Arc::as_ptr` gives the pointer
    // `Arc::into_raw` would, which these counts take.
    unsafe { Arc::increment_strong_count(context.cast::<Link>()) }
}

/// # Safety
///
/// `context` must hold a reference [`table_retain`] took, given up here.
unsafe extern "C" fn table_release_context(context: *const c_void) {
    // SAFETY: per the contract. Dropping the last reference ends the
    // worker; nothing of it unwinds out of here.
    let ended = catch_unwind(AssertUnwindSafe(|| unsafe {
        Arc::decrement_strong_count(context.cast::<Link>())
    }));
    if let Err(payload) = ended {
        crate::export::drop_payload(payload);
    }
}

/// # Safety
///
/// `context` as for [`table_retain`]; `args` must point to `args_len`
/// readable bytes (or `args_len` be 0); `write` must accept `sink`.
unsafe extern "C" fn table_call(
    context: *const c_void,
    handle: u64,
    method: u32,
    args: *const u8,
    args_len: usize,
    sink: *mut c_void,
    write: DispatchSink,
) -> u32 {
    // SAFETY: per the contract.
    let link = unsafe { &*context.cast::<Link>() };
    // SAFETY: per the contract, `args_len` readable bytes.
    let args = unsafe { given(args, args_len) }.to_vec();
    let run = || match link.call(
        handle,
        method,
        args,
        "a call from one of the host's objects",
    ) {
        Ok(answer) => answer,
        Err(error) => (
            DispatchStatus::Unreachable as u32,
            error.to_string().into_bytes(),
        ),
    };
    // SAFETY: per the contract, `write` accepts `sink`.
    unsafe { answer_sink(run, "the call to the worker panicked", sink, write) }
}

/// # Safety
///
/// `context` as for [`table_retain`].
unsafe extern "C" fn table_keep(context: *const c_void, object: LocalObject, how: u8) -> u64 {
    // SAFETY: per the contract.
    let link = unsafe { &*context.cast::<Link>() };
    let Some(how) = Keep::from_u8(how) else {
        return 0;
    };
    catch_unwind(AssertUnwindSafe(|| Peer::keep(link, object, how)))
        .ok()
        .and_then(Result::ok)
        .unwrap_or(0)
}

/// # Safety
///
/// `context` as for [`table_retain`].
unsafe extern "C" fn table_forget(context: *const c_void, id: u64) {
    // SAFETY: per the contract.
    let link = unsafe { &*context.cast::<Link>() };
    let forgotten = catch_unwind(AssertUnwindSafe(|| link.forget(id)));
    if let Err(payload) = forgotten {
        crate::export::drop_payload(payload);
    }
}

/// # Safety
///
/// `context` as for [`table_retain`].
unsafe extern "C" fn table_release(context: *const c_void, handle: u64) {
    // SAFETY: per the contract.
    let link = unsafe { &*context.cast::<Link>() };
    let released = catch_unwind(AssertUnwindSafe(|| Link::release(link, handle)));
    if let Err(payload) = released {
        crate::export::drop_payload(payload);
    }
}
