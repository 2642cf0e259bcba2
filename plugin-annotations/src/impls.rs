//! `#[plugin_impl(Trait)]`: the exported maker and unmaker of one
//! implementation, and its `inventory` registration.

use crate::private::Private;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemImpl, Type};

use crate::attr::{self, ImplArgs};
use crate::fallback::{self, Errors};

pub fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let item: ItemImpl = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new_spanned(
                first_tokens(&input),
                "`#[plugin_impl(Trait)]` goes on an `impl Trait for Type` block",
            );
            return fallback::emit(input, error);
        }
    };
    let args: ImplArgs = match syn::parse2(args) {
        Ok(args) => args,
        Err(error) => return fallback::emit(item, error),
    };
    match validate(&args, &item) {
        Ok(valid) => generate(&args, &item, &valid),
        Err(error) => fallback::emit(item, error),
    }
}

/// What [`validate`] established about the input: the names the exported
/// symbols are made of.
struct Valid<'a> {
    trait_ident: &'a syn::Ident,
    type_ident: &'a syn::Ident,
}

/// FNV-1a of `bytes`: a compact id for an entry, shared by no two entries
/// of one crate in practice.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The first few tokens of an item, so an error points at its start, not
/// at the whole body.
fn first_tokens(input: &TokenStream) -> TokenStream {
    input.clone().into_iter().take(2).collect()
}

/// Every mistake in the input at once, or the names generation needs.
fn validate<'a>(args: &'a ImplArgs, item: &'a ItemImpl) -> syn::Result<Valid<'a>> {
    let mut errors = Errors::default();
    let trait_ident = attr::last_ident(&args.trait_path)?;
    match &item.trait_ {
        None => errors.error(
            &item.self_ty,
            format!("`#[plugin_impl({trait_ident})]` goes on `impl {trait_ident} for Type`, not on an inherent impl"),
        ),
        Some((Some(bang), _, _)) => errors.error(bang, "negative impls cannot be plugins"),
        Some((None, path, _)) => match path.segments.last() {
            Some(last) if last.ident == *trait_ident => {}
            _ => errors.error(
                path,
                format!("this impl is for `{}`, but the attribute names `{trait_ident}`", crate::render::tokens(path)),
            ),
        },
    }
    if !item.generics.params.is_empty() {
        errors.error(
            &item.generics,
            "plugin implementations cannot be generic: each exported type is one concrete type",
        );
    }
    if let Some(unsafety) = &item.unsafety {
        errors.error(unsafety, "plugin traits are never `unsafe` to implement");
    }
    let type_ident = match &*item.self_ty {
        Type::Path(path) if path.qself.is_none() && path.path.segments.len() == 1 => {
            let segment = &path.path.segments[0];
            if segment.arguments.is_none() {
                Some(&segment.ident)
            } else {
                errors.error(
                    &segment.arguments,
                    "the implementing type cannot have generic arguments",
                );
                None
            }
        }
        other => {
            errors.error(
                other,
                "the implementing type must be a type name defined or imported in this module, e.g. `English`",
            );
            None
        }
    };
    errors.finish()?;
    Ok(Valid {
        trait_ident,
        type_ident: type_ident.expect("checked above"),
    })
}

