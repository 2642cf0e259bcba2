//! The state every generated proxy wraps.

use core::any::Any;
use core::ffi::c_void;
use core::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::abi::PanicSlot;
use crate::error::PluginError;

/// Where a plugin instance came from.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    library: Arc<Path>,
    trait_name: &'static str,
    entry: Arc<str>,
}

impl PluginInfo {
    #[cfg_attr(not(feature = "host"), allow(dead_code))]
    pub(crate) fn new(library: Arc<Path>, trait_name: &'static str, entry: Arc<str>) -> Self {
        Self {
            library,
            trait_name,
            entry,
        }
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
    info: PluginInfo,
    _owner: Arc<dyn Any + Send + Sync>,
}

impl<V: 'static> RawProxy<V> {
    /// Wraps a registration.
    ///
    /// # Safety
    ///
    /// `instance` and `vtable` must come from one registration of a trait
    /// whose vtable type is `V`, checked against the host's interface, and
    /// `owner` must keep that registration alive and its library mapped.
    #[cfg_attr(not(feature = "host"), allow(dead_code))]
    pub(crate) unsafe fn new(
        instance: *mut c_void,
        vtable: *const V,
        info: PluginInfo,
        owner: Arc<dyn Any + Send + Sync>,
    ) -> Self {
        Self {
            instance,
            // SAFETY: the caller guarantees the vtable stays valid while
            // `owner` lives, and this struct holds `owner`; the `'static`
            // never escapes: `vtable()` hands it out for `&self` only.
            vtable: unsafe { &*vtable },
            info,
            _owner: owner,
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

    /// The error for a call of `method` that panicked, with the message the
    /// plugin left in `slot`.
    #[cold]
    #[inline(never)]
    pub fn panicked(&self, method: &'static str, slot: &mut PanicSlot) -> PluginError {
        PluginError::Panicked {
            library: self.info.library.to_path_buf(),
            trait_name: self.info.trait_name.to_owned(),
            method: method.to_owned(),
            message: slot.take().unwrap_or_else(|| "<no message>".to_owned()),
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
