//! Which types a plugin method may carry, decided from its signature.
//!
//! The shape of a type is checked here (references, `impl Trait`, tuples,
//! ...). Whether a named type is carried is left to the `Carry` and
//! `PluginData` traits, whose errors land on the user's type.

use syn::{GenericArgument, PathArguments, Type, TypeReference};

use crate::fallback::Errors;

/// What the macros tell a user whose type is not carried.
pub const ALLOWED: &str = "plugin methods carry integers (i8..i64, u8..u64, isize, usize), f32, f64, bool, `&str`, `String`, `&[T]` of plain data, `Vec<T>`, `Option<T>` and `Result<T, E>` of carried types, and `#[repr(C)]` structs that derive `PluginData`";

/// How an argument crosses.
#[derive(Clone)]
pub enum ArgKind {
    /// `&str` as `RStr`.
    Str,
    /// `&[T]` as `RSlice<T>`, `T` plain data.
    Slice(Type),
    /// By value through `Carry`.
    Owned(Type),
}

/// How a return value crosses.
#[derive(Clone)]
pub enum RetKind {
    /// Nothing is returned.
    Unit,
    /// `&str` borrowed from `&self`, as `RStr`.
    Str,
    /// By value through `Carry`.
    Owned(Type),
}

pub fn argument(ty: &Type, errors: &mut Errors) -> Option<ArgKind> {
    match ty {
        Type::Reference(reference) => borrowed(reference, errors),
        _ => owned(ty, errors).then(|| ArgKind::Owned(ty.clone())),
    }
}

fn borrowed(reference: &TypeReference, errors: &mut Errors) -> Option<ArgKind> {
    if reference.mutability.is_some() {
        errors.error(
            reference,
            format!("`&mut` arguments cannot cross the plugin boundary; {ALLOWED}"),
        );
        return None;
    }
    if let Some(lifetime) = &reference.lifetime {
        if lifetime.ident != "_" {
            errors.error(
                lifetime,
                "plugin method arguments cannot name lifetimes; write `&str` or `&[T]`",
            );
            return None;
        }
    }
    match &*reference.elem {
        Type::Path(path) if path.qself.is_none() && path.path.is_ident("str") => Some(ArgKind::Str),
        Type::Slice(slice) => {
            owned(&slice.elem, errors).then(|| ArgKind::Slice((*slice.elem).clone()))
        }
        other => {
            errors.error(
                reference,
                format!(
                    "only `&str` and `&[T]` may be borrowed across the plugin boundary; take `{}` by value instead; {ALLOWED}",
                    crate::render::tokens(other)
                ),
            );
            None
        }
    }
}

pub fn return_type(output: &syn::ReturnType, receiver_is_shared: bool, errors: &mut Errors) -> Option<RetKind> {
    let ty = match output {
        syn::ReturnType::Default => return Some(RetKind::Unit),
        syn::ReturnType::Type(_, ty) => &**ty,
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
                    format!("plugin methods return owned values or `&str` borrowed from `&self`; {ALLOWED}"),
                );
                None
            }
        }
        _ => owned(ty, errors).then(|| RetKind::Owned(ty.clone())),
    }
}

/// Checks the shape of a by-value type and of every type argument in it.
fn owned(ty: &Type, errors: &mut Errors) -> bool {
    let problem = match ty {
        Type::Path(path) => {
            if path.qself.is_some() {
                Some("qualified paths (`<T as Trait>::X`) are not carried")
            } else if path.path.is_ident("Self") {
                Some("`Self` is not carried: the host does not know the plugin's type")
            } else {
                let mut ok = true;
                for segment in &path.path.segments {
                    match &segment.arguments {
                        PathArguments::None => {}
                        PathArguments::AngleBracketed(args) => {
                            for arg in &args.args {
                                match arg {
                                    GenericArgument::Type(inner) => {
                                        if let Type::Reference(reference) = inner {
                                            errors.error(reference, format!("references are carried only at the top level of an argument (`&str`, `&[T]`); use an owned type here; {ALLOWED}"));
                                            ok = false;
                                        } else {
                                            ok &= owned(inner, errors);
                                        }
                                    }
                                    other => {
                                        errors.error(other, format!("only type arguments are carried here; {ALLOWED}"));
                                        ok = false;
                                    }
                                }
                            }
                        }
                        PathArguments::Parenthesized(args) => {
                            errors.error(args, format!("closures are not carried; {ALLOWED}"));
                            ok = false;
                        }
                    }
                }
                return ok;
            }
        }
        Type::ImplTrait(_) => Some("`impl Trait` is not carried: plugin methods take and return concrete types"),
        Type::TraitObject(_) => Some("trait objects are not carried"),
        Type::BareFn(_) => Some("function pointers are not carried"),
        Type::Ptr(_) => Some("raw pointers are not carried"),
        Type::Tuple(tuple) if tuple.elems.is_empty() => None,
        Type::Tuple(_) => Some("tuples are not carried; use a `#[repr(C)]` struct that derives `PluginData`"),
        Type::Array(_) => Some("arrays are not carried; use `Vec<T>` or a `#[repr(C)]` struct"),
        Type::Slice(_) => Some("unsized slices are not carried; use `&[T]` or `Vec<T>`"),
        Type::Never(_) => Some("`!` is not carried"),
        Type::Infer(_) => Some("`_` is not a type a plugin method can carry"),
        Type::Paren(paren) => return owned(&paren.elem, errors),
        Type::Group(group) => return owned(&group.elem, errors),
        Type::Reference(_) => Some("references are carried only at the top level of an argument (`&str`, `&[T]`)"),
        _ => Some("this type is not carried"),
    };
    match problem {
        Some(problem) => {
            errors.error(ty, format!("{problem}; {ALLOWED}"));
            false
        }
        None => true,
    }
}
