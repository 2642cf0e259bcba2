//! Runs `plugin-host watch` on a directory and changes its files.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// How long a line may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// Builds the english-plugin example and returns its library.
fn english_plugin() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .arg("build")
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .args(["-p", "english-plugin"])
        .stdout(Stdio::null())
        .status()
        .expect("cargo starts");
    assert!(status.success(), "building english-plugin: {status}");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), PathBuf::from);
    target.join("debug").join(format!(
        "{}english_plugin{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

/// A running `plugin-host watch`, killed when dropped; its stdout and
/// stderr lines, as they come.
struct Watching {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Watching {
    fn start(dir: &Path) -> Self {
        Self::start_with(dir, &[])
    }

    fn start_with(dir: &Path, flags: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_plugin-host"))
            .arg("watch")
            .arg(dir)
            .args(["--debounce-ms", "100"])
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("plugin-host starts");
        let (sender, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        forward(stdout, sender.clone());
        forward(stderr, sender);
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line that starts with `start` and contains every one of
    /// `parts`.
    fn expect(&mut self, start: &str, parts: &[&str]) -> String {
        loop {
            let line = self.lines.recv_timeout(PATIENCE).unwrap_or_else(|_| {
                panic!(
                    "no line `{start}... {parts:?}` within {PATIENCE:?}; so far:\n{}",
                    self.seen.join("\n")
                )
            });
            self.seen.push(line.clone());
            if line.starts_with(start) && parts.iter().all(|part| line.contains(part)) {
                return line;
            }
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends each line `from` prints to `to`, on a thread of its own.
fn forward(from: impl Read + Send + 'static, to: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if to.send(line).is_err() {
                break;
            }
        }
    });
}

#[test]
fn watch_loads_reports_and_unloads_as_files_come_and_go() {
    let built = english_plugin();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut watching = Watching::start(dir.path());
    watching.expect("watching ", &["Greeter plugins", "debounce 100 ms"]);

    let suffix = std::env::consts::DLL_EXTENSION;
    let library = dir.path().join(format!("english.{suffix}"));
    std::fs::copy(&built, &library).expect("copy the plugin in");
    let name = library.to_str().expect("temp paths are UTF-8");
    watching.expect(
        "loaded: ",
        &[name, "(generation 1)", "English: Hello, world!"],
    );

    let bad = dir.path().join(format!("bad.{suffix}"));
    std::fs::write(&bad, "not a library\n").expect("write a text file");
    watching.expect("error: load failed: ", &[bad.to_str().expect("UTF-8")]);

    std::fs::remove_file(&library).expect("delete the plugin");
    watching.expect("unloaded: ", &[name, "Greeter=1"]);

    // Another library, still loaded when the host is told to stop (with
    // SIGTERM, as a service manager would): it is unloaded.
    std::fs::copy(&built, &library).expect("copy the plugin in again");
    watching.expect("loaded: ", &[name, "(generation 1)"]);
    #[cfg(unix)]
    {
        let status = Command::new("kill")
            .args(["-TERM", &watching.child.id().to_string()])
            .status()
            .expect("kill starts");
        assert!(status.success(), "kill -TERM: {status}");
        watching.expect("stopped; ", &["libraries unloaded: 1"]);
        let status = watching.child.wait().expect("plugin-host exits");
        assert!(status.success(), "{status}");
    }
}

#[test]
fn watch_isolate_runs_each_library_in_a_worker_and_follows_its_file() {
    let built = english_plugin();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut watching = Watching::start_with(dir.path(), &["--isolate", "--call-timeout", "10s"]);
    watching.expect("watching ", &["Greeter plugins"]);
    let library = dir
        .path()
        .join(format!("english.{}", std::env::consts::DLL_EXTENSION));
    std::fs::copy(&built, &library).expect("copy the plugin in");
    let name = library.to_str().expect("temp paths are UTF-8");
    watching.expect(
        "loaded: ",
        &[name, "(generation 1)", "English: Hello, world!"],
    );
    // The library is not mapped into the host: a worker serves it.
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", watching.child.id()))
        .expect("the host's maps");
    assert!(!maps.contains("english"), "the library is in the host");
    // A change is a reload, served by the new version's worker.
    let mut bytes = std::fs::read(&built).expect("read the plugin");
    bytes.extend_from_slice(b"another build");
    std::fs::write(&library, bytes).expect("rewrite the plugin");
    watching.expect(
        "reloaded: ",
        &[name, "(generation 2)", "English: Hello, world!"],
    );
    std::fs::remove_file(&library).expect("delete the plugin");
    watching.expect("unloaded: ", &[name]);
}
