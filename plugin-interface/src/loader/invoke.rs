//! Calling any method of a library by name, with JSON values, through the
//! serialised path (`plugin_dispatch_<Trait>_<Type>_v1`).

use core::ffi::c_void;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::abi::{Failure, MethodDescriptor, Registration, TraitDescriptor};
use crate::error::PluginError;
use crate::layout::{bytes, items};
use crate::lifecycle::KnownInterface;
use crate::loader::compat;
use crate::loader::instances::Group;
use crate::loader::library::PluginLibrary;
use crate::registrations::LibrarySymbols;
use crate::repr::RSlice;
use crate::state::{self, LoadState, SaveState};
use crate::wire::{DispatchEntry, DispatchStatus, PeerTable, collect, json};

/// One implementation's instance, called by method name with JSON values
/// through the library's dispatch entry. Made by
/// [`PluginLibrary::invoker`]; the instance lives, with its state, as long
/// as this value, and keeps the library loaded. It stays on the thread
/// that made it (it is not `Send`): the host cannot tell from the canary
/// alone whether the implementation may move between threads.
///
/// ```no_run
/// use plugin_interface::PluginLibrary;
/// use serde_json::json;
/// # fn main() -> Result<(), plugin_interface::PluginError> {
/// let library = PluginLibrary::open("target/debug/libenglish_plugin.so")?;
/// let mut english = library.invoker("Greeter", Some("English"))?;
/// assert_eq!(english.invoke("greet", &[json!("world")])?, json!("Hello, world!"));
/// # Ok(())
/// # }
/// ```
pub struct Invoker {
    library: PluginLibrary,
    trait_name: String,
    entry: String,
    instance: Instance,
}

/// Where an invoker's instance lives.
enum Instance {
    /// In this process.
    Here {
        /// Frees the instance when dropped.
        _owner: Arc<Group>,
        instance: *mut c_void,
        /// The registration of `instance`, for its state hooks.
        registration: *mut Registration,
        dispatch: DispatchEntry,
        /// The state hooks, when the implementation carries its state.
        state: Option<(SaveState, LoadState)>,
    },
    /// In the worker process serving the library.
    #[cfg(unix)]
    Worker {
        link: Arc<crate::isolation::Link>,
        handle: u32,
    },
}

#[cfg(unix)]
impl Drop for Instance {
    fn drop(&mut self) {
        if let Self::Worker { link, handle } = self {
            link.release(u64::from(*handle));
        }
    }
}

/// One parameter of a method, as [`PluginLibrary::parameters`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterInfo {
    /// Its name in the trait.
    pub name: String,
    /// Its type as it crosses, e.g. `RStr`, `RVec<RString>`, `Person`.
    pub ty: String,
    /// Whether it takes a string (`&str`, `String`, `char`), which a
    /// command line may pass without JSON quotes.
    pub text: bool,
}

/// A call checked against the plugin's descriptor and encoded.
pub(crate) struct Prepared<'a> {
    pub(crate) index: u32,
    pub(crate) method: &'a MethodDescriptor,
    pub(crate) args: Vec<u8>,
}

