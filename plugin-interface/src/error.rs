//! The framework's errors: [`PluginError`] for everything between a host
//! and a plugin library, [`CallError`] for what one proxy call can yield.

use std::path::{Path, PathBuf};

/// Everything that can go wrong between a host and a plugin library.
///
/// Every variant names the library, and its message is one line a user can
/// act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// The file or directory could not be read.
    #[error("{}: {source}", library.display())]
    Io {
        /// The path that could not be read.
        library: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// The dynamic loader refused the file.
    #[error("{}: not a loadable library: {message}", library.display())]
    Open {
        /// The file.
        library: PathBuf,
        /// What the dynamic loader said.
        message: String,
    },

    /// The library has no canary: it was not built with this framework.
    #[error(
        "{}: not a plugin: no `{symbol}` symbol (plugin libraries are built with `#[plugin_aggregates]`)",
        library.display()
    )]
    NotAPlugin {
        /// The library.
        library: PathBuf,
        /// The canary symbol that was looked up.
        symbol: String,
    },

    /// The canary does not start with the framework's magic bytes.
    #[error(
        "{}: canary magic is {found:?}, expected {expected:?}",
        library.display()
    )]
    BadMagic {
        /// The library.
        library: PathBuf,
        /// The magic the host expects.
        expected: String,
        /// The bytes found, escaped.
        found: String,
    },

    /// The canary's layout version is not the host's.
    #[error(
        "{}: canary version {found}, this host reads version {expected} (plugin built with another release of plugin-interface)",
        library.display()
    )]
    CanaryVersion {
        /// The library.
        library: PathBuf,
        /// The host's canary version.
        expected: u32,
        /// The plugin's canary version.
        found: u32,
    },

    /// The plugin was built with another framework ABI epoch.
    #[error(
        "{}: framework ABI epoch {found}, expected {expected} (plugin built with plugin-interface {plugin_framework}, host has {host_framework})",
        library.display()
    )]
    AbiEpoch {
        /// The library.
        library: PathBuf,
        /// The host's epoch.
        expected: u32,
        /// The plugin's epoch.
        found: u32,
        /// `plugin-interface` version of the plugin.
        plugin_framework: String,
        /// `plugin-interface` version of the host.
        host_framework: String,
    },

    /// The library does not implement the trait asked for.
    #[error(
        "{}: does not export trait `{trait_name}` (it exports: {})",
        library.display(),
        list(available)
    )]
    TraitNotExported {
        /// The library.
        library: PathBuf,
        /// The trait asked for.
        trait_name: String,
        /// The traits its canary lists.
        available: Vec<String>,
    },

    /// The plugin was built against an incompatible version of the trait's
    /// interface crate.
    #[error("{}: {trait_name}: {reason} ({versions})", library.display())]
    InterfaceMismatch {
        /// The library.
        library: PathBuf,
        /// The trait.
        trait_name: String,
        /// What differs.
        reason: String,
        /// The interface crates and versions on both sides.
        versions: Box<InterfaceVersions>,
    },

    /// A vtable slot's layout differs between the plugin and the host.
    #[error(
        "{}: {}: expected {}, found {} ({})",
        library.display(),
        difference.place,
        difference.expected,
        difference.found,
        difference.versions
    )]
    LayoutMismatch {
        /// The library.
        library: PathBuf,
        /// The trait.
        trait_name: String,
        /// Where the layouts differ, and both full layouts.
        difference: Box<LayoutDifference>,
    },

    /// The plugin was built against an older interface that lacks the
    /// method called, and the trait has no default body for it
    /// ([`CallError::MethodMissing`]).
    #[error(
        "{}: {trait_name}::{method} is not in the plugin: it was built against {interface}, which lacks it",
        library.display()
    )]
    MethodMissing {
        /// The library.
        library: PathBuf,
        /// The trait.
        trait_name: String,
        /// The method called.
        method: String,
        /// Interface crate and version the plugin was built against.
        interface: String,
    },

    /// The plugin was built with `panic = "abort"`: a panic in it would end
    /// the host process, so it is refused unless the host allows it.
    #[error(
        "{}: built with panic = \"{strategy}\"; a panic in it would abort the host (allow it with `LoadOptions::allow_panic_abort`)",
        library.display()
    )]
    PanicStrategy {
        /// The library.
        library: PathBuf,
        /// The plugin's panic strategy, as its canary says.
        strategy: String,
    },

    /// The plugin was built for another target.
    #[error(
        "{}: built for target {found}, this host is {expected}",
        library.display()
    )]
    TargetMismatch {
        /// The library.
        library: PathBuf,
        /// The host's target.
        expected: String,
        /// The plugin's target.
        found: String,
    },

    /// The file is not a shared library this host can load.
    #[error("{}: {reason}", library.display())]
    NotALibrary {
        /// The file.
        library: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The canary's contents cannot be read as a canary: a pointer, length
    /// or count that leads outside the file, text that is not UTF-8, a
    /// layout graph too deep or too large.
    #[error("{}: corrupt canary: {reason}", library.display())]
    CorruptCanary {
        /// The library.
        library: PathBuf,
        /// What is wrong, with at most a short escaped excerpt.
        reason: String,
    },

    /// The trust policy refuses the file: its permissions, owner or
    /// directory, or a digest missing from the trusted list.
    #[error("{}: refused: {reason}", library.display())]
    Untrusted {
        /// The library.
        library: PathBuf,
        /// Which rule, and what was found.
        reason: String,
    },

    /// A trusted list that is not in `sha256sum` format.
    #[error("{}: not a trusted list in sha256sum format: {reason}", library.display())]
    TrustedList {
        /// The list's file.
        library: PathBuf,
        /// The line, and what is wrong with it.
        reason: String,
    },

    /// A symbol the canary promises is missing.
    #[error("{}: missing symbol `{symbol}`: {message}", library.display())]
    SymbolMissing {
        /// The library.
        library: PathBuf,
        /// The symbol.
        symbol: String,
        /// What the dynamic loader said.
        message: String,
    },

    /// A plugin spec or `load_plugins` call named an entry the library does
    /// not have.
    #[error(
        "{}: no `{trait_name}` entry named `{entry}` (available: {})",
        library.display(),
        list(available)
    )]
    EntryNotFound {
        /// The library.
        library: PathBuf,
        /// The trait.
        trait_name: String,
        /// The entry asked for.
        entry: String,
        /// The entries the library has for the trait.
        available: Vec<String>,
    },

    /// A plugin method panicked; the panic was caught in the plugin
    /// ([`CallError::Panicked`]).
    #[error(
        "{}: {trait_name}::{method} panicked: {message}",
        library.display()
    )]
    Panicked {
        /// The library.
        library: PathBuf,
        /// The trait.
        trait_name: String,
        /// The method.
        method: String,
        /// The panic message.
        message: String,
    },

    /// Making the plugin instances panicked (a constructor or `Default`).
    #[error(
        "{}: making `{trait_name}` instances failed: {message}",
        library.display()
    )]
    MakeFailed {
        /// The library.
        library: PathBuf,
        /// The trait.
        trait_name: String,
        /// Which constructor panicked and its message.
        message: String,
    },

    /// A plugin's constructor returned an error: the plugin is refused.
    #[error(
        "{}: {trait_name} `{entry}` refused to start: {message}",
        library.display()
    )]
    ConstructorRefused {
        /// The library.
        library: PathBuf,
        /// The trait.
        trait_name: String,
        /// The implementation.
        entry: String,
        /// The constructor's error, as it displays.
        message: String,
    },

    /// A plugin's configuration does not deserialise into the type its
    /// constructor asked for.
    #[error("{}: config of `{entry}`: {message}", library.display())]
    Config {
        /// The library.
        library: PathBuf,
        /// The implementation whose constructor read it.
        entry: String,
        /// serde's message, e.g. "missing field `greeting`".
        message: String,
    },

    /// A service a plugin asked for cannot be given to it.
    #[error("{}: service `{trait_name}`: {message}", library.display())]
    Service {
        /// The library that asked.
        library: PathBuf,
        /// The service's trait.
        trait_name: String,
        /// Why not.
        message: String,
    },

    /// A library requires a service (`requires(Trait)`) that neither the
    /// host nor a plugin loaded before it provides.
    #[error(
        "{}: requires the service `{trait_name}`, which nothing provides (provide it with `PluginManager::provide::<dyn {trait_name}>` or load a plugin implementing it)",
        library.display()
    )]
    MissingService {
        /// The library.
        library: PathBuf,
        /// The trait it requires.
        trait_name: String,
    },

    /// Libraries require each other's services in a cycle.
    #[error(
        "{}: its required services form a cycle: {}",
        library.display(),
        cycle.join(" -> ")
    )]
    DependencyCycle {
        /// A library on the cycle.
        library: PathBuf,
        /// The cycle, as `library (Trait)` steps back to the first.
        cycle: Vec<String>,
    },

    /// A library provides services that live plugins use: unload those
    /// first, or ask for a cascade.
    #[error(
        "{}: in use: {} use(s) its services; unload them first or unload with a cascade",
        library.display(),
        list(&dependents.iter().map(|path| path.display().to_string()).collect::<Vec<_>>())
    )]
    InUseByDependents {
        /// The library.
        library: PathBuf,
        /// The libraries whose plugins use its services.
        dependents: Vec<PathBuf>,
    },

    /// A manifest could not be read or is malformed.
    #[error("{}:{line}: {message}", library.display())]
    Manifest {
        /// The manifest file.
        library: PathBuf,
        /// The line (1-based) the problem is on; 0 for the whole file.
        line: usize,
        /// What is wrong.
        message: String,
    },

    /// A plugin listed in a manifest could not be loaded.
    #[error("{}:{line}: {source}", manifest.display())]
    ManifestEntry {
        /// The manifest file.
        manifest: PathBuf,
        /// The line of the plugin's `[[plugin]]` entry.
        line: usize,
        /// Why, naming the library.
        #[source]
        source: Box<PluginError>,
    },

    /// A registration returned by the plugin is malformed.
    #[error(
        "{}: malformed registration from `{symbol}`: {reason}",
        library.display()
    )]
    BadRegistration {
        /// The library.
        library: PathBuf,
        /// The function that returned it.
        symbol: String,
        /// What is wrong with it.
        reason: String,
    },

    /// `close` was called while proxies of the library are still alive.
    #[error(
        "{}: still in use by {holders} plugin instance group(s); drop the proxies before closing",
        library.display()
    )]
    InUse {
        /// The library.
        library: PathBuf,
        /// How many groups of proxies still hold it.
        holders: usize,
    },

    /// The dynamic loader failed to close the library.
    #[error("{}: closing failed: {message}", library.display())]
    Close {
        /// The library.
        library: PathBuf,
        /// What the dynamic loader said.
        message: String,
    },

    /// A `lib:path?entry=name` spec could not be parsed.
    #[error("{}: invalid plugin spec: {reason}", library.display())]
    InvalidSpec {
        /// The spec as given.
        library: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A call through a proxy whose library was unloaded
    /// ([`CallError::Unloaded`]).
    #[error(
        "{}: {trait_name}::{method} on `{entry}`: the plugin was unloaded",
        library.display()
    )]
    Unloaded {
        /// The library the instance lived in.
        library: PathBuf,
        /// The trait called.
        trait_name: String,
        /// The implementation the proxy was made for.
        entry: String,
        /// The method called.
        method: String,
    },

    /// A method returned a value this side refuses to build: not UTF-8,
    /// not a `char`, an enum tag naming no variant, nested too deep
    /// ([`CallError::InvalidValue`]).
    #[error(
        "{}: {trait_name}::{method} returned an invalid value: {what}",
        library.display()
    )]
    InvalidValue {
        /// The library the instance lives in.
        library: PathBuf,
        /// The trait called.
        trait_name: String,
        /// The method called.
        method: String,
        /// What was wrong with the value.
        what: String,
    },

    /// `invoke` named a method the trait does not have.
    #[error(
        "{}: {trait_name} has no method `{method}` (it has: {})",
        library.display(),
        list(available)
    )]
    MethodNotFound {
        /// The library.
        library: PathBuf,
        /// The trait.
        trait_name: String,
        /// The method asked for.
        method: String,
        /// The trait's methods, in declaration order.
        available: Vec<String>,
    },

    /// `invoke` got more or fewer arguments than the method takes.
    #[error(
        "{}: {method} takes {expected} argument(s) ({}), {found} given",
        library.display(),
        list(parameters)
    )]
    WrongArity {
        /// The library.
        library: PathBuf,
        /// The method, as `Trait::method`.
        method: String,
        /// How many it takes.
        expected: usize,
        /// How many were given.
        found: usize,
        /// The parameters' names.
        parameters: Vec<String>,
    },

    /// An `invoke` argument is not a value of its parameter's type.
    #[error("{}: {method}: argument `{parameter}`: {reason}", library.display())]
    InvalidArgument {
        /// The library.
        library: PathBuf,
        /// The method, as `Trait::method`.
        method: String,
        /// The parameter's name.
        parameter: String,
        /// Its type as it crosses, where in the value and what was expected.
        reason: String,
    },

    /// The method takes or returns what the serialised path does not carry
    /// (a lent object or closure, a `Box<dyn Trait>`): it is called in
    /// process only.
    #[error(
        "{}: {method} cannot be called by name: {parameter}: {reason}",
        library.display()
    )]
    NotSerialisable {
        /// The library.
        library: PathBuf,
        /// The method, as `Trait::method`.
        method: String,
        /// The parameter (``argument `x` ``) or `the return value`.
        parameter: String,
        /// Why.
        reason: String,
    },

    /// The library's dispatch entry refused a call the host had checked:
    /// its arguments did not decode there, or its result did not encode.
    #[error("{}: {method}: the serialised call failed: {reason}", library.display())]
    DispatchFailed {
        /// The library.
        library: PathBuf,
        /// The method, as `Trait::method`.
        method: String,
        /// What the library reported.
        reason: String,
    },

    /// The worker process serving the library (process isolation) died:
    /// killed by a signal, or exited, while serving `method` or between
    /// calls.
    #[error(
        "{}: the worker process {how}{}",
        library.display(),
        method.as_ref().map_or(String::new(), |method| format!(" during {method}"))
    )]
    Crashed {
        /// The library.
        library: PathBuf,
        /// What happened, e.g. `was killed by SIGSEGV` or `exited with
        /// code 3`.
        how: String,
        /// The method in progress, as `Trait::method`, if any.
        method: Option<String>,
    },

    /// A call to a library in a worker process did not return within the
    /// call timeout; the worker was killed.
    #[error(
        "{}: {method} did not return within {after:?}; its worker process was killed",
        library.display()
    )]
    TimedOut {
        /// The library.
        library: PathBuf,
        /// The method, as `Trait::method`.
        method: String,
        /// The timeout.
        after: std::time::Duration,
    },

    /// The worker process for a library could not be started, or did not
    /// speak the framework's protocol.
    #[error("{}: worker process: {reason}", library.display())]
    Worker {
        /// The library.
        library: PathBuf,
        /// Why.
        reason: String,
    },

    /// Calls into the library did not finish within the drain timeout; the
    /// library was not unloaded and keeps serving.
    #[error(
        "{}: calls still in flight after waiting {waited:?}; the plugin stays loaded",
        library.display()
    )]
    Busy {
        /// The library.
        library: PathBuf,
        /// How long the unload waited.
        waited: std::time::Duration,
    },

    /// The manager already has a library loaded from this path.
    #[error("{}: already loaded; reload it instead", library.display())]
    AlreadyLoaded {
        /// The path.
        library: PathBuf,
    },

    /// The manager has no library loaded from this path.
    #[error("{}: not loaded by this manager", library.display())]
    NotLoaded {
        /// The path.
        library: PathBuf,
    },

    /// Reload refused: state could not cross from the old version to the new.
    #[error(
        "{}: {trait_name} `{entry}`: state not carried over: {message}",
        library.display()
    )]
    StateRefused {
        /// The library being reloaded.
        library: PathBuf,
        /// The trait of the instance.
        trait_name: String,
        /// The implementation.
        entry: String,
        /// Why: the new version's refusal, a panic, or a missing hook.
        message: String,
    },
}

