use plugin_interface::PluginData;

#[derive(PluginData)]
pub struct Named {
    pub id: u32,
    pub name: &'static str,
}

fn main() {}
