//! [`PluginData`] for primitives and the standard library's types.

use core::mem::ManuallyDrop;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::Hash;

use super::{Invalid, Lift, Lower, Nested, PluginData, Tuple2, Unit};
use crate::layout::{TypeLayout, known};
use crate::repr::{RBox, ROption, RResult, RString, RVec};

macro_rules! plain {
    ($($ty:ty => $layout:ident),* $(,)?) => {$(
        // SAFETY: primitives have one C layout in every image, own no
        // memory, and every bit pattern is a valid value.
        unsafe impl PluginData for $ty {
            type Abi = $ty;
            const LAYOUT: &'static TypeLayout = known::$layout;
            const NATIVE: &'static TypeLayout = known::$layout;
            const PLAIN: bool = true;

            #[inline(always)]
            fn lower(self, _: &Lower<'_>) -> Self {
                self
            }

            #[inline(always)]
            unsafe fn lift(abi: Self, _: &Lift<'_>) -> Result<Self, Invalid> {
                Ok(abi)
            }
        }
    )*};
}

plain!(
    u8 => U8, u16 => U16, u32 => U32, u64 => U64, usize => USIZE,
    i8 => I8, i16 => I16, i32 => I32, i64 => I64, isize => ISIZE,
    f32 => F32, f64 => F64,
);

// SAFETY: crosses as a byte, checked to be 0 or 1.
unsafe impl PluginData for bool {
    type Abi = u8;
    const LAYOUT: &'static TypeLayout = known::BOOL;
    const NATIVE: &'static TypeLayout = known::BOOL;

    #[inline(always)]
    fn lower(self, _: &Lower<'_>) -> u8 {
        self as u8
    }

    #[inline(always)]
    unsafe fn lift(abi: u8, _: &Lift<'_>) -> Result<Self, Invalid> {
        match abi {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(Invalid::new(format!("bool: {other} is neither 0 nor 1"))),
        }
    }
}

// SAFETY: crosses as its scalar value, checked on arrival.
unsafe impl PluginData for char {
    type Abi = u32;
    const LAYOUT: &'static TypeLayout = &TypeLayout::primitive::<u32>("char");
    const NATIVE: &'static TypeLayout = &TypeLayout::primitive::<char>("char");

    #[inline(always)]
    fn lower(self, _: &Lower<'_>) -> u32 {
        self as u32
    }

    #[inline(always)]
    unsafe fn lift(abi: u32, _: &Lift<'_>) -> Result<Self, Invalid> {
        char::from_u32(abi)
            .ok_or_else(|| Invalid::new(format!("char: {abi:#x} is not a Unicode scalar value")))
    }
}

/// How `u128` and `i128` cross: two `u64`s, low half first, so that no
/// 16-byte alignment rule of either side's C ABI is involved.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wide {
    /// The low 64 bits.
    pub low: u64,
    /// The high 64 bits.
    pub high: u64,
}

macro_rules! wide {
    ($($ty:ty),*) => {$(
        // SAFETY: every pair of halves is a valid value.
        unsafe impl PluginData for $ty {
            type Abi = Wide;
            const LAYOUT: &'static TypeLayout = &TypeLayout::framework::<Wide>(stringify!($ty), &[]);
            const NATIVE: &'static TypeLayout = &TypeLayout::primitive::<$ty>(stringify!($ty));

            #[inline(always)]
            fn lower(self, _: &Lower<'_>) -> Wide {
                let bits = self as u128;
                Wide { low: bits as u64, high: (bits >> 64) as u64 }
            }

            #[inline(always)]
            unsafe fn lift(abi: Wide, _: &Lift<'_>) -> Result<Self, Invalid> {
                Ok((((abi.high as u128) << 64) | abi.low as u128) as $ty)
            }
        }
    )*};
}

wide!(u128, i128);

// SAFETY: `Unit` is one byte whose value is ignored.
unsafe impl PluginData for () {
    type Abi = Unit;
    const LAYOUT: &'static TypeLayout = known::UNIT;
    const NATIVE: &'static TypeLayout = &TypeLayout::primitive::<()>("()");

    #[inline(always)]
    fn lower(self, _: &Lower<'_>) -> Unit {
        Unit::VALUE
    }

    #[inline(always)]
    unsafe fn lift(_: Unit, _: &Lift<'_>) -> Result<Self, Invalid> {
        Ok(())
    }
}

// SAFETY: `RString` holds the host's memory, which either side adopts or
// copies; the text is checked to be UTF-8 before it becomes a `String`.
unsafe impl PluginData for String {
    type Abi = RString;
    const LAYOUT: &'static TypeLayout = known::RSTRING;
    const NATIVE: &'static TypeLayout = &TypeLayout::native::<String>("String", &[], &[], &[]);

