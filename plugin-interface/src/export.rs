//! The plugin side of the boundary: what the exported functions generated
//! by `#[plugin_impl]` and `#[plugin_aggregates]` do. Every function here
//! runs inside a plugin library and never lets a panic escape.

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::Ordering;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::repr::RStr;

use crate::abi::{
    FactoryVisitor, Failure, PanicSlot, Payload, Registration, RegistrationArray,
    RegistrationFactory, Returned, TraitDescriptor, VTablePrefix,
};
use crate::interface::{PluginInterface, VTableFor};
use crate::lifecycle::PluginContext;

inventory::collect!(RegistrationFactory);

/// Flushes this image's `std` stdout and stderr: a plugin library links a
/// `std` of its own, whose stdout buffer (a line's worth, until its `\n`)
/// the host's flushes do not reach. What `plugin_flush_output_v1` does.
pub fn flush_output() {
    use std::io::Write as _;
    // Failing to flush (a closed stdout) is not the caller's concern.
    let flushed = catch_unwind(|| {
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
    });
    if let Err(payload) = flushed {
        drop_payload(payload);
    }
}

/// Runs `f`; on panic, writes the message into `panic` and returns `None`.
///
/// # Safety
///
/// `panic` must point to a live [`PanicSlot`].
pub unsafe fn guard<R>(panic: *mut PanicSlot, f: impl FnOnce() -> R) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => Some(value),
        Err(payload) => {
            let message = panic_message(payload);
            // SAFETY: the caller guarantees `panic` points to a live slot.
            unsafe { (*panic).raise(message) };
            None
        }
    }
}

/// The body of every method shim: runs `f`, catching a panic into the
/// returned [`Returned`].
#[inline(always)]
pub fn call<R>(f: impl FnOnce() -> R) -> Returned<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => Returned::ok(value),
        Err(payload) => Returned::failed(failure_of(payload)),
    }
}

/// Marks this image (host or library) as the maker of a [`Failure`].
static IMAGE: u8 = 0;

/// This image's mark.
#[inline]
pub(crate) fn image() -> *const c_void {
    ptr::from_ref(&IMAGE).cast()
}

/// A failure of the other side passing through this one on its way back:
/// a callback the other side lent panicked, and the panic is carried up
/// this side's frames to the boundary, which hands the same report back.
pub(crate) struct ForeignFailure(*mut Failure);

// SAFETY: the report is plain data owned by this value until handed back
// or freed; it is never shared.
unsafe impl Send for ForeignFailure {}

impl Drop for ForeignFailure {
    fn drop(&mut self) {
        // SAFETY: a live report nobody else holds; freed once, by its maker.
        unsafe { ((*self.0).free)(self.0) };
    }
}

/// The report of a caught panic: the same report for a failure passing
/// through, else a new one with the message, keeping the payload while this
/// side has lent a callback for the call in progress.
#[cold]
pub(crate) fn failure_of(payload: Payload) -> *mut Failure {
    match payload.downcast::<ForeignFailure>() {
        Ok(foreign) => {
            let failure = foreign.0;
            core::mem::forget(foreign);
            failure
        }
        Err(payload) => {
            let message = message_of(&*payload);
            let payload = if crate::carry::Lending::active() || payload.is::<CallFailure>() {
                Some(payload)
            } else {
                drop_payload(payload);
                None
            };
            Failure::new(message, payload, image())
        }
    }
}

/// Continues a failure the other side returned as a panic on this side:
/// the original panic when it began here, a panic carrying the report back
/// to its maker when that side kept its payload, else a panic with the
/// message. `what` names the callee, e.g. `Services::lookup`.
///
/// # Safety
///
/// `failure` must be a non-null failure a call just returned, not yet
/// taken.
#[cold]
#[inline(never)]
pub unsafe fn rethrow(failure: *mut Failure, what: &str) -> ! {
    // SAFETY: per the contract.
    unsafe { pass_on(failure) };
    // SAFETY: per the contract; not passed on, so still here.
    match unsafe { Failure::take(failure) } {
        Some(message) => panic!("{what} panicked: {message}"),
        None => panic!("{what} is missing from the other side"),
    }
}

