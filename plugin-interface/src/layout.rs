//! Structural layouts of the types that cross the boundary, and their
//! fingerprints.
//!
//! Every layout is a `const`, computed by the compiler from the types as
//! they are after `#[cfg]` (sizes, alignments and field offsets come from
//! `size_of`, `align_of` and `offset_of!`), and every method descriptor
//! carries a 64-bit fingerprint of its layouts. A host compares
//! fingerprints first and walks the layouts only when they differ, to say
//! where.

use core::fmt;

use crate::repr::{RSlice, RStr};

/// What kind of type a [`TypeLayout`] describes.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutKind {
    /// A primitive: integer, float, bool.
    Primitive = 1,
    /// A `#[repr(C)]` struct deriving `PluginData`, with its fields.
    Struct = 2,
    /// A framework type (`RStr`, `RString`, `RVec<T>`, ...), with its type
    /// arguments.
    Framework = 3,
    /// An enum deriving `PluginData`, as it crosses: a `u32` tag and a
    /// `#[repr(C)]` union of its variants, each with its fields.
    Enum = 4,
    /// A `#[plugin_trait]` object (`Box<dyn Trait>`, `&dyn Trait`, a
    /// closure), named by its trait.
    Object = 6,
    /// A type inside itself (`Box<Tree>` in `Tree`), named only: the
    /// enclosing layout describes it.
    Recursive = 7,
    /// A type borrowed in the layout the compiler chose for it (`&Person`,
    /// `&[String]`): the same only under the same compiler, whose version
    /// is in `compiler`.
    Native = 5,
}

/// The structural layout of one type.
#[repr(C)]
pub struct TypeLayout {
    /// The type's name, e.g. `u64`, `RString`, `Point`.
    pub name: RStr<'static>,
    /// Size in bytes.
    pub size: u32,
    /// Alignment in bytes.
    pub align: u32,
    /// [`LayoutKind`] as its `u8` value.
    pub kind: u8,
    /// Fields of a struct, in declaration order.
    pub fields: RSlice<'static, FieldLayout>,
    /// Type arguments of a framework type.
    pub args: RSlice<'static, &'static TypeLayout>,
    /// Variants of an enum, in declaration order; each variant's field
    /// offsets are within the union that holds the variants.
    pub variants: RSlice<'static, VariantLayout>,
    /// `rustc --version` for a layout the compiler chose
    /// ([`LayoutKind::Native`]); empty for every fixed layout.
    pub compiler: RStr<'static>,
}

/// One variant of an enum layout.
#[repr(C)]
pub struct VariantLayout {
    /// The variant's name.
    pub name: RStr<'static>,
    /// Its fields (`0`, `1`, ... for tuple variants), at offsets within the
    /// payload union.
    pub fields: RSlice<'static, FieldLayout>,
}

/// One field of a struct layout.
#[repr(C)]
pub struct FieldLayout {
    /// The field's name (`0`, `1`, ... for tuple structs).
    pub name: RStr<'static>,
    /// Offset in bytes.
    pub offset: u32,
    /// The field's type.
    pub ty: &'static TypeLayout,
}

/// One argument of a method: its name and the layout that crosses.
#[repr(C)]
pub struct ArgLayout {
    /// The argument's name in the trait.
    pub name: RStr<'static>,
    /// The layout of what crosses.
    pub ty: &'static TypeLayout,
}

impl TypeLayout {
    /// A primitive's layout.
    pub const fn primitive<T>(name: &'static str) -> Self {
        Self::new::<T>(name, LayoutKind::Primitive, &[], &[])
    }

    /// A struct's layout.
    pub const fn structure<T>(name: &'static str, fields: &'static [FieldLayout]) -> Self {
        Self::new::<T>(name, LayoutKind::Struct, fields, &[])
    }