    #[inline(always)]
    fn lower(self, _: &Lower<'_>) -> RString {
        RString::from(self)
    }

    #[inline(always)]
    unsafe fn lift(abi: RString, _: &Lift<'_>) -> Result<Self, Invalid> {
        lift_string(abi)
    }
}

/// A string from the other side, in this side's memory (adopted as it is
/// when this side allocates through the host's allocator, else copied),
/// refused unless it is UTF-8.
#[inline(always)]
fn lift_string(value: RString) -> Result<String, Invalid> {
    let bytes = value.as_bytes();
    // Mostly ASCII, which the standard library checks a word at a time in
    // long texts and byte by byte in short ones. Short texts were mostly
    // just written piece by piece, and a word load that spans several
    // recent narrower stores waits for them: the byte loop is faster there.
    if !bytes.is_ascii() && core::str::from_utf8(bytes).is_err() {
        return Err(not_utf8(bytes.len()));
    }
    let bytes = value.into_bytes().into_vec();
    // SAFETY: checked to be UTF-8 above.
    Ok(unsafe { String::from_utf8_unchecked(bytes) })
}

#[cold]
fn not_utf8(len: usize) -> Invalid {
    Invalid::new(format!("a string of {len} bytes is not UTF-8"))
}

/// Reinterprets a vector of a plain type as a vector of its identical
/// boundary form, or back.
fn cast_vec<A, B>(vec: Vec<A>) -> Vec<B> {
    assert!(size_of::<A>() == size_of::<B>() && align_of::<A>() == align_of::<B>());
    let mut vec = ManuallyDrop::new(vec);
    // SAFETY: only called for `PLAIN` types, whose boundary form is the
    // type itself bit for bit (same size and alignment, asserted above).
    unsafe { Vec::from_raw_parts(vec.as_mut_ptr().cast::<B>(), vec.len(), vec.capacity()) }
}

// SAFETY: `RVec` holds the host's memory, which either side adopts or
// copies; elements are lifted one by one, or, when plain, kept as they are.
unsafe impl<T: PluginData> PluginData for Vec<T> {
    type Abi = RVec<T::Abi>;
    const LAYOUT: &'static TypeLayout =
        &TypeLayout::framework::<RVec<T::Abi>>("RVec", &[T::LAYOUT]);
    const NATIVE: &'static TypeLayout =
        &TypeLayout::native::<Vec<T>>("Vec", &[], &[T::NATIVE], &[]);

    #[inline]
    fn lower(self, to: &Lower<'_>) -> RVec<T::Abi> {
        if T::PLAIN {
            return RVec::from(cast_vec::<T, T::Abi>(self));
        }
        let _level = Nested::lowering(to);
        if same_layout::<T, T::Abi>() {
            return RVec::from(lower_in_place(self, to));
        }
        RVec::from(
            self.into_iter()
                .map(|item| item.lower(to))
                .collect::<Vec<_>>(),
        )
    }

    #[inline]
    unsafe fn lift(abi: RVec<T::Abi>, cx: &Lift<'_>) -> Result<Self, Invalid> {
        if T::PLAIN {
            // Adopted, or copied into this side's memory, as it is.
            return Ok(cast_vec::<T::Abi, T>(abi.into_vec()));
        }
        let _level = Nested::lifting(cx)?;
        if cx.adopts() && fits_in_place::<T, T::Abi>() {
            // SAFETY: the buffer comes from this side's allocator
            // (`adopts`), and `T` fits where each `T::Abi` was.
            return unsafe { lift_in_place(abi, cx) };
        }
        let mut out = Vec::with_capacity(abi.len());
        for item in abi {
            // SAFETY: an element of the other side's vector of `T`.
            out.push(unsafe { T::lift(item, cx) }?);
        }
        Ok(out)
    }
}

/// Whether `T` and `A` have the same size and alignment, so that a buffer
/// of one holds the other element for element.
const fn same_layout<T, A>() -> bool {
    size_of::<T>() != 0 && size_of::<T>() == size_of::<A>() && align_of::<T>() == align_of::<A>()
}

