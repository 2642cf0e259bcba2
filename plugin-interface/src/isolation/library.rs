//! The host's side: a library served by a worker process, called by
//! method name with JSON values.

use std::any::Any;
use std::io;
use std::marker::PhantomData;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Child;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::WorkerOptions;
use super::process::{self, ended};
use super::protocol::{MAX_FRAME, Request, Response, read_frame, write_frame};
use super::remote::Remote;
use super::serve::{WorkerArgs, default_worker};
use crate::abi::TraitDescriptor;
use crate::error::PluginError;
use crate::interface::{PluginInterface, VTableFor};
use crate::loader::{
    LoadOptions, ParameterInfo, PluginFile, compared_with_host, outcome, parameters, prepare,
};
use crate::proxy::{Binding, Info, PluginInfo, RawProxy, Target};

/// How long a worker has to open its library when no call timeout is set.
const STARTUP: Duration = Duration::from_secs(60);

/// How long a closing worker has to free its instances and exit before it
/// is killed.
const CLOSING: Duration = Duration::from_secs(5);

/// A plugin library served by its own worker process: a crash, an abort,
/// an `exit` or a call past the timeout ends the worker, never the host,
/// and comes back as a [`PluginError`] ([`Crashed`](PluginError::Crashed),
/// [`TimedOut`](PluginError::TimedOut)).
///
/// The file is checked in the host first, from its bytes, exactly as
/// [`PluginFile::check_with`] checks it (no code of it runs in the host);
/// the worker then opens it as [`PluginLibrary::open_with`](crate::PluginLibrary::open_with)
/// does, refusing it unless its bytes have the digest the host checked.
/// Calls go by method name with JSON values, checked against the method's
/// layouts in the host before they are sent, as
/// [`PluginLibrary::invoke`](crate::PluginLibrary::invoke) checks them.
///
/// ```no_run
/// use plugin_interface::LoadOptions;
/// use plugin_interface::isolation::{WorkerLibrary, WorkerOptions};
/// use serde_json::json;
/// use std::time::Duration;
/// # fn main() -> Result<(), plugin_interface::PluginError> {
/// let options = WorkerOptions::default().call_timeout(Duration::from_secs(2));
/// let library = WorkerLibrary::spawn(
///     "target/debug/libenglish_plugin.so",
///     &LoadOptions::default(),
///     &options,
/// )?;
/// let greeting = library.invoke("Greeter", "greet", &[json!("world")])?;
/// assert_eq!(greeting, json!("Hello, world!"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct WorkerLibrary {
    link: Arc<Link>,
}

/// The checked file and the worker serving it, shared by the library, its
/// invokers and the typed proxies of its instances.
#[derive(Debug)]
pub(crate) struct Link {
    file: PluginFile,
    /// The path as errors and proxies report it.
    path: Arc<Path>,
    call_timeout: Option<Duration>,
    /// The worker's process id.
    pid: u32,
    /// How the worker ended, once it has: readable while a call holds
    /// `worker`.
    ended: Mutex<Option<String>>,
    worker: Mutex<Worker>,
}

/// The worker process and the host's end of its socket.
#[derive(Debug)]
struct Worker {
    child: Child,
    socket: UnixStream,
    /// Whether the worker was reaped: then nothing is left to end.
    reaped: bool,
}

