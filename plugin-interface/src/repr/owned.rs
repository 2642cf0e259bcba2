//! Owned strings, vectors and boxes in the host's memory.

use core::alloc::Layout;
use core::fmt;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ops::Deref;
use core::ptr::NonNull;

use crate::allocator::{alloc_host, free_host, shares_host_memory};

/// A vector as C sees it: a pointer, a length and a capacity, in memory
/// of the host's global allocator (see the [module docs](super)).
#[repr(C)]
pub struct RVec<T> {
    ptr: NonNull<T>,
    len: usize,
    capacity: usize,
    _owns: PhantomData<T>,
}

// SAFETY: an `RVec` owns its elements, like a `Vec`, in memory of the
// host's global allocator, which any thread may free.
unsafe impl<T: Send> Send for RVec<T> {}
// SAFETY: shared access only reads the elements, like a `Vec`.
unsafe impl<T: Sync> Sync for RVec<T> {}

impl<T> RVec<T> {
    /// An empty vector, which owns no memory.
    pub const fn new() -> Self {
        Self {
            ptr: NonNull::dangling(),
            len: 0,
            capacity: 0,
            _owns: PhantomData,
        }
    }

    /// The buffer's layout, `None` when there is no buffer.
    fn buffer(&self) -> Option<Layout> {
        let bytes = size_of::<T>().checked_mul(self.capacity)?;
        if bytes == 0 {
            return None;
        }
        Layout::from_size_align(bytes, align_of::<T>()).ok()
    }

    /// The elements.
    #[inline(always)]
    pub fn as_slice(&self) -> &[T] {
        // SAFETY: `len` initialised elements at `ptr`, owned by `self`.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// Where the elements are.
    #[inline(always)]
    pub fn as_ptr(&self) -> *const T {
        self.ptr.as_ptr()
    }

    /// Where the elements are, to move them out.
    #[inline(always)]
    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.ptr.as_ptr()
    }

    /// How many elements.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many elements the buffer holds.
    #[inline(always)]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The elements as a `Vec` of this image: the same buffer when this
    /// image's global allocator is the host's, else moved into a new one
    /// and the host's freed.
    #[inline]
    pub fn into_vec(self) -> Vec<T> {
        let mut this = ManuallyDrop::new(self);
        if shares_host_memory() {
            // SAFETY: the buffer is the global allocator's (this image's is
            // the host's), with `capacity` elements of which `len` are
            // initialised; `self` no longer owns it.
            return unsafe { Vec::from_raw_parts(this.as_mut_ptr(), this.len, this.capacity) };
        }
        let mut vec = Vec::with_capacity(this.len);
        // SAFETY: the `len` elements move into a fresh buffer of at least
        // that capacity; the host's buffer is then freed without dropping
        // them.
        unsafe {
            core::ptr::copy_nonoverlapping(this.as_ptr(), vec.as_mut_ptr(), this.len);
            vec.set_len(this.len);
            this.free_buffer();
        }
        vec
    }

    /// Frees the buffer without dropping the elements.
    ///
    /// # Safety
    ///
    /// The buffer must not be used afterwards.
    unsafe fn free_buffer(&mut self) {
        if let Some(layout) = self.buffer() {
            // SAFETY: per the type's invariant, a block of the host's
            // memory with this layout.
            unsafe { free_host(self.ptr.as_ptr().cast(), layout) };
        }
    }
}

impl<T> Default for RVec<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> From<Vec<T>> for RVec<T> {
    /// The same buffer when this image's global allocator is the host's,
    /// else the elements moved into the host's memory.
    #[inline(always)]
    fn from(vec: Vec<T>) -> Self {
        let mut vec = ManuallyDrop::new(vec);
        let len = vec.len();
        let (ptr, capacity) = if shares_host_memory() {
            // SAFETY: a `Vec`'s pointer is never null.
            (
                unsafe { NonNull::new_unchecked(vec.as_mut_ptr()) },
                vec.capacity(),
            )
        } else {
            // SAFETY: `vec` is not used afterwards.
            unsafe { Self::move_to_host(&mut vec) }
        };
        Self {
            ptr,
            len,
            capacity,
            _owns: PhantomData,
        }
    }
}

impl<T> RVec<T> {
    /// Moves the elements of `vec`, a vector of this image's own
    /// allocator, into the host's memory and frees `vec`'s buffer: the way
    /// of a library that keeps its own allocator, out of the adopting
    /// path's way. Returns the new buffer and its capacity, as scalars, so
    /// that the adopting path keeps its values in registers.
    ///
    /// # Safety
    ///
    /// `vec` must not be used afterwards (its elements have moved, its
    /// buffer is freed).
    #[cold]
    #[inline(never)]
    unsafe fn move_to_host(vec: &mut ManuallyDrop<Vec<T>>) -> (NonNull<T>, usize) {
        let len = vec.len();
        let mut moved = Self {
            ptr: NonNull::dangling(),
            len: 0,
            capacity: if size_of::<T>() == 0 { usize::MAX } else { len },
            _owns: PhantomData,
        };
        if let Some(layout) = moved.buffer() {
            // SAFETY: a layout of non-zero size.
            let block = unsafe { alloc_host(layout) };
            // SAFETY: `alloc_host` never returns null.
            moved.ptr = unsafe { NonNull::new_unchecked(block.cast()) };
        }
        // SAFETY: the elements move into the new buffer, which holds `len`
        // of them; the old buffer is then freed without dropping them.
        unsafe {
            core::ptr::copy_nonoverlapping(vec.as_ptr(), moved.ptr.as_ptr(), len);
            vec.set_len(0);
            ManuallyDrop::drop(vec);
        }
        let moved = ManuallyDrop::new(moved);
        (moved.ptr, moved.capacity)
    }
}

