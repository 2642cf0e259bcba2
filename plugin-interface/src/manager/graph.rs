//! The dependency graph between libraries: which services a library
//! requires, the order to construct a set of plugins in, and the order
//! to shut them down in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::repr::RSlice;

use crate::abi::TraitDescriptor;
use crate::error::PluginError;
use crate::loader::PluginLibrary;
use crate::registrations::LibrarySymbols;

/// The type of `plugin_requires_v1`.
type Requires = unsafe extern "C" fn() -> RSlice<'static, &'static TraitDescriptor>;

/// The services `library` requires (`#[plugin_aggregates(..., requires(Trait,
/// ...))]`), by trait name. A library built before requirements existed
/// requires nothing.
pub(super) fn requires(library: &PluginLibrary) -> Vec<String> {
    // SAFETY: the canary matched this framework's epoch, whose libraries
    // export `plugin_requires_v1` with this type.
    let Ok(requires) = (unsafe { library.function::<Requires>(plugin_symbols::REQUIRES) }) else {
        return Vec::new();
    };
    // SAFETY: the function returns a constant slice of the library's
    // static descriptors; it runs no user code.
    let descriptors = unsafe { requires() };
    descriptors
        .iter()
        .map(|descriptor| descriptor.name.as_str().to_owned())
        .collect()
}

