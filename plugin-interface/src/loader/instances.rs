//! Making plugin instances and freeing them again.

use std::sync::Arc;

use crate::abi::{
    Maker, PanicSlot, RegisterAll, Registration, RegistrationArray, Unmaker, UnregisterAll,
    VTablePrefix,
};
use crate::error::PluginError;
use crate::interface::PluginInterface;
use crate::lifecycle::construct::Constructing;
use crate::loader::library::PluginLibrary;
use crate::loader::options::FreeThrough;
use crate::proxy::{Binding, PluginInfo, RawProxy, Target};
use crate::registrations::LibrarySymbols;

/// Instances made by one call into a library, freed together when the last
/// proxy of the group is dropped. Holds the library open until then.
pub(crate) struct Group {
    /// Keeps the library mapped until the instances are freed.
    _library: PluginLibrary,
    made: Made,
}

enum Made {
    /// From `plugin_register_all_*`.
    Array {
        array: *mut RegistrationArray,
        unregister_all: Option<UnregisterAll>,
    },
    /// From one `plugin_register_<Trait>_<Type>_v1`.
    Single {
        registration: *mut Registration,
        unmaker: Unmaker,
    },
}

// SAFETY: the raw pointers are only dereferenced in `Drop`, which has
// exclusive access. Instances of a trait without `Send` are only reachable
// through proxies that are not `Send` either, so they are freed on the
// thread that made them. Library handles may be used from any thread.
unsafe impl Send for Group {}
// SAFETY: no method reads the pointers through `&self`.
unsafe impl Sync for Group {}

impl Drop for Group {
    fn drop(&mut self) {
        match self.made {
            Made::Array {
                array,
                unregister_all: Some(unregister_all),
            } => {
                // SAFETY: the array came from this library's register_all and
                // is given back exactly once.
                unsafe { unregister_all(array) }
            }
            Made::Array {
                array,
                unregister_all: None,
            } => {
                // SAFETY: as above; each registration is freed by the unmaker
                // of the factory at its index, then the array is released.
                unsafe {
                    let array_ref = &*array;
                    for index in 0..array_ref.count {
                        let factory = &*array_ref.factories.add(index);
                        (factory.unmaker)(*array_ref.registrations.add(index));
                    }
                    (array_ref.release)(array);
                }
            }
            Made::Single {
                registration,
                unmaker,
            } => {
                // SAFETY: made by the maker paired with this unmaker.
                unsafe { unmaker(registration) }
            }
        }
    }
}

impl PluginLibrary {
    /// Makes one instance of every implementation of `I` in the library,
    /// through `plugin_register_all_<Trait>_v1`, and wraps each in a typed
    /// proxy. The instances are freed together, through
    /// `plugin_unregister_all_<Trait>_v1`, when the last proxy is dropped.
    pub fn instantiate<I: ?Sized + PluginInterface>(&self) -> Result<Vec<I::Proxy>, PluginError> {
        self.instantiate_with::<I>(FreeThrough::Auto)
    }

    /// [`instantiate`](Self::instantiate), choosing how the instances are
    /// freed (in a worker process, each is freed on its own whatever
    /// `unload` says).
    pub fn instantiate_with<I: ?Sized + PluginInterface>(
        &self,
        unload: FreeThrough,
    ) -> Result<Vec<I::Proxy>, PluginError> {
        let slots = self.slots::<I>()?;
        let trait_name = I::DESCRIPTOR.name.as_str();
        #[cfg(unix)]
        if self.worker().is_some() {
            // In a worker, each instance is made and freed on its own.
            let _ = unload;
            return self
                .entries(trait_name)?
                .iter()
                .map(|info| self.instantiate_entry::<I>(&info.entry))
                .collect();
        }
        let register_symbol = plugin_symbols::register_all(trait_name);
        // SAFETY: the canary matched this framework's epoch, whose
        // `plugin_register_all_*` functions have this type.
        let register_all: RegisterAll = unsafe { self.function(&register_symbol) }?;
        let unregister_all: Option<UnregisterAll> = match unload {
            FreeThrough::Auto => {
                // SAFETY: as above, for `plugin_unregister_all_*`.
                unsafe { self.function(&plugin_symbols::unregister_all(trait_name)) }.ok()
            }
            FreeThrough::PerFactory => None,
        };
        let mut slot = PanicSlot::new();
        let constructing = Constructing::enter(self.path());
        // SAFETY: `slot` is live for the call.
        let array = unsafe { register_all(&mut slot) };
        drop(constructing);
        if let Some(message) = slot.take() {
            if let (false, Some(unregister_all)) = (array.is_null(), unregister_all) {
                // SAFETY: an array from register_all, given back once.
                unsafe { unregister_all(array) };
            }
            return Err(PluginError::MakeFailed {
                library: self.path().to_path_buf(),
                trait_name: trait_name.to_owned(),
                message,
            });
        }
        let bad = |reason: &str| PluginError::BadRegistration {
            library: self.path().to_path_buf(),
            symbol: register_symbol.clone(),
            reason: reason.to_owned(),
        };
        if array.is_null() {
            return Err(bad("returned null without a panic"));
        }
        // SAFETY: a non-null array from register_all; it stays valid until
        // it is given back, which only the group below does.
        let header = unsafe { &*array };
        if header.count > 0 && (header.registrations.is_null() || header.factories.is_null()) {
            // A malformed array cannot be given back safely: leak it.
            return Err(bad("null registration or factory array"));
        }
        let group = Arc::new(Group {
            _library: self.clone(),
            made: Made::Array {
                array,
                unregister_all,
            },
        });
        (0..header.count)
            .map(|index| {
                // SAFETY: `index < count`, both arrays hold `count` items.
                let registration = unsafe { *header.registrations.add(index) };
                if registration.is_null() {
                    return Err(bad("null registration"));
                }
                // SAFETY: non-null, owned by `group`.
                unsafe { target::<I>(self, slots, &group, registration) }
                    .map(wrap::<I>)
                    .map_err(|reason| bad(&reason))
            })
            .collect()
    }

