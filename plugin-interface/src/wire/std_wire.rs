//! [`Wire`] for the standard types that cross: serde's own encoding for
//! leaves, and each container through [`Ser`] / [`De`] of its items.

use core::fmt;
use core::marker::PhantomData;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::Hash;
use std::sync::Arc;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeTuple, Serializer};

use super::{De, Ser, Wire, refuse_decode, refuse_encode};
use crate::carry::ObjectInterface;

macro_rules! leaves {
    ($($ty:ty),*) => {$(
        impl Wire for $ty {
            fn wire_encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serde::Serialize::serialize(self, serializer)
            }

            fn wire_decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Deserialize::deserialize(deserializer)
            }
        }
    )*};
}

leaves!(
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    bool,
    char,
    String,
    ()
);

/// Collects a sequence of `T` into any collection.
struct SeqVisitor<C, T>(PhantomData<(C, T)>);

impl<'de, C: Default + Extend<T>, T: Wire> Visitor<'de> for SeqVisitor<C, T> {
    type Value = C;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<C, A::Error> {
        let mut out = C::default();
        while let Some(De(item)) = seq.next_element::<De<T>>()? {
            out.extend(Some(item));
        }
        Ok(out)
    }
}

/// Collects a map of `K` to `V` into any map.
struct MapVisitor<M, K, V>(PhantomData<(M, K, V)>);

impl<'de, M: Default + Extend<(K, V)>, K: Wire, V: Wire> Visitor<'de> for MapVisitor<M, K, V> {
    type Value = M;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<M, A::Error> {
        let mut out = M::default();
        while let Some((De(key), De(value))) = map.next_entry::<De<K>, De<V>>()? {
            out.extend(Some((key, value)));
        }
        Ok(out)
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn wire_encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(Ser))
    }

    fn wire_decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(SeqVisitor::<Self, T>(PhantomData))
    }
}

impl<T: Wire> Wire for Option<T> {
    fn wire_encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Some(value) => serializer.serialize_some(&Ser(value)),
            None => serializer.serialize_none(),
        }
    }

    fn wire_decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<De<T>>::deserialize(deserializer).map(|value| value.map(|De(value)| value))
    }
}

impl<T: Wire, E: Wire> Wire for Result<T, E> {
    fn wire_encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Ok(value) => serializer.serialize_newtype_variant("Result", 0, "Ok", &Ser(value)),
            Err(error) => serializer.serialize_newtype_variant("Result", 1, "Err", &Ser(error)),
        }
    }

    fn wire_decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Result::<De<T>, De<E>>::deserialize(deserializer)
            .map(|value| value.map(|De(value)| value).map_err(|De(error)| error))
    }
}

impl<T: Wire> Wire for Box<T> {
    fn wire_encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).wire_encode(serializer)
    }

    fn wire_decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::wire_decode(deserializer).map(Box::new)
    }
}

impl<T: Wire, const N: usize> Wire for [T; N] {
    fn wire_encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(N)?;
        for item in self {
            tuple.serialize_element(&Ser(item))?;
        }
        tuple.end()
    }

    fn wire_decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArrayVisitor<T, const N: usize>(PhantomData<T>);

        impl<'de, T: Wire, const N: usize> Visitor<'de> for ArrayVisitor<T, N> {
            type Value = [T; N];

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an array of {N} elements")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[T; N], A::Error> {
                let mut items = Vec::with_capacity(N);
                for index in 0..N {
                    match seq.next_element::<De<T>>()? {
                        Some(De(item)) => items.push(item),
                        None => return Err(serde::de::Error::invalid_length(index, &self)),
                    }
                }
                items
                    .try_into()
                    .map_err(|_| serde::de::Error::invalid_length(N, &self))
            }
        }

        deserializer.deserialize_tuple(N, ArrayVisitor::<T, N>(PhantomData))
    }
}

macro_rules! tuples {
    ($(($($t:ident $i:tt),+);)*) => {$(
        impl<$($t: Wire),+> Wire for ($($t,)+) {
            fn wire_encode<__S: Serializer>(&self, serializer: __S) -> Result<__S::Ok, __S::Error> {
                serde::Serialize::serialize(&($(Ser(&self.$i),)+), serializer)
            }

            #[allow(non_snake_case)]
            fn wire_decode<'de, __D: Deserializer<'de>>(deserializer: __D) -> Result<Self, __D::Error> {
                let ($(De($t),)+) = <($(De<$t>,)+)>::deserialize(deserializer)?;
                Ok(($($t,)+))
            }
        }
    )*};
}

