use calculator_interface::Calculator;
use greeter_interface::Greeter;
use plugin_interface::{plugin_aggregates, plugin_impl};

#[plugin_aggregates(Calculator)]
#[derive(Default)]
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

fn main() {}
