//! The benchmark trait as a stabby plugin.

use bench_stabby_interface::{BenchBox, BenchStabby};
use stabby::slice::Slice;
use stabby::str::Str;
use stabby::string::String as SString;

struct Impl;

impl BenchStabby for Impl {
    extern "C" fn add(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    extern "C" fn greet<'a>(&self, name: Str<'a>) -> SString {
        let name: &str = name.into();
        SString::from(format!("Hello, {name}!").as_str())
    }

    extern "C" fn sum<'a>(&self, xs: Slice<'a, u64>) -> u64 {
        let xs: &[u64] = xs.into();
        xs.iter().copied().fold(0, u64::wrapping_add)
    }
}

/// Makes one instance.
#[stabby::export]
pub extern "C" fn stabby_bench_make() -> BenchBox {
    stabby::boxed::Box::new(Impl).into()
}
