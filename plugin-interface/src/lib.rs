//! Native Rust plugins behind one attribute per item: declare a trait with
//! `#[plugin_trait]`, implement it in a `cdylib` with `#[plugin_impl]`, and
//! call it from a host through a typed proxy.
//!
//! ```
//! use plugin_interface::{PluginInterface, plugin_trait};
//!
//! /// Says hello. Shared by the host and every plugin.
//! #[plugin_trait]
//! pub trait Greeter {
//!     /// The plugin's name.
//!     fn name(&self) -> String;
//!     /// A greeting for `target`.
//!     fn greet(&self, target: &str) -> String;
//! }
//!
//! // The macro generated the vtable, the proxy and a descriptor that the
//! // host compares with each plugin's canary before calling anything.
//! let descriptor = <dyn Greeter as PluginInterface>::DESCRIPTOR;
//! assert_eq!(descriptor.name.as_str(), "Greeter");
//! assert_eq!(descriptor.method_count, 2);
//! assert_eq!(
//!     descriptor.methods[1].signature.as_str(),
//!     "fn greet(&self, target: &str) -> String"
//! );
//! # fn takes_proxy(_: Option<GreeterProxy>) {}
//! ```
//!
//! A plugin crate (`crate-type = ["cdylib"]`) implements the trait; the
//! exported functions and the canary come from the two attributes:
//!
//! ```
//! # use plugin_interface::plugin_trait;
//! # #[plugin_trait] pub trait Greeter {
//! #     fn name(&self) -> String;
//! #     fn greet(&self, target: &str) -> String;
//! # }
//! use plugin_interface::{plugin_aggregates, plugin_impl};
//!
//! #[plugin_aggregates(Greeter)]
//! #[derive(Default)]
//! pub struct English;
//!
//! #[plugin_impl(Greeter)]
//! impl Greeter for English {
//!     fn name(&self) -> String {
//!         "english".into()
//!     }
//!     fn greet(&self, target: &str) -> String {
//!         format!("Hello, {target}!")
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! A host (with the `host` feature) loads every plugin of a directory and
//! calls each through its typed proxy, which implements the trait:
//!
//! ```no_run
//! # use plugin_interface::plugin_trait;
//! # #[plugin_trait] pub trait Greeter {
//! #     fn name(&self) -> String;
//! #     fn greet(&self, target: &str) -> String;
//! # }
//! let plugins = plugin_interface::load_plugins::<dyn Greeter>("plugins/")?;
//! for error in plugins.errors() {
//!     eprintln!("{error}");
//! }
//! for plugin in &plugins {
//!     println!("{}", plugin.greet("world"));
//! }
//! # Ok::<(), plugin_interface::PluginError>(())
//! ```
//!
//! # Unload and hot reload
//!
//! A [`PluginManager`] (feature `host`) loads each library from a private
//! copy and hands out proxies that follow reloads: `reload` checks the new
//! file and makes its instances (carrying [`PluginState`] where an
//! implementation opts in) while the old version serves, then switches
//! every proxy at once; any failure keeps the old version. Unloading is
//! two-phase: proxies return [`CallError::Unloaded`] for new calls,
//! calls in flight finish, unmakers run, counters are read into host
//! memory, and the library is closed and checked for residency
//! ([`UnloadOutcome`]). With the feature `watch`, the [`watch`] module
//! drives a manager from a directory's changes.
//!
//! # Lifecycle
//!
//! A constructor named in `#[plugin_impl(Trait, constructor = Type::new)]`
//! may take a [`PluginContext`]: its configuration (any serde type, from
//! the TOML `config` table of the plugin's manifest entry), services
//! (`Arc<dyn Trait>` of plugin traits the host provides with
//! `PluginManager::provide` or another plugin implements), and its
//! library, entry and host version; returning `Err` refuses the plugin.
//! `#[plugin_aggregates(Trait, requires(Service))]` declares the services
//! a library needs; `PluginManager::load_manifest` constructs plugins in
//! dependency order and unloads them dependents first. A plugin's `log`
//! records reach the host's logger, at the host's level.
//!
//! # What crosses the boundary
//!
//! Only `extern "C"` functions and `#[repr(C)]` data. Interfaces are
//! written with plain Rust types: integers, floats, `bool`, `char`,
//! `u128`/`i128`, `String`, tuples, arrays, `Vec`, `Option`, `Result`,
//! `Box`, maps and sets of carried types, structs and enums that derive
//! [`PluginData`], and `Box<dyn Trait>` / `Arc<dyn Trait>` of other
//! `#[plugin_trait]` traits, by value; `&str`, `&T` and `&[T]` of carried
//! types, `&dyn Trait` / `&mut dyn Trait` objects and `&dyn Fn(..)` /
//! `&mut dyn FnMut(..)` closures, lent for the call. Receivers are `&self`
//! or `&mut self`; a method may return `&str` borrowed from `&self` (the
//! proxy keeps a host copy of each distinct string).
//!
//! ```
//! use plugin_interface::{PluginData, plugin_trait};
//!
//! #[derive(Debug, Clone, PartialEq, PluginData)]
//! pub enum Stock { InStock(u32), Backorder { days: u32 }, Discontinued }
//!
//! #[derive(Debug, Clone, PartialEq, PluginData)]
//! pub struct Item { pub name: String, pub tags: Vec<String>, pub stock: Stock }
//!
//! #[plugin_trait]
//! pub trait Ledger: Send + Sync {
//!     fn record(&self, line: String);
//! }
//!
//! #[plugin_trait]
//! pub trait Shop: Send + Sync {
//!     fn catalogue(&self) -> Vec<Item>;
//!     fn search(&self, keep: &mut dyn FnMut(Item) -> bool) -> Vec<Item>;
//!     fn order(&self, item: &str, ledger: &dyn Ledger) -> Result<u64, String>;
//! }
//! ```
//!
//! Each by-value type has a `#[repr(C)]` boundary form the sender lowers
//! into and the receiver lifts from, checking UTF-8, `char` scalars,
//! `bool`s, `Option`/`Result` and enum tags ([`CallError::InvalidValue`]
//! otherwise). Strings, vectors and boxes cross as the [`repr`] module's
//! `RString`, `RVec` and `RBox`: a pointer, a length and a capacity in the
//! host's memory. A plugin library's global allocator forwards to the
//! host's, so buffers cross both ways as they are, unless the plugin crate
//! writes `#[plugin_aggregates(..., allocator = own)]` to keep its own; it
//! then copies what it sends into the host's memory and what it receives
//! into its own ([`PluginLibrary::allocator`] says which, as a
//! [`PluginAllocator`]).

