//! The command line, parsed by clap.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use plugin_interface::isolation::WorkerOptions;
use plugin_interface::{LoadOptions, PluginError, TrustedList};

/// Lists, inspects, checks and runs plugin libraries.
///
/// Without a command, builds the example plugins of this workspace and runs
/// them, like `plugin-host run`.
#[derive(Debug, Parser)]
#[command(name = "plugin-host", version, about, long_about)]
pub struct Cli {
    /// What to do; running the example plugins when absent.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lists every library file of a directory with its canary, traits and
    /// entries, read from the files without loading them.
    List {
        /// The directory to list (or one library file).
        #[arg(value_name = "DIR")]
        dir: PathBuf,

        #[command(flatten)]
        trust: Trust,
    },

    /// Shows one library in detail: canary, traits, vtables, method
    /// signatures and entries, read from the file without loading it.
    Inspect {
        /// The library file.
        #[arg(value_name = "LIB")]
        library: PathBuf,

        #[command(flatten)]
        trust: Trust,
    },

    /// Prints one verdict line per library and exits with 1 if any failed.
    ///
    /// Every library must be a plugin whose entries can be listed; a library
    /// implementing `Greeter` must also match this host's copy of
    /// `greeter-interface`. The files are read, never loaded: no code of
    /// theirs runs.
    Check {
        /// The library files.
        #[arg(value_name = "LIB", required = true)]
        libraries: Vec<PathBuf>,

        /// After a layout mismatch, print both layouts of the trait in full.
        #[arg(long)]
        detail: bool,

        #[command(flatten)]
        trust: Trust,
    },

    /// Loads every `Greeter` plugin and prints its greeting.
    ///
    /// Libraries that only implement other traits are skipped; libraries
    /// that fail to load make the exit code 1.
    Run {
        /// A directory of libraries, one library file, or a spec
        /// `lib:<path>?entry=<name>`; the example plugins of this workspace,
        /// built first, when absent.
        #[arg(value_name = "DIR", conflicts_with = "manifest")]
        source: Option<PathBuf>,

        /// Load the plugins a manifest lists (`[[plugin]]` tables with
        /// `kind` and `config`), with the host's guest book as a service,
        /// and print their log records on stderr (`PLUGIN_LOG=debug` for
        /// more).
        #[arg(long, value_name = "FILE", conflicts_with = "isolate")]
        manifest: Option<PathBuf>,

        /// Who to greet.
        #[arg(short, long, default_value = crate::run::DEFAULT_NAME)]
        name: String,

        #[command(flatten)]
        isolate: Isolate,

        #[command(flatten)]
        trust: Trust,
    },

    /// Calls one method of a library by name and prints its result as
    /// JSON.
    ///
    /// Each ARG is a JSON value (`3`, `"text"`, `{"Rect": [2.0, 3.0]}`);
    /// where the parameter takes a string, the bare text is that string.
    /// The library's only implementation of the trait is made for the
    /// call. Arguments are checked against the method's layouts before
    /// any code of the library runs.
    Call {
        /// The library file.
        #[arg(value_name = "LIB")]
        library: PathBuf,

        /// The method, as `Trait.method`.
        #[arg(value_name = "Trait.method")]
        method: String,

        /// The arguments, one per parameter.
        #[arg(value_name = "ARG", allow_hyphen_values = true)]
        args: Vec<String>,

        #[command(flatten)]
        isolate: Isolate,

        #[command(flatten)]
        trust: Trust,
    },

    /// Watches a directory: loads each `Greeter` plugin library once its
    /// file has settled, reloads it when its content changes, unloads it
    /// when it is deleted, and prints one line per event, until Ctrl-C (or
    /// SIGTERM), which unloads everything.
    ///
    /// Libraries are loaded from in-memory copies of the bytes checked, so
    /// the files may be rebuilt, replaced or overwritten while loaded.
    Watch {
        /// The directory to watch.
        #[arg(value_name = "DIR")]
        dir: PathBuf,

        /// Quiet time after the last change to a file before it is looked
        /// at, in milliseconds (300 when absent).
        #[arg(long, value_name = "N")]
        debounce_ms: Option<u64>,

        #[command(flatten)]
        isolate: Isolate,

        #[command(flatten)]
        trust: Trust,
    },
}

/// Running each library in a worker process (`run`, `call` and `watch`).
#[derive(Debug, Default, Args)]
pub struct Isolate {
    /// Run each library in its own worker process (`plugin-worker`,
    /// beside this executable): a plugin that crashes, aborts, exits or
    /// hangs ends its worker and gets one error line, not the host.
    #[arg(long)]
    pub isolate: bool,

    /// With --isolate, kill a worker whose call takes longer than TIME
    /// (`2s`, `500ms`, `1.5s`).
    #[arg(long, value_name = "TIME", value_parser = duration, requires = "isolate")]
    pub call_timeout: Option<Duration>,
}

impl Isolate {
    /// The worker options these flags ask for, when isolating.
    pub fn options(&self) -> Option<WorkerOptions> {
        self.isolate.then(|| {
            let options = WorkerOptions::default();
            match self.call_timeout {
                Some(timeout) => options.call_timeout(timeout),
                None => options,
            }
        })
    }
}

/// A duration written as a number and a unit: `2s`, `500ms`, `1.5s`.
fn duration(text: &str) -> Result<Duration, String> {
    let (number, scale) = if let Some(number) = text.strip_suffix("ms") {
        (number, 1e-3)
    } else if let Some(number) = text.strip_suffix('s') {
        (number, 1.0)
    } else {
        return Err(format!("`{text}`: give a unit, as in `2s` or `500ms`"));
    };
    number
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite() && *value > 0.0)
        .and_then(|value| Duration::try_from_secs_f64(value * scale).ok())
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| format!("`{text}`: not a positive duration"))
}

/// Which library files the host accepts (every command).
#[derive(Debug, Default, Args)]
pub struct Trust {
    /// Accept libraries writable by their group or others, owned by
    /// another user than this one or root, or in a directory others may
    /// write to without the sticky bit.
    #[arg(long)]
    pub allow_insecure_permissions: bool,

    /// Accept only libraries whose SHA-256 is listed in FILE, in the
    /// format `sha256sum` writes.
    #[arg(long, value_name = "FILE")]
    pub trusted: Option<PathBuf>,
}

impl Trust {
    /// The load options these flags ask for.
    pub fn options(&self) -> Result<LoadOptions, PluginError> {
        let mut options =
            LoadOptions::default().allow_insecure_permissions(self.allow_insecure_permissions);
        if let Some(list) = &self.trusted {
            options = options.trusted(TrustedList::from_file(list)?);
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::CommandFactory;

    use super::{Cli, duration};

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_take_a_unit_and_must_be_positive() {
        assert_eq!(duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
        for bad in ["2", "0s", "-1s", "1e-10s", "nans", "s", "infs"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }
}
