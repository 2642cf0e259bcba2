//! Trait objects that cross: host objects lent or given to a plugin,
//! plugin objects handed back to the host.
//!
//! An object crosses as an [`RObject`]: an instance pointer and the vtable
//! of its `#[plugin_trait]`. The sending side wraps its `Box<dyn Trait>`,
//! `Arc<dyn Trait>` or `&dyn Trait` in a [`HostObject`], whose vtable its
//! own image instantiates, so calls come back to the sender's code. The
//! receiving side recognises its own vtable and takes the original back,
//! so an object passed back and forth is never wrapped twice; anything else
//! becomes the trait's proxy, which frees an owned object through its
//! vtable when dropped.

use core::ffi::c_void;
use core::mem::MaybeUninit;
use core::ptr;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use super::{Invalid, Lift, Lower};
use crate::abi::VTablePrefix;
use crate::interface::{PluginInterface, VTableFor};
use crate::layout::TypeLayout;
use crate::proxy::{Binding, Info, PluginInfo, RawProxy, Target};
use crate::wire::{self, ArgReader, DispatchError, Peer, Remote, RemoteArgs};

/// An object as it crosses: an instance and the vtable of its trait.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RObject {
    /// The instance, passed to every function of the vtable.
    pub instance: *mut c_void,
    /// The trait's generated vtable, as `*const Trait VTable`.
    pub vtable: *const c_void,
}

/// The layout every object crosses with.
pub const fn object_layout(name: &'static str) -> TypeLayout {
    TypeLayout::object::<RObject>(name)
}

/// How a [`HostObject`] holds its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// A `Box<I>`, freed with the wrapper.
    Owned,
    /// An `Arc<I>`, released with the wrapper.
    Shared,
    /// A `&I` lent for one call.
    Lent,
    /// A `&mut I` lent for one call.
    LentMut,
}

/// A `dyn Trait` of this side as the other side calls it: `#[plugin_trait]`
/// implements the trait for `HostObject<dyn Trait>` by forwarding, so the
/// trait's vtable can be instantiated over it.
pub struct HostObject<I: ?Sized + 'static> {
    object: *mut I,
    hold: Hold,
}

// SAFETY: the wrapper owns or borrows an `I`; moving it to another thread
// moves (or shares) that `I`, which `I: Send + Sync` allows in every case
// (a lent `&I` needs `I: Sync`, a lent `&mut I` or an owned one `I: Send`,
// a shared one both).
unsafe impl<I: ?Sized + Send + Sync> Send for HostObject<I> {}
// SAFETY: shared access to the wrapper gives `&I` only, which `I: Sync`
// allows from any thread.
unsafe impl<I: ?Sized + Send + Sync> Sync for HostObject<I> {}

