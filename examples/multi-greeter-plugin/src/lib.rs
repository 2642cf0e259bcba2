//! Two `Greeter` implementations in one library; one made with a
//! constructor instead of `Default`.

use greeter_interface::Greeter;
use plugin_interface::{plugin_aggregates, plugin_impl};

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

/// Greets like a pirate, with a configurable exclamation.
#[derive(Debug)]
pub struct Pirate {
    exclamation: &'static str,
}

impl Pirate {
    /// A pirate who says "Ahoy".
    pub fn ahoy() -> Self {
        Self {
            exclamation: "Ahoy",
        }
    }
}

#[plugin_impl(Greeter, constructor = Pirate::ahoy)]
impl Greeter for Pirate {
    fn name(&self) -> String {
        "pirate".into()
    }

    fn greet(&self, target: &str) -> String {
        format!("{}, {target}! Arr!", self.exclamation)
    }
}
