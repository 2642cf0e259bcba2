//! Objects on the serialised path: each side keeps the objects it lends
//! or gives the other in a table, sends their ids, and serves the other
//! side's calls to them while it waits for an answer of its own.
//!
//! A [`Peer`] is the other side of a connection: the host's link to a
//! worker process, or, inside a plugin library, the worker's
//! [`PeerTable`] of `extern "C"` functions. A [`LocalObject`] is an
//! object of this side as the peer calls it: an instance, the serialised
//! path's dispatch of its trait, and its destructor.

use core::ffi::c_void;
use core::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::remote::Remote;
use super::{ArgReader, DispatchError, DispatchSink, DispatchStatus, Wire};
use crate::carry::{HostObject, ObjectInterface};
use crate::error::PluginError;

/// The serialised path's dispatch of one kept object: as a
/// [`DispatchEntry`](super::DispatchEntry), for an object instead of a
/// registration's instance.
pub type ObjectDispatch = unsafe extern "C" fn(
    this: *mut c_void,
    method: u32,
    args: *const u8,
    args_len: usize,
    sink: *mut c_void,
    write: DispatchSink,
    peer: *const PeerTable,
) -> u32;

/// An object of this side that the peer may call: lent for one call, or
/// given to it until it releases it.
#[repr(C)]
#[derive(Debug)]
pub struct LocalObject {
    /// The object, as `dispatch` and `drop` take it.
    pub this: *mut c_void,
    /// Calls a method of the object by index with encoded arguments.
    pub dispatch: ObjectDispatch,
    /// Frees the object (for a lent one, the wrapper only).
    pub drop: unsafe extern "C" fn(this: *mut c_void),
    /// The object's trait, whose methods say which take `&mut self`; null
    /// for a closure (whose every call is mutable).
    pub descriptor: *const crate::abi::TraitDescriptor,
}

// SAFETY: a kept object is reached only through its table's owner, which
// calls it from the thread serving the peer (a lent object from the
// thread that lent it, whose call is in progress); objects given for
// longer are of `Send + Sync` traits, checked when they are given.
unsafe impl Send for LocalObject {}
// SAFETY: as for `Send`: shared access only hands the pointers to the
// functions, which the owner calls as above.
unsafe impl Sync for LocalObject {}

impl LocalObject {
    /// Calls method `method` with encoded `args`; the status and the
    /// result's (or error's) bytes.
    ///
    /// # Safety
    ///
    /// The object must be alive and not borrowed mutably elsewhere;
    /// `peer` must be null or a table valid for the call.
    pub unsafe fn call(&self, method: u32, args: &[u8], peer: *const PeerTable) -> (u32, Vec<u8>) {
        let mut out: Vec<u8> = Vec::new();
        // SAFETY: per the contract; `collect` copies into `out`, alive for
        // the call.
        let status = unsafe {
            (self.dispatch)(
                self.this,
                method,
                args.as_ptr(),
                args.len(),
                (&raw mut out).cast(),
                collect,
                peer,
            )
        };
        (status, out)
    }
}

impl Drop for LocalObject {
    fn drop(&mut self) {
        // SAFETY: the object is given up once, here.
        unsafe { (self.drop)(self.this) }
    }
}

/// The sink of a local call: copies the bytes into the `Vec<u8>` that
/// `sink` points to.
///
/// # Safety
///
/// `sink` must point to a live `Vec<u8>`, and `bytes` to `len` readable
/// bytes (or `len` be 0).
pub(crate) unsafe extern "C" fn collect(sink: *mut c_void, bytes: *const u8, len: usize) {
    if len == 0 {
        return;
    }
    // SAFETY: per the contract.
    let (out, bytes) = unsafe {
        (
            &mut *sink.cast::<Vec<u8>>(),
            core::slice::from_raw_parts(bytes, len),
        )
    };
    out.extend_from_slice(bytes);
}

/// The other side's answer to a call.
#[derive(Debug)]
pub struct Answer {
    /// The dispatch's [`DispatchStatus`].
    pub status: u32,
    /// The encoded result, or the error's message.
    pub bytes: Vec<u8>,
    /// The run of the other side that answered (see [`Peer::adopt`]).
    pub run: u32,
}

/// How an object is kept for the other side.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Given (owned or shared): kept until the other side releases it.
    Given = 0,
    /// Lent as `&` for the call in progress.
    Lent = 1,
    /// Lent as `&mut` (an object or a closure) for the call in progress:
    /// one call into it at a time.
    LentMut = 2,
}

