//! The state every generated proxy wraps: a binding that points at the
//! instance calls go to, re-pointed by a manager's unload and reload, or
//! fixed for proxies made straight from a `PluginLibrary`.

use core::any::Any;
use core::ffi::c_void;
use core::fmt;
use core::marker::PhantomData;
#[cfg(feature = "host")]
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};

use crate::abi::Failure;
#[cfg(feature = "host")]
use crate::abi::Registration;
use crate::carry::{Invalid, Lift, Lower, Origin};
use crate::error::CallError;
#[cfg(feature = "host")]
use crate::gate::{self, Gate};
#[cfg(feature = "host")]
pub(crate) use children::{Children, OutgoingChild};

/// Where a plugin instance came from.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    library: Arc<Path>,
    trait_name: &'static str,
    entry: Arc<str>,
    interface: Arc<str>,
}

impl PluginInfo {
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

    pub(crate) fn library_arc(&self) -> &Arc<Path> {
        &self.library
    }

    /// Path of the library the instance lives in: the file the host named,
    /// even when a manager loaded a private copy of it.
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

/// Where an instance came from: made for it, or one description shared by
/// every object of a trait the other side lends or gives (no reference
/// counts to touch per call).
#[derive(Clone)]
pub(crate) enum Info {
    Owned(PluginInfo),
    Static(&'static PluginInfo),
}

impl core::ops::Deref for Info {
    type Target = PluginInfo;

    #[inline(always)]
    fn deref(&self) -> &PluginInfo {
        match self {
            Info::Owned(info) => info,
            Info::Static(info) => info,
        }
    }
}

/// One plugin instance a binding can point at: the instance pointer, its
/// vtable, and what keeps both alive.
///
/// A plugin build (without the `host` feature) only makes targets of
/// objects its host lends or gives it, which nothing re-points: the gate,
/// the stand-in, registrations and handed-out objects are the host's.
#[repr(C)]
pub(crate) struct Target<V: 'static> {
    /// First, so a pointer to the target is a pointer to its gate.
    #[cfg(feature = "host")]
    gate: Gate,
    instance: *mut c_void,
    vtable: *const V,
    slots: u32,
    /// The binding's stand-in for an unloaded instance: every call
    /// reports [`CallError::Unloaded`].
    #[cfg(feature = "host")]
    stand_in: bool,
    info: Info,
    /// The registration, for state hand-over on reload.
    #[cfg(feature = "host")]
    registration: *mut Registration,
    /// The instance is an object the proxy owns: freed through the
    /// vtable's `drop` with the target, unless it was handed back.
    drops: AtomicBool,
    /// Where objects this instance hands out are registered, when a
    /// manager may unload its library: they are retired with it.
    #[cfg(feature = "host")]
    children: Option<Arc<Children>>,
    /// A full-size copy of a plugin vtable shorter than the host's.
    _extended: Option<Box<V>>,
    /// Keeps the registration and its library alive.
    _owner: Option<Arc<dyn Any + Send + Sync>>,
}

impl<V: 'static> Target<V> {
    /// A target for one checked registration.
    ///
    /// # Safety
    ///
    /// `instance` and `vtable` must come from `registration`, of a trait
    /// whose vtable type is `V`, checked against the host's interface; the
    /// first `slots` method slots of `vtable` must be the plugin's, and the
    /// whole of `V` readable (the plugin's table, or `extended`, a copy of
    /// it with the missing slots filled). `owner` must keep the
    /// registration alive and its library mapped.
    #[cfg(feature = "host")]
    pub(crate) unsafe fn new(
        registration: *mut Registration,
        vtable: *const V,
        slots: u32,
        extended: Option<Box<V>>,
        info: PluginInfo,
        owner: Arc<dyn Any + Send + Sync>,
    ) -> Box<Self> {
        let vtable = match &extended {
            Some(copy) => &raw const **copy,
            None => vtable,
        };
        Box::new(Self {
            gate: Gate::default(),
            // SAFETY: per the contract, a live registration.
            instance: unsafe { (*registration).instance },
            vtable,
            slots,
            stand_in: false,
            info: Info::Owned(info),
            registration,
            drops: AtomicBool::new(false),
            children: None,
            _extended: extended,
            _owner: Some(owner),
        })
    }

