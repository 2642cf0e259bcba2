//! The unload gate: how a call through a `PluginManager` proxy keeps the
//! instance it calls alive without writing shared memory. (Proxies from
//! `PluginLibrary::instantiate` are never re-pointed and skip the gate.)
//!
//! Every thread that calls through such a proxy owns one thread-local word,
//! `ACTIVE`, naming the target its outermost call is inside. A call checks
//! that the word is free, stores its target there with a plain store,
//! checks that the proxy still points at it, calls, and clears the word.
//! The side that unloads or reloads first points the proxies elsewhere,
//! then issues a process-wide memory barrier (Linux `membarrier`;
//! elsewhere the callers fence instead) and waits until no thread's word
//! names the old targets. Only then are the old instances freed and the
//! library closed. This is the hazard-pointer scheme with the reader's
//! fence moved to the writer, as in userspace RCU's "memb" flavour, and
//! the hazard kept in thread-local storage so that publishing it is one
//! store at a fixed offset from the thread pointer.
//!
//! A call made while another is in flight on the same thread (a plugin
//! calling a proxy) publishes its target in the thread's [`ThreadSlot`]
//! instead, a cache line of the thread's own with [`HAZARDS`] entries.
//! Calls nested deeper than that, and calls from a thread whose
//! thread-local storage is being torn down, count themselves in the
//! target's [`Gate`]: a shared write, on those rare paths only.

use core::cell::Cell;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering, compiler_fence, fence};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Calls one thread can have in flight through proxies inside another
/// call, nested, before further ones take the counting path.
pub(crate) const HAZARDS: usize = 6;

/// What every proxy target starts with: the count of calls in flight that
/// could not publish themselves.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    overflow: AtomicUsize,
}

impl Gate {
    const fn new() -> Self {
        Self {
            overflow: AtomicUsize::new(0),
        }
    }
}

/// `ACTIVE` of a thread that has not called through a proxy yet.
static UNREGISTERED: Gate = Gate::new();
/// `ACTIVE` of a thread whose thread-locals are being destroyed, or of
/// every thread when Linux offers no process-wide barrier: its calls count
/// themselves.
static COUNTING: Gate = Gate::new();

const fn mark(gate: &'static Gate) -> *mut Gate {
    ptr::from_ref(gate).cast_mut()
}

/// One thread's published nested calls.
#[repr(align(64))]
pub(crate) struct ThreadSlot {
    hazards: [AtomicPtr<Gate>; HAZARDS],
    /// Entries in use; written by the owning thread only.
    depth: AtomicUsize,
}

impl ThreadSlot {
    fn new() -> Self {
        Self {
            hazards: [const { AtomicPtr::new(ptr::null_mut()) }; HAZARDS],
            depth: AtomicUsize::new(0),
        }
    }
}

/// A registered thread: its `ACTIVE` word and its slot.
struct Registered {
    active: *const AtomicPtr<Gate>,
    slot: &'static ThreadSlot,
}

// SAFETY: `active` points into a live thread's thread-local storage; a
// thread removes its entry (under the registry's lock) before that storage
// goes away, and other threads only load from it.
unsafe impl Send for Registered {}

/// Every registered thread. Slots are never freed, only reused.
static REGISTRY: Mutex<Vec<Registered>> = Mutex::new(Vec::new());
/// Slots of threads that exited, for the next thread to take.
static FREE_SLOTS: Mutex<Vec<&'static ThreadSlot>> = Mutex::new(Vec::new());

thread_local! {
    /// The target this thread's outermost call is inside; null when idle.
    /// No destructor and a constant initialiser, so reading and writing
    /// it is one instruction each.
    static ACTIVE: AtomicPtr<Gate> = const { AtomicPtr::new(mark(&UNREGISTERED)) };
    /// This thread's slot for nested calls, once registered.
    static SLOT: Cell<Option<&'static ThreadSlot>> = const { Cell::new(None) };
    /// Takes the thread out of the registry when it exits.
    static RELEASE: Release = const { Release };
}

struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        // From here on the thread's calls count themselves.
        let active = ACTIVE.with(|active| {
            active.store(mark(&COUNTING), Ordering::Release);
            ptr::from_ref(active)
        });
        let slot = SLOT.with(|cell| cell.replace(None));
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        registry.retain(|entry| !ptr::eq(entry.active, active));
        drop(registry);
        if let Some(slot) = slot {
            FREE_SLOTS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(slot);
        }
    }
}

/// A call in flight: the published entry, cleared on drop.
pub(crate) struct Entered {
    gate: *const Gate,
    /// 0 for a call published in `ACTIVE`; the entry's index + 1 for a
    /// nested call in the thread's slot; `usize::MAX` for a counted call.
    nested: usize,
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
        if self.nested == 0 {
            drop(Leave);
        } else {
            leave_nested(self.gate, self.nested);
        }
    }
}

/// Linux: paired with the waiter's process-wide barrier (a thread
/// publishes only once `membarrier` is registered). Elsewhere: a full
/// fence.
#[inline(always)]
fn publish_fence() {
    #[cfg(target_os = "linux")]
    compiler_fence(Ordering::SeqCst);
    #[cfg(not(target_os = "linux"))]
    fence(Ordering::SeqCst);
}

/// Runs `f` inside the target `current` points at: the target (as its
/// gate) stays alive until `f` returns or unwinds. The path a call takes
/// when the thread is registered and not inside another call leaves by
/// clearing `ACTIVE`, with no test; every other path enters through the
/// cold [`enter_slow`] and leaves through its own guard, with its own copy
/// of `f`, so that `f`'s arguments and result stay in registers.
///
/// # Safety
///
/// `current` must always point to a live target that starts with a
/// [`Gate`], and a target it stops pointing at must stay alive until
/// [`wait_idle`] says it is idle.
#[inline(always)]
pub(crate) unsafe fn call<T, R>(current: &AtomicPtr<T>, f: impl FnOnce(*const Gate) -> R) -> R {
    match try_publish(current) {
        Some(target) => {
            let _leave = Leave;
            f(target)
        }
        // SAFETY: forwarded from the caller.
        None => unsafe { call_slow(current, f) },
    }
}

/// Clears `ACTIVE` when a call published there returns or unwinds.
struct Leave;

impl Drop for Leave {
    #[inline(always)]
    fn drop(&mut self) {
        // Release: everything the call did happens before a waiter sees
        // the word cleared.
        ACTIVE.with(|active| active.store(ptr::null_mut(), Ordering::Release));
    }
}

/// # Safety
///
/// As for [`call`].
#[inline(always)]
unsafe fn call_slow<T, R>(current: &AtomicPtr<T>, f: impl FnOnce(*const Gate) -> R) -> R {
    // SAFETY: forwarded from the caller.
    let entered = unsafe { enter_slow(current) };
    f(entered.gate())
}

/// Publishes `current`'s target in `ACTIVE` if the thread is registered
/// and not inside a call, and checks that `current` still points at it;
/// `None`, with the word cleared, if a reload or unload re-pointed it
/// meanwhile.
#[inline(always)]
fn try_publish<T>(current: &AtomicPtr<T>) -> Option<*const Gate> {
    ACTIVE.with(|active| {
        if !active.load(Ordering::Relaxed).is_null() {
            return None;
        }
        let target = current.load(Ordering::Acquire).cast::<Gate>();
        active.store(target, Ordering::Relaxed);
        publish_fence();
        if current.load(Ordering::Acquire).cast::<Gate>() == target {
            return Some(target.cast_const());
        }
        active.store(ptr::null_mut(), Ordering::Relaxed);
        None
    })
}

