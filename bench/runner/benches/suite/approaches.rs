//! Every approach as a host sees it: how it is loaded, how each method is
//! called, and a check that each method returns the right value. Shared by
//! the suite and by `examples/memory.rs`.

use core::ffi::c_void;
use std::marker::PhantomData;
use std::ops::Deref;
use std::path::Path;

use abi_stable::library::lib_header_from_path;
use abi_stable::std_types::{RSlice, RStr};
use bench_abi_stable_interface::BenchModRef;
use bench_c_abi_interface::{CBenchObject, CBenchVTable, CString3, MAKE_SYMBOL, MakeBench};
use bench_ours_interface::{Bench, BenchProxy, BenchVTable};
use bench_stabby_interface::{BenchStabbyDyn, MakeBench as StabbyMake};
use libloading::Library;
use plugin_interface::abi::{PanicSlot, RegisterAll, RegistrationArray, UnregisterAll};
use plugin_interface::repr::{RSlice as BoundarySlice, RStr as BoundaryStr};
use plugin_interface::{PluginAllocator, PluginLibrary, PluginManager, load_plugins};
use stabby::libloading::StabbyLibrary;

/// First argument of `add`.
pub const A: u64 = 40;
/// Second argument of `add`.
pub const B: u64 = 2;
/// Argument of `greet`.
pub const NAME: &str = "world";
/// What `greet(NAME)` returns.
pub const GREETING: &str = "Hello, world!";
/// Length of the slice given to `sum`.
pub const LEN: u64 = 64;

/// The slice given to `sum`: `1..=64`.
pub fn xs() -> Vec<u64> {
    (1..=LEN).collect()
}

/// What `sum(xs())` returns.
pub const SUM: u64 = LEN * (LEN + 1) / 2;

/// The symbol ours' canary lives at, for the bare loads.
pub const CANARY_SYMBOL: &[u8] = b"plugin_canary_v1\0";

// ---------------------------------------------------------------------------
// Baseline: the trait implemented in the host.

/// The benchmark trait, in the host only.
pub trait HostBench: Send + Sync {
    /// `a + b`.
    fn add(&self, a: u64, b: u64) -> u64;
    /// `format!("Hello, {name}!")`.
    fn greet(&self, name: &str) -> String;
    /// The sum of `xs`.
    fn sum(&self, xs: &[u64]) -> u64;
}

/// The host's implementation, called through `&dyn HostBench`.
#[derive(Debug, Default)]
pub struct HostImpl;

impl HostBench for HostImpl {
    fn add(&self, a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }

    fn greet(&self, name: &str) -> String {
        format!("Hello, {name}!")
    }

    fn sum(&self, xs: &[u64]) -> u64 {
        xs.iter().copied().fold(0, u64::wrapping_add)
    }
}

// ---------------------------------------------------------------------------
// The hand-written C ABI.

/// A C-ABI plugin: the library, one instance and its function table.
#[derive(Debug)]
pub struct CAbi {
    object: CBenchObject,
    // Declared last: dropped after the instance is freed.
    _library: Library,
}

// SAFETY: the plugin's instance is a stateless unit struct, so its
// functions may be called from any thread, also at once.
unsafe impl Send for CAbi {}
// SAFETY: as above.
unsafe impl Sync for CAbi {}

impl CAbi {
    /// `dlopen` + `dlsym` + one call to the maker. Nothing is checked.
    ///
    /// # Panics
    ///
    /// If the library or its maker is missing.
    pub fn load(path: &Path) -> Self {
        // SAFETY: the benchmark's own C-ABI plugin; its initialisers are
        // Rust's and harmless.
        let library = unsafe { Library::new(path) }.expect("dlopen the C-ABI plugin");
        // SAFETY: the plugin exports the maker with this type.
        let make = unsafe { library.get::<MakeBench>(MAKE_SYMBOL) }.expect("dlsym the maker");
        // SAFETY: the maker takes nothing and returns an instance we own.
        let object = unsafe { make() };
        Self {
            object,
            _library: library,
        }
    }

