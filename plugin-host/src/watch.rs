//! `plugin-host watch DIR`: keep the `Greeter` plugins of a directory
//! loaded as its files come, change and go, one line per event.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;

use greeter_interface::{Greeter, GreeterProxy};
use plugin_interface::watch::{
    ManagerNotification, WatchAction, WatchOptions, watch_and_load_blocking,
};
use plugin_interface::{
    LoadOptions, ManagerOptions, PluginError, PluginManager, ReloadEvent, UnloadOutcome,
    UnloadReport,
};

use crate::describe::{self, Status};
use crate::run::DEFAULT_NAME;

/// Watches `dir` until Ctrl-C (or SIGTERM, SIGHUP): each library file is
/// loaded once it has settled, reloaded when its content changes and
/// unloaded when it is deleted. On the signal, everything is unloaded.
/// Prints on stdout, one line each:
///
/// - `loaded: <path> (generation <n>): <entry>: <greeting>; ...`
/// - `reloaded: <path> (generation <n>): <entry>: <greeting>; ...`
/// - `entries: <path>: removed <Trait::Entry>, ...; added <Trait::Entry>, ...`
/// - `unloaded: <path>: unmaker counters <Trait>=<n> (<outcome>)`
/// - `skipped: <path>: exports <traits>, not Greeter`
/// - `stopped; libraries unloaded: <n>`, last
///
/// and failures on stderr as `error: <action> failed: <error>`. Exits with
/// 0 when stopped, 1 if the directory cannot be watched.
pub fn watch(dir: &Path, debounce_ms: Option<u64>, load: LoadOptions) -> ExitCode {
    let mut status = Status::default();
    let manager = match PluginManager::with_options(ManagerOptions::default().load(load)) {
        Ok(manager) => manager,
        Err(error) => {
            status.fail(error);
            return status.exit_code();
        }
    };
    let mut options = WatchOptions::default().emit_proxies(true);
    if let Some(debounce_ms) = debounce_ms {
        options = options.debounce_ms(debounce_ms);
    }
    let (stop_sender, stop) = mpsc::channel();
    // Without the handler a signal ends the process at once, without
    // unloading; the watch still works.
    if let Err(error) = ctrlc::set_handler(move || {
        let _ = stop_sender.send(());
    }) {
        eprintln!("warning: cannot handle Ctrl-C ({error}); a signal ends the watch at once");
    }
    println!(
        "watching {} for {} plugins (debounce {} ms, settle {} ms)",
        dir.display(),
        describe::greeter_name(),
        options.debounce_ms,
        options.settle_ms,
    );
    let mut greeters = Greeters::default();
    let watched =
        watch_and_load_blocking::<dyn Greeter>(&manager, dir, &options, stop, |notification| {
            greeters.show(&manager, notification)
        });
    match watched {
        Ok(()) => {
            drop(greeters);
            match manager.close() {
                Ok(reports) => println!("stopped; libraries unloaded: {}", reports.len()),
                Err(error) => status.fail(error),
            }
        }
        Err(error) => status.fail(error),
    }
    status.exit_code()
}

/// The proxies of each loaded library, greeted again after each reload.
#[derive(Debug, Default)]
struct Greeters {
    by_path: BTreeMap<PathBuf, Vec<GreeterProxy>>,
}

impl Greeters {
    /// Prints the line of `notification`.
    fn show(&mut self, manager: &PluginManager, notification: ManagerNotification<dyn Greeter>) {
        match notification {
            // A reload changed the implementations: proxies of removed ones
            // are retired, so take a fresh set.
            ManagerNotification::Event(ReloadEvent::EntriesChanged {
                path,
                removed,
                added,
            }) => {
                let proxies = manager.proxies::<dyn Greeter>(&path).unwrap_or_default();
                println!(
                    "entries: {}: removed {}; added {}",
                    path.display(),
                    describe::list(removed.iter().map(String::as_str)),
                    describe::list(added.iter().map(String::as_str))
                );
                self.by_path.insert(path, proxies);
            }
            // The watcher's own notifications say the same, once.
            ManagerNotification::Event(_) => {}
            ManagerNotification::Loaded {
                path,
                generation,
                proxies,
                ..
            } => {
                println!(
                    "loaded: {} (generation {generation}): {}",
                    path.display(),
                    greetings(&proxies)
                );
                self.by_path.insert(path, proxies);
            }
            ManagerNotification::Reloaded { path, generation } => {
                // The proxies follow the reload; a library that had none
                // may implement the trait now.
                let proxies = self.by_path.entry(path.clone()).or_default();
                if proxies.is_empty() {
                    *proxies = manager.proxies::<dyn Greeter>(&path).unwrap_or_default();
                }
                println!(
                    "reloaded: {} (generation {generation}): {}",
                    path.display(),
                    greetings(proxies)
                );
            }
            ManagerNotification::Unloaded { path, report } => {
                self.by_path.remove(&path);
                println!("unloaded: {}: {}", path.display(), unload_summary(&report));
            }
            ManagerNotification::Error {
                path,
                action: WatchAction::Proxies,
                error: PluginError::TraitNotExported { available, .. },
            } => {
                let exports = describe::exports(&available);
                println!(
                    "skipped: {}: exports {exports}, not {}",
                    path.display(),
                    describe::greeter_name()
                );
            }
            ManagerNotification::Error { action, error, .. } => {
                eprintln!("error: {action} failed: {error}");
            }
        }
    }
}

/// `<entry>: <greeting>` for each proxy, `; `-separated.
fn greetings(proxies: &[GreeterProxy]) -> String {
    if proxies.is_empty() {
        return format!("no {} plugins", describe::greeter_name());
    }
    proxies
        .iter()
        .map(|proxy| {
            let entry = proxy.info().entry().to_owned();
            match proxy.try_greet(DEFAULT_NAME) {
                Ok(greeting) => format!("{entry}: {greeting}"),
                Err(error) => format!("{entry}: error: {error}"),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `unmaker counters Greeter=1 (left the process)`.
fn unload_summary(report: &UnloadReport) -> String {
    let counters = describe::list(
        report
            .counters
            .iter()
            .map(|(name, count)| format!("{name}={count}"))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
    );
    let outcome = match &report.outcome {
        UnloadOutcome::Unloaded => "left the process".to_owned(),
        UnloadOutcome::Resident { reason } => format!("still resident: {reason}"),
        UnloadOutcome::Kept { policy } => format!("kept by the {policy:?} policy"),
    };
    format!("unmaker counters {counters} ({outcome})")
}
