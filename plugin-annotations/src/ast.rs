//! The model of a `#[plugin_trait]` trait, checked while it is built.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use syn::{FnArg, Ident, ItemTrait, Pat, TraitItem, TraitItemFn, TypeParamBound};

use crate::fallback::Errors;
use crate::types::{self, ArgKind, RetKind};

pub struct PluginTrait<'a> {
    pub item: &'a ItemTrait,
    pub methods: Vec<Method<'a>>,
    /// The `Send` supertrait bound, if any.
    pub send: Option<&'a syn::Path>,
    /// The `Sync` supertrait bound, if any.
    pub sync: Option<&'a syn::Path>,
}

pub struct Method<'a> {
    pub item: &'a TraitItemFn,
    pub ident: &'a Ident,
    pub mutable: bool,
    pub args: Vec<Arg>,
    pub ret: RetKind,
}

pub struct Arg {
    pub ident: Ident,
    pub ty: syn::Type,
    pub kind: ArgKind,
}

impl<'a> PluginTrait<'a> {
    pub fn parse(item: &'a ItemTrait) -> Result<Self, syn::Error> {
        let mut errors = Errors::default();
        if let Some(unsafety) = &item.unsafety {
            errors.error(unsafety, "plugin traits cannot be `unsafe`");
        }
        if let Some(auto) = &item.auto_token {
            errors.error(auto, "plugin traits cannot be auto traits");
        }
        if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
            errors.error(
                &item.generics,
                "plugin traits cannot be generic: the vtable needs concrete types",
            );
        }
        let (mut send, mut sync) = (None, None);
        for bound in &item.supertraits {
            match bound {
                TypeParamBound::Trait(bound) if is_marker(&bound.path, "Send") => {
                    send = Some(&bound.path)
                }
                TypeParamBound::Trait(bound) if is_marker(&bound.path, "Sync") => {
                    sync = Some(&bound.path)
                }
                other => errors.error(
                    other,
                    "plugin traits may only have `Send` and `Sync` as supertraits",
                ),
            }
        }
        let mut methods = Vec::new();
        for trait_item in &item.items {
            match trait_item {
                TraitItem::Fn(function) => {
                    if let Some(method) = Method::parse(function, &mut errors) {
                        methods.push(method);
                    }
                }
                other => errors.error(
                    other,
                    "plugin traits contain methods only: no associated types, consts or macros",
                ),
            }
        }
        check_names(&methods, &item.ident, &mut errors);
        errors.finish()?;
        Ok(Self {
            item,
            methods,
            send,
            sync,
        })
    }

    pub fn ident(&self) -> &Ident {
        &self.item.ident
    }

    pub fn vtable(&self) -> Ident {
        format_ident!("{}VTable", self.item.ident)
    }

    pub fn proxy(&self) -> Ident {
        format_ident!("{}Proxy", self.item.ident)
    }
}

/// Refuses method names the generated proxy's own methods would shadow:
/// `info`, `try_<method>` of another method, and the `__` names the macro
/// writes.
fn check_names(methods: &[Method<'_>], trait_ident: &Ident, errors: &mut Errors) {
    let names: Vec<String> = methods.iter().map(|m| m.ident.to_string()).collect();
    for method in methods {
        let name = method.ident.to_string();
        if name == "info" {
            errors.error(
                method.ident,
                format!(
                    "a plugin method cannot be named `info`: `{trait_ident}Proxy::info()` (the instance's library, trait and entry) would hide it on the proxy; rename the method"
                ),
            );
        } else if let Some(base) = name.strip_prefix("try_")
            && names.iter().any(|other| other == base)
        {
            errors.error(
                method.ident,
                format!(
                    "a plugin method cannot be named `{name}`: the proxy's generated `{name}` (`{base}` returning its failures as a `Result`) would hide it; rename the method"
                ),
            );
        } else if name.starts_with("__plugin") || name.starts_with("__default_") {
            errors.error(
                method.ident,
                format!("`{name}` is a name the plugin macros use; rename the method"),
            );
        }
    }
}

/// `Send`, `core::marker::Send` or `std::marker::Send` (likewise `Sync`).
/// What the name resolves to is checked by the generated code.
fn is_marker(path: &syn::Path, name: &str) -> bool {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match names
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [last] => *last == name,
        ["core" | "std", "marker", last] => *last == name,
        _ => false,
    }
}

