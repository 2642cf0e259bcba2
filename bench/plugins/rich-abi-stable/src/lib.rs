//! The rich-types benchmark trait as an abi_stable root module.

use abi_stable::export_root_module;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use bench_rich_abi_stable_interface::{
    PersonR, RichBox, RichMod, RichModRef, RichObj, RichObj_TO, person, score,
};

struct Impl;

impl RichObj for Impl {
    fn score(&self, person: &PersonR) -> u64 {
        score(person)
    }

    fn person(&self, i: u32) -> PersonR {
        person(i)
    }
}

extern "C" fn make() -> RichBox {
    RichObj_TO::from_value(Impl, TD_Opaque)
}

/// The root module.
#[export_root_module]
pub fn get_library() -> RichModRef {
    RichMod { make }.leak_into_prefix()
}
