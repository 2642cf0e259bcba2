//! How values of each carried type cross the boundary.
//!
//! Every by-value argument and return value is converted to a `#[repr(C)]`
//! form ([`Carry::Ffi`]) on one side and back on the other. Borrowed `&str`
//! and `&[T]` arguments cross as `RStr` and `RSlice` without copying.

use abi_stable::std_types::{ROption, RResult, RString, RVec};

/// A type that crosses the plugin boundary by value.
///
/// Implemented for integers, floats, `bool`, `()`, `String`, and for
/// `Vec<T>`, `Option<T>` and `Result<T, E>` of carried types. `#[repr(C)]`
/// structs get it from `#[derive(PluginData)]`.
///
/// # Safety
///
/// `Ffi` must be FFI-safe, and `from_ffi` must accept any value produced by
/// `into_ffi` of another copy of this crate (another library image): it may
/// not assume the value's memory came from its own allocator.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross the plugin boundary",
    label = "this type is not carried by plugin methods",
    note = "plugin methods carry: integers (i8..i64, u8..u64, isize, usize), f32, f64, bool, `&str`, `String`, `&[T]` of plain data, `Vec<T>`, `Option<T>` and `Result<T, E>` of carried types, and `#[repr(C)]` structs that derive `PluginData`"
)]
pub unsafe trait Carry: Sized {
    /// The `#[repr(C)]` form that crosses the boundary.
    type Ffi;

    /// Converts a value for the other side.
    fn into_ffi(self) -> Self::Ffi;

    /// Converts a value from the other side into memory of this side.
    fn from_ffi(ffi: Self::Ffi) -> Self;

    /// Converts a vector of values; plain data moves without copying.
    #[doc(hidden)]
    fn vec_into_ffi(values: Vec<Self>) -> RVec<Self::Ffi> {
        values.into_iter().map(Self::into_ffi).collect()
    }

    /// Converts a vector from the other side.
    #[doc(hidden)]
    fn vec_from_ffi(values: RVec<Self::Ffi>) -> Vec<Self> {
        values.into_iter().map(Self::from_ffi).collect()
    }
}

/// Data that crosses as it is: no conversion, no ownership, the same bytes
/// on both sides. Required for the elements of `&[T]` arguments.
///
/// # Safety
///
/// The type must be `#[repr(C)]` (or a primitive) and every field must be
/// `PluginData`, so its layout is the same in every library that shares the
/// declaring crate. `#[derive(PluginData)]` checks both.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not plain data and cannot be borrowed across the plugin boundary",
    label = "slices carry plain data only",
    note = "`&[T]` needs `T` to be an integer, a float, bool, or a `#[repr(C)]` struct that derives `PluginData`; for other element types take a `Vec<T>`"
)]
pub unsafe trait PluginData: Copy + Carry<Ffi = Self> + 'static {}

macro_rules! plain {
    ($($ty:ty),* $(,)?) => {$(
        // SAFETY: primitives have the same C layout in every image and own
        // no memory.
        unsafe impl Carry for $ty {
            type Ffi = $ty;
            #[inline(always)]
            fn into_ffi(self) -> Self { self }
            #[inline(always)]
            fn from_ffi(ffi: Self) -> Self { ffi }
            #[inline]
            fn vec_into_ffi(values: Vec<Self>) -> RVec<Self> { RVec::from(values) }
            #[inline]
            fn vec_from_ffi(values: RVec<Self>) -> Vec<Self> { values.into_vec() }
        }
        // SAFETY: as above; primitives are `Copy` and layout-stable.
        unsafe impl PluginData for $ty {}
    )*};
}

plain!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize, f32, f64, bool);

/// `()` crosses as one byte, so `Result<(), E>` has a C layout.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit(u8);

// SAFETY: `Unit` is a one-byte `#[repr(C)]` struct owning nothing.
unsafe impl Carry for () {
    type Ffi = Unit;
    #[inline(always)]
    fn into_ffi(self) -> Unit {
        Unit(0)
    }
    #[inline(always)]
    fn from_ffi(_: Unit) -> Self {}
}

// SAFETY: `RString` is `#[repr(C)]` and carries the vtable of the allocator
// that made it; `into_string` copies when that allocator is another image's.
unsafe impl Carry for String {
    type Ffi = RString;
    #[inline]
    fn into_ffi(self) -> RString {
        RString::from(self)
    }
    #[inline]
    fn from_ffi(ffi: RString) -> Self {
        ffi.into_string()
    }
}

// SAFETY: `RVec` is `#[repr(C)]`, frees through the vtable of the image that
// allocated it, and each element converts through its own `Carry` impl.
unsafe impl<T: Carry> Carry for Vec<T> {
    type Ffi = RVec<T::Ffi>;
    #[inline]
    fn into_ffi(self) -> Self::Ffi {
        T::vec_into_ffi(self)
    }
    #[inline]
    fn from_ffi(ffi: Self::Ffi) -> Self {
        T::vec_from_ffi(ffi)
    }
}

// SAFETY: `ROption` is a `#[repr(C)]` enum of the converted payload.
unsafe impl<T: Carry> Carry for Option<T> {
    type Ffi = ROption<T::Ffi>;
    #[inline]
    fn into_ffi(self) -> Self::Ffi {
        match self {
            Some(value) => ROption::RSome(value.into_ffi()),
            None => ROption::RNone,
        }
    }
    #[inline]
    fn from_ffi(ffi: Self::Ffi) -> Self {
        match ffi {
            ROption::RSome(value) => Some(T::from_ffi(value)),
            ROption::RNone => None,
        }
    }
}

// SAFETY: `RResult` is a `#[repr(C)]` enum of the converted payloads.
unsafe impl<T: Carry, E: Carry> Carry for Result<T, E> {
    type Ffi = RResult<T::Ffi, E::Ffi>;
    #[inline]
    fn into_ffi(self) -> Self::Ffi {
        match self {
            Ok(value) => RResult::ROk(value.into_ffi()),
            Err(error) => RResult::RErr(error.into_ffi()),
        }
    }
    #[inline]
    fn from_ffi(ffi: Self::Ffi) -> Self {
        match ffi {
            RResult::ROk(value) => Ok(T::from_ffi(value)),
            RResult::RErr(error) => Err(E::from_ffi(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Carry + PartialEq + core::fmt::Debug + Clone>(value: T) {
        assert_eq!(T::from_ffi(value.clone().into_ffi()), value);
    }

    #[test]
    fn every_carried_type_round_trips_in_one_image() {
        round_trip(7u8);
        round_trip(-7i64);
        round_trip(1.5f64);
        round_trip(true);
        round_trip(());
        round_trip(String::new());
        round_trip("héllo wörld".to_owned());
        round_trip(vec![1u64, 2, 3]);
        round_trip(Vec::<String>::new());
        round_trip(vec!["a".to_owned(), String::new()]);
        round_trip(Some(vec![Some(1u8), None]));
        round_trip(Option::<String>::None);
        round_trip(Result::<u32, String>::Ok(3));
        round_trip(Result::<(), String>::Err("no".into()));
    }
}