impl WorkerLibrary {
    /// Checks the library at `path` under `load`, starts a worker process
    /// for it and waits until the worker has opened it.
    ///
    /// On Linux the worker is asked to die with the host
    /// (`PR_SET_PDEATHSIG`), which the kernel ties to the thread that
    /// started it: start workers from a thread that lives as long as they
    /// should (not a pooled thread that may retire), or the worker is
    /// killed with it and its next call reports a crash. The worker also
    /// exits when the host closes its socket. Of `load`, the trust policy
    /// and `allow_panic_abort` apply to the worker; unload options do not
    /// (the worker closes the library when it exits).
    pub fn spawn(
        path: impl AsRef<Path>,
        load: &LoadOptions,
        options: &WorkerOptions,
    ) -> Result<Self, PluginError> {
        let path = path.as_ref();
        let file = PluginFile::check_with(path, load)?;
        let failed = |reason: String| PluginError::Worker {
            library: path.to_path_buf(),
            reason,
        };
        let executable = match &options.worker {
            Some(worker) => worker.clone(),
            None => default_worker().ok_or_else(|| {
                failed(
                    "no worker executable: set WorkerOptions::worker or PLUGIN_WORKER, or put \
                     `plugin-worker` beside this executable"
                        .to_owned(),
                )
            })?,
        };
        let (socket, theirs) = UnixStream::pair()
            .map_err(|error| failed(format!("cannot make its socket: {error}")))?;
        let args = WorkerArgs {
            sha256: file.sha256_hex(),
            allow_insecure_permissions: load.allow_insecure_permissions,
            allow_panic_abort: load.allow_panic_abort,
            library: path.to_path_buf(),
        };
        let child = process::spawn(&executable, path, &args.to_args(), &theirs, options)
            .map_err(|error| failed(format!("cannot start {}: {error}", executable.display())))?;
        drop(theirs);
        let link = Link {
            file,
            path: Arc::from(path),
            call_timeout: options.call_timeout,
            pid: child.id(),
            ended: Mutex::new(None),
            worker: Mutex::new(Worker {
                child,
                socket,
                reaped: false,
            }),
        };
        let startup = options.call_timeout.unwrap_or(STARTUP);
        match link.exchange(None, startup, None)? {
            Response::Ready => Ok(Self {
                link: Arc::new(link),
            }),
            Response::Refused(message) => Err(failed(format!("refused the library: {message}"))),
            other => Err(failed(format!("answered {other:?} instead of being ready"))),
        }
    }

    /// The path the library was opened from.
    pub fn path(&self) -> &Path {
        self.link.path()
    }

    /// The library as the host checked it: its canary, traits and
    /// implementations.
    pub fn file(&self) -> &PluginFile {
        &self.link.file
    }

    /// The worker's process id.
    pub fn pid(&self) -> u32 {
        self.link.pid
    }

    /// Whether the worker is still serving: `false` once it crashed, was
    /// killed after a timeout, or exited.
    pub fn is_alive(&self) -> bool {
        self.link.is_alive()
    }

    /// The parameters of `method` of `trait_name`, from the checked canary.
    pub fn parameters(
        &self,
        trait_name: &str,
        method: &str,
    ) -> Result<Vec<ParameterInfo>, PluginError> {
        parameters(self.path(), self.link.descriptor(trait_name)?, method)
    }

    /// Calls `method` of the library's only implementation of
    /// `trait_name` with `args`, one JSON value per parameter, on an
    /// instance made for the call in the worker, and returns the result as
    /// JSON. Arguments are checked before anything is sent.
    pub fn invoke(
        &self,
        trait_name: &str,
        method: &str,
        args: &[Value],
    ) -> Result<Value, PluginError> {
        let descriptor = self.link.descriptor(trait_name)?;
        prepare(self.path(), descriptor, method, args)?;
        self.invoker(trait_name, None)?.invoke(method, args)
    }