    fn vtable(&self) -> &CBenchVTable {
        // SAFETY: the table is a static of the library, which `self` keeps.
        unsafe { &*self.object.vtable }
    }

    /// `add`.
    #[inline]
    pub fn add(&self, a: u64, b: u64) -> u64 {
        // SAFETY: the instance belongs to this table and is alive.
        unsafe { (self.vtable().add)(self.object.instance, a, b) }
    }

    /// `greet`, borrowing the plugin's buffer until the result is dropped.
    #[inline]
    pub fn greet(&self, name: &str) -> CGreeting<'_> {
        let vtable = self.vtable();
        // SAFETY: as for `add`; `name` is valid UTF-8 for the call.
        let raw = unsafe { (vtable.greet)(self.object.instance, name.as_ptr(), name.len()) };
        CGreeting {
            raw,
            free: vtable.free_string,
            _plugin: PhantomData,
        }
    }

    /// `greet`, copied into a host `String` (the plugin's buffer is freed).
    #[inline]
    pub fn greet_string(&self, name: &str) -> String {
        self.greet(name).to_owned()
    }

    /// `sum`.
    #[inline]
    pub fn sum(&self, xs: &[u64]) -> u64 {
        // SAFETY: as for `add`; `xs` is valid for the call.
        unsafe { (self.vtable().sum)(self.object.instance, xs.as_ptr(), xs.len()) }
    }
}

impl Drop for CAbi {
    fn drop(&mut self) {
        // SAFETY: the instance came from the maker and is freed once.
        unsafe { (self.vtable().drop)(self.object.instance) }
    }
}

/// A greeting in the C-ABI plugin's memory, freed by the plugin on drop.
#[derive(Debug)]
pub struct CGreeting<'a> {
    raw: CString3,
    free: unsafe extern "C" fn(*mut u8, usize, usize),
    _plugin: PhantomData<&'a CAbi>,
}

impl Deref for CGreeting<'_> {
    type Target = str;

    #[inline]
    fn deref(&self) -> &str {
        // SAFETY: `greet` returns the parts of a live UTF-8 `String`.
        unsafe {
            core::str::from_utf8_unchecked(core::slice::from_raw_parts(self.raw.ptr, self.raw.len))
        }
    }
}

impl Drop for CGreeting<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the three parts of a string `greet` returned, freed once,
        // while the library is loaded (`'a` borrows the plugin).
        unsafe { (self.free)(self.raw.ptr, self.raw.len, self.raw.cap) }
    }
}

// ---------------------------------------------------------------------------
// abi_stable.

/// An abi_stable instance. abi_stable never unloads a library.
pub type AbiStable = bench_abi_stable_interface::BenchBox;

/// What `RootModule::load_from_file` does, minus its once-per-process cache
/// of the module: `dlopen`, the header, version and layout checks, the root
/// module, then one instance. The library is leaked, as abi_stable does.
///
/// # Panics
///
/// If any step fails.
pub fn load_abi_stable(path: &Path) -> AbiStable {
    let module = lib_header_from_path(path)
        .and_then(|header| header.init_root_module::<BenchModRef>())
        .unwrap_or_else(|error| panic!("abi_stable load of {path:?}: {error}"));
    module.make()()
}

// ---------------------------------------------------------------------------
// stabby.

/// A stabby instance and its library.
pub struct Stabby {
    /// The trait object.
    pub object: bench_stabby_interface::BenchBox,
    // Declared last: dropped after the instance.
    _library: Library,
}

impl std::fmt::Debug for Stabby {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stabby").finish_non_exhaustive()
    }
}

impl Stabby {
    /// `dlopen`, stabby's checked `get_stabbied` of the maker (which
    /// compares the maker's type report with the host's), one instance.
    ///
    /// # Panics
    ///
    /// If any step fails.
    pub fn load(path: &Path) -> Self {
        // SAFETY: the benchmark's own stabby plugin.
        let library = unsafe { Library::new(path) }.expect("dlopen the stabby plugin");
        let object = {
            // SAFETY: `get_stabbied` checks the symbol's type report.
            let make =
                unsafe { library.get_stabbied::<StabbyMake>(bench_stabby_interface::MAKE_SYMBOL) }
                    .unwrap_or_else(|error| panic!("stabby load of {path:?}: {error}"));
            make()
        };
        Self {
            object,
            _library: library,
        }
    }
}

