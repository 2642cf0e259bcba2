use plugin_interface::plugin_aggregates;

#[plugin_aggregates(Greeter, alocator = host)]
pub struct Library;

fn main() {}
