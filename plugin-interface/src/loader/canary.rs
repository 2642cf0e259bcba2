//! What a canary says, copied into host memory.

use crate::repr::RStr;

use crate::abi::{PanicStrategy, PluginCanary, TraitDescriptor};

/// What a library's canary says, copied into host memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanaryInfo {
    /// Layout version of the canary.
    pub canary_version: u32,
    /// Framework ABI epoch the plugin was built with.
    pub abi_epoch: u32,
    /// `plugin-interface` version the plugin was built with.
    pub framework_version: String,
    /// `rustc --version` of the compiler that built the plugin.
    pub rustc_version: String,
    /// Target triple the plugin was built for.
    pub target: String,
    /// Panic strategy of the plugin build; `None` if the byte is unknown.
    pub panic_strategy: Option<PanicStrategy>,
    /// The traits the library implements.
    pub traits: Vec<TraitInfo>,
}

impl CanaryInfo {
    /// The trait named `name`, if the library implements it.
    pub fn trait_info(&self, name: &str) -> Option<&TraitInfo> {
        self.traits.iter().find(|info| info.name == name)
    }

    /// Names of the traits the library implements.
    pub fn trait_names(&self) -> Vec<String> {
        self.traits.iter().map(|info| info.name.clone()).collect()
    }
}

/// One trait of a canary, copied into host memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraitInfo {
    /// The trait's name.
    pub name: String,
    /// Package that declares the trait.
    pub interface_crate: String,
    /// Version of that package the plugin was built against.
    pub interface_version: String,
    /// Size of the trait's vtable in the plugin.
    pub vtable_size: u32,
    /// Fingerprint of the trait's vtable layout.
    pub fingerprint: u64,
    /// Whether the trait has `Send` as a supertrait.
    pub send: bool,
    /// Whether the trait has `Sync` as a supertrait.
    pub sync: bool,
    /// The trait's methods, in vtable order.
    pub methods: Vec<MethodInfo>,
}

/// One method of a trait, copied into host memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodInfo {
    /// The method's name.
    pub name: String,
    /// Its signature as written in the interface crate.
    pub signature: String,
    /// Fingerprint of its slot: receiver, argument and return layouts.
    pub fingerprint: u64,
}

/// The canary, copied into host memory.
pub(crate) fn info(canary: &PluginCanary) -> CanaryInfo {
    CanaryInfo {
        canary_version: canary.canary_version,
        abi_epoch: canary.abi_epoch,
        framework_version: text(canary.framework_version),
        rustc_version: text(canary.rustc_version),
        target: text(canary.target),
        panic_strategy: PanicStrategy::from_u8(canary.panic_strategy),
        traits: canary.traits.iter().map(|d| trait_info(d)).collect(),
    }
}

fn trait_info(descriptor: &TraitDescriptor) -> TraitInfo {
    TraitInfo {
        name: text(descriptor.name),
        interface_crate: text(descriptor.interface_crate),
        interface_version: text(descriptor.interface_version),
        vtable_size: descriptor.vtable_size,
        fingerprint: descriptor.fingerprint,
        send: descriptor.send,
        sync: descriptor.sync,
        methods: descriptor
            .methods
            .iter()
            .map(|method| MethodInfo {
                name: text(method.name),
                signature: text(method.signature),
                fingerprint: method.fingerprint,
            })
            .collect(),
    }
}

pub(crate) fn text(value: RStr<'_>) -> String {
    String::from_utf8_lossy(value.as_bytes()).into_owned()
}