impl Keep {
    /// The `Keep` a table function was given, if it is one.
    pub fn from_u8(value: u8) -> Option<Self> {
        [Self::Given, Self::Lent, Self::LentMut]
            .into_iter()
            .find(|how| *how as u8 == value)
    }
}

/// The other side of a serialised connection.
pub trait Peer: Send + Sync {
    /// The library the connection serves, as errors name it.
    fn library(&self) -> &Path;

    /// Calls method `method` of the peer's object `handle` with encoded
    /// `args`, serving the peer's calls to this side's objects meanwhile;
    /// the status and bytes of the answer. `doing` names the call in
    /// errors.
    fn call(
        &self,
        handle: u64,
        method: u32,
        args: Vec<u8>,
        doing: &str,
    ) -> Result<Answer, PluginError>;

    /// Keeps `object` for the peer to call; its id. A lent object is
    /// forgotten when its call ends, a given one when the peer releases it.
    fn keep(&self, object: LocalObject, how: Keep) -> Result<u64, String>;

    /// Forgets the lent object `id` once its call has ended.
    fn forget(&self, id: u64);

    /// Releases the peer's object `handle`, which this side owned.
    fn release(&self, handle: u64);

    /// The handle by which this side calls the peer's object `id`, sent
    /// by the peer's run `run` (the host marks the worker's objects with
    /// the run that sent them, so that a restarted worker's are never
    /// confused with them).
    fn adopt(&self, id: u64, run: u32) -> u64 {
        let _ = run;
        id
    }

    /// The peer's current run, for ids it sends while this side serves it
    /// (and cannot restart it).
    fn run(&self) -> u32 {
        0
    }

    /// Whether the peer's objects become the trait's proxies on this side
    /// (the host's link), or stand in for themselves (a plugin library).
    fn proxies(&self) -> bool {
        false
    }
}

/// A [`Peer`] as `extern "C"` functions, for code in another image: the
/// worker hands its table to the library's dispatch entries, and the host
/// its own to the dispatch of its kept objects.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PeerTable {
    /// What every function is given first.
    pub context: *const c_void,
    /// The library's path, UTF-8 (lossy), as errors name it.
    pub library: *const u8,
    /// The path's length in bytes.
    pub library_len: usize,
    /// Takes a reference to `context`, for a peer that outlives the call.
    pub retain: unsafe extern "C" fn(context: *const c_void),
    /// Gives back a reference `retain` took.
    pub release_context: unsafe extern "C" fn(context: *const c_void),
    /// [`Peer::call`], with the status and bytes handed to `write(sink, ..)`;
    /// a call that cannot reach the peer is [`DispatchStatus::Unreachable`].
    pub call: unsafe extern "C" fn(
        context: *const c_void,
        handle: u64,
        method: u32,
        args: *const u8,
        args_len: usize,
        sink: *mut c_void,
        write: DispatchSink,
    ) -> u32,
    /// [`Peer::keep`]; 0 when the object is refused (and then freed).
    /// `how` is a [`Keep`] as its `u8`.
    pub keep: unsafe extern "C" fn(context: *const c_void, object: LocalObject, how: u8) -> u64,
    /// [`Peer::forget`].
    pub forget: unsafe extern "C" fn(context: *const c_void, id: u64),
    /// [`Peer::release`].
    pub release: unsafe extern "C" fn(context: *const c_void, handle: u64),
    /// The peer itself, an `Arc<dyn Peer>` of this image, when the table
    /// is handed to this image's own code (the host's kept objects);
    /// null in a table for another image.
    pub local: *const Arc<dyn Peer>,
}

/// A [`PeerTable`] of another image as a [`Peer`], holding a reference to
/// its context.
#[derive(Debug)]
pub(crate) struct TablePeer {
    table: PeerTable,
    library: PathBuf,
}

// SAFETY: a table's functions may be called from any thread: the
// worker's refuse calls from threads other than the one serving the host,
// and the host's are those of its link, which is `Sync`.
unsafe impl Send for TablePeer {}
// SAFETY: as for `Send`; the table itself is never written.
unsafe impl Sync for TablePeer {}

