use plugin_interface::plugin_aggregates;

#[plugin_aggregates(greeter_interface::Greeter, requires(greeter_interface::Greeter, greeter_interface::Greeter))]
pub struct English;

fn main() {}
