//! Data that crosses the boundary as it is.
//!
//! `#[plugin_trait]` maps `String`, `Vec<T>`, `Option<T>` and `Result<T, E>`
//! to abi_stable's `RString`, `RVec`, `ROption` and `RResult` itself;
//! primitives and [`PluginData`] structs cross unchanged.

use crate::layout::{TypeLayout, known};

/// Data that crosses the plugin boundary as it is: the same bytes mean the
/// same value on both sides, and nothing is owned. Primitives implement it;
/// `#[repr(C)]` structs of plain fields get it from `#[derive(PluginData)]`.
///
/// ```
/// use plugin_interface::PluginData;
///
/// #[repr(C)]
/// #[derive(Clone, Copy, PluginData)]
/// pub struct Point {
///     pub x: f64,
///     pub y: f64,
/// }
/// ```
///
/// # Safety
///
/// The type must be `#[repr(C)]` (or a primitive), own no memory, and have
/// only `PluginData` fields, so its layout is the same in every library that
/// shares the declaring crate. `#[derive(PluginData)]` checks all three.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross the plugin boundary",
    label = "not carried by plugin methods",
    note = "plugin methods carry integers (i8..i64, u8..u64, isize, usize), f32, f64, bool, `&str`, `String`, `&[T]` of plain data, `Vec<T>`, `Option<T>` and `Result<T, E>` of carried types, and `#[repr(C)]` structs that derive `PluginData`"
)]
pub unsafe trait PluginData: Copy + 'static {
    /// The type's structural layout, compared between host and plugin.
    const LAYOUT: &'static TypeLayout;
}

macro_rules! plain {
    ($($ty:ty => $layout:ident),* $(,)?) => {$(
        // SAFETY: primitives have the same C layout in every image and own
        // no memory.
        unsafe impl PluginData for $ty {
            const LAYOUT: &'static TypeLayout = known::$layout;
        }
    )*};
}

plain!(
    u8 => U8, u16 => U16, u32 => U32, u64 => U64, usize => USIZE,
    i8 => I8, i16 => I16, i32 => I32, i64 => I64, isize => ISIZE,
    f32 => F32, f64 => F64, bool => BOOL,
);

/// How `()` crosses inside `Option` and `Result`: one byte, so
/// `Result<(), E>` has a C layout.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Unit(u8);

impl Unit {
    /// The only value.
    pub const VALUE: Self = Self(0);
}
