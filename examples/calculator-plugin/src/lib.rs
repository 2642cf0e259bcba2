//! A library implementing two plugin traits: an arithmetic `Calculator`,
//! and a `Greeter` that greets with a sum.

mod expression;

use calculator_interface::{Calculator, Stats};
use greeter_interface::Greeter;
use plugin_interface::{plugin_aggregates, plugin_impl};

/// Evaluates `+ - * /` expressions with parentheses.
// `allocator = own`: the library keeps its own global allocator (as a
// crate that declares a `#[global_allocator]` must); what it returns is
// copied into the host's memory instead of adopted.
#[plugin_aggregates(Calculator, Greeter, allocator = own)]
#[derive(Debug, Default)]
pub struct Arithmetic {
    memory: Option<f64>,
}

#[plugin_impl(Calculator)]
impl Calculator for Arithmetic {
    fn name(&self) -> String {
        "arithmetic".into()
    }

    fn evaluate(&self, expression: &str) -> Result<f64, String> {
        expression::evaluate(expression)
    }

    fn stats(&self, values: &[f64]) -> Option<Stats> {
        let (&first, rest) = values.split_first()?;
        Some(rest.iter().fold(
            Stats {
                count: 1,
                sum: first,
                min: first,
                max: first,
            },
            |stats, &value| Stats {
                count: stats.count + 1,
                sum: stats.sum + value,
                min: stats.min.min(value),
                max: stats.max.max(value),
            },
        ))
    }

    fn tokens(&self, expression: &str) -> Vec<String> {
        expression::tokens(expression)
            .map(|tokens| tokens.iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    }

    fn store(&mut self, value: Option<f64>) -> Option<f64> {
        std::mem::replace(&mut self.memory, value)
    }
}

/// Greets with the answer to a sum.
#[derive(Debug, Default)]
pub struct Counting;

#[plugin_impl(Greeter)]
impl Greeter for Counting {
    fn name(&self) -> String {
        "counting".into()
    }

    fn greet(&self, target: &str) -> String {
        let answer = expression::evaluate("6 * 7").unwrap_or(f64::NAN);
        format!("Hello, {target}, the answer is {answer}.")
    }
}
