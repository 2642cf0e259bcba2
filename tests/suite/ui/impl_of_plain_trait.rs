use plugin_interface::plugin_impl;

pub trait Plain {
    fn value(&self) -> u32;
}

#[derive(Default)]
pub struct Thing;

#[plugin_impl(Plain)]
impl Plain for Thing {
    fn value(&self) -> u32 {
        1
    }
}

fn main() {}
