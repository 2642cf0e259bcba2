//! The command line, parsed by clap.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
    /// entries, without making any plugin instance.
    List {
        /// The directory to list (or one library file).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },

    /// Shows one library in detail: canary, traits, vtables, method
    /// signatures and entries.
    Inspect {
        /// The library file.
        #[arg(value_name = "LIB")]
        library: PathBuf,
    },

    /// Prints one verdict line per library and exits with 1 if any failed.
    ///
    /// Every library must be a plugin whose entries can be listed; a library
    /// implementing `Greeter` must also match this host's copy of
    /// `greeter-interface`. No plugin instance is made.
    Check {
        /// The library files.
        #[arg(value_name = "LIB", required = true)]
        libraries: Vec<PathBuf>,

        /// After a layout mismatch, print both layouts of the trait in full.
        #[arg(long)]
        detail: bool,
    },

    /// Loads every `Greeter` plugin and prints its greeting.
    ///
    /// Libraries that only implement other traits are skipped; libraries
    /// that fail to load make the exit code 1.
    Run {
        /// A directory of libraries, one library file, or a spec
        /// `lib:<path>?entry=<name>`; the example plugins of this workspace,
        /// built first, when absent.
        #[arg(value_name = "DIR")]
        source: Option<PathBuf>,

        /// Who to greet.
        #[arg(short, long, default_value = crate::run::DEFAULT_NAME)]
        name: String,
    },

    /// Watches a directory: loads each `Greeter` plugin library once its
    /// file has settled, reloads it when its content changes, unloads it
    /// when it is deleted, and prints one line per event, until Ctrl-C (or
    /// SIGTERM), which unloads everything and removes the private copies.
    ///
    /// Libraries are loaded from private copies, so the files may be
    /// rebuilt, replaced or overwritten while loaded.
    Watch {
        /// The directory to watch.
        #[arg(value_name = "DIR")]
        dir: PathBuf,

        /// Quiet time after the last change to a file before it is looked
        /// at, in milliseconds (300 when absent).
        #[arg(long, value_name = "N")]
        debounce_ms: Option<u64>,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