    /// A target for an object the other side handed over or lent.
    ///
    /// # Safety
    ///
    /// `instance` must be a live object whose every method `vtable` (of
    /// the trait whose vtable type is `V`, with all of `V`'s slots)
    /// serves, alive as long as the target, or until the call it was lent
    /// for returns; `owns` only if the target may free it through the
    /// vtable's `drop`. `owner`, if any, keeps the code of both mapped.
    pub(crate) unsafe fn object(
        instance: *mut c_void,
        vtable: *const V,
        info: Info,
        owner: Option<Arc<dyn Any + Send + Sync>>,
        owns: bool,
    ) -> Box<Self> {
        Box::new(Self {
            #[cfg(feature = "host")]
            gate: Gate::default(),
            instance,
            vtable,
            slots: u32::MAX,
            #[cfg(feature = "host")]
            stand_in: false,
            info,
            #[cfg(feature = "host")]
            registration: ptr::null_mut(),
            drops: AtomicBool::new(owns),
            #[cfg(feature = "host")]
            children: None,
            _extended: None,
            _owner: owner,
        })
    }

    /// Registers the objects this instance hands out in `children`.
    #[cfg(feature = "host")]
    pub(crate) fn hand_out_into(&mut self, children: Arc<Children>) {
        self.children = Some(children);
    }

    /// The stand-in a binding points at once it is retired.
    #[cfg(feature = "host")]
    fn stand_in(absent: &'static V, info: Info) -> Box<Self> {
        Box::new(Self {
            gate: Gate::default(),
            instance: ptr::null_mut(),
            vtable: absent,
            // Never run a trait's default body for an unloaded instance.
            slots: u32::MAX,
            stand_in: true,
            info,
            registration: ptr::null_mut(),
            drops: AtomicBool::new(false),
            children: None,
            _extended: None,
            _owner: None,
        })
    }

    #[cfg(feature = "host")]
    pub(crate) fn registration(&self) -> *mut Registration {
        self.registration
    }

    /// The instance every function of the vtable is given.
    #[cfg(feature = "host")]
    pub(crate) fn instance(&self) -> *mut c_void {
        self.instance
    }
}

impl<V: 'static> Drop for Target<V> {
    fn drop(&mut self) {
        if *self.drops.get_mut() {
            // SAFETY: an owned object (`Target::object`): every vtable
            // starts with its prefix, whose `drop` frees the instance in
            // the code that made it, which `_owner` still keeps mapped.
            unsafe {
                let prefix = &*self.vtable.cast::<crate::abi::VTablePrefix>();
                (prefix.drop)(self.instance);
            }
        }
    }
}

/// What a manager keeps of the objects its libraries hand out, to retire
/// them with the library that made them. A plugin build has none: its
/// bindings are all fixed.
#[cfg(feature = "host")]
mod children {
    use std::sync::{Arc, Mutex, Weak};

    use super::{Binding, Target};
    use crate::gate::Gate;

    /// The objects that instances of one manager-loaded library handed out
    /// (`Box<dyn Trait>` returns): the manager retires them with the library,
    /// since they cannot follow it to a new version.
    #[derive(Default)]
    pub(crate) struct Children {
        list: Mutex<Vec<Box<dyn Child>>>,
    }

    /// One handed-out object's binding, of any trait.
    trait Child: Send + Sync {
        fn alive(&self) -> bool;
        /// Points its proxies at the stand-in; the live target, to free once
        /// idle.
        fn retire(self: Box<Self>) -> Option<Box<dyn OutgoingChild>>;
    }

    /// The target a retired object's binding pointed at: outgoing, freed
    /// once its calls drain.
    pub(crate) trait OutgoingChild: Send {
        /// The gate calls in flight hold.
        fn gate(&self) -> *const Gate;
        /// Puts the target back, serving again (an unload that gave up).
        fn restore(self: Box<Self>, children: &Children);
    }

    struct ChildBinding<V: 'static>(Weak<Binding<V>>);

