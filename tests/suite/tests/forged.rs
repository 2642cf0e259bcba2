//! Values a plugin returns are checked before the host builds them: a
//! forged library's invalid `char`, enum tag, text and `bool` are errors,
//! never undefined behaviour; values nested deeper than the limit are
//! refused both ways, never a stack overflow.

use forged_interface::{Mood, Oracle, OracleProxy, Tree};
use plugin_interface::{CallError, MAX_DEPTH, PluginError, PluginLibrary};
use plugin_tests::plugins;

fn oracles() -> (OracleProxy, OracleProxy) {
    let library = PluginLibrary::open(plugins().path("forged-plugin")).unwrap();
    let mut made = library.instantiate::<dyn Oracle>().unwrap();
    assert_eq!(made.len(), 2);
    let honest = made.remove(
        made.iter()
            .position(|p| p.info().entry() == "Honest")
            .unwrap(),
    );
    let forged = made.pop().unwrap();
    assert_eq!(forged.info().entry(), "Forged");
    (honest, forged)
}

fn invalid<T: std::fmt::Debug>(result: Result<T, CallError>) -> String {
    match result {
        Err(CallError::InvalidValue { what, method, .. }) => format!("{method}: {what}"),
        other => panic!("expected InvalidValue, got {other:?}"),
    }
}

#[test]
fn honest_values_cross() {
    let (honest, _) = oracles();
    assert_eq!(honest.letter(), 'h');
    assert_eq!(honest.mood(), Mood::Upset("honestly".to_owned()));
    assert_eq!(honest.text(), "honest");
    assert!(honest.truth());
}

#[test]
fn forged_values_are_errors() {
    let (_, forged) = oracles();
    assert_eq!(
        invalid(forged.try_letter()),
        "letter: char: 0xd800 is not a Unicode scalar value"
    );
    assert_eq!(
        invalid(forged.try_mood()),
        "mood: enum `Mood`: tag 7 names no variant (it has 2)"
    );
    assert_eq!(
        invalid(forged.try_text()),
        "text: a string of 4 bytes is not UTF-8"
    );
    assert_eq!(
        invalid(forged.try_truth()),
        "truth: bool: 2 is neither 0 nor 1"
    );
    assert_eq!(
        invalid(forged.try_moods()),
        "moods: enum `Mood`: tag 9 names no variant (it has 2)"
    );
}

#[test]
fn a_refused_vector_frees_what_it_held() {
    let (honest, forged) = oracles();
    assert_eq!(honest.moods().len(), 3);
    for _ in 0..1_000 {
        assert!(forged.try_moods().is_err());
        assert_eq!(honest.moods()[1], Mood::Upset("a".repeat(40)));
    }
}

#[test]
fn a_forged_value_panics_in_the_trait_method_with_the_error() {
    let (_, forged) = oracles();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| forged.letter()))
        .expect_err("an invalid value cannot be returned");
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.ends_with(
            "Oracle::letter returned an invalid value: char: 0xd800 is not a Unicode scalar value"
        ),
        "{message}"
    );
}

#[test]
fn nesting_up_to_the_limit_crosses_both_ways() {
    let (honest, _) = oracles();
    let depth = MAX_DEPTH - 2;
    assert_eq!(honest.grow(depth).depth(), depth);
    assert_eq!(honest.measure(Tree::deep(depth)), depth);
}

#[test]
fn deeper_values_are_refused_both_ways() {
    let (honest, _) = oracles();
    // Returned: the plugin refuses to lower it, which the host sees as a
    // failed call.
    match honest.try_grow(10_000) {
        Err(CallError::Panicked { message, .. }) => {
            assert!(message.contains("nested deeper than"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Sent: lowering it in the host panics before anything is called.
    let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        honest.measure(Tree::deep(10_000))
    }))
    .expect_err("too deep to send");
    assert!(
        sent.downcast_ref::<String>()
            .unwrap()
            .contains("nested deeper than")
    );
    // Lent: nothing is lowered, the plugin reads the host's value.
    assert_eq!(honest.look(&Tree::deep(10_000)), 10_000);
    // And the plugin still answers.
    assert_eq!(honest.letter(), 'h');
}

/// The one-line verdict for a plugin of a later build of the interface.
fn refusal(package: &str) -> PluginError {
    let library = PluginLibrary::open(plugins().path(package)).unwrap();
    match library.instantiate::<dyn Oracle>() {
        Err(error) => error,
        Ok(made) => panic!(
            "{package}: {} instances made from a changed interface",
            made.len()
        ),
    }
}

#[test]
fn a_renamed_variant_refuses_the_plugin_naming_it() {
    let error = refusal("forged-plugin-variant");
    assert!(
        matches!(error, PluginError::LayoutMismatch { .. }),
        "{error:?}"
    );
    let line = error.to_string();
    assert!(
        line.ends_with(
            "Oracle::mood return value (Mood) variant Upset: expected variant `Upset`, found variant `Angry` \
             (plugin built against forged-interface 1.0.1, host has forged-interface 1.0.0)"
        ),
        "{line}"
    );
    assert!(!line.contains('\n'));
}

#[test]
fn a_renamed_field_refuses_the_plugin_naming_it() {
    let error = refusal("forged-plugin-field");
    let line = error.to_string();
    assert!(
        line.ends_with(
            "Oracle::card return value (Card) field 2: expected field `rank`, found field `value` \
             (plugin built against forged-interface 1.0.2, host has forged-interface 1.0.0)"
        ),
        "{line}"
    );
}
