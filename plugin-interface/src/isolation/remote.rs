//! Typed proxies of instances in a worker: `#[plugin_trait]` implements
//! each trait for [`Remote`], encoding the arguments of every method for
//! the serialised path and decoding its result, and a proxy's vtable is
//! the host's own shims for `Remote<dyn Trait>`.

use core::marker::PhantomData;
use std::sync::Arc;

use super::link::Link;
use crate::error::{CallError, PluginError};
use crate::export::CallFailure;
use crate::wire::DispatchStatus;

/// An instance of an implementation of `I` living in a worker process.
/// `#[plugin_trait]` implements the trait for `Remote<dyn Trait>`: each
/// method sends its arguments to the worker and decodes the answer.
/// [`WorkerLibrary::instantiate`](super::WorkerLibrary::instantiate) wraps
/// one in the trait's proxy; it is not made otherwise.
pub struct Remote<I: ?Sized> {
    pub(crate) link: Arc<Link>,
    pub(crate) handle: u32,
    pub(crate) trait_name: &'static str,
    pub(crate) _interface: PhantomData<fn() -> Box<I>>,
}

impl<I: ?Sized> core::fmt::Debug for Remote<I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Remote")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl<I: ?Sized> Drop for Remote<I> {
    fn drop(&mut self) {
        self.link.release(self.handle);
    }
}

/// The encoded arguments of one call, built by the generated methods of
/// [`Remote`] through `<T as PluginData>::wire_append` (so that a type
/// that is not carried gives the one error every other use of it gives).
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct RemoteArgs(Vec<u8>);

impl RemoteArgs {
    /// No arguments yet.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Where the next argument's encoding goes.
    pub fn bytes(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }

    /// A `&str` argument, encoded as a `String` is.
    pub fn str(&mut self, value: &str) {
        crate::wire::append(value, &mut self.0);
    }
}

impl<I: ?Sized> Remote<I> {
    /// Calls method `index` (`name` in errors) of the instance with `args`
    /// and decodes its result. A call that cannot complete panics with the
    /// error's message: the proxy's shim turns the panic into the call's
    /// failure.
    #[doc(hidden)]
    pub fn __call<R>(
        &self,
        index: u32,
        name: &'static str,
        args: RemoteArgs,
        decode: fn(&[u8]) -> Result<R, String>,
    ) -> R {
        let doing = format!("{}::{name}", self.trait_name);
        let outcome = self
            .link
            .call(self.handle, index, args.0, &doing)
            .and_then(|(status, bytes)| self.decode(name, status, &bytes, decode));
        outcome.unwrap_or_else(|error| self.fail(name, error))
    }

    /// A method whose arguments or result do not cross to a worker.
    #[doc(hidden)]
    pub fn __refuse(&self, name: &'static str, what: &'static str) -> ! {
        let message = format!(
            "{}: {}::{name}: {what} does not cross to a worker process",
            self.link.path().display(),
            self.trait_name
        );
        self.fail_with(CallError::Panicked {
            library: self.link.path().to_path_buf(),
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
                library: self.link.path().to_path_buf(),
                trait_name,
                method,
                message: other.to_string(),
            },
        })
    }

    /// Unwinds with `error` to the proxy's shim, which makes it the call's
    /// failure; not a panic, so no panic hook reports it here (the proxy
    /// reports it as any failure).
    fn fail_with(&self, error: CallError) -> ! {
        std::panic::resume_unwind(Box::new(CallFailure(error)))
    }

    /// What the dispatch entry's `status` and `bytes` mean for a call of
    /// `method`: the value, or the error.
    fn decode<R>(
        &self,
        method: &str,
        status: u32,
        bytes: &[u8],
        decode: fn(&[u8]) -> Result<R, String>,
    ) -> Result<R, PluginError> {
        let library = self.link.path().to_path_buf();
        let trait_name = self.trait_name.to_owned();
        let message = || String::from_utf8_lossy(bytes).into_owned();
        match DispatchStatus::from_u32(status) {
            Some(DispatchStatus::Returned) => {
                decode(bytes).map_err(|what| PluginError::InvalidValue {
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
