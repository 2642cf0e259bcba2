//! A `log::Log` that keeps every record, for the log bridge tests. Each
//! test reads the records logged on its own thread, where the plugins it
//! drives construct, run and drop.

use std::sync::{Mutex, Once};
use std::thread::ThreadId;

/// One record as the host's logger saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// Its level.
    pub level: log::Level,
    /// Its target.
    pub target: String,
    /// The module that logged it.
    pub module_path: Option<String>,
    /// Its message.
    pub message: String,
}

struct Capture {
    records: Mutex<Vec<(ThreadId, Captured)>>,
}

static CAPTURE: Capture = Capture {
    records: Mutex::new(Vec::new()),
};

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let captured = Captured {
            level: record.level(),
            target: record.target().to_owned(),
            module_path: record.module_path().map(str::to_owned),
            message: record.args().to_string(),
        };
        self.records
            .lock()
            .unwrap()
            .push((std::thread::current().id(), captured));
    }

    fn flush(&self) {}
}

/// Installs the capturing logger (once per process) at `Info`.
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&CAPTURE).expect("no other logger in the test binary");
        log::set_max_level(log::LevelFilter::Info);
    });
}

/// Takes the records logged on this thread so far.
pub fn take() -> Vec<Captured> {
    let me = std::thread::current().id();
    let mut records = CAPTURE.records.lock().unwrap();
    let (mine, others): (Vec<_>, Vec<_>) = records.drain(..).partition(|(id, _)| *id == me);
    *records = others;
    mine.into_iter().map(|(_, record)| record).collect()
}

/// The messages of [`take`].
pub fn messages() -> Vec<String> {
    take().into_iter().map(|record| record.message).collect()
}