impl<I: ?Sized + 'static> HostObject<I> {
    /// The object, for a forwarding `&self` method.
    #[inline(always)]
    pub fn get(&self) -> &I {
        // SAFETY: owned, shared or lent for as long as the wrapper lives.
        unsafe { &*self.object }
    }

    /// The object, for a forwarding `&mut self` method. Only an owned
    /// object or one lent as `&mut` can be reached mutably: the proxy on
    /// the other side of a shared or `&` one offers no `&mut` access, so a
    /// call that gets here came through a forged vtable call.
    #[inline(always)]
    pub fn get_mut(&mut self) -> &mut I {
        assert!(
            matches!(self.hold, Hold::Owned | Hold::LentMut),
            "a `&mut self` method was called on an object lent as `&` or shared through `Arc`"
        );
        // SAFETY: owned, or lent mutably for as long as the wrapper lives,
        // and `&mut self` makes this the only access.
        unsafe { &mut *self.object }
    }

    /// A wrapper of an object lent for one call.
    pub(crate) fn lent(object: &'static I) -> Self {
        Self {
            object: ptr::from_ref(object).cast_mut(),
            hold: Hold::Lent,
        }
    }

    /// A wrapper of an object lent mutably for one call.
    pub(crate) fn lent_mut(object: &'static mut I) -> Self {
        Self {
            object: ptr::from_mut(object),
            hold: Hold::LentMut,
        }
    }

    /// A wrapper owning a boxed object.
    pub(crate) fn owned(object: Box<I>) -> Self {
        Self {
            object: Box::into_raw(object),
            hold: Hold::Owned,
        }
    }

    /// A wrapper holding one reference to a shared object.
    pub(crate) fn shared(object: Arc<I>) -> Self {
        Self {
            object: Arc::into_raw(object).cast_mut(),
            hold: Hold::Shared,
        }
    }

    /// Takes back an owned box.
    fn into_box(self) -> Result<Box<I>, Self> {
        if self.hold != Hold::Owned {
            return Err(self);
        }
        let object = self.object;
        core::mem::forget(self);
        // SAFETY: `Owned` holds a pointer from `Box::into_raw`, given up
        // here once (the wrapper is forgotten).
        Ok(unsafe { Box::from_raw(object) })
    }

    /// Takes back an owned box or a shared object as an `Arc`.
    fn into_arc(self) -> Result<Arc<I>, Self> {
        match self.hold {
            Hold::Shared => {
                let object = self.object;
                core::mem::forget(self);
                // SAFETY: `Shared` holds a pointer from `Arc::into_raw`,
                // given up here once.
                Ok(unsafe { Arc::from_raw(object) })
            }
            Hold::Owned => self.into_box().map(Arc::from),
            Hold::Lent | Hold::LentMut => Err(self),
        }
    }
}

impl<I: ?Sized + 'static> Drop for HostObject<I> {
    fn drop(&mut self) {
        match self.hold {
            // SAFETY: a pointer from `Box::into_raw`, released once here.
            Hold::Owned => drop(unsafe { Box::from_raw(self.object) }),
            // SAFETY: a pointer from `Arc::into_raw`, released once here.
            Hold::Shared => drop(unsafe { Arc::from_raw(self.object) }),
            Hold::Lent | Hold::LentMut => {}
        }
    }
}

impl<I: ?Sized + 'static> core::fmt::Debug for HostObject<I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HostObject")
            .field("hold", &self.hold)
            .finish_non_exhaustive()
    }
}

/// A `#[plugin_trait]` trait whose objects cross: implemented for
/// `dyn Trait` by the macro.
///
/// # Safety
///
/// The conversions must return the proxy itself, unsized to `Self`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a plugin trait, so its objects cannot cross the plugin boundary",
    label = "not declared with `#[plugin_trait]`",
    note = "objects cross as `&dyn Trait`, `&mut dyn Trait`, `Box<dyn Trait>` or `Arc<dyn Trait>` of traits declared with `#[plugin_trait]`; closures as `&dyn Fn(A) -> R` or `&mut dyn FnMut(A) -> R`"
)]
pub unsafe trait ObjectInterface: PluginInterface + VTableFor<HostObject<Self>> {
    /// The layout of the trait's objects as they cross.
    const OBJECT: &'static TypeLayout;

    /// A proxy as a boxed trait object.
    fn boxed(proxy: Self::Proxy) -> Box<Self>;

    /// A proxy as a shared trait object.
    fn shared(proxy: Self::Proxy) -> Arc<Self>;

    /// A proxy as a borrowed trait object.
    fn lent(proxy: &Self::Proxy) -> &Self;

    /// A proxy as a mutably borrowed trait object.
    fn lent_mut(proxy: &mut Self::Proxy) -> &mut Self;

    /// An object of the other side of a serialised connection, boxed as
    /// the trait object.
    #[doc(hidden)]
    fn stand_in(remote: Remote<Self>) -> Box<Self>;

    /// A stand-in as the trait object it stands in for.
    #[doc(hidden)]
    fn remote_ref(remote: &Remote<Self>) -> &Self;

    /// A stand-in as the trait object it stands in for, mutably.
    #[doc(hidden)]
    fn remote_mut(remote: &mut Remote<Self>) -> &mut Self;

    // The serialised path's conversions of the trait's objects, named
    // through this trait so that a trait object that is not a plugin
    // trait gives the one error every other use of it gives.