/// The exported maker and unmaker, the checks and the registration, for
/// an input [`validate`] accepted.
fn generate(args: &ImplArgs, item: &ItemImpl, valid: &Valid<'_>) -> TokenStream {
    let Valid {
        trait_ident,
        type_ident,
    } = *valid;
    let private = Private;
    let trait_path = &args.trait_path;
    let trait_name = trait_ident.to_string();
    let entry = type_ident.to_string();
    let maker = format_ident!("{}", plugin_symbols::register(&trait_name, &entry));
    let unmaker = format_ident!("{}", plugin_symbols::unregister(&trait_name, &entry));
    let dispatch = format_ident!("{}", plugin_symbols::dispatch(&trait_name, &entry));
    let self_ty = &item.self_ty;
    // A constructor may take the context and may fail; `Constructor`
    // tells its shapes apart, and an error lands on the path.
    let construct = match &args.constructor {
        Some(path) => {
            let call = quote_spanned!(path.span()=>
                the_constructor_returns_self_or_a_result::<#self_ty, _, _>(#path, cx));
            quote! {
                fn construct(
                    cx: &#private::PluginContext<'_>,
                ) -> ::core::result::Result<#self_ty, #private::String> {
                    // Named for the error a constructor of another shape
                    // gives.
                    fn the_constructor_returns_self_or_a_result<T, M, C: #private::Constructor<T, M>>(
                        constructor: C,
                        cx: &#private::PluginContext<'_>,
                    ) -> ::core::result::Result<T, #private::String> {
                        #private::construct_with(constructor, cx)
                    }
                    #call
                }
            }
        }
        None => {
            let default =
                quote_spanned!(self_ty.span()=> <#self_ty as ::core::default::Default>::default());
            quote! {
                fn construct(
                    _: &#private::PluginContext<'_>,
                ) -> ::core::result::Result<#self_ty, #private::String> {
                    ::core::result::Result::Ok(#default)
                }
            }
        }
    };
    let name_check = format!(
        "#[plugin_impl({trait_name})]: name the trait by its declared name; it is exported under that name"
    );
    let interface = quote_spanned!(trait_path.span()=> dyn #trait_path);
    // Found through a glob import of the crate root, shadowing the
    // framework's fallback (see `__private::without_aggregates`). Only the
    // name takes the trait's span, so that errors land on the trait.
    let module = syn::Ident::new("add_plugin_aggregates_at_the_crate_root", trait_path.span());
    let missing = format!(
        "this crate has no `#[plugin_aggregates(...)]`: add `#[plugin_aggregates({trait_name})]` to one item at the crate root"
    );
    let entry_id = fnv1a(format!("{trait_name}/{entry}").as_bytes());
    let state = args
        .state
        .map(|span| state_hooks(span, &trait_name, &entry, self_ty));

    quote! {
        #item

        const _: () = {
            struct __Export;

            impl #private::Export for __Export {
                type Interface = #interface;
                type Type = #self_ty;
                const ENTRY: &'static str = #entry;

                #construct
            }

            ::core::assert!(
                #private::str_eq(<__Export as #private::Export>::TRAIT_NAME, #trait_name),
                #name_check,
            );

            type __PluginInterface<'a> = #interface + 'a;

            #[allow(unused_imports, clippy::wildcard_imports)]
            use #private::without_aggregates::*;
            {
                #[allow(unused_imports, clippy::wildcard_imports)]
                use crate::*;

                // `#[plugin_aggregates(...)]`, on an item at the crate
                // root, must exist and list the trait. The check is named
                // for the error it gives.
                ::core::assert!(#module::PRESENT, #missing);
                const fn plugin_aggregates_must_list_the_trait<
                    C: #private::Lists<I>,
                    I: ?::core::marker::Sized,
                >() {
                }
                plugin_aggregates_must_list_the_trait::<#module::Listing, __PluginInterface<'_>>();

                // One export per trait and type name in the crate.
                impl ::plugin_interface::EachEntryExportedOnce<#entry_id, #module::Anchor<__Export>>
                    for #module::Anchor<__Export>
                {
                }
            }

            #[allow(non_snake_case)]
            #[unsafe(no_mangle)]
            unsafe extern "C" fn #maker(panic: *mut #private::PanicSlot) -> *mut #private::Registration {
                // SAFETY: `panic` is the caller's live slot.
                unsafe { <__Export as #private::Export>::make(panic) }
            }

            #[allow(non_snake_case)]
            #[unsafe(no_mangle)]
            unsafe extern "C" fn #unmaker(registration: *mut #private::Registration) {
                // SAFETY: The caller gives back a registration made by the maker above.
                unsafe { <__Export as #private::Export>::unmake(registration) }
            }

            #[allow(non_snake_case)]
            #[unsafe(no_mangle)]
            unsafe extern "C" fn #dispatch(
                instance: *mut #private::c_void,
                method: u32,
                args: *const u8,
                args_len: usize,
                sink: *mut #private::c_void,
                write: #private::DispatchSink,
                peer: *const #private::PeerTable,
            ) -> u32 {
                // SAFETY: the caller passes an instance the maker above
                // made, the argument bytes, its own sink and its peer.
                unsafe {
                    <__Export as #private::Export>::dispatch(instance, method, args, args_len, sink, write, peer)
                }
            }

            #private::inventory::submit! {
                #private::RegistrationFactory {
                    trait_name: <__Export as #private::Export>::TRAIT_NAME,
                    entry: #private::RStr::new(#entry),
                    maker: #maker,
                    unmaker: #unmaker,
                }
            }

            #state
        };
    }
}

/// The exported save and load hooks of an implementation declared with
/// `state`; a type without `PluginState` errors at the `state` flag.
fn state_hooks(
    span: proc_macro2::Span,
    trait_name: &str,
    entry: &str,
    self_ty: &Type,
) -> TokenStream {
    let private = Private;
    let save = format_ident!("{}", plugin_symbols::save_state(trait_name, entry));
    let load = format_ident!("{}", plugin_symbols::load_state(trait_name, entry));
    // Named at the `state` flag, so a type without `PluginState` gets one
    // error there.
    let stateful = syn::Ident::new("__Stateful", span);
    quote! {
        type #stateful = #self_ty;

        struct __State;

        impl #private::StateHooks for __State {
            type Type = #stateful;
        }

        #[allow(non_snake_case)]
        #[unsafe(no_mangle)]
        unsafe extern "C" fn #save(
            registration: *const #private::Registration,
        ) -> #private::Returned<#private::SavedState> {
            // SAFETY: The caller passes a live registration made by this impl's maker.
            unsafe { #private::save_hook::<__State>(registration) }
        }

        #[allow(non_snake_case)]
        #[unsafe(no_mangle)]
        unsafe extern "C" fn #load(
            registration: *mut #private::Registration,
            version: u32,
            bytes: #private::RSlice<'_, u8>,
        ) -> #private::Returned<#private::RResult<#private::Unit, #private::RString>> {
            // SAFETY: As above, with no other reference to the fresh instance.
            unsafe { #private::load_hook::<__State>(registration, version, bytes) }
        }
    }
}
