use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Store {
    fn put<T: ToString>(&self, value: T);
}

fn main() {}