/// Enters the target `current` points at, until the returned guard drops:
/// what [`call`] does, in a form tests can hold on to.
///
/// # Safety
///
/// As for [`call`].
#[cfg(test)]
unsafe fn enter<T>(current: &AtomicPtr<T>) -> Entered {
    match try_publish(current) {
        Some(gate) => Entered { gate, nested: 0 },
        // SAFETY: forwarded from the caller.
        None => unsafe { enter_slow(current) },
    }
}

/// A thread's first call, a call that raced with a reload, a nested call,
/// or a call during thread-local teardown.
///
/// # Safety
///
/// As for [`call`].
#[cold]
#[inline(never)]
unsafe fn enter_slow<T>(current: &AtomicPtr<T>) -> Entered {
    loop {
        let active = ACTIVE.with(|active| active.load(Ordering::Relaxed));
        if active == mark(&UNREGISTERED) {
            register();
            continue;
        }
        if active.is_null() {
            // Registered just now, or a reload re-pointed the binding
            // between the two loads.
            match try_publish(current) {
                Some(gate) => return Entered { gate, nested: 0 },
                None => continue,
            }
        }
        if active != mark(&COUNTING)
            && let Some(slot) = SLOT.with(Cell::get)
            && let Some(entered) = enter_nested(slot, current)
        {
            return entered;
        }
        // SAFETY: forwarded from the caller.
        return unsafe { enter_counted(current) };
    }
}

/// Publishes a nested call in the thread's slot; `None` when it is full.
fn enter_nested<T>(slot: &ThreadSlot, current: &AtomicPtr<T>) -> Option<Entered> {
    let depth = slot.depth.load(Ordering::Relaxed);
    let hazard = slot.hazards.get(depth)?;
    slot.depth.store(depth + 1, Ordering::Relaxed);
    loop {
        let target = current.load(Ordering::Acquire).cast::<Gate>();
        hazard.store(target, Ordering::Relaxed);
        publish_fence();
        if current.load(Ordering::Acquire).cast::<Gate>() == target {
            return Some(Entered {
                gate: target,
                nested: depth + 1,
            });
        }
    }
}

