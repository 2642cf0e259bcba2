//! The unload gate: how a proxy call keeps the instance it calls alive
//! without writing shared memory.
//!
//! Every thread that calls through a proxy owns a [`ThreadSlot`] (its own
//! cache line) holding the targets it is calling into: a call publishes its
//! target there with a plain store, checks that the proxy still points at
//! it, calls, and clears the entry. The side that unloads or reloads first
//! points the proxies elsewhere, then issues a process-wide memory barrier
//! (Linux `membarrier`; elsewhere the callers fence instead) and waits until
//! no slot names the old targets. Only then are the old instances freed and
//! the library closed. This is the hazard-pointer scheme with the reader's
//! fence moved to the writer, as in userspace RCU's "memb" flavour.
//!
//! Calls nested deeper than [`HAZARDS`], and calls from a thread whose
//! thread-local storage is being torn down, count themselves in the
//! target's [`Gate`] instead: a shared write, on those rare paths only.

// Without the `host` feature nothing unloads or reloads.
#![cfg_attr(not(feature = "host"), allow(dead_code))]

use core::cell::Cell;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering, compiler_fence, fence};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Calls one thread can have in flight through proxies, nested, before
/// further ones take the counting path.
pub(crate) const HAZARDS: usize = 6;

/// What every proxy target starts with: the count of calls in flight that
/// could not use a thread slot.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    overflow: AtomicUsize,
}

/// One thread's published calls.
#[repr(align(64))]
pub(crate) struct ThreadSlot {
    hazards: [AtomicPtr<Gate>; HAZARDS],
    /// Entries in use; written by the owning thread only. `HAZARDS` or more
    /// sends every call to the slow path.
    depth: AtomicUsize,
    /// Owned by a live thread; a free slot is reused by the next thread.
    taken: AtomicBool,
}

impl ThreadSlot {
    const fn new(depth: usize) -> Self {
        Self {
            hazards: [const { AtomicPtr::new(ptr::null_mut()) }; HAZARDS],
            depth: AtomicUsize::new(depth),
            taken: AtomicBool::new(true),
        }
    }
}

/// The slot of a thread that has not called through a proxy yet.
static UNREGISTERED: ThreadSlot = ThreadSlot::new(HAZARDS);
/// The slot of a thread whose thread-locals are being destroyed, or of
/// every thread when Linux offers no process-wide barrier: its calls count
/// themselves.
static RETIRED: ThreadSlot = ThreadSlot::new(HAZARDS + 1);

/// Every slot ever handed out; slots are never freed, only reused.
static REGISTRY: Mutex<Vec<&'static ThreadSlot>> = Mutex::new(Vec::new());

thread_local! {
    /// This thread's slot. No destructor, so reading it costs one load.
    static SLOT: Cell<*const ThreadSlot> = const { Cell::new(&raw const UNREGISTERED) };
    /// Hands the slot back when the thread exits.
    static RELEASE: Release = const { Release };
}

struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        let slot = SLOT.with(|cell| cell.replace(&raw const RETIRED));
        // SAFETY: a slot pointer always points to a static or to a leaked
        // registry slot.
        let slot = unsafe { &*slot };
        if !ptr::eq(slot, &RETIRED) && !ptr::eq(slot, &UNREGISTERED) {
            slot.taken.store(false, Ordering::Release);
        }
    }
}

/// A call in flight: the published entry, cleared on drop.
pub(crate) struct Entered {
    slot: *const ThreadSlot,
    /// Index into the slot's hazards, or `usize::MAX` for a counted call.
    index: usize,
    gate: *const Gate,
}

impl Entered {
    /// The target entered, as its gate.
    #[inline(always)]
    pub(crate) fn gate(&self) -> *const Gate {
        self.gate
    }
}

impl Drop for Entered {
    #[inline(always)]
    fn drop(&mut self) {
        if self.index == usize::MAX {
            leave_counted(self.gate);
            return;
        }
        // SAFETY: `slot` is this thread's slot, live for the whole process.
        let slot = unsafe { &*self.slot };
        // Release: everything the call did happens before a waiter sees
        // the entry cleared.
        // SAFETY: an entry's index is below `HAZARDS`.
        unsafe { slot.hazards.get_unchecked(self.index) }.store(ptr::null_mut(), Ordering::Release);
        slot.depth.store(self.index, Ordering::Relaxed);
    }
}

/// Enters the target `current` points at, for one call.
///
/// # Safety
///
/// `current` must always point to a live target that starts with a
/// [`Gate`], and a target it stops pointing at must stay alive until
/// [`wait_idle`] says it is idle.
#[inline(always)]
pub(crate) unsafe fn enter<T>(current: &AtomicPtr<T>) -> Entered {
    let slot_ptr = SLOT.with(Cell::get);
    // SAFETY: a slot pointer always points to a static or a leaked slot.
    let depth = unsafe { &*slot_ptr }.depth.load(Ordering::Relaxed);
    if depth < HAZARDS
        && let Some(entered) = publish(slot_ptr, depth, current)
    {
        return entered;
    }
    // SAFETY: forwarded from the caller.
    unsafe { enter_slow(current) }
}

