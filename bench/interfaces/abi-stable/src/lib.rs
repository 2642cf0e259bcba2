//! The benchmark trait as an abi_stable `#[sabi_trait]`, reached through a
//! `RootModule` whose only function makes an instance.

// `#[sabi_trait]` (abi_stable 0.11) implements traits inside a generated
// module, which this newer lint flags.
#![allow(non_local_definitions)]

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RBox, RSlice, RStr, RString};
use abi_stable::{StableAbi, declare_root_module_statics, package_version_strings, sabi_trait};

/// The benchmark trait.
#[sabi_trait]
pub trait BenchObj: Send + Sync {
    /// `a + b`.
    fn add(&self, a: u64, b: u64) -> u64;
    /// `format!("Hello, {name}!")`.
    fn greet(&self, name: RStr<'_>) -> RString;
    /// The sum of `xs`.
    #[sabi(last_prefix_field)]
    fn sum(&self, xs: RSlice<'_, u64>) -> u64;
}

/// A boxed benchmark trait object.
pub type BenchBox = BenchObj_TO<'static, RBox<()>>;

/// The root module: what the library exports.
#[allow(missing_debug_implementations)] // a prefix type: read through `BenchModRef`
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = BenchModRef)))]
#[sabi(missing_field(panic))]
pub struct BenchMod {
    /// Makes one instance.
    #[sabi(last_prefix_field)]
    pub make: extern "C" fn() -> BenchBox,
}

impl RootModule for BenchModRef {
    declare_root_module_statics! {BenchModRef}
    const BASE_NAME: &'static str = "bench_abi_stable_plugin";
    const NAME: &'static str = "bench_abi_stable_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
