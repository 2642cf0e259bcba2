//! Types that cross the boundary between a host and a plugin library.
//!
//! Everything here is `#[repr(C)]` and is read by a host that was compiled
//! separately from the plugin, so field order and types only ever change
//! together with [`ABI_EPOCH`] (or, for the canary, [`CANARY_VERSION`]).

use core::ffi::c_void;
use core::fmt;
use core::mem::MaybeUninit;

use crate::repr::{RSlice, RStr, RString};

use crate::layout::{ArgLayout, Fnv, TypeLayout};

/// The boundary forms of carried values that are the framework's own: how
/// arrays, `u128`/`i128`, tuples, objects and closures cross.
pub use crate::carry::{
    Array, Callback, RObject, Tuple1, Tuple2, Tuple3, Tuple4, Tuple5, Tuple6, Tuple7, Tuple8,
    Tuple9, Tuple10, Tuple11, Tuple12, Wide,
};
pub use plugin_symbols::CANARY_VERSION;

/// Version of the calling convention between hosts and plugins: the shape of
/// registrations, vtable prefixes, returned values and failures, panic
/// slots and the exported functions.
/// A host refuses a plugin built with another epoch.
pub const ABI_EPOCH: u32 = 4;

/// First bytes of every canary.
pub const CANARY_MAGIC: [u8; 8] = *b"RSPLUGIN";

/// Version of `plugin-interface` that built this code.
pub const FRAMEWORK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `rustc --version` of the compiler that built this code.
pub const RUSTC_VERSION: &str = env!("PLUGIN_INTERFACE_RUSTC_VERSION");

/// Target triple this code was built for.
pub const TARGET: &str = env!("PLUGIN_INTERFACE_TARGET");

/// The canary static every plugin library exports under
/// [`plugin_symbols::CANARY`]. The host reads it with `dlsym` alone, before
/// calling any function of the library.
///
/// The first three fields never move: a host reads `magic`, then
/// `canary_version`; the version fixes the layout of everything after it,
/// and `abi_epoch` decides whether the plugin's functions can be called.
#[repr(C)]
pub struct PluginCanary {
    /// Always [`CANARY_MAGIC`].
    pub magic: [u8; 8],
    /// Layout version of this struct, [`CANARY_VERSION`].
    pub canary_version: u32,
    /// [`ABI_EPOCH`] of the framework that built the plugin.
    pub abi_epoch: u32,
    /// [`FRAMEWORK_VERSION`] of the framework that built the plugin.
    pub framework_version: RStr<'static>,
    /// [`RUSTC_VERSION`] of the compiler that built the plugin.
    pub rustc_version: RStr<'static>,
    /// [`TARGET`] the plugin was built for.
    pub target: RStr<'static>,
    /// [`PanicStrategy`] of the plugin build, as its `u8` value.
    pub panic_strategy: u8,
    /// The traits the library implements, one descriptor each.
    pub traits: RSlice<'static, &'static TraitDescriptor>,
}

impl PluginCanary {
    /// The canary of a library implementing `traits`, built with `panic`.
    pub const fn new(traits: &'static [&'static TraitDescriptor], panic: PanicStrategy) -> Self {
        Self {
            magic: CANARY_MAGIC,
            canary_version: CANARY_VERSION,
            abi_epoch: ABI_EPOCH,
            framework_version: RStr::new(FRAMEWORK_VERSION),
            rustc_version: RStr::new(RUSTC_VERSION),
            target: RStr::new(TARGET),
            panic_strategy: panic as u8,
            traits: RSlice::from_slice(traits),
        }
    }
}

impl fmt::Debug for PluginCanary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginCanary")
            .field("magic", &self.magic)
            .field("canary_version", &self.canary_version)
            .field("abi_epoch", &self.abi_epoch)
            .field("framework_version", &self.framework_version)
            .field("rustc_version", &self.rustc_version)
            .field("target", &self.target)
            .field("panic_strategy", &self.panic_strategy)
            .field("traits", &self.traits.len())
            .finish()
    }
}

