//! The shared allocator: a plugin crate allocates through the host's
//! global allocator (unless it writes `#[plugin_aggregates(Trait,
//! allocator = own)]`), so strings and vectors it returns are adopted
//! by the host as they are instead of copied.
//!
//! The plugin's `#[global_allocator]` is a [`HostAllocator`]. Until the
//! host installs its [`AllocatorTable`] it has not decided; the host
//! installs it right after the canary check, before any plugin function
//! runs. If the plugin allocated first (a static initialiser that
//! allocates), the first allocation decides for the plugin's own allocator
//! for good and the installation is refused: memory from one allocator is
//! never freed by the other. Either way the host knows which, per library
//! ([`PluginLibrary::allocator`](crate::PluginLibrary::allocator)), and
//! copies what it cannot adopt.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use std::alloc::System;

/// Which allocator a loaded library's heap memory comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PluginAllocator {
    /// Its own (the default): the host copies returned strings and
    /// vectors into its memory and frees the originals through the plugin.
    Own = 0,
    /// The host's global allocator (the default): the host adopts
    /// returned strings and vectors without copying.
    Host = 1,
    /// The host's allocator was asked for, but the library allocated before
    /// the host could install its allocator, so it keeps its own; the host
    /// copies, as for [`Own`](Self::Own).
    Refused = 2,
}

impl PluginAllocator {
    /// Whether returned buffers are adopted without copying.
    pub fn is_shared(self) -> bool {
        self == Self::Host
    }

    /// What a library that takes the host's allocator reports, given
    /// whether the host's table was installed; used by generated code.
    #[doc(hidden)]
    pub const fn installed(shared: bool) -> Self {
        if shared { Self::Host } else { Self::Refused }
    }

    /// The allocator a library reports; an unknown value counts as its
    /// own, whose buffers are copied.
    #[cfg(feature = "host")]
    pub(crate) fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Host,
            2 => Self::Refused,
            _ => Self::Own,
        }
    }
}

impl core::fmt::Display for PluginAllocator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Own => "its own",
            Self::Host => "the host's (returned buffers are adopted)",
            Self::Refused => "its own (it allocated before the host's could be installed)",
        })
    }
}

/// The host's global allocator as functions a plugin can call.
#[derive(Debug)]
#[repr(C)]
pub struct AllocatorTable {
    alloc: unsafe extern "C" fn(size: usize, align: usize) -> *mut u8,
    alloc_zeroed: unsafe extern "C" fn(size: usize, align: usize) -> *mut u8,
    dealloc: unsafe extern "C" fn(ptr: *mut u8, size: usize, align: usize),
    realloc: unsafe extern "C" fn(ptr: *mut u8, size: usize, align: usize, new: usize) -> *mut u8,
}

/// The signature of the exported `plugin_allocator_v1`, which every
/// plugin library has: it offers the host's table and returns the
/// library's [`PluginAllocator`] as its `u8` value.
#[cfg(feature = "host")]
pub type InstallAllocator = unsafe extern "C" fn(table: *const AllocatorTable) -> u8;

/// This image's global allocator, as a table for the libraries it loads.
#[cfg(feature = "host")]
pub(crate) static HOST_TABLE: AllocatorTable = AllocatorTable {
    alloc: host_alloc,
    alloc_zeroed: host_alloc_zeroed,
    dealloc: host_dealloc,
    realloc: host_realloc,
};

#[cfg(any(feature = "host", test))]
/// # Safety
///
/// As for [`GlobalAlloc::alloc`]: `size` and `align` form a valid layout of
/// non-zero size.
unsafe extern "C" fn host_alloc(size: usize, align: usize) -> *mut u8 {
    // SAFETY: per the contract; the plugin's `GlobalAlloc` passes a layout.
    unsafe { std::alloc::alloc(Layout::from_size_align_unchecked(size, align)) }
}

#[cfg(any(feature = "host", test))]
/// # Safety
///
/// As for [`host_alloc`].
unsafe extern "C" fn host_alloc_zeroed(size: usize, align: usize) -> *mut u8 {
    // SAFETY: as above.
    unsafe { std::alloc::alloc_zeroed(Layout::from_size_align_unchecked(size, align)) }
}

#[cfg(any(feature = "host", test))]
/// # Safety
///
/// As for [`GlobalAlloc::dealloc`]: `ptr` came from this table with this
/// layout.
unsafe extern "C" fn host_dealloc(ptr: *mut u8, size: usize, align: usize) {
    // SAFETY: per the contract.
    unsafe { std::alloc::dealloc(ptr, Layout::from_size_align_unchecked(size, align)) }
}

