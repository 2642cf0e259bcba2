use std::rc::Rc;

use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Store {
    fn put(&self, value: Rc<String>);
}

fn main() {}