/// Lowers each element of `vec` into the slot it came from: the buffer of
/// a `Vec<String>` becomes that of its `RString`s without a copy.
///
/// `same_layout::<T, T::Abi>()` must hold (checked by the caller).
#[inline]
fn lower_in_place<T: PluginData>(vec: Vec<T>, to: &Lower<'_>) -> Vec<T::Abi> {
    /// What a panicking `lower` leaves: lowered elements before `done`,
    /// the caller's after `done` (the one at `done` moved into `lower`).
    struct Partial<T: PluginData> {
        from: *mut T,
        done: usize,
        len: usize,
        capacity: usize,
    }
    impl<T: PluginData> Drop for Partial<T> {
        fn drop(&mut self) {
            // SAFETY: the slots before `done` hold lowered values, those
            // after it the caller's; the buffer is a `Vec<T>`'s.
            unsafe {
                core::ptr::slice_from_raw_parts_mut(self.from.cast::<T::Abi>(), self.done)
                    .drop_in_place();
                core::ptr::slice_from_raw_parts_mut(
                    self.from.add(self.done + 1),
                    self.len - self.done - 1,
                )
                .drop_in_place();
                drop(Vec::from_raw_parts(self.from, 0, self.capacity));
            }
        }
    }

    let mut vec = ManuallyDrop::new(vec);
    let mut partial = Partial::<T> {
        from: vec.as_mut_ptr(),
        done: 0,
        len: vec.len(),
        capacity: vec.capacity(),
    };
    let to_abi = partial.from.cast::<T::Abi>();
    while partial.done < partial.len {
        // SAFETY: element `done` is initialised and read once; its lowered
        // form, of the same size and alignment, goes into the same slot.
        unsafe {
            let value = partial.from.add(partial.done).read().lower(to);
            to_abi.add(partial.done).write(value);
        }
        partial.done += 1;
    }
    let partial = ManuallyDrop::new(partial);
    // SAFETY: `len` lowered values in the buffer of `capacity` elements of
    // the same size and alignment, allocated by this image's allocator.
    unsafe { Vec::from_raw_parts(to_abi, partial.len, partial.capacity) }
}

/// Whether a vector of `A` can become a vector of `T` in its own buffer:
/// `T` no larger, equally aligned, and not zero-sized.
const fn fits_in_place<T, A>() -> bool {
    size_of::<T>() != 0 && size_of::<T>() <= size_of::<A>() && align_of::<T>() == align_of::<A>()
}

/// Lifts each element of `abi` into the slot it came from, then hands the
/// buffer to a `Vec<T>`, shrunk to a whole number of `T`s if need be.
///
/// # Safety
///
/// As for [`PluginData::lift`]; the buffer must come from this image's
/// global allocator, and `fits_in_place::<T, T::Abi>()` must hold.
unsafe fn lift_in_place<T: PluginData>(
    abi: RVec<T::Abi>,
    cx: &Lift<'_>,
) -> Result<Vec<T>, Invalid> {
    use std::alloc::{Layout, dealloc, realloc};

    let mut abi = ManuallyDrop::new(abi);
    let (from, len, capacity) = (abi.as_mut_ptr(), abi.len(), abi.capacity());
    let to = from.cast::<T>();
    let bytes = capacity * size_of::<T::Abi>();
    let Ok(layout) = Layout::from_size_align(bytes, align_of::<T::Abi>()) else {
        return Err(Invalid::new(format!(
            "a vector of {capacity} elements is too large"
        )));
    };
    for index in 0..len {
        // SAFETY: element `index` is initialised and read once; the lifted
        // value goes at or before where it was read, over elements already
        // read (`T` is no larger than `T::Abi`).
        match unsafe { T::lift(from.add(index).read(), cx) } {
            // SAFETY: as above.
            Ok(value) => unsafe { to.add(index).write(value) },
            Err(invalid) => {
                // SAFETY: the first `index` slots hold lifted values, the
                // elements after `index` are still the other side's, and
                // the buffer is this side's, with `layout`.
                unsafe {
                    core::ptr::slice_from_raw_parts_mut(to, index).drop_in_place();
                    core::ptr::slice_from_raw_parts_mut(from.add(index + 1), len - index - 1)
                        .drop_in_place();
                    if bytes != 0 {
                        dealloc(from.cast(), layout);
                    }
                }
                return Err(invalid);
            }
        }
    }
    if bytes % size_of::<T>() == 0 {
        // SAFETY: `len` lifted values in a buffer of exactly
        // `bytes / size_of::<T>()` `T`s, allocated with `T`'s alignment.
        return Ok(unsafe { Vec::from_raw_parts(to, len, bytes / size_of::<T>()) });
    }
    let fitted = len * size_of::<T>();
    if fitted == 0 {
        // SAFETY: the buffer is this side's, with `layout`; no element.
        unsafe { dealloc(from.cast(), layout) };
        return Ok(Vec::new());
    }
    // SAFETY: shrinking this side's buffer (`layout`) to the lifted values.
    let shrunk = unsafe { realloc(from.cast(), layout, fitted) }.cast::<T>();
    if shrunk.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    // SAFETY: `len` values in a buffer of exactly `len` `T`s.
    Ok(unsafe { Vec::from_raw_parts(shrunk, len, len) })
}

