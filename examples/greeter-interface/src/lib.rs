//! The `Greeter` plugin interface: what every greeter plugin implements and
//! what the host calls.

use plugin_interface::plugin_trait;

/// Greets people. Implemented by plugin libraries, called by hosts through
/// [`GreeterProxy`].
#[plugin_trait]
pub trait Greeter: Send + Sync {
    /// A short name for the plugin, e.g. `english`.
    fn name(&self) -> String;

    /// A greeting for `target`.
    fn greet(&self, target: &str) -> String;
}

/// A guest book that a host may offer greeters as a service
/// (`PluginManager::provide::<dyn Guestbook>`): a greeter signs in each
/// guest it greets.
#[plugin_trait]
pub trait Guestbook: Send + Sync {
    /// Signs `guest` in; returns how many times they have signed so far.
    fn sign(&self, guest: &str) -> u32;
}