/// How a build handles panics. A plugin built with `panic = "abort"` cannot
/// turn a panic into an error: it takes the host process down with it.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PanicStrategy {
    /// Panics unwind and are caught at the boundary.
    Unwind = 1,
    /// Panics abort the process.
    Abort = 2,
}

impl PanicStrategy {
    /// The strategy of the code being compiled.
    pub const CURRENT: Self = if cfg!(panic = "unwind") {
        Self::Unwind
    } else {
        Self::Abort
    };

    /// Decodes the canary's byte; `None` for a value no version defines.
    pub const fn from_u8(value: u8) -> Option<Self> {
        match value {
            1 => Some(Self::Unwind),
            2 => Some(Self::Abort),
            _ => None,
        }
    }
}

impl fmt::Display for PanicStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unwind => "unwind",
            Self::Abort => "abort",
        })
    }
}

/// Describes one plugin trait: what the canary lists per trait, and what the
/// host compares against its own copy of the interface crate.
#[repr(C)]
#[derive(Debug)]
pub struct TraitDescriptor {
    /// The trait's name, e.g. `Greeter`.
    pub name: RStr<'static>,
    /// Package that declares the trait, e.g. `greeter-interface`.
    pub interface_crate: RStr<'static>,
    /// Version of that package, e.g. `1.0.0`.
    pub interface_version: RStr<'static>,
    /// Size in bytes of the trait's vtable.
    pub vtable_size: u32,
    /// Number of methods in the vtable.
    pub method_count: u32,
    /// Whether the trait has `Send` as a supertrait.
    pub send: bool,
    /// Whether the trait has `Sync` as a supertrait.
    pub sync: bool,
    /// One entry per method, in vtable order.
    pub methods: RSlice<'static, MethodDescriptor>,
    /// Fingerprint of the supertraits and every method's fingerprint: equal
    /// fingerprints mean the same vtable.
    pub fingerprint: u64,
}

impl TraitDescriptor {
    /// A descriptor; computes the fingerprint.
    pub const fn new(
        name: &'static str,
        interface_crate: &'static str,
        interface_version: &'static str,
        vtable_size: usize,
        send: bool,
        sync: bool,
        methods: &'static [MethodDescriptor],
    ) -> Self {
        let mut hash = Fnv::new()
            .byte(send as u8)
            .byte(sync as u8)
            .u32(methods.len() as u32);
        let mut index = 0;
        while index < methods.len() {
            let bytes = methods[index].fingerprint.to_le_bytes();
            let mut byte = 0;
            while byte < 8 {
                hash = hash.byte(bytes[byte]);
                byte += 1;
            }
            index += 1;
        }
        Self {
            name: RStr::new(name),
            interface_crate: RStr::new(interface_crate),
            interface_version: RStr::new(interface_version),
            vtable_size: vtable_size as u32,
            method_count: methods.len() as u32,
            send,
            sync,
            methods: RSlice::from_slice(methods),
            fingerprint: hash.finish(),
        }
    }
}

/// Describes one method of a plugin trait: its vtable slot.
#[repr(C)]
#[derive(Debug)]
pub struct MethodDescriptor {
    /// The method's name.
    pub name: RStr<'static>,
    /// The method's signature as written in the trait, e.g.
    /// `fn greet(&self, target: &str) -> String`.
    pub signature: RStr<'static>,
    /// Whether the receiver is `&mut self`.
    pub mutable: bool,
    /// The arguments after the receiver, as they cross.
    pub args: RSlice<'static, ArgLayout>,
    /// The return value as it crosses.
    pub ret: &'static TypeLayout,
    /// Fingerprint of the name, receiver, argument and return layouts (not
    /// of argument names): equal fingerprints mean the same slot.
    pub fingerprint: u64,
}

impl MethodDescriptor {
    /// A descriptor; computes the fingerprint.
    pub const fn new(
        name: &'static str,
        signature: &'static str,
        mutable: bool,
        args: &'static [ArgLayout],
        ret: &'static TypeLayout,
    ) -> Self {
        let name = RStr::new(name);
        let mut hash = Fnv::new()
            .str(name)
            .byte(mutable as u8)
            .u32(args.len() as u32);
        let mut index = 0;
        while index < args.len() {
            hash = hash.layout(args[index].ty);
            index += 1;
        }
        Self {
            name,
            signature: RStr::new(signature),
            mutable,
            args: RSlice::from_slice(args),
            ret,
            fingerprint: hash.layout(ret).finish(),
        }
    }
}

