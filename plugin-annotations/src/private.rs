//! The one path generated code names for the runtime's items.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

/// `::plugin_interface::__private`, written `#private` inside `quote!`.
#[derive(Debug, Clone, Copy)]
pub struct Private;

impl ToTokens for Private {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(quote!(::plugin_interface::__private));
    }
}
