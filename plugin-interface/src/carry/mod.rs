//! How values cross the boundary.
//!
//! Every type a plugin method takes or returns by value implements
//! [`PluginData`]: it has a `#[repr(C)]` form (`Abi`) that the sending side
//! lowers it into, and the receiving side lifts it back, checking what it
//! cannot prove (UTF-8, `char` scalars, `bool`s, enum tags, nesting depth).
//! Owned buffers cross in the host's memory ([`crate::repr`]): adopted as
//! they are, and copied only by a library that keeps its own allocator.
//! Borrowed arguments (`&T`, `&[T]`) cross as pointers to the
//! value as it is in memory ([`PluginData::NATIVE`]).

mod closure;
mod object;
mod std_impls;
mod tuples;

use core::any::Any;
use core::cell::Cell;
use core::fmt;
use std::path::Path;
use std::sync::Arc;

pub use closure::Callback;
pub(crate) use object::host_path;
pub use object::{
    Borrowed, HostObject, ObjectInterface, RObject, host_info, lend, lend_mut, lift_arc, lift_box,
    lower_arc, lower_box, object_layout,
};
pub use std_impls::{Array, Wide};
pub use tuples::*;

use crate::layout::TypeLayout;
pub use crate::layout::Unit;
use crate::proxy::PluginInfo;

/// A type whose values cross the plugin boundary. Derive it with
/// `#[derive(PluginData)]` on structs and enums whose fields are carried;
/// the standard types listed in the crate docs implement it.
///
/// ```
/// use plugin_interface::PluginData;
///
/// #[derive(Debug, Clone, PartialEq, PluginData)]
/// pub enum Shape {
///     Circle { radius: f64 },
///     Rect(f64, f64),
///     Empty,
/// }
///
/// #[derive(Debug, Clone, PartialEq, PluginData)]
/// pub struct Person {
///     pub name: String,
///     pub tags: Vec<String>,
///     pub age: Option<u32>,
///     pub home: Shape,
/// }
/// ```
///
/// # Safety
///
/// Every `PluginData` type also implements [`Wire`](crate::wire::Wire),
/// its encoding on the serialised path (`PluginLibrary::invoke`).
///
/// `Abi` must be `#[repr(C)]` data whose layout `LAYOUT` describes, and
/// `NATIVE` must describe `Self` as it is in memory (with the compiler's
/// version wherever the compiler chose the layout). `lift` must accept any
/// `Abi` value the other side's `lower` can make, and check everything
/// whose invalid values would be undefined behaviour in `Self`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross the plugin boundary",
    label = "not carried by plugin methods",
    note = "plugin methods carry integers, floats, `bool`, `char`, `String`, tuples, arrays, `Vec`, `Option`, `Result`, `Box`, `HashMap`, `BTreeMap`, `HashSet`, `BTreeSet` of carried types, types that derive `PluginData`, and `Box<dyn Trait>` / `Arc<dyn Trait>` of `#[plugin_trait]` traits"
)]
pub unsafe trait PluginData: Sized + crate::wire::Wire + 'static {
    /// The `#[repr(C)]` form that crosses.
    type Abi: 'static;

    /// The layout of [`Abi`](Self::Abi), compared between host and plugin.
    const LAYOUT: &'static TypeLayout;

    /// The layout of `Self` in memory, compared when a method borrows it
    /// (`&T`, `&[T]`).
    const NATIVE: &'static TypeLayout;

    /// `Abi` is `Self`, bit for bit, and every bit pattern the other side
    /// may send is valid: vectors of it cross without touching elements.
    #[doc(hidden)]
    const PLAIN: bool = false;

    /// The value in its boundary form, to be sent where `to` says;
    /// buffers stay where they are.
    fn lower(self, to: &Lower<'_>) -> Self::Abi;

    /// The value the other side lowered, checked and moved into this
    /// side's memory. The other side's buffers are freed through the
    /// allocator that made them, also when the value is refused.
    ///
    /// # Safety
    ///
    /// `abi` must come from the other side's `lower` of the same type (as
    /// the layout check established), passed by a live library; `cx` says
    /// whether its buffers come from this side's allocator.
    unsafe fn lift(abi: Self::Abi, cx: &Lift<'_>) -> Result<Self, Invalid>;

    /// The next argument of a dispatched call (the serialised path).
    /// Named through `<T as PluginData>` by generated code, so that a type
    /// that is not carried gives the error every other use of it gives.
    #[doc(hidden)]
    fn wire_argument(
        reader: &mut crate::wire::ArgReader<'_>,
        name: &str,
    ) -> Result<Self, crate::wire::DispatchError> {
        reader.next::<Self>(name)
    }

    /// The encoded result of a dispatched call.
    #[doc(hidden)]
    fn wire_result(&self) -> Result<Vec<u8>, crate::wire::DispatchError> {
        crate::wire::encode_result(self)
    }

    /// Appends the value's encoding to `out`: an argument of a call to an
    /// instance in a worker process. Named through `<T as PluginData>` by
    /// generated code, like [`wire_argument`](Self::wire_argument).
    #[doc(hidden)]
    fn wire_append(&self, out: &mut Vec<u8>) {
        crate::wire::append(&crate::wire::Ser(self), out);
    }

    /// Appends the encoding of `items` as a `Vec<Self>`'s: a `&[T]`
    /// argument of a call to an instance in a worker process.
    #[doc(hidden)]
    fn wire_append_slice(items: &[Self], out: &mut Vec<u8>) {
        crate::wire::append(&crate::wire::SerSlice(items), out);
    }

    /// The value encoded in all of `bytes`: the result of a call to an
    /// instance in a worker process.
    #[doc(hidden)]
    fn wire_decode_all(bytes: &[u8]) -> Result<Self, String> {
        crate::wire::decode_all(bytes)
    }
}

/// Where values being lowered go: the library a proxy call goes to, or the
/// host, which is where everything a plugin sends goes, and the safe answer
/// for a value returned to a caller the sender does not know (the host
/// hands nothing back to "the host"). An object of the receiver's own is
/// handed back to it instead of being wrapped.
///
/// It also counts how deep the value being lowered nests, for
/// [`MAX_DEPTH`]: in the context, not in a thread-local, which a plugin
/// library would reach through a call each time.
#[derive(Debug)]
pub struct Lower<'a> {
    to: Option<&'a Path>,
    depth: Cell<u32>,
}

