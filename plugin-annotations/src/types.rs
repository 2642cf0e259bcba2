//! Which types a plugin method may carry, decided from its signature, and
//! how each one crosses.
//!
//! The macro maps every type to its `#[repr(C)]` form itself, so generated
//! code never asks a trait to do it: a type that cannot cross fails in one
//! place only, the `PluginData` check spanned at the user's type.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{GenericArgument, PathArguments, Type, TypeReference};

use crate::fallback::Errors;

/// What the macros tell a user whose type is not carried.
pub const ALLOWED: &str = "plugin methods carry integers (i8..i64, u8..u64, isize, usize), f32, f64, bool, `&str`, `String`, `&[T]` of plain data, `Vec<T>`, `Option<T>` and `Result<T, E>` of carried types, and `#[repr(C)]` structs that derive `PluginData`";

const PRIMITIVES: &[&str] = &[
    "u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize", "f32", "f64", "bool",
];

/// The shape of a by-value type.
#[derive(Clone)]
pub enum Shape {
    /// A primitive: crosses as it is.
    Primitive(Box<Type>),
    /// A named type that must be `PluginData`: crosses as it is.
    Plain(Box<Type>),
    /// `()`.
    Unit,
    /// `String` as `RString`.
    String,
    /// `Vec<T>` as `RVec`.
    Vec(Box<Shape>),
    /// `Option<T>` as `ROption`.
    Option(Box<Shape>),
    /// `Result<T, E>` as `RResult`.
    Result(Box<Shape>, Box<Shape>),
}

/// How an argument crosses.
#[derive(Clone)]
pub enum ArgKind {
    /// `&str` as `RStr`.
    Str,
    /// `&[T]` as `RSlice<T>`, `T` plain data.
    Slice(Shape),
    /// By value.
    Owned(Shape),
}

/// How a return value crosses.
#[derive(Clone)]
pub enum RetKind {
    /// Nothing is returned.
    Unit,
    /// `&str` borrowed from `&self`, as `RStr`.
    Str,
    /// By value.
    Owned(Shape),
}

