//! JSON values to and from the serialised path's bytes, driven by the
//! layouts in a plugin's canary: the host needs no Rust type of the
//! interface to call a method by name.
//!
//! The JSON form of a value is serde's (as `serde_json` writes it):
//! integers and floats as numbers (`u128`/`i128` beyond 64 bits as decimal
//! strings, accepted either way), `char` as a one-character string,
//! `()` and `None` as `null`, sequences, sets, tuples and arrays as
//! arrays, maps as objects when their keys are strings, `char`s or
//! integers (keys written as strings) and as arrays of `[key, value]`
//! pairs otherwise, structs as objects by field name (a tuple struct as
//! an array, a one-field tuple struct as its field, a unit struct as
//! `null`), enums externally tagged (`"Unit"`, `{"Variant": value}`,
//! `{"Variant": [..]}`, `{"Variant": {..}}`), `Result` as `{"Ok": ..}` or
//! `{"Err": ..}`.

use serde_json::{Map, Number, Value};

use crate::layout::{FieldLayout, LayoutKind, TypeLayout, VariantLayout, bytes, items};

/// How one layout's values are written.
enum Shape<'a> {
    Integer { signed: bool, bits: u32 },
    Float(u32),
    Bool,
    Char,
    Unit,
    Str,
    Seq(&'a TypeLayout),
    Option(&'a TypeLayout),
    Result(&'a TypeLayout, &'a TypeLayout),
    Boxed(&'a TypeLayout),
    Array(&'a TypeLayout, usize),
    Tuple(&'a [&'static TypeLayout]),
    Map(&'a TypeLayout, &'a TypeLayout),
    Struct(&'a TypeLayout, &'a [FieldLayout]),
    Enum(&'a TypeLayout, &'a [VariantLayout]),
    Recursive(String),
    Refused(String),
}

fn text(name: crate::repr::RStr<'_>) -> String {
    String::from_utf8_lossy(bytes(name)).into_owned()
}

fn arg(layout: &TypeLayout, index: usize) -> Option<&'static TypeLayout> {
    items(&layout.args).get(index).copied()
}

fn shape(layout: &TypeLayout) -> Shape<'_> {
    let name = text(layout.name);
    let kind = layout.kind;
    let refused = |what: &str| Shape::Refused(format!("{what} does not cross the serialised path"));
    if kind == LayoutKind::Object as u8 {
        return refused(&format!("an object (`{name}`)"));
    }
    if kind == LayoutKind::Recursive as u8 {
        return Shape::Recursive(name);
    }
    if kind == LayoutKind::Struct as u8 {
        return Shape::Struct(layout, items(&layout.fields));
    }
    if kind == LayoutKind::Enum as u8 {
        return Shape::Enum(layout, items(&layout.variants));
    }
    let one = arg(layout, 0);
    let two = arg(layout, 1);
    match (name.as_str(), one, two) {
        ("u8" | "u16" | "u32" | "u64" | "usize" | "u128", ..) => Shape::Integer {
            signed: false,
            bits: bits(&name),
        },
        ("i8" | "i16" | "i32" | "i64" | "isize" | "i128", ..) => Shape::Integer {
            signed: true,
            bits: bits(&name),
        },
        ("f32", ..) => Shape::Float(32),
        ("f64", ..) => Shape::Float(64),
        ("bool", ..) => Shape::Bool,
        ("char", ..) => Shape::Char,
        ("Unit" | "()", ..) => Shape::Unit,
        ("RString" | "RStr" | "String", ..) => Shape::Str,
        ("RVec" | "Vec" | "RSlice" | "HashSet" | "BTreeSet", Some(item), None) => Shape::Seq(item),
        ("ROption" | "Option", Some(item), None) => Shape::Option(item),
        ("RResult" | "Result", Some(ok), Some(err)) => Shape::Result(ok, err),
        ("RBox" | "Box", Some(item), None) if item.kind != LayoutKind::Object as u8 => {
            Shape::Boxed(item)
        }
        ("Ref", Some(item), None) if item.kind != LayoutKind::Object as u8 => Shape::Boxed(item),
        ("Ref" | "RefMut" | "Box" | "Arc", ..) => refused("a lent or owned object (`&dyn Trait`)"),
        ("Fn" | "FnMut", ..) => refused("a lent closure"),
        ("Array", Some(item), None) => {
            let count = layout.size.checked_div(item.size).unwrap_or(0) as usize;
            Shape::Array(item, count)
        }
        ("HashMap" | "BTreeMap", Some(key), Some(value)) => Shape::Map(key, value),
        (tuple, Some(_), _) if tuple.starts_with("Tuple") => Shape::Tuple(items(&layout.args)),
        _ if kind == LayoutKind::Native as u8 && !layout.variants.is_empty() => {
            Shape::Enum(layout, items(&layout.variants))
        }
        _ if kind == LayoutKind::Native as u8 => Shape::Struct(layout, items(&layout.fields)),
        _ => refused(&format!("`{}`", layout.display_name())),
    }
}

