use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Echo {
    fn echo(&self, text: &'static str) -> String;
}

fn main() {}