impl<T> Drop for RVec<T> {
    fn drop(&mut self) {
        // SAFETY: the `len` elements are owned and dropped once, then the
        // buffer is freed.
        unsafe {
            core::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.len).drop_in_place();
            self.free_buffer();
        }
    }
}

impl<T> Deref for RVec<T> {
    type Target = [T];

    #[inline(always)]
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T> IntoIterator for RVec<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

impl<T: fmt::Debug> fmt::Debug for RVec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

/// A string as C sees it: bytes in the host's memory, as an [`RVec<u8>`].
/// Bytes from the other side are not trusted to be UTF-8:
/// [`into_string`](Self::into_string) checks them.
#[repr(C)]
#[derive(Default)]
pub struct RString(RVec<u8>);

impl RString {
    /// An empty string, which owns no memory.
    pub const fn new() -> Self {
        Self(RVec::new())
    }

    /// The bytes.
    #[inline(always)]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// How many bytes.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A string of `bytes`, which need not be UTF-8: whoever reads it as
    /// text checks.
    pub fn from_bytes(bytes: RVec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes, as the vector they are kept in.
    #[inline(always)]
    pub fn into_bytes(self) -> RVec<u8> {
        self.0
    }

    /// The text as a `String` of this image, refused unless it is UTF-8.
    pub fn into_string(self) -> Result<String, core::str::Utf8Error> {
        core::str::from_utf8(self.as_bytes())?;
        let bytes = self.0.into_vec();
        // SAFETY: checked to be UTF-8 above.
        Ok(unsafe { String::from_utf8_unchecked(bytes) })
    }

    /// The text, with anything that is not UTF-8 replaced.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }
}

impl From<String> for RString {
    #[inline(always)]
    fn from(text: String) -> Self {
        Self(RVec::from(text.into_bytes()))
    }
}

impl From<&str> for RString {
    fn from(text: &str) -> Self {
        Self::from(text.to_owned())
    }
}

impl fmt::Debug for RString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&String::from_utf8_lossy(self.as_bytes()), f)
    }
}

/// A box as C sees it: a pointer to one value in the host's memory.
#[repr(C)]
pub struct RBox<T> {
    ptr: NonNull<T>,
    _owns: PhantomData<T>,
}

// SAFETY: an `RBox` owns its value, like a `Box`, in memory any thread may
// free.
unsafe impl<T: Send> Send for RBox<T> {}
// SAFETY: shared access only reads the value, like a `Box`.
unsafe impl<T: Sync> Sync for RBox<T> {}

impl<T> RBox<T> {
    /// `value`, moved into the host's memory.
    pub fn new(value: T) -> Self {
        let ptr = if size_of::<T>() == 0 {
            NonNull::<T>::dangling()
        } else {
            // SAFETY: a layout of non-zero size.
            let block = unsafe { alloc_host(Layout::new::<T>()) };
            // SAFETY: `alloc_host` never returns null.
            unsafe { NonNull::new_unchecked(block.cast()) }
        };
        // SAFETY: a fresh block for one `T`.
        unsafe { ptr.as_ptr().write(value) };
        Self {
            ptr,
            _owns: PhantomData,
        }
    }

    /// The value, moved out, and the memory freed.
    pub fn into_inner(self) -> T {
        let this = ManuallyDrop::new(self);
        // SAFETY: the box holds an initialised `T`, read once; the block
        // is then freed without dropping it.
        unsafe {
            let value = this.ptr.as_ptr().read();
            this.free_block();
            value
        }
    }

    /// Frees the block without dropping the value.
    ///
    /// # Safety
    ///
    /// The block must not be used afterwards.
    unsafe fn free_block(&self) {
        if size_of::<T>() != 0 {
            // SAFETY: per the type's invariant, a block of the host's
            // memory for one `T`.
            unsafe { free_host(self.ptr.as_ptr().cast(), Layout::new::<T>()) };
        }
    }
}

impl<T> Drop for RBox<T> {
    fn drop(&mut self) {
        // SAFETY: the value is owned and dropped once, then the block freed.
        unsafe {
            self.ptr.as_ptr().drop_in_place();
            self.free_block();
        }
    }
}

impl<T> Deref for RBox<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the box holds an initialised `T`.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: fmt::Debug> fmt::Debug for RBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_keep_their_elements_both_ways() {
        let words = vec![String::from("a"), String::from("bc")];
        let crossed = RVec::from(words.clone());
        assert_eq!(crossed.len(), 2);
        assert_eq!(crossed.as_slice(), words.as_slice());
        assert_eq!(crossed.into_vec(), words);
        assert!(RVec::<u64>::new().into_vec().is_empty());
    }

    #[test]
    fn zero_sized_elements_need_no_buffer() {
        let units = RVec::from(vec![(); 5]);
        assert_eq!(units.len(), 5);
        assert_eq!(units.into_vec().len(), 5);
    }

    #[test]
    fn strings_are_checked_on_the_way_out() {
        assert_eq!(RString::from("héllo").into_string().as_deref(), Ok("héllo"));
        let bad = RString::from_bytes(RVec::from(vec![0xff, b'a']));
        assert!(bad.into_string().is_err());
        assert_eq!(
            RString(RVec::from(vec![0xff])).to_string_lossy(),
            "\u{fffd}"
        );
    }

    #[test]
    fn boxes_move_their_value() {
        let boxed = RBox::new(String::from("kept"));
        assert_eq!(boxed.as_str(), "kept");
        assert_eq!(boxed.into_inner(), "kept");
        drop(RBox::new(vec![1u8, 2]));
        let units = RBox::new([(); 3]).into_inner();
        assert_eq!(units.len(), 3);
    }
}
