use plugin_interface::plugin_impl;

#[plugin_impl(Greeter)]
pub struct English;

fn main() {}
