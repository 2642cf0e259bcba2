//! The benchmark trait behind a hand-written C ABI.

use core::ffi::c_void;

use bench_c_abi_interface::{CBenchObject, CBenchVTable, CString3};

struct Bench;

impl Bench {
    fn add(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    fn greet(&self, name: &str) -> String {
        format!("Hello, {name}!")
    }

    fn sum(&self, xs: &[u64]) -> u64 {
        xs.iter().copied().fold(0, u64::wrapping_add)
    }
}

/// # Safety
///
/// `this` must be an instance made by [`c_abi_bench_make`].
unsafe extern "C" fn add(this: *const c_void, a: u64, b: u64) -> u64 {
    // SAFETY: per the contract, `this` is a live `Box<Bench>`.
    let this = unsafe { &*this.cast::<Bench>() };
    this.add(a, b)
}

/// # Safety
///
/// `this` as for [`add`]; `name` and `len` must describe valid UTF-8.
unsafe extern "C" fn greet(this: *const c_void, name: *const u8, len: usize) -> CString3 {
    // SAFETY: per the contract, `this` is a live `Box<Bench>` and
    // `name`/`len` describe a UTF-8 string borrowed for the call.
    let (this, name) = unsafe {
        (
            &*this.cast::<Bench>(),
            core::str::from_utf8_unchecked(core::slice::from_raw_parts(name, len)),
        )
    };
    let mut greeting = core::mem::ManuallyDrop::new(this.greet(name));
    CString3 {
        ptr: greeting.as_mut_ptr(),
        len: greeting.len(),
        cap: greeting.capacity(),
    }
}

/// # Safety
///
/// The three values must come from one [`CString3`] returned by [`greet`],
/// freed only once.
unsafe extern "C" fn free_string(ptr: *mut u8, len: usize, cap: usize) {
    // SAFETY: per the contract, these are the parts of a `String` of ours.
    drop(unsafe { String::from_raw_parts(ptr, len, cap) });
}

/// # Safety
///
/// `this` as for [`add`]; `xs` and `len` must describe a valid slice.
unsafe extern "C" fn sum(this: *const c_void, xs: *const u64, len: usize) -> u64 {
    // SAFETY: per the contract, `this` is a live `Box<Bench>` and `xs`/`len`
    // describe a slice borrowed for the call.
    let (this, xs) = unsafe { (&*this.cast::<Bench>(), core::slice::from_raw_parts(xs, len)) };
    this.sum(xs)
}

/// # Safety
///
/// `this` must be an instance made by [`c_abi_bench_make`], not used after.
unsafe extern "C" fn drop_bench(this: *mut c_void) {
    // SAFETY: per the contract, `this` is a `Box<Bench>` given up here.
    drop(unsafe { Box::from_raw(this.cast::<Bench>()) });
}

static VTABLE: CBenchVTable = CBenchVTable {
    add,
    greet,
    free_string,
    sum,
    drop: drop_bench,
};

/// Makes one instance.
#[unsafe(no_mangle)]
pub extern "C" fn c_abi_bench_make() -> CBenchObject {
    CBenchObject {
        instance: Box::into_raw(Box::new(Bench)).cast::<c_void>(),
        vtable: &VTABLE,
    }
}
