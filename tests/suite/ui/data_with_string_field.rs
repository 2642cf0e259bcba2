use plugin_interface::PluginData;

#[repr(C)]
#[derive(Clone, Copy, PluginData)]
pub struct Named {
    pub id: u32,
    pub name: &'static str,
}

fn main() {}
