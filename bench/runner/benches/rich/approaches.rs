//! The rich-types approaches as a host sees them: the in-process
//! baseline, the host object plugins call back, and loading ours and
//! abi_stable's. Shared by the `rich` benchmark and `examples/rich_probe.rs`.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use abi_stable::library::lib_header_from_path;
use bench_rich_abi_stable_interface::{RichBox, RichModRef};
use bench_rich_interface::{NAMES, Person, Rich, RichProxy, Tally, person, score};
use bench_runner::plugins::build_packages;
use plugin_interface::PluginLibrary;

/// Callbacks per `visit`.
pub const CALLBACKS: u32 = 64;

/// The trait implemented in the host, called through `&dyn Rich`.
pub struct HostRich {
    /// The names `name_of` lends.
    pub names: Vec<String>,
}

impl Rich for HostRich {
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

/// The host object plugins call back.
#[derive(Default)]
pub struct Total(AtomicU64);

impl Tally for Total {
    fn add(&self, x: u64) -> u64 {
        self.0.fetch_add(x, Ordering::Relaxed);
        x + 1
    }
}

/// Ours' proxy of the library at `path`.
pub fn ours(path: &Path) -> RichProxy {
    let library = PluginLibrary::open(path).expect("the rich plugin loads");
    library
        .instantiate::<dyn Rich>()
        .expect("the rich plugin instantiates")
        .pop()
        .expect("one instance")
}

/// abi_stable's object from the library at `path`.
pub fn abi_stable(path: &Path) -> RichBox {
    let header = lib_header_from_path(path).expect("the abi_stable rich plugin loads");
    let module = header
        .init_root_module::<RichModRef>()
        .expect("the abi_stable layout check passes");
    (module.make())()
}

/// The libraries: ours with its own allocator, abi_stable's, ours with the
/// host's allocator (the default).
pub fn build() -> Vec<std::path::PathBuf> {
    build_packages(&[
        ("bench-rich-plugin", "bench_rich_plugin"),
        (
            "bench-rich-abi-stable-plugin",
            "bench_rich_abi_stable_plugin",
        ),
        ("bench-rich-shared-plugin", "bench_rich_shared_plugin"),
    ])
    .0
}
