//! Process isolation's costs: a worker's start, calls through a typed
//! proxy of an instance in a worker beside a bare Unix-socket ping-pong of
//! the same bytes, a host callback during such a call, and the memory of
//! many isolated plugins.
//!
//! ```sh
//! cargo run --release --example isolation          # 100 workers for the memory row
//! cargo run --release --example isolation -- 20    # 20 workers
//! ```
//!
//! Times are medians of rounds of many calls; the ping-pong writes the
//! bytes of an `add` request frame to a thread of this process over a
//! socket pair and reads back the bytes of its answer, the transport a
//! call pays for without the framework's encoding, checks or dispatch.

use std::hint::black_box;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bench_ours_interface::Bench;
use bench_rich_interface::{Rich, Tally};
use bench_runner::plugins::{build_packages, cargo, workspace_root};
use plugin_interface::LoadOptions;
use plugin_interface::isolation::{WorkerLibrary, WorkerOptions};

/// Bytes of an `add(3, 4)` request frame and of its answer, as the
/// protocol writes them (length prefix included).
const REQUEST: usize = 4 + 1 + 3 + 3;
const ANSWER: usize = 4 + 1 + 2 + 1;

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("a number of workers"))
        .unwrap_or(100);
    let (libraries, target) = build_packages(&[
        ("bench-ours-shared-plugin", "bench_ours_shared_plugin"),
        ("bench-rich-shared-plugin", "bench_rich_shared_plugin"),
    ]);
    let library = &libraries[0];
    let worker = build_worker(&target);
    let options = WorkerOptions::default().worker(&worker);
    let load = LoadOptions::default();

    let starts = median(
        (0..21)
            .map(|_| {
                let started = Instant::now();
                let isolated = WorkerLibrary::spawn(library, &load, &options).expect("a worker");
                let bench = isolated
                    .instantiate::<dyn Bench>()
                    .expect("one Bench")
                    .remove(0);
                black_box(bench.add(1, 2));
                let took = started.elapsed();
                drop(bench);
                isolated.close().expect("a clean close");
                took
            })
            .collect(),
    );

    let isolated = WorkerLibrary::spawn(library, &load, &options).expect("a worker");
    let bench = isolated
        .instantiate::<dyn Bench>()
        .expect("one Bench")
        .remove(0);
    let xs: Vec<u64> = (0..64).collect();
    let add = per_call(|| black_box(bench.add(black_box(3), black_box(4))));
    let greet = per_call(|| black_box(bench.greet(black_box("world"))));
    let sum = per_call(|| black_box(bench.sum(black_box(&xs))));
    let ping = ping_pong();
    drop(bench);
    isolated.close().expect("a clean close");

    // Host callbacks: `visit` calls the lent `Tally` n times; the cost of
    // one callback is the slope between n = 64 and n = 0.
    let rich_worker = WorkerLibrary::spawn(&libraries[1], &load, &options).expect("a worker");
    let rich = rich_worker
        .instantiate::<dyn Rich>()
        .expect("one Rich")
        .remove(0);
    let tally = Count::default();
    let none = per_call(|| black_box(rich.visit(&tally, black_box(0))));
    let many = per_call(|| black_box(rich.visit(&tally, black_box(64))));
    let callback = many.saturating_sub(none) / 64;
    drop(rich);
    rich_worker.close().expect("a clean close");

    let before = rss_kib(std::process::id());
    let mut workers = Vec::new();
    for _ in 0..count {
        let isolated = WorkerLibrary::spawn(library, &load, &options).expect("a worker");
        let bench = isolated
            .instantiate::<dyn Bench>()
            .expect("one Bench")
            .remove(0);
        assert_eq!(bench.add(1, 2), 3);
        workers.push((bench, isolated));
    }
    let host = rss_kib(std::process::id()) - before;
    let children: u64 = workers
        .iter()
        .map(|(_, isolated)| rss_kib(isolated.pid()))
        .sum();
    drop(workers);

    println!("| measurement | value |");
    println!("|---|---:|");
    println!(
        "| worker start (spawn, check, open, instantiate, first call) | {:.2} ms |",
        ms(starts)
    );
    println!(
        "| `add` through a typed proxy of an instance in a worker | {:.1} µs |",
        us(add)
    );
    println!(
        "| bare Unix-socket ping-pong of the same bytes (a thread) | {:.1} µs |",
        us(ping)
    );
    println!(
        "| `add` / ping-pong | {:.2}× |",
        add.as_secs_f64() / ping.as_secs_f64()
    );
    println!("| `greet` in a worker | {:.1} µs |", us(greet));
    println!("| `sum` of 64 in a worker | {:.1} µs |", us(sum));
    println!(
        "| `visit(&dyn Tally, 0)`: a call lending a host object | {:.1} µs |",
        us(none)
    );
    println!(
        "| one callback of the worker to the lent host object | {:.1} µs |",
        us(callback)
    );
    println!(
        "| {count} isolated plugins: workers' RSS / host's growth / total | {} / {} / {} MiB |",
        children / 1024,
        host / 1024,
        (children + host) / 1024
    );
}

/// The host object `visit` calls back: a running total.
#[derive(Default)]
struct Count(AtomicU64);

impl Tally for Count {
    fn add(&self, x: u64) -> u64 {
        self.0.fetch_add(x, Ordering::Relaxed);
        x + 1
    }
}

/// Builds the worker executable with the benchmark's profile and flags.
fn build_worker(target: &Path) -> PathBuf {
    let status = Command::new(cargo())
        .current_dir(workspace_root())
        .args([
            "build",
            "--release",
            "-p",
            "bench-guard",
            "--bin",
            "plugin-worker",
        ])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building plugin-worker failed");
    let worker = target.join("release").join("plugin-worker");
    assert!(worker.is_file(), "no worker at {}", worker.display());
    worker
}

/// The median time of one call of `f`, over rounds of about 50 ms.
fn per_call<T>(mut f: impl FnMut() -> T) -> Duration {
    let mut n = 1u32;
    loop {
        let started = Instant::now();
        for _ in 0..n {
            black_box(f());
        }
        if started.elapsed() >= Duration::from_millis(50) {
            break;
        }
        n *= 2;
    }
    median(
        (0..11)
            .map(|_| {
                let started = Instant::now();
                for _ in 0..n {
                    black_box(f());
                }
                started.elapsed() / n
            })
            .collect(),
    )
}

/// A request of [`REQUEST`] bytes to a thread that answers [`ANSWER`]
/// bytes, over a socket pair: the median round trip.
fn ping_pong() -> Duration {
    let (mut host, mut peer) = UnixStream::pair().expect("a socket pair");
    let echo = std::thread::spawn(move || {
        let mut request = [0u8; REQUEST];
        let answer = [0u8; ANSWER];
        while peer.read_exact(&mut request).is_ok() {
            if peer.write_all(&answer).is_err() {
                break;
            }
        }
    });
    let request = [0u8; REQUEST];
    let mut answer = [0u8; ANSWER];
    let took = per_call(|| {
        host.write_all(&request).expect("a request");
        host.read_exact(&mut answer).expect("an answer");
    });
    drop(host);
    echo.join().expect("the echo thread");
    took
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn us(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}
