//! `plugin-host run [DIR]`: load the `Greeter` plugins and greet.

use std::path::Path;
use std::process::ExitCode;

use greeter_interface::Greeter;
use plugin_interface::{CallError, Isolation, LoadOptions, PluginError, load_plugins_with};

use crate::describe::{self, Status};
use crate::examples;

/// Who is greeted unless `--name` says otherwise.
pub const DEFAULT_NAME: &str = "world";

/// Greets `name` with every `Greeter` plugin of `source`: a directory, a
/// library file or a `lib:<path>?entry=<name>` spec; the example plugins of
/// this workspace, built first, when `None`.
///
/// Prints `<entry> (<file name>): <greeting>` per plugin on stdout.
/// Libraries that export only other traits, or a `Greeter` of another
/// interface crate, and in a directory the files that are no plugin at
/// all, are reported as skipped, one line each; every other failure is
/// one error line on stderr and makes the exit code 1.
pub fn run(source: Option<&Path>, name: &str, options: &LoadOptions) -> ExitCode {
    match source {
        Some(source) => greet_all(source, name, options),
        None => match examples::prepare() {
            Ok(dir) => {
                let isolated = !matches!(options.isolation, Isolation::InProcess);
                println!(
                    "loading the example plugins ({}) from {}{}",
                    examples::PACKAGES.join(", "),
                    dir.display(),
                    if isolated {
                        ", each in a worker process"
                    } else {
                        ""
                    }
                );
                let greeted = greet_all(&dir, name, options);
                let mut status = Status::default();
                if !isolated {
                    crate::shop::visit(&dir, &mut status);
                }
                if status.failed() {
                    status.exit_code()
                } else {
                    greeted
                }
            }
            Err(error) => {
                let mut status = Status::default();
                status.fail(error);
                status.exit_code()
            }
        },
    }
}

/// Loads `source` and greets `name` with each plugin.
fn greet_all(source: &Path, name: &str, options: &LoadOptions) -> ExitCode {
    let mut status = Status::default();
    let report = match load_plugins_with::<dyn Greeter>(source, options) {
        Ok(report) => report,
        Err(error) => {
            status.fail(error);
            return status.exit_code();
        }
    };
    // In a directory, other libraries (dependencies, foreign files) are
    // passed over with a line; a file named on its own must be a plugin.
    let in_directory = source.is_dir();
    for file in report.files() {
        match &file.result {
            Ok(plugins) => {
                for plugin in plugins {
                    let info = plugin.info();
                    match plugin.try_greet(name) {
                        Ok(greeting) => println!(
                            "{} ({}): {greeting}",
                            info.entry(),
                            describe::file_name(info.library())
                        ),
                        // A library's worker that died or was killed is
                        // one line: its other instances are gone with it.
                        Err(error @ (CallError::Crashed { .. } | CallError::TimedOut { .. })) => {
                            status.fail(error);
                            break;
                        }
                        Err(error) => status.fail(error),
                    }
                }
            }
            Err(PluginError::TraitNotExported { available, .. }) => {
                let exports = describe::exports(available);
                println!(
                    "skipped: {}: exports {exports}, not {}",
                    describe::file_name(&file.path),
                    describe::greeter_name()
                );
            }
            Err(PluginError::InterfaceMismatch { versions, .. })
                if versions.plugin_crate != versions.host_crate =>
            {
                println!(
                    "skipped: {}: its {} is {} {}'s, not {}'s; this host runs only its own",
                    describe::file_name(&file.path),
                    describe::greeter_name(),
                    versions.plugin_crate,
                    versions.plugin_version,
                    describe::greeter_crate()
                );
            }
            Err(error) => match describe::passed_over(&file.path, error).filter(|_| in_directory) {
                Some(why) => println!("skipped: {}: {why}", describe::file_name(&file.path)),
                None => status.fail(error),
            },
        }
    }
    for path in report.ignored() {
        println!("{}", describe::ignored_line(path));
    }
    if report.files().is_empty() {
        println!("no plugins found in {}", source.display());
    } else if report.is_empty() {
        println!(
            "no {} plugins loaded from {}",
            describe::greeter_name(),
            source.display()
        );
    }
    status.exit_code()
}
