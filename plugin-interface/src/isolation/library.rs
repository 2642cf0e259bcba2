//! The host's side: a library served by a worker process, called by
//! method name with JSON values.

use std::io;
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Child;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::WorkerOptions;
use super::process::{self, ended};
use super::protocol::{Request, Response, read_frame, write_frame};
use super::serve::{WorkerArgs, default_worker};
use crate::abi::TraitDescriptor;
use crate::error::PluginError;
use crate::loader::{
    LoadOptions, ParameterInfo, PluginFile, compared_with_host, outcome, parameters, prepare,
};

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
    file: PluginFile,
    call_timeout: Option<Duration>,
    worker: Mutex<Worker>,
}

/// The worker process and the host's end of its socket.
#[derive(Debug)]
struct Worker {
    child: Child,
    socket: UnixStream,
    /// How the worker ended, once it has.
    ended: Option<String>,
}

impl WorkerLibrary {
    /// Checks the library at `path` under `load`, starts a worker process
    /// for it and waits until the worker has opened it.
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
        let library = Self {
            file,
            call_timeout: options.call_timeout,
            worker: Mutex::new(Worker {
                child,
                socket,
                ended: None,
            }),
        };
        let startup = options.call_timeout.unwrap_or(STARTUP);
        match library.exchange(None, startup, None)? {
            Response::Ready => Ok(library),
            Response::Refused(message) => Err(failed(format!("refused the library: {message}"))),
            other => Err(failed(format!("answered {other:?} instead of being ready"))),
        }
    }

    /// The path the library was opened from.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The library as the host checked it: its canary, traits and
    /// implementations.
    pub fn file(&self) -> &PluginFile {
        &self.file
    }

    /// The worker's process id.
    pub fn pid(&self) -> u32 {
        self.lock().child.id()
    }

    /// Whether the worker is still serving: `false` once it crashed, was
    /// killed after a timeout, or exited.
    pub fn is_alive(&self) -> bool {
        let mut worker = self.lock();
        worker.reap();
        worker.ended.is_none()
    }

    /// The parameters of `method` of `trait_name`, from the checked canary.
    pub fn parameters(
        &self,
        trait_name: &str,
        method: &str,
    ) -> Result<Vec<ParameterInfo>, PluginError> {
        parameters(self.path(), self.descriptor(trait_name)?, method)
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
        let descriptor = self.descriptor(trait_name)?;
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
        let descriptor = self.descriptor(trait_name)?;
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
            Response::Instantiated { handle, entry } => Ok(WorkerInvoker {
                library: self,
                descriptor,
                handle,
                entry,
            }),
            Response::Failed(reason) => Err(PluginError::Worker {
                library: self.path().to_path_buf(),
                reason,
            }),
            other => Err(self.unexpected(&other)),
        }
    }

    /// The unmaker counter of `trait_name`, read from the live worker;
    /// `None` when the library has none for the trait, or when the worker
    /// is no longer running (its count is unknown, and never invented).
    pub fn counter(&self, trait_name: &str) -> Option<u64> {
        let request = Request::Counter {
            trait_name: trait_name.to_owned(),
        };
        match self.request(&request, "reading a counter") {
            Ok(Response::Counter(counter)) => counter,
            _ => None,
        }
    }

    /// Closes the library: the worker frees its instances, closes the
    /// library and exits. A worker that does not exit in time is killed,
    /// and one that did not exit normally is reported.
    pub fn close(self) -> Result<(), PluginError> {
        let mut worker = self
            .worker
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(how) = worker.ended.take() {
            return Err(PluginError::Crashed {
                library: self.file.path().to_path_buf(),
                how,
                method: None,
            });
        }
        match worker.finish() {
            Some(status) if status.success() => Ok(()),
            Some(status) => Err(PluginError::Crashed {
                library: self.file.path().to_path_buf(),
                how: ended(status),
                method: Some("close".to_owned()),
            }),
            None => Err(PluginError::Crashed {
                library: self.file.path().to_path_buf(),
                how: format!("did not exit within {CLOSING:?} of closing and was killed"),
                method: Some("close".to_owned()),
            }),
        }
    }

    fn descriptor(&self, trait_name: &str) -> Result<&TraitDescriptor, PluginError> {
        let descriptor = self.file.descriptor(trait_name)?;
        compared_with_host(self.path(), descriptor)?;
        Ok(descriptor)
    }

    fn lock(&self) -> MutexGuard<'_, Worker> {
        self.worker.lock().unwrap_or_else(PoisonError::into_inner)
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
        if let Some(how) = &worker.ended {
            return Err(PluginError::Crashed {
                library,
                how: how.clone(),
                method: None,
            });
        }
        let timeout = (!timeout.is_zero()).then_some(timeout);
        let sent = match request {
            Some(request) => write_frame(&mut worker.socket, &request.encode()),
            None => Ok(()),
        };
        let read = sent.and_then(|()| {
            worker.socket.set_read_timeout(timeout)?;
            read_frame(&mut worker.socket)
        });
        let method = doing.map(str::to_owned);
        match read {
            Ok(Some(frame)) => Response::decode(&frame).map_err(|reason| {
                worker.kill("sent a malformed response and was killed");
                PluginError::Worker { library, reason }
            }),
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                worker.kill("was killed after a call timed out");
                Err(PluginError::TimedOut {
                    library,
                    method: method.unwrap_or_else(|| "opening the library".to_owned()),
                    after: timeout.unwrap_or_default(),
                })
            }
            Ok(None) | Err(_) => {
                let how = worker.died();
                Err(PluginError::Crashed {
                    library,
                    how,
                    method,
                })
            }
        }
    }

    fn unexpected(&self, response: &Response) -> PluginError {
        self.lock().kill("answered out of turn and was killed");
        PluginError::Worker {
            library: self.path().to_path_buf(),
            reason: format!("an unexpected answer: {response:?}"),
        }
    }
}

