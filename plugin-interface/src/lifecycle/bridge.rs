//! The log bridge, on the plugin side: a `log::Log` installed in the
//! library's own copy of the `log` crate that hands every record the
//! host's logger takes to it, through the [`HostTable`].
//!
//! Each library links its own `log`, whose logger and maximum level are
//! statics of the library: without the bridge its records go nowhere.
//! The bridge keeps no thread-local state, so it never pins a library in
//! memory.

use core::fmt::Write as _;
use std::sync::OnceLock;

use crate::repr::RStr;

use super::table::{HostTable, LogRecord, host};

/// The plugin crate's name, the target of records whose own target does
/// not start with it.
static CRATE: OnceLock<&'static str> = OnceLock::new();

/// The library's logger.
struct Bridge;

static BRIDGE: Bridge = Bridge;

/// Installs the bridge as the library's logger, at the host's level.
pub(super) fn install(crate_name: &'static str) {
    let _ = CRATE.set(crate_name);
    // A library that set a logger of its own before the host got here
    // keeps it.
    let _ = log::set_logger(&BRIDGE);
    sync_level();
    #[cfg(feature = "tracing")]
    super::trace::install();
}

/// Sets the library's maximum level to the host's, so records the host
/// would drop are not even built. Called at install and before every
/// construction.
pub(crate) fn sync_level() {
    if let Some(host) = host() {
        log::set_max_level(level_filter((host.log_level)()));
    }
}

fn level_filter(level: usize) -> log::LevelFilter {
    log::LevelFilter::iter()
        .nth(level)
        .unwrap_or(log::LevelFilter::Trace)
}

/// The target the host sees: the record's own when it names the plugin
/// crate, else `crate::target`.
pub(super) fn target<'a>(target: &'a str, scratch: &'a mut String) -> &'a str {
    let Some(crate_name) = CRATE.get() else {
        return target;
    };
    let names_crate = target
        .strip_prefix(crate_name)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"));
    if names_crate {
        return target;
    }
    let _ = write!(scratch, "{crate_name}::{target}");
    scratch
}

/// Whether the host's logger takes records of `level` for `target` (the
/// one [`target`] gave).
pub(super) fn enabled(host: &HostTable, level: log::Level, target: &str) -> bool {
    level as usize <= (host.log_level)() && (host.log_enabled)(level as usize, RStr::new(target))
}

/// Where a record came from.
pub(super) struct Origin<'a> {
    pub(super) module_path: Option<&'a str>,
    pub(super) file: Option<&'a str>,
    pub(super) line: Option<u32>,
}

/// Hands a record the host takes to its logger.
pub(super) fn forward(
    host: &HostTable,
    level: log::Level,
    target: &str,
    origin: &Origin<'_>,
    message: &str,
) {
    (host.log)(&LogRecord {
        level: level as usize,
        target: RStr::new(target),
        module_path: RStr::new(origin.module_path.unwrap_or("")),
        file: RStr::new(origin.file.unwrap_or("")),
        line: origin.line.unwrap_or(0),
        message: RStr::new(message),
    });
}

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        let Some(host) = host() else {
            return false;
        };
        let mut scratch = String::new();
        enabled(
            host,
            metadata.level(),
            target(metadata.target(), &mut scratch),
        )
    }

    fn log(&self, record: &log::Record<'_>) {
        let Some(host) = host() else {
            return;
        };
        let mut scratch = String::new();
        let target = target(record.target(), &mut scratch);
        if !enabled(host, record.level(), target) {
            return;
        }
        let message = match record.args().as_str() {
            Some(text) => std::borrow::Cow::Borrowed(text),
            None => std::borrow::Cow::Owned(record.args().to_string()),
        };
        let origin = Origin {
            module_path: record.module_path(),
            file: record.file(),
            line: record.line(),
        };
        forward(host, record.level(), target, &origin, &message);
    }

    fn flush(&self) {
        if let Some(host) = host() {
            (host.log_flush)();
        }
    }
}
