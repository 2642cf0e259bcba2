//! Which types a plugin method may carry, decided from its signature, and
//! how each one crosses.
//!
//! By-value types cross through their `PluginData` implementation (the
//! runtime's trait), so nesting is the compiler's business; this module
//! only sorts the borrowed forms (`&str`, `&[T]`, `&T`, `&dyn Trait`,
//! closures) and refuses, at the offending token, what can never cross:
//! references inside owned types, raw pointers, `Rc`, `impl Trait`,
//! named lifetimes, `Self`.

use crate::private::Private;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{GenericArgument, PathArguments, ReturnType, Type, TypeParamBound, TypeReference};

use crate::fallback::Errors;

/// What the macros tell a user whose type is not carried.
pub const ALLOWED: &str = "plugin methods carry integers, floats, `bool`, `char`, `String`, tuples, arrays, `Vec`, `Option`, `Result`, `Box`, maps and sets of carried types, types that derive `PluginData`, `Box<dyn Trait>` / `Arc<dyn Trait>` of plugin traits, and borrow `&str`, `&T`, `&[T]`, `&dyn Trait`, `&mut dyn Trait`, `&dyn Fn(..)` and `&mut dyn FnMut(..)` for the call";

/// How an argument crosses.
#[derive(Clone)]
pub enum ArgKind {
    /// `&str` as `RStr`.
    Str,
    /// `&[T]` as `RSlice<T>` over the caller's elements.
    Slice(Type),
    /// `&T` as a pointer to the caller's value.
    Ref(Type),
    /// `&dyn Trait` / `&mut dyn Trait` of a plugin trait, lent for the call.
    Object { path: syn::Path, mutable: bool },
    /// `&dyn Fn(A..) -> R` / `&mut dyn FnMut(A..) -> R`, lent for the call.
    Closure(Closure),
    /// By value, through `PluginData`.
    Owned(Type),
}

/// A lent closure's signature.
#[derive(Clone)]
pub struct Closure {
    pub mutable: bool,
    pub inputs: Vec<Type>,
    pub output: Option<Type>,
}

/// How a return value crosses.
#[derive(Clone)]
pub enum RetKind {
    /// Nothing is returned.
    Unit,
    /// `&str` borrowed from `&self`, as `RStr`.
    Str,
    /// By value, through `PluginData`.
    Owned(Box<Type>),
}

pub fn argument(ty: &Type, errors: &mut Errors) -> Option<ArgKind> {
    match ty {
        Type::Reference(reference) => borrowed(reference, errors),
        Type::Paren(paren) => argument(&paren.elem, errors),
        _ => owned(ty, errors).then(|| ArgKind::Owned(ty.clone())),
    }
}

fn borrowed(reference: &TypeReference, errors: &mut Errors) -> Option<ArgKind> {
    if let Some(lifetime) = &reference.lifetime
        && lifetime.ident != "_"
    {
        errors.error(
                lifetime,
                "plugin method arguments cannot name lifetimes: a borrow lasts for the call; write `&T`",
            );
        return None;
    }
    let mutable = reference.mutability.is_some();
    if let Type::TraitObject(object) = &*reference.elem {
        return lent_object(object, mutable, errors);
    }
    if mutable {
        errors.error(
            reference,
            "`&mut` data cannot cross the plugin boundary: the other side would grow this side's buffers with its own allocator; take the value and return the new one, or lend a `&mut dyn Trait` object",
        );
        return None;
    }
    match &*reference.elem {
        Type::Path(path) if path.qself.is_none() && path.path.is_ident("str") => Some(ArgKind::Str),
        Type::Slice(slice) => {
            owned(&slice.elem, errors).then(|| ArgKind::Slice((*slice.elem).clone()))
        }
        other => owned(other, errors).then(|| ArgKind::Ref(other.clone())),
    }
}

