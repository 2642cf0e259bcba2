//! `plugin-host check LIB...`: one verdict line per library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use greeter_interface::Greeter;
use plugin_interface::{LoadOptions, PluginError, PluginFile};

use crate::describe::{self, Status};

/// Checks each library and prints `ok: <path>: Trait (crate version)
/// [entries], ...` on stdout, or `error: <path>: <why>` on stderr, followed
/// with `detail` by the full report behind the line, where there is one.
/// Exits with 1 if any library failed. A symlink's verdict names its
/// target too. No library is loaded: no code of theirs runs.
pub fn check(libraries: &[PathBuf], detail: bool, options: &LoadOptions) -> ExitCode {
    let mut status = Status::default();
    for path in libraries {
        let shown = describe::shown(path, describe::link_target(path).as_deref());
        match verdict(path, options) {
            Ok(traits) => println!("ok: {shown}: {traits}"),
            Err(error) => {
                let report = error.detail().filter(|_| detail).map(str::to_owned);
                status.fail(describe::refusal(path, error));
                if let Some(report) = report {
                    eprint!("{report}");
                }
            }
        }
    }
    status.exit_code()
}

/// Checks `path` from its bytes, lists the entries of every trait it
/// exports, and checks the trait this host knows (its `Greeter`, from
/// its own interface crate) against the host's descriptors.
fn verdict(path: &Path, options: &LoadOptions) -> Result<String, PluginError> {
    let library = PluginFile::check_with(path, options)?;
    let canary = library.canary();
    if canary.traits.iter().any(describe::is_hosts_greeter) {
        library.check_interface::<dyn Greeter>()?;
    }
    if canary.traits.is_empty() {
        return Ok("no traits".to_owned());
    }
    let mut traits = Vec::with_capacity(canary.traits.len());
    for info in &canary.traits {
        let entries = library.entries(&info.name)?;
        traits.push(format!(
            "{} [{}]",
            describe::trait_heading(info),
            describe::entry_names(&entries)
        ));
    }
    Ok(traits.join(", "))
}