tuples! {
    (A 0);
    (A 0, B 1);
    (A 0, B 1, C 2);
    (A 0, B 1, C 2, D 3);
    (A 0, B 1, C 2, D 3, E 4);
    (A 0, B 1, C 2, D 3, E 4, F 5);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
}

macro_rules! maps {
    ($($map:ident [$($bound:tt)*]),*) => {$(
        impl<K: Wire + $($bound)*, V: Wire> Wire for $map<K, V> {
            fn wire_encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_map(self.iter().map(|(key, value)| (Ser(key), Ser(value))))
            }

            fn wire_decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_map(MapVisitor::<Self, K, V>(PhantomData))
            }
        }
    )*};
}

maps!(HashMap[Eq + Hash], BTreeMap[Ord]);

macro_rules! sets {
    ($($set:ident [$($bound:tt)*]),*) => {$(
        impl<T: Wire + $($bound)*> Wire for $set<T> {
            fn wire_encode<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.iter().map(Ser))
            }

            fn wire_decode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_seq(SeqVisitor::<Self, T>(PhantomData))
            }
        }
    )*};
}

sets!(HashSet[Eq + Hash], BTreeSet[Ord]);

impl<I: ?Sized + ObjectInterface> Wire for Arc<I> {
    fn wire_encode<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        refuse_encode::<S>("an `Arc<dyn Trait>` object")
    }

    fn wire_decode<'de, D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        refuse_decode::<D, Self>("an `Arc<dyn Trait>` object")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

    use super::super::{decode, encode};

    fn round_trip<T: super::Wire + PartialEq + core::fmt::Debug>(value: T, bytes: &[u8]) {
        let encoded = encode(&value).unwrap();
        assert_eq!(encoded, bytes, "encoding of {value:?}");
        assert_eq!(decode::<T>(&encoded).unwrap(), value);
    }

    #[test]
    fn integers_are_varints_and_signed_ones_zigzag() {
        round_trip(7u8, &[7]);
        round_trip(-1i8, &[0xff]);
        round_trip(300u16, &[0xac, 0x02]);
        round_trip(-2i32, &[3]);
        round_trip(
            u64::MAX,
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        );
        round_trip(1usize, &[1]);
        round_trip(-1isize, &[1]);
        round_trip(
            1u128 << 64,
            &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02],
        );
        round_trip(-1i128, &[1]);
    }

    #[test]
    fn floats_bools_chars_and_strings() {
        round_trip(1.5f32, &1.5f32.to_le_bytes());
        round_trip(-0.25f64, &(-0.25f64).to_le_bytes());
        round_trip(true, &[1]);
        round_trip('é', &[2, 0xc3, 0xa9]);
        round_trip(String::from("hi"), &[2, b'h', b'i']);
        round_trip((), &[]);
    }

    #[test]
    fn containers_are_lengths_and_items() {
        round_trip(vec![1u32, 2], &[2, 1, 2]);
        round_trip(Some(5u8), &[1, 5]);
        round_trip(None::<u8>, &[0]);
        round_trip(Ok::<u8, String>(4), &[0, 4]);
        round_trip(Err::<u8, String>("x".into()), &[1, 1, b'x']);
        round_trip(Box::new(9u8), &[9]);
        round_trip([1u8, 2, 3], &[1, 2, 3]);
        round_trip((1u8, String::from("a"), false), &[1, 1, b'a', 0]);
        round_trip(BTreeMap::from([(1u8, 2u8), (3, 4)]), &[2, 1, 2, 3, 4]);
        round_trip(BTreeSet::from([5u8, 6]), &[2, 5, 6]);
        round_trip(HashMap::from([(1u8, true)]), &[1, 1, 1]);
        round_trip(HashSet::from([String::from("k")]), &[1, 1, b'k']);
    }

    #[test]
    fn bad_bytes_are_errors() {
        assert!(decode::<bool>(&[2]).is_err());
        assert!(decode::<char>(&[1, 0xff]).is_err());
        assert!(decode::<String>(&[3, b'a']).is_err());
        assert!(decode::<Result<u8, u8>>(&[2, 0]).is_err());
        assert!(
            decode::<u8>(&[1, 2])
                .unwrap_err()
                .to_string()
                .contains("left over")
        );
    }
}