    /// Makes one instance of the implementation named `entry` (the type's
    /// name, e.g. `English`) through its own maker,
    /// `plugin_register_<Trait>_<Type>_v1`, and frees it through its own
    /// unmaker when the proxy is dropped.
    pub fn instantiate_entry<I: ?Sized + PluginInterface>(
        &self,
        entry: &str,
    ) -> Result<I::Proxy, PluginError> {
        self.make_entry::<I>(entry).map(wrap::<I>)
    }

    /// The target behind [`instantiate_entry`](Self::instantiate_entry).
    pub(crate) fn make_entry<I: ?Sized + PluginInterface>(
        &self,
        entry: &str,
    ) -> Result<Box<Target<I::VTable>>, PluginError> {
        let slots = self.slots::<I>()?;
        let trait_name = I::DESCRIPTOR.name.as_str();
        let entries = self.entries(trait_name)?;
        if !entries.iter().any(|info| info.entry == entry) {
            return Err(PluginError::EntryNotFound {
                library: self.path().to_path_buf(),
                trait_name: trait_name.to_owned(),
                entry: entry.to_owned(),
                available: entries.into_iter().map(|info| info.entry).collect(),
            });
        }
        #[cfg(unix)]
        if let Some(worker) = self.worker() {
            let _ = slots;
            let (handle, entry) = worker.instantiate(trait_name, Some(entry))?;
            let peer: Arc<dyn crate::wire::Peer> = worker.clone();
            let remote =
                crate::wire::Remote::<I>::stand_in(peer, u64::from(handle), trait_name, true);
            let plugin = self.descriptor(trait_name)?;
            let interface = Arc::from(format!(
                "{} {}",
                plugin.interface_crate.as_str(),
                plugin.interface_version.as_str()
            ));
            return Ok(crate::isolation::target::<I>(
                remote,
                &entry,
                Some(interface),
            ));
        }
        let (group, registration) = self.make_registration(trait_name, entry)?;
        let bad = |reason: String| PluginError::BadRegistration {
            library: self.path().to_path_buf(),
            symbol: plugin_symbols::register(trait_name, entry),
            reason,
        };
        // SAFETY: non-null, made by the maker, owned by `group`.
        unsafe { target::<I>(self, slots, &group, registration) }.map_err(bad)
    }

    /// Makes one instance of `entry` through its maker and returns it with
    /// the group that frees it (through its unmaker) when dropped. The
    /// entry must be listed by the library's factories.
    pub(crate) fn make_registration(
        &self,
        trait_name: &str,
        entry: &str,
    ) -> Result<(Arc<Group>, *mut Registration), PluginError> {
        #[cfg(unix)]
        if self.worker().is_some() {
            return Err(PluginError::Worker {
                library: self.path().to_path_buf(),
                reason: format!(
                    "`{trait_name}::{entry}` is made in the worker process: a registration, and a plugin the host keeps resident with its configuration and services, need the library in this process"
                ),
            });
        }
        let maker_symbol = plugin_symbols::register(trait_name, entry);
        // SAFETY: the canary matched this framework's epoch, whose per-impl
        // makers and unmakers have these types.
        let (maker, unmaker): (Maker, Unmaker) = unsafe {
            (
                self.function(&maker_symbol)?,
                self.function(&plugin_symbols::unregister(trait_name, entry))?,
            )
        };
        let mut slot = PanicSlot::new();
        let constructing = Constructing::enter(self.path());
        // SAFETY: `slot` is live for the call.
        let registration = unsafe { maker(&mut slot) };
        drop(constructing);
        let refused = slot.is_refused();
        if let Some(message) = slot.take() {
            // SAFETY: made by the paired maker (or null, which it ignores),
            // given back once.
            unsafe { unmaker(registration) };
            if refused {
                return Err(PluginError::ConstructorRefused {
                    library: self.path().to_path_buf(),
                    trait_name: trait_name.to_owned(),
                    entry: entry.to_owned(),
                    message,
                });
            }
            return Err(PluginError::MakeFailed {
                library: self.path().to_path_buf(),
                trait_name: trait_name.to_owned(),
                message: format!("constructor of `{entry}` panicked: {message}"),
            });
        }
        let bad = |reason: String| PluginError::BadRegistration {
            library: self.path().to_path_buf(),
            symbol: maker_symbol.clone(),
            reason,
        };
        if registration.is_null() {
            return Err(bad("returned null without a panic".to_owned()));
        }
        let group = Arc::new(Group {
            _library: self.clone(),
            made: Made::Single {
                registration,
                unmaker,
            },
        });
        Ok((group, registration))
    }
}