impl Lower<'static> {
    /// Values going to the host, or to a caller not known.
    #[inline(always)]
    pub const fn host() -> Self {
        Lower {
            to: None,
            depth: Cell::new(0),
        }
    }
}

impl<'a> Lower<'a> {
    /// Values going to the library `info` names.
    #[inline(always)]
    pub(crate) fn to(info: &'a PluginInfo) -> Self {
        Self {
            to: Some(info.library()),
            depth: Cell::new(0),
        }
    }

    /// Whether the values go to the image `library` names. Compared by
    /// address, not by text: every instance of one loaded image shares its
    /// path's allocation, and two loads of one file are two images.
    pub(crate) fn goes_to(&self, library: &Path) -> bool {
        match self.to {
            Some(to) => core::ptr::eq(to, library),
            None => core::ptr::eq(library, host_path().as_ref()),
        }
    }
}

/// What a receiving side knows about values it lifts: which library
/// objects it returns live in.
pub struct Lift<'a> {
    origin: Option<Origin<'a>>,
    /// How deep the value being lifted nests, for [`MAX_DEPTH`].
    depth: Cell<u32>,
}

/// The library values come from, for the proxies of objects it hands out.
#[derive(Clone, Copy)]
pub(crate) struct Origin<'a> {
    pub(crate) info: &'a PluginInfo,
    pub(crate) owner: Option<&'a Arc<dyn Any + Send + Sync>>,
    /// Where a manager registers handed-out objects, to retire them.
    #[cfg(feature = "host")]
    pub(crate) children: Option<&'a Arc<crate::proxy::Children>>,
    pub(crate) method: &'static str,
}