fn bits(name: &str) -> u32 {
    match name {
        "u8" | "i8" => 8,
        "u16" | "i16" => 16,
        "u32" | "i32" => 32,
        "u128" | "i128" => 128,
        _ => 64,
    }
}

/// Whether values of `layout` are strings in JSON (`&str`, `String`,
/// `char`).
pub(crate) fn takes_text(layout: &TypeLayout) -> bool {
    matches!(shape(layout), Shape::Str | Shape::Char)
}

/// Why a layout cannot cross the serialised path, if it cannot.
pub(crate) fn refusal(layout: &TypeLayout) -> Option<String> {
    let mut walk = Walk::default();
    walk.refusal(layout)
}

/// Appends `value`, as the type `layout` describes, to `out`; an error
/// says where in the value and what was expected.
pub(crate) fn encode(layout: &TypeLayout, value: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    Walk::default().encode(layout, value, out)
}

/// Reads one value of the type `layout` describes from the front of
/// `input`.
pub(crate) fn decode(layout: &TypeLayout, input: &mut &[u8]) -> Result<Value, String> {
    Walk::default().decode(layout, input)
}

/// How deep a value may nest on the way through JSON, counting every
/// value: `serde_json`'s own limit when it parses text, and well within a
/// 2 MiB thread stack in a debug build.
const MAX_DEPTH: u32 = 128;

/// The structs and enums being walked, innermost last: what a recursive
/// layout names.
#[derive(Default)]
struct Walk<'a> {
    enclosing: Vec<&'a TypeLayout>,
    /// How deep the value being walked nests so far.
    depth: u32,
}

