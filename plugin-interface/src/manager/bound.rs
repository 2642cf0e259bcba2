//! The manager's view of the proxies it handed out: bindings it can retire
//! or re-point at a new library, whatever their trait.

use core::any::Any;
use std::sync::{Arc, Weak};

use crate::repr::RSlice;

use crate::abi::Failure;
use crate::error::PluginError;
use crate::gate::Gate;
use crate::interface::PluginInterface;
use crate::loader::PluginLibrary;
use crate::proxy::{Binding, Children, Target};
use crate::registrations::LibrarySymbols;
use crate::state::{self, LoadState, SaveState};
use crate::wire::Remote;

/// A target taken out of a binding, or made for one, not yet freed.
pub(super) struct Held<V: 'static>(Box<Target<V>>);

// SAFETY: the manager only makes proxies of traits whose proxies are
// `Send` (`I::Proxy: Send`, so the instances may be used and freed on any
// thread); a held target is reached by no proxy, only moved and freed.
unsafe impl<V> Send for Held<V> {}

/// A held target of some trait.
pub(super) trait Staged: Send {
    /// Its gate, to wait on before freeing it.
    fn gate(&self) -> *const Gate;
    fn as_any(&self) -> &dyn Any;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<V: 'static> Staged for Held<V> {
    fn gate(&self) -> *const Gate {
        (&raw const *self.0).cast::<Gate>()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// One proxy binding the manager handed out, of trait `I`.
pub(super) struct Bound<I: ?Sized + PluginInterface> {
    binding: Weak<Binding<I::VTable>>,
    entry: Arc<str>,
}

impl<I: ?Sized + PluginInterface> Bound<I> {
    pub(super) fn new(binding: &Arc<Binding<I::VTable>>, entry: &str) -> Self {
        Self {
            binding: Arc::downgrade(binding),
            entry: Arc::from(entry),
        }
    }
}

/// A binding of any trait.
pub(super) trait Rebind: Send + Sync {
    /// Whether a proxy of it is still alive.
    fn alive(&self) -> bool;
    fn trait_name(&self) -> &'static str;
    /// The implementation it serves.
    fn entry(&self) -> &str;
    /// A new instance of the same entry from `library`, handing out its
    /// objects into `children`.
    fn make(
        &self,
        library: &PluginLibrary,
        children: &Arc<Children>,
    ) -> Result<Box<dyn Staged>, PluginError>;
    /// Hands the live instance's state to `staged`, made by `make` from
    /// `new`, if the old version saves state.
    fn carry_state(
        &self,
        old: &PluginLibrary,
        new: &PluginLibrary,
        staged: &dyn Staged,
    ) -> Result<(), PluginError>;
    /// Points the proxies at `staged` (made by `make`); returns the target
    /// they pointed at, to free once idle.
    fn install(&self, staged: Box<dyn Staged>) -> Option<Box<dyn Staged>>;
    /// Points the proxies at the unloaded stand-in; returns the live target.
    fn retire(&self) -> Option<Box<dyn Staged>>;
}

impl<I: ?Sized + PluginInterface> Rebind for Bound<I>
where
    I::Proxy: Send,
{
    fn alive(&self) -> bool {
        self.binding.strong_count() > 0
    }

    fn trait_name(&self) -> &'static str {
        I::DESCRIPTOR.name.as_str()
    }

    fn entry(&self) -> &str {
        &self.entry
    }

    fn make(
        &self,
        library: &PluginLibrary,
        children: &Arc<Children>,
    ) -> Result<Box<dyn Staged>, PluginError> {
        let mut target = library.make_entry::<I>(&self.entry)?;
        target.hand_out_into(Arc::clone(children));
        Ok(Box::new(Held(target)))
    }

    fn carry_state(
        &self,
        old: &PluginLibrary,
        new: &PluginLibrary,
        staged: &dyn Staged,
    ) -> Result<(), PluginError> {
        let Some(binding) = self.binding.upgrade() else {
            return Ok(());
        };
        let trait_name = self.trait_name();
        let refused = |message: String| PluginError::StateRefused {
            library: new.path().to_path_buf(),
            trait_name: trait_name.to_owned(),
            entry: self.entry.to_string(),
            message,
        };
        #[cfg(unix)]
        if let (Some(old_worker), Some(new_worker)) = (old.worker(), new.worker()) {
            let held = staged
                .as_any()
                .downcast_ref::<Held<I::VTable>>()
                .expect("staged by this binding's `make`");
            let old_handle = binding.with_instance(|instance| {
                instance.map(|instance| {
                    // SAFETY: every target of a library in a worker is a
                    // `Box<Remote<I>>` made by its `make_entry`, alive
                    // while its binding (entered by `with_instance`) or
                    // `held` holds it.
                    unsafe { (*instance.cast::<Remote<I>>()).handle }
                })
            });
            let Some(old_handle) = old_handle else {
                return Ok(());
            };
            // SAFETY: as above.
            let new_handle = unsafe { (*held.0.instance().cast::<Remote<I>>()).handle };
            // A worker that ended gives the snapshot of its last call
            // (the reload of a fixed build after a crash), a live one its
            // state now.
            let saved = match old_worker.save_state(old_handle) {
                Ok(saved) => saved,
                Err(PluginError::Crashed { .. }) => old_worker.last_state(old_handle),
                Err(error) => return Err(refused(format!("saving state: {error}"))),
            };
            if let Some(state) = saved {
                new_worker
                    .load_state(new_handle, state)
                    .map_err(|error| refused(error.to_string()))?;
            }
            return Ok(());
        }
        let save_name = plugin_symbols::save_state(trait_name, &self.entry);
        // SAFETY: the canary matched this framework's epoch, whose save
        // hooks have this type.
        let Ok(save) = (unsafe { old.function::<SaveState>(&save_name) }) else {
            return Ok(());
        };
        let load_name = plugin_symbols::load_state(trait_name, &self.entry);
        // SAFETY: as above, for load hooks.
        let load = unsafe { new.function::<LoadState>(&load_name) }.map_err(|_| {
            refused(format!(
                "the old version saves state, but the new one has no `{load_name}` (declare it with `#[plugin_impl({trait_name}, state)]`)"
            ))
        })?;
        let saved = binding.with_registration(|registration| {
            if registration.is_null() {
                // Already unloaded: nothing to carry.
                return Ok(None);
            }
            // SAFETY: a live registration of the old library, kept alive
            // while this closure runs.
            let returned = unsafe { save(registration) };
            if !returned.failure.is_null() {
                // SAFETY: a failure the hook just returned, taken once.
                let message = unsafe { Failure::take(returned.failure) }.unwrap_or_default();
                return Err(refused(format!("saving state panicked: {message}")));
            }
            // SAFETY: no failure, so the hook initialised the value.
            Ok(Some(state::into_host(unsafe {
                returned.value.assume_init()
            })))
        })?;
        let Some(saved) = saved else {
            return Ok(());
        };
        let held = staged
            .as_any()
            .downcast_ref::<Held<I::VTable>>()
            .expect("staged by this binding's `make`");
        let (version, bytes) = saved;
        // SAFETY: the fresh instance is reached by no proxy yet, so the hook
        // has it to itself; `bytes` outlives the call.
        let returned = unsafe { load(held.0.registration(), version, RSlice::from_slice(&bytes)) };
        if !returned.failure.is_null() {
            // SAFETY: as above.
            let message = unsafe { Failure::take(returned.failure) }.unwrap_or_default();
            return Err(refused(format!("loading state panicked: {message}")));
        }
        // SAFETY: no failure, so the hook initialised the value.
        match unsafe { returned.value.assume_init() }.into_result() {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(message)) => Err(refused(format!(
                "state version {version} refused: {}",
                message.to_string_lossy()
            ))),
            Err(invalid) => Err(refused(format!("loading state returned {invalid}"))),
        }
    }

    fn install(&self, staged: Box<dyn Staged>) -> Option<Box<dyn Staged>> {
        let held = staged
            .into_any()
            .downcast::<Held<I::VTable>>()
            .expect("staged by this binding's `make`");
        match self.binding.upgrade() {
            Some(binding) => binding
                .swap(held.0)
                .map(|old| Box::new(Held(old)) as Box<dyn Staged>),
            // No proxy left: the new instance is freed at once.
            None => Some(held),
        }
    }

    fn retire(&self) -> Option<Box<dyn Staged>> {
        let binding = self.binding.upgrade()?;
        binding
            .retire()
            .map(|old| Box::new(Held(old)) as Box<dyn Staged>)
    }
}
