use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Catalogue: Send + Sync {
    fn info(&self) -> String;
    fn count(&self) -> u32;
}

fn main() {}