/// The start of every generated vtable: how big it is and how to drop the
/// instance it serves.
#[repr(C)]
pub struct VTablePrefix {
    /// Size of the whole vtable in bytes.
    pub size: u32,
    /// Number of method slots after the prefix.
    pub method_count: u32,
    /// Drops the instance (`Box<T>`) the vtable serves.
    pub drop: unsafe extern "C" fn(instance: *mut c_void),
}

impl fmt::Debug for VTablePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VTablePrefix")
            .field("size", &self.size)
            .field("method_count", &self.method_count)
            .finish_non_exhaustive()
    }
}

/// What every method shim returns: the value, or a failure. For values of
/// up to 8 bytes the whole struct travels in two registers, so a call
/// that does not fail costs one test of `failure` and nothing in memory.
#[repr(C)]
pub struct Returned<T> {
    /// The value; initialised exactly when `failure` is null.
    pub value: MaybeUninit<T>,
    /// Null, or [`Failure::ABSENT`], or a failure the callee allocated.
    pub failure: *mut Failure,
}

impl<T> Returned<T> {
    /// A value.
    #[inline(always)]
    pub fn ok(value: T) -> Self {
        Self {
            value: MaybeUninit::new(value),
            failure: core::ptr::null_mut(),
        }
    }

    /// A failure the callee made.
    #[cold]
    pub fn failed(failure: *mut Failure) -> Self {
        Self {
            value: MaybeUninit::uninit(),
            failure,
        }
    }

    /// The method is not in the plugin (returned by host-side stand-ins).
    #[cold]
    pub fn absent() -> Self {
        Self {
            value: MaybeUninit::uninit(),
            failure: Failure::ABSENT,
        }
    }
}

impl<T> fmt::Debug for Returned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Returned")
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

/// A failed call's report, allocated by the side that failed and freed
/// through its own `free`.
#[repr(C)]
pub struct Failure {
    /// The panic message.
    pub message: RString,
    /// Frees this report, and the payload if it is still here.
    pub free: unsafe extern "C" fn(failure: *mut Failure),
    /// The original panic payload (a `Box<Box<dyn Any + Send>>`), kept
    /// when the failing side had lent a callback for the call in progress,
    /// so that the panic resumes there as it began; null otherwise.
    pub payload: *mut c_void,
    /// The image (host or library) that made the report.
    pub origin: *const c_void,
}

/// A panic payload, as `catch_unwind` returns it.
pub type Payload = Box<dyn core::any::Any + Send>;

impl Failure {
    /// Marks a method the plugin lacks; never dereferenced.
    pub const ABSENT: *mut Failure = core::ptr::dangling_mut::<Failure>();

    /// A report of a panic with `message`, made in the image `origin`,
    /// keeping `payload` if given.
    pub(crate) fn new(
        message: String,
        payload: Option<Payload>,
        origin: *const c_void,
    ) -> *mut Self {
        let payload = match payload {
            Some(payload) => Box::into_raw(Box::new(payload)).cast::<c_void>(),
            None => core::ptr::null_mut(),
        };
        Box::into_raw(Box::new(Failure {
            message: RString::from(message),
            free: free_failure,
            payload,
            origin,
        }))
    }

    /// The message of a failure a call returned, copied into this side's
    /// memory, and the failure freed; `None` for [`Failure::ABSENT`].
    ///
    /// # Safety
    ///
    /// `failure` must be a non-null failure returned by a call, not yet
    /// taken, from a library that is still loaded.
    pub unsafe fn take(failure: *mut Failure) -> Option<String> {
        // SAFETY: forwarded.
        unsafe { Self::take_panic(failure, core::ptr::null()) }.map(|(message, _)| message)
    }

