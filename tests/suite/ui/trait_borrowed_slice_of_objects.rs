use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Listener {
    fn hear(&self, line: &str);
}

#[plugin_trait]
pub trait Radio {
    fn broadcast(&self, listeners: &[Box<dyn Listener>]);
}

fn main() {}
