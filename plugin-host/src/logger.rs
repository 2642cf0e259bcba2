//! The host's logger: plugin records, and the host's own, on stderr.

/// Writes `LEVEL target: message` lines to stderr.
struct Stderr;

static STDERR: Stderr = Stderr;

impl log::Log for Stderr {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("{} {}: {}", record.level(), record.target(), record.args());
        }
    }

    fn flush(&self) {}
}

/// Installs the logger at `Info`, or at the level `PLUGIN_LOG` names
/// (`error`, `warn`, `info`, `debug`, `trace`, `off`).
pub fn install() {
    let level = std::env::var("PLUGIN_LOG")
        .ok()
        .and_then(|level| level.parse().ok())
        .unwrap_or(log::LevelFilter::Info);
    if log::set_logger(&STDERR).is_ok() {
        log::set_max_level(level);
    }
}
