use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Joiner {
    fn join(&self, parts: &[String]) -> String;
}

fn main() {}