    /// Makes an instance of `entry` (`None`: the library's only
    /// implementation of `trait_name`) in the worker, to call by name.
    pub fn invoker(
        &self,
        trait_name: &str,
        entry: Option<&str>,
    ) -> Result<WorkerInvoker<'_>, PluginError> {
        let descriptor = self.link.descriptor(trait_name)?;
        let (handle, entry) = self.link.instantiate(trait_name, entry)?;
        Ok(WorkerInvoker {
            library: self,
            descriptor,
            handle,
            entry,
        })
    }

    /// One typed proxy per implementation of `I` in the library, each of
    /// an instance made in the worker: the same proxy type as
    /// [`PluginLibrary::instantiate`](crate::PluginLibrary::instantiate)
    /// gives, whose calls cross to the worker through the serialised path.
    /// The trait's descriptor is first compared with the host's, as for an
    /// in-process library.
    ///
    /// A call during which the worker dies is
    /// [`CallError::Crashed`](crate::CallError::Crashed) from the proxy's
    /// `try_` method, one past the call timeout
    /// [`CallError::TimedOut`](crate::CallError::TimedOut), and the
    /// trait's own method panics with the error's message. Methods that
    /// lend objects or closures, take or return `Box<dyn Trait>` /
    /// `Arc<dyn Trait>` or return `&str` do not cross to a worker: calling
    /// one fails with [`CallError::Panicked`](crate::CallError::Panicked),
    /// naming it.
    pub fn instantiate<I>(&self) -> Result<Vec<I::Proxy>, PluginError>
    where
        I: ?Sized + PluginInterface + VTableFor<Remote<I>>,
    {
        let trait_name = I::DESCRIPTOR.name.as_str();
        self.link.file.check_interface::<I>()?;
        let plugin = self.link.file.descriptor(trait_name)?;
        let interface: Arc<str> = Arc::from(format!(
            "{} {}",
            plugin.interface_crate.as_str(),
            plugin.interface_version.as_str()
        ));
        let mut proxies = Vec::new();
        for info in self.link.file.entries(trait_name)? {
            let (handle, entry) = self.link.instantiate(trait_name, Some(&info.entry))?;
            let remote = Box::new(Remote::<I> {
                link: Arc::clone(&self.link),
                handle,
                trait_name,
                _interface: PhantomData,
            });
            let info = PluginInfo::new(
                Arc::clone(&self.link.path),
                trait_name,
                Arc::from(entry),
                Arc::clone(&interface),
            );
            let owner: Arc<dyn Any + Send + Sync> = self.link.clone();
            // SAFETY: the instance is a live `Box<Remote<I>>`, every method
            // of which `VTableFor<Remote<I>>::VTABLE` serves (the host's own
            // shims, instantiated for `Remote<I>`), and the target owns it:
            // the vtable's `drop` frees it as a `Box`.
            let target = unsafe {
                Target::object(
                    Box::into_raw(remote).cast(),
                    <I as VTableFor<Remote<I>>>::VTABLE,
                    Info::Owned(info),
                    Some(owner),
                    true,
                )
            };
            proxies.push(I::wrap(RawProxy::from_binding(Arc::new(Binding::fixed(
                target,
            )))));
        }
        Ok(proxies)
    }

    /// The unmaker counter of `trait_name`, read from the live worker;
    /// `None` when the library has none for the trait, or when the worker
    /// is no longer running (its count is unknown, and never invented).
    pub fn counter(&self, trait_name: &str) -> Option<u64> {
        let request = Request::Counter {
            trait_name: trait_name.to_owned(),
        };
        match self.link.request(&request, "reading a counter") {
            Ok(Response::Counter(counter)) => counter,
            _ => None,
        }
    }

    /// Closes the library: the worker frees its instances, closes the
    /// library and exits. A worker that does not exit in time is killed,
    /// and one that did not exit normally is reported. Fails with
    /// [`PluginError::InUse`] while typed proxies of its instances live.
    pub fn close(self) -> Result<(), PluginError> {
        let link = Arc::try_unwrap(self.link).map_err(|link| PluginError::InUse {
            library: link.path.to_path_buf(),
            holders: Arc::strong_count(&link) - 1,
        })?;
        let library = link.path.to_path_buf();
        if let Some(how) = link.ended() {
            return Err(PluginError::Crashed {
                library,
                how,
                method: None,
            });
        }
        let mut worker = link
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

impl Link {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn descriptor(&self, trait_name: &str) -> Result<&TraitDescriptor, PluginError> {
        let descriptor = self.file.descriptor(trait_name)?;
        compared_with_host(self.path(), descriptor)?;
        Ok(descriptor)
    }

    fn lock(&self) -> MutexGuard<'_, Worker> {
        self.worker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How the worker ended, if it has (as far as this side knows).
    fn ended(&self) -> Option<String> {
        self.ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_ended(&self, how: &str) {
        *self.ended.lock().unwrap_or_else(PoisonError::into_inner) = Some(how.to_owned());
    }

    /// Whether the worker still serves. Never waits for a call in
    /// progress: a worker busy with one is alive.
    fn is_alive(&self) -> bool {
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
    /// `trait_name`) in the worker; its handle and entry name.
    fn instantiate(
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
        let request = Request::Instantiate {
            trait_name: trait_name.to_owned(),
            entry: entry.map(str::to_owned),
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

    /// Calls method `index` of instance `handle` with encoded `args`; the
    /// dispatch entry's status and bytes.
    pub(crate) fn call(
        &self,
        handle: u32,
        index: u32,
        args: Vec<u8>,
        doing: &str,
    ) -> Result<(u32, Vec<u8>), PluginError> {
        let request = Request::Call {
            handle,
            method: index,
            args,
        };
        match self.request(&request, doing)? {
            Response::Dispatched { status, bytes } => Ok((status, bytes)),
            Response::Failed(reason) => Err(PluginError::Worker {
                library: self.path().to_path_buf(),
                reason,
            }),
            other => Err(self.unexpected(&other)),
        }
    }

    /// Frees instance `handle` in a live worker.
    pub(crate) fn release(&self, handle: u32) {
        if self.is_alive() {
            let _ = self.request(&Request::Release { handle }, "freeing an instance");
        }
    }

    /// Sends `request` and reads the answer, within the call timeout;
    /// `doing` names the call in errors.
    fn request(&self, request: &Request, doing: &str) -> Result<Response, PluginError> {
        let timeout = self.call_timeout;
        self.exchange(
            Some(request),
            timeout.unwrap_or(Duration::ZERO),
            Some(doing),
        )
    }

    /// Sends `request`, if any, and reads one response within `timeout`
    /// (none when zero). A worker that closes the socket has crashed; one
    /// that misses the timeout is killed.
    fn exchange(
        &self,
        request: Option<&Request>,
        timeout: Duration,
        doing: Option<&str>,
    ) -> Result<Response, PluginError> {
        let library = self.path().to_path_buf();
        let mut worker = self.lock();
        if let Some(how) = self.ended() {
            return Err(PluginError::Crashed {
                library,
                how,
                method: None,
            });
        }
        let timeout = (!timeout.is_zero()).then_some(timeout);
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        if let Some(request) = request {
            let frame = request.encode();
            if frame.len() > MAX_FRAME {
                // The host's own limit: the worker is not disturbed.
                return Err(PluginError::Worker {
                    library,
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
            if let Err(error) = write_frame(&mut to, &frame) {
                return Err(self.failed(&mut worker, error, timeout, doing));
            }
        }
        let mut from = Deadline {
            socket: &worker.socket,
            deadline,
        };
        match read_frame(&mut from) {
            Ok(Some(frame)) => Response::decode(&frame).map_err(|reason| {
                self.kill(&mut worker, "sent a malformed response and was killed");
                PluginError::Worker { library, reason }
            }),
            Ok(None) => Err(self.failed(
                &mut worker,
                io::ErrorKind::UnexpectedEof.into(),
                timeout,
                doing,
            )),
            Err(error) => Err(self.failed(&mut worker, error, timeout, doing)),
        }
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
        let deadline = Instant::now() + CLOSING;
        let how = loop {
            match worker.child.try_wait() {
                Ok(Some(status)) => break ended(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                _ => {
                    process::kill(&mut worker.child);
                    break "closed its socket and was killed".to_owned();
                }
            }
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
        let mut worker = self.lock();
        self.kill(&mut worker, "answered out of turn and was killed");
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
        let deadline = Instant::now() + CLOSING;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                _ => {
                    process::kill(&mut self.child);
                    return None;
                }
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if !self.reaped {
            self.finish();
        }
    }
}

/// One implementation's instance in a worker process, called by method
/// name with JSON values; freed in the worker when dropped.
#[derive(Debug)]
pub struct WorkerInvoker<'a> {
    library: &'a WorkerLibrary,
    descriptor: &'a TraitDescriptor,
    handle: u32,
    entry: String,
}

impl WorkerInvoker<'_> {
    /// The implementation this instance is of.
    pub fn entry(&self) -> &str {
        &self.entry
    }

    /// Calls `method` with `args`, one JSON value per parameter, checked
    /// against the method's layouts before they are sent, and returns the
    /// result as JSON.
    pub fn invoke(&mut self, method: &str, args: &[Value]) -> Result<Value, PluginError> {
        let link = &self.library.link;
        let prepared = prepare(link.path(), self.descriptor, method, args)?;
        let trait_name = self.descriptor.name.as_str();
        let (status, bytes) = link.call(
            self.handle,
            prepared.index,
            prepared.args,
            &format!("{trait_name}::{method}"),
        )?;
        outcome(link.path(), trait_name, prepared.method, status, &bytes)
    }
}

impl Drop for WorkerInvoker<'_> {
    fn drop(&mut self) {
        self.library.link.release(self.handle);
    }
}
