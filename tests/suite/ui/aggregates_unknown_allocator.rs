use plugin_interface::plugin_aggregates;

#[plugin_aggregates(Greeter, allocator = system)]
pub struct Library;

fn main() {}
