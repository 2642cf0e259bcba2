//! With the feature `tracing`: a plugin's `tracing` events, forwarded to
//! the host's logger as log records whose message is the event's message
//! followed by its other fields as `name=value`. Spans are not recorded.
//!
//! The subscriber is the library's global default, so no thread-local
//! dispatcher state is touched and the library is not pinned in memory.

use core::fmt::{self, Write as _};

use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Dispatch, Event, Interest, Level, Metadata, Subscriber};

use super::bridge::{Origin, enabled, forward, target};
use super::table::host;

/// Installs the forwarding subscriber as the library's global default,
/// unless the library set one itself.
pub(super) fn install() {
    let _ = tracing_core::dispatcher::set_global_default(Dispatch::new(Events));
}

/// The library's subscriber.
struct Events;

fn level(level: &Level) -> log::Level {
    match *level {
        Level::ERROR => log::Level::Error,
        Level::WARN => log::Level::Warn,
        Level::INFO => log::Level::Info,
        Level::DEBUG => log::Level::Debug,
        _ => log::Level::Trace,
    }
}

/// The message, then `name=value` for each other field.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }
}

impl Subscriber for Events {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The host's level may change: ask each time.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let Some(host) = host() else {
            return false;
        };
        let mut scratch = String::new();
        metadata.is_event()
            && enabled(
                host,
                level(metadata.level()),
                target(metadata.target(), &mut scratch),
            )
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let Some(host) = host() else {
            return;
        };
        let metadata = event.metadata();
        let mut scratch = String::new();
        let target = target(metadata.target(), &mut scratch);
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = if fields.message.is_empty() {
            fields.rest.trim_start().to_owned()
        } else {
            fields.message + &fields.rest
        };
        let origin = Origin {
            module_path: metadata.module_path(),
            file: metadata.file(),
            line: metadata.line(),
        };
        forward(host, level(metadata.level()), target, &origin, &message);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}