/// What a call through a proxy can yield instead of its value: the error
/// of every `try_` method, which the trait's own methods raise as a panic
/// with the same message.
///
/// Each variant has its namesake in [`PluginError`], with the same fields
/// and message, and `?` converts one into the other.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The method panicked; the panic was caught in the plugin.
    #[error(
        "{}: {trait_name}::{method} panicked: {message}",
        library.display()
    )]
    Panicked {
        /// The library.
        library: PathBuf,
        /// The trait.
        trait_name: String,
        /// The method.
        method: String,
        /// The panic message.
        message: String,
    },

    /// The proxy's library was unloaded by a `PluginManager`.
    #[error(
        "{}: {trait_name}::{method} on `{entry}`: the plugin was unloaded",
        library.display()
    )]
    Unloaded {
        /// The library the instance lived in.
        library: PathBuf,
        /// The trait called.
        trait_name: String,
        /// The implementation the proxy was made for.
        entry: String,
        /// The method called.
        method: String,
    },

    /// The plugin was built against an older interface that lacks the
    /// method, and the trait has no default body for it.
    #[error(
        "{}: {trait_name}::{method} is not in the plugin: it was built against {interface}, which lacks it",
        library.display()
    )]
    MethodMissing {
        /// The library.
        library: PathBuf,
        /// The trait.
        trait_name: String,
        /// The method called.
        method: String,
        /// Interface crate and version the plugin was built against.
        interface: String,
    },

    /// The method returned a value this side refuses to build: not UTF-8,
    /// not a `char`, an enum tag naming no variant, nested too deep.
    #[error(
        "{}: {trait_name}::{method} returned an invalid value: {what}",
        library.display()
    )]
    InvalidValue {
        /// The library the instance lives in.
        library: PathBuf,
        /// The trait called.
        trait_name: String,
        /// The method called.
        method: String,
        /// What was wrong with the value.
        what: String,
    },

    /// The worker process serving the instance (process isolation) died
    /// during the call: killed by a signal, or exited.
    #[error(
        "{}: the worker process {how} during {trait_name}::{method}",
        library.display()
    )]
    Crashed {
        /// The library.
        library: PathBuf,
        /// The trait called.
        trait_name: String,
        /// The method called.
        method: String,
        /// What happened, e.g. `was killed by SIGSEGV`.
        how: String,
    },

    /// The call to an instance in a worker process did not return within
    /// the call timeout; the worker was killed.
    #[error(
        "{}: {trait_name}::{method} did not return within {after:?}; its worker process was killed",
        library.display()
    )]
    TimedOut {
        /// The library.
        library: PathBuf,
        /// The trait called.
        trait_name: String,
        /// The method called.
        method: String,
        /// The timeout.
        after: std::time::Duration,
    },
}

