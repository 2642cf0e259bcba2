//! Generated code compiles cleanly in a crate with strict lints.
#![deny(missing_docs, unused_qualifications, unused_results, unreachable_pub)]
#![deny(unsafe_op_in_unsafe_fn, missing_debug_implementations, rust_2018_idioms)]
#![deny(non_snake_case, non_upper_case_globals, warnings)]

use plugin_interface::{PluginData, plugin_aggregates, plugin_impl, plugin_trait};

/// A point.
#[repr(C)]
#[derive(Debug, Clone, Copy, PluginData)]
pub struct Point {
    /// Horizontal.
    pub x: f64,
}

/// A strict trait.
#[plugin_trait]
pub trait Strict: Send + Sync {
    /// Every shape of signature.
    fn all(&mut self, a: &str, b: &[Point], c: Vec<String>, d: Option<Result<(), String>>) -> Result<Vec<Point>, String>;
    /// A borrowed return.
    fn label(&self) -> &str;
    /// Nothing returned.
    fn nothing(&self);
}

/// Implements it.
#[plugin_aggregates(Strict, allocator = host)]
#[derive(Debug, Default)]
pub struct Impl;

#[plugin_impl(Strict)]
impl Strict for Impl {
    fn all(&mut self, _: &str, b: &[Point], _: Vec<String>, _: Option<Result<(), String>>) -> Result<Vec<Point>, String> {
        Ok(b.to_vec())
    }

    fn label(&self) -> &str {
        "strict"
    }

    fn nothing(&self) {}
}

fn main() {
    let proxy: Option<StrictProxy> = None;
    drop(proxy);
}
