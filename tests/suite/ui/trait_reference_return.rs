use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Holder {
    fn items(&self) -> &[u32];
}

fn main() {}
