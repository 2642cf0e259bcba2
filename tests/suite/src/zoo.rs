//! Host objects of the zoo fixture's traits, shared by the tests that
//! lend or give them to the zoo plugin, in process and in a worker.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use zoo_interface::{Mirror, Person, Services, Shape, ZooError};

/// The host's services: answers lookups, keeps lines, counts drops.
#[derive(Debug, Default)]
pub struct HostServices {
    /// The lines recorded.
    pub lines: Arc<Mutex<Vec<String>>>,
    /// How many of these services were dropped.
    pub drops: Arc<AtomicUsize>,
}

impl Services for HostServices {
    fn lookup(&self, key: &str) -> Option<String> {
        (key == "colour").then(|| "green".to_owned())
    }

    fn record(&self, line: String) {
        self.lines.lock().unwrap().push(line);
    }
}

impl Drop for HostServices {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// A host object that gives every kind of value back: the other
/// direction of the round trip.
#[derive(Debug)]
pub struct Reflector;

impl Mirror for Reflector {
    fn person(&self, person: Person) -> Person {
        Person {
            name: format!("{}!", person.name),
            ..person
        }
    }

    fn people(&self, people: &[Person]) -> Vec<Person> {
        people.iter().rev().cloned().collect()
    }

    fn shape(&self, shape: &Shape) -> Shape {
        shape.clone()
    }

    fn wide(&self, values: (u128, i128, char)) -> (u128, i128, char) {
        values
    }

    fn map(&self, map: HashMap<String, u32>) -> BTreeMap<String, u32> {
        map.into_iter().collect()
    }

    fn nested(
        &self,
        value: Option<Vec<Result<[u8; 2], ZooError>>>,
    ) -> Option<Vec<Result<[u8; 2], ZooError>>> {
        value
    }

    fn set(&self, set: HashSet<char>) -> BTreeSet<char> {
        set.into_iter().collect()
    }

    fn boxed(&self, shape: Box<Shape>) -> Box<Shape> {
        shape
    }
}
