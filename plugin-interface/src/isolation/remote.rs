//! Typed proxies of objects in a worker: a [`Remote`] stand-in wrapped in
//! the trait's proxy, whose vtable is the host's own shims for
//! `Remote<dyn Trait>`.

use std::sync::Arc;

use crate::interface::PluginInterface;
use crate::proxy::{Binding, Info, PluginInfo, RawProxy, Target};
use crate::wire::Remote;

/// The trait's proxy over `remote`, described as `entry` of the library
/// the remote object's peer serves, built against `interface` (crate and
/// version; the host's own when `None`).
pub(crate) fn proxy<I: ?Sized + PluginInterface>(
    remote: Remote<I>,
    entry: &str,
    interface: Option<Arc<str>>,
) -> I::Proxy {
    I::wrap(RawProxy::from_binding(Arc::new(Binding::fixed(
        target::<I>(remote, entry, interface),
    ))))
}

/// The target a proxy of `remote` calls through: see [`proxy`].
pub(crate) fn target<I: ?Sized + PluginInterface>(
    mut remote: Remote<I>,
    entry: &str,
    interface: Option<Arc<str>>,
) -> Box<Target<I::VTable>> {
    let descriptor = I::DESCRIPTOR;
    let interface = interface.unwrap_or_else(|| {
        Arc::from(format!(
            "{} {}",
            descriptor.interface_crate.as_str(),
            descriptor.interface_version.as_str()
        ))
    });
    let info = PluginInfo::new(
        Arc::from(remote.peer.library()),
        descriptor.name.as_str(),
        Arc::from(entry),
        interface,
    );
    remote.wrapped = true;
    // SAFETY: the instance is a live `Box<Remote<I>>`, every method of
    // which `remote_vtable` serves (the host's own shims, instantiated for
    // `Remote<dyn Trait>`, which `I` is), and the target owns it: the
    // vtable's `drop` frees it as a `Box`. The stand-in holds its peer,
    // and no code of a library runs in this process.
    unsafe {
        Target::object(
            Box::into_raw(Box::new(remote)).cast(),
            I::remote_vtable(),
            Info::Owned(info),
            None,
            true,
        )
    }
}
