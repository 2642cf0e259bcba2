//! What a plugin's constructor gets from the host: [`PluginContext`].

use core::fmt::Display;
use core::mem::MaybeUninit;
use std::path::Path;
use std::sync::Arc;

use crate::repr::RString;

use super::table::{ContextTable, host};
use crate::carry::{Lift, ObjectInterface, RObject, lift_arc};
use crate::error::PluginError;

/// What the host tells a plugin's constructor: the plugin's
/// configuration, the services it may use, and where it was loaded from.
///
/// A constructor that takes it is named in `#[plugin_impl]`:
///
/// ```
/// use std::sync::Arc;
/// use plugin_interface::{PluginContext, PluginError, plugin_aggregates, plugin_impl, plugin_trait};
///
/// #[plugin_trait]
/// pub trait Storage: Send + Sync {
///     fn get(&self, key: &str) -> Option<String>;
/// }
///
/// #[plugin_trait]
/// pub trait Greeter: Send + Sync {
///     fn greet(&self, target: &str) -> String;
/// }
///
/// #[derive(serde::Deserialize)]
/// struct Config {
///     greeting: String,
/// }
///
/// #[plugin_aggregates(Greeter, requires(Storage))]
/// pub struct Hello {
///     greeting: String,
///     storage: Arc<dyn Storage>,
/// }
///
/// impl Hello {
///     fn new(cx: &PluginContext<'_>) -> Result<Self, PluginError> {
///         let config: Config = cx.config()?;
///         Ok(Self { greeting: config.greeting, storage: cx.service::<dyn Storage>()? })
///     }
/// }
///
/// #[plugin_impl(Greeter, constructor = Hello::new)]
/// impl Greeter for Hello {
///     fn greet(&self, target: &str) -> String {
///         format!("{}, {target}!", self.greeting)
///     }
/// }
/// # fn main() {}
/// ```
#[derive(Debug)]
pub struct PluginContext<'a> {
    table: Option<&'a ContextTable>,
    trait_name: &'static str,
    entry: &'static str,
}

impl<'a> PluginContext<'a> {
    /// The context of the construction the host is running on this
    /// thread, for the implementation `entry` of `trait_name`.
    pub(crate) fn current(trait_name: &'static str, entry: &'static str) -> Self {
        let table = host().and_then(|host| {
            // SAFETY: the host keeps the table alive for the construction
            // it is running on this thread, which this context lives in.
            unsafe { (host.context)().as_ref() }
        });
        Self {
            table,
            trait_name,
            entry,
        }
    }

    /// A context with no configuration and no services, as a library
    /// loaded without a `PluginManager` gets: for constructing a plugin
    /// type directly, in its own tests.
    pub fn detached(trait_name: &'static str, entry: &'static str) -> Self {
        Self {
            table: None,
            trait_name,
            entry,
        }
    }

    /// The path the host loaded the library from; empty in a detached
    /// context.
    pub fn path(&self) -> &Path {
        Path::new(self.table.map_or("", |table| table.library.as_str()))
    }

    /// The implementation being constructed: its type's name, as hosts
    /// select it (`?entry=Hello`).
    pub fn entry(&self) -> &str {
        self.entry
    }

    /// The trait being constructed.
    pub fn trait_name(&self) -> &str {
        self.trait_name
    }

    /// The host's `plugin-interface` version, or this library's in a
    /// detached context.
    pub fn framework_version(&self) -> &str {
        host().map_or(env!("CARGO_PKG_VERSION"), |host| {
            host.framework_version.as_str()
        })
    }

    /// The plugin's configuration as a TOML document: the `config` table
    /// of its manifest entry, or empty.
    pub fn config_text(&self) -> &str {
        self.table.map_or("", |table| table.config.as_str())
    }

    /// The plugin's configuration, deserialised into `T` (with serde): the
    /// `config` table of its manifest entry. A plugin without one gets an
    /// empty table, so `T`'s fields with defaults still deserialise.
    ///
    /// A missing field or a value of the wrong type is
    /// [`PluginError::Config`] with serde's message.
    pub fn config<T: serde::de::DeserializeOwned>(&self) -> Result<T, PluginError> {
        toml::from_str(self.config_text()).map_err(|error| PluginError::Config {
            library: self.path().to_path_buf(),
            entry: self.entry.to_owned(),
            message: error.message().to_owned(),
        })
    }

