//! `plugin-host run --isolate` and `call --isolate` as a user runs them:
//! each misbehaving library gets one error line naming it and what
//! happened, the others still answer, and the host exits with 1 instead
//! of dying.

use std::path::PathBuf;

use plugin_tests::{plugin_host, plugin_worker, plugins};
use snapbox::cmd::Command;
use snapbox::{Assert, Redactions};

/// A directory with a well-behaved and a misbehaving `Greeter`, and the
/// assertion that writes its path `[DIR]`.
fn directory() -> (tempfile::TempDir, Assert) {
    plugin_worker();
    let dir = tempfile::tempdir().unwrap();
    plugins().copy_to("english-plugin", dir.path(), "a-english");
    plugins().copy_to("flaky-plugin", dir.path(), "b-flaky");
    let mut redactions = Redactions::new();
    let shown: PathBuf = dir.path().to_path_buf();
    redactions.insert("[DIR]", shown).unwrap();
    let assert = Assert::new()
        .action_env(snapbox::assert::DEFAULT_ACTION_ENV)
        .normalize_paths(false)
        .redact_with(redactions);
    (dir, assert)
}

fn run(assert: &Assert, dir: &tempfile::TempDir, args: &[&str]) -> snapbox::cmd::OutputAssert {
    Command::new(plugin_host())
        .args(["run", "--isolate"])
        .args(args)
        .arg(dir.path())
        .env("RUST_BACKTRACE", "0")
        .with_assert(assert.clone())
        .assert()
}

#[test]
fn run_isolated_greets_with_every_library_in_its_own_worker() {
    let (dir, assert) = directory();
    run(&assert, &dir, &[])
        .success()
        .stdout_eq("English (a-english.so): Hello, world!\nFlaky (b-flaky.so): Hi, world!\n")
        .stderr_eq("");
}

#[test]
fn a_crash_an_exit_or_a_hang_is_one_line_and_the_others_still_answer() {
    let (dir, assert) = directory();
    for (name, what) in [
        (
            "segv",
            "the worker process was killed by SIGSEGV during Greeter::greet",
        ),
        (
            "abort",
            "the worker process was killed by SIGABRT during Greeter::greet",
        ),
        (
            "exit",
            "the worker process exited with code 3 during Greeter::greet",
        ),
        (
            "loop",
            "Greeter::greet did not return within 500ms; its worker process was killed",
        ),
    ] {
        run(&assert, &dir, &["--call-timeout", "500ms", "--name", name])
            .code(1)
            .stdout_eq(format!("English (a-english.so): Hello, {name}!\n"))
            .stderr_eq(format!("error: [DIR]/b-flaky.so: {what}\n"));
    }
}

#[test]
fn call_isolated_prints_the_result_or_one_line() {
    plugin_worker();
    let call = |package: &str, arg: &str| {
        Command::new(plugin_host())
            .args(["call", "--isolate"])
            .arg(plugins().path(package))
            .args(["Greeter.greet", arg])
            .assert()
    };
    call("english-plugin", "world")
        .success()
        .stdout_eq("\"Hello, world!\"\n")
        .stderr_eq("");
    call("flaky-plugin", "exit")
        .code(1)
        .stdout_eq("")
        .stderr_eq(format!(
            "error: {}: the worker process exited with code 3 during Greeter::greet\n",
            plugins().path("flaky-plugin").display()
        ));
}

#[test]
fn a_call_timeout_without_isolation_is_a_usage_error() {
    Command::new(plugin_host())
        .args(["run", "--call-timeout", "2s"])
        .assert()
        .code(2);
    Command::new(plugin_host())
        .args(["run", "--isolate", "--call-timeout", "2"])
        .assert()
        .code(2);
}
