//! The seed's host API, as its README documents it: a host that opens a
//! plugin library with `libloading` itself, calls its registration
//! functions, frees what they returned with the generated
//! `unload_greeter`, and reads the unmaker counter from the same
//! `libloading::Library`.

use std::error::Error;

use greeter_interface::{Greeter, unload_greeter};
use libloading::Library;
use plugin_interface::abi::{PanicSlot, RegisterAll, Registration, RegistrationArray};
use plugin_interface::{PluginError, get_unmaker_counter, get_unmaker_counter_for};
use plugin_tests::plugins;

type Maker = unsafe extern "C" fn(*mut PanicSlot) -> *mut Registration;

fn open(package: &str) -> (tempfile::TempDir, Library) {
    let dir = tempfile::tempdir().unwrap();
    let path = plugins().copy_to(package, dir.path(), package);
    // SAFETY: a plugin library of this workspace; its initialisers are
    // harmless.
    let library = unsafe { Library::new(&path) }.unwrap();
    (dir, library)
}

#[test]
fn a_plugin_owned_array_is_freed_by_unload_greeter() -> Result<(), Box<dyn Error>> {
    let (_dir, lib) = open("multi-greeter-plugin");
    assert_eq!(plugin_interface::get_unmaker_counter(&lib, "Greeter")?, 0);
    // SAFETY: the framework's `plugin_register_all_*` has this type.
    let register_all = unsafe { lib.get::<RegisterAll>(b"plugin_register_all_Greeter_v1\0") }?;
    let mut slot = PanicSlot::new();
    // SAFETY: a live panic slot; the array is freed below.
    let array = unsafe { register_all(&mut slot) };
    assert!(!array.is_null());
    // SAFETY: a live array the library returned.
    let count = unsafe { (*array).count };
    assert_eq!(count, 2, "French and Pirate");
    // SAFETY: plugin-owned, returned by this library, not freed yet.
    unsafe { unload_greeter(&lib, array) }?;
    assert_eq!(get_unmaker_counter(&lib, "Greeter")?, 2);
    assert_eq!(get_unmaker_counter_for::<dyn Greeter>(&lib)?, 2);
    Ok(())
}

#[test]
fn a_host_owned_array_is_freed_through_each_registrations_unmaker() -> Result<(), Box<dyn Error>> {
    let (_dir, lib) = open("multi-greeter-plugin");
    let mut registrations = Vec::new();
    for maker in [
        &b"plugin_register_Greeter_French_v1\0"[..],
        b"plugin_register_Greeter_Pirate_v1\0",
        b"plugin_register_Greeter_French_v1\0",
    ] {
        // SAFETY: the framework's makers have this type.
        let maker = unsafe { lib.get::<Maker>(maker) }?;
        let mut slot = PanicSlot::new();
        // SAFETY: a live panic slot; freed below.
        let registration = unsafe { maker(&mut slot) };
        assert!(!registration.is_null());
        registrations.push(registration);
    }
    let array = RegistrationArray::host_owned(registrations);
    // SAFETY: host-owned, made from this library's makers, none freed.
    unsafe { unload_greeter(&lib, array) }?;
    assert_eq!(get_unmaker_counter(&lib, "Greeter")?, 3);
    Ok(())
}

#[test]
fn a_library_without_the_trait_or_the_canary_is_an_error_naming_it() {
    let (_dir, lib) = open("zoo-plugin");
    let error = get_unmaker_counter(&lib, "Greeter").unwrap_err();
    assert!(
        matches!(&error, PluginError::TraitNotExported { trait_name, available, .. }
            if trait_name == "Greeter" && available.contains(&"Zoo".to_owned())),
        "{error:?}"
    );
    assert!(error.to_string().contains("zoo-plugin"), "{error}");

    let (_dir, lib) = open("not-a-plugin");
    let error = get_unmaker_counter(&lib, "Greeter").unwrap_err();
    assert!(matches!(error, PluginError::NotAPlugin { .. }), "{error:?}");
    assert!(error.to_string().contains("not-a-plugin"), "{error}");
    let boxed: Box<dyn Error> = error.into();
    assert!(boxed.to_string().contains("plugin_canary_v1"));
}