#[cfg(any(feature = "host", test))]
/// # Safety
///
/// As for [`GlobalAlloc::realloc`].
unsafe extern "C" fn host_realloc(ptr: *mut u8, size: usize, align: usize, new: usize) -> *mut u8 {
    // SAFETY: per the contract.
    unsafe { std::alloc::realloc(ptr, Layout::from_size_align_unchecked(size, align), new) }
}

/// How this image reaches the host's allocator for the buffers that cross
/// the boundary: null while this image's global allocator is the host's
/// (in the host itself, and in a library that took the host's allocator),
/// else the table the host offered a library that keeps its own.
static BOUNDARY: AtomicPtr<AllocatorTable> = AtomicPtr::new(ptr::null_mut());

/// The host's table, when this image's own global allocator is not the
/// host's; `None` when it is, so that buffers move across as they are.
#[inline(always)]
pub(crate) fn boundary_table() -> Option<&'static AllocatorTable> {
    let table = BOUNDARY.load(Ordering::Acquire);
    if table.is_null() {
        return None;
    }
    // SAFETY: non-null only once `answer_offer` stored the host's static
    // table, valid for as long as this image is loaded.
    Some(unsafe { &*table })
}

/// Whether this image's global allocator is the host's, so that buffers
/// that cross are adopted as they are rather than copied.
#[inline(always)]
pub fn shares_host_memory() -> bool {
    BOUNDARY.load(Ordering::Acquire).is_null()
}

/// A block of the host's memory for `layout`, of non-zero size.
///
/// # Safety
///
/// `layout` must have a non-zero size.
#[inline]
pub(crate) unsafe fn alloc_host(layout: Layout) -> *mut u8 {
    let block = match boundary_table() {
        // SAFETY: a non-zero layout, per the contract.
        None => unsafe { std::alloc::alloc(layout) },
        // SAFETY: as above, through the host's table.
        Some(table) => unsafe { (table.alloc)(layout.size(), layout.align()) },
    };
    if block.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    block
}

/// Frees a block of the host's memory.
///
/// # Safety
///
/// `block` must come from [`alloc_host`] (in any image of the process, or
/// the host's global allocator) with `layout`, and not be used afterwards.
#[inline]
pub(crate) unsafe fn free_host(block: *mut u8, layout: Layout) {
    match boundary_table() {
        // SAFETY: per the contract, a block of this image's global
        // allocator, which is the host's.
        None => unsafe { std::alloc::dealloc(block, layout) },
        // SAFETY: per the contract, through the host's table.
        Some(table) => unsafe { (table.dealloc)(block, layout.size(), layout.align()) },
    }
}

/// A library's answer to the host's offer of its allocator: `allocator`
/// (the library's `HostAllocator`, for `allocator = host`) takes `table`
/// unless it already allocated; a library that keeps its own allocator
/// keeps the table to put what it sends into the host's memory. Returns
/// the library's [`PluginAllocator`] as its `u8`.
///
/// # Safety
///
/// `table` must be null or point to a table that stays valid for as long
/// as this image is loaded; called before any other function of the
/// library, as the loader does.
#[doc(hidden)]
pub unsafe fn answer_offer(table: *const AllocatorTable, allocator: Option<&HostAllocator>) -> u8 {
    let shared = match allocator {
        // SAFETY: forwarded.
        Some(allocator) => unsafe { allocator.install(table) },
        None => false,
    };
    if !shared && !table.is_null() {
        BOUNDARY.store(table.cast_mut(), Ordering::Release);
    }
    match allocator {
        Some(_) => PluginAllocator::installed(shared) as u8,
        None => PluginAllocator::Own as u8,
    }
}

/// The `#[global_allocator]` of a plugin crate with `allocator = host`:
/// the host's allocator once installed, the system allocator if the plugin
/// allocated before that.
#[derive(Debug)]
pub struct HostAllocator {
    /// Null while undecided, [`OWN`] once decided for the system
    /// allocator, else the host's table.
    table: AtomicPtr<AllocatorTable>,
}

/// Any address no table has: decided for the system allocator.
const OWN: *mut AllocatorTable = ptr::dangling_mut();

impl HostAllocator {
    /// An allocator that has not decided yet.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self {
            table: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Makes the host's `table` this allocator's, unless it already
    /// decided; true if the table is now the host's.
    ///
    /// # Safety
    ///
    /// `table` must be null or point to a table that stays valid for as
    /// long as this image is loaded.
    pub unsafe fn install(&self, table: *const AllocatorTable) -> bool {
        if table.is_null() {
            return false;
        }
        let table = table.cast_mut();
        let now = match self.table.compare_exchange(
            ptr::null_mut(),
            table,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => table,
            Err(decided) => decided,
        };
        now == table
    }

