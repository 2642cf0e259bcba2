//! The rich-types benchmark trait as a framework plugin.

use bench_rich_interface::{NAMES, Person, Rich, Tally, name, person, score};
use plugin_interface::{plugin_aggregates, plugin_impl};

/// The implementation, holding the names it lends.
#[cfg_attr(feature = "host-allocator", plugin_aggregates(Rich, allocator = host))]
#[cfg_attr(not(feature = "host-allocator"), plugin_aggregates(Rich, allocator = own))]
#[derive(Debug)]
pub struct Impl {
    names: Vec<String>,
}

impl Impl {
    fn new() -> Self {
        Self {
            names: (0..NAMES).map(name).collect(),
        }
    }
}

#[plugin_impl(Rich, constructor = Impl::new)]
impl Rich for Impl {
    fn score(&self, person: &Person) -> u64 {
        score(person)
    }

    fn person(&self, i: u32) -> Person {
        person(i)
    }

    fn visit(&self, tally: &dyn Tally, n: u32) -> u64 {
        (0..u64::from(n))
            .map(|k| tally.add(k))
            .fold(0, u64::wrapping_add)
    }

    fn name_of(&self, i: u32) -> &str {
        &self.names[(i % NAMES) as usize]
    }

    fn name_owned(&self, i: u32) -> String {
        self.names[(i % NAMES) as usize].clone()
    }
}
