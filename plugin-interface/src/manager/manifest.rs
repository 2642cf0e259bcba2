//! Manifests: the plugins a host loads, in a TOML file.
//!
//! ```toml
//! [[plugin]]
//! kind = "lib:libhello_plugin.so?entry=Hello#Greeter"
//! config = { greeting = "Howdy" }
//!
//! [[plugin]]
//! kind = "lib:libstore_plugin.so"
//! config = { prefix = "app" }
//! ```

use std::path::{Path, PathBuf};

use super::PluginManager;
use super::lifecycle::Plan;
use crate::error::PluginError;
use crate::manager::PluginHandle;

impl PluginManager {
    /// Loads the plugins a manifest lists, as
    /// [`load_plugin`](Self::load_plugin) does each, but together: they are
    /// constructed in dependency order whatever order the file lists them
    /// in, so a plugin may require a service of one listed after it.
    ///
    /// The manifest has one `[[plugin]]` table per plugin, with `kind`
    /// (`lib:PATH?entry=NAME#Trait`, or a path; a relative PATH is
    /// relative to the manifest's directory) and an optional `config`
    /// table, which the plugin's constructor reads with
    /// `PluginContext::config`.
    ///
    /// All of them load, or none: an error ([`PluginError::Manifest`] for
    /// the file itself, else [`PluginError::ManifestEntry`]) names the
    /// manifest line, the library and the cause, and leaves nothing of
    /// the manifest loaded.
    pub fn load_manifest(&self, path: impl AsRef<Path>) -> Result<Vec<PluginHandle>, PluginError> {
        let manifest = path.as_ref();
        let text = std::fs::read_to_string(manifest).map_err(|source| PluginError::Io {
            library: manifest.to_path_buf(),
            source,
        })?;
        let entries = parse(manifest, &text)?;
        let base = manifest.parent().unwrap_or(Path::new(""));
        let plans = entries
            .iter()
            .map(|entry| {
                Plan::new(&entry.kind, base, entry.config.clone()).map_err(|error| {
                    PluginError::ManifestEntry {
                        manifest: manifest.to_path_buf(),
                        line: entry.line,
                        source: Box::new(error),
                    }
                })
            })
            .collect::<Result<Vec<Plan>, PluginError>>()?;
        self.start(plans)
            .map_err(|(index, error)| PluginError::ManifestEntry {
                manifest: manifest.to_path_buf(),
                line: entries[index].line,
                source: Box::new(error),
            })
    }
}

/// One `[[plugin]]` table.
#[derive(Debug)]
struct Entry {
    /// The line of its header.
    line: usize,
    kind: String,
    /// Its `config` table as a TOML document.
    config: String,
}

/// The line (1-based) of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The lines of the `[[plugin]]` headers, in order.
fn header_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            line.trim_start()
                .strip_prefix("[[")
                .and_then(|rest| rest.trim_start().strip_prefix("plugin"))
                .is_some_and(|rest| rest.trim_start().starts_with("]]"))
        })
        .map(|(index, _)| index + 1)
        .collect()
}

fn parse(manifest: &Path, text: &str) -> Result<Vec<Entry>, PluginError> {
    let error = |line: usize, message: String| PluginError::Manifest {
        library: PathBuf::from(manifest),
        line,
        message,
    };
    let document: toml::Table = toml::from_str(text).map_err(|parse| {
        let line = parse.span().map_or(0, |span| line_of(text, span.start));
        error(line, parse.message().to_owned())
    })?;
    let mut plugins = None;
    for (key, value) in document {
        match key.as_str() {
            "plugin" => plugins = Some(value),
            other => {
                return Err(error(
                    0,
                    format!("unknown key `{other}`; a manifest has `[[plugin]]` tables only"),
                ));
            }
        }
    }
    let Some(toml::Value::Array(plugins)) = plugins else {
        return Err(error(
            0,
            "expected `[[plugin]]` tables, each with a `kind` and an optional `config` table"
                .to_owned(),
        ));
    };
    let lines = header_lines(text);
    plugins
        .into_iter()
        .enumerate()
        .map(|(index, plugin)| {
            let line = lines.get(index).copied().unwrap_or(0);
            let toml::Value::Table(table) = plugin else {
                return Err(error(line, "a `plugin` entry is a table".to_owned()));
            };
            let mut kind = None;
            let mut config = toml::Table::new();
            for (key, value) in table {
                match (key.as_str(), value) {
                    ("kind", toml::Value::String(value)) => kind = Some(value),
                    ("config", toml::Value::Table(value)) => config = value,
                    ("kind", other) => {
                        return Err(error(
                            line,
                            format!("`kind` is a string, found {}", other.type_str()),
                        ));
                    }
                    ("config", other) => {
                        return Err(error(
                            line,
                            format!("`config` is a table, found {}", other.type_str()),
                        ));
                    }
                    (other, _) => {
                        return Err(error(
                            line,
                            format!("unknown key `{other}`; a plugin has `kind` and `config`"),
                        ));
                    }
                }
            }
            let kind = kind.ok_or_else(|| {
                error(
                    line,
                    "missing `kind = \"lib:PATH?entry=NAME#Trait\"`".to_owned(),
                )
            })?;
            let config = toml::to_string(&config).map_err(|write| {
                error(line, format!("`config` cannot be written back: {write}"))
            })?;
            Ok(Entry { line, kind, config })
        })
        .collect()
}
