use plugin_interface::plugin_impl;

pub struct English;

#[plugin_impl(Greeter)]
impl English {
    pub fn name(&self) -> String {
        "english".into()
    }
}

fn main() {}
