//! The host's table: where the log bridge of every library ends, and
//! where constructors find their context.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::repr::RStr;

use super::table::{ContextTable, HostTable, LogRecord};

/// The table every library gets through `plugin_host_v1`.
pub(crate) static HOST_TABLE: HostTable = HostTable {
    size: size_of::<HostTable>(),
    framework_version: RStr::new(env!("CARGO_PKG_VERSION")),
    log_level,
    log_enabled,
    log,
    log_flush,
    context,
};

/// Hands a library just opened the host's table: from then on its `log`
/// records reach the host's logger and its constructors their context. A
/// library without `plugin_host_v1` (built before it existed) goes on
/// without either.
pub(crate) fn offer(library: &libloading::Library) {
    let symbol = plugin_symbols::c_name(plugin_symbols::HOST);
    // SAFETY: the canary matched this framework's epoch, whose libraries
    // export `plugin_host_v1` with this type.
    let Ok(install) = (unsafe { library.get::<InstallHost>(&symbol) }) else {
        return;
    };
    // SAFETY: the table is a static of this image, which outlives every
    // library it loads.
    unsafe { install(&HOST_TABLE) };
}

/// The type of `plugin_host_v1`.
type InstallHost = unsafe extern "C" fn(table: *const HostTable);

thread_local! {
    /// The construction this thread runs, or null. No destructor, so it
    /// adds nothing to a thread's teardown.
    static CURRENT: Cell<*const ContextTable> = const { Cell::new(core::ptr::null()) };
}

/// Makes `table` the calling thread's construction until the returned
/// value is passed to [`leave`].
pub(crate) fn enter(table: *const ContextTable) -> *const ContextTable {
    CURRENT
        .try_with(|current| current.replace(table))
        .unwrap_or(core::ptr::null())
}

/// Restores the construction [`enter`] replaced.
pub(crate) fn leave(previous: *const ContextTable) {
    let _ = CURRENT.try_with(|current| current.set(previous));
}

extern "C" fn context() -> *const ContextTable {
    CURRENT.try_with(Cell::get).unwrap_or(core::ptr::null())
}

extern "C" fn log_level() -> usize {
    log::max_level() as usize
}

fn level(level: usize) -> Option<log::Level> {
    log::Level::iter().nth(level.checked_sub(1)?)
}

extern "C" fn log_enabled(level_index: usize, target: RStr<'_>) -> bool {
    let Some(level) = level(level_index) else {
        return false;
    };
    if level > log::max_level() {
        return false;
    }
    catch_unwind(AssertUnwindSafe(|| {
        log::logger().enabled(
            &log::Metadata::builder()
                .level(level)
                .target(target.as_str())
                .build(),
        )
    }))
    .unwrap_or(false)
}

fn non_empty(text: RStr<'_>) -> Option<&str> {
    Some(text.as_str()).filter(|text| !text.is_empty())
}

extern "C" fn log(record: &LogRecord<'_>) {
    let Some(level) = level(record.level) else {
        return;
    };
    // A logger that panics loses the record, not the process.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        log::logger().log(
            &log::Record::builder()
                .level(level)
                .target(record.target.as_str())
                .module_path(non_empty(record.module_path))
                .file(non_empty(record.file))
                .line(Some(record.line).filter(|line| *line != 0))
                .args(format_args!("{}", record.message.as_str()))
                .build(),
        );
    }));
}

extern "C" fn log_flush() {
    let _ = catch_unwind(|| log::logger().flush());
}
