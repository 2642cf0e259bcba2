//! Loading libraries as plugins: their instances are made at load, with
//! their configuration and the services they require, in dependency
//! order, and kept until the library is unloaded, dependents first.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::graph::{self, Node};
use super::services::{self, MakeResident, Resident};
use super::{PluginManager, Record, absolute, reap};
use crate::carry::ObjectInterface;
use crate::error::PluginError;
use crate::interface::PluginInterface;
use crate::lifecycle::construct::{Provider, with_setup};
use crate::loader::{PluginSpec, UnloadReport};
use crate::manager::PluginHandle;
use crate::proxy::RawProxy;

/// One library to load as a plugin.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) path: PathBuf,
    /// The one implementation to make, else all of them.
    pub(super) entry: Option<String>,
    /// The one trait to make, else every trait the host knows.
    pub(super) trait_name: Option<String>,
    /// The configuration, a TOML document.
    pub(super) config: String,
}

impl Plan {
    /// A plan from a kind, `lib:PATH?entry=NAME#Trait` or a path, whose
    /// relative path is relative to `base`.
    pub(super) fn new(kind: &str, base: &Path, config: String) -> Result<Self, PluginError> {
        let spec = if kind.starts_with(PluginSpec::PREFIX) {
            PluginSpec::parse(kind)?
        } else {
            PluginSpec::parse(&format!("{}{kind}", PluginSpec::PREFIX))?
        };
        Ok(Self {
            path: absolute(&base.join(spec.path))?,
            entry: spec.entry,
            trait_name: spec.trait_name,
            config,
        })
    }
}

impl PluginManager {
    /// Offers `service` to every plugin constructed from now on that asks
    /// for a `dyn Trait` service (`PluginContext::service`), or requires
    /// one (`#[plugin_aggregates(..., requires(Trait))]`).
    ///
    /// A trait provided twice (by the host and by a plugin, say) is
    /// ambiguous: constructors asking for it are refused.
    pub fn provide<I>(&self, service: Arc<I>)
    where
        I: ?Sized + ObjectInterface + Send + Sync,
    {
        self.lock()
            .services
            .add(services::service(service, Provider::Host));
    }

    /// Loads a library as a plugin: its instances are made now, each once,
    /// with `config` (a TOML document, the body of a `config` table) and
    /// the services it requires, and kept until it is unloaded. They serve
    /// as services of their traits to plugins loaded later, and
    /// [`proxy`](Self::proxy) hands out proxies of them.
    ///
    /// `kind` is a library path, or `lib:PATH?entry=NAME#Trait` selecting
    /// one implementation and one trait; without `#Trait`, every trait of
    /// the library that the host links (a `Send + Sync` `#[plugin_trait]`)
    /// is made.
    ///
    /// A required service that nothing provides is
    /// [`PluginError::MissingService`]; a constructor's error is
    /// [`PluginError::ConstructorRefused`]. Either way nothing of the
    /// library stays loaded.
    pub fn load_plugin(&self, kind: &str, config: &str) -> Result<PluginHandle, PluginError> {
        let plan = Plan::new(kind, Path::new(""), config.to_owned())?;
        let mut handles = self.start(vec![plan]).map_err(|(_, error)| error)?;
        Ok(handles.remove(0))
    }

    /// A proxy of every plugin of trait `I` the manager keeps (loaded with
    /// [`load_plugin`](Self::load_plugin) or
    /// [`load_manifest`](Self::load_manifest)), in library path order.
    pub fn plugins<I: ?Sized + PluginInterface>(&self) -> Vec<I::Proxy>
    where
        I::Proxy: Send,
    {
        let name = I::DESCRIPTOR.name.as_str();
        self.lock()
            .libraries
            .values()
            .flat_map(|record| &record.residents)
            .filter(|resident| resident.trait_name == name)
            .filter_map(Resident::binding::<I::VTable>)
            .map(|binding| I::wrap(RawProxy::from_binding(binding)))
            .collect()
    }

    /// Unloads the library loaded from `path` after every library that
    /// uses its services, directly or not, dependents first. One report
    /// per library, in the order they were unloaded.
    pub fn unload_cascade(&self, path: impl AsRef<Path>) -> Result<Vec<UnloadReport>, PluginError> {
        let path = absolute(path.as_ref())?;
        let mut reports = Vec::new();
        for dependent in graph::dependents(&self.uses(), &path) {
            reports.push(self.unload_by_path(&dependent)?);
        }
        reports.push(self.unload_by_path(&path)?);
        Ok(reports)
    }

