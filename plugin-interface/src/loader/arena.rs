//! Host-memory copies of a canary's descriptors, read from a file's bytes.
//!
//! The descriptors a plugin library exports hold `'static` references to
//! each other. A copy read from the file needs the same shape, so that the
//! same comparison code serves both; the arena owns every piece, and the
//! references between pieces live exactly as long as the arena.

use crate::repr::{RSlice, RStr};

use crate::abi::{MethodDescriptor, TraitDescriptor};
use crate::layout::{ArgLayout, FieldLayout, TypeLayout, VariantLayout};

/// Owns every piece of a copied descriptor graph. The `'static`
/// references it hands out point into allocations it frees only when
/// dropped, so they must never outlive it: only the owner of the arena
/// holds them.
#[derive(Debug, Default)]
pub(crate) struct Arena {
    texts: Vec<*mut str>,
    layouts: Vec<*mut TypeLayout>,
    layout_lists: Vec<*mut [&'static TypeLayout]>,
    fields: Vec<*mut [FieldLayout]>,
    variants: Vec<*mut [VariantLayout]>,
    args: Vec<*mut [ArgLayout]>,
    methods: Vec<*mut [MethodDescriptor]>,
    traits: Vec<*mut TraitDescriptor>,
    trait_lists: Vec<*mut [&'static TraitDescriptor]>,
}

// SAFETY: the arena owns immutable data that is only read through shared
// references; every stored type is itself `Sync` (statics of that type
// exist), so sending or sharing the owner is sound.
unsafe impl Send for Arena {}
// SAFETY: as above.
unsafe impl Sync for Arena {}

/// Moves `value` to the heap and returns a reference to it, recording the
/// allocation in `owned` to be freed when the arena drops.
fn keep<T: ?Sized>(owned: &mut Vec<*mut T>, value: Box<T>) -> &'static T {
    let raw = Box::into_raw(value);
    owned.push(raw);
    // SAFETY: `raw` is a live allocation that nothing frees before the
    // arena drops; the arena's owner never lets the reference outlive it.
    unsafe { &*raw }
}

impl Arena {
    pub(crate) fn text(&mut self, text: &str) -> RStr<'static> {
        RStr::new(keep(&mut self.texts, Box::from(text)))
    }

    pub(crate) fn layout(&mut self, layout: TypeLayout) -> &'static TypeLayout {
        keep(&mut self.layouts, Box::new(layout))
    }

    pub(crate) fn layout_list(
        &mut self,
        list: Vec<&'static TypeLayout>,
    ) -> RSlice<'static, &'static TypeLayout> {
        RSlice::from_slice(keep(&mut self.layout_lists, list.into_boxed_slice()))
    }

    pub(crate) fn fields(&mut self, list: Vec<FieldLayout>) -> RSlice<'static, FieldLayout> {
        RSlice::from_slice(keep(&mut self.fields, list.into_boxed_slice()))
    }

    pub(crate) fn variants(&mut self, list: Vec<VariantLayout>) -> RSlice<'static, VariantLayout> {
        RSlice::from_slice(keep(&mut self.variants, list.into_boxed_slice()))
    }

    pub(crate) fn args(&mut self, list: Vec<ArgLayout>) -> RSlice<'static, ArgLayout> {
        RSlice::from_slice(keep(&mut self.args, list.into_boxed_slice()))
    }

    pub(crate) fn methods(
        &mut self,
        list: Vec<MethodDescriptor>,
    ) -> RSlice<'static, MethodDescriptor> {
        RSlice::from_slice(keep(&mut self.methods, list.into_boxed_slice()))
    }

    pub(crate) fn trait_descriptor(
        &mut self,
        descriptor: TraitDescriptor,
    ) -> &'static TraitDescriptor {
        keep(&mut self.traits, Box::new(descriptor))
    }

    pub(crate) fn trait_list(
        &mut self,
        list: Vec<&'static TraitDescriptor>,
    ) -> RSlice<'static, &'static TraitDescriptor> {
        RSlice::from_slice(keep(&mut self.trait_lists, list.into_boxed_slice()))
    }
}

/// Frees every allocation recorded in `owned`.
fn free<T: ?Sized>(owned: &mut Vec<*mut T>) {
    for raw in owned.drain(..) {
        // SAFETY: each pointer came from `Box::into_raw` in `keep` and is
        // freed once, here; the references to it die with the arena.
        drop(unsafe { Box::from_raw(raw) });
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        free(&mut self.trait_lists);
        free(&mut self.traits);
        free(&mut self.methods);
        free(&mut self.args);
        free(&mut self.variants);
        free(&mut self.fields);
        free(&mut self.layout_lists);
        free(&mut self.layouts);
        free(&mut self.texts);
    }
}
