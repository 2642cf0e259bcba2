//! The worker's side: open one library, checked as the in-process loader
//! checks it, and serve the host's requests until it closes the socket.

use core::cell::{Cell, RefCell};
use core::ffi::c_void;
use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::thread::ThreadId;

use super::process::WORKER_FD;
use super::protocol::{MAX_FRAME, Request, Response, read_frame, write_frame};
use crate::error::PluginError;
use crate::loader::{Invoker, LoadOptions, PluginLibrary, TrustedList};
use crate::wire::{DispatchSink, DispatchStatus, LocalObject, PeerTable, answer_sink, given};

/// The arguments the host starts a worker with.
#[derive(Debug)]
pub(crate) struct WorkerArgs {
    pub(crate) sha256: String,
    pub(crate) allow_insecure_permissions: bool,
    pub(crate) allow_panic_abort: bool,
    pub(crate) library: PathBuf,
}

impl WorkerArgs {
    /// The command line, before the library's path (which follows `--`).
    pub(crate) fn to_args(&self) -> Vec<String> {
        let mut args = vec!["--sha256".to_owned(), self.sha256.clone()];
        if self.allow_insecure_permissions {
            args.push("--allow-insecure-permissions".to_owned());
        }
        if self.allow_panic_abort {
            args.push("--allow-panic-abort".to_owned());
        }
        args.push("--".to_owned());
        args
    }

    fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Self, String> {
        let mut args = args.into_iter();
        let mut sha256 = None;
        let mut allow_insecure_permissions = false;
        let mut allow_panic_abort = false;
        let mut library = None;
        while let Some(arg) = args.next() {
            match arg.to_str() {
                Some("--") => {
                    library = args.next().map(PathBuf::from);
                    if let Some(extra) = args.next() {
                        return Err(format!("unexpected argument {extra:?}"));
                    }
                    break;
                }
                Some("--sha256") => {
                    let digest = args.next().and_then(|digest| digest.into_string().ok());
                    sha256 = Some(digest.ok_or("--sha256 takes a digest")?);
                }
                Some("--allow-insecure-permissions") => allow_insecure_permissions = true,
                Some("--allow-panic-abort") => allow_panic_abort = true,
                _ if library.is_none() => library = Some(PathBuf::from(arg)),
                _ => return Err(format!("unexpected argument {arg:?}")),
            }
        }
        Ok(Self {
            sha256: sha256.ok_or("no --sha256")?,
            allow_insecure_permissions,
            allow_panic_abort,
            library: library.ok_or("no library")?,
        })
    }

    /// The options the host checked the file under, with the file's digest
    /// as the only trusted one: the worker maps the very bytes the host
    /// checked, or refuses.
    fn options(&self) -> Result<LoadOptions, PluginError> {
        let trusted =
            TrustedList::parse(&format!("{}  library\n", self.sha256), "the host's check")?;
        Ok(LoadOptions::default()
            .allow_insecure_permissions(self.allow_insecure_permissions)
            .allow_panic_abort(self.allow_panic_abort)
            .trusted(trusted))
    }
}

