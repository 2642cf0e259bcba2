//! Spans of generated code: where the compiler reports what goes wrong in
//! it.

use proc_macro2::{Group, Span, TokenStream, TokenTree};

/// `tokens` with every span set to `span`; unchanged without one (a
/// method of standard types only, whose code cannot fail).
pub fn respan(tokens: TokenStream, span: Option<Span>) -> TokenStream {
    let Some(span) = span else {
        return tokens;
    };
    respan_all(tokens, span)
}

/// `tokens` located at `span`, all with the macro's hygiene: lints treat
/// them as generated code, names resolve at the call site as before, and
/// the compiler reports every problem in them at `span`, the same way.
pub fn respan_all(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut inner = Group::new(group.delimiter(), respan_all(group.stream(), span));
                inner.set_span(Span::call_site().located_at(span));
                tree = TokenTree::Group(inner);
            } else {
                tree.set_span(Span::call_site().located_at(span));
            }
            tree
        })
        .collect()
}
