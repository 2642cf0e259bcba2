//! Reading a library's canary from the file's bytes, before anything of the
//! file is mapped or run: the header, every trait and method descriptor,
//! every layout (fields, type arguments and variants, recursively) and the
//! implementation names, which the exported maker symbols carry.
//!
//! Structs are read at `offset_of!` / `size_of` of the host's own
//! definitions, so the reader follows them. Every pointer is the value its
//! relocation gives; every length and count is bounded before it is used,
//! and so are the depth and the total size of the layout graph. The result
//! is a copy in host memory with the shape of the exported statics.

use core::mem::{offset_of, size_of};
use std::collections::BTreeMap;
use std::path::Path;

use crate::repr::{RSlice, RStr};

use crate::abi::{
    ABI_EPOCH, CANARY_MAGIC, CANARY_VERSION, FRAMEWORK_VERSION, MethodDescriptor, PanicStrategy,
    PluginCanary, TARGET, TraitDescriptor,
};
use crate::error::PluginError;
use crate::layout::{ArgLayout, FieldLayout, TypeLayout, VariantLayout};
use crate::loader::arena::Arena;
use crate::loader::elf::Image;
use crate::loader::library::EntryInfo;
use crate::loader::options::LoadOptions;

/// Layouts nest at most this deep.
const MAX_DEPTH: usize = 32;
/// At most this many descriptors, layouts, fields, variants and arguments
/// in all.
const MAX_NODES: usize = 1 << 16;
/// One text is at most this long.
const MAX_TEXT: u64 = 1 << 16;
/// All texts together are at most this long.
const MAX_TEXT_TOTAL: usize = 8 << 20;
/// A refusal's reason is at most this long.
const MAX_REASON: usize = 220;
/// An excerpt of bad bytes shows at most this many.
const MAX_EXCERPT: usize = 24;