/// The whole of a worker executable: `fn main() -> ExitCode {
/// plugin_interface::isolation::worker_main() }`. The host starts it
/// with a connected Unix socket as descriptor 3 and the library to serve;
/// it is not meant to be started by hand.
pub fn worker_main() -> ExitCode {
    let args = match WorkerArgs::parse(std::env::args_os().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("plugin-worker: {message} (it is started by the plugin framework's host)");
            return ExitCode::from(2);
        }
    };
    // SAFETY: `fstat` only writes the `stat` it is given.
    let is_socket = unsafe {
        let mut stat = core::mem::zeroed::<libc::stat>();
        libc::fstat(WORKER_FD, &mut stat) == 0 && stat.st_mode & libc::S_IFMT == libc::S_IFSOCK
    };
    if !is_socket {
        eprintln!("plugin-worker: descriptor {WORKER_FD} is not the host's socket");
        return ExitCode::from(2);
    }
    // SAFETY: the host hands this process descriptor 3, a connected
    // socket (checked above), which nothing else in the process owns.
    let stream = unsafe { UnixStream::from_raw_fd(WORKER_FD) };
    // Processes the plugin starts must not inherit the socket: the host
    // learns of the worker's end when the socket closes.
    // SAFETY: setting a flag of a descriptor this process owns.
    unsafe { libc::fcntl(WORKER_FD, libc::F_SETFD, libc::FD_CLOEXEC) };
    match serve(stream, &args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("plugin-worker: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the library and answers requests until the host closes the
/// socket; then frees every instance and object and closes the library.
fn serve(mut stream: UnixStream, args: &WorkerArgs) -> Result<(), PluginError> {
    let io_error = |error: io::Error| PluginError::Io {
        library: args.library.clone(),
        source: error,
    };
    let opened = args
        .options()
        .and_then(|options| PluginLibrary::open_with(&args.library, &options));
    let library = match opened {
        Ok(library) => library,
        Err(error) => {
            let refused = Response::Refused(error.to_string()).encode();
            write_frame(&mut stream, &refused).map_err(io_error)?;
            return Err(error);
        }
    };
    write_frame(&mut stream, &Response::Ready.encode()).map_err(io_error)?;
    // The server and its table live as long as the process: a library may
    // keep a host object's stand-in (and its table) in a static.
    let channel: &'static Channel = Box::leak(Box::new(Channel {
        thread: std::thread::current().id(),
        drops: Mutex::new(Vec::new()),
        server: OnceLock::new(),
    }));
    let server: &'static Server = Box::leak(Box::new(Server {
        library: RefCell::new(Some(library)),
        stream,
        served: RefCell::new(HashMap::new()),
        next: Cell::new(0),
        depth: Cell::new(0),
        channel,
        table: OnceLock::new(),
    }));
    let _ = channel.server.set(ServerRef(server));
    let result = server.run();
    let served = core::mem::take(&mut *server.served.borrow_mut());
    drop(served);
    let library = server.library.borrow_mut().take();
    let Some(library) = library else {
        return Ok(());
    };
    library.flush_output();
    result.map_err(|reason| PluginError::Worker {
        library: args.library.clone(),
        reason,
    })?;
    library.close().map(drop)
}

/// How the library's failures name the host's objects it calls.
const HOST: &str = "<host>";

/// What the worker serves by handle: a registration's instance, or an
/// object the library lent or gave the host.
enum Served {
    Instance(Invoker),
    Object(LocalObject),
}

/// The worker's state while it serves the host: touched only by the
/// thread serving the host (see [`Channel`]).
struct Server {
    /// Taken to close it once the host is gone.
    library: RefCell<Option<PluginLibrary>>,
    stream: UnixStream,
    served: RefCell<HashMap<u32, Rc<Served>>>,
    next: Cell<u32>,
    /// How many of the host's requests are being answered: the host is
    /// waiting, and serves callbacks, only while this is not zero.
    depth: Cell<u32>,
    channel: &'static Channel,
    table: OnceLock<PeerTable>,
}

/// What the library's [`PeerTable`] points to. The table's functions may
/// be called from any thread the library starts: they reach the server
/// only from the thread serving the host, and queue releases from others.
struct Channel {
    thread: ThreadId,
    /// The host's objects the library no longer holds, told to the host
    /// before the next frame the worker sends.
    drops: Mutex<Vec<u64>>,
    server: OnceLock<ServerRef>,
}

/// The server, as the channel holds it.
struct ServerRef(&'static Server);

// SAFETY: the server is reached through the channel only on the thread
// it was made on (`Channel::server` checks the thread first), so its
// cells are never touched from two threads.
unsafe impl Send for ServerRef {}
// SAFETY: as for `Send`.
unsafe impl Sync for ServerRef {}

impl Channel {
    /// The server, when called on the thread serving the host.
    fn server(&self) -> Option<&'static Server> {
        (std::thread::current().id() == self.thread)
            .then(|| self.server.get().map(|server| server.0))
            .flatten()
    }
}

