//! A directory scan returns one result per library file; one bad file never
//! hides the others.

use greeter_interface::Greeter;
use plugin_interface::{PluginError, load_plugins};
use plugin_tests::plugins;

#[test]
fn good_plugins_load_and_bad_files_are_error_entries() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugins();
    let good = plugins.copy_to("english-plugin", dir.path(), "b-english");
    let foreign = plugins.copy_to("not-a-plugin", dir.path(), "a-foreign");
    let text = dir
        .path()
        .join(format!("c-text.{}", std::env::consts::DLL_EXTENSION));
    std::fs::write(&text, "this is not a library\n").unwrap();
    let empty = dir
        .path()
        .join(format!("d-empty.{}", std::env::consts::DLL_EXTENSION));
    std::fs::write(&empty, b"").unwrap();
    let other_trait = plugins.copy_to("calculator-plugin", dir.path(), "e-calculator");
    let readme = dir.path().join("README.txt");
    std::fs::write(&readme, "notes").unwrap();

    let report = load_plugins::<dyn Greeter>(dir.path()).unwrap();
    let paths: Vec<_> = report.files().iter().map(|f| f.path.clone()).collect();
    assert_eq!(
        paths,
        [
            foreign.clone(),
            good.clone(),
            text.clone(),
            empty.clone(),
            other_trait.clone()
        ]
    );
    assert_eq!(report.ignored(), [readme]);

    let greetings: Vec<String> = report.plugins().map(|p| p.greet("dir")).collect();
    assert_eq!(greetings, ["Hello, dir!", "Hello, dir, the answer is 42."]);

    let errors: Vec<&PluginError> = report.errors().collect();
    assert_eq!(errors.len(), 3);
    assert!(
        matches!(errors[0], PluginError::NotAPlugin { library, .. } if *library == foreign),
        "{:?}",
        errors[0]
    );
    assert!(
        matches!(errors[1], PluginError::NotALibrary { library, .. } if *library == text),
        "{:?}",
        errors[1]
    );
    assert!(
        matches!(errors[2], PluginError::NotALibrary { library, .. } if *library == empty),
        "{:?}",
        errors[2]
    );
    for error in errors {
        let line = error.to_string();
        assert!(
            line.starts_with(&error.library().display().to_string()),
            "{line}"
        );
        assert!(!line.contains('\n'), "{line}");
    }
}

#[test]
fn a_single_library_path_loads_that_library() {
    let report = load_plugins::<dyn Greeter>(plugins().path("english-plugin")).unwrap();
    assert_eq!(report.files().len(), 1);
    assert_eq!(report.len(), 1);
}

#[test]
fn a_missing_source_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    match load_plugins::<dyn Greeter>(&missing) {
        Err(PluginError::Io { library, .. }) => assert_eq!(library, missing),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_empty_directory_loads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let report = load_plugins::<dyn Greeter>(dir.path()).unwrap();
    assert!(report.is_empty());
    assert!(report.files().is_empty());
}

/// More libraries at once than descriptor numbers get reused between
/// loads: each copy is mapped under a name of its own, so none is handed
/// the image of another, and all of them load, answer and leave. In a
/// child process, so that no other test's libraries or descriptors count.
#[test]
fn a_hundred_and_fifty_libraries_load_at_once_and_each_is_its_own() {
    plugin_tests::in_child_process(
        "a_hundred_and_fifty_libraries_load_at_once_and_each_is_its_own",
        many_libraries_at_once,
    );
}

fn many_libraries_at_once() {
    use plugin_tests::lifecycle::{mapped_copies, open_fds};
    const COUNT: usize = 150;
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugins();
    for index in 0..COUNT {
        plugins.copy_to("english-plugin", dir.path(), &format!("english-{index:03}"));
    }
    let fds_before = open_fds();

    let report = load_plugins::<dyn Greeter>(dir.path()).unwrap();
    let errors: Vec<String> = report.errors().map(ToString::to_string).collect();
    assert_eq!(errors, Vec::<String>::new());
    let libraries: std::collections::BTreeSet<_> = report
        .plugins()
        .map(|proxy| proxy.info().library().to_path_buf())
        .collect();
    assert_eq!(libraries.len(), COUNT);
    assert!(
        report
            .plugins()
            .all(|proxy| proxy.greet("crowd") == "Hello, crowd!")
    );
    let images = mapped_copies();
    assert_eq!(
        images.len(),
        COUNT,
        "one mapped image per library: {images:?}"
    );
    assert_eq!(
        open_fds(),
        fds_before,
        "a loaded library holds no descriptor"
    );
    drop(report);
    assert_eq!(mapped_copies(), Default::default());

    let manager = plugin_interface::PluginManager::new().unwrap();
    let report = manager.load_plugins::<dyn Greeter>(dir.path()).unwrap();
    assert_eq!(report.errors().count(), 0);
    assert_eq!(report.plugins().count(), COUNT);
    assert!(
        report
            .plugins()
            .all(|proxy| proxy.greet("crowd") == "Hello, crowd!")
    );
    drop(report);
    let closed = manager.close().unwrap();
    assert_eq!(closed.len(), COUNT);
    assert!(
        closed.iter().all(|report| report.outcome.is_unloaded()),
        "{closed:?}"
    );
    assert_eq!(mapped_copies(), Default::default());
}

/// A manager asked to load a directory again loads only what is new: the
/// libraries it has are reported as already loaded, with no new instances.
#[test]
fn a_manager_loading_a_directory_twice_loads_only_the_new_files() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugins();
    let english = plugins.copy_to("english-plugin", dir.path(), "a-english");
    let multi = plugins.copy_to("multi-greeter-plugin", dir.path(), "b-multi");
    let manager = plugin_interface::PluginManager::new().unwrap();

    let first = manager.load_plugins::<dyn Greeter>(dir.path()).unwrap();
    assert_eq!(first.len(), 3, "English, French and Pirate");
    assert_eq!(first.already_loaded().count(), 0);

    let calculator = plugins.copy_to("calculator-plugin", dir.path(), "c-calculator");
    let second = manager.load_plugins::<dyn Greeter>(dir.path()).unwrap();
    assert_eq!(second.errors().count(), 0, "{second:?}");
    assert_eq!(
        second.already_loaded().collect::<Vec<_>>(),
        [english.as_path(), multi.as_path()]
    );
    let greetings: Vec<String> = second.plugins().map(|proxy| proxy.greet("again")).collect();
    assert_eq!(greetings, ["Hello, again, the answer is 42."]);
    assert_eq!(manager.loaded().len(), 3);
    assert!(manager.handle(&calculator).is_some());
    let again = manager.load_plugins::<dyn Greeter>(dir.path()).unwrap();
    assert!(again.is_empty());
    assert_eq!(again.already_loaded().count(), 3);
    assert!(again.into_result().unwrap().is_empty());
    drop((first, second));
    assert_eq!(manager.close().unwrap().len(), 3);
}