/// Publishes `current`'s target in entry `depth` of the slot and checks
/// that `current` still points at it; `None`, with the entry cleared, if
/// a reload or unload re-pointed it meanwhile.
#[inline(always)]
fn publish<T>(
    slot_ptr: *const ThreadSlot,
    depth: usize,
    current: &AtomicPtr<T>,
) -> Option<Entered> {
    // SAFETY: a slot pointer always points to a static or a leaked slot.
    let slot = unsafe { &*slot_ptr };
    debug_assert!(depth < HAZARDS);
    // SAFETY: the callers check `depth < HAZARDS`.
    let hazard = unsafe { slot.hazards.get_unchecked(depth) };
    let target = current.load(Ordering::Acquire).cast::<Gate>();
    hazard.store(target, Ordering::Relaxed);
    slot.depth.store(depth + 1, Ordering::Relaxed);
    // Linux: paired with the waiter's process-wide barrier (a thread gets a
    // slot only once `membarrier` is registered). Elsewhere: a full fence.
    #[cfg(target_os = "linux")]
    compiler_fence(Ordering::SeqCst);
    #[cfg(not(target_os = "linux"))]
    fence(Ordering::SeqCst);
    if current.load(Ordering::Acquire).cast::<Gate>() == target {
        return Some(Entered {
            slot: slot_ptr,
            index: depth,
            gate: target,
        });
    }
    hazard.store(ptr::null_mut(), Ordering::Relaxed);
    slot.depth.store(depth, Ordering::Relaxed);
    None
}

