//! `#[plugin_aggregates(Trait, ...)]`: the canary and the per-trait symbols
//! of a plugin library.

use crate::private::Private;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::attr;
use crate::fallback::{self, Errors};

pub fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let valid = attr::aggregate_args(args).and_then(validate);
    match valid {
        Ok(valid) => {
            let mut out = input;
            out.extend(generate(&valid));
            out
        }
        Err(error) => fallback::emit(input, error),
    }
}

/// The arguments, with the name each trait is exported under.
struct Valid {
    args: attr::AggregateArgs,
    names: Vec<String>,
}

/// Every mistake in the arguments at once, or the traits' names.
fn validate(args: attr::AggregateArgs) -> syn::Result<Valid> {
    let mut errors = Errors::default();
    let mut names: Vec<String> = Vec::new();
    for path in &args.traits {
        match attr::last_ident(path) {
            Ok(ident) => {
                let name = ident.to_string();
                if names.contains(&name) {
                    errors.error(path, format!("`{name}` is listed twice"));
                }
                names.push(name);
            }
            Err(error) => errors.push(error),
        }
    }
    errors.finish()?;
    Ok(Valid { args, names })
}

/// The canary, the per-trait symbols and the checks, for arguments
/// [`validate`] accepted.
fn generate(valid: &Valid) -> TokenStream {
    let Valid { args, names } = valid;
    let traits = &args.traits;
    let private = Private;
    let canary = format_ident!("{}", plugin_symbols::CANARY);
    let markers: Vec<syn::Ident> = names
        .iter()
        .map(|name| format_ident!("__Aggregate{}", name))
        .collect();
    let per_trait = traits.iter().zip(names).zip(&markers).map(|((path, name), marker)| {
        let register_all = format_ident!("{}", plugin_symbols::register_all(name));
        let unregister_all = format_ident!("{}", plugin_symbols::unregister_all(name));
        let counter = format_ident!("{}", plugin_symbols::unmaker_counter(name));
        let factories = format_ident!("{}", plugin_symbols::factories(name));
        let name_check = format!(
            "#[plugin_aggregates({name})]: name the trait by its declared name; it is exported under that name"
        );
        let interface = quote_spanned!(path.span()=> dyn #path);
        quote! {
            struct #marker;

            impl #private::Aggregate for #marker {
                type Interface = #interface;
            }

            ::core::assert!(
                #private::str_eq(<#marker as #private::Aggregate>::DESCRIPTOR.name, #name),
                #name_check,
            );

            #[allow(non_snake_case)]
            #[unsafe(no_mangle)]
            unsafe extern "C" fn #register_all(panic: *mut #private::PanicSlot) -> *mut #private::RegistrationArray {
                // SAFETY: `panic` is the caller's live slot.
                unsafe { <#marker as #private::Aggregate>::register_all(panic) }
            }

            #[allow(non_snake_case)]
            #[unsafe(no_mangle)]
            unsafe extern "C" fn #unregister_all(array: *mut #private::RegistrationArray) {
                // SAFETY: The caller gives back an array made by the function above.
                unsafe { <#marker as #private::Aggregate>::unregister_all(array) }
            }

            #[allow(non_snake_case)]
            #[unsafe(no_mangle)]
            extern "C" fn #counter() -> u64 {
                <#marker as #private::Aggregate>::unmaker_count()
            }

            #[allow(non_snake_case)]
            #[unsafe(no_mangle)]
            unsafe extern "C" fn #factories(visit: #private::FactoryVisitor, context: *mut #private::c_void) {
                // SAFETY: The caller passes a visitor that accepts its context.
                unsafe { <#marker as #private::Aggregate>::visit_factories(visit, context) }
            }
        }
    });

    // Every library answers the host's offer of its allocator: with
    // `allocator = host` it takes it (unless it already allocated), else
    // it keeps its own, and the table to put what it sends in the host's
    // memory.
    let install = format_ident!("{}", plugin_symbols::ALLOCATOR);
    let allocator = if args.host_allocator {
        quote! {
            /// The library's global allocator: the host's, once the host
            /// installs it, which it does before calling anything else.
            #[global_allocator]
            static __PLUGIN_ALLOCATOR: #private::HostAllocator = #private::HostAllocator::new();

            #[unsafe(no_mangle)]
            unsafe extern "C" fn #install(table: *const #private::AllocatorTable) -> u8 {
                // SAFETY: The host passes its static table, or null, before
                // calling anything else.
                unsafe { #private::answer_offer(table, ::core::option::Option::Some(&__PLUGIN_ALLOCATOR)) }
            }
        }
    } else {
        quote! {
            #[unsafe(no_mangle)]
            unsafe extern "C" fn #install(table: *const #private::AllocatorTable) -> u8 {
                // SAFETY: The host passes its static table, or null, before
                // calling anything else.
                unsafe { #private::answer_offer(table, ::core::option::Option::None) }
            }
        }
    };
    let flush = format_ident!("{}", plugin_symbols::FLUSH_OUTPUT);
    let flush_output = quote! {
        #[unsafe(no_mangle)]
        extern "C" fn #flush() {
            #private::flush_output()
        }
    };
    // Every library takes the host's table (its logger, the construction
    // in progress), and says which services it needs.
    let host = format_ident!("{}", plugin_symbols::HOST);
    let requires_symbol = format_ident!("{}", plugin_symbols::REQUIRES);
    // A required service crosses as a shared object of its trait.
    let required_descriptors = args.requires.iter().map(|path| {
        let interface = quote_spanned!(path.span()=> dyn #path);
        quote_spanned!(path.span()=> a_required_service_is_a_plugin_trait::<#interface>())
    });
    let lifecycle = quote! {
        #[unsafe(no_mangle)]
        unsafe extern "C" fn #host(table: *const #private::HostTable) {
            // SAFETY: The host passes its static table, or null.
            unsafe { #private::install_host(table, ::core::module_path!()) }
        }

        #[unsafe(no_mangle)]
        extern "C" fn #requires_symbol() -> #private::RSlice<'static, &'static #private::TraitDescriptor> {
            // Named for the error a trait that cannot be a service gives.
            const fn a_required_service_is_a_plugin_trait<
                I: ?::core::marker::Sized + #private::ObjectInterface,
            >() -> &'static #private::TraitDescriptor {
                #private::service_descriptor::<I>()
            }
            const REQUIRES: &[&#private::TraitDescriptor] = &[#(#required_descriptors),*];
            #private::RSlice::from_slice(REQUIRES)
        }
    };
    let listed = traits.iter().map(|path| {
        let interface = quote_spanned!(path.span()=> dyn #path);
        quote!(impl #private::Lists<#interface> for add_plugin_aggregates_at_the_crate_root::PluginAggregates {})
    });
    quote! {
        /// Where `#[plugin_impl]` looks for this crate's aggregates (a
        /// crate without it finds the framework's fallback, which says to
        /// add `#[plugin_aggregates]`).
        #[doc(hidden)]
        #[allow(dead_code, unreachable_pub)]
        pub(crate) mod add_plugin_aggregates_at_the_crate_root {
            /// Marks the traits this crate aggregates; `#[plugin_impl]`
            /// checks its trait is one of them.
            #[allow(missing_debug_implementations)]
            pub(crate) struct PluginAggregates;
            /// The crate has `#[plugin_aggregates]`.
            pub(crate) const PRESENT: bool = true;
            /// What lists the traits.
            pub(crate) type Listing = PluginAggregates;
            /// The marker, for every implementation's entry check.
            pub(crate) type Anchor<T> = <T as #private::Replace<PluginAggregates>>::With;
        }

        #(#listed)*

        const _: () = {
            #(#per_trait)*

            #allocator

            #flush_output

            #lifecycle

            #[allow(non_upper_case_globals)]
            #[unsafe(no_mangle)]
            static #canary: #private::PluginCanary = #private::PluginCanary::new(
                &[#(<#markers as #private::Aggregate>::DESCRIPTOR),*],
                if ::core::cfg!(panic = "unwind") {
                    #private::PanicStrategy::Unwind
                } else {
                    #private::PanicStrategy::Abort
                },
            );
        };
    }
}
