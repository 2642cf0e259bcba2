//! The `Calculator` plugin interface: evaluates expressions and summarises
//! numbers.

use plugin_interface::{PluginData, plugin_trait};

/// Summary statistics of a list of numbers, passed by value.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, PluginData)]
pub struct Stats {
    /// How many numbers.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
}

/// A calculator plugin.
#[plugin_trait]
pub trait Calculator: Send + Sync {
    /// The plugin's name.
    fn name(&self) -> String;

    /// Evaluates an arithmetic expression such as `1 + 2 * (3 - 4)`, or
    /// says why it cannot.
    fn evaluate(&self, expression: &str) -> Result<f64, String>;

    /// Statistics of `values`; `None` when it is empty.
    fn stats(&self, values: &[f64]) -> Option<Stats>;

    /// The tokens of `expression`, e.g. `["1", "+", "2"]`.
    fn tokens(&self, expression: &str) -> Vec<String>;

    /// Stores `value` in the calculator's memory, returning the previous one.
    fn store(&mut self, value: Option<f64>) -> Option<f64>;
}