    /// Reads a lent object argument; see [`wire::lent_object`].
    #[doc(hidden)]
    fn read_lent(
        reader: &mut ArgReader<'_>,
        peer: Option<&Arc<dyn Peer>>,
        name: &str,
    ) -> Result<Remote<Self>, DispatchError> {
        wire::lent_object::<Self>(reader, peer, name)
    }

    /// Reads a given object argument; see [`wire::given_box`].
    #[doc(hidden)]
    fn read_box(
        reader: &mut ArgReader<'_>,
        peer: Option<&Arc<dyn Peer>>,
        name: &str,
    ) -> Result<Box<Self>, DispatchError> {
        wire::given_box::<Self>(reader, peer, name)
    }

    /// Reads a shared object argument; see [`wire::given_arc`].
    #[doc(hidden)]
    fn read_arc(
        reader: &mut ArgReader<'_>,
        peer: Option<&Arc<dyn Peer>>,
        name: &str,
    ) -> Result<Arc<Self>, DispatchError> {
        wire::given_arc::<Self>(reader, peer, name)
    }

    /// Keeps a returned object for the peer; see [`wire::encode_given`].
    #[doc(hidden)]
    fn write_box(
        peer: Option<&Arc<dyn Peer>>,
        object: Box<Self>,
    ) -> Result<Vec<u8>, DispatchError> {
        wire::encode_given::<Self>(peer, object)
    }

    /// Keeps a returned shared object for the peer; see
    /// [`wire::encode_shared`].
    #[doc(hidden)]
    fn write_arc(
        peer: Option<&Arc<dyn Peer>>,
        object: Arc<Self>,
    ) -> Result<Vec<u8>, DispatchError> {
        wire::encode_shared::<Self>(peer, object)
    }

    /// A returned object of the peer's; see [`wire::decode_box`].
    #[doc(hidden)]
    fn decode_box(bytes: &[u8], peer: &Arc<dyn Peer>, run: u32) -> Result<Box<Self>, String> {
        wire::decode_box::<Self>(bytes, peer, run)
    }

    /// A returned shared object of the peer's; see [`wire::decode_arc`].
    #[doc(hidden)]
    fn decode_arc(bytes: &[u8], peer: &Arc<dyn Peer>, run: u32) -> Result<Arc<Self>, String> {
        wire::decode_arc::<Self>(bytes, peer, run)
    }

    /// Lends an object for a call to the peer.
    #[doc(hidden)]
    fn send_lent(args: &mut RemoteArgs, object: &'static Self) {
        args.lend::<Self>(object);
    }

    /// Lends an object mutably for a call to the peer.
    #[doc(hidden)]
    fn send_lent_mut(args: &mut RemoteArgs, object: &'static mut Self) {
        args.lend_mut::<Self>(object);
    }

    /// Gives an object to the peer.
    #[doc(hidden)]
    fn send_box(args: &mut RemoteArgs, object: Box<Self>) {
        args.give::<Self>(object);
    }

    /// Shares an object with the peer.
    #[doc(hidden)]
    fn send_arc(args: &mut RemoteArgs, object: Arc<Self>) {
        args.share::<Self>(object);
    }

    /// How the other side's objects of this trait are described, made
    /// once (see [`host_info`]).
    #[doc(hidden)]
    fn host_info() -> &'static PluginInfo;

    /// The proxy behind a trait object, if it is this trait's proxy.
    #[doc(hidden)]
    fn proxy_of(object: &Self) -> Option<&RawProxy<Self::VTable>>;

