//! The benchmark trait as a stabby trait, used through
//! `stabby::dynptr!(Box<dyn BenchStabby + Send + Sync>)` and made by one
//! function exported with `#[stabby::export]`, which the host loads with
//! stabby's checked loader (`StabbyLibrary::get_stabbied`).

use stabby::slice::Slice;
use stabby::str::Str;
use stabby::string::String as SString;

/// The symbol of the maker, without stabby's suffixes.
pub const MAKE_SYMBOL: &[u8] = b"stabby_bench_make";

/// The benchmark trait.
#[stabby::stabby(checked)]
pub trait BenchStabby {
    /// `a + b`.
    extern "C" fn add(&self, a: u64, b: u64) -> u64;
    /// `format!("Hello, {name}!")`.
    extern "C" fn greet<'a>(&self, name: Str<'a>) -> SString;
    /// The sum of `xs`.
    extern "C" fn sum<'a>(&self, xs: Slice<'a, u64>) -> u64;
}

/// A boxed benchmark trait object.
pub type BenchBox = stabby::dynptr!(stabby::boxed::Box<dyn BenchStabby + Send + Sync>);

/// The maker's type: what `get_stabbied` checks the library's report against.
pub type MakeBench = extern "C" fn() -> BenchBox;
