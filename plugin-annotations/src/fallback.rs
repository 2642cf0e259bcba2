//! What a macro emits when the user's input has mistakes: the user's item
//! unchanged, next to one `compile_error!` per mistake, so a mistake does
//! not cascade into errors about items the macro failed to generate.

use proc_macro2::TokenStream;
use quote::ToTokens;

/// Collects every mistake found in one macro input.
#[derive(Default)]
pub struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn error(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// `Ok` when nothing was collected, else all errors as one.
    pub fn finish(self) -> Result<(), syn::Error> {
        let mut errors = self.errors.into_iter();
        let Some(mut first) = errors.next() else {
            return Ok(());
        };
        for error in errors {
            first.combine(error);
        }
        Err(first)
    }
}

/// The user's item followed by the errors.
pub fn emit(item: impl ToTokens, error: syn::Error) -> TokenStream {
    let mut tokens = item.to_token_stream();
    tokens.extend(error.to_compile_error());
    tokens
}