// ---------------------------------------------------------------------------
// Ours.

/// `PluginLibrary::open` + `instantiate`: the one proxy of the library.
///
/// # Panics
///
/// If loading fails or the library holds more than one implementation.
pub fn load_ours(path: &Path) -> BenchProxy {
    let library = PluginLibrary::open(path).unwrap_or_else(|error| panic!("{error}"));
    let mut proxies = library
        .instantiate::<dyn Bench>()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(proxies.len(), 1, "one implementation in {path:?}");
    proxies.pop().expect("one proxy")
}

/// `load_plugins(file)`: the one proxy of the library.
///
/// # Panics
///
/// If loading fails.
pub fn load_plugins_ours(path: &Path) -> BenchProxy {
    let report = load_plugins::<dyn Bench>(path).unwrap_or_else(|error| panic!("{error}"));
    let mut proxies: Vec<BenchProxy> = report.into_iter().collect::<Vec<_>>();
    assert_eq!(proxies.len(), 1, "one proxy from {path:?}");
    proxies.pop().expect("one proxy")
}

/// The entry (implementing type) of ours' plugin.
pub const OURS_ENTRY: &str = "Impl";

/// A [`PluginManager`] that has loaded ours' library (from its private
/// copy), and a proxy of its one implementation obtained from the manager:
/// the proxy that follows reloads.
///
/// # Panics
///
/// If the manager cannot be made or loading fails.
pub fn load_manager_ours(path: &Path) -> (PluginManager, BenchProxy) {
    let manager = PluginManager::new().unwrap_or_else(|error| panic!("{error}"));
    manager.load(path).unwrap_or_else(|error| panic!("{error}"));
    let proxy = manager
        .proxy::<dyn Bench>(path, OURS_ENTRY)
        .unwrap_or_else(|error| panic!("{error}"));
    (manager, proxy)
}

/// A bare `dlopen` + `dlsym` of `symbol`: what every checked load is
/// compared with.
///
/// # Panics
///
/// If the library or symbol is missing.
pub fn load_bare(path: &Path, symbol: &[u8]) -> (Library, usize) {
    // SAFETY: the benchmark's own plugins; their initialisers are harmless.
    let library = unsafe { Library::new(path) }.expect("dlopen");
    // SAFETY: looked up as an address only, never dereferenced.
    let address = unsafe { library.get::<*const u8>(symbol) }
        .map(|symbol| *symbol as usize)
        .expect("dlsym");
    (library, address)
}

// ---------------------------------------------------------------------------
// Ours' shims without the proxy: NOT the framework's host side.

/// Ours' plugin library and its one instance, called through the very same
/// generated `BenchVTable` shims as the framework's proxy, but without the
/// proxy: no binding, no unload gate, no `Result`; the returned failure is
/// tested inline. Everything the plugin does is unchanged. It skips the
/// canary and interface checks, and nothing can unload it while it lives:
/// a measuring device for the proxy's own cost only.
pub struct OursInlineSlot {
    instance: *const c_void,
    vtable: &'static BenchVTable,
    array: *mut RegistrationArray,
    unregister_all: UnregisterAll,
    // Declared last: dropped after the instances are freed.
    _library: Library,
}

// SAFETY: `Bench: Send + Sync`, so the instance may be used from any thread.
unsafe impl Send for OursInlineSlot {}
// SAFETY: as above.
unsafe impl Sync for OursInlineSlot {}

impl std::fmt::Debug for OursInlineSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OursInlineSlot").finish_non_exhaustive()
    }
}

#[cold]
#[inline(never)]
fn failed(method: &str) -> ! {
    panic!("plugin call `{method}` failed")
}