    /// Lends an object for one call; see [`lend`].
    #[doc(hidden)]
    fn lend<'a>(
        object: &'a Self,
        slot: &'a mut MaybeUninit<HostObject<Self>>,
        to: &Lower<'_>,
    ) -> RObject {
        match Self::proxy_of(object).and_then(|proxy| proxy.hand_back(false, to)) {
            Some(object) => object,
            None => lend(object, slot),
        }
    }

    /// Lends an object mutably for one call; see [`lend_mut`].
    #[doc(hidden)]
    fn lend_mut<'a>(
        object: &'a mut Self,
        slot: &'a mut MaybeUninit<HostObject<Self>>,
        to: &Lower<'_>,
    ) -> RObject {
        if let Some(object) = Self::proxy_of(object).and_then(|proxy| proxy.hand_back(false, to)) {
            return object;
        }
        lend_mut(object, slot)
    }

    /// A lent object as the callee uses it.
    #[doc(hidden)]
    fn borrowed<'b>(object: &'b Borrowed<'_, Self>) -> &'b Self {
        object.get()
    }

    /// A mutably lent object as the callee uses it.
    #[doc(hidden)]
    fn borrowed_mut<'b>(object: &'b mut Borrowed<'_, Self>) -> &'b mut Self {
        object.get_mut()
    }

    /// Receives a lent object; see [`Borrowed::new`].
    ///
    /// # Safety
    ///
    /// As for [`Borrowed::new`].
    #[doc(hidden)]
    unsafe fn borrow<'a>(object: RObject) -> Result<Borrowed<'a, Self>, Invalid> {
        // SAFETY: forwarded from the caller.
        unsafe { Borrowed::new(object) }
    }
}

/// This image's vtable for its own objects of `I`.
#[inline(always)]
fn own_vtable<I: ?Sized + ObjectInterface>() -> *const c_void {
    ptr::from_ref(<I as VTableFor<HostObject<I>>>::VTABLE).cast()
}

/// Sends a boxed object: the other side calls it through this image's
/// vtable and frees it through the vtable's `drop`.
pub fn lower_box<I: ?Sized + ObjectInterface>(object: Box<I>, to: &Lower<'_>) -> RObject {
    if let Some(handed) = I::proxy_of(&object).and_then(|proxy| proxy.hand_back(true, to)) {
        // The proxy gave its object up to the library it lives in.
        drop(object);
        return handed;
    }
    let wrapper = Box::new(HostObject {
        object: Box::into_raw(object),
        hold: Hold::Owned,
    });
    RObject {
        instance: Box::into_raw(wrapper).cast(),
        vtable: own_vtable::<I>(),
    }
}

/// Sends a shared object; the other side's proxy holds one reference.
pub fn lower_arc<I: ?Sized + ObjectInterface>(object: Arc<I>) -> RObject {
    let wrapper = Box::new(HostObject {
        object: Arc::into_raw(object).cast_mut(),
        hold: Hold::Shared,
    });
    RObject {
        instance: Box::into_raw(wrapper).cast(),
        vtable: own_vtable::<I>(),
    }
}

/// Lends an object for one call. `slot` holds the wrapper for the call.
///
/// The object's lifetime is erased: the other side may use the
/// [`RObject`] only during the call it was passed to, while `slot` and
/// the borrow are alive.
pub fn lend<'a, I: ?Sized + ObjectInterface>(
    object: &'a I,
    slot: &'a mut MaybeUninit<HostObject<I>>,
) -> RObject {
    let wrapper = slot.write(HostObject {
        object: ptr::from_ref(object).cast_mut(),
        hold: Hold::Lent,
    });
    RObject {
        instance: ptr::from_mut(wrapper).cast(),
        vtable: own_vtable::<I>(),
    }
}

/// Lends an object mutably for one call; see [`lend`].
pub fn lend_mut<'a, I: ?Sized + ObjectInterface>(
    object: &'a mut I,
    slot: &'a mut MaybeUninit<HostObject<I>>,
) -> RObject {
    let wrapper = slot.write(HostObject {
        object: ptr::from_mut(object),
        hold: Hold::LentMut,
    });
    RObject {
        instance: ptr::from_mut(wrapper).cast(),
        vtable: own_vtable::<I>(),
    }
}

/// Receives an owned object: this side's own comes back as it was sent,
/// another side's becomes a proxy that frees it when dropped.
///
/// # Safety
///
/// `object` must be an owned object of trait `I` sent by the other side
/// (a plugin whose interface was checked, or the host), alive, and not
/// used by the sender afterwards.
pub unsafe fn lift_box<I: ?Sized + ObjectInterface>(
    object: RObject,
    cx: &Lift<'_>,
) -> Result<Box<I>, Invalid> {
    if object.vtable == own_vtable::<I>() {
        // SAFETY: this image's vtable serves only `HostObject<I>`s boxed
        // by `lower_box` / `lower_arc`, handed back here.
        let wrapper = unsafe { Box::from_raw(object.instance.cast::<HostObject<I>>()) };
        return match wrapper.into_box() {
            Ok(object) => Ok(object),
            Err(wrapper) => Ok(I::boxed(own_proxy(Box::new(wrapper)))),
        };
    }
    // SAFETY: forwarded from the caller.
    Ok(I::boxed(unsafe { proxy::<I>(object, cx, true) }?))
}