    /// A framework type's layout with its type arguments.
    pub const fn framework<T>(name: &'static str, args: &'static [&'static TypeLayout]) -> Self {
        Self::new::<T>(name, LayoutKind::Framework, &[], args)
    }

    /// An enum's layout as it crosses (`T` is its `#[repr(C)]` form).
    pub const fn enumeration<T>(name: &'static str, variants: &'static [VariantLayout]) -> Self {
        let mut layout = Self::new::<T>(name, LayoutKind::Enum, &[], &[]);
        layout.variants = RSlice::from_slice(variants);
        layout
    }

    /// The layout of a type inside itself, named only: the enclosing
    /// layout of the same type describes it.
    pub const fn recursive(name: &'static str) -> Self {
        Self::new::<()>(name, LayoutKind::Recursive, &[], &[])
    }

    /// An object's layout (`T` is its boundary form), named by its trait.
    pub const fn object<T>(name: &'static str) -> Self {
        Self::new::<T>(name, LayoutKind::Object, &[], &[])
    }

    /// The layout the compiler chose for `T`, borrowed across as it is:
    /// its fields (with offsets) for a struct, its variants for an enum, its
    /// type arguments for a standard type.
    pub const fn native<T>(
        name: &'static str,
        fields: &'static [FieldLayout],
        args: &'static [&'static TypeLayout],
        variants: &'static [VariantLayout],
    ) -> Self {
        let mut layout = Self::new::<T>(name, LayoutKind::Native, fields, args);
        layout.variants = RSlice::from_slice(variants);
        layout.compiler = RStr::new(crate::abi::RUSTC_VERSION);
        layout
    }

    const fn new<T>(
        name: &'static str,
        kind: LayoutKind,
        fields: &'static [FieldLayout],
        args: &'static [&'static TypeLayout],
    ) -> Self {
        Self {
            name: RStr::new(name),
            size: core::mem::size_of::<T>() as u32,
            align: core::mem::align_of::<T>() as u32,
            kind: kind as u8,
            fields: RSlice::from_slice(fields),
            args: RSlice::from_slice(args),
            variants: RSlice::from_slice(&[]),
            compiler: RStr::new(""),
        }
    }

    /// Whether an object (kind [`LayoutKind::Object`]) is part of this
    /// layout, anywhere inside it.
    pub const fn contains_object(&self) -> bool {
        if self.kind == LayoutKind::Object as u8 {
            return true;
        }
        let fields = items(&self.fields);
        let mut index = 0;
        while index < fields.len() {
            if fields[index].ty.contains_object() {
                return true;
            }
            index += 1;
        }
        let args = items(&self.args);
        let mut index = 0;
        while index < args.len() {
            if args[index].contains_object() {
                return true;
            }
            index += 1;
        }
        let variants = items(&self.variants);
        let mut index = 0;
        while index < variants.len() {
            let fields = items(&variants[index].fields);
            let mut field = 0;
            while field < fields.len() {
                if fields[field].ty.contains_object() {
                    return true;
                }
                field += 1;
            }
            index += 1;
        }
        false
    }

    /// The type as a reader knows it: `RVec<RString>`, `Point`.
    pub fn display_name(&self) -> String {
        let name = String::from_utf8_lossy(bytes(self.name)).into_owned();
        if self.args.is_empty() {
            return name;
        }
        let args: Vec<String> = self.args.iter().map(|arg| arg.display_name()).collect();
        format!("{name}<{}>", args.join(", "))
    }
}

impl fmt::Debug for TypeLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (size {}, align {})",
            self.display_name(),
            self.size,
            self.align
        )
    }
}

impl fmt::Debug for FieldLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {:?} at {}",
            String::from_utf8_lossy(bytes(self.name)),
            self.ty,
            self.offset
        )
    }
}

impl fmt::Debug for VariantLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VariantLayout")
            .field("name", &String::from_utf8_lossy(bytes(self.name)))
            .field("fields", &items(&self.fields))
            .finish()
    }
}

impl fmt::Debug for ArgLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {:?}",
            String::from_utf8_lossy(bytes(self.name)),
            self.ty
        )
    }
}

/// The bytes of an `RStr`, in a const context too.
pub(crate) const fn bytes(text: RStr<'_>) -> &[u8] {
    // SAFETY: an `RStr` points to `len` initialised bytes.
    unsafe { core::slice::from_raw_parts(text.as_ptr(), text.len()) }
}

/// The items of an `RSlice`, in a const context too.
pub(crate) const fn items<'a, T>(slice: &RSlice<'a, T>) -> &'a [T] {
    // SAFETY: an `RSlice` points to `len` initialised items living for `'a`.
    unsafe { core::slice::from_raw_parts(slice.as_ptr(), slice.len()) }
}