impl PluginLibrary {
    /// Calls `method` of the library's implementation of `trait_name`
    /// with `args`, one JSON value per parameter, and returns the result
    /// as JSON (see [`wire`](crate::wire) for how JSON maps to values).
    /// The call runs on a fresh instance, made before and freed after it;
    /// [`invoker`](Self::invoker) keeps one. A library with several
    /// implementations of the trait is refused: name one with `invoker`.
    ///
    /// Nothing of the library runs before the arguments are checked
    /// against the method's layouts in its canary: an unknown trait or
    /// method, a wrong number of arguments, a value of the wrong type or
    /// a method the serialised path does not carry is refused with a
    /// [`PluginError`] naming the library, the method and the parameter.
    /// When the host links the same interface, the plugin's descriptor is
    /// first compared with the host's, as for a typed proxy.
    ///
    /// ```no_run
    /// use plugin_interface::PluginLibrary;
    /// use serde_json::json;
    /// # fn main() -> Result<(), plugin_interface::PluginError> {
    /// let library = PluginLibrary::open("target/debug/libenglish_plugin.so")?;
    /// let greeting = library.invoke("Greeter", "greet", &[json!("world")])?;
    /// assert_eq!(greeting, json!("Hello, world!"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn invoke(
        &self,
        trait_name: &str,
        method: &str,
        args: &[Value],
    ) -> Result<Value, PluginError> {
        let descriptor = self.checked_descriptor(trait_name)?;
        let prepared = prepare(self.path(), descriptor, method, args)?;
        let mut invoker = self.invoker(trait_name, None)?;
        invoker.call(prepared)
    }

    /// The parameters of `method` of `trait_name`, from the library's
    /// canary, in order.
    pub fn parameters(
        &self,
        trait_name: &str,
        method: &str,
    ) -> Result<Vec<ParameterInfo>, PluginError> {
        parameters(self.path(), self.descriptor(trait_name)?, method)
    }

    /// Makes an instance of `entry` (the implementing type's name; `None`
    /// for the library's only implementation of `trait_name`) to call by
    /// method name.
    pub fn invoker(&self, trait_name: &str, entry: Option<&str>) -> Result<Invoker, PluginError> {
        self.checked_descriptor(trait_name)?;
        let entries: Vec<String> = self
            .entries(trait_name)?
            .into_iter()
            .map(|info| info.entry)
            .collect();
        let entry = match entry {
            Some(entry) if entries.iter().any(|known| known == entry) => entry.to_owned(),
            None if entries.len() == 1 => entries[0].clone(),
            _ => {
                return Err(PluginError::EntryNotFound {
                    library: self.path().to_path_buf(),
                    trait_name: trait_name.to_owned(),
                    entry: entry.unwrap_or("(none named)").to_owned(),
                    available: entries,
                });
            }
        };
        #[cfg(unix)]
        if let Some(link) = self.worker() {
            let (handle, entry) = link.instantiate(trait_name, Some(&entry))?;
            return Ok(Invoker {
                library: self.clone(),
                trait_name: trait_name.to_owned(),
                entry,
                instance: Instance::Worker {
                    link: Arc::clone(link),
                    handle,
                },
            });
        }
        let symbol = plugin_symbols::dispatch(trait_name, &entry);
        // SAFETY: the canary matched this framework's epoch, whose
        // dispatch entries have this type.
        let dispatch: DispatchEntry = unsafe { self.function(&symbol) }?;
        let (owner, registration) = self.make_registration(trait_name, &entry)?;
        // SAFETY: a non-null registration the maker made, owned by `owner`.
        let registration = unsafe { &*registration };
        if registration.trait_name.as_str() != trait_name || registration.instance.is_null() {
            return Err(PluginError::BadRegistration {
                library: self.path().to_path_buf(),
                symbol: plugin_symbols::register(trait_name, &entry),
                reason: format!(
                    "registration of trait `{}` with a {} instance",
                    registration.trait_name.as_str(),
                    if registration.instance.is_null() {
                        "null"
                    } else {
                        "live"
                    }
                ),
            });
        }
        // SAFETY: as above, for state hooks, which only implementations
        // that opted in (`#[plugin_impl(Trait, state)]`) export.
        let state = unsafe {
            (
                self.function::<SaveState>(&plugin_symbols::save_state(trait_name, &entry)),
                self.function::<LoadState>(&plugin_symbols::load_state(trait_name, &entry)),
            )
        };
        let state = match state {
            (Ok(save), Ok(load)) => Some((save, load)),
            _ => None,
        };
        Ok(Invoker {
            library: self.clone(),
            trait_name: trait_name.to_owned(),
            entry,
            instance: Instance::Here {
                _owner: owner,
                instance: registration.instance,
                registration: core::ptr::from_ref(registration).cast_mut(),
                dispatch,
                state,
            },
        })
    }

    /// The plugin's descriptor of `trait_name`, compared with the host's
    /// when the host links an interface of that name and crate.
    fn checked_descriptor(&self, trait_name: &str) -> Result<&TraitDescriptor, PluginError> {
        let plugin = self.descriptor(trait_name)?;
        compared_with_host(self.path(), plugin)?;
        Ok(plugin)
    }
}

/// Compares `plugin`, a descriptor of the library at `path`, with the
/// host's interface of the same name and crate, when the host links one.
pub(crate) fn compared_with_host(path: &Path, plugin: &TraitDescriptor) -> Result<(), PluginError> {
    for known in inventory::iter::<KnownInterface> {
        let host = known.descriptor;
        if host.name.as_str() == plugin.name.as_str()
            && host.interface_crate.as_str() == plugin.interface_crate.as_str()
        {
            compat::check(path, host, plugin)?;
        }
    }
    Ok(())
}

/// The parameters of `method` of `descriptor`, a trait of the library at
/// `path`, in order.
pub(crate) fn parameters(
    path: &Path,
    descriptor: &TraitDescriptor,
    method: &str,
) -> Result<Vec<ParameterInfo>, PluginError> {
    let (_, found) = find_method(path, descriptor, method)?;
    Ok(items(&found.args)
        .iter()
        .map(|arg| ParameterInfo {
            name: String::from_utf8_lossy(bytes(arg.name)).into_owned(),
            ty: arg.ty.display_name(),
            text: json::takes_text(arg.ty),
        })
        .collect())
}