/// Receives a shared object; see [`lift_box`].
///
/// # Safety
///
/// As for [`lift_box`].
pub unsafe fn lift_arc<I: ?Sized + ObjectInterface>(
    object: RObject,
    cx: &Lift<'_>,
) -> Result<Arc<I>, Invalid> {
    if object.vtable == own_vtable::<I>() {
        // SAFETY: as in `lift_box`.
        let wrapper = unsafe { Box::from_raw(object.instance.cast::<HostObject<I>>()) };
        return match wrapper.into_arc() {
            Ok(object) => Ok(object),
            Err(wrapper) => Ok(I::shared(own_proxy(Box::new(wrapper)))),
        };
    }
    // SAFETY: forwarded from the caller.
    Ok(I::shared(unsafe { proxy::<I>(object, cx, true) }?))
}

/// An object lent for one call, as the callee sees it: this side's own
/// object, or a proxy that does not free it.
#[derive(Debug)]
pub enum Borrowed<'a, I: ?Sized + ObjectInterface> {
    /// This side's own object, lent back.
    Own(&'a mut HostObject<I>),
    /// The other side's object.
    Proxy(I::Proxy),
}

impl<I: ?Sized + ObjectInterface> Borrowed<'_, I> {
    /// Receives a lent object.
    ///
    /// # Safety
    ///
    /// `object` must be lent by the other side for the current call, with
    /// trait `I`, and the result used only during the call.
    pub unsafe fn new(object: RObject) -> Result<Self, Invalid> {
        if object.vtable == own_vtable::<I>() {
            // SAFETY: this image's vtable serves only its `HostObject`s,
            // lent for the call.
            return Ok(Self::Own(unsafe {
                &mut *object.instance.cast::<HostObject<I>>()
            }));
        }
        // SAFETY: forwarded from the caller; a lent object is not freed.
        Ok(Self::Proxy(unsafe {
            proxy::<I>(object, &Lift::local(), false)
        }?))
    }

    /// The object as `&dyn Trait`.
    pub fn get(&self) -> &I {
        match self {
            Self::Own(wrapper) => wrapper.get(),
            Self::Proxy(proxy) => I::lent(proxy),
        }
    }

    /// The object as `&mut dyn Trait`.
    pub fn get_mut(&mut self) -> &mut I {
        match self {
            Self::Own(wrapper) => wrapper.get_mut(),
            Self::Proxy(proxy) => I::lent_mut(proxy),
        }
    }
}

/// A proxy of this side's own object that came back wrapped in a way the
/// requested type cannot take over (a shared object asked for as a box):
/// calls still go straight to this image's code.
fn own_proxy<I: ?Sized + ObjectInterface>(wrapper: Box<HostObject<I>>) -> I::Proxy {
    let object = RObject {
        instance: Box::into_raw(wrapper).cast(),
        vtable: own_vtable::<I>(),
    };
    // SAFETY: this image's own wrapper and vtable, owned by the proxy.
    unsafe { make_proxy::<I>(object, &Lift::local(), true) }
}

/// The path objects of the host carry in their [`PluginInfo`] when a
/// plugin holds them.
pub(crate) fn host_path() -> Arc<Path> {
    static HOST: OnceLock<Arc<Path>> = OnceLock::new();
    Arc::clone(HOST.get_or_init(|| Arc::from(Path::new("<host>"))))
}

