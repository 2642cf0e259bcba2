//! The link between a `#[plugin_trait]` trait and the runtime.

use core::sync::atomic::AtomicU64;

use crate::abi::TraitDescriptor;
use crate::proxy::RawProxy;

/// A trait declared with `#[plugin_trait]`, named through its trait object
/// type: `dyn Greeter` implements `PluginInterface` for `trait Greeter`.
///
/// The macro implements it; hosts use it as the type parameter of
/// [`load_plugins`](crate::load_plugins) and friends.
///
/// # Safety
///
/// `VTable` must be the `#[repr(C)]` vtable generated for the trait: a
/// [`VTablePrefix`](crate::abi::VTablePrefix) followed by one `extern "C"`
/// function per method, as `DESCRIPTOR` describes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a plugin interface",
    label = "not declared with `#[plugin_trait]`",
    note = "add `#[plugin_trait]` to the trait declaration, and name the trait object type: `dyn Trait`"
)]
pub unsafe trait PluginInterface: 'static {
    /// Name, interface version and methods of the trait.
    const DESCRIPTOR: &'static TraitDescriptor;

    /// The trait's `#[repr(C)]` vtable, e.g. `GreeterVTable`.
    type VTable: 'static;

    /// The typed proxy hosts call, e.g. `GreeterProxy`.
    type Proxy: 'static;

    /// A vtable of host-side stand-ins, one per method, that report the
    /// method absent. A plugin built against an older interface, whose
    /// vtable is shorter, gets the missing slots from here.
    #[doc(hidden)]
    const ABSENT: &'static Self::VTable;

    /// Counts unmaker calls of this trait in the library it is compiled into.
    #[doc(hidden)]
    fn unmaker_counter() -> &'static AtomicU64;

    /// Wraps a checked registration in the typed proxy.
    #[doc(hidden)]
    fn wrap(raw: RawProxy<Self::VTable>) -> Self::Proxy;

    /// The host's vtable for an instance in a worker process: the trait's
    /// shims over [`Remote`](crate::isolation::Remote), which
    /// `#[plugin_trait]` implements the trait for.
    #[cfg(all(feature = "host", unix))]
    #[doc(hidden)]
    fn remote_vtable() -> &'static Self::VTable;
}

/// The vtable of a plugin trait for one implementing type.
///
/// # Safety
///
/// Every function of `VTABLE` must treat its instance pointer as a
/// `Box<T>` made by the `Export::make` of an implementation for this `T`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a plugin interface that `{T}` can export",
    label = "not a trait declared with `#[plugin_trait]`",
    note = "declare the trait with `#[plugin_trait]` in its interface crate; `#[plugin_impl(Trait)]` goes on `impl Trait for Type`"
)]
pub unsafe trait VTableFor<T>: PluginInterface {
    /// The vtable, a static in the library that implements the trait.
    const VTABLE: &'static Self::VTable;

    /// Calls the method at `method` (its index in the trait's descriptor)
    /// of `instance` with the encoded arguments `args`, and encodes its
    /// result: the serialised path, which the exported
    /// `plugin_dispatch_<Trait>_<Type>_v1` runs inside `catch_unwind`.
    /// Objects and closures in the arguments become stand-ins calling
    /// `peer`; a returned object is kept for it.
    ///
    /// # Safety
    ///
    /// `instance` must be the live instance of a registration made for
    /// `T`, not borrowed elsewhere while the call runs.
    #[doc(hidden)]
    unsafe fn dispatch(
        instance: *mut core::ffi::c_void,
        method: u32,
        args: &[u8],
        peer: Option<&std::sync::Arc<dyn crate::wire::Peer>>,
    ) -> Result<Vec<u8>, crate::wire::DispatchError>;
}