/// The index and descriptor of `method` in `descriptor`.
fn find_method<'a>(
    path: &Path,
    descriptor: &'a TraitDescriptor,
    method: &str,
) -> Result<(usize, &'a MethodDescriptor), PluginError> {
    let methods = items(&descriptor.methods);
    methods
        .iter()
        .enumerate()
        .find(|(_, known)| known.name.as_str() == method)
        .ok_or_else(|| PluginError::MethodNotFound {
            library: path.to_path_buf(),
            trait_name: descriptor.name.as_str().to_owned(),
            method: method.to_owned(),
            available: methods
                .iter()
                .map(|known| known.name.as_str().to_owned())
                .collect(),
        })
}

/// Checks `args` against `method` of `descriptor`, a trait of the library
/// at `path`, and encodes them.
pub(crate) fn prepare<'a>(
    path: &Path,
    descriptor: &'a TraitDescriptor,
    method: &str,
    args: &[Value],
) -> Result<Prepared<'a>, PluginError> {
    let trait_name = descriptor.name.as_str();
    let (index, found) = find_method(path, descriptor, method)?;
    let parameters = items(&found.args);
    let name =
        |arg: &crate::layout::ArgLayout| String::from_utf8_lossy(bytes(arg.name)).into_owned();
    let full = format!("{trait_name}::{method}");
    let refused = |parameter: String, reason: String| PluginError::NotSerialisable {
        library: path.to_path_buf(),
        method: full.clone(),
        parameter,
        reason,
    };
    for parameter in parameters {
        if let Some(reason) = json::refusal(parameter.ty) {
            return Err(refused(format!("argument `{}`", name(parameter)), reason));
        }
    }
    if let Some(reason) = json::refusal(found.ret) {
        return Err(refused("the return value".to_owned(), reason));
    }
    if parameters.len() != args.len() {
        return Err(PluginError::WrongArity {
            library: path.to_path_buf(),
            method: full,
            expected: parameters.len(),
            found: args.len(),
            parameters: parameters.iter().map(name).collect(),
        });
    }
    let mut encoded = Vec::new();
    for (parameter, value) in parameters.iter().zip(args) {
        json::encode(parameter.ty, value, &mut encoded).map_err(|reason| {
            PluginError::InvalidArgument {
                library: path.to_path_buf(),
                method: full.clone(),
                parameter: name(parameter),
                reason: format!("{}: {reason}", parameter.ty.display_name()),
            }
        })?;
    }
    Ok(Prepared {
        index: index as u32,
        method: found,
        args: encoded,
    })
}

/// What a dispatch entry's `status` and bytes `out` mean for a call of
/// `method` of `trait_name` in the library at `path`: the result as JSON,
/// or the error.
pub(crate) fn outcome(
    path: &Path,
    trait_name: &str,
    method: &MethodDescriptor,
    status: u32,
    out: &[u8],
) -> Result<Value, PluginError> {
    let library = path.to_path_buf();
    let trait_name = trait_name.to_owned();
    let name = method.name.as_str().to_owned();
    let message = || String::from_utf8_lossy(out).into_owned();
    match DispatchStatus::from_u32(status) {
        Some(DispatchStatus::Returned) => {
            let mut rest = out;
            let value = json::decode(method.ret, &mut rest).and_then(|value| {
                if rest.is_empty() {
                    Ok(value)
                } else {
                    Err(format!("{} bytes left over after the value", rest.len()))
                }
            });
            value.map_err(|what| PluginError::InvalidValue {
                library,
                trait_name,
                method: name,
                what,
            })
        }
        Some(DispatchStatus::Panicked) => Err(PluginError::Panicked {
            library,
            trait_name,
            method: name,
            message: message(),
        }),
        Some(DispatchStatus::Refused) => Err(PluginError::NotSerialisable {
            library,
            method: format!("{trait_name}::{name}"),
            parameter: "a parameter".to_owned(),
            reason: message(),
        }),
        Some(
            DispatchStatus::NoSuchMethod
            | DispatchStatus::BadArguments
            | DispatchStatus::BadResult
            | DispatchStatus::Unreachable,
        )
        | None => Err(PluginError::DispatchFailed {
            library,
            method: format!("{trait_name}::{name}"),
            reason: format!("status {status}: {}", message()),
        }),
    }
}

