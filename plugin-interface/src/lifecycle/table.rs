//! The tables the host hands a library: its [`HostTable`] once, right
//! after the allocator, and a [`ContextTable`] per construction.

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::repr::{RStr, RString};

use crate::abi::TraitDescriptor;
use crate::carry::RObject;

/// What a host offers every library it loads: its logger and the
/// construction in progress. A static of the host, so it outlives every
/// library; fields are only ever appended (`size` says how many a host
/// has).
#[repr(C)]
#[derive(Debug)]
pub struct HostTable {
    /// `size_of::<HostTable>()` in the host that made the table.
    pub size: usize,
    /// The host's `plugin-interface` version.
    pub framework_version: RStr<'static>,
    /// The host's `log::max_level()`, as `log::LevelFilter as usize`.
    pub log_level: extern "C" fn() -> usize,
    /// Whether the host's logger takes records of `level` (a
    /// `log::Level as usize`) for `target`.
    pub log_enabled: extern "C" fn(level: usize, target: RStr<'_>) -> bool,
    /// Hands a record to the host's logger.
    pub log: extern "C" fn(record: &LogRecord<'_>),
    /// Flushes the host's logger.
    pub log_flush: extern "C" fn(),
    /// The construction in progress on the calling thread, or null.
    pub context: extern "C" fn() -> *const ContextTable,
}

/// One `log` record as it crosses, borrowed for the call.
#[repr(C)]
#[derive(Debug)]
pub struct LogRecord<'a> {
    /// `log::Level as usize`.
    pub level: usize,
    /// The record's target.
    pub target: RStr<'a>,
    /// The module that logged, or empty.
    pub module_path: RStr<'a>,
    /// The source file, or empty.
    pub file: RStr<'a>,
    /// The line, or 0.
    pub line: u32,
    /// The formatted message.
    pub message: RStr<'a>,
}

/// Looks up a service for a plugin's constructor: writes the object to
/// `out` and returns `true`, or writes why not to `error` and returns
/// `false`.
pub type ServiceLookup = unsafe extern "C" fn(
    state: *const c_void,
    descriptor: &'static TraitDescriptor,
    out: *mut RObject,
    error: *mut RString,
) -> bool;

/// What a host tells a constructor, valid for the length of the
/// construction.
#[repr(C)]
#[derive(Debug)]
pub struct ContextTable {
    /// The path the host loaded the library from.
    pub library: RStr<'static>,
    /// The plugin's configuration as a TOML document; empty for none.
    pub config: RStr<'static>,
    /// The host's state for `service`.
    pub state: *const c_void,
    /// Looks up a service by trait.
    pub service: ServiceLookup,
}

/// The host's table, in the library's image; null until the host calls
/// `plugin_host_v1`, and for a host that never does.
static HOST: AtomicPtr<HostTable> = AtomicPtr::new(ptr::null_mut());

/// The host's table, if it handed one over.
pub(crate) fn host() -> Option<&'static HostTable> {
    let table = HOST.load(Ordering::Acquire);
    // SAFETY: only `install` stores here, a table the host promised
    // outlives the library.
    unsafe { table.as_ref() }
}

/// The body of `plugin_host_v1`: keeps the host's table and routes the
/// library's `log` records to the host's logger. `crate_name` is the
/// plugin crate's, for the records' targets.
///
/// # Safety
///
/// `table` must be null or point to a [`HostTable`] that outlives the
/// library, with at least the fields its `size` covers.
pub unsafe fn install(table: *const HostTable, crate_name: &'static str) {
    // SAFETY: per the contract.
    let Some(host) = (unsafe { table.as_ref() }) else {
        return;
    };
    if host.size < size_of::<HostTable>() {
        // An older host without every field: nothing to forward to.
        return;
    }
    HOST.store(table.cast_mut(), Ordering::Release);
    // A panic here has nobody to report to: the library then logs nowhere.
    let _ = std::panic::catch_unwind(|| super::bridge::install(crate_name));
}
