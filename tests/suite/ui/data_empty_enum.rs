use plugin_interface::PluginData;

#[derive(PluginData)]
pub enum Never {}

fn main() {}
