//! Reading and checking the canary static, before any plugin function runs.

use std::path::Path;

use abi_stable::std_types::RStr;

use crate::PluginError;
use crate::abi::{
    ABI_EPOCH, CANARY_MAGIC, CANARY_VERSION, FRAMEWORK_VERSION, PanicStrategy, PluginCanary,
    TraitDescriptor,
};
use crate::error::InterfaceVersions;

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
}

/// Reads the canary of `library` at `address`.
///
/// Any library exporting the canary symbol is taken to be a plugin: the
/// symbol is assumed to be at least as large as the canary header.
///
/// # Safety
///
/// `address` must be the non-null address of the canary symbol of a
/// library that is loaded and stays loaded during the call.
pub(crate) unsafe fn read(path: &Path, address: *const u8) -> Result<CanaryInfo, PluginError> {
    // SAFETY: a symbol assumed to span the 16-byte header; the header is
    // read field by field, each only after the one before matched, and
    // unaligned in case a foreign library put something else there.
    let magic = unsafe { address.cast::<[u8; 8]>().read_unaligned() };
    if magic != CANARY_MAGIC {
        return Err(PluginError::BadMagic {
            library: path.to_path_buf(),
            expected: escape(&CANARY_MAGIC),
            found: escape(&magic),
        });
    }
    // SAFETY: as above; the magic matched, so this is a canary header.
    let version = unsafe { address.add(8).cast::<u32>().read_unaligned() };
    if version != CANARY_VERSION {
        return Err(PluginError::CanaryVersion {
            library: path.to_path_buf(),
            expected: CANARY_VERSION,
            found: version,
        });
    }
    if address.align_offset(core::mem::align_of::<PluginCanary>()) != 0 {
        return Err(PluginError::BadMagic {
            library: path.to_path_buf(),
            expected: "an aligned canary".to_owned(),
            found: format!("a canary at the misaligned address {address:p}"),
        });
    }
    // SAFETY: the magic and version matched and the address is aligned:
    // this is a `PluginCanary` of the host's layout, a static of the
    // loaded library.
    let canary = unsafe { &*address.cast::<PluginCanary>() };
    if canary.abi_epoch != ABI_EPOCH {
        return Err(PluginError::AbiEpoch {
            library: path.to_path_buf(),
            expected: ABI_EPOCH,
            found: canary.abi_epoch,
            plugin_framework: text(canary.framework_version),
            host_framework: FRAMEWORK_VERSION.to_owned(),
        });
    }
    Ok(CanaryInfo {
        canary_version: version,
        abi_epoch: canary.abi_epoch,
        framework_version: text(canary.framework_version),
        rustc_version: text(canary.rustc_version),
        target: text(canary.target),
        panic_strategy: PanicStrategy::from_u8(canary.panic_strategy),
        traits: canary.traits.iter().map(|d| trait_info(d)).collect(),
    })
}

fn trait_info(descriptor: &TraitDescriptor) -> TraitInfo {
    TraitInfo {
        name: text(descriptor.name),
        interface_crate: text(descriptor.interface_crate),
        interface_version: text(descriptor.interface_version),
        vtable_size: descriptor.vtable_size,
        send: descriptor.send,
        sync: descriptor.sync,
        methods: descriptor
            .methods
            .iter()
            .map(|method| MethodInfo {
                name: text(method.name),
                signature: text(method.signature),
            })
            .collect(),
    }
}

/// Checks that a plugin built against `found` can serve a host built
/// against `expected`: same interface crate, semver-compatible version, and
/// the same vtable.
pub(crate) fn check_interface(
    path: &Path,
    expected: &TraitDescriptor,
    found: &TraitInfo,
) -> Result<(), PluginError> {
    let mismatch = |reason: String| PluginError::InterfaceMismatch {
        library: path.to_path_buf(),
        trait_name: found.name.clone(),
        reason,
        versions: Box::new(InterfaceVersions {
            host_crate: expected.interface_crate.as_str().to_owned(),
            host_version: expected.interface_version.as_str().to_owned(),
            plugin_crate: found.interface_crate.clone(),
            plugin_version: found.interface_version.clone(),
        }),
    };
    if found.interface_crate != expected.interface_crate.as_str() {
        return Err(mismatch("declared by another interface crate".to_owned()));
    }
    let host = Semver::parse(expected.interface_version.as_str());
    let plugin = Semver::parse(&found.interface_version);
    match (host, plugin) {
        (Some(host), Some(plugin)) if host.compatible_with(plugin) => {}
        (Some(_), Some(_)) => {
            return Err(mismatch("incompatible interface versions".to_owned()));
        }
        _ => return Err(mismatch("unreadable interface version".to_owned())),
    }
    let methods = expected.methods.len();
    if found.methods.len() != methods || found.vtable_size != expected.vtable_size {
        return Err(mismatch(format!(
            "vtable has {} methods ({} bytes), expected {methods} ({} bytes)",
            found.methods.len(),
            found.vtable_size,
            expected.vtable_size
        )));
    }
    for (index, (host, plugin)) in expected.methods.iter().zip(&found.methods).enumerate() {
        if host.name.as_str() != plugin.name {
            return Err(mismatch(format!(
                "method {index} is `{}`, expected `{}`",
                plugin.name,
                host.name.as_str()
            )));
        }
        if host.signature.as_str() != plugin.signature {
            return Err(mismatch(format!(
                "`{}` is `{}` in the plugin, expected `{}`",
                plugin.name,
                plugin.signature,
                host.signature.as_str()
            )));
        }
    }
    if (found.send, found.sync) != (expected.send, expected.sync) {
        return Err(mismatch(format!(
            "supertraits differ: plugin has {}, host has {}",
            markers(found.send, found.sync),
            markers(expected.send, expected.sync)
        )));
    }
    Ok(())
}