impl CallError {
    /// The library the called instance lives (or lived) in.
    pub fn library(&self) -> &Path {
        match self {
            Self::Panicked { library, .. }
            | Self::Unloaded { library, .. }
            | Self::MethodMissing { library, .. }
            | Self::InvalidValue { library, .. }
            | Self::Crashed { library, .. }
            | Self::TimedOut { library, .. } => library,
        }
    }

    /// The trait called.
    pub fn trait_name(&self) -> &str {
        match self {
            Self::Panicked { trait_name, .. }
            | Self::Unloaded { trait_name, .. }
            | Self::MethodMissing { trait_name, .. }
            | Self::InvalidValue { trait_name, .. }
            | Self::Crashed { trait_name, .. }
            | Self::TimedOut { trait_name, .. } => trait_name,
        }
    }

    /// The method called.
    pub fn method(&self) -> &str {
        match self {
            Self::Panicked { method, .. }
            | Self::Unloaded { method, .. }
            | Self::MethodMissing { method, .. }
            | Self::InvalidValue { method, .. }
            | Self::Crashed { method, .. }
            | Self::TimedOut { method, .. } => method,
        }
    }
}

impl From<CallError> for PluginError {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Panicked {
                library,
                trait_name,
                method,
                message,
            } => Self::Panicked {
                library,
                trait_name,
                method,
                message,
            },
            CallError::Unloaded {
                library,
                trait_name,
                entry,
                method,
            } => Self::Unloaded {
                library,
                trait_name,
                entry,
                method,
            },
            CallError::MethodMissing {
                library,
                trait_name,
                method,
                interface,
            } => Self::MethodMissing {
                library,
                trait_name,
                method,
                interface,
            },
            CallError::InvalidValue {
                library,
                trait_name,
                method,
                what,
            } => Self::InvalidValue {
                library,
                trait_name,
                method,
                what,
            },
            CallError::Crashed {
                library,
                trait_name,
                method,
                how,
            } => Self::Crashed {
                library,
                how,
                method: Some(format!("{trait_name}::{method}")),
            },
            CallError::TimedOut {
                library,
                trait_name,
                method,
                after,
            } => Self::TimedOut {
                library,
                method: format!("{trait_name}::{method}"),
                after,
            },
        }
    }
}