impl TablePeer {
    /// The peer behind `table`, holding a reference to its context.
    ///
    /// # Safety
    ///
    /// `table` must point to a valid table whose functions keep the
    /// contract [`PeerTable`] describes.
    pub(crate) unsafe fn new(table: *const PeerTable) -> Self {
        // SAFETY: per the contract.
        let table = unsafe { *table };
        // SAFETY: per the contract, `library_len` readable bytes.
        let bytes = unsafe { given(table.library, table.library_len) };
        let library = PathBuf::from(String::from_utf8_lossy(bytes).into_owned());
        // SAFETY: per the contract.
        unsafe { (table.retain)(table.context) };
        Self { table, library }
    }
}

impl Drop for TablePeer {
    fn drop(&mut self) {
        // SAFETY: the reference `new` took.
        unsafe { (self.table.release_context)(self.table.context) }
    }
}

impl Peer for TablePeer {
    fn library(&self) -> &Path {
        &self.library
    }

    fn call(
        &self,
        handle: u64,
        method: u32,
        args: Vec<u8>,
        _doing: &str,
    ) -> Result<Answer, PluginError> {
        let mut out: Vec<u8> = Vec::new();
        // SAFETY: a valid table (see `new`); the arguments live for the
        // call and `collect` copies into `out`, alive for it.
        let status = unsafe {
            (self.table.call)(
                self.table.context,
                handle,
                method,
                args.as_ptr(),
                args.len(),
                (&raw mut out).cast(),
                collect,
            )
        };
        Ok(Answer {
            status,
            bytes: out,
            run: 0,
        })
    }

    fn keep(&self, object: LocalObject, how: Keep) -> Result<u64, String> {
        // SAFETY: a valid table; the object is given up to it.
        match unsafe { (self.table.keep)(self.table.context, object, how as u8) } {
            0 => Err(
                "the host's objects are reached only from the thread serving its call, during it"
                    .to_owned(),
            ),
            id => Ok(id),
        }
    }

    fn forget(&self, id: u64) {
        // SAFETY: a valid table.
        unsafe { (self.table.forget)(self.table.context, id) }
    }

    fn release(&self, handle: u64) {
        // SAFETY: a valid table.
        unsafe { (self.table.release)(self.table.context, handle) }
    }
}

/// The bytes a table function was given.
///
/// # Safety
///
/// `bytes` must point to `len` readable bytes that outlive `'a`, or `len`
/// be 0.
pub(crate) unsafe fn given<'a>(bytes: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        // SAFETY: per the contract.
        unsafe { core::slice::from_raw_parts(bytes, len) }
    }
}

/// Runs a table function's call, which must not unwind across its
/// `extern "C"` boundary, and hands its status and bytes to the sink: a
/// panic is [`DispatchStatus::Unreachable`] with `panicked` as its
/// message.
///
/// # Safety
///
/// `write` must accept `sink`.
#[cfg(all(feature = "host", unix))]
pub(crate) unsafe fn answer_sink(
    run: impl FnOnce() -> (u32, Vec<u8>),
    panicked: &str,
    sink: *mut c_void,
    write: DispatchSink,
) -> u32 {
    let (status, bytes) = catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|payload| {
        crate::export::drop_payload(payload);
        (
            DispatchStatus::Unreachable as u32,
            panicked.as_bytes().to_vec(),
        )
    });
    // SAFETY: per the contract; the bytes live for the call.
    unsafe { write(sink, bytes.as_ptr(), bytes.len()) };
    status
}

/// The peer a dispatch was given, as generated code needs it.
///
/// # Safety
///
/// `table` must be null or valid as [`TablePeer::new`] requires.
pub(crate) unsafe fn peer_of(table: *const PeerTable) -> Option<Arc<dyn Peer>> {
    if table.is_null() {
        return None;
    }
    // SAFETY: per the contract, a valid table.
    let local = unsafe { (*table).local };
    if !local.is_null() {
        // SAFETY: per the contract, a table of this image's with its peer,
        // alive while the table is.
        return Some(Arc::clone(unsafe { &*local }));
    }
    // SAFETY: per the contract.
    Some(Arc::new(unsafe { TablePeer::new(table) }))
}

/// The dispatch of a kept object of trait `I`, wrapped as a
/// [`HostObject`].
///
/// # Safety
///
/// As for [`ObjectDispatch`]: `this` must be a live
/// `Box<HostObject<I>>` made by [`LocalObject::of`].
unsafe extern "C" fn object_dispatch<I: ?Sized + ObjectInterface>(
    this: *mut c_void,
    method: u32,
    args: *const u8,
    args_len: usize,
    sink: *mut c_void,
    write: DispatchSink,
    peer: *const PeerTable,
) -> u32 {
    // SAFETY: forwarded from the caller.
    unsafe { super::dispatch::<I, HostObject<I>>(this, method, args, args_len, sink, write, peer) }
}

