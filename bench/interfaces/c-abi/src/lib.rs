//! The benchmark trait as a hand-written C ABI: a `#[repr(C)]` table of
//! `extern "C"` functions and an instance pointer, made by one exported
//! function. No checks, no panic handling beyond what `extern "C"` gives
//! (a panic aborts). The greeting comes back as pointer, length and
//! capacity, and goes back to the plugin to be freed as three separate
//! arguments (not a struct), which keeps them in registers.

use core::ffi::c_void;

/// The symbol of the [`MakeBench`] function every C-ABI plugin exports.
pub const MAKE_SYMBOL: &[u8] = b"c_abi_bench_make\0";

/// An owned string allocated by the plugin: free it with
/// [`CBenchVTable::free_string`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CString3 {
    /// Start of the UTF-8 bytes.
    pub ptr: *mut u8,
    /// Length in bytes.
    pub len: usize,
    /// Capacity of the allocation.
    pub cap: usize,
}

/// The function table.
#[repr(C)]
#[derive(Debug)]
pub struct CBenchVTable {
    /// `add(&self, a, b) -> a + b`.
    pub add: unsafe extern "C" fn(this: *const c_void, a: u64, b: u64) -> u64,
    /// `greet(&self, name) -> "Hello, {name}!"`, `name` as UTF-8 pointer and length.
    pub greet: unsafe extern "C" fn(this: *const c_void, name: *const u8, len: usize) -> CString3,
    /// Frees a string returned by `greet`.
    pub free_string: unsafe extern "C" fn(ptr: *mut u8, len: usize, cap: usize),
    /// `sum(&self, xs)`, `xs` as pointer and length.
    pub sum: unsafe extern "C" fn(this: *const c_void, xs: *const u64, len: usize) -> u64,
    /// Frees the instance.
    pub drop: unsafe extern "C" fn(this: *mut c_void),
}

/// An instance and its table, as returned by [`MakeBench`].
#[repr(C)]
#[derive(Debug)]
pub struct CBenchObject {
    /// The instance, owned by the plugin.
    pub instance: *mut c_void,
    /// Its functions, a static of the plugin.
    pub vtable: *const CBenchVTable,
}

/// `c_abi_bench_make`: makes one instance.
pub type MakeBench = unsafe extern "C" fn() -> CBenchObject;
