use plugin_interface::PluginData;

#[derive(Clone, Copy, PluginData)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

fn main() {}