//! Every generated function runs the plugin's code inside `catch_unwind`:
//! a panic comes back as [`CallError::Panicked`] from the proxy's `try_`
//! methods, and as a host panic with the same message from its trait
//! methods. A panic in a host object or closure lent to a call resumes in
//! the host as the original panic, without unwinding through plugin frames.
//!
//! A `try_` method returns `Result<T, CallError>`: [`CallError`] holds
//! only what a call can yield (a panic, a call after unload, a method an
//! older plugin lacks, a returned value this side refuses), and `?` turns
//! it into the [`PluginError`] variant of the same name and message.
//!
//! # Calling by name
//!
//! Each implementation also exports a serialised path,
//! `plugin_dispatch_<Trait>_<Type>_v1`: a method index and its arguments
//! as postcard bytes in, the encoded result (or a panic message) out.
//! [`PluginLibrary::invoke`] (feature `host`) calls any method by name
//! with `serde_json` values, checked against the method's layouts before
//! any plugin code runs; [`wire`] says how each carried type is encoded
//! and how JSON maps to it.
//!
//! ```no_run
//! # fn main() -> Result<(), plugin_interface::PluginError> {
//! let library = plugin_interface::PluginLibrary::open("target/debug/libenglish_plugin.so")?;
//! let greeting = library.invoke("Greeter", "greet", &[serde_json::json!("world")])?;
//! assert_eq!(greeting, "Hello, world!");
//! # Ok(())
//! # }
//! ```
//!
//! The same calls can go to a library in its own worker process
//! ([`isolation::WorkerLibrary`], feature `host`), where a crash, an
//! abort, an `exit` or a hang ends the worker and comes back as a
//! [`PluginError`], never ending the host.
//!
//! # Trust
//!
//! Plugins are native code running in the host process, unless a worker
//! serves them. The canary and interface checks catch mistakes (a stale
//! build, a library that is not a plugin, a plugin built against another
//! interface version); they do not make it safe to load code you do not
//! trust, and a worker process limits what a crash takes down, not what
//! the plugin's code may do.

