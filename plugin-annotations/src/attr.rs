//! The arguments of `#[plugin_impl(...)]` and `#[plugin_aggregates(...)]`.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Path, Token};

use crate::fallback::Errors;

mod kw {
    syn::custom_keyword!(constructor);
    syn::custom_keyword!(state);
}

/// `#[plugin_impl(Trait)]`, with optional `constructor = path` and
/// `state` (carry the instance's `PluginState` across reloads).
pub struct ImplArgs {
    pub trait_path: Path,
    pub constructor: Option<Path>,
    pub state: Option<Span>,
}

impl Parse for ImplArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "expected the implemented trait: `#[plugin_impl(Greeter)]`",
            ));
        }
        let trait_path: Path = input.parse()?;
        let mut constructor = None;
        let mut state = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::constructor) {
                let keyword: kw::constructor = input.parse()?;
                input.parse::<Token![=]>()?;
                if constructor.is_some() {
                    return Err(syn::Error::new_spanned(
                        keyword,
                        "`constructor` given twice",
                    ));
                }
                constructor = Some(input.parse()?);
            } else if lookahead.peek(kw::state) {
                let keyword: kw::state = input.parse()?;
                if state.is_some() {
                    return Err(syn::Error::new_spanned(keyword, "`state` given twice"));
                }
                state = Some(keyword.span);
            } else {
                return Err(lookahead.error());
            }
        }
        Ok(Self {
            trait_path,
            constructor,
            state,
        })
    }
}

/// `#[plugin_aggregates(Trait, ...)]`, with optional `requires(Trait,
/// ...)` and `allocator = host` (the default) or `allocator = own`.
pub struct AggregateArgs {
    pub traits: Vec<Path>,
    /// The services the library's constructors need.
    pub requires: Vec<Path>,
    /// The library allocates through the host's global allocator, unless
    /// `allocator = own`.
    pub host_allocator: bool,
}

/// Parses the traits and options; every mistake is reported at once.
pub fn aggregate_args(args: TokenStream) -> syn::Result<AggregateArgs> {
    let items = Punctuated::<syn::Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut errors = Errors::default();
    let mut traits = Vec::new();
    let mut allocator: Option<&syn::MetaNameValue> = None;
    let mut requires: Option<Vec<Path>> = None;
    for item in &items {
        match item {
            syn::Meta::Path(path) => traits.push(path.clone()),
            syn::Meta::NameValue(option) if option.path.is_ident("allocator") => {
                if allocator.is_some() {
                    errors.error(&option.path, "`allocator` given twice");
                }
                allocator = Some(option);
                let known = matches!(&option.value, syn::Expr::Path(value)
                    if value.path.is_ident("host") || value.path.is_ident("own"));
                if !known {
                    errors.error(
                        &option.value,
                        "expected `host` or `own`: `allocator = host` (the default) makes the library allocate through the host's global allocator; `allocator = own` keeps its own, for a crate that declares a `#[global_allocator]`",
                    );
                }
            }
            syn::Meta::NameValue(option) => errors.error(
                &option.path,
                "unknown option; expected a trait, `requires(Trait, ...)` or `allocator = own`",
            ),
            syn::Meta::List(list) if list.path.is_ident("requires") => {
                if requires.is_some() {
                    errors.error(&list.path, "`requires` given twice");
                }
                match Punctuated::<Path, Token![,]>::parse_terminated.parse2(list.tokens.clone()) {
                    Ok(paths) if paths.is_empty() => errors.error(
                        list,
                        "expected the traits this library needs as services: `requires(Storage)`",
                    ),
                    Ok(paths) => {
                        let mut names: Vec<String> = Vec::new();
                        for path in &paths {
                            match last_ident(path) {
                                Ok(ident) if names.contains(&ident.to_string()) => {
                                    errors.error(path, format!("`{ident}` is required twice"));
                                }
                                Ok(ident) => names.push(ident.to_string()),
                                Err(error) => errors.push(error),
                            }
                        }
                        requires = Some(paths.into_iter().collect());
                    }
                    Err(error) => errors.push(error),
                }
            }
            syn::Meta::List(list) => errors.error(
                &list.path,
                "unknown option; expected a trait, `requires(Trait, ...)` or `allocator = own`",
            ),
        }
    }
    if traits.is_empty() && errors.len() == 0 {
        errors.push(syn::Error::new(
            Span::call_site(),
            "expected the traits this library implements: `#[plugin_aggregates(Greeter)]`",
        ));
    }
    errors.finish()?;
    let own = allocator.is_some_and(
        |option| matches!(&option.value, syn::Expr::Path(value) if value.path.is_ident("own")),
    );
    Ok(AggregateArgs {
        traits,
        requires: requires.unwrap_or_default(),
        host_allocator: !own,
    })
}

/// Attribute macros that take no arguments.
pub fn no_args(args: TokenStream, usage: &str) -> syn::Result<()> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(syn::Error::new_spanned(
            args,
            format!("`{usage}` takes no arguments"),
        ))
    }
}

/// The last segment of a path: the name symbols and registrations use.
pub fn last_ident(path: &Path) -> syn::Result<&syn::Ident> {
    let segment = path
        .segments
        .last()
        .ok_or_else(|| syn::Error::new_spanned(path, "expected a trait name"))?;
    if !segment.arguments.is_none() {
        return Err(syn::Error::new_spanned(
            &segment.arguments,
            "plugin traits have no generic parameters",
        ));
    }
    Ok(&segment.ident)
}
