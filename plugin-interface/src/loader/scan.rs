//! `load_plugins`: from a directory, a file or a spec to typed proxies.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::PluginError;
use crate::interface::PluginInterface;
use crate::loader::library::PluginLibrary;
use crate::loader::options::{Isolation, LoadOptions};

/// Selects one library, and optionally one entry and one trait in it:
/// `lib:plugins/libgreeters.so?entry=French#Greeter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSpec {
    /// The library file.
    pub path: PathBuf,
    /// The implementing type to make; all of them when `None`.
    pub entry: Option<String>,
    /// The trait to make, for a library that implements several; all of
    /// them when `None`.
    pub trait_name: Option<String>,
}

impl PluginSpec {
    /// The prefix that marks a spec.
    pub const PREFIX: &'static str = "lib:";

    /// Parses `lib:<path>[?entry=<name>][#<Trait>]`.
    pub fn parse(spec: &str) -> Result<Self, PluginError> {
        let invalid = |reason: &str| PluginError::InvalidSpec {
            library: PathBuf::from(spec),
            reason: reason.to_owned(),
        };
        let rest = spec
            .strip_prefix(Self::PREFIX)
            .ok_or_else(|| invalid("expected `lib:<path>[?entry=<name>]`"))?;
        let (rest, trait_name) = match rest.rsplit_once('#') {
            Some((rest, name)) => {
                let valid =
                    !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
                if !valid {
                    return Err(invalid("`#` is followed by one trait name"));
                }
                (rest, Some(name.to_owned()))
            }
            None => (rest, None),
        };
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        if path.is_empty() {
            return Err(invalid("empty library path"));
        }
        let entry = match query {
            None => None,
            Some(query) => {
                let name = query
                    .strip_prefix("entry=")
                    .ok_or_else(|| invalid("the only query parameter is `entry=<name>`"))?;
                if name.is_empty() || name.contains(['&', '=', '?']) {
                    return Err(invalid("`entry=` takes one type name"));
                }
                Some(name.to_owned())
            }
        };
        Ok(Self {
            path: PathBuf::from(path),
            entry,
            trait_name,
        })
    }
}

/// The result of loading one library file.
pub struct FileReport<I: ?Sized + PluginInterface> {
    /// The library file.
    pub path: PathBuf,
    /// Its proxies, or why it could not be loaded.
    pub result: Result<Vec<I::Proxy>, PluginError>,
}

impl<I: ?Sized + PluginInterface> fmt::Debug for FileReport<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let result = match &self.result {
            Ok(proxies) => format!("Ok({} proxies)", proxies.len()),
            Err(error) => format!("Err({error})"),
        };
        f.debug_struct("FileReport")
            .field("path", &self.path)
            .field("result", &result)
            .finish()
    }
}

/// What [`load_plugins`] found: one result per library file, in path order,
/// so one bad file never hides the others.
///
/// Iterating a report yields the proxies that loaded.
pub struct LoadReport<I: ?Sized + PluginInterface> {
    files: Vec<FileReport<I>>,
    ignored: Vec<PathBuf>,
}

impl<I: ?Sized + PluginInterface> LoadReport<I> {
    pub(crate) fn new(files: Vec<FileReport<I>>, ignored: Vec<PathBuf>) -> Self {
        Self { files, ignored }
    }

    /// One entry per library file.
    pub fn files(&self) -> &[FileReport<I>] {
        &self.files
    }

    /// Files of a directory that were not tried because their name does not
    /// end in this platform's library suffix (`.so`, `.dylib`, `.dll`), or
    /// is a temporary file's (`.#x.so`, `~x.so`).
    pub fn ignored(&self) -> &[PathBuf] {
        &self.ignored
    }

    /// The proxies that loaded, in path order.
    pub fn plugins(&self) -> impl Iterator<Item = &I::Proxy> {
        self.files
            .iter()
            .filter_map(|file| file.result.as_ref().ok())
            .flatten()
    }

    /// The files that failed, with their errors; not those a
    /// [`PluginManager`](crate::PluginManager) had loaded already (see
    /// [`already_loaded`](Self::already_loaded)).
    pub fn errors(&self) -> impl Iterator<Item = &PluginError> {
        self.files
            .iter()
            .filter_map(|file| file.result.as_ref().err())
            .filter(|error| !matches!(error, PluginError::AlreadyLoaded { .. }))
    }

    /// The files a [`PluginManager`](crate::PluginManager) had loaded
    /// before this call, which it left as they were: no new instances.
    pub fn already_loaded(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().filter_map(|file| match &file.result {
            Err(PluginError::AlreadyLoaded { .. }) => Some(file.path.as_path()),
            _ => None,
        })
    }