// Lets this crate's own tests use the macros with the paths users get.
#[allow(unused_extern_crates)]
extern crate self as plugin_interface;

pub mod abi;
mod allocator;
mod carry;
mod error;
mod export;
#[cfg(feature = "host")]
mod gate;
mod interface;
pub mod layout;
mod lifecycle;
mod proxy;
mod registrations;
pub mod repr;
mod state;
pub mod wire;

#[cfg(all(feature = "host", unix))]
pub mod isolation;
#[cfg(feature = "host")]
mod loader;
#[cfg(feature = "host")]
mod manager;
#[cfg(feature = "watch")]
pub mod watch;
#[cfg(feature = "watch")]
pub use watch::{
    ManagerNotification, WatchOptions, process_watch_notifications_blocking,
    start_watch_background, watch_and_load_blocking,
};

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

// Re-exported under names that read well in the compile errors that
// mention them (the compiler names a trait by its shortest public path).
#[doc(hidden)]
pub use __private::{
    Aggregate as AggregatedPluginTrait, EachEntryExportedOnce, Export as ExportedPluginImpl,
    StateHooks as StateCarriedAcrossReloads,
};
pub use allocator::PluginAllocator;
pub use carry::{Invalid, Lift, Lower, MAX_DEPTH, ObjectInterface, PluginData, Unit, Wide};
pub use error::{CallError, InterfaceVersions, LayoutDifference, PluginError};
pub use interface::{PluginInterface, VTableFor};
#[doc(hidden)]
pub use lifecycle::Constructor;
pub use lifecycle::PluginContext;
pub use plugin_annotations::{PluginData, plugin_aggregates, plugin_impl, plugin_trait};
pub use proxy::{Call, PluginInfo, RawProxy};
pub use registrations::{LibrarySymbols, unload_registrations};
pub use state::PluginState;
/// A TOML date, time or date-time in a plugin's config: a field of this
/// type in the struct [`PluginContext::config`] deserialises into.
pub use toml::value::Datetime;

/// The `libloading` this crate implements [`UnmakerCounters`] for: a host
/// that opens libraries itself can use it, whatever `libloading` version
/// it depends on.
#[cfg(feature = "host")]
pub use libloading;
#[cfg(feature = "host")]
pub use loader::{
    CanaryInfo, DirectoryScan, EntryInfo, FileReport, FreeThrough, Image, Immutable, Invoker,
    Isolation, LoadOptions, LoadReport, MethodInfo, ParameterInfo, PluginFile, PluginLibrary,
    PluginSpec, TraitInfo, TrustedList, UnloadOutcome, UnloadPolicy, UnloadReport, UnmakerCounters,
    get_unmaker_counter, get_unmaker_counter_for, load_plugins, load_plugins_with, scan_directory,
};
#[cfg(feature = "host")]
pub use manager::{ManagerOptions, PluginHandle, PluginManager, ReloadEvent, ReloadOutcome};
