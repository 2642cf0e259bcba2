//! Objects of the other side of a serialised connection: `#[plugin_trait]`
//! implements each trait for [`Remote`], encoding the arguments of every
//! method for the serialised path and decoding its result.

use core::marker::PhantomData;
use std::sync::Arc;

use super::DispatchStatus;
use super::peer::{Answer, Peer, RemoteArgs};
use crate::error::{CallError, PluginError};
use crate::export::CallFailure;

/// How a method's result is read from its bytes; objects in it become
/// stand-ins calling the peer.
/// The third argument is the run of the peer that answered (see
/// [`Peer::adopt`]).
pub type Decode<R> = fn(&[u8], &Arc<dyn Peer>, u32) -> Result<R, String>;

/// An object of the other side of a serialised connection: an instance in
/// a worker process, seen from the host, or an object the host lent or
/// gave, seen from a library in its worker. `#[plugin_trait]` implements
/// the trait for `Remote<dyn Trait>`: each method sends its arguments to
/// the other side, serves its calls back meanwhile, and decodes the answer.
/// It is not made otherwise.
pub struct Remote<I: ?Sized> {
    pub(crate) peer: Arc<dyn Peer>,
    pub(crate) handle: u64,
    pub(crate) trait_name: &'static str,
    /// Whether this side releases the object when done.
    owned: bool,
    /// Whether a proxy's shims catch this object's failures (else a
    /// failure is a panic with its message).
    pub(crate) wrapped: bool,
    _interface: PhantomData<fn() -> Box<I>>,
}

impl<I: ?Sized> core::fmt::Debug for Remote<I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Remote")
            .field("handle", &self.handle)
            .field("owned", &self.owned)
            .finish_non_exhaustive()
    }
}

impl<I: ?Sized> Drop for Remote<I> {
    fn drop(&mut self) {
        if self.owned {
            self.peer.release(self.handle);
        }
    }
}

impl<I: ?Sized> Remote<I> {
    /// The peer's object `handle` of trait `trait_name`; released when
    /// dropped if `owned`.
    pub(crate) fn stand_in(
        peer: Arc<dyn Peer>,
        handle: u64,
        trait_name: &'static str,
        owned: bool,
    ) -> Self {
        Self {
            peer,
            handle,
            trait_name,
            owned,
            wrapped: false,
            _interface: PhantomData,
        }
    }

    /// Where a method's arguments are encoded.
    #[doc(hidden)]
    pub fn __args(&self) -> RemoteArgs {
        RemoteArgs::new(&self.peer)
    }

    /// Calls method `index` (`name` in errors) of the object with `args`
    /// and decodes its result. A call that cannot complete fails: under a
    /// proxy, the proxy's shim turns the failure into the call's
    /// `CallError`; otherwise it panics with the error's message.
    #[doc(hidden)]
    pub fn __call<R>(
        &self,
        index: u32,
        name: &'static str,
        mut args: RemoteArgs,
        decode: Decode<R>,
    ) -> R {
        let doing = format!("{}::{name}", self.trait_name);
        let (bytes, refused) = args.take();
        if let Some(reason) = refused {
            let message = format!("{}: {doing}: {reason}", self.peer.library().display());
            self.fail_with(CallError::Panicked {
                library: self.peer.library().to_path_buf(),
                trait_name: self.trait_name.to_owned(),
                method: name.to_owned(),
                message,
            });
        }
        let outcome = self
            .peer
            .call(self.handle, index, bytes, &doing)
            .and_then(|answer| {
                let read = [
                    DispatchStatus::Returned,
                    DispatchStatus::Panicked,
                    DispatchStatus::BadResult,
                ]
                .iter()
                .any(|status| *status as u32 == answer.status);
                if read {
                    args.delivered();
                }
                self.decode(name, &answer, decode)
            });
        drop(args);
        outcome.unwrap_or_else(|error| self.fail(name, error))
    }

    /// A method whose arguments or result do not cross the serialised
    /// path.
    #[doc(hidden)]
    pub fn __refuse(&self, name: &'static str, what: &'static str) -> ! {
        let message = format!(
            "{}: {}::{name}: {what} does not cross to a worker process",
            self.peer.library().display(),
            self.trait_name
        );
        self.fail_with(CallError::Panicked {
            library: self.peer.library().to_path_buf(),
            trait_name: self.trait_name.to_owned(),
            method: name.to_owned(),
            message,
        })
    }