/// Resumes a failure that began in this image, or carries one the other
/// side wants back; returns when neither applies.
///
/// # Safety
///
/// As for [`rethrow`].
#[cold]
pub(crate) unsafe fn pass_on(failure: *mut Failure) {
    if failure == Failure::ABSENT {
        return;
    }
    // SAFETY: per the contract, a live report.
    let (origin, kept) = unsafe { ((*failure).origin, !(*failure).payload.is_null()) };
    if !kept {
        return;
    }
    if origin == image() {
        // A call's own error is not a panic to resume: the caller reads it.
        // SAFETY: per the contract, a live report.
        let payload = unsafe { (*failure).payload.cast::<Payload>() };
        // SAFETY: made here, so the payload is a `Box<Payload>` of ours.
        if unsafe { (*payload).is::<CallFailure>() } {
            return;
        }
        // SAFETY: per the contract; made here, so the payload is ours.
        if let Some((_, Some(payload))) = unsafe { Failure::take_panic(failure, image()) } {
            std::panic::resume_unwind(payload);
        }
        return;
    }
    // Not `panic_any`: the panic began on the other side, whose hook
    // already reported it.
    std::panic::resume_unwind(Box::new(ForeignFailure(failure)));
}

/// What a call's method unwinds with (never through `panic!`, so no panic
/// hook reports it) to make its proxy's call fail with this error: how an
/// instance in a worker process reports a crash or a timeout through the
/// proxy's own shims.
pub(crate) struct CallFailure(pub(crate) crate::error::CallError);

/// The error a failure carries, taken from it when this image made it
/// with a [`CallFailure`]; otherwise the failure is left as it is.
///
/// # Safety
///
/// `failure` must be a live report, not yet taken.
pub(crate) unsafe fn call_failure(failure: *mut Failure) -> Option<crate::error::CallError> {
    if failure == Failure::ABSENT {
        return None;
    }
    // SAFETY: per the contract, a live report.
    let (origin, payload) = unsafe { ((*failure).origin, (*failure).payload) };
    if origin != image() || payload.is_null() {
        return None;
    }
    // SAFETY: made here with a payload, so it is a `Box<Payload>` of ours.
    let carries_error = unsafe { (*payload.cast::<Payload>()).is::<CallFailure>() };
    if !carries_error {
        return None;
    }
    // SAFETY: per the contract; made here with a payload.
    let (_, payload) = unsafe { Failure::take_panic(failure, image()) }?;
    payload?
        .downcast::<CallFailure>()
        .ok()
        .map(|failure| failure.0)
}

/// The message of a caught panic.
fn message_of(payload: &(dyn core::any::Any + Send)) -> String {
    if let Some(failure) = payload.downcast_ref::<CallFailure>() {
        failure.0.to_string()
    } else if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

/// The message of a caught panic. Dropping the payload may itself panic;
/// such a payload is leaked instead.
pub(crate) fn panic_message(payload: Payload) -> String {
    let message = message_of(&*payload);
    drop_payload(payload);
    message
}

/// Drops a caught panic payload; one whose drop panics again is leaked.
pub(crate) fn drop_payload(payload: Payload) {
    if let Err(second) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        core::mem::forget(second);
    }
}

/// The instance behind a shim's `this` pointer.
///
/// # Safety
///
/// `this` must be the instance pointer of a registration made by `make`
/// for `T`, still alive, and not borrowed mutably elsewhere.
#[inline(always)]
pub unsafe fn instance<'a, T>(this: *const c_void) -> &'a T {
    // SAFETY: per the contract, `this` came from `Box::<T>::into_raw`.
    unsafe { &*this.cast::<T>() }
}

/// The instance behind a `&mut self` shim's `this` pointer.
///
/// # Safety
///
/// As for [`instance`], and no other reference to it may exist.
#[inline(always)]
pub unsafe fn instance_mut<'a, T>(this: *mut c_void) -> &'a mut T {
    // SAFETY: per the contract, `this` came from `Box::<T>::into_raw` and
    // the caller holds the only reference.
    unsafe { &mut *this.cast::<T>() }
}

/// A borrowed string returned by a plugin method, extended to the lifetime
/// the vtable signature needs. The proxy shortens it again to `&self`.
///
/// # Safety
///
/// The result may only be used while the instance that returned `text` is
/// alive and unchanged.
#[inline(always)]
pub unsafe fn returned_str(text: &str) -> RStr<'static> {
    // SAFETY: per the contract, the caller bounds the real lifetime.
    RStr::new(unsafe { &*ptr::from_ref::<str>(text) })
}