/// Frees a boxed `T` without letting a panic out.
///
/// # Safety
///
/// `this` must come from `Box::<T>::into_raw`, given up here.
unsafe extern "C" fn drop_boxed<T>(this: *mut c_void) {
    // SAFETY: per the contract.
    let boxed = unsafe { Box::from_raw(this.cast::<T>()) };
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(boxed))) {
        crate::export::drop_payload(payload);
    }
}

impl LocalObject {
    /// An object of trait `I` as the peer calls it.
    pub(crate) fn of<I: ?Sized + ObjectInterface>(object: HostObject<I>) -> Self {
        Self {
            this: Box::into_raw(Box::new(object)).cast(),
            dispatch: object_dispatch::<I>,
            drop: drop_boxed::<HostObject<I>>,
            descriptor: I::DESCRIPTOR,
        }
    }

    /// A lent closure taking its arguments as the tuple `A`.
    fn closure<A: Wire + 'static, R: Wire + 'static>(closure: &mut dyn FnMut(A) -> R) -> Self {
        // SAFETY: only the lifetime changes; the closure is forgotten when
        // the call it is lent for ends, which the borrow outlives.
        let closure: &mut (dyn FnMut(A) -> R + 'static) = unsafe {
            core::mem::transmute::<&mut (dyn FnMut(A) -> R + '_), &mut (dyn FnMut(A) -> R + 'static)>(
                closure,
            )
        };
        let slot: Box<LentClosure<A, R>> = Box::new(LentClosure(closure));
        Self {
            this: Box::into_raw(slot).cast(),
            dispatch: closure_dispatch::<A, R>,
            drop: drop_boxed::<LentClosure<A, R>>,
            descriptor: core::ptr::null(),
        }
    }
}

/// A closure lent for one call, as its [`LocalObject`] holds it.
struct LentClosure<A: 'static, R: 'static>(*mut (dyn FnMut(A) -> R + 'static));

/// The dispatch of a lent closure: its one "method" (index 0) takes the
/// arguments as a tuple.
///
/// # Safety
///
/// As for [`ObjectDispatch`]: `this` must be a live `Box<LentClosure<A, R>>`
/// whose closure is still lent.
unsafe extern "C" fn closure_dispatch<A: Wire + 'static, R: Wire + 'static>(
    this: *mut c_void,
    method: u32,
    args: *const u8,
    args_len: usize,
    sink: *mut c_void,
    write: DispatchSink,
    _peer: *const PeerTable,
) -> u32 {
    // SAFETY: per the contract, `args_len` readable bytes.
    let args = unsafe { given(args, args_len) };
    let run = || -> Result<Vec<u8>, DispatchError> {
        if method != 0 {
            return Err(DispatchError::NoSuchMethod(method));
        }
        let mut reader = ArgReader::new(args);
        let input: A = reader.next("arguments")?;
        reader.finish()?;
        // SAFETY: per the contract, the closure is lent and not in use.
        let output = unsafe { (*(*this.cast::<LentClosure<A, R>>()).0)(input) };
        Ok(super::encode(&output)?)
    };
    // SAFETY: forwarded from the caller.
    unsafe { super::dispatch::answer(catch_unwind(AssertUnwindSafe(run)), sink, write) }
}

/// The encoded arguments of one call to a peer's object, with the
/// objects this side lends for the call (forgotten when it ends) or
/// gives. Built by the generated methods of [`Remote`].
#[doc(hidden)]
pub struct RemoteArgs {
    bytes: Vec<u8>,
    peer: Arc<dyn Peer>,
    lent: Vec<u64>,
    /// Objects given to the peer, forgotten here unless the peer read the
    /// arguments (see [`delivered`](Self::delivered)).
    given: Vec<u64>,
    refused: Option<String>,
}

impl core::fmt::Debug for RemoteArgs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RemoteArgs")
            .field("bytes", &self.bytes.len())
            .field("lent", &self.lent)
            .field("given", &self.given)
            .finish_non_exhaustive()
    }
}

impl RemoteArgs {
    /// No arguments yet, for a call to `peer`.
    pub fn new(peer: &Arc<dyn Peer>) -> Self {
        Self {
            bytes: Vec::new(),
            peer: Arc::clone(peer),
            lent: Vec::new(),
            given: Vec::new(),
            refused: None,
        }
    }