/// `&dyn Trait`, `&mut dyn Trait`, `&dyn Fn(..)`, `&mut dyn FnMut(..)`.
fn lent_object(
    object: &syn::TypeTraitObject,
    mutable: bool,
    errors: &mut Errors,
) -> Option<ArgKind> {
    let mut traits = object.bounds.iter().filter_map(|bound| match bound {
        TypeParamBound::Trait(bound) => Some(bound),
        _ => None,
    });
    let (Some(bound), None) = (traits.next(), traits.next()) else {
        errors.error(object, "lend one plugin trait: `&dyn Trait`; its `Send` and `Sync` come from the trait's supertraits");
        return None;
    };
    if object.bounds.len() != 1 {
        errors.error(object, "lend one plugin trait: `&dyn Trait`, without extra bounds or lifetimes; its `Send` and `Sync` come from the trait's supertraits");
        return None;
    }
    let last = bound.path.segments.last()?;
    let name = last.ident.to_string();
    if let PathArguments::Parenthesized(args) = &last.arguments {
        let expected = if mutable { "FnMut" } else { "Fn" };
        if name != expected || bound.path.segments.len() != 1 {
            let hint = if mutable {
                "a closure is lent as `&dyn Fn(A) -> R` or `&mut dyn FnMut(A) -> R`"
            } else {
                "a closure is lent as `&dyn Fn(A) -> R`, or `&mut dyn FnMut(A) -> R` when it changes state"
            };
            errors.error(&bound.path, hint);
            return None;
        }
        let before = errors.len();
        let inputs: Vec<Type> = args.inputs.iter().cloned().collect();
        for input in &inputs {
            if let Type::Reference(reference) = input {
                errors.error(
                    reference,
                    "closure arguments cross by value: take an owned type (`String`, `Vec<T>`)",
                );
            } else {
                owned(input, errors);
            }
        }
        let output = match &args.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => {
                owned(ty, errors);
                Some((**ty).clone())
            }
        };
        return (errors.len() == before).then_some(ArgKind::Closure(Closure {
            mutable,
            inputs,
            output,
        }));
    }
    if matches!(name.as_str(), "Fn" | "FnMut" | "FnOnce") {
        errors.error(
            &bound.path,
            "write the closure's signature: `&dyn Fn(A) -> R`",
        );
        return None;
    }
    if !matches!(last.arguments, PathArguments::None) {
        errors.error(&last.arguments, "plugin traits are not generic");
        return None;
    }
    Some(ArgKind::Object {
        path: bound.path.clone(),
        mutable,
    })
}

pub fn return_type(
    output: &ReturnType,
    receiver_is_shared: bool,
    errors: &mut Errors,
) -> Option<RetKind> {
    let ty = match output {
        ReturnType::Default => return Some(RetKind::Unit),
        ReturnType::Type(_, ty) => &**ty,
    };
    match ty {
        Type::Tuple(tuple) if tuple.elems.is_empty() => Some(RetKind::Unit),
        Type::Reference(reference) => {
            let is_str = reference.mutability.is_none()
                && matches!(&*reference.elem, Type::Path(p) if p.qself.is_none() && p.path.is_ident("str"))
                && reference.lifetime.as_ref().is_none_or(|l| l.ident == "_");
            if is_str && receiver_is_shared {
                Some(RetKind::Str)
            } else if is_str {
                errors.error(reference, "a returned `&str` must borrow from `&self`; this method takes `&mut self`, so return `String`");
                None
            } else {
                errors.error(
                    reference,
                    "plugin methods return owned values, or `&str` borrowed from `&self`: return the owned type (`String`, `Vec<T>`, `T`)",
                );
                None
            }
        }
        _ => owned(ty, errors).then(|| RetKind::Owned(Box::new(ty.clone()))),
    }
}

/// Checks a by-value type for what can never cross, reporting each
/// problem at its token; whether the rest is carried is left to its
/// `PluginData` bound. Returns whether no problem was found.
pub fn owned(ty: &Type, errors: &mut Errors) -> bool {
    let before = errors.len();
    walk(ty, errors);
    errors.len() == before
}

