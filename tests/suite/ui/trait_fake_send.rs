use plugin_interface::plugin_trait;

/// A local trait that only looks like the marker.
pub trait Send {}
impl<T: ?Sized> Send for T {}

#[plugin_trait]
pub trait Counter: Send {
    fn count(&self) -> u64;
}

fn main() {}