/// The vtable's `drop` entry: frees a `Box<T>` instance.
///
/// # Safety
///
/// `instance` must come from `make` for `T` and not be used afterwards.
unsafe extern "C" fn drop_instance<T>(instance: *mut c_void) {
    let dropped = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: per the contract, `instance` is a `Box<T>` given up here.
        drop(unsafe { Box::from_raw(instance.cast::<T>()) });
    }));
    if let Err(payload) = dropped {
        // A panicking `Drop` has nobody to report to; keep the process alive.
        drop(panic_message(payload));
    }
}

/// The `drop` entry of a vtable of absent stand-ins; never called, as the
/// plugin's own prefix replaces it.
unsafe extern "C" fn absent_drop(_instance: *mut c_void) {}

/// The prefix of a vtable of absent stand-ins (see
/// `PluginInterface::ABSENT`).
pub const fn absent_prefix<V>(method_count: u32) -> VTablePrefix {
    VTablePrefix {
        size: core::mem::size_of::<V>() as u32,
        method_count,
        drop: absent_drop,
    }
}

/// The body of every absent stand-in.
#[inline]
pub fn absent<R>() -> Returned<R> {
    Returned::absent()
}

/// The vtable prefix every generated vtable starts with.
pub const fn vtable_prefix<V, T>(method_count: u32) -> VTablePrefix {
    VTablePrefix {
        size: core::mem::size_of::<V>() as u32,
        method_count,
        drop: drop_instance::<T>,
    }
}

