use plugin_interface::{plugin_aggregates, plugin_impl};

pub trait Plain {
    fn value(&self) -> u32;
}

#[plugin_aggregates(Plain)]
#[derive(Default)]
pub struct Thing;

#[plugin_impl(Plain)]
impl Plain for Thing {
    fn value(&self) -> u32 {
        1
    }
}

fn main() {}
