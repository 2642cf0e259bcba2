//! Building the example plugins of this workspace for `plugin-host` without
//! arguments.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The example plugin packages, built and run when no command is given.
pub const PACKAGES: [&str; 4] = [
    "english-plugin",
    "multi-greeter-plugin",
    "calculator-plugin",
    "shop-plugin",
];

/// The workspace this host was built in.
fn workspace_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (or
/// `CARGO_BUILD_TARGET_DIR`) if set, else `<workspace>/target`.
fn target_dir(workspace: &Path) -> PathBuf {
    ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"]
        .into_iter()
        .filter_map(std::env::var_os)
        .find(|dir| !dir.is_empty())
        .map_or_else(|| workspace.join("target"), PathBuf::from)
}

/// The file name cargo gives the `cdylib` of `package` on this platform,
/// e.g. `libenglish_plugin.so`.
fn library_file(package: &str) -> String {
    format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        package.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

/// Builds the example plugins with cargo (`$CARGO`, else `cargo`), whose
/// output goes to stderr, and copies them into a fresh
/// `<target>/example-plugins/`, which it returns.
pub fn prepare() -> Result<PathBuf, String> {
    let workspace = workspace_dir();
    build(&workspace)?;
    let target = target_dir(&workspace);
    let built = target.join("debug");
    let dir = target.join("example-plugins");
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(format!("{}: cannot remove: {error}", dir.display())),
    }
    std::fs::create_dir_all(&dir)
        .map_err(|error| format!("{}: cannot create: {error}", dir.display()))?;
    for package in PACKAGES {
        let file = library_file(package);
        let from = built.join(&file);
        std::fs::copy(&from, dir.join(&file)).map_err(|error| {
            format!(
                "{}: cannot copy the {package} library after building it: {error} \
                 (set CARGO_TARGET_DIR if cargo's target directory is configured elsewhere)",
                from.display()
            )
        })?;
    }
    Ok(dir)
}

/// Runs `cargo build -p <each example>` in `workspace`.
fn build(workspace: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(&cargo);
    command
        .arg("build")
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"));
    for package in PACKAGES {
        command.args(["-p", package]);
    }
    // Keep stdout for greetings; cargo's messages already go to stderr.
    command.stdout(Stdio::from(io::stderr()));
    let status = command
        .status()
        .map_err(|error| format!("cannot run `{}`: {error}", Path::new(&cargo).display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "building the example plugins failed: `{} build -p {}` exited with {status}",
            Path::new(&cargo).display(),
            PACKAGES.join(" -p ")
        ))
    }
}

/// `options` with the worker of `--isolate`: `plugin-worker` beside this
/// executable. A host run by `cargo run` from its workspace has only
/// itself built, so the worker is built with cargo first (to the same
/// profile); anywhere else a missing worker is an error saying so.
pub fn with_worker(
    options: plugin_interface::isolation::WorkerOptions,
) -> Result<plugin_interface::isolation::WorkerOptions, String> {
    let exe =
        std::env::current_exe().map_err(|error| format!("cannot find this executable: {error}"))?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let worker = dir.join(format!("plugin-worker{}", std::env::consts::EXE_SUFFIX));
    let workspace = workspace_dir();
    if !worker.is_file() && dir.starts_with(target_dir(&workspace)) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let mut command = Command::new(&cargo);
        command
            .arg("build")
            .arg("--manifest-path")
            .arg(workspace.join("Cargo.toml"))
            .args(["-p", "plugin-host", "--bin", "plugin-worker"]);
        if dir.file_name().is_some_and(|name| name == "release") {
            command.arg("--release");
        }
        command.stdout(Stdio::from(io::stderr()));
        let status = command
            .status()
            .map_err(|error| format!("cannot run `{}`: {error}", Path::new(&cargo).display()))?;
        if !status.success() {
            return Err(format!(
                "building plugin-worker failed: cargo exited with {status}"
            ));
        }
    }
    if worker.is_file() {
        Ok(options.worker(worker))
    } else {
        Err(format!(
            "--isolate needs `plugin-worker` beside this executable, at {} (it is built with \
             plugin-host: `cargo build -p plugin-host --bins`)",
            worker.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_files_follow_cargo_naming() {
        let suffix = std::env::consts::DLL_SUFFIX;
        let prefix = std::env::consts::DLL_PREFIX;
        assert_eq!(
            library_file("multi-greeter-plugin"),
            format!("{prefix}multi_greeter_plugin{suffix}")
        );
    }

    #[test]
    fn workspace_has_the_examples() {
        let workspace = workspace_dir();
        for package in PACKAGES {
            let manifest = workspace.join("examples").join(package).join("Cargo.toml");
            assert!(manifest.is_file(), "{}", manifest.display());
        }
    }
}
