//! Support for the benchmark suite in `benches/suite/`: building the plugin
//! libraries it loads, fresh copies of them, sealed memory files holding
//! them, and the report.
//!
//! Nothing here links a plugin framework: the approaches under test are
//! dev-dependencies of this crate and appear only in `benches/` and
//! `examples/`.

pub mod fresh;
pub mod plugins;
pub mod report;
pub mod sealed;