/// The numeric part of a semver version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Semver {
    major: u64,
    minor: u64,
    patch: u64,
}

impl Semver {
    fn parse(text: &str) -> Option<Self> {
        let core = text.split(['-', '+']).next()?;
        let mut parts = core.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Self {
            major,
            minor,
            patch,
        })
    }

    /// Cargo's rule: same major; for `0.x` the minor is the major, and for
    /// `0.0.x` the patch.
    fn compatible_with(self, other: Self) -> bool {
        match (self.major, self.minor) {
            (0, 0) => self == other,
            (0, _) => other.major == 0 && self.minor == other.minor,
            _ => self.major == other.major,
        }
    }
}

fn markers(send: bool, sync: bool) -> &'static str {
    match (send, sync) {
        (true, true) => "`Send + Sync`",
        (true, false) => "`Send`",
        (false, true) => "`Sync`",
        (false, false) => "neither `Send` nor `Sync`",
    }
}

fn text(value: RStr<'_>) -> String {
    String::from_utf8_lossy(value.as_rslice().as_slice()).into_owned()
}

fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_compatibility_follows_cargo_rules() {
        let v = |s| Semver::parse(s).unwrap();
        assert!(v("1.0.0").compatible_with(v("1.4.2")));
        assert!(!v("1.0.0").compatible_with(v("2.0.0")));
        assert!(v("0.3.1").compatible_with(v("0.3.0")));
        assert!(!v("0.3.1").compatible_with(v("0.4.0")));
        assert!(v("0.0.3").compatible_with(v("0.0.3")));
        assert!(!v("0.0.3").compatible_with(v("0.0.4")));
        assert!(v("1.2.3-beta.1+build").compatible_with(v("1.0.0")));
        assert_eq!(Semver::parse("1.2"), None);
        assert_eq!(Semver::parse("1.2.3.4"), None);
        assert_eq!(Semver::parse("one.two.three"), None);
    }

    use crate::abi::MethodDescriptor;
    use abi_stable::std_types::RSlice;

    static METHODS: [MethodDescriptor; 1] = [MethodDescriptor {
        name: RStr::from_str("greet"),
        signature: RStr::from_str("fn greet(&self, target: &str) -> String"),
    }];

    static HOST: TraitDescriptor = TraitDescriptor {
        name: RStr::from_str("Greeter"),
        interface_crate: RStr::from_str("greeter-interface"),
        interface_version: RStr::from_str("1.2.0"),
        vtable_size: 24,
        method_count: 1,
        send: true,
        sync: true,
        methods: RSlice::from_slice(&METHODS),
    };

    fn plugin() -> TraitInfo {
        trait_info(&HOST)
    }

    fn reason(found: &TraitInfo) -> String {
        check_interface(Path::new("libx.so"), &HOST, found)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn the_same_interface_passes() {
        check_interface(Path::new("libx.so"), &HOST, &plugin()).unwrap();
    }

    #[test]
    fn a_changed_signature_is_refused_with_both_versions() {
        let mut found = plugin();
        found.methods[0].signature = "fn greet(&self, target: String) -> String".into();
        assert_eq!(
            reason(&found),
            "libx.so: Greeter: `greet` is `fn greet(&self, target: String) -> String` in the plugin, \
             expected `fn greet(&self, target: &str) -> String` \
             (plugin built against greeter-interface 1.2.0, host has greeter-interface 1.2.0)"
        );
    }

    #[test]
    fn other_mismatches_are_refused() {
        let mut found = plugin();
        found.sync = false;
        assert!(
            reason(&found)
                .contains("supertraits differ: plugin has `Send`, host has `Send + Sync`")
        );

        let mut found = plugin();
        found.interface_version = "2.0.0".into();
        assert!(reason(&found).contains("incompatible interface versions"));

        let mut found = plugin();
        found.interface_crate = "other-interface".into();
        assert!(reason(&found).contains("declared by another interface crate"));

        let mut found = plugin();
        found.methods[0].name = "hello".into();
        assert!(reason(&found).contains("method 0 is `hello`, expected `greet`"));

        let mut found = plugin();
        found.vtable_size = 32;
        assert!(reason(&found).contains("vtable has 1 methods (32 bytes), expected 1 (24 bytes)"));
    }

    #[test]
    fn magic_is_escaped_for_messages() {
        assert_eq!(escape(b"RS\0\xff"), "RS\\x00\\xff");
    }
}