/// A thread's first call, a call that raced with a reload, a deeply
/// nested call, or a call during thread-local teardown.
///
/// # Safety
///
/// As for [`enter`].
#[cold]
#[inline(never)]
unsafe fn enter_slow<T>(current: &AtomicPtr<T>) -> Entered {
    let mut slot = SLOT.with(Cell::get);
    if ptr::eq(slot, &UNREGISTERED) && register() {
        slot = SLOT.with(Cell::get);
    }
    // SAFETY: a slot pointer always points to a static or a leaked slot.
    let depth = unsafe { &*slot }.depth.load(Ordering::Relaxed);
    if depth < HAZARDS {
        loop {
            if let Some(entered) = publish(slot, depth, current) {
                return entered;
            }
        }
    }
    loop {
        let target = current.load(Ordering::SeqCst).cast::<Gate>();
        // SAFETY: per the contract, `target` is alive while `current`
        // points at it, and it stays alive until idle; the count taken
        // here is what keeps it from being seen idle.
        let gate = unsafe { &*target };
        gate.overflow.fetch_add(1, Ordering::SeqCst);
        if current.load(Ordering::SeqCst).cast::<Gate>() == target {
            return Entered {
                slot,
                index: usize::MAX,
                gate: target,
            };
        }
        gate.overflow.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cold]
#[inline(never)]
fn leave_counted(gate: *const Gate) {
    // SAFETY: a counted call keeps its target alive until it leaves.
    unsafe { &*gate }.overflow.fetch_sub(1, Ordering::Release);
}

/// Gives this thread a slot; false while its thread-locals are torn down,
/// or on Linux without `membarrier`, where its calls count themselves.
fn register() -> bool {
    if !barrier::init() && cfg!(target_os = "linux") {
        SLOT.with(|cell| cell.set(&raw const RETIRED));
        return false;
    }
    let slot = {
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        let free = registry.iter().copied().find(|slot| {
            slot.taken
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        });
        match free {
            Some(slot) => slot,
            None => {
                let slot: &'static ThreadSlot = Box::leak(Box::new(ThreadSlot::new(0)));
                registry.push(slot);
                slot
            }
        }
    };
    // Registers the destructor that hands the slot back; fails once the
    // thread's destructors have started.
    if RELEASE.try_with(|_| ()).is_err() {
        slot.taken.store(false, Ordering::Release);
        SLOT.with(|cell| cell.set(&raw const RETIRED));
        return false;
    }
    SLOT.with(|cell| cell.set(slot));
    true
}

/// Waits until no call is in flight into any of `gates`, which no proxy
/// points at any more; gives up at `deadline`. True when idle.
pub(crate) fn wait_idle(gates: &[*const Gate], deadline: Instant) -> bool {
    barrier::heavy();
    let mut pause = Duration::from_micros(20);
    loop {
        if !busy(gates) {
            // Acquire: the calls' effects happen before what follows.
            fence(Ordering::Acquire);
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(2));
    }
}

fn busy(gates: &[*const Gate]) -> bool {
    let counted = gates.iter().any(|gate| {
        // SAFETY: the caller of `wait_idle` keeps the targets alive.
        unsafe { &**gate }.overflow.load(Ordering::SeqCst) != 0
    });
    if counted {
        return true;
    }
    let registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    registry.iter().any(|slot| {
        slot.hazards.iter().any(|hazard| {
            let entered = hazard.load(Ordering::Acquire);
            !entered.is_null() && gates.contains(&entered.cast_const())
        })
    })
}

/// The process-wide memory barrier the waiting side issues.
mod barrier {
    use core::sync::atomic::{Ordering, fence};
    use std::sync::OnceLock;

    static AVAILABLE: OnceLock<bool> = OnceLock::new();

    /// Registers for expedited barriers; false when the callers must fence.
    pub(super) fn init() -> bool {
        *AVAILABLE.get_or_init(register)
    }

    /// Orders every thread's earlier stores before the caller's later loads.
    pub(super) fn heavy() {
        if init() {
            if expedited() {
                return;
            }
            // Registered, yet the barrier failed: nothing can be assumed
            // about the callers' order, which is a bug in the kernel
            // interface's use; stop rather than free memory in use.
            std::process::abort();
        }
        fence(Ordering::SeqCst);
    }

    #[cfg(target_os = "linux")]
    const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    #[cfg(target_os = "linux")]
    const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

    #[cfg(target_os = "linux")]
    fn register() -> bool {
        // SAFETY: the membarrier system call takes two integer arguments
        // and touches no memory of ours.
        let result = unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
                0,
                0,
            )
        };
        result == 0
    }

    #[cfg(target_os = "linux")]
    fn expedited() -> bool {
        // SAFETY: as in `register`.
        let result =
            unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) };
        result == 0
    }

    #[cfg(not(target_os = "linux"))]
    fn register() -> bool {
        false
    }

    #[cfg(not(target_os = "linux"))]
    fn expedited() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C)]
    struct Dummy {
        gate: Gate,
    }

    fn target() -> *mut Dummy {
        Box::into_raw(Box::new(Dummy {
            gate: Gate::default(),
        }))
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_millis(20)
    }

    #[test]
    fn a_call_in_flight_keeps_its_old_target_busy() {
        let (old, new) = (target(), target());
        let current = AtomicPtr::new(old);
        // SAFETY: both targets outlive every call here.
        let entered = unsafe { enter(&current) };
        assert_eq!(entered.gate(), old.cast_const().cast::<Gate>());
        current.store(new, Ordering::SeqCst);
        let gates = [old.cast_const().cast::<Gate>()];
        assert!(!wait_idle(&gates, soon()));
        drop(entered);
        assert!(wait_idle(&gates, soon()));
        // SAFETY: idle, and made by `target`.
        unsafe { drop((Box::from_raw(old), Box::from_raw(new))) };
    }

    #[test]
    fn calls_nested_past_the_slots_are_counted_and_waited_for() {
        let (old, new) = (target(), target());
        let current = AtomicPtr::new(old);
        // SAFETY: as above.
        let nested: Vec<Entered> = (0..HAZARDS + 3)
            .map(|_| unsafe { enter(&current) })
            .collect();
        // SAFETY: `old` is alive.
        assert_eq!(unsafe { &(*old).gate }.overflow.load(Ordering::SeqCst), 3);
        current.store(new, Ordering::SeqCst);
        let gates = [old.cast_const().cast::<Gate>()];
        assert!(!wait_idle(&gates, soon()));
        drop(nested);
        assert!(wait_idle(&gates, soon()));
        // SAFETY: idle, and made by `target`.
        unsafe { drop((Box::from_raw(old), Box::from_raw(new))) };
    }

    #[test]
    fn a_call_on_another_thread_is_waited_for() {
        let old = target();
        let current = AtomicPtr::new(old);
        let gates = [old.cast_const().cast::<Gate>()];
        let address = old as usize;
        std::thread::scope(|scope| {
            let (entered_tx, entered_rx) = std::sync::mpsc::channel();
            let (leave_tx, leave_rx) = std::sync::mpsc::channel::<()>();
            let current = &current;
            scope.spawn(move || {
                // SAFETY: the target outlives the scope.
                let entered = unsafe { enter(current) };
                entered_tx
                    .send(entered.gate() as usize)
                    .expect("main waits");
                leave_rx.recv().expect("main says when");
            });
            assert_eq!(entered_rx.recv().expect("the call entered"), address);
            current.store(target(), Ordering::SeqCst);
            assert!(!wait_idle(&gates, soon()));
            leave_tx.send(()).expect("the thread waits");
        });
        assert!(wait_idle(&gates, soon()));
        // SAFETY: idle, made by `target`; the new target leaks with
        // `current`, harmlessly.
        unsafe { drop(Box::from_raw(old)) };
    }
}
