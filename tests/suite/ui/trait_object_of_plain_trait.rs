use plugin_interface::plugin_trait;

pub trait Listener {
    fn hear(&self, line: &str);
}

#[plugin_trait]
pub trait Radio {
    fn tune(&self, listener: &dyn Listener);
}

fn main() {}
