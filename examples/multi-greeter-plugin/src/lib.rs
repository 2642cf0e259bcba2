//! Two `Greeter` implementations in one library; one made with a
//! constructor instead of `Default`, which reads its configuration, takes
//! the host's guest book when there is one, and logs.

use std::sync::Arc;

use greeter_interface::{Greeter, Guestbook};
use plugin_interface::{PluginContext, PluginError, plugin_aggregates, plugin_impl};

/// Greets in French.
#[plugin_aggregates(Greeter)]
#[derive(Debug, Default)]
pub struct French;

#[plugin_impl(Greeter)]
impl Greeter for French {
    fn name(&self) -> String {
        "french".into()
    }

    fn greet(&self, target: &str) -> String {
        format!("Bonjour, {target} !")
    }
}

/// What a pirate's `config` table may set.
#[derive(Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct PirateConfig {
    /// How the pirate starts a greeting.
    exclamation: String,
    /// How the pirate ends it.
    cry: String,
}

impl Default for PirateConfig {
    fn default() -> Self {
        Self {
            exclamation: "Ahoy".into(),
            cry: "Arr!".into(),
        }
    }
}

/// Greets like a pirate, as configured, and signs each guest into the
/// host's guest book when the host offers one.
pub struct Pirate {
    config: PirateConfig,
    guestbook: Option<Arc<dyn Guestbook>>,
}

impl Pirate {
    /// A pirate configured by its manifest entry (`exclamation`, `cry`);
    /// without one, a pirate who says "Ahoy" and "Arr!".
    pub fn new(cx: &PluginContext<'_>) -> Result<Self, PluginError> {
        let config: PirateConfig = cx.config()?;
        // The guest book is optional: a host that offers none still gets
        // its greeting.
        let guestbook = cx.service::<dyn Guestbook>().ok();
        log::info!("{} is aboard, crying {:?}", cx.entry(), config.cry);
        Ok(Self { config, guestbook })
    }
}

impl std::fmt::Debug for Pirate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pirate")
            .field("config", &self.config)
            .field("guestbook", &self.guestbook.is_some())
            .finish()
    }
}

#[plugin_impl(Greeter, constructor = Pirate::new)]
impl Greeter for Pirate {
    fn name(&self) -> String {
        "pirate".into()
    }

    fn greet(&self, target: &str) -> String {
        let PirateConfig { exclamation, cry } = &self.config;
        match &self.guestbook {
            Some(book) => {
                let visits = book.sign(target);
                log::debug!("{target} signed the guest book ({visits})");
                format!("{exclamation}, {target}! {cry} Visit number {visits}.")
            }
            None => format!("{exclamation}, {target}! {cry}"),
        }
    }
}

impl Drop for Pirate {
    fn drop(&mut self) {
        log::info!("the pirate goes ashore");
    }
}