    /// Fails the call of `method` with `error`, as the proxy's own
    /// `CallError` (a crash is `Crashed`, a timeout `TimedOut`).
    fn fail(&self, method: &str, error: PluginError) -> ! {
        let trait_name = self.trait_name.to_owned();
        let method = method.to_owned();
        self.fail_with(match error {
            PluginError::Crashed { library, how, .. } => CallError::Crashed {
                library,
                trait_name,
                method,
                how,
            },
            PluginError::TimedOut { library, after, .. } => CallError::TimedOut {
                library,
                trait_name,
                method,
                after,
            },
            PluginError::Panicked {
                library, message, ..
            } => CallError::Panicked {
                library,
                trait_name,
                method,
                message,
            },
            PluginError::InvalidValue { library, what, .. } => CallError::InvalidValue {
                library,
                trait_name,
                method,
                what,
            },
            other => CallError::Panicked {
                library: self.peer.library().to_path_buf(),
                trait_name,
                method,
                message: other.to_string(),
            },
        })
    }

    /// Unwinds with `error`: to the proxy's shim, which makes it the
    /// call's failure (not a panic, so no panic hook reports it here), or,
    /// without a proxy, as a panic with its message.
    fn fail_with(&self, error: CallError) -> ! {
        if self.wrapped {
            std::panic::resume_unwind(Box::new(CallFailure(error)))
        }
        panic!("{error}")
    }

    /// What the answer's `status` and `bytes` mean for a call of
    /// `method`: the value, or the error.
    fn decode<R>(
        &self,
        method: &str,
        answer: &Answer,
        decode: Decode<R>,
    ) -> Result<R, PluginError> {
        let (status, bytes) = (answer.status, answer.bytes.as_slice());
        let library = self.peer.library().to_path_buf();
        let trait_name = self.trait_name.to_owned();
        let message = || String::from_utf8_lossy(bytes).into_owned();
        match DispatchStatus::from_u32(status) {
            Some(DispatchStatus::Returned) => {
                decode(bytes, &self.peer, answer.run).map_err(|what| PluginError::InvalidValue {
                    library,
                    trait_name,
                    method: method.to_owned(),
                    what,
                })
            }
            Some(DispatchStatus::Panicked) => Err(PluginError::Panicked {
                library,
                trait_name,
                method: method.to_owned(),
                message: message(),
            }),
            _ => Err(PluginError::DispatchFailed {
                library,
                method: format!("{trait_name}::{method}"),
                reason: format!("status {status}: {}", message()),
            }),
        }
    }
}

/// A returned object of the peer's, as `Box<dyn Trait>`: the trait's
/// proxy on the host, the stand-in itself in a plugin library.
pub(crate) fn decode_box<I: ?Sized + crate::ObjectInterface>(
    bytes: &[u8],
    peer: &Arc<dyn Peer>,
    run: u32,
) -> Result<Box<I>, String> {
    let id: u64 = super::decode_all(bytes)?;
    if id == 0 {
        return Err("the other side could not send its object".to_owned());
    }
    let remote = Remote::<I>::stand_in(
        Arc::clone(peer),
        peer.adopt(id, run),
        I::DESCRIPTOR.name.as_str(),
        true,
    );
    Ok(boxed(remote))
}

/// A returned shared object of the peer's, as `Arc<dyn Trait>`.
pub(crate) fn decode_arc<I: ?Sized + crate::ObjectInterface>(
    bytes: &[u8],
    peer: &Arc<dyn Peer>,
    run: u32,
) -> Result<Arc<I>, String> {
    decode_box::<I>(bytes, peer, run).map(Arc::from)
}

/// The peer's object as `Box<dyn Trait>`: on the host, the trait's proxy
/// over it (whose `try_` methods and failures are those of every proxy);
/// in a plugin library, the stand-in itself.
pub(crate) fn boxed<I: ?Sized + crate::ObjectInterface>(remote: Remote<I>) -> Box<I> {
    #[cfg(all(feature = "host", unix))]
    if remote.peer.proxies() {
        return I::boxed(crate::isolation::proxy::<I>(remote, "object", None));
    }
    I::stand_in(remote)
}
