//! Starting a worker process: the socket it inherits, the parent-death
//! signal, resource limits; and how its end is told.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Sender, channel, sync_channel};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use super::WorkerOptions;

/// The descriptor a worker finds its socket at.
pub(crate) const WORKER_FD: RawFd = 3;

/// Starts `worker` for `library`, with `socket` as its descriptor
/// [`WORKER_FD`] and the options' limits; `args` are the worker's own
/// arguments before the library's path.
pub(crate) fn spawn(
    worker: &Path,
    library: &Path,
    args: &[String],
    socket: &UnixStream,
    options: &WorkerOptions,
) -> io::Result<Child> {
    let fd = socket.as_raw_fd();
    // SAFETY: `getpid` has no preconditions.
    let parent = unsafe { libc::getpid() };
    let memory = options.memory_limit;
    let cpu = options.cpu_limit.map(|limit| limit.as_secs().max(1));
    let mut command = Command::new(worker);
    command
        .args(args)
        .arg(library)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    // SAFETY: the closure runs in the child between `fork` and `exec` and
    // only makes async-signal-safe calls (`prctl`, `getppid`, `_exit`,
    // `setpgid`, `fcntl`, `dup2`, `getrlimit`, `setrlimit`), allocating
    // nothing.
    unsafe {
        command.pre_exec(move || {
            // Die with the host: the signal comes when the thread that
            // started the worker ends (the spawner, which lives as long as
            // the host), and a host already gone is checked right after
            // asking for it.
            #[cfg(target_os = "linux")]
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            // Its own process group, so that killing the worker kills what
            // the plugin started too.
            if libc::setpgid(0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            let placed = if fd == WORKER_FD {
                libc::fcntl(fd, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, WORKER_FD)
            };
            if placed < 0 {
                return Err(io::Error::last_os_error());
            }
            // The CPU limit's hard value is a second past the soft one, so
            // that the worker ends by the soft limit's SIGXCPU, which says
            // why, rather than by the hard limit's SIGKILL.
            for (resource, limit, slack) in
                [(libc::RLIMIT_AS, memory, 0), (libc::RLIMIT_CPU, cpu, 1)]
            {
                if let Some(limit) = limit {
                    // Never above the hard limit this process has, which an
                    // unprivileged process cannot raise.
                    let mut current = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    if libc::getrlimit(resource, &mut current) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    let max = (limit.saturating_add(slack) as libc::rlim_t).min(current.rlim_max);
                    let limit = libc::rlimit {
                        rlim_cur: (limit as libc::rlim_t).min(max),
                        rlim_max: max,
                    };
                    if libc::setrlimit(resource, &limit) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
            }
            Ok(())
        });
    }
    on_spawner(command)
}

/// A forking job for the spawner thread.
type Job = Box<dyn FnOnce() + Send>;

/// Starts `command` from a thread that lives as long as the process.
/// Linux ties the parent-death signal to the thread that forked, not to
/// the process: a worker started from a thread that later ends (a scoped
/// or pooled thread, or whichever thread happened to restart it) would be
/// killed with that thread. Forks from the spawner end only with the host.
/// Where the spawner cannot be started, the calling thread forks.
fn on_spawner(mut command: Command) -> io::Result<Child> {
    /// The spawner's queue, and the process it was started in: a process
    /// forked from the host has no spawner thread of its own.
    static SPAWNER: OnceLock<Option<(Mutex<Sender<Job>>, u32)>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (sender, jobs) = channel::<Job>();
        std::thread::Builder::new()
            .name("plugin-worker-spawner".to_owned())
            .spawn(move || {
                for job in jobs {
                    // A job that panics must not end the thread its
                    // workers' parent-death signal is tied to.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })
            .ok()
            .map(|_| (Mutex::new(sender), std::process::id()))
    });
    let Some((spawner, pid)) = spawner else {
        return command.spawn();
    };
    if *pid != std::process::id() {
        return command.spawn();
    }
    let (reply, answer) = sync_channel(1);
    let job: Job = Box::new(move || {
        let _ = reply.send(command.spawn());
    });
    let sent = spawner
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .send(job);
    match sent {
        Ok(()) => answer
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("the worker spawner ended"))),
        Err(returned) => {
            // The spawner is gone: run the job here.
            (returned.0)();
            answer
                .recv()
                .unwrap_or_else(|_| Err(io::Error::other("the worker spawner ended")))
        }
    }
}

/// Kills the worker `child` and every process in its group (what the
/// plugin started), and reaps the worker.
pub(crate) fn kill(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: signalling the worker's own process group, which
        // `spawn` made with the worker's pid as its id.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits up to `wait` for the worker `child` to exit; past it, kills it
/// (and what it started). Its status, or `None` when it had to be killed.
pub(crate) fn exit_within(child: &mut Child, wait: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + wait;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            _ => {
                kill(child);
                return None;
            }
        }
    }
}

/// How a worker ended, in words: `was killed by SIGSEGV`, `exited with
/// code 3`.
pub(crate) fn ended(status: ExitStatus) -> String {
    if let Some(signal) = status.signal() {
        return format!("was killed by {}", signal_name(signal));
    }
    match status.code() {
        Some(code) => format!("exited with code {code}"),
        None => format!("ended ({status})"),
    }
}

fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGINT => "SIGINT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGSYS => "SIGSYS",
        libc::SIGTERM => "SIGTERM",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGXCPU => "SIGXCPU (its CPU limit)",
        other => return format!("signal {other}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_are_told_in_words() {
        assert_eq!(
            ended(ExitStatus::from_raw(libc::SIGSEGV)),
            "was killed by SIGSEGV"
        );
        assert_eq!(ended(ExitStatus::from_raw(3 << 8)), "exited with code 3");
        assert_eq!(ended(ExitStatus::from_raw(64)), "was killed by signal 64");
    }
}