    /// The peer read the arguments (the call returned or panicked): the
    /// objects given are its to release from now on.
    pub(crate) fn delivered(&mut self) {
        self.given.clear();
    }

    /// Where the next argument's encoding goes.
    pub fn bytes(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// A `&str` argument, encoded as a `String` is.
    pub fn str(&mut self, value: &str) {
        super::append(value, &mut self.bytes);
    }

    /// The encoded bytes, taken, and why an object could not be sent, if
    /// one could not.
    pub(crate) fn take(&mut self) -> (Vec<u8>, Option<String>) {
        (core::mem::take(&mut self.bytes), self.refused.take())
    }

    fn push(&mut self, object: LocalObject, how: Keep) {
        match self.peer.keep(object, how) {
            Ok(id) => {
                if how == Keep::Given {
                    self.given.push(id);
                } else {
                    self.lent.push(id);
                }
                super::append(&id, &mut self.bytes);
            }
            Err(reason) => {
                self.refused.get_or_insert(reason);
                super::append(&0u64, &mut self.bytes);
            }
        }
    }

    /// Lends `object` for the call. Its lifetime was erased by the
    /// caller: it is forgotten when the call ends (this value's drop),
    /// which the borrow outlives.
    pub fn lend<I: ?Sized + ObjectInterface>(&mut self, object: &'static I) {
        self.push(LocalObject::of(HostObject::lent(object)), Keep::Lent);
    }

    /// Lends `object` mutably for the call; see [`lend`](Self::lend).
    pub fn lend_mut<I: ?Sized + ObjectInterface>(&mut self, object: &'static mut I) {
        self.push(LocalObject::of(HostObject::lent_mut(object)), Keep::LentMut);
    }

    /// Lends a closure, which takes its arguments as the tuple `A`.
    pub fn lend_fn<A: Wire + 'static, R: Wire + 'static>(
        &mut self,
        closure: &mut dyn FnMut(A) -> R,
    ) {
        self.push(LocalObject::closure(closure), Keep::LentMut);
    }

    /// Gives `object` to the peer, which frees it when done.
    pub fn give<I: ?Sized + ObjectInterface>(&mut self, object: Box<I>) {
        match shareable::<I>() {
            Ok(()) => self.push(LocalObject::of(HostObject::owned(object)), Keep::Given),
            Err(reason) => self.refuse(reason),
        }
    }

    /// Shares `object` with the peer, which releases it when done.
    pub fn share<I: ?Sized + ObjectInterface>(&mut self, object: Arc<I>) {
        match shareable::<I>() {
            Ok(()) => self.push(LocalObject::of(HostObject::shared(object)), Keep::Given),
            Err(reason) => self.refuse(reason),
        }
    }

    fn refuse(&mut self, reason: String) {
        self.refused.get_or_insert(reason);
        super::append(&0u64, &mut self.bytes);
    }
}

impl Drop for RemoteArgs {
    fn drop(&mut self) {
        // Lent objects are forgotten when their call ends; given ones the
        // peer never read (a refused or failed call) are taken back.
        for id in self.lent.drain(..).chain(self.given.drain(..)) {
            self.peer.forget(id);
        }
    }
}

/// Objects kept past a call may be called from whichever thread next
/// talks to the peer: their trait must be `Send + Sync`.
fn shareable<I: ?Sized + ObjectInterface>() -> Result<(), String> {
    let descriptor = I::DESCRIPTOR;
    if descriptor.send && descriptor.sync {
        Ok(())
    } else {
        Err(format!(
            "a `{}` object kept by the other process is called from any thread: its trait must be `Send + Sync` to be given or shared",
            descriptor.name.as_str()
        ))
    }
}

/// The peer's object an argument names, as a stand-in of `I`.
fn stand_in<I: ?Sized + ObjectInterface>(
    reader: &mut ArgReader<'_>,
    peer: Option<&Arc<dyn Peer>>,
    name: &str,
    owned: bool,
) -> Result<Remote<I>, DispatchError> {
    let id: u64 = reader.next(name)?;
    let peer = peer.ok_or_else(|| {
        DispatchError::refused(&format!(
            "parameter `{name}`: an object crosses only to a worker process"
        ))
    })?;
    if id == 0 {
        return Err(DispatchError::Arguments(format!(
            "parameter `{name}`: the other side could not send its object"
        )));
    }
    Ok(Remote::stand_in(
        Arc::clone(peer),
        peer.adopt(id, peer.run()),
        I::DESCRIPTOR.name.as_str(),
        owned,
    ))
}

/// A lent object argument: a stand-in for the call.
pub(crate) fn lent_object<I: ?Sized + ObjectInterface>(
    reader: &mut ArgReader<'_>,
    peer: Option<&Arc<dyn Peer>>,
    name: &str,
) -> Result<Remote<I>, DispatchError> {
    stand_in(reader, peer, name, false)
}

/// A given object argument, owned from now on.
pub(crate) fn given_box<I: ?Sized + ObjectInterface>(
    reader: &mut ArgReader<'_>,
    peer: Option<&Arc<dyn Peer>>,
    name: &str,
) -> Result<Box<I>, DispatchError> {
    stand_in::<I>(reader, peer, name, true).map(super::remote::boxed)
}

/// A shared object argument.
pub(crate) fn given_arc<I: ?Sized + ObjectInterface>(
    reader: &mut ArgReader<'_>,
    peer: Option<&Arc<dyn Peer>>,
    name: &str,
) -> Result<Arc<I>, DispatchError> {
    stand_in::<I>(reader, peer, name, true).map(|remote| Arc::from(super::remote::boxed(remote)))
}

/// A returned object, kept for the peer to call: its id, encoded.
pub(crate) fn encode_given<I: ?Sized + ObjectInterface>(
    peer: Option<&Arc<dyn Peer>>,
    object: Box<I>,
) -> Result<Vec<u8>, DispatchError> {
    encode_kept(peer, HostObject::owned(object))
}

/// A returned shared object, kept for the peer to call: its id, encoded.
pub(crate) fn encode_shared<I: ?Sized + ObjectInterface>(
    peer: Option<&Arc<dyn Peer>>,
    object: Arc<I>,
) -> Result<Vec<u8>, DispatchError> {
    encode_kept(peer, HostObject::shared(object))
}

/// A returned object of a `Send + Sync` trait, kept for the peer until it
/// releases it: its id, encoded.
fn encode_kept<I: ?Sized + ObjectInterface>(
    peer: Option<&Arc<dyn Peer>>,
    object: HostObject<I>,
) -> Result<Vec<u8>, DispatchError> {
    let peer = peer.ok_or_else(|| {
        DispatchError::refused("a returned object crosses only to a worker process")
    })?;
    shareable::<I>().map_err(DispatchError::Result)?;
    let id = peer
        .keep(LocalObject::of(object), Keep::Given)
        .map_err(DispatchError::Result)?;
    Ok(super::encode(&id)?)
}

/// A lent closure: the peer's, called with its arguments as a tuple.
#[doc(hidden)]
pub struct RemoteFn<A, R> {
    peer: Arc<dyn Peer>,
    handle: u64,
    name: String,
    _signature: PhantomData<fn(A) -> R>,
}

impl<A, R> core::fmt::Debug for RemoteFn<A, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RemoteFn")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl<A: crate::PluginData, R: crate::PluginData> RemoteFn<A, R> {
    /// The closure argument `name`, lent by the peer for the call.
    pub fn read(
        reader: &mut ArgReader<'_>,
        peer: Option<&Arc<dyn Peer>>,
        name: &str,
    ) -> Result<Self, DispatchError> {
        let id: u64 = reader.next(name)?;
        let peer = peer.ok_or_else(|| {
            DispatchError::refused(&format!(
                "parameter `{name}`: a closure crosses only to a worker process"
            ))
        })?;
        Ok(Self {
            peer: Arc::clone(peer),
            handle: peer.adopt(id, peer.run()),
            name: name.to_owned(),
            _signature: PhantomData,
        })
    }

    /// Calls the closure; a failure panics with its message.
    pub fn call(&self, args: A) -> R {
        let doing = format!("the closure `{}`", self.name);
        let bytes = super::encode(&args).unwrap_or_else(|error| panic!("{doing}: {error}"));
        match self.peer.call(self.handle, 0, bytes, &doing) {
            Ok(answer) if answer.status == DispatchStatus::Returned as u32 => {
                super::decode_all(&answer.bytes).unwrap_or_else(|error| {
                    panic!("{doing} returned a value that does not decode: {error}")
                })
            }
            Ok(answer) => panic!("{doing} failed: {}", String::from_utf8_lossy(&answer.bytes)),
            Err(error) => panic!("{doing}: {error}"),
        }
    }
}
