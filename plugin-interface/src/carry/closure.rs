//! Closures lent for one call: `&dyn Fn(A..) -> R` and
//! `&mut dyn FnMut(A..) -> R` cross as a [`Callback`], a one-method object
//! whose function lifts the arguments, runs the closure and lowers the
//! result on the lending side.

use core::ffi::c_void;
use core::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::{Lift, Lower, PluginData};
use crate::abi::Failure;
use crate::export::failure_of;

/// A closure lent for one call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Callback {
    this: *mut c_void,
    call: unsafe extern "C" fn(
        this: *mut c_void,
        args: *mut c_void,
        out: *mut c_void,
    ) -> *mut Failure,
}

/// The lending side's function of a [`Callback`]: lifts the arguments
/// (a tuple), runs the closure, lowers its result into `out`.
///
/// # Safety
///
/// `this` must be the `C` lent by [`Callback::lend`], still borrowed;
/// `args` must point to an initialised `A::Abi`, given up here, and `out`
/// to room for an `R::Abi`.
unsafe extern "C" fn trampoline<A: PluginData, R: PluginData, C: FnMut(A) -> R>(
    this: *mut c_void,
    args: *mut c_void,
    out: *mut c_void,
) -> *mut Failure {
    let run = || {
        // SAFETY: per the contract, the arguments the caller lowered.
        let abi = unsafe { args.cast::<A::Abi>().read() };
        // SAFETY: the other side lowered `A` from the same interface.
        let args = match unsafe { A::lift(abi, &Lift::local()) } {
            Ok(args) => args,
            Err(invalid) => panic!("a callback received an invalid argument: {invalid}"),
        };
        // SAFETY: per the contract, the lent closure.
        let result = unsafe { (*this.cast::<C>())(args) };
        // SAFETY: per the contract, room for the result.
        unsafe { out.cast::<R::Abi>().write(result.lower(&Lower::host())) };
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(()) => core::ptr::null_mut(),
        Err(payload) => failure_of(payload),
    }
}

impl Callback {
    /// Lends `closure`, which takes its arguments as one tuple, for the
    /// length of one call: the other side may call it only until the call
    /// returns, while a [`Lending`](super::Lending) guard is alive.
    pub fn lend<A: PluginData, R: PluginData, C: FnMut(A) -> R>(closure: &mut C) -> Self {
        Self {
            this: core::ptr::from_mut(closure).cast(),
            call: trampoline::<A, R, C>,
        }
    }

    /// Calls the lent closure with `args`, a tuple; a panic of the closure
    /// continues here as a panic that the boundary hands back to the
    /// lending side.
    ///
    /// # Safety
    ///
    /// The callback must be lent by the other side for the call in
    /// progress, for arguments `A` and result `R`.
    pub unsafe fn invoke<A: PluginData, R: PluginData>(&self, args: A) -> R {
        let mut args = MaybeUninit::new(args.lower(&Lower::host()));
        let mut out = MaybeUninit::<R::Abi>::uninit();
        // SAFETY: per the contract; the arguments are given up to the call.
        let failure =
            unsafe { (self.call)(self.this, args.as_mut_ptr().cast(), out.as_mut_ptr().cast()) };
        if !failure.is_null() {
            // SAFETY: a failure the callback just returned.
            unsafe { crate::export::rethrow(failure, "a callback") }
        }
        // SAFETY: without a failure, the callback wrote its result, lowered
        // from `R` of the same interface.
        match unsafe { R::lift(out.assume_init(), &Lift::local()) } {
            Ok(value) => value,
            Err(invalid) => panic!("a callback returned an invalid value: {invalid}"),
        }
    }
}
