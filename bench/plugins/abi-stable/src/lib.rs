//! The benchmark trait as an abi_stable root module.

use abi_stable::export_root_module;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RSlice, RStr, RString};
use bench_abi_stable_interface::{BenchBox, BenchMod, BenchModRef, BenchObj, BenchObj_TO};

struct Impl;

impl BenchObj for Impl {
    fn add(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    fn greet(&self, name: RStr<'_>) -> RString {
        format!("Hello, {name}!").into()
    }

    fn sum(&self, xs: RSlice<'_, u64>) -> u64 {
        xs.iter().copied().fold(0, u64::wrapping_add)
    }
}

extern "C" fn make() -> BenchBox {
    BenchObj_TO::from_value(Impl, TD_Opaque)
}

/// The root module.
#[export_root_module]
pub fn get_library() -> BenchModRef {
    BenchMod { make }.leak_into_prefix()
}
