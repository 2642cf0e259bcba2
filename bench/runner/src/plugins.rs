//! Builds the benchmark's plugin libraries with the same cargo, profile,
//! flags and target directory as the benchmark itself, and finds them.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One plugin library per approach, freshly built.
#[derive(Debug, Clone)]
pub struct Plugins {
    /// The hand-written C ABI.
    pub c_abi: PathBuf,
    /// abi_stable's `#[sabi_trait]` behind a `RootModule`.
    pub abi_stable: PathBuf,
    /// stabby's `dynptr!` behind `#[stabby::export]`.
    pub stabby: PathBuf,
    /// The framework: `#[plugin_impl]`.
    pub ours: PathBuf,
    /// The same source, built with `allocator = host`.
    pub ours_shared: PathBuf,
    /// The target directory the libraries were built in.
    pub target_dir: PathBuf,
}

/// The cdylib packages, with the library target name cargo reports.
const PACKAGES: [(&str, &str); 5] = [
    ("bench-c-abi-plugin", "bench_c_abi_plugin"),
    ("bench-abi-stable-plugin", "bench_abi_stable_plugin"),
    ("bench-stabby-plugin", "bench_stabby_plugin"),
    ("bench-ours-plugin", "bench_ours_plugin"),
    ("bench-ours-shared-plugin", "bench_ours_shared_plugin"),
];

/// The benchmark workspace (`bench/`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .expect("the runner crate lives inside the benchmark workspace")
        .to_path_buf()
}

/// The cargo that runs this benchmark (`$CARGO`), else `cargo` on `PATH`.
pub fn cargo() -> OsString {
    env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Runs `cargo build --release` for every plugin package of the benchmark
/// workspace (a no-op when they are up to date) and returns their paths.
///
/// Runs in the benchmark workspace, so `bench/.cargo/config.toml` applies:
/// the same rustflags and target directory as the benchmark binary.
///
/// # Panics
///
/// When cargo cannot be run, the build fails, or a library is missing from
/// its output: a benchmark must never silently load a stale library.
pub fn build() -> Plugins {
    let (libraries, target_dir) = build_packages(&PACKAGES);
    let [c_abi, abi_stable, stabby, ours, ours_shared]: [PathBuf; 5] =
        libraries.try_into().expect("one library per package");
    Plugins {
        c_abi,
        abi_stable,
        stabby,
        ours,
        ours_shared,
        target_dir,
    }
}

/// Runs `cargo build --release` for `packages` (package name, library
/// target name) in the benchmark workspace and returns their libraries, in
/// order, and the target directory.
///
/// # Panics
///
/// As for [`build`].
pub fn build_packages(packages: &[(&str, &str)]) -> (Vec<PathBuf>, PathBuf) {
    let mut command = Command::new(cargo());
    command.current_dir(workspace_root()).args([
        "build",
        "--release",
        "--message-format=json-render-diagnostics",
    ]);
    for (package, _) in packages {
        command.args(["-p", package]);
    }
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    eprintln!("building the plugin libraries: {command:?}");
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run `{command:?}`: {error}"));
    assert!(
        output.status.success(),
        "building the benchmark plugins failed: `{command:?}` exited with {}",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut found: Vec<Option<PathBuf>> = vec![None; packages.len()];
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let name = message["target"]["name"].as_str().unwrap_or_default();
        let Some(index) = packages.iter().position(|(_, target)| *target == name) else {
            continue;
        };
        let library = message["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|file| file.as_str())
            .find(|file| file.ends_with(env::consts::DLL_SUFFIX));
        found[index] = library.map(PathBuf::from);
    }
    let libraries: Vec<PathBuf> = found
        .into_iter()
        .map(|path| path.expect("a library"))
        .collect();
    let target_dir = libraries[0]
        .parent()
        .and_then(Path::parent)
        .expect("libraries live in <target>/release")
        .to_path_buf();
    (libraries, target_dir)
}
