use plugin_interface::plugin_aggregates;

#[plugin_aggregates(greeter_interface::Greeter, requires())]
pub struct English;

fn main() {}