/// The body of `plugin_register_<Trait>_<Type>_v1`: constructs `T` with
/// the host's context and returns its registration, or null with the
/// panic message, or the constructor's refusal, in `panic`.
///
/// # Safety
///
/// `panic` must point to a live [`PanicSlot`].
unsafe fn make<I, T>(
    panic: *mut PanicSlot,
    entry: &'static str,
    construct: fn(&PluginContext<'_>) -> Result<T, String>,
) -> *mut Registration
where
    I: ?Sized + VTableFor<T>,
    T: 'static,
{
    let made = || {
        crate::lifecycle::sync_level();
        let cx = PluginContext::current(I::DESCRIPTOR.name.as_str(), entry);
        let instance = Box::into_raw(Box::new(construct(&cx)?)).cast::<c_void>();
        Ok(Box::into_raw(Box::new(Registration {
            trait_name: I::DESCRIPTOR.name,
            entry: RStr::new(entry),
            instance,
            vtable: ptr::from_ref(I::VTABLE).cast::<c_void>(),
        })))
    };
    // SAFETY: forwarded from the caller.
    match unsafe { guard(panic, made) } {
        Some(Ok(registration)) => registration,
        Some(Err(refusal)) => {
            // SAFETY: forwarded from the caller.
            unsafe { (*panic).refuse(refusal) };
            ptr::null_mut()
        }
        None => ptr::null_mut(),
    }
}

/// The body of `plugin_unregister_<Trait>_<Type>_v1`: frees the instance
/// through its vtable's `drop`, frees the registration and counts the call.
///
/// # Safety
///
/// `registration` must come from a maker of trait `I` in this library and
/// not be used afterwards. Null is ignored.
unsafe fn unmake<I: ?Sized + PluginInterface>(registration: *mut Registration) {
    if registration.is_null() {
        return;
    }
    // SAFETY: per the contract, the registration is a `Box` from `make`.
    let registration = unsafe { Box::from_raw(registration) };
    // SAFETY: every generated vtable starts with a `VTablePrefix`.
    let prefix = unsafe { &*registration.vtable.cast::<VTablePrefix>() };
    // SAFETY: the instance belongs to this vtable and is given up here.
    unsafe { (prefix.drop)(registration.instance) };
    I::unmaker_counter().fetch_add(1, Ordering::SeqCst);
}

/// The factories of trait `I` in this library, in entry-name order.
fn factories<I: ?Sized + PluginInterface>() -> Vec<RegistrationFactory> {
    let name = I::DESCRIPTOR.name.as_str();
    let mut found: Vec<RegistrationFactory> = inventory::iter::<RegistrationFactory>
        .into_iter()
        .filter(|factory| factory.trait_name.as_str() == name)
        .copied()
        .collect();
    found.sort_by(|a, b| a.entry.as_str().cmp(b.entry.as_str()));
    found
}

/// The body of `plugin_register_all_<Trait>_v1`: makes one instance per
/// factory. If a constructor panics, the instances already made are freed
/// and null is returned with the message in `panic`.
///
/// # Safety
///
/// `panic` must point to a live [`PanicSlot`].
unsafe fn register_all<I: ?Sized + PluginInterface>(
    panic: *mut PanicSlot,
) -> *mut RegistrationArray {
    let make_all = || -> Result<*mut RegistrationArray, (bool, String)> {
        let factories = factories::<I>();
        let mut made: Vec<*mut Registration> = Vec::with_capacity(factories.len());
        for factory in &factories {
            let mut slot = PanicSlot::new();
            // SAFETY: `slot` is live for the call.
            let registration = unsafe { (factory.maker)(&mut slot) };
            if registration.is_null() {
                for (factory, registration) in factories.iter().zip(&made) {
                    // SAFETY: made just above by this factory's maker.
                    unsafe { (factory.unmaker)(*registration) };
                }
                let refused = slot.is_refused();
                let what = if refused { "refused" } else { "panicked" };
                let message = slot.take().unwrap_or_else(|| "returned null".to_owned());
                return Err((
                    refused,
                    format!("constructor of `{}` {what}: {message}", factory.entry),
                ));
            }
            made.push(registration);
        }
        let count = made.len();
        Ok(Box::into_raw(Box::new(RegistrationArray {
            count,
            registrations: Box::into_raw(made.into_boxed_slice()).cast::<*mut Registration>(),
            factories: Box::into_raw(factories.into_boxed_slice()).cast::<RegistrationFactory>(),
            release: release_array,
        })))
    };
    // SAFETY: forwarded from the caller.
    match unsafe { guard(panic, make_all) } {
        Some(Ok(array)) => array,
        Some(Err((refused, message))) => {
            // SAFETY: forwarded from the caller.
            unsafe {
                if refused {
                    (*panic).refuse(message);
                } else {
                    (*panic).raise(message);
                }
            }
            ptr::null_mut()
        }
        None => ptr::null_mut(),
    }
}

/// The `release` function of every [`RegistrationArray`]: frees the array
/// and its two buffers, not the registrations.
///
/// # Safety
///
/// `array` must be null or come from [`register_all`] in this library, and
/// not be used afterwards.
unsafe extern "C" fn release_array(array: *mut RegistrationArray) {
    if array.is_null() {
        return;
    }
    // SAFETY: `array` and both buffers were boxed by `register_all` in this
    // library with `count` elements each, and are given up here.
    unsafe {
        let array = Box::from_raw(array);
        drop(Box::from_raw(ptr::slice_from_raw_parts_mut(
            array.registrations,
            array.count,
        )));
        drop(Box::from_raw(ptr::slice_from_raw_parts_mut(
            array.factories.cast_mut(),
            array.count,
        )));
    }
}

/// The body of `plugin_unregister_all_<Trait>_v1`: frees every registration
/// through the unmaker of the factory that made it, then the array.
///
/// # Safety
///
/// `array` must come from [`register_all`] in this library and not be used
/// afterwards. Null is ignored.
unsafe fn unregister_all(array: *mut RegistrationArray) {
    if array.is_null() {
        return;
    }
    // SAFETY: per the contract, the array and its buffers are valid.
    unsafe {
        let count = (*array).count;
        for index in 0..count {
            let factory = &*(*array).factories.add(index);
            (factory.unmaker)(*(*array).registrations.add(index));
        }
        release_array(array);
    }
}

/// The body of `plugin_factories_<Trait>_v1`.
///
/// # Safety
///
/// `visit` must be callable with `context` and must not unwind.
unsafe fn visit_factories<I: ?Sized + PluginInterface>(
    visit: FactoryVisitor,
    context: *mut c_void,
) {
    let factories = match catch_unwind(factories::<I>) {
        Ok(factories) => factories,
        Err(payload) => {
            drop_payload(payload);
            return;
        }
    };
    for factory in &factories {
        // SAFETY: per the contract; the factory outlives the call.
        unsafe { visit(context, factory) };
    }
}

/// The body of `plugin_unmaker_counter_<Trait>_v1`.
fn unmaker_count<I: ?Sized + PluginInterface>() -> u64 {
    I::unmaker_counter().load(Ordering::SeqCst)
}

/// One implementation exported by `#[plugin_impl(Trait)]`: the macro names
/// the trait and the type, and the exported maker and unmaker call
/// [`make`](Export::make) and [`unmake`](Export::unmake).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an exported plugin implementation",
    note = "`#[plugin_impl(Trait)]` implements this trait"
)]
pub trait Export {
    /// The plugin trait, as `dyn Trait`.
    type Interface: ?Sized + VTableFor<Self::Type>;
    /// The implementing type.
    type Type: 'static;
    /// The implementing type's name: the entry name hosts select.
    const ENTRY: &'static str;
    /// The trait's name, from its descriptor.
    const TRAIT_NAME: RStr<'static> = <Self::Interface as PluginInterface>::DESCRIPTOR.name;

