//! `plugin-host call LIB Trait.method ARG...`: one method, called by name.

use std::path::Path;
use std::process::ExitCode;

use plugin_interface::isolation::{WorkerLibrary, WorkerOptions};
use plugin_interface::{LoadOptions, ParameterInfo, PluginError, PluginLibrary};
use serde_json::Value;

use crate::describe::{self, Status};

/// Opens `library` (in a worker process with `isolate`), calls `target`
/// (`Trait.method`) on its only implementation of the trait with `args`,
/// and prints the result as JSON on stdout; an error is one line on
/// stderr and exit code 1. Each ARG is JSON, or, where the parameter takes
/// a string, may be the bare string.
pub fn call(
    library: &Path,
    target: &str,
    args: &[String],
    options: &LoadOptions,
    isolate: Option<WorkerOptions>,
) -> ExitCode {
    let mut status = Status::default();
    match outcome(library, target, args, options, isolate.as_ref()) {
        Ok(value) => println!("{value}"),
        Err(error) => status.fail(error),
    }
    status.exit_code()
}

/// The library a call goes to: loaded here, or served by a worker.
enum Library {
    Here(PluginLibrary),
    Worker(Box<WorkerLibrary>),
}

impl Library {
    fn open(
        path: &Path,
        options: &LoadOptions,
        isolate: Option<&WorkerOptions>,
    ) -> Result<Self, PluginError> {
        match isolate {
            Some(worker) => WorkerLibrary::spawn(path, options, worker)
                .map(|library| Self::Worker(Box::new(library))),
            None => PluginLibrary::open_with(path, options).map(Self::Here),
        }
    }

    fn parameters(
        &self,
        trait_name: &str,
        method: &str,
    ) -> Result<Vec<ParameterInfo>, PluginError> {
        match self {
            Self::Here(library) => library.parameters(trait_name, method),
            Self::Worker(library) => library.parameters(trait_name, method),
        }
    }

    fn invoke(&self, trait_name: &str, method: &str, args: &[Value]) -> Result<Value, PluginError> {
        match self {
            Self::Here(library) => {
                let value = library.invoke(trait_name, method, args);
                library.flush_output();
                value
            }
            Self::Worker(library) => library.invoke(trait_name, method, args),
        }
    }
}

fn outcome(
    path: &Path,
    target: &str,
    args: &[String],
    options: &LoadOptions,
    isolate: Option<&WorkerOptions>,
) -> Result<Value, String> {
    let Some((trait_name, method)) = target.rsplit_once('.') else {
        return Err(format!(
            "`{target}`: name the method as `Trait.method`, e.g. `Greeter.greet`"
        ));
    };
    let refused = |error: PluginError| describe::refusal(path, error);
    let library = Library::open(path, options, isolate).map_err(refused)?;
    let parameters = library.parameters(trait_name, method).map_err(refused)?;
    let values = args
        .iter()
        .enumerate()
        .map(|(index, arg)| {
            let parameter = parameters.get(index);
            match serde_json::from_str::<Value>(arg) {
                Ok(Value::String(text)) => Ok(Value::String(text)),
                _ if parameter.is_some_and(|parameter| parameter.text) => {
                    Ok(Value::String(arg.clone()))
                }
                Ok(value) => Ok(value),
                Err(error) => Err(format!(
                    "{}: {trait_name}::{method}: argument {}{}: not JSON ({error}): {arg}",
                    path.display(),
                    index + 1,
                    parameter.map_or(String::new(), |parameter| format!(
                        " (`{}`)",
                        parameter.name
                    )),
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    library.invoke(trait_name, method, &values).map_err(refused)
}