impl Worker {
    /// Records how the worker ended, if it has.
    fn reap(&mut self) {
        if self.ended.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.ended = Some(ended(status));
        }
    }

    /// The socket closed under the host: waits for the worker (it is
    /// ending, or killed) and says how it ended.
    fn died(&mut self) -> String {
        let how = match self.child.try_wait() {
            Ok(Some(status)) => ended(status),
            _ => {
                let deadline = Instant::now() + CLOSING;
                loop {
                    match self.child.try_wait() {
                        Ok(Some(status)) => break ended(status),
                        Ok(None) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        _ => {
                            let _ = self.child.kill();
                            let _ = self.child.wait();
                            break "closed its socket and was killed".to_owned();
                        }
                    }
                }
            }
        };
        self.ended = Some(how.clone());
        how
    }

    /// Kills the worker and records `how` it ended.
    fn kill(&mut self, how: &str) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.ended = Some(how.to_owned());
    }

    /// Closes the socket and waits for the worker to exit, killing it
    /// after [`CLOSING`]; its status, or `None` when it had to be killed.
    fn finish(&mut self) -> Option<std::process::ExitStatus> {
        let _ = self.socket.shutdown(Shutdown::Both);
        let deadline = Instant::now() + CLOSING;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return None;
                }
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.ended.is_none() {
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
        let path = self.library.path();
        let prepared = prepare(path, self.descriptor, method, args)?;
        let trait_name = self.descriptor.name.as_str();
        let request = Request::Call {
            handle: self.handle,
            method: prepared.index,
            args: prepared.args,
        };
        match self
            .library
            .request(&request, &format!("{trait_name}::{method}"))?
        {
            Response::Dispatched { status, bytes } => {
                outcome(path, trait_name, prepared.method, status, &bytes)
            }
            Response::Failed(reason) => Err(PluginError::Worker {
                library: path.to_path_buf(),
                reason,
            }),
            other => Err(self.library.unexpected(&other)),
        }
    }
}

impl Drop for WorkerInvoker<'_> {
    fn drop(&mut self) {
        if self.library.is_alive() {
            let _ = self.library.request(
                &Request::Release {
                    handle: self.handle,
                },
                "freeing an instance",
            );
        }
    }
}
