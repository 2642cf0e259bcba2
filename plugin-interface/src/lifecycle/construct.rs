//! The host's side of a construction: the configuration and services a
//! manager offers, and the [`ContextTable`] a constructor reads them
//! through.

use core::ffi::c_void;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::repr::{RStr, RString};

use super::host;
use super::table::ContextTable;
use crate::abi::TraitDescriptor;
use crate::carry::RObject;

/// Who provides a service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Provider {
    /// The host, through `PluginManager::provide`.
    Host,
    /// The plugin library loaded from this path.
    Library(PathBuf),
}

impl core::fmt::Display for Provider {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Host => f.write_str("the host"),
            Self::Library(path) => write!(f, "{}", path.display()),
        }
    }
}

/// One service: a shared object of a plugin trait, sent anew to each
/// constructor that asks for it.
#[derive(Clone)]
pub(crate) struct Service {
    pub(crate) descriptor: &'static TraitDescriptor,
    pub(crate) provider: Provider,
    /// Sends another reference to the object.
    pub(crate) send: Arc<dyn Fn() -> RObject + Send + Sync>,
}

/// The services on offer, by trait name.
#[derive(Clone, Default)]
pub(crate) struct Services {
    by_trait: BTreeMap<String, Vec<Service>>,
}

impl core::fmt::Debug for Services {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_map()
            .entries(self.by_trait.iter().map(|(name, services)| {
                let providers: Vec<String> =
                    services.iter().map(|s| s.provider.to_string()).collect();
                (name, providers)
            }))
            .finish()
    }
}

impl Services {
    /// Offers `service`; a second provider of a trait makes it ambiguous
    /// until one of them goes.
    pub(crate) fn add(&mut self, service: Service) {
        self.by_trait
            .entry(service.descriptor.name.as_str().to_owned())
            .or_default()
            .push(service);
    }

    /// Withdraws what `provider` offers.
    pub(crate) fn remove(&mut self, provider: &Provider) {
        for services in self.by_trait.values_mut() {
            services.retain(|service| service.provider != *provider);
        }
        self.by_trait.retain(|_, services| !services.is_empty());
    }

    /// The providers of `trait_name`.
    pub(crate) fn providers(&self, trait_name: &str) -> Vec<Provider> {
        self.by_trait
            .get(trait_name)
            .map(|services| services.iter().map(|s| s.provider.clone()).collect())
            .unwrap_or_default()
    }

    /// The one service of the trait `wanted` describes, or why there is
    /// none to give.
    fn find(&self, wanted: &TraitDescriptor) -> Result<&Service, String> {
        let name = wanted.name.as_str();
        let services = self
            .by_trait
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let service = match services {
            [] => {
                return Err(format!(
                    "no service provides `{name}`: the host provides one with `PluginManager::provide::<dyn {name}>`, or a plugin implementing `{name}` loads first"
                ));
            }
            [service] => service,
            several => {
                let providers: Vec<String> =
                    several.iter().map(|s| s.provider.to_string()).collect();
                return Err(format!(
                    "`{name}` is provided by {}: select one",
                    providers.join(" and ")
                ));
            }
        };
        let offered = service.descriptor;
        if offered.fingerprint != wanted.fingerprint {
            return Err(format!(
                "{} provides `{name}` from {} {}, the plugin was built against {} {}, and their layouts differ",
                service.provider,
                offered.interface_crate.as_str(),
                offered.interface_version.as_str(),
                wanted.interface_crate.as_str(),
                wanted.interface_version.as_str(),
            ));
        }
        Ok(service)
    }
}

/// What a manager offers the constructions it runs.
#[derive(Debug, Default)]
pub(crate) struct Setup {
    /// The plugin's configuration, a TOML document.
    pub(crate) config: String,
    pub(crate) services: Services,
    /// The providers whose services the constructions took.
    pub(crate) used: std::sync::Mutex<Vec<Provider>>,
}

thread_local! {
    /// The setup of the manager running constructions on this thread.
    static SETUP: Cell<*const Setup> = const { Cell::new(core::ptr::null()) };
}

/// Runs `f` with `setup` offered to every construction it starts on this
/// thread.
pub(crate) fn with_setup<R>(setup: &Setup, f: impl FnOnce() -> R) -> R {
    struct Restore(*const Setup);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = SETUP.try_with(|current| current.set(self.0));
        }
    }
    let previous = SETUP
        .try_with(|current| current.replace(setup))
        .unwrap_or(core::ptr::null());
    let _restore = Restore(previous);
    f()
}

/// The state behind a [`ContextTable`]: the setup in force, if any.
struct Lookup {
    setup: *const Setup,
}

/// A construction in progress on this thread: what its constructor's
/// `PluginContext` reads, until dropped.
pub(crate) struct Constructing {
    _table: Box<ContextTable>,
    _library: Box<str>,
    _config: Box<str>,
    _lookup: Box<Lookup>,
    previous: *const ContextTable,
}

impl Constructing {
    /// Starts a construction of a plugin of `library`, with the setup of
    /// the manager running it, if any.
    pub(crate) fn enter(library: &Path) -> Self {
        // SAFETY: `with_setup` keeps the setup alive while it is current.
        let setup = unsafe {
            SETUP
                .try_with(Cell::get)
                .unwrap_or(core::ptr::null())
                .as_ref()
        };
        let library: Box<str> = library.to_string_lossy().into();
        let config: Box<str> = setup.map_or("", |setup| setup.config.as_str()).into();
        let lookup = Box::new(Lookup {
            setup: setup.map_or(core::ptr::null(), core::ptr::from_ref),
        });
        // SAFETY: the boxed text lives in this value next to the table,
        // which is current only until this value is dropped.
        let library_text: &'static str = unsafe { &*core::ptr::from_ref::<str>(&library) };
        // SAFETY: as above.
        let config_text: &'static str = unsafe { &*core::ptr::from_ref::<str>(&config) };
        let table = Box::new(ContextTable {
            library: RStr::new(library_text),
            config: RStr::new(config_text),
            state: core::ptr::from_ref::<Lookup>(&lookup).cast::<c_void>(),
            service,
        });
        let previous = host::enter(&*table);
        Self {
            _table: table,
            _library: library,
            _config: config,
            _lookup: lookup,
            previous,
        }
    }
}

impl Drop for Constructing {
    fn drop(&mut self) {
        host::leave(self.previous);
    }
}

/// The host's [`ServiceLookup`](super::table::ServiceLookup).
///
/// # Safety
///
/// `state` must be the state of a live [`Constructing`], `out` and
/// `error` writable.
unsafe extern "C" fn service(
    state: *const c_void,
    descriptor: &'static TraitDescriptor,
    out: *mut RObject,
    error: *mut RString,
) -> bool {
    // SAFETY: per the contract.
    let lookup = unsafe { &*state.cast::<Lookup>() };
    // SAFETY: a live construction runs inside the `with_setup` of its
    // setup, if it has one.
    let setup = unsafe { lookup.setup.as_ref() };
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let setup = setup.ok_or_else(|| {
            "the library was loaded without a `PluginManager`, which offers no services".to_owned()
        })?;
        let service = setup.services.find(descriptor)?;
        setup
            .used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(service.provider.clone());
        Ok((service.send)())
    }))
    .unwrap_or_else(|_| Err("looking up the service panicked".to_owned()));
    match found {
        Ok(object) => {
            // SAFETY: per the contract, writable.
            unsafe { out.write(object) };
            true
        }
        Err(message) => {
            // SAFETY: per the contract, writable.
            unsafe { error.write(RString::from(message)) };
            false
        }
    }
}
