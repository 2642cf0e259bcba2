//! Plugin lifecycle: what a constructor gets ([`PluginContext`]: its
//! configuration, services, identity), and the log bridge that carries a
//! library's `log` records to the host's logger.
//!
//! Right after the allocator handshake the host calls the library's
//! `plugin_host_v1` with its [`HostTable`], a static of the host: the
//! library keeps it, installs the bridge as its `log` logger at the host's
//! level, and from then on asks the table for the construction in
//! progress whenever a constructor runs.

mod bridge;
#[cfg(feature = "host")]
pub(crate) mod construct;
mod context;
#[cfg(feature = "host")]
pub(crate) mod host;
mod known;
mod table;
#[cfg(feature = "tracing")]
mod trace;

pub(crate) use bridge::sync_level;
pub use context::{Constructor, Fallible, Plain, PluginContext, WithContext, construct_with};
pub use known::KnownInterface;
pub use table::{ContextTable, HostTable, LogRecord, ServiceLookup, install};