fn found(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn expected(what: &str, value: &Value) -> String {
    format!("expected {what}, found {}", found(value))
}

fn within(place: &str, error: String) -> String {
    format!("{place}: {error}")
}

fn varint(mut value: u128, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn read_varint(input: &mut &[u8], bits: u32) -> Result<u128, String> {
    let mut value: u128 = 0;
    let max_bytes = bits.div_ceil(7) as usize;
    for index in 0..max_bytes {
        let Some((&byte, rest)) = input.split_first() else {
            return Err("the bytes end inside a number".to_owned());
        };
        *input = rest;
        value |= u128::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("a number longer than its type".to_owned())
}

fn take<'b>(input: &mut &'b [u8], len: usize) -> Result<&'b [u8], String> {
    if input.len() < len {
        return Err(format!("expected {len} more bytes, {} left", input.len()));
    }
    let (head, rest) = input.split_at(len);
    *input = rest;
    Ok(head)
}

fn read_len(input: &mut &[u8]) -> Result<usize, String> {
    let len = read_varint(input, 64)?;
    // Every item takes at least a byte, except zero-sized ones, which
    // nothing carried is: a longer count than bytes left is corrupt.
    usize::try_from(len)
        .ok()
        .filter(|len| *len <= input.len())
        .ok_or_else(|| format!("a length of {len} with {} bytes left", input.len()))
}

fn integer_of(value: &Value, signed: bool, bits: u32) -> Result<i128, String> {
    let what = format!(
        "an integer of {bits} bits{}",
        if signed { "" } else { ", unsigned" }
    );
    let parsed = match value {
        Value::Number(number) => number
            .as_i64()
            .map(i128::from)
            .or_else(|| number.as_u64().map(i128::from)),
        Value::String(text) if bits == 128 => text.parse::<i128>().ok().or_else(|| {
            text.parse::<u128>()
                .ok()
                .filter(|_| !signed)
                .map(|wide| wide as i128)
        }),
        _ => None,
    };
    let Some(number) = parsed else {
        return Err(expected(&what, value));
    };
    if bits == 128 {
        // `u128` above `i128::MAX` was kept bit for bit above.
        return if !signed && number < 0 && !matches!(value, Value::String(_)) {
            Err(format!("{number} is out of range for {what}"))
        } else {
            Ok(number)
        };
    }
    let (min, max) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    if number < min || number > max {
        return Err(format!("{number} is out of range for {what}"));
    }
    Ok(number)
}

fn number_value(number: i128, signed: bool) -> Value {
    if signed {
        match i64::try_from(number) {
            Ok(small) => Value::from(small),
            Err(_) => Value::String(number.to_string()),
        }
    } else {
        let unsigned = number as u128;
        match u64::try_from(unsigned) {
            Ok(small) => Value::from(small),
            Err(_) => Value::String(unsigned.to_string()),
        }
    }
}

/// Whether a map's keys are written as JSON object keys.
fn string_keys(key: &TypeLayout) -> bool {
    matches!(shape(key), Shape::Str | Shape::Char | Shape::Integer { .. })
}

fn is_tuple_fields(fields: &[FieldLayout]) -> bool {
    fields
        .first()
        .is_some_and(|field| bytes(field.name) == b"0")
}

impl<'a> Walk<'a> {
    fn resolve(&self, name: &str) -> Result<&'a TypeLayout, String> {
        self.enclosing
            .iter()
            .rev()
            .find(|layout| text(layout.name) == name)
            .copied()
            .ok_or_else(|| format!("`{name}` refers to no enclosing type"))
    }

    fn refusal(&mut self, layout: &'a TypeLayout) -> Option<String> {
        match shape(layout) {
            Shape::Refused(reason) => Some(reason),
            Shape::Recursive(_) => None,
            Shape::Seq(item) | Shape::Option(item) | Shape::Boxed(item) | Shape::Array(item, _) => {
                self.refusal(item)
            }
            Shape::Result(first, second) | Shape::Map(first, second) => {
                self.refusal(first).or_else(|| self.refusal(second))
            }
            Shape::Tuple(elems) => elems.iter().find_map(|elem| self.refusal(elem)),
            Shape::Struct(_, fields) => fields.iter().find_map(|field| {
                self.refusal(field.ty)
                    .map(|reason| within(&format!("field `{}`", text(field.name)), reason))
            }),
            Shape::Enum(_, variants) => variants.iter().find_map(|variant| {
                items(&variant.fields).iter().find_map(|field| {
                    self.refusal(field.ty)
                        .map(|reason| within(&format!("variant `{}`", text(variant.name)), reason))
                })
            }),
            _ => None,
        }
    }

    /// Counts one more level of nesting, refusing what is deeper than
    /// `MAX_DEPTH`, which a recursive type could reach without bound.
    fn deeper(&mut self) -> Result<(), String> {
        if self.depth >= MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        self.depth += 1;
        Ok(())
    }

    fn encode(
        &mut self,
        layout: &'a TypeLayout,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        self.deeper()?;
        let done = self.encode_shape(layout, value, out);
        self.depth -= 1;
        done
    }

    fn decode(&mut self, layout: &'a TypeLayout, input: &mut &[u8]) -> Result<Value, String> {
        self.deeper()?;
        let done = self.decode_shape(layout, input);
        self.depth -= 1;
        done
    }

    fn encode_shape(
        &mut self,
        layout: &'a TypeLayout,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        match shape(layout) {
            Shape::Seq(item) => {
                let Value::Array(values) = value else {
                    return Err(expected("an array", value));
                };
                varint(values.len() as u128, out);
                for (index, value) in values.iter().enumerate() {
                    self.encode(item, value, out)
                        .map_err(|error| within(&format!("[{index}]"), error))?;
                }
            }
            Shape::Option(item) => {
                if value.is_null() {
                    out.push(0);
                } else {
                    out.push(1);
                    self.encode(item, value, out)?;
                }
            }
            Shape::Result(ok, err) => match value {
                Value::Object(map) if map.len() == 1 && map.contains_key("Ok") => {
                    out.push(0);
                    self.encode(ok, &map["Ok"], out)
                        .map_err(|error| within("Ok", error))?;
                }
                Value::Object(map) if map.len() == 1 && map.contains_key("Err") => {
                    out.push(1);
                    self.encode(err, &map["Err"], out)
                        .map_err(|error| within("Err", error))?;
                }
                _ => return Err(expected("{\"Ok\": ..} or {\"Err\": ..}", value)),
            },
            Shape::Boxed(item) => self.encode(item, value, out)?,
            Shape::Array(item, count) => {
                let Value::Array(values) = value else {
                    return Err(expected(&format!("an array of {count}"), value));
                };
                if values.len() != count {
                    return Err(format!(
                        "expected an array of {count}, found {} items",
                        values.len()
                    ));
                }
                for (index, value) in values.iter().enumerate() {
                    self.encode(item, value, out)
                        .map_err(|error| within(&format!("[{index}]"), error))?;
                }
            }
            Shape::Tuple(elems) => {
                let Value::Array(values) = value else {
                    return Err(expected(&format!("an array of {}", elems.len()), value));
                };
                if values.len() != elems.len() {
                    return Err(format!(
                        "expected an array of {}, found {} items",
                        elems.len(),
                        values.len()
                    ));
                }
                for (index, (elem, value)) in elems.iter().zip(values).enumerate() {
                    self.encode(elem, value, out)
                        .map_err(|error| within(&format!("[{index}]"), error))?;
                }
            }
            Shape::Map(key, item) => self.encode_map(key, item, value, out)?,
            Shape::Struct(this, fields) => {
                self.enclosing.push(this);
                let done = self.encode_fields(fields, value, out);
                self.enclosing.pop();
                done?;
            }
            Shape::Enum(this, variants) => {
                self.enclosing.push(this);
                let done = self.encode_variant(variants, value, out);
                self.enclosing.pop();
                done?;
            }
            Shape::Recursive(name) => {
                let this = self.resolve(&name)?;
                self.encode(this, value, out)?;
            }
            Shape::Refused(reason) => return Err(reason),
            leaf => encode_leaf(&leaf, value, out)?,
        }
        Ok(())
    }

    fn encode_map(
        &mut self,
        key: &'a TypeLayout,
        item: &'a TypeLayout,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        match value {
            Value::Object(map) if string_keys(key) => {
                varint(map.len() as u128, out);
                for (name, value) in map {
                    let key_value = match shape(key) {
                        Shape::Integer { .. } => name
                            .parse::<i128>()
                            .map(|n| {
                                if n < 0 {
                                    Value::Number(Number::from(n as i64))
                                } else {
                                    Value::Number(Number::from(n as u64))
                                }
                            })
                            .unwrap_or_else(|_| Value::String(name.clone())),
                        _ => Value::String(name.clone()),
                    };
                    self.encode(key, &key_value, out)
                        .map_err(|error| within(&format!("key {name:?}"), error))?;
                    self.encode(item, value, out)
                        .map_err(|error| within(&format!("[{name:?}]"), error))?;
                }
            }
            Value::Array(pairs) => {
                varint(pairs.len() as u128, out);
                for (index, pair) in pairs.iter().enumerate() {
                    let place = format!("[{index}]");
                    match pair {
                        Value::Array(both) if both.len() == 2 => {
                            self.encode(key, &both[0], out)
                                .map_err(|error| within(&place, error))?;
                            self.encode(item, &both[1], out)
                                .map_err(|error| within(&place, error))?;
                        }
                        _ => return Err(within(&place, expected("a [key, value] pair", pair))),
                    }
                }
            }
            _ => {
                let what = if string_keys(key) {
                    "an object"
                } else {
                    "an array of [key, value] pairs"
                };
                return Err(expected(what, value));
            }
        }
        Ok(())
    }

    fn encode_fields(
        &mut self,
        fields: &'a [FieldLayout],
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        if fields.is_empty() {
            return match value {
                Value::Null => Ok(()),
                Value::Object(map) if map.is_empty() => Ok(()),
                _ => Err(expected("null", value)),
            };
        }
        if is_tuple_fields(fields) {
            if fields.len() == 1 {
                return self
                    .encode(fields[0].ty, value, out)
                    .map_err(|error| within(".0", error));
            }
            let Value::Array(values) = value else {
                return Err(expected(&format!("an array of {}", fields.len()), value));
            };
            if values.len() != fields.len() {
                return Err(format!(
                    "expected an array of {}, found {} items",
                    fields.len(),
                    values.len()
                ));
            }
            for (index, (field, value)) in fields.iter().zip(values).enumerate() {
                self.encode(field.ty, value, out)
                    .map_err(|error| within(&format!(".{index}"), error))?;
            }
            return Ok(());
        }
        let Value::Object(map) = value else {
            return Err(expected("an object", value));
        };
        for field in fields {
            let name = text(field.name);
            let Some(value) = map.get(&name) else {
                return Err(format!("missing field `{name}`"));
            };
            self.encode(field.ty, value, out)
                .map_err(|error| within(&format!(".{name}"), error))?;
        }
        if let Some(extra) = map
            .keys()
            .find(|key| !fields.iter().any(|field| text(field.name) == **key))
        {
            return Err(format!("unknown field `{extra}`"));
        }
        Ok(())
    }

    fn encode_variant(
        &mut self,
        variants: &'a [VariantLayout],
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let names: Vec<String> = variants.iter().map(|variant| text(variant.name)).collect();
        let (name, payload) = match value {
            Value::String(name) => (name, &Value::Null),
            Value::Object(map) if map.len() == 1 => {
                let (name, payload) = map.iter().next().expect("one entry");
                (name, payload)
            }
            _ => {
                return Err(expected(
                    &format!("a variant ({})", names.join(", ")),
                    value,
                ));
            }
        };
        let Some(index) = names.iter().position(|known| known == name) else {
            return Err(format!(
                "unknown variant `{name}`, expected one of {}",
                names.join(", ")
            ));
        };
        varint(index as u128, out);
        self.encode_fields(items(&variants[index].fields), payload, out)
            .map_err(|error| within(name, error))
    }

    fn decode_shape(&mut self, layout: &'a TypeLayout, input: &mut &[u8]) -> Result<Value, String> {
        match shape(layout) {
            Shape::Seq(item) => {
                let len = read_len(input)?;
                self.decode_items(item, len, input)
            }
            Shape::Option(item) => match take(input, 1)?[0] {
                0 => Ok(Value::Null),
                1 => self.decode(item, input),
                other => Err(format!("{other} is not an Option tag")),
            },
            Shape::Result(ok, err) => self.decode_result(ok, err, input),
            Shape::Boxed(item) => self.decode(item, input),
            // The count comes from the plugin's layout.
            Shape::Array(item, count) => self.decode_items(item, count, input),
            Shape::Tuple(elems) => self.decode_tuple(elems, input),
            Shape::Map(key, item) => self.decode_map(key, item, input),
            Shape::Struct(this, fields) => {
                self.enclosing.push(this);
                let done = self.decode_fields(fields, input);
                self.enclosing.pop();
                done
            }
            Shape::Enum(this, variants) => {
                self.enclosing.push(this);
                let done = self.decode_variant(variants, input);
                self.enclosing.pop();
                done
            }
            Shape::Recursive(name) => {
                let this = self.resolve(&name)?;
                self.decode(this, input)
            }
            Shape::Refused(reason) => Err(reason),
            leaf => decode_leaf(&leaf, input),
        }
    }

    /// `count` values of `item`, as an array.
    #[inline(never)]
    fn decode_items(
        &mut self,
        item: &'a TypeLayout,
        count: usize,
        input: &mut &[u8],
    ) -> Result<Value, String> {
        // Reserve no more than the bytes left could fill.
        let mut values = Vec::with_capacity(count.min(input.len()));
        for _ in 0..count {
            values.push(self.decode(item, input)?);
        }
        Ok(Value::Array(values))
    }

    #[inline(never)]
    fn decode_tuple(
        &mut self,
        elems: &'a [&'static TypeLayout],
        input: &mut &[u8],
    ) -> Result<Value, String> {
        elems
            .iter()
            .map(|elem| self.decode(elem, input))
            .collect::<Result<_, _>>()
            .map(Value::Array)
    }

    #[inline(never)]
    fn decode_result(
        &mut self,
        ok: &'a TypeLayout,
        err: &'a TypeLayout,
        input: &mut &[u8],
    ) -> Result<Value, String> {
        let (name, layout) = match read_varint(input, 32)? {
            0 => ("Ok", ok),
            1 => ("Err", err),
            other => return Err(format!("{other} is not a Result variant")),
        };
        let mut map = Map::new();
        map.insert(name.to_owned(), self.decode(layout, input)?);
        Ok(Value::Object(map))
    }

    #[inline(never)]
    fn decode_map(
        &mut self,
        key: &'a TypeLayout,
        item: &'a TypeLayout,
        input: &mut &[u8],
    ) -> Result<Value, String> {
        let len = read_len(input)?;
        let mut pairs = Vec::with_capacity(len);
        for _ in 0..len {
            pairs.push((self.decode(key, input)?, self.decode(item, input)?));
        }
        if !string_keys(key) {
            return Ok(Value::Array(
                pairs
                    .into_iter()
                    .map(|(key, value)| Value::Array(vec![key, value]))
                    .collect(),
            ));
        }
        let mut map = Map::new();
        for (key, value) in pairs {
            let name = match key {
                Value::String(name) => name,
                other => other.to_string(),
            };
            map.insert(name, value);
        }
        Ok(Value::Object(map))
    }

    fn decode_fields(
        &mut self,
        fields: &'a [FieldLayout],
        input: &mut &[u8],
    ) -> Result<Value, String> {
        if fields.is_empty() {
            return Ok(Value::Null);
        }
        let values: Vec<Value> = fields
            .iter()
            .map(|field| self.decode(field.ty, input))
            .collect::<Result<_, _>>()?;
        if is_tuple_fields(fields) {
            return Ok(if values.len() == 1 {
                values.into_iter().next().unwrap_or(Value::Null)
            } else {
                Value::Array(values)
            });
        }
        Ok(Value::Object(
            fields
                .iter()
                .map(|field| text(field.name))
                .zip(values)
                .collect(),
        ))
    }

    fn decode_variant(
        &mut self,
        variants: &'a [VariantLayout],
        input: &mut &[u8],
    ) -> Result<Value, String> {
        let index = read_varint(input, 32)?;
        let Some(variant) = usize::try_from(index)
            .ok()
            .and_then(|index| variants.get(index))
        else {
            return Err(format!(
                "variant index {index}, but the enum has {}",
                variants.len()
            ));
        };
        let name = text(variant.name);
        let fields = items(&variant.fields);
        if fields.is_empty() {
            return Ok(Value::String(name));
        }
        let mut map = Map::new();
        map.insert(name, self.decode_fields(fields, input)?);
        Ok(Value::Object(map))
    }
}

