//! The worker's side: open one library, checked as the in-process loader
//! checks it, and serve the host's requests until it closes the socket.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::process::WORKER_FD;
use super::protocol::{MAX_FRAME, Request, Response, read_frame, write_frame};
use crate::error::PluginError;
use crate::loader::{Invoker, LoadOptions, PluginLibrary, TrustedList};

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
/// socket; then frees every instance and closes the library.
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
    let mut instances: HashMap<u32, Invoker> = HashMap::new();
    let mut next = 0u32;
    while let Some(frame) = read_frame(&mut stream).map_err(io_error)? {
        let request = Request::decode(&frame).map_err(|reason| PluginError::Worker {
            library: args.library.clone(),
            reason,
        })?;
        let response = answer(&library, &mut instances, &mut next, request);
        library.flush_output();
        let mut frame = response.encode();
        if frame.len() > MAX_FRAME {
            frame = Response::Failed(format!(
                "an answer of {} bytes, more than the {MAX_FRAME} a frame carries",
                frame.len()
            ))
            .encode();
        }
        write_frame(&mut stream, &frame).map_err(io_error)?;
    }
    drop(instances);
    library.flush_output();
    library.close().map(drop)
}

fn answer(
    library: &PluginLibrary,
    instances: &mut HashMap<u32, Invoker>,
    next: &mut u32,
    request: Request,
) -> Response {
    match request {
        Request::Instantiate { trait_name, entry } => {
            match library.invoker(&trait_name, entry.as_deref()) {
                Ok(invoker) => {
                    *next += 1;
                    let entry = invoker.entry().to_owned();
                    instances.insert(*next, invoker);
                    Response::Instantiated {
                        handle: *next,
                        entry,
                    }
                }
                Err(error) => Response::Failed(error.to_string()),
            }
        }
        Request::Call {
            handle,
            method,
            args,
        } => match instances.get_mut(&handle) {
            Some(invoker) => {
                let (status, bytes) = invoker.call_raw(method, &args);
                Response::Dispatched { status, bytes }
            }
            None => Response::Failed(format!("no instance {handle}")),
        },
        Request::Release { handle } => {
            instances.remove(&handle);
            Response::Released
        }
        Request::Counter { trait_name } => {
            Response::Counter(library.unmaker_counter(&trait_name).ok())
        }
    }
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
