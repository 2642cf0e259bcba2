//! State carried across a reload: opt-in, versioned bytes that the old
//! instance saves and the new one restores.

use crate::repr::{RResult, RSlice, RString, RVec};

use crate::abi::{Registration, Returned};
use crate::carry::Unit;

/// State an instance hands to the instance that replaces it when its
/// library is reloaded through a [`PluginManager`](crate::PluginManager).
///
/// Implement it beside the plugin trait and opt in with the `state` flag:
///
/// ```
/// use plugin_interface::{PluginState, plugin_trait, plugin_impl, plugin_aggregates};
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// #[plugin_trait]
/// pub trait Counter {
///     fn increment(&self) -> u64;
/// }
///
/// #[plugin_aggregates(Counter)]
/// #[derive(Default)]
/// pub struct Tally(AtomicU64);
///
/// #[plugin_impl(Counter, state)]
/// impl Counter for Tally {
///     fn increment(&self) -> u64 {
///         self.0.fetch_add(1, Ordering::Relaxed) + 1
///     }
/// }
///
/// impl PluginState for Tally {
///     const STATE_VERSION: u32 = 1;
///
///     fn save_state(&self) -> Vec<u8> {
///         self.0.load(Ordering::Relaxed).to_le_bytes().to_vec()
///     }
///
///     fn load_state(&mut self, version: u32, bytes: &[u8]) -> Result<(), String> {
///         match (version, <[u8; 8]>::try_from(bytes)) {
///             (1, Ok(count)) => {
///                 *self.0.get_mut() = u64::from_le_bytes(count);
///                 Ok(())
///             }
///             _ => Err(format!("cannot read counter state version {version}")),
///         }
///     }
/// }
/// # fn main() {}
/// ```
///
/// The bytes are the plugin's own format: the framework never reads them,
/// it only hands them over with their version. State is never reinterpreted
/// by a version that did not say it can read it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `PluginState`",
    label = "`state` asks to carry this type's state across reloads",
    note = "implement `plugin_interface::PluginState` for the type, or drop the `state` flag"
)]
pub trait PluginState {
    /// Version of the bytes [`save_state`](Self::save_state) writes.
    const STATE_VERSION: u32;

    /// The instance's state, just before its library is replaced.
    fn save_state(&self) -> Vec<u8>;

    /// Restores state saved by the previous version, whose
    /// `STATE_VERSION` was `version`, into a fresh instance. An `Err`
    /// refuses the reload: the previous version keeps serving.
    fn load_state(&mut self, version: u32, bytes: &[u8]) -> Result<(), String>;
}

/// Saved state as it crosses the boundary.
#[repr(C)]
#[derive(Debug)]
pub struct SavedState {
    /// The saving side's [`PluginState::STATE_VERSION`].
    pub version: u32,
    /// The bytes, in the host's memory.
    pub bytes: RVec<u8>,
}

/// `plugin_save_state_<Trait>_<Type>_v1`.
#[cfg(feature = "host")]
pub type SaveState =
    unsafe extern "C" fn(registration: *const Registration) -> Returned<SavedState>;

/// `plugin_load_state_<Trait>_<Type>_v1`.
#[cfg(feature = "host")]
pub type LoadState = unsafe extern "C" fn(
    registration: *mut Registration,
    version: u32,
    bytes: RSlice<'_, u8>,
) -> Returned<RResult<Unit, RString>>;

/// Names the type whose state `#[plugin_impl(Trait, state)]` carries; the
/// one place a type without [`PluginState`] errors.
pub trait StateHooks {
    /// The implementing type.
    type Type: PluginState;
}

/// The body of `plugin_save_state_<Trait>_<Type>_v1`.
///
/// # Safety
///
/// As for `save`.
pub unsafe fn save_hook<S: StateHooks>(registration: *const Registration) -> Returned<SavedState> {
    // SAFETY: forwarded from the caller.
    unsafe { save::<S::Type>(registration) }
}

/// The body of `plugin_load_state_<Trait>_<Type>_v1`.
///
/// # Safety
///
/// As for `load`.
pub unsafe fn load_hook<S: StateHooks>(
    registration: *mut Registration,
    version: u32,
    bytes: RSlice<'_, u8>,
) -> Returned<RResult<Unit, RString>> {
    // SAFETY: forwarded from the caller.
    unsafe { load::<S::Type>(registration, version, bytes) }
}

/// Saves the state of a `T`.
///
/// # Safety
///
/// `registration` must be a live registration whose instance is a `T`,
/// made by this library's maker for `T`.
pub unsafe fn save<T: PluginState>(registration: *const Registration) -> Returned<SavedState> {
    crate::export::call(|| {
        // SAFETY: per the contract, the instance is a live `T`.
        let instance = unsafe { &*(*registration).instance.cast::<T>() };
        SavedState {
            version: T::STATE_VERSION,
            bytes: RVec::from(instance.save_state()),
        }
    })
}

/// Restores the state of a `T`.
///
/// # Safety
///
/// As for `save`, and nothing else may reference the instance during
/// the call.
pub unsafe fn load<T: PluginState>(
    registration: *mut Registration,
    version: u32,
    bytes: RSlice<'_, u8>,
) -> Returned<RResult<Unit, RString>> {
    crate::export::call(|| {
        // SAFETY: per the contract, the instance is a live `T`, not
        // referenced elsewhere.
        let instance = unsafe { &mut *(*registration).instance.cast::<T>() };
        match instance.load_state(version, bytes.as_slice()) {
            Ok(()) => RResult::ok(Unit::VALUE),
            Err(message) => RResult::err(RString::from(message)),
        }
    })
}

/// Saved state as a vector of the host's: the bytes are already in its
/// memory.
#[cfg(feature = "host")]
pub(crate) fn into_host(saved: SavedState) -> (u32, Vec<u8>) {
    (saved.version, saved.bytes.into_vec())
}
