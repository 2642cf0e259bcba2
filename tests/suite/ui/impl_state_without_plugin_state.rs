use greeter_interface::Greeter;
use plugin_interface::{plugin_aggregates, plugin_impl};

#[plugin_aggregates(Greeter)]
#[derive(Default)]
pub struct English;

#[plugin_impl(Greeter, state)]
impl Greeter for English {
    fn name(&self) -> String {
        "english".into()
    }

    fn greet(&self, target: &str) -> String {
        format!("Hello, {target}!")
    }
}

fn main() {}