    struct OutgoingBinding<V: 'static> {
        binding: Weak<Binding<V>>,
        target: Box<Target<V>>,
    }

    // SAFETY: as for the manager's own held targets: the object was handed out
    // by an instance of a trait whose proxies the manager may free on the thread
    // that unloads, and an outgoing target is reached by no proxy, only moved
    // and freed.
    unsafe impl<V> Send for OutgoingBinding<V> {}

    impl<V: 'static> Child for ChildBinding<V> {
        fn alive(&self) -> bool {
            self.0.strong_count() > 0
        }

        fn retire(self: Box<Self>) -> Option<Box<dyn OutgoingChild>> {
            let binding = self.0.upgrade()?;
            let target = binding.retire()?;
            Some(Box::new(OutgoingBinding {
                binding: self.0,
                target,
            }))
        }
    }

    impl<V: 'static> OutgoingChild for OutgoingBinding<V> {
        fn gate(&self) -> *const Gate {
            (&raw const *self.target).cast::<Gate>()
        }

        fn restore(self: Box<Self>, children: &Children) {
            if let Some(binding) = self.binding.upgrade() {
                // The binding points at its stand-in, which it keeps.
                let stand_in = binding.swap(self.target);
                debug_assert!(stand_in.is_none());
                children.adopt(&binding);
            }
        }
    }

    impl Children {
        /// Registers a handed-out object's binding (not a fixed one).
        pub(crate) fn adopt<V: 'static>(&self, binding: &Arc<Binding<V>>) {
            let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
            list.retain(|child| child.alive());
            list.push(Box::new(ChildBinding(Arc::downgrade(binding))));
        }

        /// Retires every object handed out so far and empties the list.
        pub(crate) fn retire_all(&self) -> Vec<Box<dyn OutgoingChild>> {
            let list = core::mem::take(&mut *self.list.lock().unwrap_or_else(|e| e.into_inner()));
            list.into_iter().filter_map(Child::retire).collect()
        }
    }
}

/// What a proxy points through; shared by its clones.
pub(crate) struct Binding<V: 'static> {
    /// The live target, or `stand_in` once retired. Owned by the binding.
    current: AtomicPtr<Target<V>>,
    /// Never re-pointed (a proxy from `PluginLibrary::instantiate`): the
    /// target lives as long as the binding, so calls skip the gate. Every
    /// binding of a plugin build is fixed.
    #[cfg(feature = "host")]
    fixed: bool,
    /// The stand-in for after unload, owned by the binding for its whole
    /// life, since late callers may still be inside it; null for a fixed
    /// binding, which is never retired.
    #[cfg(feature = "host")]
    stand_in: *mut Target<V>,
    /// Strings returned as `&str`, copied into host memory once each so
    /// they outlive the instance that returned them. Entries are never
    /// removed before the binding is dropped. Made on first use.
    strings: OnceLock<RwLock<HashSet<Box<str>>>>,
}

// SAFETY: the targets are reached only through `enter`, which the gate
// protects; the raw pointers are owned boxes. Whether the proxy as a whole
// may cross threads is decided by the generated proxy, which is `Send` /
// `Sync` only when the trait requires it of its implementations.
unsafe impl<V> Send for Binding<V> {}
// SAFETY: as above; shared access goes through atomics and the gate.
unsafe impl<V> Sync for Binding<V> {}

