//! The trust policy: permissions, the trusted list, and symlinks followed
//! to the file they name.
#![cfg(target_os = "linux")]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use greeter_interface::Greeter;
use plugin_interface::{
    LoadOptions, PluginError, PluginFile, PluginLibrary, TrustedList, load_plugins_with,
};
use plugin_tests::plugins;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn refusal(error: &PluginError) -> &str {
    match error {
        PluginError::Untrusted { reason, .. } => reason,
        other => panic!("expected Untrusted, got {other:?}"),
    }
}

#[test]
fn writable_libraries_and_directories_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = plugins().copy_to("english-plugin", dir.path(), "libopen");
    let relaxed = LoadOptions::default().allow_insecure_permissions(true);

    chmod(&path, 0o666);
    let error = PluginFile::check(&path).unwrap_err();
    assert_eq!(error.library(), path);
    assert!(
        refusal(&error).starts_with(&format!(
            "{} is writable by others (mode 0666)",
            path.display()
        )),
        "{error}"
    );
    assert!(PluginLibrary::open(&path).is_err());
    PluginFile::check_with(&path, &relaxed).unwrap();
    PluginLibrary::open_with(&path, &relaxed).unwrap();

    chmod(&path, 0o664);
    let error = PluginLibrary::open(&path).unwrap_err();
    assert!(
        refusal(&error).contains("writable by its group (mode 0664)"),
        "{error}"
    );

    chmod(&path, 0o644);
    chmod(dir.path(), 0o777);
    let error = PluginFile::check(&path).unwrap_err();
    assert!(
        refusal(&error).contains("writable by others without the sticky bit (mode 0777)"),
        "{error}"
    );
    chmod(dir.path(), 0o1777);
    PluginFile::check(&path).unwrap();
    chmod(dir.path(), 0o755);
    PluginFile::check(&path).unwrap();
}

#[test]
fn only_libraries_on_the_trusted_list_load() {
    let dir = tempfile::tempdir().unwrap();
    let english = plugins().copy_to("english-plugin", dir.path(), "libenglish");
    let multi = plugins().copy_to("multi-greeter-plugin", dir.path(), "libmulti");
    let digest = PluginFile::check(&english).unwrap().sha256_hex();
    let list = dir.path().join("trusted.sha256");
    std::fs::write(&list, format!("{digest}  libenglish.so\n")).unwrap();
    let options = LoadOptions::default().trusted(TrustedList::from_file(&list).unwrap());

    let library = PluginLibrary::open_with(&english, &options).unwrap();
    assert_eq!(
        Some(PluginFile::check(&english).unwrap().sha256()),
        library.sha256()
    );
    let error = PluginLibrary::open_with(&multi, &options).unwrap_err();
    assert_eq!(error.library(), multi);
    assert!(
        refusal(&error).ends_with(&format!("is not in the trusted list {}", list.display())),
        "{error}"
    );
    let report = load_plugins_with::<dyn Greeter>(dir.path(), &options).unwrap();
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(report.errors().count(), 1, "{report:?}");
}

#[test]
fn symlinks_are_followed_and_the_target_is_judged() {
    let dir = tempfile::tempdir().unwrap();
    let real_dir = dir.path().join("real");
    std::fs::create_dir(&real_dir).unwrap();
    let real = plugins().copy_to("english-plugin", &real_dir, "libreal");
    let link = dir.path().join("liblink.so");
    std::os::unix::fs::symlink(&real, &link).unwrap();

    let file = PluginFile::check(&link).unwrap();
    assert_eq!(file.path(), link);
    assert_eq!(file.target(), Some(real.canonicalize().unwrap().as_path()));

    chmod(&real, 0o666);
    let error = PluginFile::check(&link).unwrap_err();
    assert_eq!(error.library(), link);
    assert!(
        refusal(&error).contains(&format!(
            "{} is writable by others",
            real.canonicalize().unwrap().display()
        )),
        "{error}"
    );
}
