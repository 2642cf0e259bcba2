//! `#[derive(PluginData)]`: structs and enums that cross the boundary.
//!
//! The derive writes the type's boundary form next to it: a `#[repr(C)]`
//! struct of the fields' boundary forms, or for an enum a `u32` tag and a
//! `#[repr(C)]` union of one such struct per variant. Lowering moves each
//! field into its form; lifting checks the tag and lifts each field.

use crate::private::Private;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident};

use crate::fallback::Errors;

pub fn expand(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    match validate(&input) {
        Ok(()) => generate(&input),
        Err(error) => error.to_compile_error(),
    }
}

/// Every mistake in the type at once: generics, unions, empty enums,
/// fields that cannot be carried.
fn validate(input: &DeriveInput) -> syn::Result<()> {
    let mut errors = Errors::default();
    if !input.generics.params.is_empty() {
        errors.error(
            &input.generics,
            "`PluginData` types cannot be generic: the layout check needs concrete types; name the concrete type",
        );
    }
    match &input.data {
        Data::Union(data) => errors.error(
            data.union_token,
            "`PluginData` is for structs and enums: the other side cannot tell which field of a union is set",
        ),
        Data::Enum(data) if data.variants.is_empty() => errors.error(
            &input.ident,
            "an enum without variants has no values to carry",
        ),
        Data::Struct(data) => {
            for field in &data.fields {
                crate::types::owned(&field.ty, &mut errors);
            }
        }
        Data::Enum(data) => {
            for field in data.variants.iter().flat_map(|variant| &variant.fields) {
                crate::types::owned(&field.ty, &mut errors);
            }
        }
    }
    errors.finish()
}

/// The boundary form and the `PluginData` impl of a type [`validate`]
/// accepted.
fn generate(input: &DeriveInput) -> TokenStream {
    match &input.data {
        Data::Struct(data) => structure(input, &data.fields),
        Data::Enum(data) => enumeration(input, data),
        Data::Union(_) => TokenStream::new(),
    }
}

/// Whether the type is `#[repr(C)]` (or transparent): its own layout is
/// then fixed, not chosen by the compiler.
fn repr_c(input: &DeriveInput) -> bool {
    input.attrs.iter().any(|attr| {
        attr.path().is_ident("repr")
            && attr
                .parse_args_with(
                    syn::punctuated::Punctuated::<Ident, syn::Token![,]>::parse_terminated,
                )
                .is_ok_and(|reprs| reprs.iter().any(|r| r == "C" || r == "transparent"))
    })
}

/// One field: how it is named in patterns and in layouts.
struct Field<'a> {
    /// `name` or `0`, as a member.
    member: syn::Member,
    /// A local variable holding it.
    local: Ident,
    name: String,
    ty: &'a syn::Type,
}

fn fields(fields: &Fields) -> Vec<Field<'_>> {
    fields
        .iter()
        .enumerate()
        .map(|(index, field)| match &field.ident {
            Some(ident) => Field {
                member: syn::Member::Named(ident.clone()),
                local: format_ident!("__field_{}", ident),
                name: ident.to_string(),
                ty: &field.ty,
            },
            None => Field {
                member: syn::Member::Unnamed(syn::Index::from(index)),
                local: format_ident!("__field_{}", index),
                name: index.to_string(),
                ty: &field.ty,
            },
        })
        .collect()
}