/// The interface crate and version a plugin was built against, and the
/// host's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceVersions {
    /// Interface crate of the host.
    pub host_crate: String,
    /// Interface version of the host.
    pub host_version: String,
    /// Interface crate the plugin was built against.
    pub plugin_crate: String,
    /// Interface version the plugin was built against.
    pub plugin_version: String,
}

/// Where a plugin's vtable layout differs from the host's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutDifference {
    /// The place, e.g. `Greeter::greet argument 1` or
    /// `Shapes::area argument 1 (Point) field `y``.
    pub place: String,
    /// What the host has there.
    pub expected: String,
    /// What the plugin has there.
    pub found: String,
    /// The interface crates and versions on both sides.
    pub versions: InterfaceVersions,
    /// Both layouts of the trait in full.
    pub detail: String,
}

impl std::fmt::Display for InterfaceVersions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "plugin built against {} {}, host has {} {}",
            self.plugin_crate, self.plugin_version, self.host_crate, self.host_version
        )
    }
}

impl PluginError {
    /// The full report behind the one-line message, where there is one: for
    /// [`PluginError::LayoutMismatch`], both layouts of the trait, method by
    /// method.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::LayoutMismatch { difference, .. } => Some(&difference.detail),
            _ => None,
        }
    }

    /// The library (or path) the error is about.
    pub fn library(&self) -> &Path {
        match self {
            Self::Io { library, .. }
            | Self::Open { library, .. }
            | Self::NotAPlugin { library, .. }
            | Self::BadMagic { library, .. }
            | Self::CanaryVersion { library, .. }
            | Self::AbiEpoch { library, .. }
            | Self::TraitNotExported { library, .. }
            | Self::InterfaceMismatch { library, .. }
            | Self::LayoutMismatch { library, .. }
            | Self::MethodMissing { library, .. }
            | Self::PanicStrategy { library, .. }
            | Self::TargetMismatch { library, .. }
            | Self::NotALibrary { library, .. }
            | Self::CorruptCanary { library, .. }
            | Self::Untrusted { library, .. }
            | Self::TrustedList { library, .. }
            | Self::SymbolMissing { library, .. }
            | Self::EntryNotFound { library, .. }
            | Self::Panicked { library, .. }
            | Self::MakeFailed { library, .. }
            | Self::ConstructorRefused { library, .. }
            | Self::Config { library, .. }
            | Self::Service { library, .. }
            | Self::MissingService { library, .. }
            | Self::DependencyCycle { library, .. }
            | Self::InUseByDependents { library, .. }
            | Self::Manifest { library, .. }
            | Self::BadRegistration { library, .. }
            | Self::InUse { library, .. }
            | Self::Close { library, .. }
            | Self::InvalidSpec { library, .. }
            | Self::Unloaded { library, .. }
            | Self::InvalidValue { library, .. }
            | Self::Busy { library, .. }
            | Self::MethodNotFound { library, .. }
            | Self::WrongArity { library, .. }
            | Self::InvalidArgument { library, .. }
            | Self::NotSerialisable { library, .. }
            | Self::DispatchFailed { library, .. }
            | Self::Crashed { library, .. }
            | Self::TimedOut { library, .. }
            | Self::Worker { library, .. }
            | Self::AlreadyLoaded { library }
            | Self::NotLoaded { library }
            | Self::StateRefused { library, .. } => library,
            Self::ManifestEntry { source, .. } => source.library(),
        }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_stay_small_enough_to_return_by_value() {
        assert!(std::mem::size_of::<PluginError>() <= 112);
        assert!(std::mem::size_of::<CallError>() <= std::mem::size_of::<PluginError>());
    }

    #[test]
    fn a_call_error_converts_into_its_namesake_with_the_same_message() {
        let errors = [
            CallError::Panicked {
                library: "plugins/liba.so".into(),
                trait_name: "Greeter".into(),
                method: "greet".into(),
                message: "boom".into(),
            },
            CallError::Unloaded {
                library: "plugins/libb.so".into(),
                trait_name: "Greeter".into(),
                entry: "English".into(),
                method: "greet".into(),
            },
            CallError::MethodMissing {
                library: "plugins/libc.so".into(),
                trait_name: "Greeter".into(),
                method: "greet".into(),
                interface: "greeter-interface 1.0.0".into(),
            },
            CallError::InvalidValue {
                library: "plugins/libd.so".into(),
                trait_name: "Greeter".into(),
                method: "greet".into(),
                what: "not UTF-8".into(),
            },
        ];
        for error in errors {
            let (text, library) = (error.to_string(), error.library().to_path_buf());
            assert_eq!((error.trait_name(), error.method()), ("Greeter", "greet"));
            let converted = PluginError::from(error);
            assert_eq!(converted.to_string(), text);
            assert_eq!(converted.library(), library);
        }
        let converted = PluginError::from(CallError::Unloaded {
            library: "plugins/libb.so".into(),
            trait_name: "Greeter".into(),
            entry: "English".into(),
            method: "greet".into(),
        });
        assert!(matches!(converted, PluginError::Unloaded { entry, .. } if entry == "English"));
        assert_eq!(
            PluginError::from(CallError::Panicked {
                library: "plugins/liba.so".into(),
                trait_name: "Greeter".into(),
                method: "greet".into(),
                message: "boom".into(),
            })
            .to_string(),
            "plugins/liba.so: Greeter::greet panicked: boom"
        );
    }

    #[test]
    fn messages_are_one_line_and_name_the_library() {
        let errors = [
            PluginError::NotAPlugin {
                library: "plugins/libm.so".into(),
                symbol: "plugin_canary_v1".into(),
            },
            PluginError::EntryNotFound {
                library: "plugins/libx.so".into(),
                trait_name: "Greeter".into(),
                entry: "German".into(),
                available: vec!["English".into(), "French".into()],
            },
            PluginError::TraitNotExported {
                library: "plugins/liby.so".into(),
                trait_name: "Greeter".into(),
                available: vec![],
            },
        ];
        for error in &errors {
            let text = error.to_string();
            assert!(!text.contains('\n'), "{text}");
            assert!(
                text.starts_with(&error.library().display().to_string()),
                "{text}"
            );
        }
        assert_eq!(
            errors[1].to_string(),
            "plugins/libx.so: no `Greeter` entry named `German` (available: English, French)"
        );
        assert!(errors[2].to_string().ends_with("(it exports: none)"));
    }
}
