//! The rich-types benchmark: a person of strings, a vector, an option and
//! an enum, passed borrowed and returned; a host object the plugin calls
//! back; strings returned borrowed.

use plugin_interface::{PluginData, plugin_trait};

/// Where a person lives.
#[derive(Debug, Clone, PartialEq, PluginData)]
pub enum Shape {
    /// Round.
    Circle {
        /// Its radius.
        radius: f64,
    },
    /// Square-ish.
    Rect(f64, f64),
    /// Nowhere.
    Empty,
}

/// A person: a `String`, a `Vec<String>`, an `Option<u32>` and an enum.
#[derive(Debug, Clone, PartialEq, PluginData)]
pub struct Person {
    /// The name.
    pub name: String,
    /// Tags.
    pub tags: Vec<String>,
    /// The age, if known.
    pub age: Option<u32>,
    /// Home.
    pub home: Shape,
}

/// The person every approach makes for `i`.
pub fn person(i: u32) -> Person {
    Person {
        name: format!("person {i}"),
        tags: vec!["tall".to_owned(), "kind".to_owned()],
        age: Some(i),
        home: Shape::Rect(2.0, 3.0),
    }
}

/// What every approach computes from a person.
pub fn score(person: &Person) -> u64 {
    let home = match person.home {
        Shape::Circle { .. } => 1,
        Shape::Rect(..) => 2,
        Shape::Empty => 3,
    };
    (person.name.len() + person.tags.len()) as u64 + u64::from(person.age.unwrap_or(0)) + home
}

/// How many distinct names `name_of` cycles through.
pub const NAMES: u32 = 20_000;

/// The `i`th of the distinct names.
pub fn name(i: u32) -> String {
    format!("name number {}", i % NAMES)
}

/// A host object the plugin calls back.
#[plugin_trait]
pub trait Tally: Send + Sync {
    /// Adds `x` to a running total and returns `x + 1`.
    fn add(&self, x: u64) -> u64;
}

/// The benchmark trait.
#[plugin_trait]
pub trait Rich: Send + Sync {
    /// `score(person)`.
    fn score(&self, person: &Person) -> u64;
    /// `person(i)`.
    fn person(&self, i: u32) -> Person;
    /// Calls `tally.add(k)` for `k` in `0..n`, summing the answers.
    fn visit(&self, tally: &dyn Tally, n: u32) -> u64;
    /// The `i`th name, borrowed from the instance.
    fn name_of(&self, i: u32) -> &str;
    /// The `i`th name, owned.
    fn name_owned(&self, i: u32) -> String;
}
