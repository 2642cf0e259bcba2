//! Calls one rich-types case `N` times and nothing else, so that
//! instruction counts per call can be read off two runs:
//!
//! ```sh
//! valgrind --tool=callgrind target/release/examples/rich_probe ours person 10000
//! valgrind --tool=callgrind target/release/examples/rich_probe ours person 20000
//! # (Ir of the second - Ir of the first) / 10000 = instructions per call
//! ```
//!
//! Approaches: `baseline`, `ours` (own allocator), `ours_shared` (the
//! host's allocator, the default); cases: `score`, `person`, `visit0`,
//! `visit64`.

#[allow(dead_code)]
#[path = "../benches/rich/approaches.rs"]
mod approaches;

use std::hint::black_box;

use approaches::{CALLBACKS, HostRich, Total};
use bench_rich_interface::{NAMES, Rich, name, person};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [approach, case, n] = args.as_slice() else {
        eprintln!(
            "usage: rich_probe <baseline|ours|ours_shared> <score|person|visit0|visit64> <calls>"
        );
        std::process::exit(2);
    };
    let n: u32 = n.parse().expect("a number of calls");
    let libraries = approaches::build();
    let baseline = HostRich {
        names: (0..NAMES).map(name).collect(),
    };
    let ours = approaches::ours(&libraries[0]);
    let shared = approaches::ours(&libraries[2]);
    let rich: &dyn Rich = match approach.as_str() {
        "baseline" => &baseline,
        "ours" => &ours,
        "ours_shared" => &shared,
        other => panic!("unknown approach {other}"),
    };
    let rich = black_box(rich);
    let alice = person(7);
    let total = Total::default();
    for _ in 0..n {
        match case.as_str() {
            "score" => drop(black_box(rich.score(black_box(&alice)))),
            "person" => drop(black_box(rich.person(black_box(7)))),
            "visit0" => drop(black_box(rich.visit(black_box(&total), 0))),
            "visit64" => drop(black_box(rich.visit(black_box(&total), CALLBACKS))),
            other => panic!("unknown case {other}"),
        }
    }
}
