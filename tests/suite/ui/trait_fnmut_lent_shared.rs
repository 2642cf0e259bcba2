use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Walker {
    fn walk(&self, visit: &dyn FnMut(u32) -> bool);
}

fn main() {}
