//! A reload whose new version has other implementations: proxies of the
//! removed ones return `Unloaded`, added ones can be asked for, and an
//! event says which.

use std::time::Duration;

use greeter_interface::Greeter;
use plugin_interface::{CallError, PluginManager, ReloadEvent, ReloadOutcome};
use plugin_tests::plugins;

#[test]
fn a_reload_that_changes_the_implementations_goes_through() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("libgreeters.so");
    std::fs::copy(plugins().path("english-plugin"), &path).unwrap();
    let manager = PluginManager::new().unwrap();
    let events = manager.subscribe();
    manager.load(&path).unwrap();
    let english = manager.proxy::<dyn Greeter>(&path, "English").unwrap();
    assert_eq!(english.greet("you"), "Hello, you!");

    let staging = dir.path().join("staging");
    std::fs::copy(plugins().path("multi-greeter-plugin"), &staging).unwrap();
    std::fs::rename(&staging, &path).unwrap();
    assert_eq!(
        manager.reload(&path).unwrap(),
        ReloadOutcome::Reloaded { generation: 2 }
    );
    assert!(matches!(
        english.try_greet("you"),
        Err(CallError::Unloaded { .. })
    ));
    let pirate = manager.proxy::<dyn Greeter>(&path, "Pirate").unwrap();
    assert_eq!(pirate.greet("you"), "Ahoy, you! Arr!");

    let mut changed = None;
    while let Ok(event) = events.recv_timeout(Duration::from_secs(5)) {
        if let ReloadEvent::EntriesChanged { removed, added, .. } = event {
            changed = Some((removed, added));
            break;
        }
    }
    let (removed, added) = changed.expect("an EntriesChanged event");
    assert_eq!(removed, ["Greeter::English"]);
    assert_eq!(added, ["Greeter::French", "Greeter::Pirate"]);

    drop(pirate);
    let report = manager.unload_by_path(&path).unwrap();
    assert_eq!(report.counter("Greeter"), Some(1), "{report:?}");
}
