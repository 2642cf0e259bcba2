//! The benchmark trait, declared with the framework's `#[plugin_trait]`:
//! the same three methods every approach implements.

use plugin_interface::plugin_trait;

/// The benchmark trait.
#[plugin_trait]
pub trait Bench: Send + Sync {
    /// `a + b`.
    fn add(&self, a: u64, b: u64) -> u64;
    /// `format!("Hello, {name}!")`.
    fn greet(&self, name: &str) -> String;
    /// The sum of `xs` (64 elements in the benchmark).
    fn sum(&self, xs: &[u64]) -> u64;
}