    /// Number of proxies that loaded.
    pub fn len(&self) -> usize {
        self.plugins().count()
    }

    /// Whether no proxy loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The proxies that loaded, dropping the errors.
    pub fn into_plugins(self) -> Vec<I::Proxy> {
        self.files
            .into_iter()
            .filter_map(|file| file.result.ok())
            .flatten()
            .collect()
    }

    /// The proxies if every file loaded (or was loaded already), else the
    /// first error.
    pub fn into_result(self) -> Result<Vec<I::Proxy>, PluginError> {
        let mut proxies = Vec::new();
        for file in self.files {
            match file.result {
                Ok(loaded) => proxies.extend(loaded),
                Err(PluginError::AlreadyLoaded { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(proxies)
    }
}

impl<I: ?Sized + PluginInterface> fmt::Debug for LoadReport<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadReport")
            .field("files", &self.files)
            .field("ignored", &self.ignored)
            .finish()
    }
}

impl<I: ?Sized + PluginInterface> IntoIterator for LoadReport<I> {
    type Item = I::Proxy;
    type IntoIter = std::vec::IntoIter<I::Proxy>;

    fn into_iter(self) -> Self::IntoIter {
        self.into_plugins().into_iter()
    }
}

impl<'a, I: ?Sized + PluginInterface> IntoIterator for &'a LoadReport<I> {
    type Item = &'a I::Proxy;
    type IntoIter = Box<dyn Iterator<Item = &'a I::Proxy> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.plugins())
    }
}

/// Loads every plugin of trait `I` from `source`:
///
/// - a directory: every file with this platform's library suffix, in sorted
///   order, one [`FileReport`] each;
/// - a library file: that file;
/// - a spec `lib:<path>?entry=<name>`: one implementation of that library
///   (a path given as a string starting with `lib:` is always read as a
///   spec); a `#<Trait>` at its end must name `I`'s trait.
///
/// The outer `Err` is only for a `source` that cannot be read at all.
///
/// ```no_run
/// # use plugin_interface::plugin_trait;
/// # #[plugin_trait] pub trait Greeter { fn greet(&self, target: &str) -> String; }
/// let plugins = plugin_interface::load_plugins::<dyn Greeter>("plugins/")?;
/// for error in plugins.errors() {
///     eprintln!("{error}");
/// }
/// for plugin in &plugins {
///     println!("{}", plugin.greet("world"));
/// }
/// # Ok::<(), plugin_interface::PluginError>(())
/// ```
pub fn load_plugins<I: ?Sized + PluginInterface>(
    source: impl AsRef<Path>,
) -> Result<LoadReport<I>, PluginError> {
    load_plugins_with::<I>(source, &LoadOptions::default())
}

/// [`load_plugins`] with options.
pub fn load_plugins_with<I: ?Sized + PluginInterface>(
    source: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<LoadReport<I>, PluginError> {
    let source = source.as_ref();
    if let Some(spec) = source
        .to_str()
        .filter(|s| s.starts_with(PluginSpec::PREFIX))
    {
        let spec = PluginSpec::parse(spec)?;
        let wanted = I::DESCRIPTOR.name.as_str();
        let result = match &spec.trait_name {
            Some(name) if name != wanted => Err(PluginError::InvalidSpec {
                library: spec.path.clone(),
                reason: format!("selects `{name}`, but `{wanted}` plugins are being loaded"),
            }),
            _ => load_file::<I>(&spec.path, spec.entry.as_deref(), options),
        };
        return Ok(LoadReport {
            files: vec![FileReport {
                path: spec.path,
                result,
            }],
            ignored: Vec::new(),
        });
    }
    let metadata = std::fs::metadata(source).map_err(|error| PluginError::Io {
        library: source.to_path_buf(),
        source: error,
    })?;
    if !metadata.is_dir() {
        let result = load_file::<I>(source, None, options);
        return Ok(LoadReport {
            files: vec![FileReport {
                path: source.to_path_buf(),
                result,
            }],
            ignored: Vec::new(),
        });
    }
    let DirectoryScan { libraries, ignored } = scan_directory(source)?;
    let files = libraries
        .into_iter()
        .map(|path| {
            let result = load_file::<I>(&path, None, options);
            FileReport { path, result }
        })
        .collect();
    Ok(LoadReport { files, ignored })
}

/// The files of a plugin directory, as [`scan_directory`] sorts them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryScan {
    /// Files with this platform's library suffix that are not temporary
    /// files (`.#x.so`, `~x.so`), in path order.
    pub libraries: Vec<PathBuf>,
    /// The other files, in path order. Subdirectories are not listed.
    pub ignored: Vec<PathBuf>,
}

/// Whether `path` names a library file, for a directory scan and the
/// watcher alike: the name ends in this platform's library suffix (`.so`,
/// `.dylib`, `.dll`) and does not start with `.`, `~` or `#`, the marks of
/// editors' and copy tools' temporary files (`.#x.so`, `~x.so`).
pub(crate) fn is_library_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return false;
    };
    !name.starts_with(['.', '~', '#'])
        && path
            .extension()
            .is_some_and(|ext| ext == std::env::consts::DLL_EXTENSION)
}

