//! Process isolation: a plugin library served by its own worker process,
//! so that a plugin that aborts, crashes, calls `exit` or loops forever
//! ends its worker, never the host.
//!
//! ```no_run
//! use plugin_interface::isolation::{WorkerLibrary, WorkerOptions};
//! use plugin_interface::{LoadOptions, PluginError};
//! use serde_json::json;
//! use std::time::Duration;
//!
//! let options = WorkerOptions::default().call_timeout(Duration::from_secs(2));
//! let library =
//!     WorkerLibrary::spawn("plugins/libflaky.so", &LoadOptions::default(), &options)?;
//! match library.invoke("Greeter", "greet", &[json!("world")]) {
//!     Ok(greeting) => println!("{greeting}"),
//!     Err(PluginError::Crashed { how, .. }) => eprintln!("the plugin's worker {how}"),
//!     Err(PluginError::TimedOut { after, .. }) => eprintln!("no answer within {after:?}"),
//!     Err(other) => eprintln!("{other}"),
//! }
//! # Ok::<(), PluginError>(())
//! ```
//!
//! **The worker** is a small executable whose `main` is
//! [`worker_main`]: the `plugin-worker` binary of the `plugin-host`
//! package, or one line in a host application's own package. The host
//! finds it through [`WorkerOptions::worker`], else the `PLUGIN_WORKER`
//! environment variable, else as `plugin-worker` beside the running
//! executable: ship it next to the host binary.
//!
//! **What runs where.** The host checks the file from its bytes, as
//! [`PluginFile`](crate::PluginFile) does, before the worker starts; the
//! worker opens it with the same checks and refuses it unless its bytes
//! have the digest the host checked. The worker inherits one end of a
//! Unix socket pair; requests and answers are length-prefixed postcard
//! frames, and calls carry the serialised path's bytes (see
//! [`wire`](crate::wire)), checked against the method's layouts in the
//! host before they are sent and decoded there after.
//!
//! **Failures are values.** A worker that dies gives
//! [`PluginError::Crashed`](crate::PluginError::Crashed) (the signal or
//! exit code, and the method in progress); a call past
//! [`WorkerOptions::call_timeout`] kills it and gives
//! [`PluginError::TimedOut`](crate::PluginError::TimedOut). A dead
//! worker's counters are unknown (`None`), never invented. On Linux the
//! worker also dies with the host (`PR_SET_PDEATHSIG`, which the kernel
//! ties to the forking thread: workers are forked from a thread of the
//! framework's that lives as long as the host, whichever thread asks), and
//! exits when the host closes its socket.
//!
//! Under `LoadOptions::isolation(Isolation::Process(..))`,
//! [`load_plugins_with`](crate::load_plugins_with) gives its usual
//! proxies with each library in a worker,
//! [`PluginLibrary::open_with`](crate::PluginLibrary::open_with) a library
//! served by a worker, and a [`PluginManager`](crate::PluginManager) whose
//! options hold them loads, reloads (carrying state from the old worker to
//! the new one) and unloads libraries in workers behind its usual proxies.
//!
//! Calls go by method name with JSON values
//! ([`WorkerLibrary::invoke`], [`WorkerInvoker`]), or through the trait's
//! own typed proxy ([`WorkerLibrary::instantiate`]): `#[plugin_trait]`
//! implements every trait for [`Remote`]`<dyn Trait>`, whose methods
//! encode their arguments for the serialised path and decode the result.
//! **Objects cross both ways**, by id: a host object or closure lent to
//! a method is kept in the host's table for the call, and the library
//! calls it through a stand-in ([`Remote`]) that sends each call back to
//! the host, which serves it while it waits for its own answer (a call the
//! host's object makes to the same worker meanwhile goes through the
//! exchange in progress). A `Box<dyn Trait>` or `Arc<dyn Trait>` given to
//! a worker stays in the host until the worker drops it, and is called
//! during the host's later calls; a `Box<dyn Trait>` a worker returns
//! becomes the trait's proxy of the worker's object. Time spent in the
//! host's callbacks is not counted against the call timeout. Objects
//! inside another value do not cross (pass or return them whole), nor
//! does a `&str` returned through a proxy: calling such a method fails,
//! naming it (by name, its string comes back as JSON). The host's objects
//! are reached from the worker's thread serving the host's call, while it
//! lasts; other threads of the library get a failure.
//!
//! **Restarts.** With [`WorkerOptions::restart`], a worker that died is
//! started again on the next call, after a doubling backoff, while the
//! budget lasts; every live instance is made again. An implementation
//! that carries its state (`#[plugin_impl(Trait, state)]`,
//! [`PluginState`](crate::PluginState)) sends a snapshot after each call,
//! which the new instance restores; other instances start afresh. Objects
//! the old worker returned are lost (their calls fail saying so), and the
//! host's objects it held are dropped. [`WorkerLibrary::subscribe`] hears
//! of each restart ([`ReloadEvent::Restarted`](crate::ReloadEvent::Restarted))
//! and of a restart that failed or that the budget refused
//! ([`ReloadEvent::Failed`](crate::ReloadEvent::Failed)).

mod library;
mod link;
mod process;
mod protocol;
mod remote;
mod serve;

use std::path::PathBuf;
use std::time::Duration;

pub use crate::wire::Remote;
pub use library::{WorkerInvoker, WorkerLibrary};
pub(crate) use link::Link;
pub(crate) use remote::{proxy, target};
pub use serve::worker_main;

/// How worker processes are started and watched.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct WorkerOptions {
    /// The worker executable; found as the [module docs](self) say when
    /// `None`.
    pub worker: Option<PathBuf>,
    /// How long a call (and opening the library) may take before the
    /// worker is killed; no limit when `None`.
    pub call_timeout: Option<Duration>,
    /// The worker's address-space limit in bytes (`RLIMIT_AS`).
    pub memory_limit: Option<u64>,
    /// The worker's CPU time limit (`RLIMIT_CPU`, whole seconds, at least
    /// one): past it the worker is killed by `SIGXCPU`.
    pub cpu_limit: Option<Duration>,
    /// Whether a worker that died is started again on the next call; not
    /// when `None`, the default.
    pub restart: Option<Restart>,
}

/// How a worker that died is started again: on the next call, after the
/// backoff (doubled at each restart), while the budget lasts. The new
/// worker makes every live instance again, restoring the last snapshot of
/// those whose implementation carries state. The call during which the
/// worker died still fails with the crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restart {
    /// How many restarts the library's worker may have in all.
    pub budget: u32,
    /// The wait before the first restart.
    pub backoff: Duration,
}

impl WorkerOptions {
    /// Uses the worker executable at `path`.
    pub fn worker(mut self, path: impl Into<PathBuf>) -> Self {
        self.worker = Some(path.into());
        self
    }

    /// Kills the worker when a call takes longer than `timeout`.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = Some(timeout);
        self
    }

    /// Limits the worker's address space to `bytes`.
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// Limits the worker's CPU time.
    pub fn cpu_limit(mut self, limit: Duration) -> Self {
        self.cpu_limit = Some(limit);
        self
    }

    /// Restarts a worker that died on the next call, up to `budget` times,
    /// waiting `backoff` before the first restart and twice as long before
    /// each next one.
    pub fn restart(mut self, budget: u32, backoff: Duration) -> Self {
        self.restart = Some(Restart { budget, backoff });
        self
    }
}
