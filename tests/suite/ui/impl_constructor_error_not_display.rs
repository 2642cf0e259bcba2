use greeter_interface::Greeter;
use plugin_interface::{PluginContext, plugin_aggregates, plugin_impl};

#[plugin_aggregates(Greeter)]
pub struct English;

/// An error without `Display`.
#[derive(Debug)]
pub struct Refused;

impl English {
    fn new(_: &PluginContext<'_>) -> Result<Self, Refused> {
        Err(Refused)
    }
}

#[plugin_impl(Greeter, constructor = English::new)]
impl Greeter for English {
    fn name(&self) -> String {
        "english".into()
    }

    fn greet(&self, target: &str) -> String {
        format!("Hello, {target}!")
    }
}

fn main() {}
