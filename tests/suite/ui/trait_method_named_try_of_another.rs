use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Parser: Send + Sync {
    fn parse(&self, text: &str) -> u32;
    fn try_parse(&self, text: &str) -> Option<u32>;
}

fn main() {}