/// Where the pointer and the length of an `RStr` or `RSlice` are.
const PTR: u64 = 0;
const LEN: u64 = size_of::<usize>() as u64;
const _: () = assert!(size_of::<RStr<'static>>() == 2 * size_of::<usize>());
const _: () = assert!(size_of::<RSlice<'static, u8>>() == 2 * size_of::<usize>());

/// A canary read from a file: a copy in host memory, with the
/// implementation names of each trait.
#[derive(Debug)]
pub(crate) struct CheckedCanary {
    canary: PluginCanary,
    entries: BTreeMap<String, Vec<EntryInfo>>,
    /// Where the canary symbol is from the start of the image's mapping.
    address: u64,
    /// Owns everything `canary` refers to; dropped after it.
    _arena: Arena,
}

impl CheckedCanary {
    /// The copy, shaped like the exported static.
    pub(crate) fn canary(&self) -> &PluginCanary {
        &self.canary
    }

    /// The canary symbol's offset from the start of the image's mapping,
    /// as `dladdr` measures it.
    pub(crate) fn address(&self) -> u64 {
        self.address
    }

    /// Every implementation as `Trait::Entry`, sorted.
    pub(crate) fn entry_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .entries
            .values()
            .flatten()
            .map(|info| format!("{}::{}", info.trait_name, info.entry))
            .collect();
        names.sort();
        names
    }

    /// The implementations of `trait_name`, by name.
    pub(crate) fn entries(&self, trait_name: &str) -> Option<&[EntryInfo]> {
        self.entries.get(trait_name).map(Vec::as_slice)
    }
}

/// Reads and checks the canary of `image`, the bytes of `path`.
pub(crate) fn read(
    path: &Path,
    image: &Image<'_>,
    options: &LoadOptions,
) -> Result<CheckedCanary, PluginError> {
    let library = || path.to_path_buf();
    let Some(symbol) = image.find(plugin_symbols::CANARY) else {
        return Err(match other_canary_version(image) {
            Some(found) => PluginError::CanaryVersion {
                library: library(),
                expected: CANARY_VERSION,
                found,
            },
            None => PluginError::NotAPlugin {
                library: library(),
                symbol: plugin_symbols::CANARY.to_owned(),
            },
        });
    };
    let corrupt = |reason: String| PluginError::CorruptCanary {
        library: library(),
        reason: bounded(reason),
    };
    let at = symbol.value;
    let magic = image.array::<8>(at).map_err(corrupt)?;
    if magic != CANARY_MAGIC {
        return Err(PluginError::BadMagic {
            library: library(),
            expected: CANARY_MAGIC.escape_ascii().to_string(),
            found: magic.escape_ascii().to_string(),
        });
    }
    let version = image
        .u32_at(at + offset_of!(PluginCanary, canary_version) as u64)
        .map_err(corrupt)?;
    if version != CANARY_VERSION {
        return Err(PluginError::CanaryVersion {
            library: library(),
            expected: CANARY_VERSION,
            found: version,
        });
    }
    if symbol.size < size_of::<PluginCanary>() as u64 {
        return Err(corrupt(format!(
            "the symbol has {} bytes, a canary {}",
            symbol.size,
            size_of::<PluginCanary>()
        )));
    }
    if at % align_of::<PluginCanary>() as u64 != 0 {
        return Err(corrupt(format!("at the misaligned address {at:#x}")));
    }
    let epoch = image
        .u32_at(at + offset_of!(PluginCanary, abi_epoch) as u64)
        .map_err(corrupt)?;
    if epoch != ABI_EPOCH {
        return Err(PluginError::AbiEpoch {
            library: library(),
            expected: ABI_EPOCH,
            found: epoch,
            plugin_framework: excerpt_text(
                image,
                at + offset_of!(PluginCanary, framework_version) as u64,
            ),
            host_framework: FRAMEWORK_VERSION.to_owned(),
        });
    }
    let mut walker = Walker {
        image,
        arena: Arena::default(),
        nodes: 0,
        text: 0,
    };
    let target = walker
        .text(at + offset_of!(PluginCanary, target) as u64)
        .map_err(|reason| corrupt(format!("target: {reason}")))?;
    if target.as_str() != TARGET {
        return Err(PluginError::TargetMismatch {
            library: library(),
            expected: TARGET.to_owned(),
            found: target.as_str().escape_debug().take(64).collect(),
        });
    }
    let panic_strategy = image
        .array::<1>(at + offset_of!(PluginCanary, panic_strategy) as u64)
        .map_err(corrupt)?[0];
    let panic = PanicStrategy::from_u8(panic_strategy);
    if panic != Some(PanicStrategy::Unwind) && !options.allow_panic_abort {
        return Err(PluginError::PanicStrategy {
            library: library(),
            strategy: panic.map_or_else(|| "unknown".to_owned(), |s| s.to_string()),
        });
    }
    let canary = walker.canary(at, target, panic_strategy).map_err(corrupt)?;
    let entries = entries(image, &canary);
    Ok(CheckedCanary {
        canary,
        entries,
        address: at - image.mapping_start().min(at),
        _arena: walker.arena,
    })
}

/// Reads descriptors into host memory, within the bounds above.
struct Walker<'i, 'a> {
    image: &'i Image<'a>,
    arena: Arena,
    nodes: usize,
    text: usize,
}

impl Walker<'_, '_> {
    fn canary(
        &mut self,
        at: u64,
        target: RStr<'static>,
        panic_strategy: u8,
    ) -> Result<PluginCanary, String> {
        let field = |offset: usize| at + offset as u64;
        let framework_version = self
            .text(field(offset_of!(PluginCanary, framework_version)))
            .map_err(|e| format!("framework version: {e}"))?;
        let rustc_version = self
            .text(field(offset_of!(PluginCanary, rustc_version)))
            .map_err(|e| format!("compiler version: {e}"))?;
        let (base, count) = self.slice(
            field(offset_of!(PluginCanary, traits)),
            size_of::<&TraitDescriptor>(),
        )?;
        let mut traits = Vec::with_capacity(count);
        for index in 0..count {
            let slot = base + (index * size_of::<&TraitDescriptor>()) as u64;
            let descriptor = self
                .trait_descriptor(slot)
                .map_err(|e| format!("trait {index}: {e}"))?;
            traits.push(self.arena.trait_descriptor(descriptor));
        }
        Ok(PluginCanary {
            magic: CANARY_MAGIC,
            canary_version: CANARY_VERSION,
            abi_epoch: ABI_EPOCH,
            framework_version,
            rustc_version,
            target,
            panic_strategy,
            traits: self.arena.trait_list(traits),
        })
    }

    /// The descriptor the pointer at `slot` points to.
    fn trait_descriptor(&mut self, slot: u64) -> Result<TraitDescriptor, String> {
        let at = self.image.pointer(slot)?;
        let field = |offset: usize| at + offset as u64;
        let name = self.text(field(offset_of!(TraitDescriptor, name)))?;
        let place = |what: &str| format!("`{}` {what}", excerpt(name.as_str().as_bytes()));
        let interface_crate = self
            .text(field(offset_of!(TraitDescriptor, interface_crate)))
            .map_err(|e| format!("{}: {e}", place("interface crate")))?;
        let interface_version = self
            .text(field(offset_of!(TraitDescriptor, interface_version)))
            .map_err(|e| format!("{}: {e}", place("interface version")))?;
        let vtable_size = self
            .image
            .u32_at(field(offset_of!(TraitDescriptor, vtable_size)))?;
        let method_count = self
            .image
            .u32_at(field(offset_of!(TraitDescriptor, method_count)))?;
        let send = self.boolean(field(offset_of!(TraitDescriptor, send)), "send")?;
        let sync = self.boolean(field(offset_of!(TraitDescriptor, sync)), "sync")?;
        let fingerprint = self
            .image
            .u64_at(field(offset_of!(TraitDescriptor, fingerprint)))?;
        let (base, count) = self.slice(
            field(offset_of!(TraitDescriptor, methods)),
            size_of::<MethodDescriptor>(),
        )?;
        if count != method_count as usize {
            return Err(format!(
                "{}: {method_count} methods, but {count} descriptors",
                place("vtable")
            ));
        }
        let mut methods = Vec::with_capacity(count);
        for index in 0..count {
            let method = self
                .method(base + (index * size_of::<MethodDescriptor>()) as u64)
                .map_err(|e| format!("{}: {e}", place(&format!("method {index}"))))?;
            methods.push(method);
        }
        Ok(TraitDescriptor {
            name,
            interface_crate,
            interface_version,
            vtable_size,
            method_count,
            send,
            sync,
            methods: self.arena.methods(methods),
            fingerprint,
        })
    }

    fn method(&mut self, at: u64) -> Result<MethodDescriptor, String> {
        let field = |offset: usize| at + offset as u64;
        let name = self.text(field(offset_of!(MethodDescriptor, name)))?;
        let signature = self.text(field(offset_of!(MethodDescriptor, signature)))?;
        let mutable = self.boolean(field(offset_of!(MethodDescriptor, mutable)), "mutable")?;
        let fingerprint = self
            .image
            .u64_at(field(offset_of!(MethodDescriptor, fingerprint)))?;
        let (base, count) = self.slice(
            field(offset_of!(MethodDescriptor, args)),
            size_of::<ArgLayout>(),
        )?;
        let mut args = Vec::with_capacity(count);
        for index in 0..count {
            let arg = base + (index * size_of::<ArgLayout>()) as u64;
            let arg = self
                .arg(arg)
                .map_err(|e| format!("argument {index}: {e}"))?;
            args.push(arg);
        }
        let ret = self
            .layout(field(offset_of!(MethodDescriptor, ret)), 0)
            .map_err(|e| format!("return type: {e}"))?;
        Ok(MethodDescriptor {
            name,
            signature,
            mutable,
            args: self.arena.args(args),
            ret,
            fingerprint,
        })
    }

    fn arg(&mut self, at: u64) -> Result<ArgLayout, String> {
        Ok(ArgLayout {
            name: self.text(at + offset_of!(ArgLayout, name) as u64)?,
            ty: self.layout(at + offset_of!(ArgLayout, ty) as u64, 0)?,
        })
    }

    /// The layout the pointer at `slot` points to, `depth` layouts deep.
    fn layout(&mut self, slot: u64, depth: usize) -> Result<&'static TypeLayout, String> {
        if depth == MAX_DEPTH {
            return Err(format!("layouts nested deeper than {MAX_DEPTH}"));
        }
        self.count(1)?;
        let at = self.image.pointer(slot)?;
        let field = |offset: usize| at + offset as u64;
        let name = self.text(field(offset_of!(TypeLayout, name)))?;
        let size = self.image.u32_at(field(offset_of!(TypeLayout, size)))?;
        let align = self.image.u32_at(field(offset_of!(TypeLayout, align)))?;
        let kind = self.image.array::<1>(field(offset_of!(TypeLayout, kind)))?[0];
        let compiler = self.text(field(offset_of!(TypeLayout, compiler)))?;
        let fields = self.fields(field(offset_of!(TypeLayout, fields)), depth)?;
        let (base, count) = self.slice(
            field(offset_of!(TypeLayout, args)),
            size_of::<&TypeLayout>(),
        )?;
        let mut args = Vec::with_capacity(count);
        for index in 0..count {
            let arg = self
                .layout(base + (index * size_of::<&TypeLayout>()) as u64, depth + 1)
                .map_err(|e| format!("type argument {index}: {e}"))?;
            args.push(arg);
        }
        let (base, count) = self.slice(
            field(offset_of!(TypeLayout, variants)),
            size_of::<VariantLayout>(),
        )?;
        let mut variants = Vec::with_capacity(count);
        for index in 0..count {
            let variant = base + (index * size_of::<VariantLayout>()) as u64;
            let variant = VariantLayout {
                name: self.text(variant + offset_of!(VariantLayout, name) as u64)?,
                fields: self.fields(variant + offset_of!(VariantLayout, fields) as u64, depth)?,
            };
            variants.push(variant);
        }
        let layout = TypeLayout {
            name,
            size,
            align,
            kind,
            fields,
            args: self.arena.layout_list(args),
            variants: self.arena.variants(variants),
            compiler,
        };
        Ok(self.arena.layout(layout))
    }

    /// The fields of the slice at `at`, in a layout `depth` deep.
    fn fields(&mut self, at: u64, depth: usize) -> Result<RSlice<'static, FieldLayout>, String> {
        let (base, count) = self.slice(at, size_of::<FieldLayout>())?;
        let mut fields = Vec::with_capacity(count);
        for index in 0..count {
            let field = base + (index * size_of::<FieldLayout>()) as u64;
            let layout = FieldLayout {
                name: self.text(field + offset_of!(FieldLayout, name) as u64)?,
                offset: self
                    .image
                    .u32_at(field + offset_of!(FieldLayout, offset) as u64)?,
                ty: self
                    .layout(field + offset_of!(FieldLayout, ty) as u64, depth + 1)
                    .map_err(|e| format!("field {index}: {e}"))?,
            };
            fields.push(layout);
        }
        Ok(self.arena.fields(fields))
    }

    /// The `RStr` at `at`, copied; it must be UTF-8.
    fn text(&mut self, at: u64) -> Result<RStr<'static>, String> {
        let length = self.image.u64_at(at + LEN)?;
        if length == 0 {
            return Ok(RStr::new(""));
        }
        if length > MAX_TEXT {
            return Err(format!("a text of {length} bytes, more than {MAX_TEXT}"));
        }
        self.text += length as usize;
        if self.text > MAX_TEXT_TOTAL {
            return Err(format!("texts of more than {MAX_TEXT_TOTAL} bytes in all"));
        }
        let bytes = self.image.bytes(self.image.pointer(at + PTR)?, length)?;
        let text = core::str::from_utf8(bytes)
            .map_err(|_| format!("a text that is not UTF-8: \"{}\"", excerpt(bytes)))?;
        Ok(self.arena.text(text))
    }

    /// The `RSlice` at `at` of elements of `stride` bytes: where its
    /// elements start and how many there are, all inside one segment.
    fn slice(&mut self, at: u64, stride: usize) -> Result<(u64, usize), String> {
        let length = self.image.u64_at(at + LEN)?;
        if length == 0 {
            return Ok((0, 0));
        }
        if length > (MAX_NODES - self.nodes) as u64 {
            return Err(format!(
                "a list of {length} items, more than the {MAX_NODES} allowed in all"
            ));
        }
        self.count(length as usize)?;
        let base = self.image.pointer(at + PTR)?;
        self.image.bytes(base, length * stride as u64)?;
        Ok((base, length as usize))
    }

    fn count(&mut self, nodes: usize) -> Result<(), String> {
        self.nodes += nodes;
        if self.nodes > MAX_NODES {
            return Err(format!(
                "more than {MAX_NODES} descriptors and layouts in all"
            ));
        }
        Ok(())
    }

    fn boolean(&self, at: u64, name: &str) -> Result<bool, String> {
        match self.image.array::<1>(at)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!("`{name}` is {other}, not a bool")),
        }
    }
}