impl Invoker {
    /// Calls `method` with `args`, one JSON value per parameter, checked
    /// as [`PluginLibrary::invoke`] checks them, and returns the result as
    /// JSON. A panic in the method is [`PluginError::Panicked`].
    pub fn invoke(&mut self, method: &str, args: &[Value]) -> Result<Value, PluginError> {
        let library = self.library.clone();
        let descriptor = library.descriptor(&self.trait_name)?;
        let prepared = prepare(library.path(), descriptor, method, args)?;
        self.call(prepared)
    }

    /// The implementation this instance is of.
    pub fn entry(&self) -> &str {
        &self.entry
    }

    fn call(&mut self, prepared: Prepared<'_>) -> Result<Value, PluginError> {
        let (status, out) = match &self.instance {
            #[cfg(unix)]
            Instance::Worker { link, handle } => {
                let doing = format!("{}::{}", self.trait_name, prepared.method.name.as_str());
                link.call(u64::from(*handle), prepared.index, prepared.args, &doing)?
            }
            Instance::Here { .. } => {
                self.call_raw(prepared.index, &prepared.args, core::ptr::null())
            }
        };
        outcome(
            self.library.path(),
            &self.trait_name,
            prepared.method,
            status,
            &out,
        )
    }

    /// Calls method `index` with the encoded `args` through the dispatch
    /// entry, objects and closures crossing through `peer` (null: none
    /// cross), and returns its status and bytes, unread.
    ///
    /// Calls run one at a time on the thread that serves them; a nested
    /// call to the same instance, from a callback of the same call, is the
    /// caller's own re-entry, which its borrows allow as they would in
    /// process.
    pub(crate) fn call_raw(
        &self,
        index: u32,
        args: &[u8],
        peer: *const PeerTable,
    ) -> (u32, Vec<u8>) {
        let Instance::Here {
            instance, dispatch, ..
        } = &self.instance
        else {
            return (
                DispatchStatus::Unreachable as u32,
                b"the instance is in a worker process".to_vec(),
            );
        };
        let mut out: Vec<u8> = Vec::new();
        // SAFETY: the instance is the live registration's; the argument
        // bytes live for the call; `collect` copies what it is given into
        // `out`, which lives for the call; `peer` is null or the caller's
        // valid table.
        let status = unsafe {
            dispatch(
                *instance,
                index,
                args.as_ptr(),
                args.len(),
                (&raw mut out).cast::<c_void>(),
                collect,
                peer,
            )
        };
        (status, out)
    }
}

impl Invoker {
    /// The instance's state, when its implementation carries state
    /// (`#[plugin_impl(Trait, state)]`): its version and bytes, or why
    /// saving failed.
    pub(crate) fn save_state(&self) -> Option<Result<(u32, Vec<u8>), String>> {
        let Instance::Here {
            registration,
            state: Some((save, _)),
            ..
        } = &self.instance
        else {
            return None;
        };
        // SAFETY: the live registration this invoker owns, made by the
        // library whose hook this is, for the same implementation.
        let returned = unsafe { save(*registration) };
        if !returned.failure.is_null() {
            // SAFETY: a failure the hook just returned, taken once.
            let message = unsafe { Failure::take(returned.failure) }.unwrap_or_default();
            return Some(Err(format!("saving state panicked: {message}")));
        }
        // SAFETY: no failure, so the hook initialised the value.
        Some(Ok(state::into_host(unsafe {
            returned.value.assume_init()
        })))
    }

    /// Restores state saved by [`save_state`](Self::save_state) of an
    /// instance of the same implementation, into this fresh one.
    pub(crate) fn load_state(&self, version: u32, bytes: &[u8]) -> Result<(), String> {
        let Instance::Here {
            registration,
            state: Some((_, load)),
            ..
        } = &self.instance
        else {
            return Err(format!(
                "`{}` of `{}` carries no state",
                self.entry, self.trait_name
            ));
        };
        // SAFETY: the live registration this invoker owns, which no call
        // reaches yet; `bytes` outlives the call.
        let returned = unsafe { load(*registration, version, RSlice::from_slice(bytes)) };
        if !returned.failure.is_null() {
            // SAFETY: as above.
            let message = unsafe { Failure::take(returned.failure) }.unwrap_or_default();
            return Err(format!("loading state panicked: {message}"));
        }
        // SAFETY: no failure, so the hook initialised the value.
        match unsafe { returned.value.assume_init() }.into_result() {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(message)) => Err(format!(
                "state version {version} refused: {}",
                message.to_string_lossy()
            )),
            Err(invalid) => Err(format!("loading state returned {invalid}")),
        }
    }
}

impl fmt::Debug for Invoker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invoker")
            .field("library", &self.library.path())
            .field("trait_name", &self.trait_name)
            .field("entry", &self.entry)
            .finish_non_exhaustive()
    }
}
