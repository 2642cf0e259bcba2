//! Borrowed strings and slices: a pointer and a length.

use core::fmt;
use core::marker::PhantomData;
use core::ops::Deref;

/// A borrowed string as C sees it: a pointer to UTF-8 bytes and their
/// length. Made from a `&str`, so reading it back needs no check; the
/// loader checks the ones it reads from a plugin file's bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RStr<'a> {
    ptr: *const u8,
    len: usize,
    _borrow: PhantomData<&'a str>,
}

// SAFETY: an `RStr` is a `&str`, which is `Send` and `Sync`.
unsafe impl Send for RStr<'_> {}
// SAFETY: as above.
unsafe impl Sync for RStr<'_> {}

impl<'a> RStr<'a> {
    /// The string `text`, borrowed.
    #[inline(always)]
    pub const fn new(text: &'a str) -> Self {
        Self {
            ptr: text.as_ptr(),
            len: text.len(),
            _borrow: PhantomData,
        }
    }

    /// The string.
    #[inline(always)]
    pub const fn as_str(&self) -> &'a str {
        // SAFETY: made from a `&'a str` (`new`), or read from a plugin
        // file by the loader, which checked it is UTF-8 inside the file.
        unsafe { core::str::from_utf8_unchecked(self.as_bytes()) }
    }

    /// The string's bytes.
    #[inline(always)]
    pub const fn as_bytes(&self) -> &'a [u8] {
        // SAFETY: `len` initialised bytes at `ptr`, borrowed for `'a`.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Where the bytes are.
    #[inline(always)]
    pub const fn as_ptr(&self) -> *const u8 {
        self.ptr
    }

    /// How many bytes.
    #[inline(always)]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the string is empty.
    #[inline(always)]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for RStr<'_> {
    fn default() -> Self {
        Self::new("")
    }
}

impl Deref for RStr<'_> {
    type Target = str;

    #[inline(always)]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for RStr<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RStr<'_> {}

impl fmt::Debug for RStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for RStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A borrowed slice as C sees it: a pointer to the first element and how
/// many there are.
#[repr(C)]
pub struct RSlice<'a, T> {
    ptr: *const T,
    len: usize,
    _borrow: PhantomData<&'a [T]>,
}

impl<T> Clone for RSlice<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for RSlice<'_, T> {}

// SAFETY: an `RSlice` is a `&[T]`, which is `Send` when `T: Sync`.
unsafe impl<T: Sync> Send for RSlice<'_, T> {}
// SAFETY: an `RSlice` is a `&[T]`, which is `Sync` when `T: Sync`.
unsafe impl<T: Sync> Sync for RSlice<'_, T> {}

impl<'a, T> RSlice<'a, T> {
    /// The slice `items`, borrowed.
    #[inline(always)]
    pub const fn from_slice(items: &'a [T]) -> Self {
        Self {
            ptr: items.as_ptr(),
            len: items.len(),
            _borrow: PhantomData,
        }
    }

    /// No elements.
    #[inline(always)]
    pub const fn empty() -> Self {
        Self::from_slice(&[])
    }

    /// The elements.
    #[inline(always)]
    pub const fn as_slice(&self) -> &'a [T] {
        // SAFETY: made from a `&'a [T]` (`from_slice`), or read from a
        // plugin file by the loader, which checked its bounds.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Where the elements are.
    #[inline(always)]
    pub const fn as_ptr(&self) -> *const T {
        self.ptr
    }

    /// How many elements.
    #[inline(always)]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    #[inline(always)]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T> Default for RSlice<'_, T> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<T> Deref for RSlice<'_, T> {
    type Target = [T];

    #[inline(always)]
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<'a, T> IntoIterator for RSlice<'a, T> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl<T: fmt::Debug> fmt::Debug for RSlice<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

impl<T: PartialEq> PartialEq for RSlice<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