impl OursInlineSlot {
    /// `dlopen`, `plugin_register_all_Bench_v1`, and the first registration.
    ///
    /// # Panics
    ///
    /// If the library, its functions or its registration are missing.
    pub fn load(path: &Path) -> Self {
        // SAFETY: the benchmark's own framework plugin.
        let library = unsafe { Library::new(path) }.expect("dlopen ours");
        // SAFETY: the framework's `plugin_register_all_*` and
        // `plugin_unregister_all_*` have these types in this ABI epoch.
        let (register_all, unregister_all) = unsafe {
            (
                *library
                    .get::<RegisterAll>(b"plugin_register_all_Bench_v1\0")
                    .expect("register_all"),
                *library
                    .get::<UnregisterAll>(b"plugin_unregister_all_Bench_v1\0")
                    .expect("unregister_all"),
            )
        };
        let mut slot = PanicSlot::new();
        // SAFETY: `slot` is live for the call.
        let array = unsafe { register_all(&mut slot) };
        assert!(!slot.is_raised() && !array.is_null(), "register_all failed");
        // SAFETY: a non-null array of `count` registrations, alive until it
        // is given back in `drop`; the vtable is `Bench`'s (same interface
        // crate, same build).
        let (instance, vtable) = unsafe {
            assert_eq!((*array).count, 1);
            let registration = &**(*array).registrations;
            (
                registration.instance.cast_const(),
                &*registration.vtable.cast::<BenchVTable>(),
            )
        };
        Self {
            instance,
            vtable,
            array,
            unregister_all,
            _library: library,
        }
    }

    /// `add`.
    #[inline]
    pub fn add(&self, a: u64, b: u64) -> u64 {
        // SAFETY: the instance belongs to this vtable and is alive.
        let returned = unsafe { (self.vtable.add)(self.instance, a, b) };
        if !returned.failure.is_null() {
            failed("add");
        }
        // SAFETY: no failure, so the shim initialised the value.
        unsafe { returned.value.assume_init() }
    }

    /// `greet`, checked and adopted into a `String` as the framework does.
    #[inline]
    pub fn greet(&self, name: &str) -> String {
        // SAFETY: as for `add`; `name` lives for the call.
        let returned = unsafe { (self.vtable.greet)(self.instance, BoundaryStr::new(name)) };
        if !returned.failure.is_null() {
            failed("greet");
        }
        // SAFETY: as for `add`.
        let value = unsafe { returned.value.assume_init() };
        value
            .into_string()
            .unwrap_or_else(|_| panic!("greet returned a string that is not UTF-8"))
    }

    /// `sum`.
    #[inline]
    pub fn sum(&self, xs: &[u64]) -> u64 {
        // SAFETY: as for `add`; `xs` lives for the call.
        let returned = unsafe { (self.vtable.sum)(self.instance, BoundarySlice::from_slice(xs)) };
        if !returned.failure.is_null() {
            failed("sum");
        }
        // SAFETY: as for `add`.
        unsafe { returned.value.assume_init() }
    }
}

impl Drop for OursInlineSlot {
    fn drop(&mut self) {
        // SAFETY: the array came from `register_all` and is given back once.
        unsafe { (self.unregister_all)(self.array) }
    }
}

// ---------------------------------------------------------------------------
// Every approach loaded once, with every method checked.

/// One loaded instance of every approach.
pub struct Loaded {
    /// The in-host implementation.
    pub baseline: HostImpl,
    /// The hand-written C ABI.
    pub c_abi: CAbi,
    /// abi_stable.
    pub abi_stable: AbiStable,
    /// stabby.
    pub stabby: Stabby,
    /// Ours.
    pub ours: BenchProxy,
    /// Ours through a [`PluginManager`]: a proxy that follows reloads, of
    /// the same plugin library (loaded from the manager's private copy).
    /// Declared before the manager, so it is dropped first.
    pub ours_manager: BenchProxy,
    /// The manager `ours_manager` came from.
    pub manager: PluginManager,
    /// Ours' shims called without the proxy (a measuring device).
    pub ours_inline_slot: OursInlineSlot,
    /// Ours built with `allocator = host`: returned strings are adopted.
    pub ours_shared: BenchProxy,
    /// The same through a [`PluginManager`]; dropped before its manager.
    pub ours_shared_manager: BenchProxy,
    /// The manager `ours_shared_manager` came from.
    pub manager_shared: PluginManager,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded").finish_non_exhaustive()
    }
}

