//! What a macro emits when the user's input has mistakes: the user's item
//! unchanged, next to one `compile_error!` per mistake, so a mistake does
//! not cascade into errors about items the macro failed to generate.

use proc_macro2::TokenStream;
use quote::ToTokens;

/// Collects every mistake found in one macro input. It must end in
/// [`finish`](Self::finish): dropping it with mistakes still in it would
/// lose them, so the guard panics instead (the compiler reports a
/// macro's panic as an error at the attribute), which tests catch.
#[derive(Default)]
pub struct Errors {
    errors: Vec<syn::Error>,
}

impl Drop for Errors {
    fn drop(&mut self) {
        if !self.errors.is_empty() && !std::thread::panicking() {
            panic!(
                "{} mistake(s) collected but never reported: {}",
                self.errors.len(),
                self.errors[0]
            );
        }
    }
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
    pub fn finish(mut self) -> Result<(), syn::Error> {
        let mut errors = std::mem::take(&mut self.errors).into_iter();
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

#[cfg(test)]
mod tests {
    use super::Errors;

    #[test]
    fn finishing_reports_every_mistake_as_one_error() {
        let mut errors = Errors::default();
        errors.push(syn::Error::new(proc_macro2::Span::call_site(), "first"));
        errors.push(syn::Error::new(proc_macro2::Span::call_site(), "second"));
        let combined = errors.finish().unwrap_err();
        let messages: Vec<String> = combined.into_iter().map(|e| e.to_string()).collect();
        assert_eq!(messages, ["first", "second"]);
        assert!(Errors::default().finish().is_ok());
    }

    #[test]
    #[should_panic(expected = "1 mistake(s) collected but never reported: lost")]
    fn dropping_mistakes_unreported_is_caught() {
        let mut errors = Errors::default();
        errors.push(syn::Error::new(proc_macro2::Span::call_site(), "lost"));
        drop(errors);
    }
}
