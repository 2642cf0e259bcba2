//! Generated code names everything by absolute path.
#![no_implicit_prelude]

use ::plugin_interface::{plugin_aggregates, plugin_impl, plugin_trait};

/// A trait in a crate without the prelude.
#[plugin_trait]
pub trait Bare {
    /// Every shape of signature.
    fn all(
        &mut self,
        text: &str,
        bytes: &[u8],
        items: ::std::vec::Vec<::std::string::String>,
    ) -> ::std::option::Option<::std::result::Result<u64, ::std::string::String>>;
}

/// Implements it.
#[plugin_aggregates(Bare, allocator = host)]
#[derive(Default)]
pub struct Impl;

#[plugin_impl(Bare)]
impl Bare for Impl {
    fn all(
        &mut self,
        _: &str,
        bytes: &[u8],
        _: ::std::vec::Vec<::std::string::String>,
    ) -> ::std::option::Option<::std::result::Result<u64, ::std::string::String>> {
        ::std::option::Option::Some(::std::result::Result::Ok(bytes.len() as u64))
    }
}

fn main() {}