/// The description of the other side's objects of the trait `descriptor`
/// names, made once in `cell`.
pub fn host_info(
    cell: &'static OnceLock<PluginInfo>,
    descriptor: &'static crate::abi::TraitDescriptor,
) -> &'static PluginInfo {
    cell.get_or_init(|| {
        PluginInfo::new(
            host_path(),
            descriptor.name.as_str(),
            Arc::from("host object"),
            Arc::from(format!(
                "{} {}",
                descriptor.interface_crate.as_str(),
                descriptor.interface_version.as_str()
            )),
        )
    })
}

/// A proxy of another side's object.
///
/// # Safety
///
/// As for [`lift_box`]; `owns` only for an owned object, which the proxy
/// then frees through the vtable's `drop`.
unsafe fn proxy<I: ?Sized + ObjectInterface>(
    object: RObject,
    cx: &Lift<'_>,
    owns: bool,
) -> Result<I::Proxy, Invalid> {
    let name = I::DESCRIPTOR.name.as_str();
    if object.vtable.is_null() || object.instance.is_null() {
        return Err(Invalid::new(format!(
            "an object of `dyn {name}` with a null instance or vtable"
        )));
    }
    // SAFETY: a non-null vtable of trait `I`, which starts with its prefix.
    let prefix = unsafe { &*object.vtable.cast::<VTablePrefix>() };
    let expected = I::DESCRIPTOR.method_count;
    if prefix.method_count < expected {
        return Err(Invalid::new(format!(
            "an object of `dyn {name}` with {} methods, this side's trait has {expected}",
            prefix.method_count
        )));
    }
    // SAFETY: forwarded from the caller.
    Ok(unsafe { make_proxy::<I>(object, cx, owns) })
}

/// A proxy of a checked object; see [`proxy`].
///
/// # Safety
///
/// As for [`proxy`], with a non-null instance and a full vtable.
unsafe fn make_proxy<I: ?Sized + ObjectInterface>(
    object: RObject,
    cx: &Lift<'_>,
    owns: bool,
) -> I::Proxy {
    let descriptor = I::DESCRIPTOR;
    let origin = cx.origin();
    let (info, owner) = match origin {
        Some(origin) => (
            Info::Owned(PluginInfo::new(
                Arc::clone(origin.info.library_arc()),
                descriptor.name.as_str(),
                Arc::<str>::from(format!("{}.{}", origin.info.entry(), origin.method)),
                Arc::<str>::from(origin.info.interface()),
            )),
            origin.owner.cloned(),
        ),
        // An object of the other side, lent or given to this one: one
        // description per trait, made once.
        None => (Info::Static(I::host_info()), None),
    };
    // SAFETY: per the contract, a live object of trait `I` whose vtable
    // the layout check covered; `owner` keeps its library mapped.
    let target = unsafe {
        Target::object(
            object.instance,
            object.vtable.cast::<I::VTable>(),
            info,
            owner,
            owns,
        )
    };
    // An object handed out by a library a manager may unload is retired
    // with it, so its binding goes through the unload gate, and so do the
    // objects it hands out in turn; any other lives as long as its proxy.
    #[cfg(feature = "host")]
    if let Some(children) = origin.and_then(|origin| origin.children) {
        let mut target = target;
        target.hand_out_into(Arc::clone(children));
        let binding = Arc::new(Binding::new(target, I::ABSENT));
        children.adopt(&binding);
        return I::wrap(RawProxy::from_binding(binding));
    }
    I::wrap(RawProxy::from_binding(Arc::new(Binding::fixed(target))))
}

// SAFETY: crosses as an object of the trait, whose vtable the sending side
// instantiates and the receiving side checks.
unsafe impl<I: ?Sized + ObjectInterface> super::PluginData for Arc<I> {
    type Abi = RObject;
    const LAYOUT: &'static TypeLayout = &TypeLayout::framework::<RObject>("Arc", &[I::OBJECT]);
    const NATIVE: &'static TypeLayout = &TypeLayout::object::<Self>("Arc<dyn>");

    fn lower(self, _: &Lower<'_>) -> RObject {
        lower_arc(self)
    }

    unsafe fn lift(abi: RObject, cx: &Lift<'_>) -> Result<Self, Invalid> {
        // SAFETY: forwarded from the caller.
        unsafe { lift_arc::<I>(abi, cx) }
    }
}
