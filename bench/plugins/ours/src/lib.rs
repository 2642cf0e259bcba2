//! The benchmark trait as a framework plugin; built twice, with its own
//! allocator (`bench-ours-plugin`) and with the host's
//! (`bench-ours-shared-plugin`, feature `host-allocator`).

use bench_ours_interface::Bench;
use plugin_interface::{plugin_aggregates, plugin_impl};

/// The benchmark implementation.
#[cfg_attr(feature = "host-allocator", plugin_aggregates(Bench, allocator = host))]
#[cfg_attr(not(feature = "host-allocator"), plugin_aggregates(Bench, allocator = own))]
#[derive(Debug, Default)]
pub struct Impl;

#[plugin_impl(Bench)]
impl Bench for Impl {
    fn add(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    fn greet(&self, name: &str) -> String {
        format!("Hello, {name}!")
    }

    fn sum(&self, xs: &[u64]) -> u64 {
        xs.iter().copied().fold(0, u64::wrapping_add)
    }
}