impl<'a> Lift<'a> {
    /// Values sent into a plugin, or into a host object, by its caller.
    #[inline(always)]
    pub const fn local() -> Lift<'static> {
        Lift {
            origin: None,
            depth: Cell::new(0),
        }
    }

    pub(crate) fn returned(origin: Origin<'a>) -> Self {
        Self {
            origin: Some(origin),
            depth: Cell::new(0),
        }
    }

    /// Whether buffers are adopted instead of copied: every buffer that
    /// crosses is the host's memory, which this side's global allocator is
    /// unless it is a library that keeps its own.
    #[inline(always)]
    pub fn adopts(&self) -> bool {
        crate::allocator::shares_host_memory()
    }

    pub(crate) fn origin(&self) -> Option<Origin<'a>> {
        self.origin
    }
}

impl fmt::Debug for Lift<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lift")
            .field("adopts", &self.adopts())
            .finish_non_exhaustive()
    }
}

/// A value the other side sent that this side refuses to build: not
/// UTF-8, not a `char`, a tag naming no variant, nested too deep.
///
/// Two words, so that `Result<String, Invalid>` is the size of a
/// `String` and a lifted value moves as it is, not through a wider result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(Box<str>);

impl Invalid {
    /// A refusal saying what was wrong.
    #[cold]
    pub fn new(what: impl Into<String>) -> Self {
        Self(what.into().into_boxed_str())
    }

    /// A tag that names no variant of `ty`.
    #[cold]
    pub fn tag(ty: &str, tag: u32, variants: usize) -> Self {
        Self::new(format!(
            "enum `{ty}`: tag {tag} names no variant (it has {variants})"
        ))
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

/// How deep values may nest through boxes, vectors and maps when they
/// cross: deeper values are refused rather than risking the stack.
pub const MAX_DEPTH: u32 = 256;

/// One level of nesting of the value a [`Lower`] or [`Lift`] carries,
/// left when dropped.
pub(crate) struct Nested<'c>(&'c Cell<u32>);

impl<'c> Nested<'c> {
    /// Enters a level of `depth`; `None` past [`MAX_DEPTH`].
    #[inline]
    fn enter(depth: &'c Cell<u32>) -> Option<Self> {
        let now = depth.get();
        (now < MAX_DEPTH).then(|| {
            depth.set(now + 1);
            Nested(depth)
        })
    }

    /// Enters a level while lowering: a value nested deeper than
    /// [`MAX_DEPTH`] cannot be sent, which the boundary reports as a panic
    /// of the sending side.
    #[inline]
    pub(crate) fn lowering(to: &'c Lower<'_>) -> Self {
        Self::enter(&to.depth).unwrap_or_else(|| too_deep_to_send())
    }

    /// Enters a level while lifting.
    #[inline]
    pub(crate) fn lifting(cx: &'c Lift<'_>) -> Result<Self, Invalid> {
        Self::enter(&cx.depth).ok_or_else(too_deep)
    }
}

impl Drop for Nested<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

#[cold]
#[inline(never)]
fn too_deep_to_send() -> ! {
    panic!("a value nested deeper than {MAX_DEPTH} levels cannot cross the plugin boundary")
}

#[cold]
fn too_deep() -> Invalid {
    Invalid::new(format!(
        "a value nested deeper than {MAX_DEPTH} levels cannot cross the plugin boundary"
    ))
}

thread_local! {
    static LENDING: Cell<u32> = const { Cell::new(0) };
}

/// While alive, this thread has lent objects or closures to a call in
/// progress: a panic of theirs keeps its payload, so that it resumes as it
/// began once the call returns.
#[derive(Debug)]
pub struct Lending(());

impl Lending {
    /// Starts lending, until dropped.
    #[inline]
    pub fn start() -> Self {
        LENDING.with(|lending| lending.set(lending.get() + 1));
        Lending(())
    }

    /// Whether this thread is lending.
    pub(crate) fn active() -> bool {
        LENDING.with(|lending| lending.get() > 0)
    }
}

impl Drop for Lending {
    #[inline]
    fn drop(&mut self) {
        LENDING.with(|lending| lending.set(lending.get() - 1));
    }
}