/// Sorts the files of `dir` into libraries (this platform's library
/// suffix, `.so`, `.dylib` or `.dll`, and not a temporary file's name such
/// as `.#x.so` or `~x.so`) and others, the way [`load_plugins`] and the
/// watcher do.
pub fn scan_directory(dir: &Path) -> Result<DirectoryScan, PluginError> {
    let io = |source| PluginError::Io {
        library: dir.to_path_buf(),
        source,
    };
    let mut scan = DirectoryScan::default();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            continue;
        }
        if is_library_file(&path) {
            scan.libraries.push(path);
        } else {
            scan.ignored.push(path);
        }
    }
    scan.libraries.sort();
    scan.ignored.sort();
    Ok(scan)
}

fn load_file<I: ?Sized + PluginInterface>(
    path: &Path,
    entry: Option<&str>,
    options: &LoadOptions,
) -> Result<Vec<I::Proxy>, PluginError> {
    #[cfg(unix)]
    if let Isolation::Process(worker) = &options.isolation {
        // The proxies keep the worker: the library's handle may go.
        let library = crate::isolation::WorkerLibrary::spawn(path, options, worker)?;
        return match entry {
            Some(entry) => Ok(vec![library.instantiate_entry::<I>(entry)?]),
            None => library.instantiate::<I>(),
        };
    }
    let library = PluginLibrary::open_with(path, options)?;
    match entry {
        Some(entry) => Ok(vec![library.instantiate_entry::<I>(entry)?]),
        None => library.instantiate_with::<I>(options.free_through),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_with_entry() {
        let spec = PluginSpec::parse("lib:plugins/libx.so?entry=French").unwrap();
        assert_eq!(spec.path, Path::new("plugins/libx.so"));
        assert_eq!(spec.entry.as_deref(), Some("French"));
    }

    #[test]
    fn spec_with_entry_and_trait() {
        let spec = PluginSpec::parse("lib:plugins/libx.so?entry=French#Greeter").unwrap();
        assert_eq!(spec.path, Path::new("plugins/libx.so"));
        assert_eq!(spec.entry.as_deref(), Some("French"));
        assert_eq!(spec.trait_name.as_deref(), Some("Greeter"));
        let spec = PluginSpec::parse("lib:libx.so#Greeter").unwrap();
        assert_eq!(
            (spec.entry, spec.trait_name.as_deref()),
            (None, Some("Greeter"))
        );
    }

    #[test]
    fn spec_without_entry() {
        let spec = PluginSpec::parse("lib:/abs/libx.so").unwrap();
        assert_eq!(spec.path, Path::new("/abs/libx.so"));
        assert_eq!(spec.entry, None);
    }

    #[test]
    fn bad_specs_say_why() {
        for (spec, reason) in [
            ("plugins/libx.so", "expected `lib:<path>[?entry=<name>]`"),
            ("lib:", "empty library path"),
            (
                "lib:x.so?name=a",
                "the only query parameter is `entry=<name>`",
            ),
            ("lib:x.so?entry=", "`entry=` takes one type name"),
            ("lib:x.so?entry=a&b=c", "`entry=` takes one type name"),
            ("lib:x.so#", "`#` is followed by one trait name"),
            (
                "lib:x.so#Greeter?entry=a",
                "`#` is followed by one trait name",
            ),
        ] {
            match PluginSpec::parse(spec) {
                Err(PluginError::InvalidSpec {
                    library,
                    reason: got,
                }) => {
                    assert_eq!(library, Path::new(spec));
                    assert_eq!(got, reason, "{spec}");
                }
                other => panic!("{spec}: {other:?}"),
            }
        }
    }

    #[test]
    fn scan_sorts_libraries_and_reports_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let suffix = std::env::consts::DLL_EXTENSION;
        for name in [
            format!("b.{suffix}"),
            format!("a.{suffix}"),
            "notes.txt".to_owned(),
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join(format!("sub.{suffix}"))).unwrap();
        let DirectoryScan { libraries, ignored } = scan_directory(dir.path()).unwrap();
        let names: Vec<_> = libraries
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, [format!("a.{suffix}"), format!("b.{suffix}")]);
        assert_eq!(ignored, [dir.path().join("notes.txt")]);
    }
}