    /// The host's table, or `None` for the system allocator; the first
    /// call before any installation decides for the system allocator.
    #[inline(always)]
    fn table(&self) -> Option<&AllocatorTable> {
        let mut table = self.table.load(Ordering::Acquire);
        if table.is_null() {
            table = match self.table.compare_exchange(
                ptr::null_mut(),
                OWN,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => OWN,
                Err(decided) => decided,
            };
        }
        if table == OWN {
            return None;
        }
        // SAFETY: anything else is a table `install` accepted, valid while
        // this image is loaded.
        Some(unsafe { &*table })
    }
}

// SAFETY: every method forwards to one allocator, decided once for the
// life of the image (the host's table or `System`), with the caller's
// layout, so memory is always freed by the allocator that made it.
unsafe impl GlobalAlloc for HostAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.table() {
            // SAFETY: the caller's layout, forwarded.
            Some(table) => unsafe { (table.alloc)(layout.size(), layout.align()) },
            // SAFETY: as above.
            None => unsafe { System.alloc(layout) },
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match self.table() {
            // SAFETY: the caller's layout, forwarded.
            Some(table) => unsafe { (table.alloc_zeroed)(layout.size(), layout.align()) },
            // SAFETY: as above.
            None => unsafe { System.alloc_zeroed(layout) },
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match self.table() {
            // SAFETY: `ptr` came from the same allocator (decided once).
            Some(table) => unsafe { (table.dealloc)(ptr, layout.size(), layout.align()) },
            // SAFETY: as above.
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match self.table() {
            // SAFETY: `ptr` came from the same allocator (decided once).
            Some(table) => unsafe { (table.realloc)(ptr, layout.size(), layout.align(), new_size) },
            // SAFETY: as above.
            None => unsafe { System.realloc(ptr, layout, new_size) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    unsafe extern "C" fn counted_alloc(size: usize, align: usize) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: forwarded.
        unsafe { host_alloc(size, align) }
    }

    static COUNTED: AllocatorTable = AllocatorTable {
        alloc: counted_alloc,
        alloc_zeroed: host_alloc_zeroed,
        dealloc: host_dealloc,
        realloc: host_realloc,
    };

    static REFUSED_CALLS: AtomicUsize = AtomicUsize::new(0);

    unsafe extern "C" fn refused_alloc(size: usize, align: usize) -> *mut u8 {
        REFUSED_CALLS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: forwarded.
        unsafe { host_alloc(size, align) }
    }

    static REFUSED: AllocatorTable = AllocatorTable {
        alloc: refused_alloc,
        alloc_zeroed: host_alloc_zeroed,
        dealloc: host_dealloc,
        realloc: host_realloc,
    };

    #[test]
    fn an_installed_table_serves_every_allocation() {
        let allocator = HostAllocator::new();
        // SAFETY: a static table.
        assert!(unsafe { allocator.install(&COUNTED) });
        // Installing again, the same table, still says shared.
        // SAFETY: as above.
        assert!(unsafe { allocator.install(&COUNTED) });
        let before = CALLS.load(Ordering::SeqCst);
        let layout = Layout::from_size_align(24, 8).expect("a layout");
        // SAFETY: a non-zero layout; freed with it below.
        unsafe {
            let block = allocator.alloc(layout);
            assert!(!block.is_null());
            let grown = allocator.realloc(block, layout, 48);
            assert!(!grown.is_null());
            allocator.dealloc(grown, Layout::from_size_align(48, 8).expect("a layout"));
        }
        assert_eq!(CALLS.load(Ordering::SeqCst), before + 1);
    }

    #[test]
    fn an_allocation_before_installing_keeps_the_system_allocator() {
        let allocator = HostAllocator::new();
        let layout = Layout::from_size_align(16, 8).expect("a layout");
        // SAFETY: a non-zero layout.
        let early = unsafe { allocator.alloc(layout) };
        assert!(!early.is_null());
        // SAFETY: a static table.
        assert!(!unsafe { allocator.install(&REFUSED) }, "refused");
        // SAFETY: `early` came from this allocator with `layout`.
        unsafe {
            let later = allocator.alloc(layout);
            allocator.dealloc(later, layout);
            allocator.dealloc(early, layout);
        }
        assert_eq!(
            REFUSED_CALLS.load(Ordering::SeqCst),
            0,
            "the table is never used"
        );
    }

    #[test]
    fn a_null_table_is_refused() {
        let allocator = HostAllocator::new();
        // SAFETY: null is allowed.
        assert!(!unsafe { allocator.install(ptr::null()) });
    }
}
