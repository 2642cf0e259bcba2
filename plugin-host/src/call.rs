//! `plugin-host call LIB Trait.method ARG...`: one method, called by name.

use std::path::Path;
use std::process::ExitCode;

use plugin_interface::{LoadOptions, PluginError, PluginLibrary};
use serde_json::Value;

use crate::describe::{self, Status};

/// Opens `library`, calls `target` (`Trait.method`) on its only
/// implementation of the trait with `args`, and prints the result as JSON
/// on stdout; an error is one line on stderr and exit code 1. Each ARG is
/// JSON, or, where the parameter takes a string, may be the bare string.
pub fn call(library: &Path, target: &str, args: &[String], options: &LoadOptions) -> ExitCode {
    let mut status = Status::default();
    match outcome(library, target, args, options) {
        Ok(value) => println!("{value}"),
        Err(error) => status.fail(error),
    }
    status.exit_code()
}

fn outcome(
    path: &Path,
    target: &str,
    args: &[String],
    options: &LoadOptions,
) -> Result<Value, String> {
    let Some((trait_name, method)) = target.rsplit_once('.') else {
        return Err(format!(
            "`{target}`: name the method as `Trait.method`, e.g. `Greeter.greet`"
        ));
    };
    let refused = |error: PluginError| describe::refusal(path, error);
    let library = PluginLibrary::open_with(path, options).map_err(refused)?;
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
    let value = library
        .invoke(trait_name, method, &values)
        .map_err(refused)?;
    library.flush_output();
    Ok(value)
}
