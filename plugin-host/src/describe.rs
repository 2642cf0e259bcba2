//! What the commands share: how canaries, traits, entries and failures are
//! shown, and the exit status.

use std::borrow::Cow;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use greeter_interface::Greeter;
use plugin_interface::abi::PanicStrategy;
use plugin_interface::{CanaryInfo, EntryInfo, PluginError, PluginInterface, TraitInfo};

/// Name of the one trait this host knows: `Greeter`.
pub fn greeter_name() -> &'static str {
    <dyn Greeter as PluginInterface>::DESCRIPTOR.name.as_str()
}

/// Whether `info` is the `Greeter` this host knows: that name, declared by
/// the host's own interface crate. A trait of another crate that happens
/// to be named `Greeter` is checked against its own descriptors only.
pub fn is_hosts_greeter(info: &TraitInfo) -> bool {
    let host = <dyn Greeter as PluginInterface>::DESCRIPTOR;
    info.name == host.name.as_str() && info.interface_crate == host.interface_crate.as_str()
}

/// `greeter-interface`: the crate the host's `Greeter` comes from.
pub fn greeter_crate() -> &'static str {
    <dyn Greeter as PluginInterface>::DESCRIPTOR
        .interface_crate
        .as_str()
}

/// Whether a command has met a failure so far.
#[derive(Debug, Default)]
pub struct Status {
    /// Whether a failure was reported.
    failed: bool,
}

impl Status {
    /// Prints `error: <error>` on stderr and remembers the failure.
    pub fn fail(&mut self, error: impl Display) {
        eprintln!("error: {error}");
        self.failed = true;
    }

    /// Whether a failure was reported.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// 1 after a failure, else 0.
    pub fn exit_code(&self) -> ExitCode {
        if self.failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// The library files and the other files of `dir`, each sorted;
/// subdirectories are left out. A file given instead of a directory is
/// taken as a library whatever its name.
pub fn scan(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), PluginError> {
    let metadata = std::fs::metadata(dir).map_err(|source| PluginError::Io {
        library: dir.to_path_buf(),
        source,
    })?;
    if !metadata.is_dir() {
        return Ok((vec![dir.to_path_buf()], Vec::new()));
    }
    let scan = plugin_interface::scan_directory(dir)?;
    Ok((scan.libraries, scan.ignored))
}

/// `path`, and the file it names when it is a symlink: `link.so ->
/// /real/libx.so`.
pub fn shown(path: &Path, target: Option<&Path>) -> String {
    match target {
        Some(target) => format!("{} -> {}", path.display(), target.display()),
        None => path.display().to_string(),
    }
}

/// The file a symlink at `path` names, if it is one.
pub fn link_target(path: &Path) -> Option<PathBuf> {
    std::fs::symlink_metadata(path)
        .ok()
        .filter(|metadata| metadata.file_type().is_symlink())
        .and_then(|_| std::fs::canonicalize(path).ok())
}

/// A refusal of `path`, naming the file a symlink at `path` points to.
pub fn refusal(path: &Path, error: PluginError) -> String {
    match link_target(path) {
        Some(target) => format!("{error} (-> {})", target.display()),
        None => error.to_string(),
    }
}

/// Why a library file of a directory is passed over with a quiet line
/// instead of an error: it is a library without a canary (a dependency,
/// say), or not a library at all (a text file with a library's name, a
/// FIFO). A file that looks like a library and fails a check is an error,
/// not this.
pub fn passed_over(path: &Path, error: &PluginError) -> Option<String> {
    match error {
        PluginError::NotAPlugin { symbol, .. } => {
            Some(format!("not a plugin (no `{symbol}` symbol)"))
        }
        PluginError::NotALibrary { reason, .. } if !starts_like_a_library(path) => {
            Some(format!("not a library ({reason})"))
        }
        _ => None,
    }
}

/// Whether `path` is a regular file that starts with the ELF magic; a
/// FIFO or device is never opened, so this never blocks.
fn starts_like_a_library(path: &Path) -> bool {
    use std::io::Read as _;
    if !std::fs::metadata(path).is_ok_and(|metadata| metadata.is_file()) {
        return false;
    }
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut magic))
        .is_ok_and(|()| magic == *b"\x7fELF")
}

/// The line for a file of a directory that was not tried.
pub fn ignored_line(path: &Path) -> String {
    format!(
        "ignored: {} (not a .{} library)",
        path.display(),
        std::env::consts::DLL_EXTENSION
    )
}

/// The file name of `path`, or the whole path if it has none.
pub fn file_name(path: &Path) -> Cow<'_, str> {
    match path.file_name() {
        Some(name) => name.to_string_lossy(),
        None => path.to_string_lossy(),
    }
}

/// `unwind`, `abort` or `unknown`.
pub fn panic_strategy(strategy: Option<PanicStrategy>) -> String {
    strategy.map_or_else(|| "unknown".to_owned(), |strategy| strategy.to_string())
}

/// The canary in one line: framework, compiler, target and panic strategy.
pub fn canary_summary(canary: &CanaryInfo) -> String {
    format!(
        "framework ABI epoch {}, plugin-interface {}, {}, target {}, panic={}",
        canary.abi_epoch,
        canary.framework_version,
        canary.rustc_version,
        canary.target,
        panic_strategy(canary.panic_strategy)
    )
}

/// `Trait (interface-crate version)`.
pub fn trait_heading(info: &TraitInfo) -> String {
    format!(
        "{} ({} {})",
        info.name, info.interface_crate, info.interface_version
    )
}

/// The entry names, comma-separated, or `none`.
pub fn entry_names(entries: &[EntryInfo]) -> String {
    list(entries.iter().map(|info| info.entry.as_str()))
}

/// What a library exports instead of `Greeter`: "no traits" or the list.
pub fn exports(available: &[String]) -> String {
    if available.is_empty() {
        "no traits".to_owned()
    } else {
        list(available.iter().map(String::as_str))
    }
}

/// The items, comma-separated, or `none`.
pub fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.into_iter().collect();
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_scanned_as_itself() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("notes.txt");
        std::fs::write(&file, b"x").expect("write");
        assert_eq!(scan(&file).expect("scan"), (vec![file], Vec::new()));
    }

    #[test]
    fn empty_lists_say_none() {
        assert_eq!(list([]), "none");
        assert_eq!(list(["English", "French"]), "English, French");
        assert_eq!(greeter_name(), "Greeter");
    }
}
