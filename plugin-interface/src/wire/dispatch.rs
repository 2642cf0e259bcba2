//! The plugin side of the serialised path: the body of every exported
//! `plugin_dispatch_<Trait>_<Type>_v1`.

use core::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::peer::{PeerTable, peer_of};
use super::{De, Ser, Wire, WireError};
use crate::abi::Payload;
use crate::export::panic_message;
use crate::interface::VTableFor;

/// What a dispatch entry reports; the bytes it hands the sink are the
/// encoded result for [`Returned`](Self::Returned), a UTF-8 message
/// otherwise.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispatchStatus {
    /// The method returned; the bytes are its encoded value.
    Returned = 0,
    /// The method panicked; the bytes are the panic message.
    Panicked = 1,
    /// The argument bytes did not decode as the method's arguments.
    BadArguments = 2,
    /// The method takes or returns what the serialised path does not carry.
    Refused = 3,
    /// No method has that index.
    NoSuchMethod = 4,
    /// The returned value did not encode.
    BadResult = 5,
    /// The other side could not be reached: an object of the host called
    /// outside the host's call, or from another thread than the one
    /// serving it, or a connection that ended.
    Unreachable = 6,
}

impl DispatchStatus {
    /// The status with this value, if any.
    pub fn from_u32(value: u32) -> Option<Self> {
        [
            Self::Returned,
            Self::Panicked,
            Self::BadArguments,
            Self::Refused,
            Self::NoSuchMethod,
            Self::BadResult,
            Self::Unreachable,
        ]
        .into_iter()
        .find(|status| *status as u32 == value)
    }
}

/// Where a dispatch entry writes its bytes: the host's function, which
/// copies them into host memory before it returns, so that the library
/// frees its own buffer.
pub type DispatchSink = unsafe extern "C" fn(sink: *mut c_void, bytes: *const u8, len: usize);

/// `plugin_dispatch_<Trait>_<Type>_v1`: calls method `method` (its index
/// in the trait's descriptor) of `instance` (a registration's instance of
/// that type) with the postcard-encoded arguments `args[..args_len]`,
/// hands the result or the error message to `write(sink, ..)` exactly
/// once, and returns a [`DispatchStatus`]. `peer` is the other side of
/// the connection, through which objects and closures cross (null when
/// there is none: such arguments are then refused).
pub type DispatchEntry = unsafe extern "C" fn(
    instance: *mut c_void,
    method: u32,
    args: *const u8,
    args_len: usize,
    sink: *mut c_void,
    write: DispatchSink,
    peer: *const PeerTable,
) -> u32;

/// Why a dispatched call did not return a value.
#[derive(Debug)]
pub enum DispatchError {
    /// The argument bytes did not decode.
    Arguments(String),
    /// The method takes or returns what the serialised path does not carry.
    Refused(String),
    /// No method has that index.
    NoSuchMethod(u32),
    /// The returned value did not encode.
    Result(String),
}

impl DispatchError {
    fn status(&self) -> DispatchStatus {
        match self {
            Self::Arguments(_) => DispatchStatus::BadArguments,
            Self::Refused(_) => DispatchStatus::Refused,
            Self::NoSuchMethod(_) => DispatchStatus::NoSuchMethod,
            Self::Result(_) => DispatchStatus::BadResult,
        }
    }

    fn message(self) -> String {
        match self {
            Self::Arguments(message) | Self::Refused(message) | Self::Result(message) => message,
            Self::NoSuchMethod(index) => format!("no method has index {index}"),
        }
    }

    /// A method the serialised path refuses, with the reason.
    #[doc(hidden)]
    pub fn refused(reason: &str) -> Self {
        Self::Refused(reason.to_owned())
    }
}

/// Reads a method's arguments, one after the other, from one buffer.
#[derive(Debug)]
pub struct ArgReader<'a> {
    rest: &'a [u8],
}

impl<'a> ArgReader<'a> {
    /// A reader of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// The next argument, named `name` in errors.
    pub fn next<T: Wire>(&mut self, name: &str) -> Result<T, DispatchError> {
        let (De(value), rest) = postcard::take_from_bytes::<De<T>>(self.rest)
            .map_err(|error| DispatchError::Arguments(format!("argument `{name}`: {error}")))?;
        self.rest = rest;
        Ok(value)
    }

    /// Checks that every byte was read.
    pub fn finish(self) -> Result<(), DispatchError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DispatchError::Arguments(format!(
                "{} bytes left over after the last argument",
                self.rest.len()
            )))
        }
    }
}

/// A method's result, encoded.
#[doc(hidden)]
pub fn encode_result<T: Wire>(value: &T) -> Result<Vec<u8>, DispatchError> {
    postcard::to_allocvec(&Ser(value)).map_err(|error| DispatchError::Result(error.to_string()))
}

/// A `&str` result, encoded as a `String` is.
pub fn encode_str(value: &str) -> Result<Vec<u8>, DispatchError> {
    postcard::to_allocvec(value).map_err(|error| DispatchError::Result(error.to_string()))
}

impl From<WireError> for DispatchError {
    fn from(error: WireError) -> Self {
        Self::Result(error.to_string())
    }
}

/// The body of every exported dispatch entry: runs the trait's generated
/// dispatch for `T` inside `catch_unwind`, so that no panic leaves the
/// library, and hands the outcome to the sink.
///
/// # Safety
///
/// `instance` must be the live instance of a registration made for `T`,
/// not borrowed elsewhere while the call runs; `args` must point to
/// `args_len` readable bytes (or `args_len` be 0); `write` must not
/// unwind and may be called with `sink`; `peer` must be null or a valid
/// [`PeerTable`].
pub unsafe fn dispatch<I: ?Sized + VTableFor<T>, T>(
    instance: *mut c_void,
    method: u32,
    args: *const u8,
    args_len: usize,
    sink: *mut c_void,
    write: DispatchSink,
    peer: *const PeerTable,
) -> u32 {
    // SAFETY: per the contract, `args_len` readable bytes.
    let args = unsafe { super::peer::given(args, args_len) };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: per the contract, null or a valid table.
        let peer = unsafe { peer_of(peer) };
        // SAFETY: per the contract, `instance` is a live instance of `T`.
        unsafe { I::dispatch(instance, method, args, peer.as_ref()) }
    }));
    // SAFETY: forwarded from the caller.
    unsafe { answer(outcome, sink, write) }
}

/// Hands a dispatched call's outcome to the sink; its status.
///
/// # Safety
///
/// `write` must not unwind and may be called with `sink`.
pub(crate) unsafe fn answer(
    outcome: Result<Result<Vec<u8>, DispatchError>, Payload>,
    sink: *mut c_void,
    write: DispatchSink,
) -> u32 {
    let (status, bytes) = match outcome {
        Ok(Ok(bytes)) => (DispatchStatus::Returned, bytes),
        Ok(Err(error)) => (error.status(), error.message().into_bytes()),
        Err(payload) => (
            DispatchStatus::Panicked,
            panic_message(payload).into_bytes(),
        ),
    };
    // SAFETY: per the contract, `write` accepts `sink`; the bytes live for
    // the call.
    unsafe { write(sink, bytes.as_ptr(), bytes.len()) };
    status as u32
}
