use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Counter {
    fn counts(&self) -> impl Iterator<Item = u32>;
}

fn main() {}
