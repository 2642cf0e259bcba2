//! The host's side: a library served by a worker process, called by
//! method name with JSON values.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::WorkerOptions;
use super::link::Link;
use super::remote::proxy;
use crate::abi::TraitDescriptor;
use crate::error::PluginError;
use crate::interface::PluginInterface;
use crate::loader::{LoadOptions, ParameterInfo, PluginFile, outcome, parameters, prepare};
use crate::wire::{Peer, Remote};

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

impl WorkerLibrary {
    /// Checks the library at `path` under `load`, starts a worker process
    /// for it and waits until the worker has opened it.
    ///
    /// On Linux the worker is asked to die with the host
    /// (`PR_SET_PDEATHSIG`); the kernel ties that to the forking thread,
    /// so workers are forked from a thread of the framework's that lives as
    /// long as the host (any thread may call `spawn`, a pooled one
    /// included). The worker also exits when the host closes its socket.
    /// Of `load`, the trust policy
    /// and `allow_panic_abort` apply to the worker; unload options do not
    /// (the worker closes the library when it exits).
    pub fn spawn(
        path: impl AsRef<Path>,
        load: &LoadOptions,
        options: &WorkerOptions,
    ) -> Result<Self, PluginError> {
        Link::open(path.as_ref(), load, options).map(|link| Self {
            link: link.shared(),
        })
    }

    /// The path the library was opened from.
    pub fn path(&self) -> &Path {
        self.link.path()
    }

    /// The library as the host checked it: its canary, traits and
    /// implementations.
    pub fn file(&self) -> &PluginFile {
        self.link.file()
    }

    /// The current worker's process id.
    pub fn pid(&self) -> u32 {
        self.link.pid()
    }

    /// How many times the worker was restarted (see
    /// [`WorkerOptions::restart`]).
    pub fn restarts(&self) -> u32 {
        self.link.restarts()
    }

    /// A receiver of the worker's restarts
    /// ([`ReloadEvent::Restarted`](crate::ReloadEvent::Restarted)) and of a
    /// restart that failed or that the budget refused
    /// ([`ReloadEvent::Failed`](crate::ReloadEvent::Failed)).
    pub fn subscribe(&self) -> std::sync::mpsc::Receiver<crate::ReloadEvent> {
        self.link.subscribe()
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
    /// trait's own method panics with the error's message. Objects and
    /// closures cross as the [module docs](super) say; a method returning
    /// `&str` fails with [`CallError::Panicked`](crate::CallError::Panicked),
    /// naming it.
    pub fn instantiate<I: ?Sized + PluginInterface>(&self) -> Result<Vec<I::Proxy>, PluginError> {
        self.instantiate_entries::<I>(None)
    }

    /// The proxy of `entry`'s instance of `I`, made in the worker.
    pub fn instantiate_entry<I: ?Sized + PluginInterface>(
        &self,
        entry: &str,
    ) -> Result<I::Proxy, PluginError> {
        let mut proxies = self.instantiate_entries::<I>(Some(entry))?;
        Ok(proxies.remove(0))
    }

    /// Proxies of `entry` (every entry when `None`) of `I`.
    fn instantiate_entries<I: ?Sized + PluginInterface>(
        &self,
        only: Option<&str>,
    ) -> Result<Vec<I::Proxy>, PluginError> {
        let trait_name = I::DESCRIPTOR.name.as_str();
        self.link.file().check_interface::<I>()?;
        let plugin = self.link.file().descriptor(trait_name)?;
        let interface: Arc<str> = Arc::from(format!(
            "{} {}",
            plugin.interface_crate.as_str(),
            plugin.interface_version.as_str()
        ));
        let entries: Vec<String> = match only {
            Some(entry) => vec![entry.to_owned()],
            None => self
                .link
                .file()
                .entries(trait_name)?
                .into_iter()
                .map(|info| info.entry)
                .collect(),
        };
        let mut proxies = Vec::new();
        for entry in entries {
            let (handle, entry) = self.link.instantiate(trait_name, Some(&entry))?;
            let peer: Arc<dyn Peer> = self.link.clone();
            let remote = Remote::<I>::stand_in(peer, u64::from(handle), trait_name, true);
            proxies.push(proxy::<I>(remote, &entry, Some(Arc::clone(&interface))));
        }
        Ok(proxies)
    }

    /// The unmaker counter of `trait_name`, read from the live worker;
    /// `None` when the library has none for the trait, or when the worker
    /// is not running (its count is unknown, and never invented).
    pub fn counter(&self, trait_name: &str) -> Option<u64> {
        self.link.counter(trait_name)
    }

    /// Closes the library: the worker frees its instances, closes the
    /// library and exits. A worker that does not exit in time is killed,
    /// and one that did not exit normally is reported. Fails with
    /// [`PluginError::InUse`] while typed proxies of its instances live.
    pub fn close(self) -> Result<(), PluginError> {
        let link = Arc::try_unwrap(self.link).map_err(|link| PluginError::InUse {
            library: link.path().to_path_buf(),
            holders: Arc::strong_count(&link) - 1,
        })?;
        link.close()
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
            u64::from(self.handle),
            prepared.index,
            prepared.args,
            &format!("{trait_name}::{method}"),
        )?;
        outcome(link.path(), trait_name, prepared.method, status, &bytes)
    }
}

impl Drop for WorkerInvoker<'_> {
    fn drop(&mut self) {
        self.library.link.release(u64::from(self.handle));
    }
}
