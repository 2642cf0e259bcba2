//! `#[derive(PluginData)]`: plain `#[repr(C)]` structs that cross the
//! boundary as they are.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput};

use crate::fallback::Errors;

pub fn expand(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    match generate(&input) {
        Ok(tokens) => tokens,
        Err(error) => error.to_compile_error(),
    }
}

fn generate(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let fields = match &input.data {
        Data::Struct(data) => Some(&data.fields),
        Data::Enum(data) => {
            errors.error(
                data.enum_token,
                "`PluginData` is for structs: an enum's discriminant could be invalid on the other side",
            );
            None
        }
        Data::Union(data) => {
            errors.error(data.union_token, "`PluginData` is for structs");
            None
        }
    };
    let repr_c = input.attrs.iter().any(|attr| {
        attr.path().is_ident("repr")
            && attr
                .parse_args_with(
                    syn::punctuated::Punctuated::<syn::Ident, syn::Token![,]>::parse_terminated,
                )
                .is_ok_and(|reprs| reprs.iter().any(|r| r == "C" || r == "transparent"))
    });
    if !repr_c {
        errors.error(
            &input.ident,
            "`PluginData` needs a fixed layout: add `#[repr(C)]` to the struct",
        );
    }
    if !input.generics.params.is_empty() {
        errors.error(&input.generics, "`PluginData` structs cannot be generic");
    }
    errors.finish()?;

    let private: syn::Path = syn::parse_str("::plugin_interface::__private")?;
    let ident = &input.ident;
    let name = ident.to_string();
    let field_layouts = fields
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, field)| {
            let ty = &field.ty;
            let member = match &field.ident {
                Some(ident) => quote!(#ident),
                None => {
                    let index = syn::Index::from(index);
                    quote!(#index)
                }
            };
            let field_name = match &field.ident {
                Some(ident) => ident.to_string(),
                None => index.to_string(),
            };
            let layout = quote_spanned!(ty.span()=> <#ty as #private::PluginData>::LAYOUT);
            quote! {
                #private::FieldLayout {
                    name: #private::RStr::from_str(#field_name),
                    offset: ::core::mem::offset_of!(#ident, #member) as u32,
                    ty: #layout,
                }
            }
        });
    Ok(quote! {
        // SAFETY: `#[repr(C)]`, and every field is `PluginData` (its layout
        // is required below): the same bytes mean the same value in every
        // library.
        unsafe impl #private::PluginData for #ident {
            const LAYOUT: &'static #private::TypeLayout = &#private::TypeLayout::structure::<#ident>(
                #name,
                &[#(#field_layouts),*],
            );
        }
    })
}
