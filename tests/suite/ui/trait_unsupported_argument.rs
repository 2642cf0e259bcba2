use std::collections::HashMap;

use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Store {
    fn put(&self, values: HashMap<String, u32>);
}

fn main() {}
