//! `plugin-host`: a command-line host for plugin libraries built with
//! `plugin-interface`. It lists, inspects and checks libraries of any
//! trait, runs `Greeter` plugins, once or as the files of a directory
//! change, and calls any method of a library by name.
//!
//! Without arguments it builds the example plugins of this workspace and
//! runs them. Exit codes: 0 on success, 1 when a plugin (or the build of
//! the examples) failed, 2 for usage errors.

mod call;
mod check;
mod cli;
mod describe;
mod examples;
mod inspect;
mod list;
mod logger;
mod manifest;
mod run;
mod shop;
mod watch;

use std::process::ExitCode;

use clap::Parser;
use plugin_interface::{Isolation, LoadOptions};

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let command = Cli::parse().command;
    let trust = match &command {
        None => Ok(LoadOptions::default()),
        Some(
            Command::List { trust, .. }
            | Command::Inspect { trust, .. }
            | Command::Check { trust, .. }
            | Command::Call { trust, .. }
            | Command::Run { trust, .. }
            | Command::Watch { trust, .. },
        ) => trust.options(),
    };
    let options = match trust {
        Ok(options) => options,
        Err(error) => return failed(error),
    };
    match command {
        None => run::run(None, run::DEFAULT_NAME, &options),
        Some(Command::List { dir, .. }) => list::list(&dir, &options),
        Some(Command::Inspect { library, .. }) => inspect::inspect(&library, &options),
        Some(Command::Check {
            libraries, detail, ..
        }) => check::check(&libraries, detail, &options),
        Some(Command::Call {
            library,
            method,
            args,
            isolate,
            ..
        }) => match isolate.options().map(examples::with_worker).transpose() {
            Ok(worker) => call::call(&library, &method, &args, &options, worker),
            Err(error) => failed(error),
        },
        Some(Command::Run {
            manifest: Some(manifest),
            name,
            ..
        }) => manifest::run(&manifest, &name, &options),
        Some(Command::Run {
            source,
            name,
            isolate,
            ..
        }) => match isolated(options, &isolate) {
            Ok(options) => run::run(source.as_deref(), &name, &options),
            Err(error) => failed(error),
        },
        Some(Command::Watch {
            dir,
            debounce_ms,
            isolate,
            ..
        }) => match isolated(options, &isolate) {
            Ok(options) => watch::watch(&dir, debounce_ms, options),
            Err(error) => failed(error),
        },
    }
}

/// `options`, with each library in a worker when `isolate` asks for it.
fn isolated(options: LoadOptions, isolate: &cli::Isolate) -> Result<LoadOptions, String> {
    Ok(
        match isolate.options().map(examples::with_worker).transpose()? {
            Some(worker) => options.isolation(Isolation::Process(worker)),
            None => options,
        },
    )
}

/// One error line, and the exit code of a failure.
fn failed(error: impl std::fmt::Display) -> ExitCode {
    let mut status = describe::Status::default();
    status.fail(error);
    status.exit_code()
}
