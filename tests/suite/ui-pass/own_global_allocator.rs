//! A plugin crate that declares a `#[global_allocator]` of its own keeps it
//! with `allocator = own`.
use std::alloc::System;

use greeter_interface::Greeter;
use plugin_interface::{plugin_aggregates, plugin_impl};

#[global_allocator]
static ALLOCATOR: System = System;

#[plugin_aggregates(Greeter, allocator = own)]
#[derive(Default)]
pub struct English;

#[plugin_impl(Greeter)]
impl Greeter for English {
    fn name(&self) -> String { "english".into() }
    fn greet(&self, target: &str) -> String { format!("Hello, {target}!") }
}

fn main() {}
