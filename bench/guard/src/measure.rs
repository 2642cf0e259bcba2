//! Ratios of two ways of doing the same work, timed alternately in one
//! process so that both see the same machine.

use std::time::{Duration, Instant};

/// How many alternating rounds a ratio is the median of.
const ROUNDS: usize = 15;

/// How long one timed batch of calls lasts, at least.
const BATCH: Duration = Duration::from_millis(2);

/// The median, over [`ROUNDS`] rounds, of the time `ours(n)` takes
/// divided by the time `baseline(n)` takes, where each runs `n` calls and
/// `n` is chosen so that a batch of `ours` lasts at least [`BATCH`]. The
/// two alternate which goes first.
pub fn call_ratio(mut baseline: impl FnMut(u64), mut ours: impl FnMut(u64)) -> f64 {
    let mut n = 1;
    while timed(|| ours(n)) < BATCH {
        n *= 2;
    }
    let ratios = (0..ROUNDS).map(|round| {
        let (base, ours) = if round % 2 == 0 {
            let base = timed(|| baseline(n));
            (base, timed(|| ours(n)))
        } else {
            let ours = timed(|| ours(n));
            (timed(|| baseline(n)), ours)
        };
        ours.as_secs_f64() / base.as_secs_f64()
    });
    median(ratios.collect())
}

/// The median, over [`ROUNDS`] rounds, of the time one batch of `ours`
/// takes divided by the time one batch of `baseline` takes, where
/// `prepare` makes what each batch consumes (fresh copies of a library,
/// for loads) outside the timing, and what a batch returns is dropped
/// outside it too.
pub fn batch_ratio<P, B, O>(
    mut prepare: impl FnMut() -> P,
    mut baseline: impl FnMut(P) -> B,
    mut ours: impl FnMut(P) -> O,
) -> f64 {
    let ratios = (0..ROUNDS).map(|round| {
        let (for_base, for_ours) = (prepare(), prepare());
        let (base, ours) = if round % 2 == 0 {
            let base = timed(|| baseline(for_base));
            (base, timed(|| ours(for_ours)))
        } else {
            let ours = timed(|| ours(for_ours));
            (timed(|| baseline(for_base)), ours)
        };
        ours.as_secs_f64() / base.as_secs_f64()
    });
    median(ratios.collect())
}

/// How long `f` takes, with what it returns dropped after the clock stops.
fn timed<T>(f: impl FnOnce() -> T) -> Duration {
    let start = Instant::now();
    let kept = f();
    let took = start.elapsed();
    drop(kept);
    took
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
