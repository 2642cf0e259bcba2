use std::path::PathBuf;

use plugin_interface::PluginData;

#[derive(PluginData)]
pub struct Document {
    pub title: String,
    pub path: PathBuf,
}

fn main() {}