    /// As [`take`](Self::take), and the original payload too when the
    /// failure was made by the image `this` and kept it.
    ///
    /// # Safety
    ///
    /// As for [`take`](Self::take).
    pub unsafe fn take_panic(
        failure: *mut Failure,
        this: *const c_void,
    ) -> Option<(String, Option<Payload>)> {
        if failure == Self::ABSENT {
            return None;
        }
        // SAFETY: per the contract, a live report of the callee's; a
        // payload is a `Box<Payload>` of this image when `origin` is it.
        unsafe {
            let message = (*failure).message.to_string_lossy();
            let mut payload = None;
            if !this.is_null() && (*failure).origin == this && !(*failure).payload.is_null() {
                payload = Some(*Box::from_raw((*failure).payload.cast::<Payload>()));
                (*failure).payload = core::ptr::null_mut();
            }
            ((*failure).free)(failure);
            Some((message, payload))
        }
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Failure")
            .field("message", &self.message)
            .field("payload", &!self.payload.is_null())
            .finish_non_exhaustive()
    }
}

/// The `free` of every [`Failure`] made by [`Failure::new`].
///
/// # Safety
///
/// `failure` must come from `Failure::new` in this library and not be used
/// afterwards.
unsafe extern "C" fn free_failure(failure: *mut Failure) {
    // SAFETY: per the contract, a `Box` this library made, whose payload,
    // if still there, is a `Box<Payload>` of this library.
    unsafe {
        let failure = Box::from_raw(failure);
        if !failure.payload.is_null() {
            crate::export::drop_payload(*Box::from_raw(failure.payload.cast::<Payload>()));
        }
    }
}

/// Where a maker or `register_all` reports a panic, or a constructor's
/// refusal. The caller passes a fresh slot; the callee writes a message
/// into it only when it panicked or its constructor returned an error,
/// and then returns null.
#[repr(C)]
pub struct PanicSlot {
    state: u8,
    message: MaybeUninit<RString>,
}

/// Nothing happened.
const CLEAR: u8 = 0;
/// A panic; `message` holds its text.
const PANICKED: u8 = 1;
/// A constructor returned an error; `message` holds its text.
const REFUSED: u8 = 2;

impl PanicSlot {
    /// An empty slot.
    #[inline]
    pub const fn new() -> Self {
        Self {
            state: CLEAR,
            message: MaybeUninit::uninit(),
        }
    }

    /// Whether the call that received this slot panicked.
    #[inline(always)]
    pub fn is_raised(&self) -> bool {
        self.state != CLEAR
    }

    /// Records a panic message. A second message replaces the first.
    pub fn raise(&mut self, message: String) {
        self.clear();
        self.message.write(RString::from(message));
        self.state = PANICKED;
    }

    /// Records a constructor's refusal. A second message replaces the
    /// first.
    pub fn refuse(&mut self, message: String) {
        self.clear();
        self.message.write(RString::from(message));
        self.state = REFUSED;
    }

    /// Whether what was raised is a constructor's refusal, not a panic.
    pub fn is_refused(&self) -> bool {
        self.state == REFUSED
    }

    /// Takes the message of a panic or a refusal out, copied into memory of the calling side,
    /// and empties the slot.
    pub fn take(&mut self) -> Option<String> {
        if self.state == CLEAR {
            return None;
        }
        self.state = CLEAR;
        // SAFETY: the state was `PANICKED` or `REFUSED`, so `raise` or
        // `refuse` initialised `message`, and clearing the state first
        // means it is read once.
        let message = unsafe { self.message.assume_init_read() };
        Some(message.to_string_lossy())
    }

    fn clear(&mut self) {
        if self.state != CLEAR {
            self.clear_message();
        }
        self.state = CLEAR;
    }

    #[cold]
    #[inline(never)]
    fn clear_message(&mut self) {
        drop(self.take());
    }
}