/// The `#[repr(C)]` struct of the fields' boundary forms.
fn abi_struct(
    name: &Ident,
    vis: &syn::Visibility,
    fields: &[Field<'_>],
    bounds: &TokenStream,
) -> TokenStream {
    let private = Private;
    let attrs = quote! {
        #[doc(hidden)]
        #[repr(C)]
        #[allow(non_camel_case_types, non_snake_case, missing_debug_implementations, missing_docs, unreachable_pub)]
    };
    if fields.is_empty() {
        return quote!(#attrs #vis struct #name { __unit: #private::Unit });
    }
    let tuple = matches!(fields[0].member, syn::Member::Unnamed(_));
    let types = fields.iter().map(|field| {
        let ty = field.ty;
        quote_spanned!(ty.span()=> <#ty as #private::PluginData>::Abi)
    });
    if tuple {
        quote!(#attrs #vis struct #name(#(#types),*) #bounds;)
    } else {
        let names = fields.iter().map(|field| &field.member);
        quote!(#attrs #vis struct #name #bounds { #(#names: #types),* })
    }
}

/// The value of an abi struct built from the fields' locals, lowered.
fn abi_value(name: &Ident, fields: &[Field<'_>]) -> TokenStream {
    let private = Private;
    if fields.is_empty() {
        return quote!(#name { __unit: #private::Unit::VALUE });
    }
    let values = fields.iter().map(|field| {
        let (member, local, ty) = (&field.member, &field.local, field.ty);
        let lower = quote_spanned!(ty.span()=> <#ty as #private::PluginData>::lower);
        quote!(#member: #lower(#local, __to))
    });
    quote!(#name { #(#values),* })
}

/// A pattern binding every field of `path` to its local.
fn pattern(path: TokenStream, fields: &[Field<'_>], empty: TokenStream) -> TokenStream {
    if fields.is_empty() {
        return quote!(#path #empty);
    }
    let binds = fields.iter().map(|field| {
        let (member, local) = (&field.member, &field.local);
        quote!(#member: #local)
    });
    quote!(#path { #(#binds),* })
}

/// The value of `path` with every field lifted from its local.
fn lifted(path: TokenStream, fields: &[Field<'_>], unit: TokenStream) -> TokenStream {
    let private = Private;
    if fields.is_empty() {
        return quote!(#path #unit);
    }
    let values = fields.iter().map(|field| {
        let (member, local, ty) = (&field.member, &field.local, field.ty);
        let lift = quote_spanned!(ty.span()=> <#ty as #private::PluginData>::lift);
        // SAFETY (of the generated block): the field's boundary form,
        // which the other side lowered from the same field type.
        quote!(#member: unsafe { #lift(#local, __cx) }?)
    });
    quote!(#path { #(#values),* })
}

/// The fields' layouts: `kind` is `LAYOUT` or `NATIVE`; offsets within
/// `within` when given.
fn field_layouts(
    fields: &[Field<'_>],
    within: Option<&TokenStream>,
    kind: &str,
    this: &Ident,
) -> TokenStream {
    let private = Private;
    let kind = Ident::new(kind, Span::call_site());
    let layouts = fields.iter().map(|field| {
        let (member, name, ty) = (&field.member, &field.name, field.ty);
        let offset = match within {
            Some(within) => quote!(::core::mem::offset_of!(#within, #member) as u32),
            None => quote!(0),
        };
        let layout = layout_of(ty, this, &kind);
        quote! {
            #private::FieldLayout {
                name: #private::RStr::new(#name),
                offset: #offset,
                ty: #layout,
            }
        }
    });
    quote!(&[#(#layouts),*])
}

/// `where T: PluginData` for each field type of the user's own, spanned at
/// the type: a type that cannot cross is then reported once, at the where
/// clause, and everything generated assumes it.
fn bounds<'a>(types: impl Iterator<Item = &'a syn::Type>, this: &Ident) -> TokenStream {
    let private = Private;
    let mut seen = Vec::new();
    let bounds: Vec<TokenStream> = types
        .filter(|ty| crate::types::names_unknown(ty) && !mentions(ty, this))
        .filter(|ty| {
            let text = quote!(#ty).to_string();
            let fresh = !seen.contains(&text);
            seen.push(text);
            fresh
        })
        .map(|ty| crate::span::respan_all(quote!(#ty: #private::PluginData), ty.span()))
        .collect();
    if bounds.is_empty() {
        TokenStream::new()
    } else {
        quote!(where #(#bounds),*)
    }
}

fn plain(input: &DeriveInput, fields: &[Field<'_>]) -> TokenStream {
    let private = Private;
    if !repr_c(input) || fields.is_empty() {
        return quote!(false);
    }
    let plains = fields.iter().map(|field| {
        let ty = field.ty;
        quote!(<#ty as #private::PluginData>::PLAIN)
    });
    quote!(#(#plains)&&*)
}

fn structure(input: &DeriveInput, data: &Fields) -> TokenStream {
    let private = Private;
    let ident = &input.ident;
    let vis = &input.vis;
    let name = ident.to_string();
    let abi = format_ident!("__PluginAbi_{}", ident);
    let fields = fields(data);
    let unit = match data {
        Fields::Unit => TokenStream::new(),
        Fields::Unnamed(_) => quote!(()),
        Fields::Named(_) => quote!({}),
    };
    let bounds = bounds(fields.iter().map(|field| field.ty), ident);
    let abi_struct = abi_struct(&abi, vis, &fields, &bounds);
    let this = pattern(quote!(#ident), &fields, unit.clone());
    let abi_value = abi_value(&abi, &fields);
    let abi_pattern = if fields.is_empty() {
        quote!(#abi { __unit: _ })
    } else {
        pattern(quote!(#abi), &fields, TokenStream::new())
    };
    let lifted = lifted(quote!(#ident), &fields, unit);
    let abi_path = quote!(#abi);
    let layouts = field_layouts(
        &fields,
        (!fields.is_empty()).then_some(&abi_path),
        "LAYOUT",
        ident,
    );
    let ident_path = quote!(#ident);
    let native_fields = field_layouts(&fields, Some(&ident_path), "NATIVE", ident);
    let native = if repr_c(input) {
        quote!(&#private::TypeLayout::structure::<#ident>(#name, #native_fields))
    } else {
        quote!(&#private::TypeLayout::native::<#ident>(#name, #native_fields, &[], &[]))
    };
    let plain = plain(input, &fields);
    let wire = wire_struct(ident, &fields, &bounds, data);
    quote! {
        #abi_struct

        #wire

        // SAFETY: the boundary form is `#[repr(C)]`, made of the fields'
        // boundary forms, each lowered and lifted by its own `PluginData`;
        // the layouts are computed from the types after `#[cfg]`.
        unsafe impl #private::PluginData for #ident #bounds {
            type Abi = #abi;
            const LAYOUT: &'static #private::TypeLayout =
                &#private::TypeLayout::structure::<#abi>(#name, #layouts);
            const NATIVE: &'static #private::TypeLayout = #native;
            const PLAIN: bool = #plain;

            #[inline]
            fn lower(self, __to: &#private::Lower<'_>) -> #abi {
                let #this = self;
                #abi_value
            }

            #[inline]
            unsafe fn lift(
                __abi: #abi,
                __cx: &#private::Lift<'_>,
            ) -> ::core::result::Result<Self, #private::Invalid> {
                let #abi_pattern = __abi;
                // SAFETY: each field is the other side's lowering of the
                // same field type.
                ::core::result::Result::Ok(#lifted)
            }
        }
    }
}

fn enumeration(input: &DeriveInput, data: &syn::DataEnum) -> TokenStream {
    let private = Private;
    let ident = &input.ident;
    let vis = &input.vis;
    let name = ident.to_string();
    let abi = format_ident!("__PluginAbi_{}", ident);
    let payload = format_ident!("__PluginAbiPayload_{}", ident);
    let count = data.variants.len();
    let bounds = bounds(
        data.variants
            .iter()
            .flat_map(|variant| &variant.fields)
            .map(|field| &field.ty),
        ident,
    );
    let mut variant_structs = Vec::new();
    let mut union_fields = Vec::new();
    let mut lowers = Vec::new();
    let mut lifts = Vec::new();
    let mut drops = Vec::new();
    let mut layouts = Vec::new();
    let mut natives = Vec::new();
    for (index, variant) in data.variants.iter().enumerate() {
        let tag = index as u32;
        let variant_ident = &variant.ident;
        let variant_name = variant_ident.to_string();
        let fields = fields(&variant.fields);
        let unit = match &variant.fields {
            Fields::Unit => TokenStream::new(),
            Fields::Unnamed(_) => quote!(()),
            Fields::Named(_) => quote!({}),
        };
        let this = pattern(quote!(#ident::#variant_ident), &fields, unit.clone());
        let native_fields = field_layouts(&fields, None, "NATIVE", ident);
        natives.push(quote! {
            #private::VariantLayout {
                name: #private::RStr::new(#variant_name),
                fields: #private::RSlice::from_slice(#native_fields),
            }
        });
        if fields.is_empty() {
            lowers.push(quote! {
                #this => #abi { tag: #tag, payload: #payload { __none: () } },
            });
            lifts.push(quote! {
                #tag => ::core::result::Result::Ok(#ident::#variant_ident #unit),
            });
            layouts.push(quote! {
                #private::VariantLayout {
                    name: #private::RStr::new(#variant_name),
                    fields: #private::RSlice::from_slice(&[]),
                }
            });
            continue;
        }
        let variant_abi = format_ident!("__PluginAbi_{}_{}", ident, variant_ident);
        variant_structs.push(abi_struct(&variant_abi, vis, &fields, &bounds));
        union_fields.push(quote!(#variant_ident: ::core::mem::ManuallyDrop<#variant_abi>));
        let value = abi_value(&variant_abi, &fields);
        lowers.push(quote! {
            #this => #abi {
                tag: #tag,
                payload: #payload { #variant_ident: ::core::mem::ManuallyDrop::new(#value) },
            },
        });
        let variant_pattern = pattern(quote!(#variant_abi), &fields, TokenStream::new());
        let lifted = lifted(quote!(#ident::#variant_ident), &fields, unit);
        lifts.push(quote! {
            #tag => {
                // SAFETY: the tag names this variant, whose payload the
                // other side initialised; it is read once, and the rest of
                // the value is not dropped (`ManuallyDrop`).
                let #variant_pattern = ::core::mem::ManuallyDrop::into_inner(unsafe {
                    ::core::ptr::read(&__abi.payload.#variant_ident)
                });
                ::core::result::Result::Ok(#lifted)
            }
        });
        drops.push(quote! {
            // SAFETY: the tag names the variant the payload holds.
            #tag => unsafe { ::core::mem::ManuallyDrop::drop(&mut self.payload.#variant_ident) },
        });
        let variant_path = quote!(#variant_abi);
        let field_layouts = field_layouts(&fields, Some(&variant_path), "LAYOUT", ident);
        layouts.push(quote! {
            #private::VariantLayout {
                name: #private::RStr::new(#variant_name),
                fields: #private::RSlice::from_slice(#field_layouts),
            }
        });
    }
    let wire = wire_enum(ident, data, &bounds);
    let hidden = quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types, non_snake_case, missing_debug_implementations, missing_docs, unreachable_pub)]
    };
    let drop_arms = if drops.is_empty() {
        TokenStream::new()
    } else {
        quote!(match self.tag { #(#drops)* _ => {} })
    };
    quote! {
        #wire

        #(#variant_structs)*

        #hidden
        #[repr(C)]
        #vis union #payload #bounds {
            #(#union_fields,)*
            __none: (),
        }

        #hidden
        #[repr(C)]
        #vis struct #abi #bounds {
            tag: u32,
            payload: #payload,
        }

        impl ::core::ops::Drop for #abi #bounds {
            fn drop(&mut self) {
                // A tag that names no variant came from a forged value: its
                // payload is leaked rather than guessed at.
                #drop_arms
            }
        }

        // SAFETY: the boundary form is a `u32` tag and a `#[repr(C)]`
        // union of the variants' boundary forms; lifting checks the tag
        // before reading the payload it names, and each field is lowered
        // and lifted by its own `PluginData`.
        unsafe impl #private::PluginData for #ident #bounds {
            type Abi = #abi;
            const LAYOUT: &'static #private::TypeLayout =
                &#private::TypeLayout::enumeration::<#abi>(#name, &[#(#layouts),*]);
            const NATIVE: &'static #private::TypeLayout =
                &#private::TypeLayout::native::<#ident>(#name, &[], &[], &[#(#natives),*]);

            #[inline]
            fn lower(self, __to: &#private::Lower<'_>) -> #abi {
                match self {
                    #(#lowers)*
                }
            }

            #[inline]
            unsafe fn lift(
                __abi: #abi,
                __cx: &#private::Lift<'_>,
            ) -> ::core::result::Result<Self, #private::Invalid> {
                let __abi = ::core::mem::ManuallyDrop::new(__abi);
                match __abi.tag {
                    #(#lifts)*
                    __tag => ::core::result::Result::Err(#private::Invalid::tag(#name, __tag, #count)),
                }
            }
        }
    }
}

/// Nested tuples of at most 16 items each (serde's largest tuple), so
/// that any number of fields reads and writes as one sequence: postcard
/// writes a tuple as its items, nesting leaves no trace.
fn nest(items: Vec<TokenStream>) -> TokenStream {
    if items.len() <= 16 {
        return quote!((#(#items,)*));
    }
    let chunks = items.chunks(16).map(|chunk| nest(chunk.to_vec())).collect();
    nest(chunks)
}

/// The fields as one nested tuple of `Ser`s, their pattern of `De`s and
/// its type.
fn wire_parts(fields: &[Field<'_>]) -> (TokenStream, TokenStream, TokenStream) {
    let private = Private;
    let sers = fields
        .iter()
        .map(|field| {
            let local = &field.local;
            quote!(#private::Ser(#local))
        })
        .collect();
    let des = fields
        .iter()
        .map(|field| {
            let local = &field.local;
            quote!(#private::De(#local))
        })
        .collect();
    let types = fields
        .iter()
        .map(|field| {
            let ty = field.ty;
            quote!(#private::De<#ty>)
        })
        .collect();
    (nest(sers), nest(des), nest(types))
}

/// The value of `path` from the fields' locals.
fn built(path: TokenStream, fields: &[Field<'_>], unit: TokenStream) -> TokenStream {
    if fields.is_empty() {
        return quote!(#path #unit);
    }
    let values = fields.iter().map(|field| {
        let (member, local) = (&field.member, &field.local);
        quote!(#member: #local)
    });
    quote!(#path { #(#values),* })
}

fn unit_of(fields: &Fields) -> TokenStream {
    match fields {
        Fields::Unit => TokenStream::new(),
        Fields::Unnamed(_) => quote!(()),
        Fields::Named(_) => quote!({}),
    }
}

/// `Wire` for a struct: its fields in order.
fn wire_struct(
    ident: &Ident,
    fields: &[Field<'_>],
    bounds: &TokenStream,
    data: &Fields,
) -> TokenStream {
    let private = Private;
    let unit = unit_of(data);
    let this = pattern(quote!(#ident), fields, unit.clone());
    let (sers, des, types) = wire_parts(fields);
    let value = built(quote!(#ident), fields, unit);
    quote! {
        impl #private::Wire for #ident #bounds {
            fn wire_encode<__S: #private::Serializer>(
                &self,
                __serializer: __S,
            ) -> ::core::result::Result<__S::Ok, __S::Error> {
                let #this = self;
                #private::Serialize::serialize(&#sers, __serializer)
            }

            fn wire_decode<'__de, __D: #private::Deserializer<'__de>>(
                __deserializer: __D,
            ) -> ::core::result::Result<Self, __D::Error> {
                let #des: #types = #private::Deserialize::deserialize(__deserializer)?;
                ::core::result::Result::Ok(#value)
            }
        }
    }
}

/// `Wire` for an enum: the variant's index, then its fields.
fn wire_enum(ident: &Ident, data: &syn::DataEnum, bounds: &TokenStream) -> TokenStream {
    let private = Private;
    let name = ident.to_string();
    let count = data.variants.len();
    let names = data
        .variants
        .iter()
        .map(|variant| variant.ident.to_string());
    let mut encodes = Vec::new();
    let mut decodes = Vec::new();
    for (index, variant) in data.variants.iter().enumerate() {
        let tag = index as u32;
        let variant_ident = &variant.ident;
        let variant_name = variant_ident.to_string();
        let fields = fields(&variant.fields);
        let unit = unit_of(&variant.fields);
        let this = pattern(quote!(#ident::#variant_ident), &fields, unit.clone());
        let value = built(quote!(#ident::#variant_ident), &fields, unit);
        if fields.is_empty() {
            encodes.push(quote! {
                #this => __serializer.serialize_unit_variant(#name, #tag, #variant_name),
            });
            decodes.push(quote! {
                #tag => {
                    #private::VariantAccess::unit_variant(__access)?;
                    ::core::result::Result::Ok(#value)
                }
            });
            continue;
        }
        let (sers, des, types) = wire_parts(&fields);
        encodes.push(quote! {
            #this => __serializer.serialize_newtype_variant(#name, #tag, #variant_name, &#sers),
        });
        decodes.push(quote! {
            #tag => {
                let #des: #types = #private::VariantAccess::newtype_variant(__access)?;
                ::core::result::Result::Ok(#value)
            }
        });
    }
    quote! {
        impl #private::Wire for #ident #bounds {
            fn wire_encode<__S: #private::Serializer>(
                &self,
                __serializer: __S,
            ) -> ::core::result::Result<__S::Ok, __S::Error> {
                match self {
                    #(#encodes)*
                }
            }

            fn wire_decode<'__de, __D: #private::Deserializer<'__de>>(
                __deserializer: __D,
            ) -> ::core::result::Result<Self, __D::Error> {
                #private::decode_enum::<Self, __D>(__deserializer)
            }
        }

        impl #private::WireEnum for #ident #bounds {
            const NAME: &'static str = #name;
            const VARIANTS: &'static [&'static str] = &[#(#names),*];

            fn wire_variant<'__de, __A: #private::VariantAccess<'__de>>(
                __index: u32,
                __access: __A,
            ) -> ::core::result::Result<Self, __A::Error> {
                match __index {
                    #(#decodes)*
                    _ => ::core::result::Result::Err(#private::unknown_variant(#name, __index, #count)),
                }
            }
        }
    }
}

/// Whether `ty` mentions the type being derived (`Box<Tree>` in `Tree`).
fn mentions(ty: &syn::Type, this: &Ident) -> bool {
    quote!(#ty)
        .into_iter()
        .any(|tree| tree_mentions(&tree, this))
}

fn tree_mentions(tree: &proc_macro2::TokenTree, this: &Ident) -> bool {
    match tree {
        proc_macro2::TokenTree::Ident(ident) => ident == this || ident == "Self",
        proc_macro2::TokenTree::Group(group) => group
            .stream()
            .into_iter()
            .any(|tree| tree_mentions(&tree, this)),
        _ => false,
    }
}

/// The layout (`kind` is `LAYOUT` or `NATIVE`) of a field's type. A type
/// that holds the derived type itself (`Box<Tree>`) is described here,
/// through the standard containers, with the inner occurrence named only,
/// since its own constant would contain itself.
fn layout_of(ty: &syn::Type, this: &Ident, kind: &Ident) -> TokenStream {
    let private = Private;
    let plain = || quote_spanned!(ty.span()=> <#ty as #private::PluginData>::#kind);
    if !mentions(ty, this) {
        return plain();
    }
    let native = kind == "NATIVE";
    let describe = |name: &str, native_name: &str, args: Vec<TokenStream>| {
        if native {
            quote!(&#private::TypeLayout::native::<#ty>(#native_name, &[], &[#(#args),*], &[]))
        } else {
            quote!(&#private::TypeLayout::framework::<<#ty as #private::PluginData>::Abi>(#name, &[#(#args),*]))
        }
    };
    match ty {
        syn::Type::Path(path) if path.qself.is_none() => {
            let Some(last) = path.path.segments.last() else {
                return plain();
            };
            if path.path.segments.len() == 1
                && (last.ident == *this || last.ident == "Self")
                && matches!(last.arguments, syn::PathArguments::None)
            {
                let name = this.to_string();
                return quote!(&#private::TypeLayout::recursive(#name));
            }
            let names = match last.ident.to_string().as_str() {
                "Box" => ("RBox", "Box"),
                "Vec" => ("RVec", "Vec"),
                "Option" => ("ROption", "Option"),
                "Result" => ("RResult", "Result"),
                "HashMap" => ("HashMap", "HashMap"),
                "BTreeMap" => ("BTreeMap", "BTreeMap"),
                "HashSet" => ("HashSet", "HashSet"),
                "BTreeSet" => ("BTreeSet", "BTreeSet"),
                _ => return plain(),
            };
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                return plain();
            };
            let args = args
                .args
                .iter()
                .filter_map(|arg| match arg {
                    syn::GenericArgument::Type(inner) => Some(layout_of(inner, this, kind)),
                    _ => None,
                })
                .collect();
            describe(names.0, names.1, args)
        }
        syn::Type::Tuple(tuple) if !tuple.elems.is_empty() => {
            let name = format!("Tuple{}", tuple.elems.len());
            let args = tuple
                .elems
                .iter()
                .map(|elem| layout_of(elem, this, kind))
                .collect();
            describe(&name, &name, args)
        }
        syn::Type::Array(array) => {
            describe("Array", "Array", vec![layout_of(&array.elem, this, kind)])
        }
        syn::Type::Paren(paren) => layout_of(&paren.elem, this, kind),
        _ => plain(),
    }
}
