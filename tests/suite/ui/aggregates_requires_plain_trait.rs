use greeter_interface::Greeter;
use plugin_interface::plugin_aggregates;

/// Not a plugin trait.
pub trait Clock {
    fn now(&self) -> u64;
}

#[plugin_aggregates(Greeter, requires(Clock))]
pub struct English;

fn main() {}
