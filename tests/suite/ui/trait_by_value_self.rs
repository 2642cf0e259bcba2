use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Consumer {
    fn consume(self) -> u32;
}

fn main() {}
