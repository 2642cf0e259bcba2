use plugin_interface::PluginData;

#[derive(PluginData)]
pub union Bits {
    pub int: u32,
    pub float: f32,
}

fn main() {}