    /// The service of trait `I` that the host provides, or that a plugin
    /// loaded before this one implements. The object stays valid for as
    /// long as the plugin holds it; calls into another plugin follow its
    /// reloads.
    ///
    /// A trait nobody provides, or a provider built against another
    /// version of the interface, is [`PluginError::Service`].
    pub fn service<I: ?Sized + ObjectInterface>(&self) -> Result<Arc<I>, PluginError> {
        let trait_name = I::DESCRIPTOR.name.as_str();
        let refused = |message: String| PluginError::Service {
            library: self.path().to_path_buf(),
            trait_name: trait_name.to_owned(),
            message,
        };
        let Some(table) = self.table else {
            return Err(refused(
                "the host offers no services to this construction".to_owned(),
            ));
        };
        let mut object = MaybeUninit::<RObject>::uninit();
        let mut error = MaybeUninit::<RString>::uninit();
        // SAFETY: the host's lookup with its own state and two slots it
        // writes one of.
        let found = unsafe {
            (table.service)(
                table.state,
                I::DESCRIPTOR,
                object.as_mut_ptr(),
                error.as_mut_ptr(),
            )
        };
        if !found {
            // SAFETY: not found, so the host wrote the reason.
            let error = unsafe { error.assume_init() };
            return Err(refused(error.to_string_lossy()));
        }
        // SAFETY: found, so the host wrote a shared object of `I` whose
        // interface it compared with this library's, and gave it up.
        let object = unsafe { object.assume_init() };
        // SAFETY: as above.
        unsafe { lift_arc::<I>(object, &Lift::local()) }
            .map_err(|invalid| refused(invalid.to_string()))
    }
}

/// A constructor `#[plugin_impl(Trait, constructor = path)]` accepts:
/// `fn() -> T`, `fn(&PluginContext) -> T`, or
/// `fn(&PluginContext) -> Result<T, E>` with `E: Display`, whose error
/// refuses the plugin. `Marker` tells the three apart.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a constructor of `{T}`",
    label = "expected `fn() -> {T}`, `fn(&PluginContext) -> {T}` or `fn(&PluginContext) -> Result<{T}, E>`",
    note = "a constructor that can fail returns `Result<Self, E>` with `E: Display`; its error refuses the plugin"
)]
pub trait Constructor<T, Marker> {
    /// Runs the constructor; an error is its message.
    fn construct(self, cx: &PluginContext<'_>) -> Result<T, String>;
}

/// `fn() -> T`.
#[derive(Debug)]
pub enum Plain {}
/// `fn(&PluginContext) -> T`.
#[derive(Debug)]
pub enum WithContext {}
/// `fn(&PluginContext) -> Result<T, E>`.
#[derive(Debug)]
pub enum Fallible {}

impl<T, F: FnOnce() -> T> Constructor<T, Plain> for F {
    fn construct(self, _: &PluginContext<'_>) -> Result<T, String> {
        Ok(self())
    }
}

impl<T, F: for<'a, 'b> FnOnce(&'a PluginContext<'b>) -> T> Constructor<T, WithContext> for F {
    fn construct(self, cx: &PluginContext<'_>) -> Result<T, String> {
        Ok(self(cx))
    }
}

impl<T, E: Display, F: for<'a, 'b> FnOnce(&'a PluginContext<'b>) -> Result<T, E>>
    Constructor<T, Fallible> for F
{
    fn construct(self, cx: &PluginContext<'_>) -> Result<T, String> {
        self(cx).map_err(|error| error.to_string())
    }
}

/// Runs `constructor` with `cx`, whichever of the accepted shapes it has.
pub fn construct_with<T, M, C: Constructor<T, M>>(
    constructor: C,
    cx: &PluginContext<'_>,
) -> Result<T, String> {
    constructor.construct(cx)
}
