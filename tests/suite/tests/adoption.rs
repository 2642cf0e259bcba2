//! A library built with `#[plugin_aggregates(..., allocator = host)]`
//! allocates through this test binary's global allocator, and the strings
//! and vectors it returns are adopted, not copied. This binary's allocator
//! counts, per thread, what happens during one call.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use greeter_interface::Greeter;
use plugin_interface::{PluginAllocator, PluginLibrary};
use plugin_tests::plugins;
use roundtrip_interface::RoundTrip;

/// The system allocator, counting this thread's allocations and frees and
/// remembering the last block handed out.
struct Counting;

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
    static FREED: Cell<usize> = const { Cell::new(0) };
    static LAST: Cell<usize> = const { Cell::new(0) };
}

fn allocated(block: *mut u8) -> *mut u8 {
    // `try_with`: a thread's allocations during its own teardown count
    // nowhere.
    let _ = ALLOCATED.try_with(|count| count.set(count.get() + 1));
    let _ = LAST.try_with(|last| last.set(block as usize));
    block
}

// SAFETY: every method forwards to `System` with the caller's arguments.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded.
        allocated(unsafe { System.alloc(layout) })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = FREED.try_with(|count| count.set(count.get() + 1));
        // SAFETY: forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded.
        allocated(unsafe { System.realloc(ptr, layout, new_size) })
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// What this thread allocated and freed while `f` ran, the last block
/// allocated, and `f`'s result.
fn counted<R>(f: impl FnOnce() -> R) -> (usize, usize, usize, R) {
    let (allocated, freed) = (ALLOCATED.with(Cell::get), FREED.with(Cell::get));
    let result = f();
    (
        ALLOCATED.with(Cell::get) - allocated,
        FREED.with(Cell::get) - freed,
        LAST.with(Cell::get),
        result,
    )
}

#[test]
fn returned_strings_and_vectors_are_adopted_from_a_library_on_the_host_allocator() {
    let library = PluginLibrary::open(plugins().path("roundtrip-shared-plugin")).unwrap();
    assert_eq!(library.allocator(), PluginAllocator::Host);
    let echo = library.instantiate::<dyn RoundTrip>().unwrap().remove(0);
    // A first call registers the thread with the unload gate.
    assert_eq!(echo.echo_str("warm"), "warm");

    // The plugin's `to_owned` is this binary's allocation, and the host
    // keeps that very block: no second allocation, nothing freed.
    let (allocated, freed, last, text) = counted(|| echo.echo_str("adopted"));
    assert_eq!(text, "adopted");
    assert_eq!((allocated, freed), (1, 0), "one allocation, by the plugin");
    assert_eq!(text.as_ptr() as usize, last, "the plugin's block itself");

    let (allocated, freed, last, bytes) = counted(|| echo.echo_bytes(&[1, 2, 3]));
    assert_eq!(bytes, [1, 2, 3]);
    assert_eq!((allocated, freed), (1, 0));
    assert_eq!(bytes.as_ptr() as usize, last);
}

#[test]
fn a_vector_of_strings_crosses_both_ways_in_its_own_buffers() {
    let library = PluginLibrary::open(plugins().path("roundtrip-shared-plugin")).unwrap();
    let echo = library.instantiate::<dyn RoundTrip>().unwrap().remove(0);
    assert_eq!(echo.reverse(vec!["warm".to_owned()]), ["warm"]);

    // Strings and their vector go to the plugin and come back without a
    // copy: each `String` is lowered where it was and lifted back there.
    let items = vec!["first".to_owned(), "second".to_owned()];
    let (buffer, first) = (items.as_ptr() as usize, items[0].as_ptr() as usize);
    let (allocated, freed, _, reversed) = counted(|| echo.reverse(items));
    assert_eq!(reversed, ["second", "first"]);
    assert_eq!((allocated, freed), (0, 0), "nothing allocated or freed");
    assert_eq!(reversed.as_ptr() as usize, buffer, "the same vector");
    assert_eq!(reversed[1].as_ptr() as usize, first, "the same strings");
}

#[test]
fn a_library_on_its_own_allocator_is_copied_from() {
    let library = PluginLibrary::open(plugins().path("roundtrip-plugin")).unwrap();
    assert_eq!(library.allocator(), PluginAllocator::Own);
    let echo = library.instantiate::<dyn RoundTrip>().unwrap().remove(0);
    assert_eq!(echo.echo_str("warm"), "warm");

    // The plugin allocates with its own allocator, unseen here, and copies
    // what it returns into this binary's memory, which the host adopts.
    let (allocated, freed, last, text) = counted(|| echo.echo_str("copied"));
    assert_eq!(text, "copied");
    assert_eq!(
        (allocated, freed),
        (1, 0),
        "one allocation, the copy in the host's memory"
    );
    assert_eq!(text.as_ptr() as usize, last);
}

#[test]
fn adopted_strings_outlive_their_library() {
    let library = PluginLibrary::open(plugins().path("roundtrip-shared-plugin")).unwrap();
    let greeter = library.instantiate::<dyn Greeter>().unwrap().remove(0);
    let greeting = greeter.greet("world");
    drop(greeter);
    library.close().unwrap();
    assert_eq!(greeting, "Hi, world.");
    let (_, freed, _, ()) = counted(|| drop(greeting));
    assert_eq!(freed, 1, "freed by this binary's allocator");
}