impl<V: 'static> Binding<V> {
    /// A binding that unload and reload may re-point: calls go through
    /// the unload gate.
    #[cfg(feature = "host")]
    pub(crate) fn new(target: Box<Target<V>>, absent: &'static V) -> Self {
        let stand_in = Target::stand_in(absent, target.info.clone());
        Self {
            current: AtomicPtr::new(Box::into_raw(target)),
            fixed: false,
            stand_in: Box::into_raw(stand_in),
            strings: OnceLock::new(),
        }
    }

    /// A binding that is never re-pointed: calls need no gate, since the
    /// target lives as long as the binding, which every caller holds.
    pub(crate) fn fixed(target: Box<Target<V>>) -> Self {
        Self {
            current: AtomicPtr::new(Box::into_raw(target)),
            #[cfg(feature = "host")]
            fixed: true,
            // Never retired: no stand-in.
            #[cfg(feature = "host")]
            stand_in: ptr::null_mut(),
            strings: OnceLock::new(),
        }
    }

    /// The target calls reach directly: a fixed binding's, alive as long
    /// as the binding; null when calls go through the gate.
    fn fixed_target(&self) -> *const Target<V> {
        #[cfg(feature = "host")]
        if !self.fixed {
            return ptr::null();
        }
        self.current.load(Ordering::Relaxed).cast_const()
    }

    /// Points the binding at `target` and returns the target it pointed
    /// at, which calls may still be inside: free it only once
    /// [`gate::wait_idle`] says its gate is idle. `None` if that was the
    /// stand-in, which the binding keeps.
    #[cfg(feature = "host")]
    pub(crate) fn swap(&self, target: Box<Target<V>>) -> Option<Box<Target<V>>> {
        self.swap_raw(Box::into_raw(target))
    }

    /// Retires the binding: points it at its stand-in; see
    /// [`swap`](Self::swap).
    #[cfg(feature = "host")]
    pub(crate) fn retire(&self) -> Option<Box<Target<V>>> {
        self.swap_raw(self.stand_in)
    }

    #[cfg(feature = "host")]
    fn swap_raw(&self, target: *mut Target<V>) -> Option<Box<Target<V>>> {
        // Calls through a fixed binding do not enter the gate, so
        // re-pointing one could free a target a call is inside.
        assert!(!self.fixed, "a fixed binding is never re-pointed");
        let old = self.current.swap(target, Ordering::SeqCst);
        // SAFETY: every pointer but `stand_in` stored in `current` came from
        // `Box::into_raw`, and is handed back exactly once, here.
        (old != self.stand_in).then(|| unsafe { Box::from_raw(old) })
    }

    /// Runs `f` with the instance the binding points at (`None` once
    /// unloaded), kept alive for the duration.
    #[cfg(feature = "host")]
    pub(crate) fn with_instance<R>(&self, f: impl FnOnce(Option<*mut c_void>) -> R) -> R {
        let stand_in = self.stand_in;
        // SAFETY: as in `RawProxy::call`.
        unsafe {
            gate::call(&self.current, |gate| {
                let target = gate.cast::<Target<V>>();
                // SAFETY: entered, so the target is alive during `f`.
                f((target != stand_in).then(|| (*target).instance))
            })
        }
    }

    /// Runs `f` with the registration the binding points at (null once
    /// unloaded), kept alive for the duration.
    #[cfg(feature = "host")]
    pub(crate) fn with_registration<R>(&self, f: impl FnOnce(*mut Registration) -> R) -> R {
        // SAFETY: as in `RawProxy::call`.
        unsafe {
            gate::call(&self.current, |gate| {
                // SAFETY: entered, so the target is alive during `f`.
                f((*gate.cast::<Target<V>>()).registration)
            })
        }
    }
}

impl<V> Drop for Binding<V> {
    fn drop(&mut self) {
        let current = *self.current.get_mut();
        #[cfg(feature = "host")]
        if !self.stand_in.is_null() {
            // SAFETY: no proxy is left, so no call is in flight; the
            // stand-in is owned here.
            unsafe { drop(Box::from_raw(self.stand_in)) };
            if current == self.stand_in {
                return;
            }
        }
        // SAFETY: as above; the live target is owned here too.
        unsafe { drop(Box::from_raw(current)) };
    }
}

/// One plugin instance seen from the host, as generated proxies wrap it:
/// a shared binding that unload retires and reload re-points. Cloning
/// shares the instance.
pub struct RawProxy<V: 'static> {
    binding: Arc<Binding<V>>,
    /// The target of a fixed binding, which calls reach directly; null
    /// when the binding may be re-pointed (only in a host) and calls go
    /// through the gate.
    fixed: *const Target<V>,
    /// `Send` and `Sync` come from the generated proxy, per trait.
    _not_send: PhantomData<*mut ()>,
}

