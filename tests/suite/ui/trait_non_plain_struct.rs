use std::path::PathBuf;

use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Opener {
    fn open(&self, path: PathBuf) -> bool;
}

fn main() {}