fn walk(ty: &Type, errors: &mut Errors) {
    let problem = match ty {
        Type::Path(path) if path.qself.is_none() => {
            let Some(last) = path.path.segments.last() else {
                return;
            };
            let name = last.ident.to_string();
            if path.path.segments.len() == 1 && name == "Self" {
                errors.error(ty, "`Self` is not carried: the other side does not know the implementing type; name the type, or return `Box<dyn Trait>`");
                return;
            }
            match name.as_str() {
                "Rc" | "Weak" => {
                    errors.error(&last.ident, format!("`{name}` cannot cross the plugin boundary: its count is not atomic and its memory belongs to one side; pass the data by value, or share an object as `Arc<dyn Trait>` of a plugin trait"));
                    return;
                }
                "Cell" | "RefCell" | "Mutex" | "RwLock" => {
                    errors.error(&last.ident, format!("`{name}` cannot cross the plugin boundary: pass the value inside by value, and keep shared state behind a plugin trait object"));
                    return;
                }
                _ => {}
            }
            for segment in &path.path.segments {
                match &segment.arguments {
                    PathArguments::None => {}
                    PathArguments::AngleBracketed(args) => {
                        for arg in &args.args {
                            match arg {
                                GenericArgument::Type(Type::TraitObject(object))
                                    if matches!(name.as_str(), "Box" | "Arc") =>
                                {
                                    boxed_object(object, errors)
                                }
                                GenericArgument::Type(inner) => walk(inner, errors),
                                GenericArgument::Lifetime(lifetime) => errors.error(lifetime, "carried types cannot hold borrows: use an owned type (`String`, `Vec<T>`)"),
                                other => errors.error(other, format!("only type arguments are carried here; {ALLOWED}")),
                            }
                        }
                    }
                    PathArguments::Parenthesized(args) => {
                        errors.error(args, "closures cross only as a borrowed argument: `&dyn Fn(A) -> R` or `&mut dyn FnMut(A) -> R`");
                    }
                }
            }
            return;
        }
        Type::Path(_) => "qualified paths (`<T as Trait>::X`) are not carried: name the type",
        Type::ImplTrait(_) => {
            "`impl Trait` is not carried: name a concrete type, or take `&dyn Trait` / `Box<dyn Trait>` of a plugin trait"
        }
        Type::TraitObject(_) => {
            "a trait object crosses as `Box<dyn Trait>`, `Arc<dyn Trait>` or a borrowed argument `&dyn Trait`"
        }
        Type::BareFn(_) => "function pointers cannot cross: lend a closure, `&dyn Fn(A) -> R`",
        Type::Ptr(_) => {
            "raw pointers cannot cross the plugin boundary: pass the value, or borrow it as `&T` for the call"
        }
        Type::Tuple(tuple) => {
            if tuple.elems.len() > 12 {
                errors.error(tuple, "tuples of more than 12 elements are not carried: use a struct that derives `PluginData`");
            }
            for elem in &tuple.elems {
                walk(elem, errors);
            }
            return;
        }
        Type::Array(array) => return walk(&array.elem, errors),
        Type::Slice(_) => "unsized slices are not carried: borrow `&[T]` or take `Vec<T>`",
        Type::Never(_) => "`!` is not carried",
        Type::Infer(_) => "`_` is not a type a plugin method can carry",
        Type::Paren(paren) => return walk(&paren.elem, errors),
        Type::Group(group) => return walk(&group.elem, errors),
        Type::Reference(_) => {
            "references inside carried types cannot cross: the value must own its data (`String`, `Vec<T>`, `Box<T>`); borrowing is for arguments: `&T`, `&[T]`, `&str`"
        }
        _ => "this type is not carried",
    };
    errors.error(ty, format!("{problem}; {ALLOWED}"));
}

/// `dyn Trait` inside `Box` or `Arc`.
fn boxed_object(object: &syn::TypeTraitObject, errors: &mut Errors) {
    let traits = object
        .bounds
        .iter()
        .filter(|bound| matches!(bound, TypeParamBound::Trait(_)))
        .count();
    if traits != 1 || object.bounds.len() != 1 {
        errors.error(object, "write `dyn Trait` of one plugin trait, without extra bounds or lifetimes; its `Send` and `Sync` come from the trait's supertraits");
    }
}

/// How a whole object argument or result is held.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Box,
    Arc,
}

