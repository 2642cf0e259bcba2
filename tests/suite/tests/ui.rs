//! Compile-fail tests: each file in `tests/ui/` holds one mistake a user
//! can make; its `.stderr` is the error the user sees.

#[test]
fn macro_mistakes_are_reported_at_the_token_to_change() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
}

#[test]
fn generated_code_is_clean_under_strict_lints() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui-pass/*.rs");
}