impl Loaded {
    /// Loads every approach from its library and checks every method.
    pub fn load(plugins: &bench_runner::plugins::Plugins) -> Self {
        let (manager, ours_manager) = load_manager_ours(&plugins.ours);
        let (manager_shared, ours_shared_manager) = load_manager_ours(&plugins.ours_shared);
        for (path, allocator) in [
            (&plugins.ours, PluginAllocator::Own),
            (&plugins.ours_shared, PluginAllocator::Host),
        ] {
            let library = PluginLibrary::open(path).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(library.allocator(), allocator, "{path:?}");
        }
        let loaded = Self {
            baseline: HostImpl,
            c_abi: CAbi::load(&plugins.c_abi),
            abi_stable: load_abi_stable(&plugins.abi_stable),
            stabby: Stabby::load(&plugins.stabby),
            ours: load_ours(&plugins.ours),
            ours_manager,
            manager,
            ours_inline_slot: OursInlineSlot::load(&plugins.ours),
            ours_shared: load_ours(&plugins.ours_shared),
            ours_shared_manager,
            manager_shared,
        };
        loaded.check();
        loaded
    }

    /// Asserts that every method of every approach returns the right value:
    /// each number measured afterwards is a real call into the library.
    pub fn check(&self) {
        let xs = xs();
        let baseline: &dyn HostBench = &self.baseline;
        assert_eq!(baseline.add(A, B), A + B);
        assert_eq!(baseline.greet(NAME), GREETING);
        assert_eq!(baseline.sum(&xs), SUM);

        assert_eq!(self.c_abi.add(A, B), A + B);
        assert_eq!(&*self.c_abi.greet(NAME), GREETING);
        assert_eq!(self.c_abi.greet_string(NAME), GREETING);
        assert_eq!(self.c_abi.sum(&xs), SUM);

        assert_eq!(self.abi_stable.add(A, B), A + B);
        assert_eq!(self.abi_stable.greet(RStr::from(NAME)), GREETING);
        assert_eq!(self.abi_stable.sum(RSlice::from_slice(&xs)), SUM);

        assert_eq!(self.stabby.object.add(A, B), A + B);
        assert_eq!(self.stabby.object.greet(NAME.into()).as_str(), GREETING);
        assert_eq!(self.stabby.object.sum(xs.as_slice().into()), SUM);

        assert_eq!(self.ours.add(A, B), A + B);
        assert_eq!(self.ours.greet(NAME), GREETING);
        assert_eq!(self.ours.sum(&xs), SUM);
        assert_eq!(self.ours.try_add(A, B).ok(), Some(A + B));
        assert_eq!(self.ours.try_greet(NAME).ok().as_deref(), Some(GREETING));
        assert_eq!(self.ours.try_sum(&xs).ok(), Some(SUM));

        assert_eq!(self.manager.loaded().len(), 1, "the manager holds ours");
        assert_eq!(self.ours_manager.add(A, B), A + B);
        assert_eq!(self.ours_manager.greet(NAME), GREETING);
        assert_eq!(self.ours_manager.sum(&xs), SUM);

        assert_eq!(self.ours_inline_slot.add(A, B), A + B);
        assert_eq!(self.ours_inline_slot.greet(NAME), GREETING);
        assert_eq!(self.ours_inline_slot.sum(&xs), SUM);

        assert_eq!(
            self.manager_shared.loaded().len(),
            1,
            "the manager holds ours, shared"
        );
        for shared in [&self.ours_shared, &self.ours_shared_manager] {
            assert_eq!(shared.add(A, B), A + B);
            assert_eq!(shared.greet(NAME), GREETING);
            assert_eq!(shared.sum(&xs), SUM);
        }
    }
}
