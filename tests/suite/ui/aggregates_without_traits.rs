use plugin_interface::plugin_aggregates;

#[plugin_aggregates]
pub struct Library;

fn main() {}
