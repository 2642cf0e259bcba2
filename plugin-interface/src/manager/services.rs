//! Services: shared objects of plugin traits that constructors ask for,
//! provided by the host (`PluginManager::provide`) or by the plugins a
//! manager keeps resident, and the interfaces the host knows well enough
//! to keep a plugin of them resident.

use core::any::Any;
use std::sync::Arc;

use crate::carry::{ObjectInterface, lower_arc};
use crate::error::PluginError;
use crate::lifecycle::KnownInterface;
use crate::lifecycle::construct::{Provider, Service, Services};
use crate::loader::TraitInfo;
use crate::proxy::{Binding, RawProxy};

use super::Record;

/// A plugin instance the manager keeps for the life of its library: made
/// when the library is loaded as a plugin (`load_plugin`,
/// `load_manifest`), serving as the service of its trait, and shared by
/// every proxy the host asks for.
pub(crate) struct Resident {
    pub(super) trait_name: &'static str,
    pub(super) entry: String,
    /// The `Arc<Binding<V>>` of the trait's vtable `V`.
    binding: Box<dyn Any + Send + Sync>,
}

impl Resident {
    /// The binding, if the resident's trait has the vtable `V`.
    pub(super) fn binding<V: 'static>(&self) -> Option<Arc<Binding<V>>> {
        self.binding.downcast_ref::<Arc<Binding<V>>>().cloned()
    }
}

/// A service of trait `I` sent as another reference to `object`.
pub(super) fn service<I>(object: Arc<I>, provider: Provider) -> Service
where
    I: ?Sized + ObjectInterface + Send + Sync,
{
    Service {
        descriptor: I::DESCRIPTOR,
        provider,
        send: Arc::new(move || lower_arc::<I>(Arc::clone(&object))),
    }
}

/// Makes the resident instance `entry` of one trait in a record, and
/// offers it as a service.
pub(crate) type MakeResident =
    fn(&mut Record, &str, &mut Services) -> Result<Resident, PluginError>;

/// The host's interface of the trait `info` describes (its name and
/// interface crate), if it links one.
pub(super) fn known(info: &TraitInfo) -> Option<MakeResident> {
    inventory::iter::<KnownInterface>
        .into_iter()
        .find(|known| {
            known.descriptor.name.as_str() == info.name
                && known.descriptor.interface_crate.as_str() == info.interface_crate
        })
        .map(|known| known.resident)
}

pub(crate) fn make_resident<I>(
    record: &mut Record,
    entry: &str,
    services: &mut Services,
) -> Result<Resident, PluginError>
where
    I: ?Sized + ObjectInterface + Send + Sync,
    I::Proxy: Send,
{
    let binding = super::make_binding::<I>(record, entry)?;
    let shared = Arc::clone(&binding);
    let provider = Provider::Library(record.handle.path.to_path_buf());
    services.add(Service {
        descriptor: I::DESCRIPTOR,
        provider,
        send: Arc::new(move || {
            let proxy = I::wrap(RawProxy::from_binding(Arc::clone(&shared)));
            lower_arc::<I>(I::shared(proxy))
        }),
    });
    Ok(Resident {
        trait_name: I::DESCRIPTOR.name.as_str(),
        entry: entry.to_owned(),
        binding: Box::new(binding),
    })
}