pub fn argument(ty: &Type, errors: &mut Errors) -> Option<ArgKind> {
    match ty {
        Type::Reference(reference) => borrowed(reference, errors),
        _ => shape(ty, errors).map(ArgKind::Owned),
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
        Type::Slice(slice) => match shape(&slice.elem, errors)? {
            elem @ (Shape::Primitive(_) | Shape::Plain(_)) => Some(ArgKind::Slice(elem)),
            _ => {
                errors.error(
                    &slice.elem,
                    "`&[T]` carries plain data only (integers, floats, bool, `#[repr(C)]` structs that derive `PluginData`); take a `Vec<T>` for other element types",
                );
                None
            }
        },
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

pub fn return_type(
    output: &syn::ReturnType,
    receiver_is_shared: bool,
    errors: &mut Errors,
) -> Option<RetKind> {
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
        _ => shape(ty, errors).map(RetKind::Owned),
    }
}

/// The shape of a by-value type, or an error at the part that cannot cross.
fn shape(ty: &Type, errors: &mut Errors) -> Option<Shape> {
    let problem = match ty {
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            let args: Vec<&Type> = match &last.arguments {
                PathArguments::None => Vec::new(),
                PathArguments::AngleBracketed(args) => {
                    let mut types = Vec::new();
                    for arg in &args.args {
                        match arg {
                            GenericArgument::Type(inner) => types.push(inner),
                            other => {
                                errors.error(
                                    other,
                                    format!("only type arguments are carried here; {ALLOWED}"),
                                );
                                return None;
                            }
                        }
                    }
                    types
                }
                PathArguments::Parenthesized(args) => {
                    errors.error(args, format!("closures are not carried; {ALLOWED}"));
                    return None;
                }
            };
            let name = last.ident.to_string();
            let plain_path = path.path.segments.len() == 1;
            return match (name.as_str(), args.as_slice()) {
                ("Self", _) if plain_path => {
                    errors.error(ty, format!("`Self` is not carried: the host does not know the plugin's type; {ALLOWED}"));
                    None
                }
                (name, []) if plain_path && PRIMITIVES.contains(&name) => {
                    Some(Shape::Primitive(Box::new(ty.clone())))
                }
                ("String", []) => Some(Shape::String),
                ("Vec", [elem]) => Some(Shape::Vec(Box::new(element(elem, errors)?))),
                ("Option", [inner]) => Some(Shape::Option(Box::new(element(inner, errors)?))),
                ("Result", [ok, err]) => {
                    let ok = element(ok, errors);
                    let err = element(err, errors);
                    Some(Shape::Result(Box::new(ok?), Box::new(err?)))
                }
                (_, []) => Some(Shape::Plain(Box::new(ty.clone()))),
                _ => {
                    errors.error(
                        ty,
                        format!("`{}` is not carried: of generic types only `Vec<T>`, `Option<T>` and `Result<T, E>` cross the plugin boundary; {ALLOWED}", crate::render::tokens(ty)),
                    );
                    None
                }
            };
        }
        Type::Path(_) => "qualified paths (`<T as Trait>::X`) are not carried",
        Type::ImplTrait(_) => {
            "`impl Trait` is not carried: plugin methods take and return concrete types"
        }
        Type::TraitObject(_) => "trait objects are not carried",
        Type::BareFn(_) => "function pointers are not carried",
        Type::Ptr(_) => "raw pointers are not carried",
        Type::Tuple(tuple) if tuple.elems.is_empty() => return Some(Shape::Unit),
        Type::Tuple(_) => {
            "tuples are not carried; use a `#[repr(C)]` struct that derives `PluginData`"
        }
        Type::Array(_) => "arrays are not carried; use `Vec<T>` or a `#[repr(C)]` struct",
        Type::Slice(_) => "unsized slices are not carried; use `&[T]` or `Vec<T>`",
        Type::Never(_) => "`!` is not carried",
        Type::Infer(_) => "`_` is not a type a plugin method can carry",
        Type::Paren(paren) => return shape(&paren.elem, errors),
        Type::Group(group) => return shape(&group.elem, errors),
        Type::Reference(_) => {
            "references are carried only at the top level of an argument (`&str`, `&[T]`); use an owned type here"
        }
        _ => "this type is not carried",
    };
    errors.error(ty, format!("{problem}; {ALLOWED}"));
    None
}

/// A type argument of `Vec`, `Option` or `Result`.
fn element(ty: &Type, errors: &mut Errors) -> Option<Shape> {
    if let Type::Reference(reference) = ty {
        errors.error(
            reference,
            format!("references are carried only at the top level of an argument (`&str`, `&[T]`); use an owned type here; {ALLOWED}"),
        );
        return None;
    }
    shape(ty, errors)
}