impl Default for PanicSlot {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for PanicSlot {
    /// Free when nothing was raised: one inlined test of a stack byte.
    #[inline(always)]
    fn drop(&mut self) {
        if self.state != CLEAR {
            self.clear_message();
        }
    }
}

impl fmt::Debug for PanicSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanicSlot")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// One instance made by a maker: the instance pointer and the vtable that
/// serves it, with the names that identify it.
#[repr(C)]
#[derive(Debug)]
pub struct Registration {
    /// Trait the instance implements.
    pub trait_name: RStr<'static>,
    /// Name of the implementing type, e.g. `English`.
    pub entry: RStr<'static>,
    /// The instance, a `Box<T>` of the implementing type.
    pub instance: *mut c_void,
    /// The trait's vtable for the implementing type; starts with a
    /// [`VTablePrefix`].
    pub vtable: *const c_void,
}

/// Makes one instance. On panic it returns null and fills the slot.
pub type Maker = unsafe extern "C" fn(panic: *mut PanicSlot) -> *mut Registration;

/// Frees one instance made by the matching [`Maker`].
pub type Unmaker = unsafe extern "C" fn(registration: *mut Registration);

/// One implementation of a trait in a library: what `#[plugin_impl]`
/// registers with `inventory`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RegistrationFactory {
    /// Trait implemented.
    pub trait_name: RStr<'static>,
    /// Name of the implementing type.
    pub entry: RStr<'static>,
    /// Makes an instance (`plugin_register_<Trait>_<Type>_v1`).
    pub maker: Maker,
    /// Frees an instance (`plugin_unregister_<Trait>_<Type>_v1`).
    pub unmaker: Unmaker,
}

/// What `plugin_register_all_<Trait>_v1` returns: every registration of a
/// trait, with the factory that made each one at the same index.
#[repr(C)]
#[derive(Debug)]
pub struct RegistrationArray {
    /// Number of registrations (and of factories).
    pub count: usize,
    /// `count` registrations.
    pub registrations: *mut *mut Registration,
    /// `count` factories; `factories[i]` made `registrations[i]`.
    pub factories: *const RegistrationFactory,
    /// Frees this struct and its two arrays, not the registrations. Used
    /// after freeing every registration through its own factory's unmaker.
    pub release: unsafe extern "C" fn(array: *mut RegistrationArray),
}

/// `plugin_register_all_<Trait>_v1`.
pub type RegisterAll = unsafe extern "C" fn(panic: *mut PanicSlot) -> *mut RegistrationArray;

/// `plugin_unregister_all_<Trait>_v1`.
pub type UnregisterAll = unsafe extern "C" fn(array: *mut RegistrationArray);

/// `plugin_unmaker_counter_<Trait>_v1`.
pub type UnmakerCounter = unsafe extern "C" fn() -> u64;

/// Called once per factory by [`VisitFactories`].
pub type FactoryVisitor =
    unsafe extern "C" fn(context: *mut c_void, factory: *const RegistrationFactory);

/// `plugin_factories_<Trait>_v1`: calls `visit` once per factory of the
/// trait, in entry-name order, without making any instance.
pub type VisitFactories = unsafe extern "C" fn(visit: FactoryVisitor, context: *mut c_void);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canary_header_offsets_are_fixed() {
        assert_eq!(core::mem::offset_of!(PluginCanary, magic), 0);
        assert_eq!(core::mem::offset_of!(PluginCanary, canary_version), 8);
        assert_eq!(core::mem::offset_of!(PluginCanary, abi_epoch), 12);
    }

    #[test]
    fn panic_slot_round_trips_a_message() {
        let mut slot = PanicSlot::new();
        assert!(!slot.is_raised());
        slot.raise("first".into());
        slot.raise("second".into());
        assert!(slot.is_raised());
        assert_eq!(slot.take().as_deref(), Some("second"));
        assert_eq!(slot.take(), None);
        assert!(!slot.is_raised());
    }

    #[test]
    fn panic_strategy_decodes_only_known_values() {
        assert_eq!(PanicStrategy::from_u8(1), Some(PanicStrategy::Unwind));
        assert_eq!(PanicStrategy::from_u8(2), Some(PanicStrategy::Abort));
        assert_eq!(PanicStrategy::from_u8(0), None);
        assert_eq!(PanicStrategy::CURRENT, PanicStrategy::Unwind);
    }
}