impl<V: 'static> RawProxy<V> {
    pub(crate) fn from_binding(binding: Arc<Binding<V>>) -> Self {
        let fixed = binding.fixed_target();
        Self {
            binding,
            fixed,
            _not_send: PhantomData,
        }
    }

    /// Runs one call: `f` gets the instance, its vtable and what keeps
    /// them alive, valid until it returns (or unwinds). A reload or unload
    /// waits for calls in flight; a call after unload finds the binding
    /// retired, pointing at a stand-in whose every method fails with
    /// [`CallError::Unloaded`].
    ///
    /// `Call` cannot leave `f` (its first lifetime is `f`'s own), so
    /// nothing borrowed from the instance outlives the call; strings kept
    /// with [`Call::keep_str`] borrow the proxy instead.
    #[inline(always)]
    pub fn call<'a, R>(&'a self, f: impl for<'c> FnOnce(Call<'c, 'a, V>) -> R) -> R {
        let binding = &*self.binding;
        let call = |target: *const Target<V>| Call {
            target,
            binding,
            _during: PhantomData,
        };
        #[cfg(feature = "host")]
        if self.fixed.is_null() {
            // SAFETY: a binding that is not fixed always points at a live
            // target, and a target it stops pointing at is freed only after
            // `wait_idle`.
            return unsafe { gate::call(&binding.current, |gate| f(call(gate.cast()))) };
        }
        // Never re-pointed, and alive while `self` holds the binding.
        f(call(self.fixed))
    }

    /// Where the instance came from.
    pub fn info(&self) -> PluginInfo {
        self.call(|call| call.info().clone())
    }

    /// The instance and vtable this proxy calls, to send to the library
    /// they live in instead of wrapping the proxy: so an object passed back
    /// and forth never piles up wrappers. Only when the value goes (`to`)
    /// to that library, and the proxy cannot be re-pointed. `take`: the
    /// proxy gives the object up (an owned object, of a binding no other
    /// proxy shares); else it is lent for the call.
    #[doc(hidden)]
    pub fn hand_back(&self, take: bool, to: &Lower<'_>) -> Option<crate::carry::RObject> {
        #[cfg(feature = "host")]
        if self.fixed.is_null() {
            return None;
        }
        // SAFETY: a fixed binding's target lives as long as the binding,
        // which `self` holds.
        let target = unsafe { &*self.fixed };
        if !to.goes_to(&target.info.library) {
            return None;
        }
        if take {
            if Arc::strong_count(&self.binding) != 1 || !target.drops.load(Ordering::Relaxed) {
                return None;
            }
            target.drops.store(false, Ordering::Relaxed);
        }
        Some(crate::carry::RObject {
            instance: target.instance,
            vtable: target.vtable.cast(),
        })
    }
}

impl<V: 'static> Clone for RawProxy<V> {
    fn clone(&self) -> Self {
        Self::from_binding(Arc::clone(&self.binding))
    }
}

/// A call in flight through a proxy, lent to [`RawProxy::call`]'s closure
/// for the length of the call (`'c`); `'a` borrows the proxy.
pub struct Call<'c, 'a, V: 'static> {
    target: *const Target<V>,
    binding: &'a Binding<V>,
    _during: PhantomData<&'c ()>,
}

impl<'a, V: 'static> Call<'_, 'a, V> {
    #[inline(always)]
    fn target(&self) -> &Target<V> {
        // SAFETY: alive while the call lasts (entered through the gate, or
        // a fixed binding's, alive with the binding), and `Call` is only
        // lent to `RawProxy::call`'s closure for that long.
        unsafe { &*self.target }
    }

    /// How many of the trait's methods the plugin has: all of them, unless
    /// it was built against an older minor version of the interface.
    #[inline(always)]
    pub fn slots(&self) -> u32 {
        self.target().slots
    }

    /// The vtable, valid during the call.
    #[inline(always)]
    pub fn vtable(&self) -> &V {
        // SAFETY: a target's vtable lives as long as the target.
        unsafe { &*self.target().vtable }
    }

    /// The instance pointer to pass to the vtable's functions.
    #[inline(always)]
    pub fn instance(&self) -> *mut c_void {
        self.target().instance
    }

    /// Where the instance came from.
    pub fn info(&self) -> &PluginInfo {
        &self.target().info
    }

