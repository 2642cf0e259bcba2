//! Support for the cross-crate tests: builds every example and fixture
//! plugin library once per test binary, into a target directory of its own,
//! and hands out their paths. A library that fails to build fails the test
//! that asked for it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use escargot::format::Message;

pub mod capture;
pub mod image;
pub mod lifecycle;
pub mod zoo;

/// The plugin library packages the tests load.
pub const PACKAGES: &[&str] = &[
    "english-plugin",
    "multi-greeter-plugin",
    "calculator-plugin",
    "roundtrip-plugin",
    "roundtrip-shared-plugin",
    "not-a-plugin",
    "constructor-mark",
    "greeter-plugin-1-1",
    "greeter-plugin-2-0",
    "lifecycle-v1",
    "lifecycle-v2",
    "lifecycle-v3",
    "lifecycle-broken",
    "zoo-plugin",
    "store-plugin",
    "hello-plugin",
    "ring-store",
    "forged-plugin",
    "forged-plugin-variant",
    "forged-plugin-field",
    "other-greeter-plugin",
    "shop-plugin",
    "flaky-plugin",
];

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/suite/ is inside the workspace")
        .to_path_buf()
}

/// The target directory the fixtures are built into: separate from the one
/// running the tests, so the nested build never waits on its lock.
pub fn target_dir() -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    base.join("plugin-tests")
}

/// The built libraries, by package name.
#[derive(Debug)]
pub struct Plugins {
    libraries: BTreeMap<String, PathBuf>,
}

impl Plugins {
    /// The library of `package`; panics if it was not built.
    pub fn path(&self, package: &str) -> &Path {
        self.libraries.get(package).unwrap_or_else(|| {
            panic!(
                "no library built for `{package}`; built: {:?}",
                self.libraries.keys().collect::<Vec<_>>()
            )
        })
    }

    /// Copies the library of `package` into `dir` under `name` (the
    /// platform's library suffix is added) and returns the copy's path.
    pub fn copy_to(&self, package: &str, dir: &Path, name: &str) -> PathBuf {
        let to = dir.join(format!("{name}.{}", std::env::consts::DLL_EXTENSION));
        std::fs::copy(self.path(package), &to)
            .unwrap_or_else(|e| panic!("copying {package} to {}: {e}", to.display()));
        to
    }
}

/// Builds every package of [`PACKAGES`] (once per process) and returns
/// their libraries. Panics with cargo's output when the build fails.
pub fn plugins() -> &'static Plugins {
    static PLUGINS: OnceLock<Plugins> = OnceLock::new();
    PLUGINS.get_or_init(build)
}

fn build() -> Plugins {
    let mut command = escargot::CargoBuild::new()
        .manifest_path(workspace().join("Cargo.toml"))
        .target_dir(target_dir());
    for package in PACKAGES {
        command = command.package(package);
    }
    let messages = command
        .exec()
        .unwrap_or_else(|e| panic!("cannot start cargo to build the plugin fixtures: {e}"));
    let mut libraries = BTreeMap::new();
    let mut diagnostics = String::new();
    for message in messages {
        let message = message
            .unwrap_or_else(|e| panic!("building the plugin fixtures failed: {e}\n{diagnostics}"));
        match message.decode() {
            Ok(Message::CompilerArtifact(artifact)) => {
                if !artifact.target.kind.iter().any(|kind| kind == "cdylib") {
                    continue;
                }
                let suffix = std::env::consts::DLL_SUFFIX;
                let library = artifact
                    .filenames
                    .iter()
                    .find(|path| path.to_string_lossy().ends_with(suffix))
                    .unwrap_or_else(|| panic!("no {suffix} among {:?}", artifact.filenames));
                let package = artifact.target.name.replace('_', "-");
                libraries.insert(package, library.to_path_buf());
            }
            Ok(Message::CompilerMessage(message)) => {
                if let Some(rendered) = &message.message.rendered {
                    diagnostics.push_str(rendered);
                }
            }
            _ => {}
        }
    }
    for package in PACKAGES {
        assert!(
            libraries.contains_key(*package),
            "cargo built no library for `{package}`\n{diagnostics}"
        );
    }
    Plugins { libraries }
}

/// The `plugin-host` binary, built (once per process) into
/// [`target_dir`]; panics with cargo's output when the build fails.
pub fn plugin_host() -> &'static Path {
    static HOST: OnceLock<PathBuf> = OnceLock::new();
    HOST.get_or_init(|| host_binary("plugin-host"))
}

/// The `plugin-worker` executable, built (once per process) into
/// [`target_dir`], beside `plugin-host`; panics with cargo's output when
/// the build fails.
pub fn plugin_worker() -> &'static Path {
    static WORKER: OnceLock<PathBuf> = OnceLock::new();
    WORKER.get_or_init(|| host_binary("plugin-worker"))
}

/// Builds the binary `name` of the `plugin-host` package into
/// [`target_dir`] and returns its path.
fn host_binary(name: &str) -> PathBuf {
    escargot::CargoBuild::new()
        .manifest_path(workspace().join("Cargo.toml"))
        .target_dir(target_dir())
        .package("plugin-host")
        .bin(name)
        .run()
        .unwrap_or_else(|e| panic!("building {name} failed: {e}"))
        .path()
        .to_path_buf()
}

/// The README's code blocks, compiled (and run, unless marked `no_run`) as
/// doctests of this crate, whose dev-dependencies include the example
/// interfaces the tutorial uses.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// Runs `body` in a child process that re-executes this test binary with
/// only the test `name`, and asserts that the child exited normally. A
/// crash (say, `SIGBUS` inside `dlopen`) then fails one test with its
/// output, instead of killing the whole test run.
pub fn in_child_process(name: &str, body: impl FnOnce()) {
    const CHILD: &str = "PLUGIN_TESTS_IN_CHILD";
    if std::env::var_os(CHILD).is_some() {
        body();
        return;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = std::process::Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD, "1")
        .output()
        .expect("re-executing the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the child process running `{name}` did not exit normally ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("1 passed"),
        "the child process did not run `{name}`:\n{stdout}"
    );
}

/// Replaces every occurrence of `from` in `bytes` by `to` (same length) and
/// returns how many there were.
pub fn patch(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len(), "a patch keeps the file's layout");
    let mut count = 0;
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(from.len()).position(|w| w == from) {
        let start = at + found;
        bytes[start..start + to.len()].copy_from_slice(to);
        count += 1;
        at = start + to.len();
    }
    count
}
