//! `PluginManager`: owns loaded libraries, hands out proxies that survive
//! reloads, and unloads in two phases.

mod bound;
mod events;
mod graph;
mod lifecycle;
mod manifest;
mod services;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use crate::error::PluginError;
use crate::gate::{self, Gate};
use crate::interface::PluginInterface;
use crate::lifecycle::construct::{Provider, Services, Setup, with_setup};
use crate::loader::{
    FileReport, Hashes, LoadReport, PluginLibrary, Probe, Source, UnloadReport, residency,
    scan_directory,
};
use crate::proxy::{Binding, Children, OutgoingChild, RawProxy};

use bound::{Bound, Rebind, Staged};
pub use events::{ManagerOptions, PluginHandle, ReloadEvent, ReloadOutcome};
use services::Resident;
pub(crate) use services::{MakeResident, make_resident};

/// The hash the manager tells changes by.
const CONTENT: Hashes = Hashes {
    sha256: false,
    content: true,
};

/// Owns plugin libraries: loads each from the bytes it checked (an
/// in-memory copy, or a file the kernel keeps from changing), hands out
/// proxies
/// that follow reloads, reloads without ever dropping a working version,
/// and unloads in two phases.
///
/// ```no_run
/// use plugin_interface::{PluginManager, ReloadOutcome, plugin_trait};
///
/// /// The interface, shared by host and plugins.
/// #[plugin_trait]
/// pub trait Greeter: Send + Sync {
///     fn greet(&self, target: &str) -> String;
/// }
///
/// let manager = PluginManager::new()?;
/// manager.load("plugins/libenglish_plugin.so")?;
/// let english = manager.proxy::<dyn Greeter>("plugins/libenglish_plugin.so", "English")?;
/// println!("{}", english.greet("world"));
///
/// // ... the file is rebuilt ...
/// if let ReloadOutcome::Reloaded { generation } = manager.reload("plugins/libenglish_plugin.so")? {
///     println!("generation {generation}: {}", english.greet("world"));
/// }
///
/// let report = manager.unload_by_path("plugins/libenglish_plugin.so")?;
/// println!("{:?} {:?}", report.counter("Greeter"), report.outcome);
/// assert!(english.try_greet("world").is_err()); // unloaded
/// # Ok::<(), plugin_interface::PluginError>(())
/// ```
///
/// Every method takes `&self`; the manager is `Send + Sync`, so one
/// manager can serve a watcher thread and the host's threads at once.
#[derive(Debug)]
pub struct PluginManager {
    state: Mutex<State>,
    options: ManagerOptions,
    subscribers: Mutex<Vec<Sender<ReloadEvent>>>,
}

#[derive(Default)]
struct State {
    libraries: BTreeMap<PathBuf, Record>,
    /// Old versions whose instances still had calls in flight after a
    /// reload; freed once idle.
    draining: Vec<Outgoing>,
    /// The services on offer to constructors.
    services: Services,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("libraries", &self.libraries.keys().collect::<Vec<_>>())
            .field("draining", &self.draining.len())
            .finish()
    }
}

/// One loaded library.
pub(crate) struct Record {
    handle: PluginHandle,
    library: PluginLibrary,
    bindings: Vec<Box<dyn Rebind>>,
    /// Objects the library's instances handed out (`Box<dyn Trait>`
    /// returns), retired with the version that made them.
    children: Arc<Children>,
    /// The plugin's configuration, a TOML document, for every
    /// construction from the library.
    config: String,
    /// The services the library requires, by trait name; asked of the
    /// library when first needed, so a plain load calls nothing more.
    requires: OnceLock<Vec<String>>,
    /// The instances kept for the library's life.
    residents: Vec<Resident>,
    /// The libraries whose services this one's plugins took.
    uses: BTreeSet<PathBuf>,
}

impl Record {
    fn new(handle: PluginHandle, library: PluginLibrary, config: String) -> Self {
        Self {
            handle,
            library,
            bindings: Vec::new(),
            children: Arc::default(),
            config,
            requires: OnceLock::new(),
            residents: Vec::new(),
            uses: BTreeSet::new(),
        }
    }

    /// What constructions from this library are offered.
    fn setup(&self, services: &Services) -> Setup {
        Setup {
            config: self.config.clone(),
            services: services.clone(),
            used: Mutex::default(),
        }
    }

    /// The services the library requires, by trait name.
    fn requires(&self) -> &[String] {
        self.requires.get_or_init(|| graph::requires(&self.library))
    }