/// Implementation names, from the exported makers
/// `plugin_register_<Trait>_<Type>_v1`: per trait of the canary, sorted.
/// A name fitting two traits goes to the longer trait name.
fn entries(image: &Image<'_>, canary: &PluginCanary) -> BTreeMap<String, Vec<EntryInfo>> {
    let traits: Vec<&str> = canary.traits.iter().map(|d| d.name.as_str()).collect();
    let mut entries: BTreeMap<String, Vec<EntryInfo>> = traits
        .iter()
        .map(|name| ((*name).to_owned(), Vec::new()))
        .collect();
    let suffix = format!("_v{}", plugin_symbols::SYMBOL_VERSION);
    for symbol in image.symbols() {
        if !symbol.defined || symbol.kind != STT_FUNC {
            continue;
        }
        let Some(rest) = symbol
            .name
            .strip_prefix(b"plugin_register_")
            .and_then(|rest| rest.strip_suffix(suffix.as_bytes()))
        else {
            continue;
        };
        let owner = traits
            .iter()
            .filter(|name| {
                rest.len() > name.len() + 1
                    && rest.starts_with(name.as_bytes())
                    && rest[name.len()] == b'_'
            })
            .max_by_key(|name| name.len());
        let Some(owner) = owner else { continue };
        if symbol.name == plugin_symbols::register_all(owner).as_bytes() {
            continue;
        }
        let Ok(entry) = core::str::from_utf8(&rest[owner.len() + 1..]) else {
            continue;
        };
        let list = entries.get_mut(*owner).expect("one list per trait");
        list.push(EntryInfo {
            trait_name: (*owner).to_owned(),
            entry: entry.to_owned(),
        });
    }
    for list in entries.values_mut() {
        list.sort_by(|a, b| a.entry.cmp(&b.entry));
        list.dedup();
    }
    entries
}