// SAFETY: as its parts.
unsafe impl<T: PluginData> PluginData for Option<T> {
    type Abi = ROption<T::Abi>;
    const LAYOUT: &'static TypeLayout =
        &TypeLayout::framework::<ROption<T::Abi>>("ROption", &[T::LAYOUT]);
    const NATIVE: &'static TypeLayout =
        &TypeLayout::native::<Option<T>>("Option", &[], &[T::NATIVE], &[]);

    #[inline(always)]
    fn lower(self, to: &Lower<'_>) -> ROption<T::Abi> {
        match self {
            Some(value) => ROption::some(value.lower(to)),
            None => ROption::none(),
        }
    }

    #[inline(always)]
    unsafe fn lift(abi: ROption<T::Abi>, cx: &Lift<'_>) -> Result<Self, Invalid> {
        match abi.into_option()? {
            // SAFETY: the other side's `T`.
            Some(value) => Ok(Some(unsafe { T::lift(value, cx) }?)),
            None => Ok(None),
        }
    }
}

// SAFETY: as its parts.
unsafe impl<T: PluginData, E: PluginData> PluginData for Result<T, E> {
    type Abi = RResult<T::Abi, E::Abi>;
    const LAYOUT: &'static TypeLayout =
        &TypeLayout::framework::<RResult<T::Abi, E::Abi>>("RResult", &[T::LAYOUT, E::LAYOUT]);
    const NATIVE: &'static TypeLayout =
        &TypeLayout::native::<Result<T, E>>("Result", &[], &[T::NATIVE, E::NATIVE], &[]);

    #[inline(always)]
    fn lower(self, to: &Lower<'_>) -> RResult<T::Abi, E::Abi> {
        match self {
            Ok(value) => RResult::ok(value.lower(to)),
            Err(error) => RResult::err(error.lower(to)),
        }
    }

    #[inline(always)]
    unsafe fn lift(abi: RResult<T::Abi, E::Abi>, cx: &Lift<'_>) -> Result<Self, Invalid> {
        // SAFETY: the other side's `T` or `E`.
        unsafe {
            match abi.into_result()? {
                Ok(value) => Ok(Ok(T::lift(value, cx)?)),
                Err(error) => Ok(Err(E::lift(error, cx)?)),
            }
        }
    }
}

// SAFETY: `RBox` holds the host's memory, which either side frees.
unsafe impl<T: PluginData> PluginData for Box<T> {
    type Abi = RBox<T::Abi>;
    const LAYOUT: &'static TypeLayout =
        &TypeLayout::framework::<RBox<T::Abi>>("RBox", &[T::LAYOUT]);
    const NATIVE: &'static TypeLayout =
        &TypeLayout::native::<Box<T>>("Box", &[], &[T::NATIVE], &[]);

    #[inline]
    fn lower(self, to: &Lower<'_>) -> RBox<T::Abi> {
        let _level = Nested::lowering(to);
        RBox::new((*self).lower(to))
    }

    #[inline]
    unsafe fn lift(abi: RBox<T::Abi>, cx: &Lift<'_>) -> Result<Self, Invalid> {
        let _level = Nested::lifting(cx)?;
        // SAFETY: the other side's `T`.
        Ok(Box::new(unsafe { T::lift(RBox::into_inner(abi), cx) }?))
    }
}

/// How an array crosses: wrapped in a `#[repr(C)]` struct, since C passes
/// bare arrays by pointer.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Array<T, const N: usize>(pub [T; N]);

// SAFETY: each element as itself.
unsafe impl<T: PluginData, const N: usize> PluginData for [T; N] {
    type Abi = Array<T::Abi, N>;
    const LAYOUT: &'static TypeLayout = &TypeLayout::framework::<Self::Abi>("Array", &[T::LAYOUT]);
    const NATIVE: &'static TypeLayout =
        &TypeLayout::native::<[T; N]>("Array", &[], &[T::NATIVE], &[]);
    const PLAIN: bool = T::PLAIN;

    #[inline]
    fn lower(self, to: &Lower<'_>) -> Self::Abi {
        Array(self.map(|item| item.lower(to)))
    }

    #[inline]
    unsafe fn lift(abi: Self::Abi, cx: &Lift<'_>) -> Result<Self, Invalid> {
        let mut out = Vec::with_capacity(N);
        for item in abi.0 {
            // SAFETY: an element of the other side's array of `T`.
            out.push(unsafe { T::lift(item, cx) }?);
        }
        out.try_into()
            .map_err(|_| Invalid::new(format!("an array of {N} elements lost some")))
    }
}