/// `Box<dyn Trait>` or `Arc<dyn Trait>` as a whole type (not inside
/// another): the holder and the trait's path.
pub fn whole_object(ty: &Type) -> Option<(Holder, syn::Path)> {
    let Type::Path(path) = ty else {
        return match ty {
            Type::Paren(paren) => whole_object(&paren.elem),
            Type::Group(group) => whole_object(&group.elem),
            _ => None,
        };
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    let holder = match last.ident.to_string().as_str() {
        "Box" => Holder::Box,
        "Arc" => Holder::Arc,
        _ => return None,
    };
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut args = args.args.iter();
    let (Some(GenericArgument::Type(Type::TraitObject(object))), None) = (args.next(), args.next())
    else {
        return None;
    };
    let mut bounds = object.bounds.iter();
    match (bounds.next(), bounds.next()) {
        (Some(TypeParamBound::Trait(bound)), None)
            if !matches!(
                bound.path.segments.last().map(|last| &last.arguments),
                Some(PathArguments::Parenthesized(_))
            ) =>
        {
            Some((holder, bound.path.clone()))
        }
        _ => None,
    }
}

/// The layout of a by-value type, spanned at the user's type: this is
/// where a type that is not carried is reported.
pub fn layout(ty: &Type) -> TokenStream {
    let private = Private;
    quote_spanned!(ty.span()=> <#ty as #private::PluginData>::LAYOUT)
}

/// The in-memory layout of a borrowed type, spanned at the user's type.
pub fn native(ty: &Type) -> TokenStream {
    let private = Private;
    quote_spanned!(ty.span()=> <#ty as #private::PluginData>::NATIVE)
}

/// The boundary form of a by-value type.
pub fn abi(ty: &Type) -> TokenStream {
    let private = Private;
    quote_spanned!(ty.span()=> <#ty as #private::PluginData>::Abi)
}

/// `dyn Trait` for an object path, spanned at the path.
pub fn object(path: &syn::Path) -> TokenStream {
    quote_spanned!(path.span()=> dyn #path)
}

impl Closure {
    /// The closure's arguments as one tuple type.
    pub fn args_tuple(&self) -> TokenStream {
        let inputs = &self.inputs;
        quote!((#(#inputs,)*))
    }

    /// The closure's result type.
    pub fn output(&self) -> TokenStream {
        match &self.output {
            Some(ty) => quote!(#ty),
            None => quote!(()),
        }
    }
}

/// The standard types whose `PluginData` the runtime provides.
const KNOWN: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32",
    "f64", "bool", "char", "str", "String", "Vec", "Option", "Result", "Box", "Arc", "HashMap",
    "BTreeMap", "HashSet", "BTreeSet",
];

/// Whether `ty` names a type other than the standard carried ones (a
/// user's type, which may or may not be `PluginData`).
pub fn names_unknown(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path.path.segments.iter().any(|segment| {
            segment == path.path.segments.last().unwrap_or(segment)
                && !KNOWN.contains(&segment.ident.to_string().as_str())
                || match &segment.arguments {
                    PathArguments::AngleBracketed(args) => args.args.iter().any(|arg| {
                        matches!(arg, GenericArgument::Type(inner) if names_unknown(inner))
                    }),
                    _ => false,
                }
        }),
        Type::Reference(reference) => names_unknown(&reference.elem),
        Type::Slice(slice) => names_unknown(&slice.elem),
        Type::Array(array) => names_unknown(&array.elem),
        Type::Tuple(tuple) => tuple.elems.iter().any(names_unknown),
        Type::Paren(paren) => names_unknown(&paren.elem),
        Type::Group(group) => names_unknown(&group.elem),
        // A lent closure is the framework's own; any other object may name
        // a trait that is not a plugin trait.
        Type::TraitObject(object) => !object.bounds.iter().any(|bound| {
            matches!(bound, TypeParamBound::Trait(bound)
                if bound.path.segments.last().is_some_and(|last| matches!(last.arguments, PathArguments::Parenthesized(_))))
        }),
        _ => true,
    }
}

/// Where a problem with `ty` is shown: the named type inside a reference,
/// the trait of an object, else the type itself.
pub fn blame_span(ty: &Type) -> proc_macro2::Span {
    match ty {
        Type::Reference(reference) => blame_span(&reference.elem),
        Type::Paren(paren) => blame_span(&paren.elem),
        Type::TraitObject(object) => object
            .bounds
            .iter()
            .find_map(|bound| match bound {
                TypeParamBound::Trait(bound) => Some(bound.path.span()),
                _ => None,
            })
            .unwrap_or_else(|| object.span()),
        _ => ty.span(),
    }
}