    /// Refuses a construction whose required services nothing provides.
    fn check_requires(&self, services: &Services) -> Result<(), PluginError> {
        match self
            .requires()
            .iter()
            .find(|name| services.providers(name).is_empty())
        {
            Some(name) => Err(PluginError::MissingService {
                library: self.handle.path.to_path_buf(),
                trait_name: name.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Records the plugin libraries whose services `setup`'s constructions
    /// took.
    fn note_uses(&mut self, setup: Setup) {
        let used = setup
            .used
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        for provider in used {
            if let Provider::Library(path) = provider
                && path != *self.handle.path
            {
                self.uses.insert(path);
            }
        }
    }
}

/// An outgoing version: instances and handed-out objects taken out of
/// their proxies, and the library they live in, freed once their calls
/// drain.
struct Outgoing {
    targets: Vec<Box<dyn Staged>>,
    children: Vec<Box<dyn OutgoingChild>>,
    library: PluginLibrary,
}

impl Outgoing {
    fn gates(&self) -> Vec<*const Gate> {
        self.targets
            .iter()
            .map(|target| target.gate())
            .chain(self.children.iter().map(|child| child.gate()))
            .collect()
    }
}

impl PluginManager {
    /// A manager with default options.
    pub fn new() -> Result<Self, PluginError> {
        Self::with_options(ManagerOptions::default())
    }

    /// A manager with `options`.
    pub fn with_options(options: ManagerOptions) -> Result<Self, PluginError> {
        Ok(Self {
            state: Mutex::new(State::default()),
            options,
            subscribers: Mutex::new(Vec::new()),
        })
    }

    /// Loads the library at `path` as
    /// [`PluginLibrary::open`] does: from the bytes that were checked, a
    /// sealed in-memory copy or a file the kernel keeps from changing.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<PluginHandle, PluginError> {
        let path = absolute(path.as_ref())?;
        let mut state = self.lock();
        reap(&mut state.draining);
        if state.libraries.contains_key(&path) {
            return Err(PluginError::AlreadyLoaded { library: path });
        }
        let (handle, library) = self.open(&path, 1, None)?;
        state
            .libraries
            .insert(path, Record::new(handle.clone(), library, String::new()));
        Ok(handle)
    }

    /// Loads every library file in `dir` (sorted; see
    /// [`scan_directory`]) and makes one proxy per implementation of `I`.
    /// The proxies follow reloads of their library. One bad file is an
    /// error entry in the report, not the end of the batch.
    ///
    /// A library this manager has loaded already is not loaded again and
    /// gets no new instances: the report lists it under
    /// [`already_loaded`](LoadReport::already_loaded). Calling this twice
    /// on one directory loads only the files added in between.
    pub fn load_plugins<I: ?Sized + PluginInterface>(
        &self,
        dir: impl AsRef<Path>,
    ) -> Result<LoadReport<I>, PluginError>
    where
        I::Proxy: Send,
    {
        let scan = scan_directory(dir.as_ref())?;
        let files = scan
            .libraries
            .into_iter()
            .map(|path| {
                let result = self.load(&path).and_then(|_| self.proxies::<I>(&path));
                FileReport { path, result }
            })
            .collect();
        Ok(LoadReport::new(files, scan.ignored))
    }

    /// One proxy per implementation of `I` in the library loaded from
    /// `path`, each with an instance of its own, in entry order.
    pub fn proxies<I: ?Sized + PluginInterface>(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<Vec<I::Proxy>, PluginError>
    where
        I::Proxy: Send,
    {
        let path = absolute(path.as_ref())?;
        let mut state = self.lock();
        let state = &mut *state;
        let record = record_in(&mut state.libraries, &path)?;
        let entries = record.library.entries(I::DESCRIPTOR.name.as_str())?;
        entries
            .iter()
            .map(|entry| proxy_of::<I>(record, &state.services, &entry.entry))
            .collect()
    }

    /// A proxy of the implementation `entry` of `I` (the type's name, e.g.
    /// `English`) in the library loaded from `path`.
    pub fn proxy<I: ?Sized + PluginInterface>(
        &self,
        path: impl AsRef<Path>,
        entry: &str,
    ) -> Result<I::Proxy, PluginError>
    where
        I::Proxy: Send,
    {
        let path = absolute(path.as_ref())?;
        let mut state = self.lock();
        let state = &mut *state;
        proxy_of::<I>(
            record_in(&mut state.libraries, &path)?,
            &state.services,
            entry,
        )
    }

    /// The library loaded from `path`, if any.
    pub fn handle(&self, path: impl AsRef<Path>) -> Option<PluginHandle> {
        let path = absolute(path.as_ref()).ok()?;
        self.lock()
            .libraries
            .get(&path)
            .map(|record| record.handle.clone())
    }

    /// Every loaded library, in path order.
    pub fn loaded(&self) -> Vec<PluginHandle> {
        self.lock()
            .libraries
            .values()
            .map(|record| record.handle.clone())
            .collect()
    }

    /// Sends reload events to the returned receiver from now on.
    pub fn subscribe(&self) -> Receiver<ReloadEvent> {
        let (sender, receiver) = channel();
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sender);
        receiver
    }

    /// Reloads the library loaded from `path` from the file's current
    /// content, while the old version keeps serving: copies and checks the
    /// file (a content hash equal to the loaded version's stops here),
    /// opens the copy, makes a new instance for
    /// every live proxy, carries state where the implementation opted in
    /// (`#[plugin_impl(Trait, state)]`), then points the proxies at the new
    /// instances and unloads the old version. On any failure the old
    /// version keeps serving, a [`ReloadEvent::Failed`] says why, and the
    /// error is returned.
    ///
    /// A file whose content hash equals the loaded version's is not
    /// reloaded: [`ReloadOutcome::Unchanged`].
    ///
    /// State is saved while the old version still serves: calls that
    /// change it during the reload may be missing from what is carried.
    pub fn reload(&self, path: impl AsRef<Path>) -> Result<ReloadOutcome, PluginError> {
        let path = absolute(path.as_ref())?;
        let mut state = self.lock();
        reap(&mut state.draining);
        let services = state.services.clone();
        let record = record(&mut state, &path)?;
        let source = Source::open(&path, &path, &self.options.load, CONTENT)?;
        if source.content_hash() == Some(record.handle.hash) {
            return Ok(ReloadOutcome::Unchanged);
        }
        self.emit(ReloadEvent::Preparing { path: path.clone() });
        let generation = record.handle.generation + 1;
        let (handle, library) = match self.open(&path, generation, Some(source)) {
            Ok(opened) => opened,
            Err(error) => return Err(self.refused(path, error)),
        };
        let new_entries = library.entry_names();
        let setup = record.setup(&services);
        let staged = with_setup(&setup, || stage(record, &library, &new_entries));
        // The new version keeps the old one's edges, and adds its own.
        record.note_uses(setup);
        let staged = match staged {
            Ok(staged) => staged,
            Err(error) => {
                // The candidate's instances are freed already; its library
                // and copy go too.
                finish(Outgoing {
                    targets: Vec::new(),
                    children: Vec::new(),
                    library,
                });
                return Err(self.refused(path, error));
            }
        };
        record.bindings.retain(|bound| bound.alive());
        // A binding whose implementation the new version lacks is retired:
        // its proxies return `Unloaded`.
        let old_targets = record
            .bindings
            .iter()
            .zip(staged)
            .filter_map(|(bound, staged)| match staged {
                Some(staged) => bound.install(staged),
                None => bound.retire(),
            })
            .collect();
        record
            .bindings
            .retain(|bound| new_entries.contains(&entry_name(&**bound)));
        let old_entries = record.library.entry_names();
        record.handle = handle;
        // The new version may require other services.
        record.requires = OnceLock::new();
        // Objects the old version handed out cannot follow it: they are
        // retired with it.
        let outgoing = Outgoing {
            targets: old_targets,
            children: record.children.retire_all(),
            library: core::mem::replace(&mut record.library, library),
        };
        // The new version serves; the old one drains without holding up
        // the manager's other libraries.
        drop(state);
        self.emit(ReloadEvent::Reloaded {
            path: path.clone(),
            generation,
        });
        let removed: Vec<String> = old_entries
            .iter()
            .filter(|name| !new_entries.contains(name))
            .cloned()
            .collect();
        let added: Vec<String> = new_entries
            .iter()
            .filter(|name| !old_entries.contains(name))
            .cloned()
            .collect();
        if !removed.is_empty() || !added.is_empty() {
            self.emit(ReloadEvent::EntriesChanged {
                path,
                removed,
                added,
            });
        }
        let deadline = Instant::now() + self.options.drain_timeout;
        if gate::wait_idle(&outgoing.gates(), deadline) {
            finish(outgoing);
        } else {
            self.lock().draining.push(outgoing);
        }
        Ok(ReloadOutcome::Reloaded { generation })
    }

    /// Unloads the library loaded from `path`, in two phases. Logical: its
    /// proxies return [`CallError::Unloaded`](crate::CallError::Unloaded)
    /// for new calls; calls in flight finish first (waiting up to the
    /// drain timeout, then returning [`PluginError::Busy`] with the plugin
    /// still serving); the unmakers run and the counters are read into host memory. Physical:
    /// the library is closed as the [`UnloadPolicy`](crate::UnloadPolicy)
    /// says, and the report says whether it really left the process.
    ///
    /// The manager's other operations wait while the calls drain.
    pub fn unload_by_path(&self, path: impl AsRef<Path>) -> Result<UnloadReport, PluginError> {
        let (mut report, probe) = self.unload_unprobed(path.as_ref())?;
        if let Some(probe) = probe {
            report.outcome = probe.finish(&residency::maps());
        }
        Ok(report)
    }

    /// [`unload_by_path`](Self::unload_by_path), leaving the check of
    /// whether the image left to the returned probe.
    fn unload_unprobed(&self, path: &Path) -> Result<(UnloadReport, Option<Probe>), PluginError> {
        let path = absolute(path)?;
        let mut state = self.lock();
        reap(&mut state.draining);
        let dependents: Vec<PathBuf> = state
            .libraries
            .iter()
            .filter(|(other, record)| record.uses.contains(&path) && **other != path)
            .map(|(other, _)| other.clone())
            .collect();
        if !dependents.is_empty() {
            return Err(PluginError::InUseByDependents {
                library: path,
                dependents,
            });
        }
        let record = record(&mut state, &path)?;
        record.bindings.retain(|bound| bound.alive());
        let outgoing: Vec<(usize, Box<dyn Staged>)> = record
            .bindings
            .iter()
            .enumerate()
            .filter_map(|(index, bound)| bound.retire().map(|target| (index, target)))
            .collect();
        let children = record.children.retire_all();
        let gates: Vec<*const Gate> = outgoing
            .iter()
            .map(|(_, target)| target.gate())
            .chain(children.iter().map(|child| child.gate()))
            .collect();
        let deadline = Instant::now() + self.options.drain_timeout;
        if !gate::wait_idle(&gates, deadline) {
            for (index, target) in outgoing {
                // Back to serving: the binding pointed at this very target.
                if let Some(stand_in) = record.bindings[index].install(target) {
                    drop(stand_in);
                }
            }
            for child in children {
                child.restore(&record.children);
            }
            return Err(PluginError::Busy {
                library: path,
                waited: self.options.drain_timeout,
            });
        }
        let record = state.libraries.remove(&path).expect("found above");
        state.services.remove(&Provider::Library(path));
        drop(outgoing);
        drop(children);
        drop(record.residents);
        drop(record.bindings);
        record.library.close_unprobed()
    }

    /// Unloads every library; one report per library, in path order. The
    /// first error is returned after trying them all.
    pub fn close(self) -> Result<Vec<UnloadReport>, PluginError> {
        self.unload_all()
    }

    fn unload_all(&self) -> Result<Vec<UnloadReport>, PluginError> {
        let paths = graph::dependents_first(&self.uses());
        let mut unprobed = Vec::new();
        let mut first_error = None;
        for path in paths {
            match self.unload_unprobed(&path) {
                Ok(closed) => unprobed.push(closed),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        // One read of the process's mappings for every library closed.
        let maps = residency::maps();
        let reports: Vec<UnloadReport> = unprobed
            .into_iter()
            .map(|(mut report, probe)| {
                if let Some(probe) = probe {
                    report.outcome = probe.finish(&maps);
                }
                report
            })
            .collect();
        let mut state = self.lock();
        let deadline = Instant::now() + self.options.drain_timeout;
        for outgoing in state.draining.drain(..) {
            if gate::wait_idle(&outgoing.gates(), deadline) {
                finish(outgoing);
            } else {
                // Calls are still running in it: freeing it would pull the
                // code from under them. Leak it instead.
                core::mem::forget(outgoing);
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(reports),
        }
    }

    /// Opens `path` as generation `generation`, from `source` already
    /// read, or from the file.
    fn open(
        &self,
        path: &Path,
        generation: u64,
        source: Option<Source>,
    ) -> Result<(PluginHandle, PluginLibrary), PluginError> {
        let source = match source {
            Some(source) => source,
            None => Source::open(path, path, &self.options.load, CONTENT)?,
        };
        let hash = source.content_hash().expect("asked for");
        let library = PluginLibrary::open_source(path, source, &self.options.load)?;
        Ok((
            PluginHandle {
                path: Arc::from(path),
                copy: library.loaded_from().to_path_buf(),
                mapped: library.mapped_name().to_owned(),
                image: library.image(),
                generation,
                hash,
            },
            library,
        ))
    }

    /// Reports a refused reload and hands back its error.
    fn refused(&self, path: PathBuf, error: PluginError) -> PluginError {
        self.emit(ReloadEvent::Failed {
            path,
            reason: error.to_string(),
        });
        error
    }

    /// Each loaded library's providers.
    fn uses(&self) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
        self.lock()
            .libraries
            .iter()
            .map(|(path, record)| (path.clone(), record.uses.clone()))
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn emit(&self, event: ReloadEvent) {
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|subscriber| subscriber.send(event.clone()).is_ok());
    }
}

impl Drop for PluginManager {
    /// Unloads every library (proxies still held return
    /// [`CallError::Unloaded`](crate::CallError::Unloaded)).
    fn drop(&mut self) {
        drop(self.unload_all());
    }
}

/// New instances from `library` for every live proxy of `record`, with
/// their state carried over; in the order of `record.bindings` after
/// dropping dead ones. `None` for a proxy whose implementation is not in
/// `entries` (`Trait::Entry`), the new version's implementations, when the
/// new version still has the trait.
fn stage(
    record: &mut Record,
    library: &PluginLibrary,
    entries: &[String],
) -> Result<Vec<Option<Box<dyn Staged>>>, PluginError> {
    record.bindings.retain(|bound| bound.alive());
    let mut staged = Vec::with_capacity(record.bindings.len());
    for bound in &record.bindings {
        if !entries.contains(&entry_name(&**bound)) {
            // An implementation may go; a whole trait the host uses going
            // is a wrong file, refused.
            library.trait_info(bound.trait_name())?;
            staged.push(None);
            continue;
        }
        let target = bound.make(library, &record.children)?;
        bound.carry_state(&record.library, library, &*target)?;
        staged.push(Some(target));
    }
    Ok(staged)
}

/// `Trait::Entry` of a binding.
fn entry_name(bound: &dyn Rebind) -> String {
    format!("{}::{}", bound.trait_name(), bound.entry())
}

/// Frees an outgoing version's instances (their unmakers run) and closes
/// its library, removing its copy once it is verified gone.
fn finish(outgoing: Outgoing) {
    let Outgoing {
        targets,
        children,
        library,
    } = outgoing;
    drop(targets);
    drop(children);
    drop(library.close());
}

/// Frees the draining old versions that have gone idle.
fn reap(draining: &mut Vec<Outgoing>) {
    let now = Instant::now();
    let mut index = 0;
    while index < draining.len() {
        if gate::wait_idle(&draining[index].gates(), now) {
            finish(draining.swap_remove(index));
        } else {
            index += 1;
        }
    }
}

fn record<'a>(state: &'a mut State, path: &Path) -> Result<&'a mut Record, PluginError> {
    record_in(&mut state.libraries, path)
}

fn record_in<'a>(
    libraries: &'a mut BTreeMap<PathBuf, Record>,
    path: &Path,
) -> Result<&'a mut Record, PluginError> {
    libraries
        .get_mut(path)
        .ok_or_else(|| PluginError::NotLoaded {
            library: path.to_path_buf(),
        })
}

/// A proxy of `entry`: the resident instance when the library keeps one,
/// else a new instance, constructed with the library's setup.
fn proxy_of<I: ?Sized + PluginInterface>(
    record: &mut Record,
    services: &Services,
    entry: &str,
) -> Result<I::Proxy, PluginError>
where
    I::Proxy: Send,
{
    let trait_name = I::DESCRIPTOR.name.as_str();
    let resident = record
        .residents
        .iter()
        .filter(|resident| resident.trait_name == trait_name && resident.entry == entry)
        .find_map(Resident::binding::<I::VTable>);
    if let Some(binding) = resident {
        return Ok(I::wrap(RawProxy::from_binding(binding)));
    }
    record.check_requires(services)?;
    let setup = record.setup(services);
    let binding = with_setup(&setup, || make_binding::<I>(record, entry));
    record.note_uses(setup);
    Ok(I::wrap(RawProxy::from_binding(binding?)))
}

/// A new instance of `entry` behind a binding the manager follows.
/// Constructed with the setup in force on this thread.
fn make_binding<I: ?Sized + PluginInterface>(
    record: &mut Record,
    entry: &str,
) -> Result<Arc<Binding<I::VTable>>, PluginError>
where
    I::Proxy: Send,
{
    let mut target = record.library.make_entry::<I>(entry)?;
    target.hand_out_into(Arc::clone(&record.children));
    let binding = Arc::new(Binding::new(target, I::ABSENT));
    record
        .bindings
        .push(Box::new(Bound::<I>::new(&binding, entry)));
    Ok(binding)
}

fn absolute(path: &Path) -> Result<PathBuf, PluginError> {
    std::path::absolute(path).map_err(|source| PluginError::Io {
        library: path.to_path_buf(),
        source,
    })
}