impl Server {
    /// Answers requests until the host closes the socket.
    fn run(&self) -> Result<(), String> {
        while let Some(frame) = self.read()? {
            match Request::decode(&frame)? {
                Request::Returned { .. } => {
                    return Err("the host answered a callback the worker did not make".to_owned());
                }
                request => {
                    let response = self.answer(request);
                    self.send(response)?;
                }
            }
        }
        Ok(())
    }

    fn read(&self) -> Result<Option<Vec<u8>>, String> {
        read_frame(&mut &self.stream).map_err(|error| error.to_string())
    }

    /// Sends one frame, after telling the host of the objects dropped
    /// since the last one.
    fn send(&self, response: Response) -> Result<(), String> {
        let dropped: Vec<u64> = core::mem::take(
            &mut *self
                .channel
                .drops
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for handle in dropped {
            write_frame(&mut &self.stream, &Response::Drop { handle }.encode())
                .map_err(|error| error.to_string())?;
        }
        let mut frame = response.encode();
        let dispatched = matches!(response, Response::Dispatched { .. });
        if frame.len() > MAX_FRAME
            && let Response::Dispatched {
                status,
                bytes,
                state: Some(_),
            } = response
        {
            // The call ran: its answer goes without the state snapshot,
            // and the previous one stands.
            frame = Response::Dispatched {
                status,
                bytes,
                state: None,
            }
            .encode();
        }
        if frame.len() > MAX_FRAME && dispatched {
            // The call ran and read its arguments: its answer says the
            // result was refused.
            frame = Response::Dispatched {
                status: DispatchStatus::BadResult as u32,
                bytes: format!("a result of more than the {MAX_FRAME} bytes a frame carries")
                    .into_bytes(),
                state: None,
            }
            .encode();
        }
        if frame.len() > MAX_FRAME {
            frame = Response::Failed(format!(
                "an answer of {} bytes, more than the {MAX_FRAME} a frame carries",
                frame.len()
            ))
            .encode();
        }
        write_frame(&mut &self.stream, &frame).map_err(|error| error.to_string())
    }

    fn table(&self) -> *const PeerTable {
        self.table.get_or_init(|| PeerTable {
            context: core::ptr::from_ref(self.channel).cast(),
            library: HOST.as_ptr(),
            library_len: HOST.len(),
            retain: channel_retain,
            release_context: channel_retain,
            call: channel_call,
            keep: channel_keep,
            forget: channel_forget,
            release: channel_release,
            local: core::ptr::null(),
        })
    }

    /// Serves `served` under a new handle (never 0, which means none).
    fn insert(&self, served: Served) -> u32 {
        let mut served_now = self.served.borrow_mut();
        let mut handle = self.next.get();
        loop {
            handle = handle.checked_add(1).unwrap_or(1);
            if !served_now.contains_key(&handle) {
                break;
            }
        }
        self.next.set(handle);
        served_now.insert(handle, Rc::new(served));
        handle
    }

    /// Answers one request of the host.
    fn answer(&self, request: Request) -> Response {
        self.depth.set(self.depth.get() + 1);
        let response = self.answer_inner(request);
        self.depth.set(self.depth.get() - 1);
        if let Some(library) = self.library() {
            library.flush_output();
        }
        response
    }

    /// The library, until it is closed.
    fn library(&self) -> Option<PluginLibrary> {
        self.library.borrow().clone()
    }

    fn answer_inner(&self, request: Request) -> Response {
        match request {
            Request::Instantiate {
                trait_name,
                entry,
                state,
            } => {
                let Some(library) = self.library() else {
                    return Response::Failed("the library is closed".to_owned());
                };
                let invoker = match library.invoker(&trait_name, entry.as_deref()) {
                    Ok(invoker) => invoker,
                    Err(error) => return Response::Failed(error.to_string()),
                };
                if let Some((version, bytes)) = state
                    && let Err(reason) = invoker.load_state(version, &bytes)
                {
                    return Response::Failed(format!(
                        "restoring the state of `{}`: {reason}",
                        invoker.entry()
                    ));
                }
                let entry = invoker.entry().to_owned();
                Response::Instantiated {
                    handle: self.insert(Served::Instance(invoker)),
                    entry,
                }
            }
            Request::Call {
                handle,
                method,
                args,
            } => {
                // Not borrowed during the call: a nested request may add
                // or free what the worker serves.
                let served = self.served.borrow().get(&handle).cloned();
                match served.as_deref() {
                    Some(Served::Instance(invoker)) => {
                        let (status, bytes) = invoker.call_raw(method, &args, self.table());
                        // An instance that carries its state sends it after
                        // every call: what a restarted worker restores. A
                        // save that fails keeps the previous snapshot.
                        let state = invoker.save_state().and_then(Result::ok);
                        Response::Dispatched {
                            status,
                            bytes,
                            state,
                        }
                    }
                    Some(Served::Object(object)) => {
                        // SAFETY: an object the library kept, alive while
                        // `served` holds it; the table is this worker's.
                        let (status, bytes) = unsafe { object.call(method, &args, self.table()) };
                        Response::Dispatched {
                            status,
                            bytes,
                            state: None,
                        }
                    }
                    None => Response::Failed(format!("no instance {handle}")),
                }
            }
            Request::Release { handle } => {
                let released = self.served.borrow_mut().remove(&handle);
                drop(released);
                Response::Released
            }
            Request::Counter { trait_name } => Response::Counter(
                self.library()
                    .and_then(|library| library.unmaker_counter(&trait_name).ok()),
            ),
            Request::Returned { .. } => Response::Failed("an answer to no callback".to_owned()),
            Request::SaveState { handle } => match self.instance(handle) {
                Ok(served) => match &*served {
                    Served::Instance(invoker) => match invoker.save_state() {
                        None => Response::State(None),
                        Some(Ok(state)) => Response::State(Some(state)),
                        Some(Err(reason)) => Response::Failed(reason),
                    },
                    Served::Object(_) => Response::State(None),
                },
                Err(response) => response,
            },
            Request::LoadState {
                handle,
                state: (version, bytes),
            } => match self.instance(handle) {
                Ok(served) => match &*served {
                    Served::Instance(invoker) => match invoker.load_state(version, &bytes) {
                        Ok(()) => Response::Loaded,
                        Err(reason) => Response::Failed(reason),
                    },
                    Served::Object(_) => Response::Failed(format!("{handle} is not an instance")),
                },
                Err(response) => response,
            },
        }
    }

    /// What `handle` names, or the answer that it names nothing.
    fn instance(&self, handle: u32) -> Result<Rc<Served>, Response> {
        self.served
            .borrow()
            .get(&handle)
            .cloned()
            .ok_or_else(|| Response::Failed(format!("no instance {handle}")))
    }

    /// Calls the host's object `handle`, answering the host's requests
    /// until its answer comes.
    fn call_host(&self, handle: u64, method: u32, args: Vec<u8>) -> (u32, Vec<u8>) {
        let unreachable = |reason: &str| {
            (
                DispatchStatus::Unreachable as u32,
                reason.as_bytes().to_vec(),
            )
        };
        if self.depth.get() == 0 {
            return unreachable("the host's objects are called during the host's calls only");
        }
        let request = Response::Callback {
            handle,
            method,
            args,
        };
        if let Err(error) = self.send(request) {
            return unreachable(&error);
        }
        loop {
            let frame = match self.read() {
                Ok(Some(frame)) => frame,
                Ok(None) => return unreachable("the host closed the connection"),
                Err(error) => return unreachable(&error),
            };
            match Request::decode(&frame) {
                Ok(Request::Returned { status, bytes }) => return (status, bytes),
                Ok(request) => {
                    let response = self.answer(request);
                    if let Err(error) = self.send(response) {
                        return unreachable(&error);
                    }
                }
                Err(error) => return unreachable(&error),
            }
        }
    }
}

/// The channel lives as long as the process: nothing to count.
unsafe extern "C" fn channel_retain(_: *const c_void) {}

/// # Safety
///
/// `context` must be the worker's [`Channel`]; `args` must point to
/// `args_len` readable bytes (or `args_len` be 0); `write` must accept
/// `sink`.
unsafe extern "C" fn channel_call(
    context: *const c_void,
    handle: u64,
    method: u32,
    args: *const u8,
    args_len: usize,
    sink: *mut c_void,
    write: DispatchSink,
) -> u32 {
    // SAFETY: per the contract.
    let channel = unsafe { &*context.cast::<Channel>() };
    // SAFETY: per the contract, `args_len` readable bytes.
    let args = unsafe { given(args, args_len) }.to_vec();
    let run = || match channel.server() {
        Some(server) => server.call_host(handle, method, args),
        None => (
            DispatchStatus::Unreachable as u32,
            b"the host's objects are called from the thread serving the host's call only".to_vec(),
        ),
    };
    // SAFETY: per the contract, `write` accepts `sink`.
    unsafe {
        answer_sink(
            run,
            "the call to the host panicked in the worker",
            sink,
            write,
        )
    }
}

/// # Safety
///
/// `context` must be the worker's [`Channel`].
unsafe extern "C" fn channel_keep(context: *const c_void, object: LocalObject, _how: u8) -> u64 {
    // SAFETY: per the contract.
    let channel = unsafe { &*context.cast::<Channel>() };
    match channel.server() {
        Some(server) => {
            let kept = catch_unwind(AssertUnwindSafe(|| server.insert(Served::Object(object))));
            kept.map_or(0, u64::from)
        }
        None => 0,
    }
}

/// # Safety
///
/// `context` must be the worker's [`Channel`].
unsafe extern "C" fn channel_forget(context: *const c_void, id: u64) {
    // SAFETY: per the contract.
    let channel = unsafe { &*context.cast::<Channel>() };
    if let Some(server) = channel.server() {
        let forgotten = catch_unwind(AssertUnwindSafe(|| {
            let handle = u32::try_from(id).unwrap_or(0);
            let removed = server.served.borrow_mut().remove(&handle);
            drop(removed);
        }));
        if let Err(payload) = forgotten {
            crate::export::drop_payload(payload);
        }
    }
}

/// # Safety
///
/// `context` must be the worker's [`Channel`].
unsafe extern "C" fn channel_release(context: *const c_void, handle: u64) {
    // SAFETY: per the contract.
    let channel = unsafe { &*context.cast::<Channel>() };
    channel
        .drops
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(handle);
}

/// Where the worker is when the host does not say: `PLUGIN_WORKER`, else
/// `plugin-worker` beside the running executable (or one directory up,
/// for test executables in `target/*/deps`).
pub(crate) fn default_worker() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PLUGIN_WORKER") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    let name = format!("plugin-worker{}", std::env::consts::EXE_SUFFIX);
    let up = dir
        .file_name()
        .is_some_and(|name| name == "deps")
        .then(|| dir.parent())
        .flatten();
    [Some(dir), up]
        .into_iter()
        .flatten()
        .map(|dir| dir.join(&name))
        .find(|candidate| Path::is_file(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_round_trips() {
        let args = WorkerArgs {
            sha256: "ab".repeat(32),
            allow_insecure_permissions: true,
            allow_panic_abort: false,
            library: "plugins/liba.so".into(),
        };
        let mut line: Vec<OsString> = args.to_args().into_iter().map(OsString::from).collect();
        line.push("plugins/liba.so".into());
        let mut dashed = line.clone();
        *dashed.last_mut().unwrap() = "--odd-name.so".into();
        assert_eq!(
            WorkerArgs::parse(dashed).unwrap().library,
            PathBuf::from("--odd-name.so")
        );
        let parsed = WorkerArgs::parse(line).unwrap();
        assert_eq!(parsed.sha256, args.sha256);
        assert!(parsed.allow_insecure_permissions);
        assert!(!parsed.allow_panic_abort);
        assert_eq!(parsed.library, args.library);
        assert!(WorkerArgs::parse(Vec::<OsString>::new()).is_err());
        assert!(WorkerArgs::parse(["--sha256".into()]).is_err());
        assert!(WorkerArgs::parse(["a".into(), "b".into()]).is_err());
    }
}