    /// Where the call's arguments go: to this instance's library.
    #[inline(always)]
    pub fn lower_to(&self) -> Lower<'_> {
        Lower::to(&self.target().info)
    }

    /// How values `method` returns are lifted: adopted or copied, and
    /// objects kept alive by this instance's library.
    #[inline(always)]
    pub fn lift(&self, method: &'static str) -> Lift<'_> {
        let target = self.target();
        Lift::returned(Origin {
            info: &target.info,
            owner: target._owner.as_ref(),
            #[cfg(feature = "host")]
            children: target.children.as_ref(),
            method,
        })
    }

    /// The error for a call of `method` whose returned value this side
    /// refused.
    #[cold]
    #[inline(never)]
    pub fn invalid(&self, method: &'static str, invalid: Invalid) -> CallError {
        let info = self.info();
        CallError::InvalidValue {
            library: info.library.to_path_buf(),
            trait_name: info.trait_name.to_owned(),
            method: method.to_owned(),
            what: invalid.to_string(),
        }
    }

    /// Raises the failure a call of `method` returned, as a panic on this
    /// side: the original panic when it began here (a callback this side
    /// lent), a panic carrying it back when the other side kept its
    /// payload, else a panic with [`failed`](Self::failed)'s error.
    ///
    /// # Safety
    ///
    /// As for [`failed`](Self::failed).
    #[cold]
    #[inline(never)]
    pub unsafe fn raise_failed(self, method: &'static str, failure: *mut Failure) -> ! {
        // SAFETY: per the contract.
        unsafe { crate::export::pass_on(failure) };
        // SAFETY: per the contract; not passed on, so still here.
        crate::__private::raise(unsafe { self.failed(method, failure) })
    }

    /// A string the plugin returned, copied into host memory owned by the
    /// proxy, so it stays valid after the call, across unload and reload.
    /// Each distinct string is copied once per proxy.
    pub fn keep_str(&self, text: &str) -> &'a str {
        let kept = |set: &HashSet<Box<str>>| {
            set.get(text).map(|kept| {
                let kept: *const str = &**kept;
                // SAFETY: a kept string's heap buffer never moves (the
                // set moves only the box pointing to it) and is freed only
                // with the binding, which `'a` borrows.
                unsafe { &*kept }
            })
        };
        let strings = self.binding.strings.get_or_init(RwLock::default);
        if let Some(kept) = kept(&strings.read().unwrap_or_else(|e| e.into_inner())) {
            return kept;
        }
        let mut set = strings.write().unwrap_or_else(|e| e.into_inner());
        if !set.contains(text) {
            set.insert(Box::from(text));
        }
        kept(&set).unwrap_or_default()
    }

    /// The error for a call of `method`, which the plugin lacks.
    #[cold]
    #[inline(never)]
    pub fn missing(&self, method: &'static str) -> CallError {
        let info = self.info();
        #[cfg(feature = "host")]
        if self.target().stand_in {
            return self.unloaded(method);
        }
        CallError::MethodMissing {
            library: info.library.to_path_buf(),
            trait_name: info.trait_name.to_owned(),
            method: method.to_owned(),
            interface: info.interface.to_string(),
        }
    }

    #[cfg(feature = "host")]
    fn unloaded(&self, method: &'static str) -> CallError {
        let info = self.info();
        CallError::Unloaded {
            library: info.library.to_path_buf(),
            trait_name: info.trait_name.to_owned(),
            entry: info.entry.to_string(),
            method: method.to_owned(),
        }
    }

    /// The error for a call of `method` that returned `failure`: the
    /// instance was unloaded, the plugin lacks the method, or it panicked.
    ///
    /// # Safety
    ///
    /// `failure` must be the non-null failure this call just returned, not
    /// yet taken. Taking the call by value keeps it in registers on the
    /// path that does not fail.
    #[cold]
    #[inline(never)]
    pub unsafe fn failed(self, method: &'static str, failure: *mut Failure) -> CallError {
        // SAFETY: per the contract.
        if let Some(error) = unsafe { crate::export::call_failure(failure) } {
            return error;
        }
        // SAFETY: per the contract; the library is loaded during the call.
        match unsafe { Failure::take(failure) } {
            None => self.missing(method),
            Some(message) => CallError::Panicked {
                library: self.info().library.to_path_buf(),
                trait_name: self.info().trait_name.to_owned(),
                method: method.to_owned(),
                message,
            },
        }
    }
}

impl<V> fmt::Debug for RawProxy<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.call(|call| {
            let info = call.info();
            let mut out = f.debug_struct("RawProxy");
            out.field("trait", &info.trait_name)
                .field("entry", &info.entry)
                .field("library", &info.library);
            #[cfg(feature = "host")]
            out.field("unloaded", &call.target().stand_in);
            out.finish_non_exhaustive()
        })
    }
}

impl<V> fmt::Debug for Call<'_, '_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("entry", &self.info().entry)
            .finish_non_exhaustive()
    }
}
