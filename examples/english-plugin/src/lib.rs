//! A plugin library with one `Greeter`.

use greeter_interface::Greeter;
use plugin_interface::{plugin_aggregates, plugin_impl};

/// Greets in English.
#[plugin_aggregates(Greeter)]
#[derive(Debug, Default)]
pub struct English;

#[plugin_impl(Greeter)]
impl Greeter for English {
    fn name(&self) -> String {
        "english".into()
    }

    fn greet(&self, target: &str) -> String {
        format!("Hello, {target}!")
    }
}
