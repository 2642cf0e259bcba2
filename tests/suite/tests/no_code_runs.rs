//! Checking a file runs none of its code: the fixture's static constructor
//! leaves a mark when the library is mapped, and only loading leaves it.
#![cfg(target_os = "linux")]

use greeter_interface::Greeter;
use plugin_interface::{PluginFile, PluginLibrary, scan_directory};
use plugin_tests::{in_child_process, plugin_host, plugins};

#[test]
fn checking_inspecting_and_listing_run_no_constructor() {
    in_child_process("checking_inspecting_and_listing_run_no_constructor", || {
        let dir = tempfile::tempdir().unwrap();
        let mark = dir.path().join("mark");
        // SAFETY: this child process runs this one test on its only thread
        // so far; nothing reads the environment concurrently.
        unsafe { std::env::set_var("PLUGIN_CONSTRUCTOR_MARK", &mark) };
        let plugins_dir = dir.path().join("plugins");
        std::fs::create_dir(&plugins_dir).unwrap();
        let path = plugins().copy_to("constructor-mark", &plugins_dir, "libmarked");

        // What `check`, `inspect` and `list` do.
        let file = PluginFile::check(&path).unwrap();
        file.check_interface::<dyn Greeter>().unwrap();
        let entries = file.entries("Greeter").unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].entry, "Marked");
        assert_eq!(file.canary().traits.len(), 1);
        for library in scan_directory(&plugins_dir).unwrap().libraries {
            PluginFile::check(&library).unwrap();
        }
        assert!(!mark.exists(), "checking the file ran its constructor");

        // Loading runs it: the fixture does leave its mark.
        let library = PluginLibrary::open(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&mark).unwrap(), "constructor ran\n");
        let greeters = library.instantiate::<dyn Greeter>().unwrap();
        assert_eq!(greeters[0].greet("you"), "Marked, you.");
    });
}

#[test]
fn plugin_host_check_inspect_and_list_run_no_constructor() {
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("mark");
    let plugins_dir = dir.path().join("plugins");
    std::fs::create_dir(&plugins_dir).unwrap();
    let path = plugins().copy_to("constructor-mark", &plugins_dir, "libmarked");
    let host = |args: &[&std::ffi::OsStr]| {
        let output = std::process::Command::new(plugin_host())
            .args(args)
            .env("PLUGIN_CONSTRUCTOR_MARK", &mark)
            .output()
            .expect("plugin-host starts");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{args:?}: {}\n{stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };
    let library = path.as_os_str();
    assert!(host(&["check".as_ref(), library]).contains("[Marked]"));
    assert!(host(&["inspect".as_ref(), library]).contains("entries:   Marked"));
    assert!(host(&["list".as_ref(), plugins_dir.as_os_str()]).contains("Marked"));
    assert!(!mark.exists(), "check, inspect or list ran the constructor");
    assert!(host(&["run".as_ref(), library]).contains("Marked, world."));
    assert_eq!(std::fs::read_to_string(&mark).unwrap(), "constructor ran\n");
}
