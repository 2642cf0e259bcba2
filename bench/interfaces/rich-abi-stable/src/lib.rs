//! The rich-types benchmark as abi_stable writes it: the person's fields
//! are abi_stable's own `RString`, `RVec` and `ROption`.

// `#[sabi_trait]` (abi_stable 0.11) implements traits inside a generated
// module, which this newer lint flags.
#![allow(non_local_definitions)]

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RBox, ROption, RString, RVec};
use abi_stable::{StableAbi, declare_root_module_statics, package_version_strings, sabi_trait};

/// Where a person lives.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub enum ShapeR {
    /// Round.
    Circle {
        /// Its radius.
        radius: f64,
    },
    /// Square-ish.
    Rect(f64, f64),
    /// Nowhere.
    Empty,
}

/// A person with abi_stable's field types.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct PersonR {
    /// The name.
    pub name: RString,
    /// Tags.
    pub tags: RVec<RString>,
    /// The age, if known.
    pub age: ROption<u32>,
    /// Home.
    pub home: ShapeR,
}

/// The person every approach makes for `i`.
pub fn person(i: u32) -> PersonR {
    PersonR {
        name: format!("person {i}").into(),
        tags: RVec::from(vec![RString::from("tall"), RString::from("kind")]),
        age: ROption::RSome(i),
        home: ShapeR::Rect(2.0, 3.0),
    }
}

/// What every approach computes from a person.
pub fn score(person: &PersonR) -> u64 {
    let home = match person.home {
        ShapeR::Circle { .. } => 1,
        ShapeR::Rect(..) => 2,
        ShapeR::Empty => 3,
    };
    (person.name.len() + person.tags.len()) as u64 + u64::from(person.age.unwrap_or(0)) + home
}

/// The benchmark trait.
#[sabi_trait]
pub trait RichObj: Send + Sync {
    /// `score(person)`.
    fn score(&self, person: &PersonR) -> u64;
    /// `person(i)`.
    #[sabi(last_prefix_field)]
    fn person(&self, i: u32) -> PersonR;
}

/// A boxed benchmark trait object.
pub type RichBox = RichObj_TO<'static, RBox<()>>;

/// The root module.
#[allow(missing_debug_implementations)] // a prefix type: read through `RichModRef`
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = RichModRef)))]
#[sabi(missing_field(panic))]
pub struct RichMod {
    /// Makes one instance.
    #[sabi(last_prefix_field)]
    pub make: extern "C" fn() -> RichBox,
}

impl RootModule for RichModRef {
    declare_root_module_statics! {RichModRef}
    const BASE_NAME: &'static str = "bench_rich_abi_stable_plugin";
    const NAME: &'static str = "bench_rich_abi_stable_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
