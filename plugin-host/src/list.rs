//! `plugin-host list DIR`: every library of a directory, briefly.

use std::path::Path;
use std::process::ExitCode;

use plugin_interface::{LoadOptions, PluginFile};

use crate::describe::{self, Status};

/// Lists the library files of `dir` in sorted order: each plugin's canary
/// and, per trait, its interface and entries; each failure as one error
/// line on stderr. Libraries that are no plugin, files with a library's
/// name that are no library, and other files get one quiet line each.
/// The files are read, never loaded. Exits with 1 if any library failed.
pub fn list(dir: &Path, options: &LoadOptions) -> ExitCode {
    let mut status = Status::default();
    let (libraries, ignored) = match describe::scan(dir) {
        Ok(files) => files,
        Err(error) => {
            status.fail(error);
            return status.exit_code();
        }
    };
    if libraries.is_empty() {
        println!("no plugin libraries in {}", dir.display());
    }
    for path in &libraries {
        let library = match PluginFile::check_with(path, options) {
            Ok(library) => library,
            Err(error) => {
                match describe::passed_over(path, &error) {
                    Some(why) => println!("skipped: {}: {why}", path.display()),
                    None => status.fail(describe::refusal(path, error)),
                }
                continue;
            }
        };
        let canary = library.canary();
        println!("{}", describe::shown(path, library.target()));
        println!("    {}", describe::canary_summary(canary));
        if canary.traits.is_empty() {
            println!("    no traits");
        }
        for info in &canary.traits {
            match library.entries(&info.name) {
                Ok(entries) => println!(
                    "    {}: {}",
                    describe::trait_heading(info),
                    describe::entry_names(&entries)
                ),
                Err(error) => {
                    println!("    {}: entries unavailable", describe::trait_heading(info));
                    status.fail(error);
                }
            }
        }
    }
    for path in &ignored {
        println!("{}", describe::ignored_line(path));
    }
    status.exit_code()
}
