use plugin_interface::plugin_aggregates;

#[plugin_aggregates(Greeter, Greeter)]
pub struct Library;

fn main() {}