/// Writes a value of a leaf shape (a number, `bool`, `char`, `()`, a
/// string): out of line, so that the frames of the recursive walk stay
/// small.
#[inline(never)]
fn encode_leaf(shape: &Shape<'_>, value: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    match shape {
        &Shape::Integer { signed, bits } => {
            let number = integer_of(value, signed, bits)?;
            match (signed, bits) {
                (_, 8) => out.push(number as u8),
                (true, _) => varint(((number << 1) ^ (number >> 127)) as u128, out),
                (false, _) => varint(number as u128, out),
            }
        }
        &Shape::Float(bits) => {
            let Some(number) = value.as_f64() else {
                return Err(expected("a number", value));
            };
            if bits == 32 {
                out.extend_from_slice(&(number as f32).to_le_bytes());
            } else {
                out.extend_from_slice(&number.to_le_bytes());
            }
        }
        Shape::Bool => match value {
            Value::Bool(flag) => out.push(u8::from(*flag)),
            _ => return Err(expected("a boolean", value)),
        },
        Shape::Char => {
            let mut chars = value.as_str().map(str::chars);
            match chars.as_mut().map(|chars| (chars.next(), chars.next())) {
                Some((Some(c), None)) => {
                    let mut buffer = [0; 4];
                    let utf8 = c.encode_utf8(&mut buffer);
                    varint(utf8.len() as u128, out);
                    out.extend_from_slice(utf8.as_bytes());
                }
                _ => return Err(expected("a string of one character", value)),
            }
        }
        Shape::Unit if !value.is_null() => return Err(expected("null", value)),
        Shape::Str => match value {
            Value::String(text) => {
                varint(text.len() as u128, out);
                out.extend_from_slice(text.as_bytes());
            }
            _ => return Err(expected("a string", value)),
        },
        // Containers are walked by `Walk::encode_shape`.
        _ => {}
    }
    Ok(())
}