/// Counts a call in its target's gate.
///
/// # Safety
///
/// As for [`call`].
unsafe fn enter_counted<T>(current: &AtomicPtr<T>) -> Entered {
    loop {
        let target = current.load(Ordering::SeqCst).cast::<Gate>();
        // SAFETY: per the contract, `target` is alive while `current`
        // points at it, and it stays alive until idle; the count taken
        // here is what keeps it from being seen idle.
        let gate = unsafe { &*target };
        gate.overflow.fetch_add(1, Ordering::SeqCst);
        if current.load(Ordering::SeqCst).cast::<Gate>() == target {
            return Entered {
                gate: target,
                nested: usize::MAX,
            };
        }
        gate.overflow.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cold]
#[inline(never)]
fn leave_nested(gate: *const Gate, nested: usize) {
    if nested == usize::MAX {
        // SAFETY: a counted call keeps its target alive until it leaves.
        unsafe { &*gate }.overflow.fetch_sub(1, Ordering::Release);
        return;
    }
    let slot = SLOT
        .with(Cell::get)
        .expect("a nested call was published in this thread's slot");
    // Release: everything the call did happens before a waiter sees the
    // entry cleared.
    slot.hazards[nested - 1].store(ptr::null_mut(), Ordering::Release);
    slot.depth.store(nested - 1, Ordering::Relaxed);
}

/// Registers this thread, so its calls publish themselves; on Linux
/// without `membarrier`, or once the thread's thread-locals are being torn
/// down, marks it so its calls count themselves instead.
fn register() {
    let count = || ACTIVE.with(|active| active.store(mark(&COUNTING), Ordering::Relaxed));
    if !barrier::init() && cfg!(target_os = "linux") {
        return count();
    }
    // Registers the destructor that takes the thread out of the registry;
    // fails once the thread's destructors have started.
    if RELEASE.try_with(|_| ()).is_err() {
        return count();
    }
    let reused = FREE_SLOTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop();
    let slot = reused.unwrap_or_else(|| Box::leak(Box::new(ThreadSlot::new())));
    SLOT.with(|cell| cell.set(Some(slot)));
    let active = ACTIVE.with(ptr::from_ref);
    REGISTRY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Registered { active, slot });
    // Only now, with the word visible to waiters, may calls publish there.
    ACTIVE.with(|active| active.store(ptr::null_mut(), Ordering::Relaxed));
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
    let named =
        |entry: &AtomicPtr<Gate>| gates.contains(&entry.load(Ordering::Acquire).cast_const());
    let registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    registry.iter().any(|thread| {
        // SAFETY: a registered thread's word stays alive until it takes
        // itself out of the registry, which needs the lock held here.
        named(unsafe { &*thread.active }) || thread.slot.hazards.iter().any(named)
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
        // One call in `ACTIVE`, `HAZARDS` in the slot, three counted.
        // SAFETY: as above.
        let nested: Vec<Entered> = (0..HAZARDS + 4)
            .map(|_| unsafe { enter(&current) })
            .collect();
        let kinds: Vec<usize> = nested.iter().map(|entered| entered.nested).collect();
        assert_eq!(kinds[..HAZARDS + 1], [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(kinds[HAZARDS + 1..], [usize::MAX; 3]);
        // SAFETY: `old` is alive.
        assert_eq!(unsafe { &(*old).gate }.overflow.load(Ordering::SeqCst), 3);
        current.store(new, Ordering::SeqCst);
        let gates = [old.cast_const().cast::<Gate>()];
        // Innermost first, as scoped calls leave; busy until the last.
        for entered in nested.into_iter().rev() {
            assert!(!wait_idle(&gates, soon()));
            drop(entered);
        }
        assert!(wait_idle(&gates, soon()));
        // The thread's slot is empty again: the next nested call takes
        // its first entry.
        // SAFETY: `new` is alive.
        let outer = unsafe { enter(&current) };
        // SAFETY: as above.
        let inner = unsafe { enter(&current) };
        assert_eq!((outer.nested, inner.nested), (0, 1));
        drop((inner, outer));
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

    #[test]
    fn a_thread_leaves_the_registry_as_it_exits_and_later_calls_count() {
        /// Touched before the thread's first call, so its destructor runs
        /// after the gate's own (thread-local destructors run last first).
        struct Probe {
            report: Cell<Option<std::sync::mpsc::Sender<(bool, usize)>>>,
            current: Cell<*mut Dummy>,
        }
        impl Drop for Probe {
            fn drop(&mut self) {
                let current = AtomicPtr::new(self.current.get());
                let word = ACTIVE.with(ptr::from_ref);
                let listed = REGISTRY
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .iter()
                    .any(|entry| ptr::eq(entry.active, word));
                // SAFETY: the target outlives the thread, which is joined.
                let entered = unsafe { enter(&current) };
                let report = self.report.take().expect("set before exit");
                report
                    .send((listed, entered.nested))
                    .expect("the test waits");
            }
        }
        thread_local! {
            static PROBE: Probe = const {
                Probe { report: Cell::new(None), current: Cell::new(ptr::null_mut()) }
            };
        }

        let old = target();
        let address = old as usize;
        let (report, reported) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            PROBE.with(|probe| {
                probe.report.set(Some(report));
                probe.current.set(address as *mut Dummy);
            });
            let current = AtomicPtr::new(address as *mut Dummy);
            // SAFETY: the target outlives the thread, which is joined.
            let entered = unsafe { enter(&current) };
            assert_eq!(entered.nested, 0, "a registered thread publishes in ACTIVE");
        })
        .join()
        .expect("the thread calls");
        let (listed, nested) = reported.recv().expect("the probe reports");
        assert!(!listed, "the exiting thread is out of the registry");
        assert_eq!(nested, usize::MAX, "its last calls count themselves");
        // SAFETY: idle (the counted call left), made by `target`.
        unsafe { drop(Box::from_raw(old)) };
    }
}