/// A proxy of its own for one target.
fn wrap<I: ?Sized + PluginInterface>(target: Box<Target<I::VTable>>) -> I::Proxy {
    // Nothing re-points it: only a `PluginManager` reloads or unloads.
    I::wrap(RawProxy::from_binding(Arc::new(Binding::fixed(target))))
}

/// Checks one registration and makes the target a proxy calls.
///
/// # Safety
///
/// `registration` must be non-null, owned by `group`, from `library`,
/// whose canary says the plugin fills `slots` of `I`'s method slots.
unsafe fn target<I: ?Sized + PluginInterface>(
    library: &PluginLibrary,
    slots: u32,
    group: &Arc<Group>,
    registration_ptr: *mut Registration,
) -> Result<Box<Target<I::VTable>>, String> {
    // SAFETY: per the contract.
    let registration = unsafe { &*registration_ptr };
    let expected = I::DESCRIPTOR;
    if registration.trait_name.as_str() != expected.name.as_str() {
        return Err(format!(
            "registration is for trait `{}`, expected `{}`",
            registration.trait_name.as_str(),
            expected.name.as_str()
        ));
    }
    if registration.instance.is_null() || registration.vtable.is_null() {
        return Err("null instance or vtable".to_owned());
    }
    // SAFETY: every generated vtable starts with a `VTablePrefix`.
    let prefix = unsafe { &*registration.vtable.cast::<VTablePrefix>() };
    let full = size_of::<I::VTable>();
    let size = size_of::<VTablePrefix>() + slots as usize * size_of::<usize>();
    if prefix.method_count != slots || prefix.size as usize != size || size > full {
        return Err(format!(
            "vtable has {} methods in {} bytes, the canary promised {slots} in {size}",
            prefix.method_count, prefix.size
        ));
    }
    let extended = (size < full).then(|| {
        // SAFETY: the plugin's table has `size` readable bytes (checked
        // against its canary above) and `I::ABSENT` is a whole
        // `I::VTable` of function pointers.
        unsafe { extend::<I::VTable>(registration.vtable, size, I::ABSENT) }
    });
    let descriptor = library
        .descriptor(expected.name.as_str())
        .map_err(|e| e.to_string())?;
    let info = PluginInfo::new(
        library.shared_path(),
        expected.name.as_str(),
        Arc::from(registration.entry.as_str()),
        Arc::from(format!(
            "{} {}",
            descriptor.interface_crate.as_str(),
            descriptor.interface_version.as_str()
        )),
    );
    let owner: Arc<dyn core::any::Any + Send + Sync> = group.clone();
    // SAFETY: the vtable's first `slots` slots passed the layout check,
    // `extended` covers the rest, and `owner` keeps the registration and
    // library.
    Ok(unsafe {
        Target::new(
            registration_ptr,
            registration.vtable.cast::<I::VTable>(),
            slots,
            extended,
            info,
            owner,
        )
    })
}

/// A full-size copy of a plugin vtable that is `size` bytes long: the
/// plugin's slots, then the host's absent stand-ins for the rest.
///
/// # Safety
///
/// `vtable` must point to `size` readable bytes, `size` must be at most
/// `size_of::<V>()`, and `absent` must be a vtable of type `V` made only
/// of function pointers, like the plugin's.
unsafe fn extend<V>(vtable: *const core::ffi::c_void, size: usize, absent: &V) -> Box<V> {
    let mut copy = Box::<V>::new_uninit();
    let base = copy.as_mut_ptr().cast::<u8>();
    // SAFETY: `absent` is a whole `V`, and its fields are plain function
    // pointers and integers, so a bitwise copy duplicates nothing owned;
    // then the plugin's `size` readable bytes replace its start.
    unsafe {
        core::ptr::copy_nonoverlapping(
            core::ptr::from_ref(absent).cast::<u8>(),
            base,
            size_of::<V>(),
        );
        core::ptr::copy_nonoverlapping(vtable.cast::<u8>(), base, size);
        copy.assume_init()
    }
}
