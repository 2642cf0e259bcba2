//! `plugin-host` as a user runs it, checked against the expected output
//! kept as data in `tests/suite/cli/`: a directory that mixes plugins of
//! this host's `Greeter`, of another crate's `Greeter`, of another trait,
//! a library that is no plugin, a text file with a library's name and a
//! file of another kind. `SNAPSHOTS=overwrite` rewrites the files.

use std::path::{Path, PathBuf};

use plugin_tests::{plugin_host, plugins};
use snapbox::cmd::Command;
use snapbox::{Assert, Redactions, file};

/// The mixed directory, and the assertion that writes its path `[DIR]`.
fn mixed() -> (tempfile::TempDir, Assert) {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugins();
    plugins.copy_to("english-plugin", dir.path(), "a-english");
    plugins.copy_to("other-greeter-plugin", dir.path(), "b-other-greeter");
    plugins.copy_to("not-a-plugin", dir.path(), "c-foreign");
    let text = dir
        .path()
        .join(format!("d-text.{}", std::env::consts::DLL_EXTENSION));
    std::fs::write(text, "not a library\n").unwrap();
    plugins.copy_to("shop-plugin", dir.path(), "e-shop");
    std::fs::write(dir.path().join("notes.txt"), "notes\n").unwrap();
    let mut redactions = Redactions::new();
    let shown: PathBuf = dir.path().canonicalize().unwrap();
    redactions.insert("[DIR]", shown).unwrap();
    let assert = Assert::new()
        .action_env(snapbox::assert::DEFAULT_ACTION_ENV)
        .normalize_paths(false)
        .redact_with(redactions);
    (dir, assert)
}

fn host(assert: &Assert, args: &[&Path]) -> snapbox::cmd::OutputAssert {
    Command::new(plugin_host())
        .args(args)
        .with_assert(assert.clone())
        .assert()
}

fn library(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.{}", std::env::consts::DLL_EXTENSION))
}

#[test]
fn run_greets_with_its_own_greeters_and_passes_over_everything_else() {
    let (dir, assert) = mixed();
    host(&assert, &["run".as_ref(), dir.path()])
        .success()
        .stdout_eq(file!["../cli/run_mixed_directory.stdout"])
        .stderr_eq("");
}

#[test]
fn run_isolated_says_the_same_of_the_same_directory() {
    plugin_tests::plugin_worker();
    let (dir, assert) = mixed();
    host(&assert, &["run".as_ref(), "--isolate".as_ref(), dir.path()])
        .success()
        .stdout_eq(file!["../cli/run_mixed_directory.stdout"])
        .stderr_eq("");
}

#[test]
fn check_checks_another_crates_greeter_against_its_own_descriptors() {
    let (dir, assert) = mixed();
    host(
        &assert,
        &["check".as_ref(), &library(dir.path(), "b-other-greeter")],
    )
    .success()
    .stdout_eq(file!["../cli/check_other_greeter.stdout"])
    .stderr_eq("");
}

#[test]
fn list_shows_every_plugin_and_passes_over_the_other_files_quietly() {
    let (dir, assert) = mixed();
    host(&assert, &["list".as_ref(), dir.path()])
        .success()
        .stdout_eq(file!["../cli/list_mixed_directory.stdout"])
        .stderr_eq("");
}

#[test]
fn inspect_describes_another_crates_greeter_without_comparing_it() {
    let (dir, assert) = mixed();
    host(
        &assert,
        &["inspect".as_ref(), &library(dir.path(), "b-other-greeter")],
    )
    .success()
    .stdout_eq(file!["../cli/inspect_other_greeter.stdout"])
    .stderr_eq("");
}