/// FNV-1a, 64 bits: a fingerprint, not a defence against forgery.
#[derive(Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Fnv {
    pub(crate) const fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    pub(crate) const fn byte(self, byte: u8) -> Self {
        Self((self.0 ^ byte as u64).wrapping_mul(0x0000_0100_0000_01b3))
    }

    pub(crate) const fn u32(self, value: u32) -> Self {
        let bytes = value.to_le_bytes();
        self.byte(bytes[0])
            .byte(bytes[1])
            .byte(bytes[2])
            .byte(bytes[3])
    }

    pub(crate) const fn str(self, text: RStr<'_>) -> Self {
        let bytes = bytes(text);
        let mut hash = self.u32(bytes.len() as u32);
        let mut index = 0;
        while index < bytes.len() {
            hash = hash.byte(bytes[index]);
            index += 1;
        }
        hash
    }

    pub(crate) const fn layout(self, layout: &TypeLayout) -> Self {
        let mut hash = self
            .str(layout.name)
            .u32(layout.size)
            .u32(layout.align)
            .byte(layout.kind)
            .u32(layout.fields.len() as u32);
        let fields = items(&layout.fields);
        let mut index = 0;
        while index < fields.len() {
            hash = hash
                .str(fields[index].name)
                .u32(fields[index].offset)
                .layout(fields[index].ty);
            index += 1;
        }
        let args = items(&layout.args);
        hash = hash.u32(args.len() as u32);
        let mut index = 0;
        while index < args.len() {
            hash = hash.layout(args[index]);
            index += 1;
        }
        let variants = items(&layout.variants);
        hash = hash.u32(variants.len() as u32);
        let mut index = 0;
        while index < variants.len() {
            hash = hash.str(variants[index].name);
            let fields = items(&variants[index].fields);
            hash = hash.u32(fields.len() as u32);
            let mut field = 0;
            while field < fields.len() {
                hash = hash
                    .str(fields[field].name)
                    .u32(fields[field].offset)
                    .layout(fields[field].ty);
                field += 1;
            }
            index += 1;
        }
        hash.str(layout.compiler)
    }

    pub(crate) const fn finish(self) -> u64 {
        self.0
    }
}

/// How `()` crosses inside `Option`, `Result` and tuples: one byte, so
/// `Result<(), E>` has a C layout.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Unit(u8);

impl Unit {
    /// The only value.
    pub const VALUE: Self = Self(0);
}

/// Layouts of the primitives and framework types the macros emit.
#[doc(hidden)]
pub mod known {
    use crate::repr::{RStr, RString};

    use super::TypeLayout;
    use super::Unit;

    macro_rules! primitives {
        ($($name:ident: $ty:ty),* $(,)?) => {$(
            #[doc = concat!("`", stringify!($ty), "`")]
            pub const $name: &TypeLayout = &TypeLayout::primitive::<$ty>(stringify!($ty));
        )*};
    }

    primitives!(
        U8: u8, U16: u16, U32: u32, U64: u64, USIZE: usize,
        I8: i8, I16: i16, I32: i32, I64: i64, ISIZE: isize,
        F32: f32, F64: f64, BOOL: bool,
    );

    /// `Unit`, how `()` crosses inside `Option` and `Result`.
    pub const UNIT: &TypeLayout = &TypeLayout::framework::<Unit>("Unit", &[]);
    /// `RStr`.
    pub const RSTR: &TypeLayout = &TypeLayout::framework::<RStr<'static>>("RStr", &[]);
    /// `RString`.
    pub const RSTRING: &TypeLayout = &TypeLayout::framework::<RString>("RString", &[]);
    /// No return value.
    pub const NOTHING: &TypeLayout = &TypeLayout::framework::<()>("()", &[]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_layouts_apart() {
        let of = |layout: &TypeLayout| Fnv::new().layout(layout).finish();
        assert_ne!(of(known::U64), of(known::I64));
        assert_ne!(of(known::U32), of(known::U64));
        assert_ne!(of(known::RSTR), of(known::RSTRING));
        assert_eq!(of(known::U64), of(&TypeLayout::primitive::<u64>("u64")));
    }

    #[test]
    fn display_names_show_type_arguments() {
        static INNER: [&TypeLayout; 1] = [known::RSTRING];
        let vec = TypeLayout::framework::<crate::repr::RVec<u8>>("RVec", &INNER);
        assert_eq!(vec.display_name(), "RVec<RString>");
        assert_eq!(format!("{:?}", known::U8), "u8 (size 1, align 1)");
    }
}