    /// Makes an instance: `Default::default()` or the `constructor`
    /// option, with the host's context; an error refuses the plugin.
    fn construct(cx: &PluginContext<'_>) -> Result<Self::Type, String>;

    /// The body of `plugin_register_<Trait>_<Type>_v1`: constructs the
    /// instance and returns its registration, or null with the panic
    /// message in `panic`.
    ///
    /// # Safety
    ///
    /// `panic` must point to a live [`PanicSlot`].
    unsafe fn make(panic: *mut PanicSlot) -> *mut Registration {
        // SAFETY: forwarded from the caller.
        unsafe { make::<Self::Interface, Self::Type>(panic, Self::ENTRY, Self::construct) }
    }

    /// The body of `plugin_unregister_<Trait>_<Type>_v1`.
    ///
    /// # Safety
    ///
    /// `registration` must come from [`make`](Export::make) of an
    /// implementation of the same trait in this library, and not be used
    /// afterwards. Null is ignored.
    unsafe fn unmake(registration: *mut Registration) {
        // SAFETY: forwarded from the caller.
        unsafe { unmake::<Self::Interface>(registration) }
    }

    /// The body of `plugin_dispatch_<Trait>_<Type>_v1`: the serialised
    /// path (see [`DispatchEntry`](crate::wire::DispatchEntry)).
    ///
    /// # Safety
    ///
    /// As for [`dispatch`](crate::wire::dispatch), with an instance that
    /// [`make`](Export::make) made.
    unsafe fn dispatch(
        instance: *mut c_void,
        method: u32,
        args: *const u8,
        args_len: usize,
        sink: *mut c_void,
        write: crate::wire::DispatchSink,
        peer: *const crate::wire::PeerTable,
    ) -> u32 {
        // SAFETY: forwarded from the caller.
        unsafe {
            crate::wire::dispatch::<Self::Interface, Self::Type>(
                instance, method, args, args_len, sink, write, peer,
            )
        }
    }
}

/// One trait listed in `#[plugin_aggregates(...)]`: the per-trait exported
/// functions call these.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an aggregated plugin trait",
    note = "`#[plugin_aggregates(Trait, ...)]` implements this trait"
)]
pub trait Aggregate {
    /// The plugin trait, as `dyn Trait`.
    type Interface: ?Sized + PluginInterface;
    /// The trait's descriptor, listed in the canary.
    const DESCRIPTOR: &'static TraitDescriptor = <Self::Interface as PluginInterface>::DESCRIPTOR;

    /// The body of `plugin_register_all_<Trait>_v1`: one instance per
    /// implementation, or null with the panic message in `panic` (the
    /// instances already made are freed).
    ///
    /// # Safety
    ///
    /// `panic` must point to a live [`PanicSlot`].
    unsafe fn register_all(panic: *mut PanicSlot) -> *mut RegistrationArray {
        // SAFETY: forwarded from the caller.
        unsafe { register_all::<Self::Interface>(panic) }
    }

    /// The body of `plugin_unregister_all_<Trait>_v1`: frees every
    /// registration through its own factory's unmaker, then the array.
    ///
    /// # Safety
    ///
    /// `array` must come from [`register_all`](Aggregate::register_all) in
    /// this library and not be used afterwards. Null is ignored.
    unsafe fn unregister_all(array: *mut RegistrationArray) {
        // SAFETY: forwarded from the caller.
        unsafe { unregister_all(array) }
    }

    /// The body of `plugin_unmaker_counter_<Trait>_v1`.
    fn unmaker_count() -> u64 {
        unmaker_count::<Self::Interface>()
    }

    /// The body of `plugin_factories_<Trait>_v1`.
    ///
    /// # Safety
    ///
    /// `visit` must be callable with `context` and must not unwind.
    unsafe fn visit_factories(visit: FactoryVisitor, context: *mut c_void) {
        // SAFETY: forwarded from the caller.
        unsafe { visit_factories::<Self::Interface>(visit, context) }
    }
}
