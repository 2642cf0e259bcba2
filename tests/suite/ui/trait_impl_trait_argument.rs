use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Sink {
    fn write(&self, value: impl ToString);
}

fn main() {}
