//! `plugin-host run --manifest FILE`: load the plugins a manifest lists,
//! with their configs and the host's guest book as a service, and greet
//! with every `Greeter` among them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use greeter_interface::{Greeter, Guestbook};
use plugin_interface::{LoadOptions, ManagerOptions, PluginManager};

use crate::describe::{self, Status};

/// The guest book the host offers plugins.
#[derive(Debug, Default)]
struct Book {
    visits: Mutex<BTreeMap<String, u32>>,
}

impl Guestbook for Book {
    fn sign(&self, guest: &str) -> u32 {
        let mut visits = self.visits.lock().unwrap_or_else(|e| e.into_inner());
        let count = visits.entry(guest.to_owned()).or_default();
        *count += 1;
        *count
    }
}

/// Loads the plugins `manifest` lists and greets `name` with each
/// `Greeter`: `<entry> (<file name>): <greeting>` on stdout; the plugins'
/// log records on stderr. Any failure is one error line and exit code 1.
pub fn run(manifest: &Path, name: &str, options: &LoadOptions) -> ExitCode {
    crate::logger::install();
    let mut status = Status::default();
    let manager = match PluginManager::with_options(ManagerOptions::default().load(options.clone()))
    {
        Ok(manager) => manager,
        Err(error) => {
            status.fail(error);
            return status.exit_code();
        }
    };
    manager.provide::<dyn Guestbook>(Arc::new(Book::default()));
    if let Err(error) = manager.load_manifest(manifest) {
        status.fail(error);
        return status.exit_code();
    }
    let greeters = manager.plugins::<dyn Greeter>();
    if greeters.is_empty() {
        println!(
            "no {} plugins in {}",
            describe::greeter_name(),
            manifest.display()
        );
    }
    for greeter in &greeters {
        let info = greeter.info();
        match greeter.try_greet(name) {
            Ok(greeting) => println!(
                "{} ({}): {greeting}",
                info.entry(),
                describe::file_name(info.library())
            ),
            Err(error) => status.fail(error),
        }
    }
    drop(greeters);
    if let Err(error) = manager.close() {
        status.fail(error);
    }
    status.exit_code()
}
