//! Freeing a [`RegistrationArray`] a host obtained by calling a library's
//! registration functions itself, as the seed's host example does; what
//! the generated `unload_<trait>` helpers (`unload_greeter`) call.

use crate::abi::{Registration, RegistrationArray, Unmaker, UnregisterAll};
use crate::error::PluginError;

/// A loaded library's exported functions, looked up by name: a
/// `libloading::Library` the host opened, or a
/// [`PluginLibrary`](crate::PluginLibrary) (both with the `host` feature).
pub trait LibrarySymbols {
    /// The function exported as `name`.
    ///
    /// # Safety
    ///
    /// `F` must be the type of the function the library exports as `name`.
    unsafe fn function<F: Copy>(&self, name: &str) -> Result<F, PluginError>;
}

impl RegistrationArray {
    /// A host-owned array (`factories` null) of instances the host made by
    /// calling makers (`plugin_register_<Trait>_<Type>_v1`) itself. Free it
    /// with the trait's `unload_<trait>` helper, which frees each instance
    /// through its own unmaker, then the array.
    pub fn host_owned(registrations: Vec<*mut Registration>) -> *mut RegistrationArray {
        let registrations = Box::into_raw(registrations.into_boxed_slice());
        Box::into_raw(Box::new(RegistrationArray {
            count: registrations.len(),
            registrations: registrations.cast(),
            factories: core::ptr::null(),
            release: release_host_owned,
        }))
    }
}

/// Frees a host-owned array made by [`RegistrationArray::host_owned`], not
/// the registrations.
///
/// # Safety
///
/// `array` must come from [`RegistrationArray::host_owned`], freed once.
unsafe extern "C" fn release_host_owned(array: *mut RegistrationArray) {
    if array.is_null() {
        return;
    }
    // SAFETY: made by `host_owned` from a `Box<RegistrationArray>` whose
    // `registrations` is a boxed slice of `count` pointers.
    unsafe {
        let array = Box::from_raw(array);
        drop(Box::from_raw(core::ptr::slice_from_raw_parts_mut(
            array.registrations,
            array.count,
        )));
    }
}

/// Frees every instance of `array` and the array itself. What the
/// generated `unload_<trait>` helpers do.
///
/// - A plugin-owned array (`factories` non-null) is handed to the
///   library's `plugin_unregister_all_<Trait>_v1`; a library without it
///   frees each registration through `factories[i].unmaker`, then the
///   array through its `release`.
/// - A host-owned array (`factories` null) frees each registration through
///   the unmaker its names select, `plugin_unregister_<Trait>_<Type>_v1`,
///   then the array through its `release`. A registration whose unmaker
///   is missing is left alone, and the first such error is returned after
///   the rest are freed.
///
/// # Safety
///
/// `array` must be null, or either
/// - plugin-owned: returned by `plugin_register_all_<trait_name>_v1` of
///   `library`, and not freed yet; or
/// - host-owned: made by [`RegistrationArray::host_owned`] from
///   registrations that makers of `library` returned, none freed yet.
///
/// `library` must stay loaded for the call, and nothing may use the
/// registrations afterwards.
pub unsafe fn unload_registrations(
    library: &impl LibrarySymbols,
    trait_name: &str,
    array: *mut RegistrationArray,
) -> Result<(), PluginError> {
    if array.is_null() {
        return Ok(());
    }
    // SAFETY: a live array, per the contract.
    let (count, registrations, factories, release) = unsafe {
        let array = &*array;
        (
            array.count,
            array.registrations,
            array.factories,
            array.release,
        )
    };
    if !factories.is_null() {
        let all = plugin_symbols::unregister_all(trait_name);
        // SAFETY: the framework's `plugin_unregister_all_*` have this type.
        if let Ok(unregister_all) = unsafe { library.function::<UnregisterAll>(&all) } {
            // SAFETY: a plugin-owned array of this library, freed once.
            unsafe { unregister_all(array) };
            return Ok(());
        }
        for index in 0..count {
            // SAFETY: `count` registrations, each made by the factory at the
            // same index, freed once.
            unsafe {
                let factory = &*factories.add(index);
                (factory.unmaker)(*registrations.add(index));
            }
        }
        // SAFETY: the array's own release, once, after its registrations.
        unsafe { release(array) };
        return Ok(());
    }
    let mut first_error = None;
    for index in 0..count {
        // SAFETY: `count` registrations made by this library's makers.
        let registration = unsafe { *registrations.add(index) };
        if registration.is_null() {
            continue;
        }
        // SAFETY: a live registration; its names are static strings of
        // the library.
        let name = unsafe {
            let registration = &*registration;
            plugin_symbols::unregister(
                registration.trait_name.as_str(),
                registration.entry.as_str(),
            )
        };
        // SAFETY: the framework's `plugin_unregister_*` have this type.
        match unsafe { library.function::<Unmaker>(&name) } {
            // SAFETY: the unmaker of the type that made this registration.
            Ok(unmaker) => unsafe { unmaker(registration) },
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    // SAFETY: the array's own release, once, after its registrations.
    unsafe { release(array) };
    first_error.map_or(Ok(()), Err)
}
