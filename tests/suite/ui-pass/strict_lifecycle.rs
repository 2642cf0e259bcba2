//! A constructor with a context and a required service compile cleanly
//! in a crate with strict lints.
#![deny(missing_docs, unused_qualifications, unused_results, unreachable_pub)]
#![deny(unsafe_op_in_unsafe_fn, missing_debug_implementations, rust_2018_idioms)]
#![deny(non_snake_case, non_upper_case_globals, warnings)]

use std::sync::Arc;

use plugin_interface::{PluginContext, PluginError, plugin_aggregates, plugin_impl, plugin_trait};

/// A service.
#[plugin_trait]
pub trait Clock: Send + Sync {
    /// The time.
    fn now(&self) -> u64;
}

/// What the plugin implements.
#[plugin_trait]
pub trait Timer: Send + Sync {
    /// Time since start.
    fn elapsed(&self) -> u64;
}

/// Implements it with the service.
#[plugin_aggregates(Timer, requires(Clock))]
pub struct Impl {
    clock: Arc<dyn Clock>,
    start: u64,
}

impl std::fmt::Debug for Impl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Impl").field("start", &self.start).finish_non_exhaustive()
    }
}

impl Impl {
    fn new(cx: &PluginContext<'_>) -> Result<Self, PluginError> {
        let clock = cx.service::<dyn Clock>()?;
        let start = clock.now();
        Ok(Self { clock, start })
    }
}

#[plugin_impl(Timer, constructor = Impl::new)]
impl Timer for Impl {
    fn elapsed(&self) -> u64 {
        self.clock.now() - self.start
    }
}

fn main() {}