/// Reads a value of a leaf shape, out of line like [`encode_leaf`].
#[inline(never)]
fn decode_leaf(shape: &Shape<'_>, input: &mut &[u8]) -> Result<Value, String> {
    Ok(match shape {
        &Shape::Integer { signed, bits } => {
            let number = if bits == 8 {
                let byte = take(input, 1)?[0];
                if signed {
                    i128::from(byte as i8)
                } else {
                    i128::from(byte)
                }
            } else {
                let raw = read_varint(input, bits)?;
                if signed {
                    ((raw >> 1) as i128) ^ -((raw & 1) as i128)
                } else {
                    raw as i128
                }
            };
            number_value(number, signed)
        }
        Shape::Float(32) => {
            let raw = take(input, 4)?;
            let number = f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
            Number::from_f64(f64::from(number)).map_or(Value::Null, Value::Number)
        }
        Shape::Float(_) => {
            let raw = take(input, 8)?;
            let mut array = [0; 8];
            array.copy_from_slice(raw);
            Number::from_f64(f64::from_le_bytes(array)).map_or(Value::Null, Value::Number)
        }
        Shape::Bool => match take(input, 1)?[0] {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            other => return Err(format!("{other} is not a bool")),
        },
        Shape::Char => {
            let text = decode_str(input)?;
            if text.chars().count() != 1 {
                return Err(format!("{text:?} is not one char"));
            }
            Value::String(text)
        }
        Shape::Unit => Value::Null,
        Shape::Str => Value::String(decode_str(input)?),
        // Containers are walked by `Walk::decode_shape`.
        _ => Value::Null,
    })
}

fn decode_str(input: &mut &[u8]) -> Result<String, String> {
    let len = read_len(input)?;
    let raw = take(input, len)?;
    String::from_utf8(raw.to_vec()).map_err(|_| "a string that is not UTF-8".to_owned())
}
