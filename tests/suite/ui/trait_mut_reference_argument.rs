use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Filler {
    fn fill(&self, buffer: &mut Vec<u8>);
}

fn main() {}