/// The libraries of `uses` (each library's providers) in shutdown order:
/// every library before the libraries whose services it uses. Each round
/// takes every library no remaining one uses, in path order; linear in
/// the number of uses per round, so closing thousands of independent
/// libraries is one pass.
pub(super) fn dependents_first(uses: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<PathBuf> {
    // How many other remaining libraries use each one.
    let mut users: BTreeMap<&PathBuf, usize> = uses.keys().map(|path| (path, 0)).collect();
    for (user, providers) in uses {
        for provider in providers {
            if provider != user
                && let Some(count) = users.get_mut(provider)
            {
                *count += 1;
            }
        }
    }
    let mut order = Vec::with_capacity(users.len());
    while !users.is_empty() {
        let unused: Vec<&PathBuf> = users
            .iter()
            .filter(|(_, count)| **count == 0)
            .map(|(path, _)| *path)
            .collect();
        // Only a cycle leaves nothing unused; it is closed in path order.
        let next = if unused.is_empty() {
            users.keys().copied().collect()
        } else {
            unused
        };
        for path in next {
            users.remove(path);
            for provider in &uses[path] {
                if provider != path
                    && let Some(count) = users.get_mut(provider)
                {
                    *count = count.saturating_sub(1);
                }
            }
            order.push(path.clone());
        }
    }
    order
}

/// The libraries that use `path`'s services, directly or through others,
/// in shutdown order.
pub(super) fn dependents(uses: &BTreeMap<PathBuf, BTreeSet<PathBuf>>, path: &Path) -> Vec<PathBuf> {
    let mut found: BTreeSet<PathBuf> = BTreeSet::new();
    let mut frontier = vec![path.to_path_buf()];
    while let Some(provider) = frontier.pop() {
        for (user, providers) in uses {
            if providers.contains(&provider) && user != path && found.insert(user.clone()) {
                frontier.push(user.clone());
            }
        }
    }
    let within: BTreeMap<PathBuf, BTreeSet<PathBuf>> = uses
        .iter()
        .filter(|(user, _)| found.contains(*user))
        .map(|(user, providers)| (user.clone(), providers.clone()))
        .collect();
    dependents_first(&within)
}

/// One plugin to construct, as the graph sees it.
#[derive(Debug)]
pub(super) struct Node {
    pub(super) library: PathBuf,
    /// The traits it will provide.
    pub(super) provides: Vec<String>,
    /// The traits it requires.
    pub(super) requires: Vec<String>,
}

/// The order to construct `nodes` in: every plugin after the plugins whose
/// services it requires, otherwise in the order given. A required trait
/// that no node provides must be `available` already; if not, it is a
/// [`PluginError::MissingService`]. A cycle is a
/// [`PluginError::DependencyCycle`]. Errors carry the node's index.
pub(super) fn construction_order(
    nodes: &[Node],
    available: impl Fn(&str) -> bool,
) -> Result<Vec<usize>, (usize, PluginError)> {
    let mut edges: Vec<Vec<(usize, &str)>> = vec![Vec::new(); nodes.len()];
    for (index, node) in nodes.iter().enumerate() {
        for required in &node.requires {
            let providers: Vec<usize> = nodes
                .iter()
                .enumerate()
                .filter(|(other, provider)| *other != index && provider.provides.contains(required))
                .map(|(other, _)| other)
                .collect();
            if providers.is_empty() && !available(required) {
                return Err((
                    index,
                    PluginError::MissingService {
                        library: node.library.clone(),
                        trait_name: required.clone(),
                    },
                ));
            }
            edges[index].extend(
                providers
                    .into_iter()
                    .map(|other| (other, required.as_str())),
            );
        }
    }
    let mut order = Vec::with_capacity(nodes.len());
    let mut placed = vec![false; nodes.len()];
    while order.len() < nodes.len() {
        let ready = (0..nodes.len()).find(|&index| {
            !placed[index] && edges[index].iter().all(|(provider, _)| placed[*provider])
        });
        match ready {
            Some(index) => {
                placed[index] = true;
                order.push(index);
            }
            None => {
                let start = (0..nodes.len())
                    .find(|index| !placed[*index])
                    .expect("some left");
                return Err((start, cycle(nodes, &edges, &placed, start)));
            }
        }
    }
    Ok(order)
}

/// The cycle reached from `start` among the unplaced nodes.
fn cycle(
    nodes: &[Node],
    edges: &[Vec<(usize, &str)>],
    placed: &[bool],
    start: usize,
) -> PluginError {
    let name = |index: usize| {
        nodes[index].library.file_name().map_or_else(
            || nodes[index].library.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        )
    };
    // Every unplaced node waits on an unplaced provider: walk until a node
    // repeats.
    let mut path: Vec<(usize, &str)> = Vec::new();
    let mut at = start;
    loop {
        if let Some(seen) = path.iter().position(|(index, _)| *index == at) {
            let steps: Vec<String> = path[seen..]
                .iter()
                .map(|(index, needs)| format!("{} needs {needs}", name(*index)))
                .chain(std::iter::once(name(at)))
                .collect();
            return PluginError::DependencyCycle {
                library: nodes[at].library.clone(),
                cycle: steps,
            };
        }
        let (next, needs) = edges[at]
            .iter()
            .copied()
            .find(|(provider, _)| !placed[*provider])
            .expect("an unplaced node waits on an unplaced provider");
        path.push((at, needs));
        at = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(library: &str, provides: &[&str], requires: &[&str]) -> Node {
        Node {
            library: PathBuf::from(library),
            provides: provides.iter().map(|s| (*s).to_owned()).collect(),
            requires: requires.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn a_diamond_is_built_from_the_bottom_whatever_the_listing_order() {
        // app needs Left and Right, which both need Base.
        let nodes = [
            node("app.so", &["App"], &["Left", "Right"]),
            node("right.so", &["Right"], &["Base"]),
            node("left.so", &["Left"], &["Base"]),
            node("base.so", &["Base"], &[]),
        ];
        let order = construction_order(&nodes, |_| false).unwrap();
        assert_eq!(order, [3, 1, 2, 0]);
    }

    #[test]
    fn a_service_the_host_offers_needs_no_node() {
        let nodes = [node("hello.so", &["Greeter"], &["Storage"])];
        assert_eq!(
            construction_order(&nodes, |name| name == "Storage").unwrap(),
            [0]
        );
        let (index, error) = construction_order(&nodes, |_| false).unwrap_err();
        assert_eq!(index, 0);
        assert!(
            matches!(&error, PluginError::MissingService { library, trait_name }
                if library == Path::new("hello.so") && trait_name == "Storage"),
            "{error:?}"
        );
    }

    #[test]
    fn a_cycle_is_named_step_by_step() {
        let nodes = [
            node("base.so", &["Base"], &[]),
            node("a.so", &["A"], &["B"]),
            node("b.so", &["B"], &["A"]),
        ];
        let (index, error) = construction_order(&nodes, |_| false).unwrap_err();
        assert_eq!(index, 1);
        assert_eq!(
            error.to_string(),
            "a.so: its required services form a cycle: a.so needs B -> b.so needs A -> a.so"
        );
    }

    /// Each library's providers, from `(library, providers)` names.
    fn uses_of(pairs: &[(&str, &[&str])]) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
        pairs
            .iter()
            .map(|(user, providers)| {
                (
                    PathBuf::from(user),
                    providers.iter().map(PathBuf::from).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn shutdown_goes_dependents_first() {
        let uses = uses_of(&[
            ("base", &[]),
            ("left", &["base"]),
            ("right", &["base"]),
            ("app", &["left", "right"]),
            ("alone", &[]),
        ]);
        let order = dependents_first(&uses);
        let position = |name: &str| order.iter().position(|p| p == Path::new(name)).unwrap();
        assert!(position("app") < position("left") && position("app") < position("right"));
        assert!(position("left") < position("base") && position("right") < position("base"));
        assert_eq!(order.len(), 5);
        assert_eq!(
            dependents(&uses, Path::new("base")),
            [
                PathBuf::from("app"),
                PathBuf::from("left"),
                PathBuf::from("right")
            ]
        );
        assert!(dependents(&uses, Path::new("app")).is_empty());
    }

    #[test]
    fn shutdown_closes_a_cycle_in_path_order_after_its_users() {
        let uses = uses_of(&[("b", &["a"]), ("a", &["b", "a"]), ("user", &["a"])]);
        assert_eq!(
            dependents_first(&uses),
            [
                PathBuf::from("user"),
                PathBuf::from("a"),
                PathBuf::from("b")
            ]
        );
    }
}
