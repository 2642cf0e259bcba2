//! Attribute macros of the plugin framework. Use them through
//! `plugin-interface`, which re-exports them next to the runtime the
//! generated code calls.
//!
//! | macro | goes on | generates |
//! |---|---|---|
//! | `#[plugin_trait]` | a trait in an interface crate | `<Trait>VTable`, `<Trait>Proxy`, the trait's descriptor |
//! | `#[plugin_impl(Trait)]` | `impl Trait for Type` in a plugin crate | `plugin_register_<Trait>_<Type>_v1`, `plugin_unregister_<Trait>_<Type>_v1`, an `inventory` registration |
//! | `#[plugin_aggregates(Trait, ...)]` | any one item at the root of a plugin crate | the canary, `plugin_register_all_<Trait>_v1`, `plugin_unregister_all_<Trait>_v1`, `plugin_unmaker_counter_<Trait>_v1`, `plugin_factories_<Trait>_v1` |
//! | `#[derive(PluginData)]` | a struct or an enum | its `#[repr(C)]` boundary form and the impl that lowers, lifts and describes it |
//!
//! Each macro works in two phases: `validate` (for traits,
//! `PluginTrait::parse`) reads the input and collects
//! every mistake at once (an `Errors` collector that must be finished),
//! and only an input that passed reaches `generate`. On a mistake the
//! user's item is emitted unchanged beside the errors, so one mistake
//! gives one error. Generated code names the runtime through one path,
//! `::plugin_interface::__private` (`Private`).

mod aggregates;
mod ast;
mod attr;
mod data;
mod fallback;
mod impls;
mod private;
mod render;
mod span;
mod traits;
mod types;

use proc_macro::TokenStream;

/// Declares a trait as a plugin interface.
///
/// Generates, next to the trait: `<Trait>VTable` (a `#[repr(C)]` table of
/// `extern "C"` functions), `<Trait>Proxy` (implements the trait and adds a
/// `try_<method>` returning `Result<_, CallError>` per method) and an
/// implementation of `PluginInterface` for `dyn Trait` that describes the
/// interface to the loader.
///
/// Methods take `&self` or `&mut self`. Arguments and return values are
/// any type that implements `PluginData` (primitives, `char`, `u128`,
/// `String`, tuples, arrays, `Vec`, `Option`, `Result`, `Box`, maps, sets,
/// derived structs and enums, `Box<dyn Trait>` and `Arc<dyn Trait>` of
/// plugin traits); arguments may also borrow `&str`, `&T`, `&[T]`,
/// `&dyn Trait`, `&mut dyn Trait`, `&dyn Fn(A..) -> R` and
/// `&mut dyn FnMut(A..) -> R` for the call. A method may return `&str`
/// borrowed from `&self`. Also generated: the trait's implementation for
/// `HostObject<dyn Trait>`, `ObjectInterface` for `dyn Trait`, and
/// `PluginData` for `Box<dyn Trait>`, so its objects cross both ways.
#[proc_macro_attribute]
pub fn plugin_trait(args: TokenStream, input: TokenStream) -> TokenStream {
    traits::expand(args.into(), input.into()).into()
}

/// Exports an implementation of a plugin trait from a plugin library.
///
/// `#[plugin_impl(Greeter)]` on `impl Greeter for English` exports
/// `plugin_register_Greeter_English_v1` and
/// `plugin_unregister_Greeter_English_v1` and registers the pair for
/// `#[plugin_aggregates]`. Instances are made with `Default::default()`, or
/// with `#[plugin_impl(Greeter, constructor = English::new)]`. The crate
/// needs `#[plugin_aggregates(...)]` listing the trait, on an item at the
/// crate root.
#[proc_macro_attribute]
pub fn plugin_impl(args: TokenStream, input: TokenStream) -> TokenStream {
    impls::expand(args.into(), input.into()).into()
}

/// Exports the per-library symbols, once per plugin crate, listing every
/// trait the crate implements: `#[plugin_aggregates(Greeter, Calculator)]`
/// on any one item at the crate root. `#[plugin_impl]` checks that its
/// trait is listed, and that no two implementations export the same entry.
/// It also makes the crate's `#[global_allocator]` forward to the host's,
/// so that buffers cross both ways without a copy; `allocator = own`
/// keeps the crate's own (for a crate that declares one), and copies what
/// crosses into or out of the host's memory.
#[proc_macro_attribute]
pub fn plugin_aggregates(args: TokenStream, input: TokenStream) -> TokenStream {
    aggregates::expand(args.into(), input.into()).into()
}

/// Lets a struct or an enum cross the plugin boundary, by value and
/// borrowed (`&T`, `&[T]`). Its fields may be of any carried type, nested
/// to any depth (a type may hold itself through `Box`, `Vec` or `Option`).
/// No `#[repr(C)]` and no `Copy` is needed: the derive writes a
/// `#[repr(C)]` boundary form beside the type, and its layout (every field
/// and variant by name) is what the host compares with each plugin's.
#[proc_macro_derive(PluginData)]
pub fn derive_plugin_data(input: TokenStream) -> TokenStream {
    data::expand(input.into()).into()
}