/// Lowers the pairs of a map into a vector of `Tuple2`s.
fn lower_pairs<K: PluginData, V: PluginData>(
    pairs: impl ExactSizeIterator<Item = (K, V)>,
    to: &Lower<'_>,
) -> RVec<Tuple2<K::Abi, V::Abi>> {
    let _level = Nested::lowering(to);
    let mut out = Vec::with_capacity(pairs.len());
    out.extend(pairs.map(|(key, value)| Tuple2(key.lower(to), value.lower(to))));
    RVec::from(out)
}

/// Lifts the pairs of a map, handing each to `insert`.
///
/// # Safety
///
/// `abi` must be the other side's lowering of pairs of `K` and `V`.
unsafe fn lift_pairs<K: PluginData, V: PluginData>(
    abi: RVec<Tuple2<K::Abi, V::Abi>>,
    cx: &Lift<'_>,
    mut insert: impl FnMut(K, V),
) -> Result<(), Invalid> {
    let _level = Nested::lifting(cx)?;
    for Tuple2(key, value) in abi {
        // SAFETY: per the contract.
        let key = unsafe { K::lift(key, cx) }?;
        // SAFETY: per the contract.
        let value = unsafe { V::lift(value, cx) }?;
        insert(key, value);
    }
    Ok(())
}

macro_rules! maps {
    ($($map:ident [$($bound:tt)*]),*) => {$(
        // SAFETY: crosses as a vector of key-value pairs, each lifted.
        unsafe impl<K: PluginData + $($bound)*, V: PluginData> PluginData for $map<K, V> {
            type Abi = RVec<Tuple2<K::Abi, V::Abi>>;
            const LAYOUT: &'static TypeLayout = &TypeLayout::framework::<Self::Abi>(
                stringify!($map),
                &[K::LAYOUT, V::LAYOUT],
            );
            const NATIVE: &'static TypeLayout =
                &TypeLayout::native::<Self>(stringify!($map), &[], &[K::NATIVE, V::NATIVE], &[]);

            fn lower(self, to: &Lower<'_>) -> Self::Abi {
                lower_pairs(self.into_iter(), to)
            }

            unsafe fn lift(abi: Self::Abi, cx: &Lift<'_>) -> Result<Self, Invalid> {
                let mut map = $map::new();
                // SAFETY: the other side's map of `K` to `V`.
                unsafe { lift_pairs::<K, V>(abi, cx, |key, value| { map.insert(key, value); }) }?;
                Ok(map)
            }
        }
    )*};
}

maps!(HashMap[Eq + Hash], BTreeMap[Ord]);

macro_rules! sets {
    ($($set:ident [$($bound:tt)*]),*) => {$(
        // SAFETY: crosses as a vector of elements, each lifted.
        unsafe impl<T: PluginData + $($bound)*> PluginData for $set<T> {
            type Abi = RVec<T::Abi>;
            const LAYOUT: &'static TypeLayout =
                &TypeLayout::framework::<Self::Abi>(stringify!($set), &[T::LAYOUT]);
            const NATIVE: &'static TypeLayout =
                &TypeLayout::native::<Self>(stringify!($set), &[], &[T::NATIVE], &[]);

            fn lower(self, to: &Lower<'_>) -> Self::Abi {
                let _level = Nested::lowering(to);
                RVec::from(self.into_iter().map(|item| item.lower(to)).collect::<Vec<_>>())
            }

            unsafe fn lift(abi: Self::Abi, cx: &Lift<'_>) -> Result<Self, Invalid> {
                let _level = Nested::lifting(cx)?;
                let mut set = $set::new();
                for item in abi {
                    // SAFETY: an element of the other side's set of `T`.
                    set.insert(unsafe { T::lift(item, cx) }?);
                }
                Ok(set)
            }
        }
    )*};
}

sets!(HashSet[Eq + Hash], BTreeSet[Ord]);

#[cfg(test)]
mod tests {
    use super::fits_in_place;
    use crate::repr::RString;

    #[test]
    fn strings_are_lifted_in_the_buffer_they_were_lowered_into() {
        assert!(fits_in_place::<String, RString>());
        assert_eq!(size_of::<String>(), size_of::<RString>());
        assert!(!fits_in_place::<[u8; 64], RString>());
    }

    #[test]
    fn a_lifted_string_moves_in_a_result_no_wider_than_itself() {
        assert_eq!(
            size_of::<Result<String, crate::carry::Invalid>>(),
            size_of::<String>()
        );
    }
}
