//! Prints the report of the last `cargo bench` run again, from
//! `target/bench-report/results.json`, and rewrites `report.md` and
//! `calls.svg` next to it: `cargo run -p bench-runner --bin report`.

use std::path::PathBuf;
use std::process::ExitCode;

use bench_runner::plugins::workspace_root;
use bench_runner::report::{self, Results};

fn main() -> ExitCode {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let dir = target.join("bench-report");
    let results = match Results::load(&dir.join("results.json")) {
        Ok(results) => results,
        Err(error) => {
            eprintln!(
                "no results in {}: {error}; run `cargo bench` first",
                dir.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let table = report::render(&results);
    let written = std::fs::write(dir.join("report.md"), &table)
        .and_then(|()| std::fs::write(dir.join("calls.svg"), report::svg(&results)));
    if let Err(error) = written {
        eprintln!("cannot write to {}: {error}", dir.display());
        return ExitCode::FAILURE;
    }
    println!("{table}");
    ExitCode::SUCCESS
}