/// `STT_FUNC`.
const STT_FUNC: u8 = 2;

/// The version in the name of a canary symbol of another canary version
/// (`plugin_canary_v<N>`).
fn other_canary_version(image: &Image<'_>) -> Option<u32> {
    image
        .symbols()
        .filter(|symbol| symbol.defined)
        .find_map(|symbol| {
            core::str::from_utf8(
                symbol
                    .name
                    .strip_prefix(plugin_symbols::CANARY_PREFIX.as_bytes())?,
            )
            .ok()?
            .parse()
            .ok()
        })
}

/// The text at `at` for a message: escaped and short, `?` if unreadable.
fn excerpt_text(image: &Image<'_>, at: u64) -> String {
    let read = || -> Option<String> {
        let length = image.u64_at(at + LEN).ok()?.min(MAX_EXCERPT as u64 + 1);
        if length == 0 {
            return Some(String::new());
        }
        let bytes = image.bytes(image.pointer(at + PTR).ok()?, length).ok()?;
        Some(excerpt(bytes))
    };
    read().unwrap_or_else(|| "?".to_owned())
}

/// At most [`MAX_EXCERPT`] bytes, escaped, with `...` if there were more.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let mut shown = bytes[..bytes.len().min(MAX_EXCERPT)]
        .escape_ascii()
        .to_string();
    if bytes.len() > MAX_EXCERPT {
        shown.push_str("...");
    }
    shown
}

/// `reason`, cut to [`MAX_REASON`] characters.
fn bounded(mut reason: String) -> String {
    if reason.len() > MAX_REASON {
        let mut cut = MAX_REASON;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
        reason.push_str("...");
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rstr_is_pointer_then_length() {
        let text = RStr::new("abc");
        // SAFETY: an `RStr` is two words, checked above at compile time.
        let words: [usize; 2] = unsafe { core::mem::transmute(text) };
        assert_eq!(words[PTR as usize / 8], "abc".as_ptr() as usize);
        assert_eq!(words[LEN as usize / 8], 3);
    }

    #[test]
    fn excerpts_and_reasons_stay_short() {
        assert_eq!(excerpt(b"ab\xff\n"), "ab\\xff\\n");
        assert!(excerpt(&[0xff; 1000]).len() <= 4 * MAX_EXCERPT + 3);
        assert!(bounded("x".repeat(10_000)).len() <= MAX_REASON + 3);
    }
}