impl Shape {
    /// The `#[repr(C)]` type that crosses the boundary.
    pub fn ffi(&self, private: &syn::Path) -> TokenStream {
        match self {
            Shape::Primitive(ty) | Shape::Plain(ty) => quote!(#ty),
            Shape::Unit => quote!(#private::Unit),
            Shape::String => quote!(#private::RString),
            Shape::Vec(elem) => {
                let elem = elem.ffi(private);
                quote!(#private::RVec<#elem>)
            }
            Shape::Option(inner) => {
                let inner = inner.ffi(private);
                quote!(#private::ROption<#inner>)
            }
            Shape::Result(ok, err) => {
                let (ok, err) = (ok.ffi(private), err.ffi(private));
                quote!(#private::RResult<#ok, #err>)
            }
        }
    }

    /// Whether values cross without conversion.
    fn is_identity(&self) -> bool {
        matches!(self, Shape::Primitive(_) | Shape::Plain(_))
    }

    /// Lowers `value` of this type to its FFI form.
    pub fn lower(&self, value: TokenStream, private: &syn::Path) -> TokenStream {
        match self {
            Shape::Primitive(_) | Shape::Plain(_) => value,
            Shape::Unit => quote!({ let () = #value; #private::Unit::VALUE }),
            Shape::String => {
                quote!(<#private::RString as ::core::convert::From<#private::String>>::from(#value))
            }
            Shape::Vec(elem) if elem.is_identity() => {
                quote!(<#private::RVec<_> as ::core::convert::From<#private::Vec<_>>>::from(#value))
            }
            Shape::Vec(elem) => {
                let convert = elem.lower(quote!(__item), private);
                quote!(::core::iter::Iterator::collect::<#private::RVec<_>>(
                    ::core::iter::Iterator::map(::core::iter::IntoIterator::into_iter(#value), |__item| #convert)
                ))
            }
            Shape::Option(inner) => {
                let convert = inner.lower(quote!(__some), private);
                quote!(match #value {
                    ::core::option::Option::Some(__some) => #private::ROption::RSome(#convert),
                    ::core::option::Option::None => #private::ROption::RNone,
                })
            }
            Shape::Result(ok, err) => {
                let ok = ok.lower(quote!(__ok), private);
                let err = err.lower(quote!(__err), private);
                quote!(match #value {
                    ::core::result::Result::Ok(__ok) => #private::RResult::ROk(#ok),
                    ::core::result::Result::Err(__err) => #private::RResult::RErr(#err),
                })
            }
        }
    }

    /// Lifts `value` from its FFI form into memory of the calling side.
    /// `adopt` is an expression: true only when the buffers come from this
    /// side's global allocator, so they are taken over instead of copied.
    pub fn lift(
        &self,
        value: TokenStream,
        adopt: &TokenStream,
        private: &syn::Path,
    ) -> TokenStream {
        match self {
            Shape::Primitive(_) | Shape::Plain(_) => value,
            Shape::Unit => quote!({ let _: #private::Unit = #value; }),
            Shape::String => quote!(unsafe { #private::lift_string(#value, #adopt) }),
            Shape::Vec(elem) if elem.is_identity() => {
                quote!(unsafe { #private::lift_plain_vec(#value, #adopt) })
            }
            Shape::Vec(elem) => {
                let convert = elem.lift(quote!(__item), adopt, private);
                quote!(::core::iter::Iterator::collect::<#private::Vec<_>>(
                    ::core::iter::Iterator::map(::core::iter::IntoIterator::into_iter(#value), |__item| #convert)
                ))
            }
            Shape::Option(inner) => {
                let convert = inner.lift(quote!(__some), adopt, private);
                quote!(match #value {
                    #private::ROption::RSome(__some) => ::core::option::Option::Some(#convert),
                    #private::ROption::RNone => ::core::option::Option::None,
                })
            }
            Shape::Result(ok, err) => {
                let ok = ok.lift(quote!(__ok), adopt, private);
                let err = err.lift(quote!(__err), adopt, private);
                quote!(match #value {
                    #private::RResult::ROk(__ok) => ::core::result::Result::Ok(#ok),
                    #private::RResult::RErr(__err) => ::core::result::Result::Err(#err),
                })
            }
        }
    }

    /// The structural layout of the FFI form, as a `&'static TypeLayout`
    /// expression. Named types take theirs from `PluginData`, spanned at
    /// the user's type: this is where a type that cannot cross is reported.
    pub fn layout(&self, private: &syn::Path) -> TokenStream {
        match self {
            Shape::Primitive(ty) | Shape::Plain(ty) => {
                quote::quote_spanned!(syn::spanned::Spanned::span(&**ty)=> <#ty as #private::PluginData>::LAYOUT)
            }
            Shape::Unit => quote!(#private::known::UNIT),
            Shape::String => quote!(#private::known::RSTRING),
            Shape::Vec(inner) | Shape::Option(inner) => {
                let name = if matches!(self, Shape::Vec(_)) {
                    "RVec"
                } else {
                    "ROption"
                };
                let ffi = self.ffi(private);
                let inner = inner.layout(private);
                quote!(&#private::TypeLayout::framework::<#ffi>(#name, &[#inner]))
            }
            Shape::Result(ok, err) => {
                let ffi = self.ffi(private);
                let (ok, err) = (ok.layout(private), err.layout(private));
                quote!(&#private::TypeLayout::framework::<#ffi>("RResult", &[#ok, #err]))
            }
        }
    }
}
