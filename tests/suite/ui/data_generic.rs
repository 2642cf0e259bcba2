use plugin_interface::PluginData;

#[derive(PluginData)]
pub struct Wrapper<T> {
    pub value: T,
}

fn main() {}
