//! The serialised path: every carried value as postcard bytes, and the
//! dispatch entry a library exports for each implementation
//! (`plugin_dispatch_<Trait>_<Type>_v1`), which decodes a method's
//! arguments, calls it inside `catch_unwind` and encodes its result.
//!
//! ```
//! use plugin_interface::{PluginData, wire};
//!
//! #[derive(Debug, PartialEq, PluginData)]
//! pub struct Point {
//!     x: i32,
//!     label: Option<String>,
//! }
//!
//! let point = Point { x: -3, label: Some("a".into()) };
//! let bytes = wire::encode(&point).unwrap();
//! assert_eq!(bytes, [5, 1, 1, b'a']); // zigzag varint, Some, length, bytes
//! assert_eq!(wire::decode::<Point>(&bytes).unwrap(), point);
//! ```

mod dispatch;
#[cfg(feature = "host")]
pub(crate) mod json;
#[cfg(all(test, feature = "host"))]
mod json_tests;
mod peer;
mod remote;
mod std_wire;

use core::fmt;
use core::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, EnumAccess, VariantAccess, Visitor};
use serde::ser::{Serialize, Serializer};

pub use dispatch::{
    ArgReader, DispatchEntry, DispatchError, DispatchSink, DispatchStatus, dispatch, encode_result,
    encode_str,
};
#[cfg(feature = "host")]
pub(crate) use peer::collect;
pub use peer::{Answer, Keep, LocalObject, ObjectDispatch, Peer, PeerTable, RemoteArgs, RemoteFn};
#[cfg(all(feature = "host", unix))]
pub(crate) use peer::{answer_sink, given};
pub(crate) use peer::{encode_given, encode_shared, given_arc, given_box, lent_object};
pub use remote::{Decode, Remote};
pub(crate) use remote::{decode_arc, decode_box};

/// How a carried value is written to and read from the serialised path.
/// Every [`PluginData`](crate::PluginData) type implements it (it is a
/// supertrait): the standard types here, derived types through
/// `#[derive(PluginData)]`, so a type needs no serde derive of its own.
/// Objects (`Box<dyn Trait>`, `Arc<dyn Trait>`) cross whole, as arguments
/// and results, by id (see [`Peer`]); inside another value they refuse
/// both ways.
///
/// The encoding is serde's data model of the value, written by postcard:
/// structs and tuples as their fields in order, enums as a varint variant
/// index and the variant's fields, sequences and maps with a varint length.
pub trait Wire: Sized {
    /// Writes the value through `serializer`.
    fn wire_encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;

    /// Reads a value through `deserializer`.
    fn wire_decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;
}

/// A borrowed [`Wire`] value as a serde `Serialize`.
#[derive(Debug)]
pub struct Ser<'a, T>(pub &'a T);

impl<T: Wire> Serialize for Ser<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.wire_encode(serializer)
    }
}

/// A slice of [`Wire`] values as a serde sequence, encoded as a `Vec` of
/// them is.
#[derive(Debug)]
pub struct SerSlice<'a, T>(pub &'a [T]);

impl<T: Wire> Serialize for SerSlice<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(Ser))
    }
}

/// Appends the postcard encoding of `value` to `out`. A value a
/// serialiser refuses (an object, which the serialised path does not
/// carry) panics with the reason.
pub(crate) fn append<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    let bytes = postcard::to_extend(value, core::mem::take(out))
        .unwrap_or_else(|error| panic!("an argument does not encode: {error}"));
    *out = bytes;
}

/// The value encoded in all of `bytes`.
pub(crate) fn decode_all<T: Wire>(bytes: &[u8]) -> Result<T, String> {
    match postcard::take_from_bytes::<De<T>>(bytes) {
        Ok((De(value), [])) => Ok(value),
        Ok((_, rest)) => Err(format!("{} bytes left over after the value", rest.len())),
        Err(error) => Err(error.to_string()),
    }
}

/// A [`Wire`] value as a serde `Deserialize`.
#[derive(Debug)]
pub struct De<T>(pub T);

impl<'de, T: Wire> Deserialize<'de> for De<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::wire_decode(deserializer).map(De)
    }
}

/// Why bytes did not become a value, or a value did not become bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WireError(String);

impl WireError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// The value as postcard bytes.
pub fn encode<T: Wire>(value: &T) -> Result<Vec<u8>, WireError> {
    postcard::to_allocvec(&Ser(value)).map_err(|error| WireError::new(error.to_string()))
}

/// The value `bytes` hold, all of them.
pub fn decode<T: Wire>(bytes: &[u8]) -> Result<T, WireError> {
    let (De(value), rest) = postcard::take_from_bytes::<De<T>>(bytes)
        .map_err(|error| WireError::new(error.to_string()))?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(WireError::new(format!(
            "{} bytes left over after the value",
            rest.len()
        )))
    }
}

/// An enum deriving `PluginData`, read variant by variant.
#[doc(hidden)]
pub trait WireEnum: Sized {
    /// The enum's name.
    const NAME: &'static str;
    /// Its variants' names, in declaration order.
    const VARIANTS: &'static [&'static str];

    /// Reads the variant at `index`.
    fn wire_variant<'de, A: VariantAccess<'de>>(index: u32, access: A) -> Result<Self, A::Error>;
}

/// Reads an enum deriving `PluginData`: its variant index, then that
/// variant's fields.
#[doc(hidden)]
pub fn decode_enum<'de, T: WireEnum, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
    struct EnumVisitor<T>(PhantomData<T>);

    impl<'de, T: WireEnum> Visitor<'de> for EnumVisitor<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "enum {}", T::NAME)
        }

        fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<T, A::Error> {
            let (index, access): (u32, _) = data.variant()?;
            T::wire_variant(index, access)
        }
    }

    deserializer.deserialize_enum(T::NAME, T::VARIANTS, EnumVisitor(PhantomData))
}

/// The error for a variant index an enum does not have.
#[doc(hidden)]
pub fn unknown_variant<E: de::Error>(name: &str, index: u32, count: usize) -> E {
    E::custom(format!(
        "{name}: variant index {index}, but it has {count} variants"
    ))
}

/// The error of an object inside another value on the serialised path,
/// when encoding: objects cross whole, as arguments and results.
#[doc(hidden)]
pub fn refuse_encode<S: Serializer>(what: &str) -> Result<S::Ok, S::Error> {
    Err(serde::ser::Error::custom(format!(
        "{what} inside another value does not cross to a worker process: pass or return the object itself"
    )))
}

/// The error of an object inside another value on the serialised path,
/// when decoding.
#[doc(hidden)]
pub fn refuse_decode<'de, D: Deserializer<'de>, T>(what: &str) -> Result<T, D::Error> {
    Err(de::Error::custom(format!(
        "{what} inside another value does not cross to a worker process: pass or return the object itself"
    )))
}
