//! The benchmark suite: `cd bench && cargo bench`.
//!
//! 1. Builds the plugin libraries (`cargo build --release` of the cdylib
//!    packages of this workspace, same flags and target directory) and
//!    loads each approach once, asserting every method's result.
//! 2. Runs `examples/memory.rs` in its own process (it needs a counting
//!    global allocator, which must not slow down the timed calls here).
//! 3. Runs every criterion benchmark `BENCH_PASSES` times (default 5):
//!    calls, two threads, loads, 1,000 files.
//! 4. Prints the table of medians and ratios, and writes it with the raw
//!    numbers and an SVG to `target/bench-report/`.
//!
//! Criterion's own arguments work as usual (`cargo bench -- greet` runs the
//! benchmarks whose name contains `greet`). Without `--bench` (as under
//! `cargo test --benches`), each benchmark runs once, untimed; with
//! `--profile-time <s>`, each runs for that long without analysis or
//! report, for a profiler (`perf record`).

mod approaches;
mod calls;
mod loads;
mod threads;

use std::env;
use std::fs;
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

use bench_runner::plugins::{self, cargo, workspace_root};
use bench_runner::report::{self, Machine, Results};
use criterion::Criterion;

fn main() {
    let args: Vec<String> = env::args().collect();
    let has = |flag: &str| args.iter().any(|arg| arg == flag);
    // `--profile-time` (for `perf record`) runs without analysis: no report.
    let benchmarking = has("--bench") && !has("--list") && !has("--test") && !has("--profile-time");
    let started = Instant::now();

    let plugins = plugins::build();
    let loaded = approaches::Loaded::load(&plugins);
    let criterion_dir = plugins.target_dir.join("criterion");
    let report_dir = plugins.target_dir.join("bench-report");

    let mut results = Results {
        machine: Machine::probe(),
        ..Results::default()
    };
    if benchmarking && env::var_os("BENCH_SKIP_MEMORY").is_none() {
        results.memory = memory();
    }

    let passes = if benchmarking {
        env::var("BENCH_PASSES")
            .ok()
            .and_then(|passes| passes.parse().ok())
            .unwrap_or(5usize)
            .max(1)
    } else {
        1
    };
    for pass in 1..=passes {
        if benchmarking {
            eprintln!("\n==== pass {pass} of {passes} ====\n");
        }
        let since = SystemTime::now();
        let mut c = Criterion::default()
            .output_directory(&criterion_dir)
            .without_plots()
            .configure_from_args();
        calls::bench(&mut c, &loaded);
        threads::bench(&mut c, &loaded);
        loads::bench(&mut c, &plugins);
        if benchmarking {
            results.add_pass(&criterion_dir, since);
        }
    }
    loaded.check();
    if !benchmarking {
        return;
    }

    results.machine.load_after = report::loadavg();
    fs::create_dir_all(&report_dir).expect("create target/bench-report");
    let table = report::render(&results);
    let json = report_dir.join("results.json");
    results.save(&json).expect("write results.json");
    fs::write(report_dir.join("report.md"), &table).expect("write report.md");
    fs::write(report_dir.join("calls.svg"), report::svg(&results)).expect("write calls.svg");
    println!("\n==== benchmark report ({:.0?}) ====\n", started.elapsed());
    println!("{table}");
    println!(
        "Written to {} (report.md, results.json, calls.svg).",
        report_dir.display()
    );
}

/// Runs `examples/memory.rs` and returns the JSON it prints last.
fn memory() -> Option<serde_json::Value> {
    let mut command = Command::new(cargo());
    command
        .current_dir(workspace_root())
        .args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "bench-runner",
            "--example",
            "memory",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    eprintln!("measuring memory: {command:?}");
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run `{command:?}`: {error}"));
    assert!(
        output.status.success(),
        "the memory measurement failed: `{command:?}` exited with {}",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = stdout.lines().rev().find(|line| line.starts_with('{'))?;
    serde_json::from_str(json).ok()
}
