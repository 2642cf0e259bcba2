use plugin_interface::plugin_trait;

#[allow(non_camel_case_types)]
type u64 = String;

#[plugin_trait]
pub trait Counter {
    fn count(&self) -> u64;
}

fn main() {}
