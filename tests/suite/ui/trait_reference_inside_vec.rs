use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Joiner {
    fn join(&self, parts: Vec<&str>) -> String;
}

fn main() {}