impl<'a> Method<'a> {
    fn parse(item: &'a TraitItemFn, errors: &mut Errors) -> Option<Self> {
        let sig = &item.sig;
        let before = errors_len(errors);
        for attr in &item.attrs {
            if attr.path().is_ident("cfg") {
                errors.error(attr, "`#[cfg]` on plugin trait methods is not supported: the vtable must be the same in every build of the interface");
            }
        }
        if let Some(constness) = &sig.constness {
            errors.error(constness, "plugin methods cannot be `const fn`");
        }
        if let Some(asyncness) = &sig.asyncness {
            errors.error(
                asyncness,
                "plugin methods cannot be `async`: no executor crosses the plugin boundary",
            );
        }
        if let Some(unsafety) = &sig.unsafety {
            errors.error(unsafety, "plugin methods cannot be `unsafe fn`");
        }
        if let Some(abi) = &sig.abi {
            errors.error(
                abi,
                "plugin methods are plain Rust methods; the macro writes the `extern \"C\"` shims",
            );
        }
        if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
            errors.error(&sig.generics, "plugin methods cannot be generic: every type crossing the boundary must be concrete");
        }
        if let Some(variadic) = &sig.variadic {
            errors.error(variadic, "plugin methods cannot be variadic");
        }
        let mut mutable = false;
        let mut has_receiver = false;
        let mut args = Vec::new();
        for (index, input) in sig.inputs.iter().enumerate() {
            match input {
                FnArg::Receiver(receiver) => {
                    has_receiver = true;
                    let by_ref = receiver.reference.is_some() && receiver.colon_token.is_none();
                    let named_lifetime = receiver
                        .reference
                        .as_ref()
                        .and_then(|(_, lifetime)| lifetime.as_ref())
                        .is_some_and(|lifetime| lifetime.ident != "_");
                    if !by_ref || named_lifetime {
                        errors.error(receiver, "plugin methods take `&self` or `&mut self`");
                    }
                    mutable = receiver.mutability.is_some();
                }
                FnArg::Typed(typed) => {
                    let ident = match &*typed.pat {
                        Pat::Ident(pat)
                            if pat.by_ref.is_none()
                                && pat.subpat.is_none()
                                && pat.ident != "self" =>
                        {
                            pat.ident.clone()
                        }
                        _ => format_ident!("arg{}", index),
                    };
                    if let Some(kind) = types::argument(&typed.ty, errors) {
                        args.push(Arg {
                            ident,
                            ty: (*typed.ty).clone(),
                            kind,
                        });
                    }
                }
            }
        }
        if !has_receiver {
            errors.error(
                &sig.ident,
                "plugin methods take `&self` or `&mut self`; associated functions without a receiver cannot be called on a plugin instance",
            );
        }
        let ret = types::return_type(&sig.output, !mutable, errors);
        if errors_len(errors) != before {
            return None;
        }
        Some(Self {
            item,
            ident: &sig.ident,
            mutable,
            args,
            ret: ret?,
        })
    }

    /// `fn greet(&self, target: &str) -> String`, as written.
    pub fn signature(&self) -> String {
        let sig = &self.item.sig;
        let receiver = if self.mutable {
            quote!(&mut self)
        } else {
            quote!(&self)
        };
        let args = self.args.iter().map(|arg| {
            let (ident, ty) = (&arg.ident, &arg.ty);
            quote!(#ident: #ty)
        });
        let name = &sig.ident;
        let output = &sig.output;
        crate::render::tokens(quote!(fn #name(#receiver #(, #args)*) #output))
    }

    /// Where generated code that involves every type of the method is
    /// spanned: the first type that is not one of the standard carried
    /// types, where a type that cannot cross is reported, so that such a
    /// mistake gives one error.
    pub fn blame(&self) -> Option<proc_macro2::Span> {
        let types = self
            .args
            .iter()
            .map(|arg| &arg.ty)
            .chain(match &self.item.sig.output {
                syn::ReturnType::Type(_, ty) => Some(&**ty),
                syn::ReturnType::Default => None,
            });
        types
            .into_iter()
            .find(|ty| crate::types::names_unknown(ty))
            .map(crate::types::blame_span)
    }

    /// The receiver as the proxy writes it.
    pub fn receiver(&self) -> TokenStream {
        if self.mutable {
            quote!(&mut self)
        } else {
            quote!(&self)
        }
    }

    /// `#[doc]` attributes of the method, for the proxy's methods.
    pub fn docs(&self) -> impl Iterator<Item = &syn::Attribute> {
        self.item
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("doc"))
    }
}

fn errors_len(errors: &Errors) -> usize {
    errors.len()
}

impl ToTokens for Arg {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let (ident, ty) = (&self.ident, &self.ty);
        tokens.extend(quote!(#ident: #ty));
    }
}
