//! Renders types and signatures as a user writes them, for descriptors and
//! messages: `fn greet(&self, target: &str) -> String`.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens;

/// `tokens` as compact Rust source.
pub fn tokens(tokens: impl ToTokens) -> String {
    let mut out = String::new();
    write(tokens.into_token_stream(), &mut out);
    out
}

fn write(stream: TokenStream, out: &mut String) {
    for tree in stream {
        match tree {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{ ", " }"),
                    Delimiter::None => ("", ""),
                };
                after_separator(out);
                out.push_str(open);
                write(group.stream(), out);
                out.push_str(close);
            }
            TokenTree::Ident(ident) => word(out, &ident.to_string()),
            TokenTree::Literal(literal) => word(out, &literal.to_string()),
            TokenTree::Punct(punct) => {
                let joint = punct.spacing() == Spacing::Joint;
                match punct.as_char() {
                    ch @ (',' | ';') => out.push(ch),
                    // The first `:` of `::` is joint; the second follows one.
                    ':' if joint || out.ends_with(':') => out.push(':'),
                    ':' => out.push_str(": "),
                    '-' if joint => {
                        if !out.is_empty() && !out.ends_with(' ') {
                            out.push(' ');
                        }
                        out.push('-');
                    }
                    '>' if out.ends_with('-') => out.push_str("> "),
                    ch => {
                        after_separator(out);
                        out.push(ch);
                    }
                }
            }
        }
    }
}

/// A space after `,` and `;`.
fn after_separator(out: &mut String) {
    if out.ends_with(',') || out.ends_with(';') {
        out.push(' ');
    }
}

/// A word, separated from a word before it (`mut self`, `'a str`).
fn word(out: &mut String, text: &str) {
    after_separator(out);
    if out.ends_with(|c: char| c.is_alphanumeric() || c == '_') {
        out.push(' ');
    }
    out.push_str(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str) -> String {
        tokens(source.parse::<TokenStream>().unwrap())
    }

    #[test]
    fn signatures_render_as_written() {
        for source in [
            "fn greet(&self, target: &str) -> String",
            "fn name(&self) -> String",
            "fn bump(&mut self, by: u64)",
            "fn parse(&self, xs: &[u8]) -> Result<Vec<u8>, String>",
            "fn nested(&self, x: Option<Vec<Result<i32, String>>>) -> Option<String>",
            "fn path(&self, p: geometry::Point) -> std::string::String",
            "fn label(&self) -> &str",
            "fn label(&'_ self) -> &'_ str",
        ] {
            assert_eq!(render(source), source);
        }
    }
}
