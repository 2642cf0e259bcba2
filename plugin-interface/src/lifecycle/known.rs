//! The plugin interfaces linked into an image, registered by
//! `#[plugin_trait]`: a host's manager keeps plugins of these resident and
//! offers them as services without the host naming their traits.

use crate::carry::ObjectInterface;

/// One `Send + Sync` plugin trait linked into this image.
#[derive(Debug)]
pub struct KnownInterface {
    #[cfg(feature = "host")]
    pub(crate) descriptor: &'static crate::abi::TraitDescriptor,
    #[cfg(feature = "host")]
    pub(crate) resident: crate::manager::MakeResident,
}

impl KnownInterface {
    /// The registration of `I`.
    pub const fn of<I>() -> Self
    where
        I: ?Sized + ObjectInterface + Send + Sync,
        I::Proxy: Send,
    {
        Self {
            #[cfg(feature = "host")]
            descriptor: I::DESCRIPTOR,
            #[cfg(feature = "host")]
            resident: crate::manager::make_resident::<I>,
        }
    }
}

inventory::collect!(KnownInterface);
