//! The state every generated proxy wraps.

use core::any::Any;
use core::ffi::c_void;
use core::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::abi::Failure;
use crate::error::PluginError;

/// Where a plugin instance came from.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    library: Arc<Path>,
    trait_name: &'static str,
    entry: Arc<str>,
    interface: Arc<str>,
}

impl PluginInfo {
    #[cfg_attr(not(feature = "host"), allow(dead_code))]
    pub(crate) fn new(
        library: Arc<Path>,
        trait_name: &'static str,
        entry: Arc<str>,
        interface: Arc<str>,
    ) -> Self {
        Self {
            library,
            trait_name,
            entry,
            interface,
        }
    }

    /// Interface crate and version the plugin was built against, e.g.
    /// `greeter-interface 1.0.0`.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// Path of the library the instance lives in.
    pub fn library(&self) -> &Path {
        &self.library
    }

    /// Trait the instance implements.
    pub fn trait_name(&self) -> &'static str {
        self.trait_name
    }

    /// Name of the implementing type, e.g. `English`.
    pub fn entry(&self) -> &str {
        &self.entry
    }
}

/// One plugin instance seen from the host: the instance pointer, its vtable,
/// and a reference that keeps its library mapped. Generated proxies wrap it.
pub struct RawProxy<V: 'static> {
    instance: *mut c_void,
    vtable: &'static V,
    slots: u32,
    info: PluginInfo,
    /// A full-size copy of a plugin vtable shorter than the host's.
    _extended: Option<Box<V>>,
    _owner: Arc<dyn Any + Send + Sync>,
}

impl<V: 'static> RawProxy<V> {
    /// Wraps a registration.
    ///
    /// # Safety
    ///
    /// `instance` and `vtable` must come from one registration of a trait
    /// whose vtable type is `V`, checked against the host's interface; the
    /// first `slots` method slots of `vtable` must be the plugin's, and the
    /// whole of `V` readable (the plugin's table, or `extended`, a copy of
    /// it with the missing slots filled). `owner` must keep the
    /// registration alive and its library mapped.
    #[cfg_attr(not(feature = "host"), allow(dead_code))]
    pub(crate) unsafe fn new(
        instance: *mut c_void,
        vtable: *const V,
        slots: u32,
        extended: Option<Box<V>>,
        info: PluginInfo,
        owner: Arc<dyn Any + Send + Sync>,
    ) -> Self {
        let vtable = match &extended {
            Some(copy) => &raw const **copy,
            None => vtable,
        };
        Self {
            instance,
            // SAFETY: the caller guarantees the table is valid while `owner`
            // lives; this struct holds `owner` and the copy, whose heap
            // address does not move. The `'static` never escapes:
            // `vtable()` hands it out for `&self` only.
            vtable: unsafe { &*vtable },
            slots,
            info,
            _extended: extended,
            _owner: owner,
        }
    }

    /// How many of the trait's methods the plugin has: all of them, unless
    /// it was built against an older minor version of the interface.
    #[inline(always)]
    pub fn slots(&self) -> u32 {
        self.slots
    }

    /// The error for a call of `method`, which the plugin lacks.
    #[cold]
    #[inline(never)]
    pub fn missing(&self, method: &'static str) -> PluginError {
        PluginError::MethodMissing {
            library: self.info.library.to_path_buf(),
            trait_name: self.info.trait_name.to_owned(),
            method: method.to_owned(),
            interface: self.info.interface.to_string(),
        }
    }

    /// The vtable, valid as long as this proxy.
    #[inline(always)]
    pub fn vtable(&self) -> &V {
        self.vtable
    }

    /// The instance pointer to pass to the vtable's functions.
    #[inline(always)]
    pub fn instance(&self) -> *mut c_void {
        self.instance
    }

    /// Where the instance came from.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// The error for a call of `method` that returned `failure`: the
    /// plugin lacks the method, or it panicked.
    ///
    /// # Safety
    ///
    /// `failure` must be the non-null failure a call of this proxy just
    /// returned, not yet taken.
    #[cold]
    #[inline(never)]
    pub unsafe fn failed(&self, method: &'static str, failure: *mut Failure) -> PluginError {
        // SAFETY: per the contract; the library is loaded while `self` is.
        match unsafe { Failure::take(failure) } {
            None => self.missing(method),
            Some(message) => PluginError::Panicked {
                library: self.info.library.to_path_buf(),
                trait_name: self.info.trait_name.to_owned(),
                method: method.to_owned(),
                message,
            },
        }
    }
}

impl<V> fmt::Debug for RawProxy<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawProxy")
            .field("trait", &self.info.trait_name)
            .field("entry", &self.info.entry)
            .field("library", &self.info.library)
            .finish_non_exhaustive()
    }
}
