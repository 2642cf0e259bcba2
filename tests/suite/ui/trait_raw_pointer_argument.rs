use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Buffer {
    fn fill(&self, bytes: *const u8, len: usize);
}

fn main() {}
