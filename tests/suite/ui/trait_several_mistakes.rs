use plugin_interface::plugin_trait;

#[plugin_trait]
pub trait Broken {
    fn pair(&self) -> (u32, u32);
    fn callback(&self, f: fn(u32) -> u32);
    const LIMIT: u32;
}

fn main() {}
