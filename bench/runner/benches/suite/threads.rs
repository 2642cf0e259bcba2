//! One handle called from two threads at once: does the per-call cost stay
//! what it is from one thread?
//!
//! Each sample starts `n` threads that wait on a barrier and then make
//! `iters` calls each; the time reported per iteration is the wall time
//! from the first thread's start to the last thread's end, divided by
//! `iters`. With perfect scaling, two threads report the same time per
//! call as one. The one-thread rows run the same code with one thread, so
//! the two are comparable; the thread start-up is outside the timed span.

use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use bench_ours_interface::Bench;
use criterion::Criterion;

use crate::approaches::{A, B, GREETING, HostBench, Loaded, NAME};

/// Wall time of `threads` threads each calling `call` `iters` times at once.
fn run<T, F>(handle: &T, threads: usize, iters: u64, call: F) -> Duration
where
    T: Sync + ?Sized,
    F: Fn(&T, u64) + Sync,
{
    let barrier = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let call = &call;
                    barrier.wait();
                    let start = Instant::now();
                    for i in 0..iters {
                        call(handle, i);
                    }
                    (start, Instant::now())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("a benchmark thread panicked"))
            .collect()
    });
    let start = spans.iter().map(|span| span.0).min().expect("one thread");
    let end = spans.iter().map(|span| span.1).max().expect("one thread");
    end - start
}

pub fn bench(c: &mut Criterion, loaded: &Loaded) {
    loaded.check();
    let mut group = c.benchmark_group("threads");
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30)
        .nresamples(20_000);

    let baseline: &dyn HostBench = &loaded.baseline;
    let c_abi = &loaded.c_abi;
    let ours = &loaded.ours;
    let manager = &loaded.ours_manager;
    assert_eq!(baseline.add(A, B), A + B);
    assert_eq!(c_abi.add(A, B), A + B);
    assert_eq!(ours.add(A, B), A + B);
    assert_eq!(&*c_abi.greet(NAME), GREETING);
    assert_eq!(ours.greet(NAME), GREETING);
    assert_eq!(manager.add(A, B), A + B);
    assert_eq!(manager.greet(NAME), GREETING);

    for (threads, suffix) in [(1, "1t"), (2, "2t")] {
        group.bench_function(format!("baseline_add_{suffix}"), |b| {
            b.iter_custom(|iters| {
                run(baseline, threads, iters, |h, i| {
                    black_box(h.add(black_box(i), black_box(B)));
                })
            })
        });
        group.bench_function(format!("baseline_greet_{suffix}"), |b| {
            b.iter_custom(|iters| {
                run(baseline, threads, iters, |h, _| {
                    black_box(h.greet(black_box(NAME)));
                })
            })
        });
        group.bench_function(format!("c_abi_add_{suffix}"), |b| {
            b.iter_custom(|iters| {
                run(c_abi, threads, iters, |h, i| {
                    black_box(h.add(black_box(i), black_box(B)));
                })
            })
        });
        group.bench_function(format!("c_abi_greet_{suffix}"), |b| {
            b.iter_custom(|iters| {
                run(c_abi, threads, iters, |h, _| {
                    black_box(h.greet(black_box(NAME)));
                })
            })
        });
        group.bench_function(format!("ours_add_{suffix}"), |b| {
            b.iter_custom(|iters| {
                run(ours, threads, iters, |h, i| {
                    black_box(h.add(black_box(i), black_box(B)));
                })
            })
        });
        group.bench_function(format!("ours_greet_{suffix}"), |b| {
            b.iter_custom(|iters| {
                run(ours, threads, iters, |h, _| {
                    black_box(h.greet(black_box(NAME)));
                })
            })
        });
        group.bench_function(format!("ours_manager_add_{suffix}"), |b| {
            b.iter_custom(|iters| {
                run(manager, threads, iters, |h, i| {
                    black_box(h.add(black_box(i), black_box(B)));
                })
            })
        });
        group.bench_function(format!("ours_manager_greet_{suffix}"), |b| {
            b.iter_custom(|iters| {
                run(manager, threads, iters, |h, _| {
                    black_box(h.greet(black_box(NAME)));
                })
            })
        });
    }
    group.finish();
}