    /// Loads `plans` as plugins, constructing them in dependency order;
    /// all of them or, on the first error (with its plan's index), none.
    pub(super) fn start(
        &self,
        plans: Vec<Plan>,
    ) -> Result<Vec<PluginHandle>, (usize, PluginError)> {
        let mut state = self.lock();
        reap(&mut state.draining);
        let mut opened: Vec<(Record, Vec<Selected>)> = Vec::with_capacity(plans.len());
        for (index, plan) in plans.iter().enumerate() {
            let loaded = state.libraries.contains_key(&plan.path)
                || opened
                    .iter()
                    .any(|(record, _)| *record.handle.path == *plan.path);
            if loaded {
                return Err((
                    index,
                    PluginError::AlreadyLoaded {
                        library: plan.path.clone(),
                    },
                ));
            }
            let (handle, library) = self
                .open(&plan.path, 1, None)
                .map_err(|error| (index, error))?;
            #[cfg(unix)]
            if library.worker().is_some() {
                // The host's configuration and services do not reach a
                // worker: a resident plugin is made in this process only.
                return Err((
                    index,
                    PluginError::Worker {
                        library: plan.path.clone(),
                        reason: "a plugin kept resident with the host's configuration and services is made in this process; load this library without `Isolation::Process`".to_owned(),
                    },
                ));
            }
            let record = Record::new(handle, library, plan.config.clone());
            let selected = select(&record, plan).map_err(|error| (index, error))?;
            opened.push((record, selected));
        }
        let nodes: Vec<Node> = opened
            .iter()
            .map(|(record, selected)| Node {
                library: record.handle.path.to_path_buf(),
                provides: selected.iter().map(|s| s.trait_name.clone()).collect(),
                requires: record.requires().to_vec(),
            })
            .collect();
        let mut services = state.services.clone();
        let order = graph::construction_order(&nodes, |name| !services.providers(name).is_empty())?;
        let mut made: Vec<usize> = Vec::with_capacity(order.len());
        for &index in &order {
            let (record, selected) = &mut opened[index];
            let result = record.check_requires(&services).and_then(|()| {
                let setup = record.setup(&services);
                let residents = with_setup(&setup, || {
                    let mut residents: Vec<Resident> = Vec::new();
                    for one in selected.iter() {
                        for entry in &one.entries {
                            residents.push((one.make)(record, entry, &mut services)?);
                        }
                    }
                    Ok::<_, PluginError>(residents)
                });
                record.note_uses(setup);
                record.residents.extend(residents?);
                Ok(())
            });
            if let Err(error) = result {
                // Dependents first: the reverse of construction.
                drop(services);
                for &built in made.iter().rev().chain([&index]) {
                    let (record, _) = &mut opened[built];
                    drop(core::mem::take(&mut record.residents));
                    drop(core::mem::take(&mut record.bindings));
                }
                return Err((index, error));
            }
            made.push(index);
        }
        state.services = services;
        let handles = opened
            .into_iter()
            .map(|(record, _)| {
                let handle = record.handle.clone();
                state.libraries.insert(handle.path.to_path_buf(), record);
                handle
            })
            .collect();
        Ok(handles)
    }
}

/// One trait of a library to make resident, with its implementations.
struct Selected {
    trait_name: String,
    make: MakeResident,
    entries: Vec<String>,
}

/// What `plan` selects of the library in `record`.
fn select(record: &Record, plan: &Plan) -> Result<Vec<Selected>, PluginError> {
    let library = record.library.path().to_path_buf();
    let canary = record.library.canary();
    let available = canary.trait_names();
    if let Some(name) = plan
        .trait_name
        .as_ref()
        .filter(|name| !available.contains(name))
    {
        return Err(PluginError::TraitNotExported {
            library,
            trait_name: name.clone(),
            available,
        });
    }
    let mut selected = Vec::new();
    for info in &canary.traits {
        if plan
            .trait_name
            .as_ref()
            .is_some_and(|name| *name != info.name)
        {
            continue;
        }
        let trait_name = info.name.clone();
        let Some(make) = services::known(info) else {
            if plan.trait_name.is_some() {
                return Err(PluginError::Service {
                    library,
                    trait_name,
                    message: "the host links no `Send + Sync` interface of this name, so it cannot keep such a plugin".to_owned(),
                });
            }
            continue;
        };
        let entries: Vec<String> = record
            .library
            .entries(&trait_name)?
            .into_iter()
            .map(|info| info.entry)
            .filter(|entry| plan.entry.as_ref().is_none_or(|wanted| wanted == entry))
            .collect();
        selected.push(Selected {
            trait_name,
            make,
            entries,
        });
    }
    if let Some(entry) = &plan.entry
        && selected.iter().all(|one| one.entries.is_empty())
    {
        let trait_name = selected
            .first()
            .map(|one| one.trait_name.clone())
            .or_else(|| plan.trait_name.clone())
            .unwrap_or_default();
        let available = match selected.first() {
            Some(one) => record
                .library
                .entries(&one.trait_name)?
                .into_iter()
                .map(|info| info.entry)
                .collect(),
            None => Vec::new(),
        };
        return Err(PluginError::EntryNotFound {
            library,
            trait_name,
            entry: entry.clone(),
            available,
        });
    }
    Ok(selected)
}
