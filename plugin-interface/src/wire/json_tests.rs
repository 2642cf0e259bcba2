//! The JSON transcoder writes exactly the bytes `Wire` writes, for every
//! carried type, from its layout alone; and reads them back.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::{Value, json};

use super::json;
use crate::PluginData;

#[derive(Debug, Clone, PartialEq, PluginData)]
enum Shape {
    Circle { radius: f64 },
    Rect(f64, f64),
    Label(String),
    Empty,
}

#[derive(Debug, Clone, PartialEq, PluginData)]
struct Person {
    name: String,
    tags: Vec<String>,
    age: Option<u32>,
    home: Shape,
}

#[derive(Debug, Clone, PartialEq, PluginData)]
struct Tree {
    value: i64,
    children: Vec<Tree>,
    left: Option<Box<Tree>>,
}

#[derive(Debug, Clone, PartialEq, PluginData)]
struct Pair(u8, char);

#[derive(Debug, Clone, PartialEq, PluginData)]
struct Meters(f32);

#[derive(Debug, Clone, PartialEq, PluginData)]
struct Marker;

/// `value` as JSON gives the bytes `Wire` gives, through both the
/// boundary layout and the in-memory one (a borrowed `&T`), and those
/// bytes read back as the same JSON.
fn agrees<T: PluginData + core::fmt::Debug>(value: T, text: Value) {
    let bytes = crate::wire::encode(&value).unwrap();
    for layout in [T::LAYOUT, T::NATIVE] {
        let mut out = Vec::new();
        json::encode(layout, &text, &mut out)
            .unwrap_or_else(|error| panic!("{value:?} from {text}: {error}"));
        assert_eq!(out, bytes, "{value:?} as {text} through {layout:?}");
        let mut rest = &bytes[..];
        assert_eq!(json::decode(layout, &mut rest).unwrap(), text, "{value:?}");
        assert!(rest.is_empty());
    }
}

#[test]
fn primitives() {
    agrees(200u8, json!(200));
    agrees(-5i8, json!(-5));
    agrees(65_000u16, json!(65_000));
    agrees(-30_000i16, json!(-30_000));
    agrees(u32::MAX, json!(u32::MAX));
    agrees(i32::MIN, json!(i32::MIN));
    agrees(u64::MAX, json!(u64::MAX));
    agrees(i64::MIN, json!(i64::MIN));
    agrees(7usize, json!(7));
    agrees(-7isize, json!(-7));
    agrees(u128::MAX, json!(u128::MAX.to_string()));
    agrees(12u128, json!(12));
    agrees(i128::MIN, json!(i128::MIN.to_string()));
    agrees(-12i128, json!(-12));
    agrees(1.5f32, json!(1.5));
    agrees(-2.25f64, json!(-2.25));
    agrees(true, json!(true));
    agrees('ß', json!("ß"));
    agrees(String::from("hello"), json!("hello"));
}

#[test]
fn containers() {
    agrees(vec![1u16, 2, 3], json!([1, 2, 3]));
    agrees(Some(String::from("x")), json!("x"));
    agrees(None::<u8>, json!(null));
    agrees(Ok::<u8, String>(1), json!({"Ok": 1}));
    agrees(Err::<u8, String>("no".into()), json!({"Err": "no"}));
    agrees(Ok::<(), String>(()), json!({"Ok": null}));
    agrees(Box::new(3u8), json!(3));
    agrees([1i32, -1], json!([1, -1]));
    agrees((1u8, String::from("a"), 2.5f64), json!([1, "a", 2.5]));
    agrees((9u8,), json!([9]));
    agrees(BTreeMap::from([(String::from("k"), 1u8)]), json!({"k": 1}));
    agrees(BTreeMap::from([(3u32, true)]), json!({"3": true}));
    agrees(HashMap::from([(-3i64, 'c')]), json!({"-3": "c"}));
    agrees(BTreeMap::from([((1u8, 2u8), 3u8)]), json!([[[1, 2], 3]]));
    agrees(BTreeSet::from([1u8, 2]), json!([1, 2]));
    agrees(HashSet::from([String::from("s")]), json!(["s"]));
}

#[test]
fn derived_structs_and_enums() {
    let person = Person {
        name: "Ada".into(),
        tags: vec!["x".into()],
        age: Some(36),
        home: Shape::Circle { radius: 1.0 },
    };
    agrees(
        person,
        json!({"name": "Ada", "tags": ["x"], "age": 36, "home": {"Circle": {"radius": 1.0}}}),
    );
    agrees(Shape::Rect(1.0, 2.0), json!({"Rect": [1.0, 2.0]}));
    agrees(Shape::Label("l".into()), json!({"Label": "l"}));
    agrees(Shape::Empty, json!("Empty"));
    agrees(Pair(1, 'p'), json!([1, "p"]));
    agrees(Meters(2.5), json!(2.5));
    agrees(Marker, json!(null));
    let tree = Tree {
        value: 1,
        children: vec![Tree {
            value: 2,
            children: vec![],
            left: None,
        }],
        left: Some(Box::new(Tree {
            value: 3,
            children: vec![],
            left: None,
        })),
    };
    agrees(
        tree,
        json!({"value": 1, "children": [{"value": 2, "children": [], "left": null}],
               "left": {"value": 3, "children": [], "left": null}}),
    );
}

fn refused<T: PluginData>(text: Value) -> String {
    json::encode(T::LAYOUT, &text, &mut Vec::new()).unwrap_err()
}

#[test]
fn wrong_values_say_where_and_what() {
    assert_eq!(
        refused::<u8>(json!(256)),
        "256 is out of range for an integer of 8 bits, unsigned"
    );
    assert_eq!(
        refused::<u32>(json!(-1)),
        "-1 is out of range for an integer of 32 bits, unsigned"
    );
    assert_eq!(
        refused::<i8>(json!("1")),
        "expected an integer of 8 bits, found a string"
    );
    assert_eq!(
        refused::<bool>(json!(1)),
        "expected a boolean, found a number"
    );
    assert_eq!(
        refused::<char>(json!("ab")),
        "expected a string of one character, found a string"
    );
    assert_eq!(
        refused::<Vec<u8>>(json!([1, "x"])),
        "[1]: expected an integer of 8 bits, unsigned, found a string"
    );
    assert_eq!(
        refused::<[u8; 2]>(json!([1])),
        "expected an array of 2, found 1 items"
    );
    assert_eq!(
        refused::<Person>(json!({"name": "a", "tags": [], "age": null})),
        "missing field `home`"
    );
    assert_eq!(
        refused::<Person>(json!({"name": 1, "tags": [], "age": null, "home": "Empty"})),
        ".name: expected a string, found a number"
    );
    assert_eq!(
        refused::<Person>(json!({"name": "a", "tags": [], "age": null, "home": "Empty", "x": 1})),
        "unknown field `x`"
    );
    assert_eq!(
        refused::<Shape>(json!("Square")),
        "unknown variant `Square`, expected one of Circle, Rect, Label, Empty"
    );
    assert_eq!(
        refused::<Shape>(json!({"Circle": {"radius": "r"}})),
        "Circle: .radius: expected a number, found a string"
    );
    assert_eq!(
        refused::<Result<u8, u8>>(json!(1)),
        "expected {\"Ok\": ..} or {\"Err\": ..}, found a number"
    );
}

#[test]
fn corrupt_bytes_are_refused() {
    let decode = |layout, bytes: &[u8]| json::decode(layout, &mut &bytes[..]);
    assert!(decode(bool::LAYOUT, &[2]).is_err());
    assert!(decode(String::LAYOUT, &[5, b'a']).is_err());
    assert!(decode(String::LAYOUT, &[1, 0xff]).is_err());
    assert!(decode(u32::LAYOUT, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
    assert!(decode(Shape::LAYOUT, &[9]).is_err());
    assert!(decode(<Vec<u8>>::LAYOUT, &[0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
}

#[test]
fn values_nested_past_the_limit_are_refused() {
    let mut deep = json!({"value": 0, "children": [], "left": null});
    for _ in 0..128 {
        deep = json!({"value": 0, "children": [deep], "left": null});
    }
    let error = json::encode(Tree::LAYOUT, &deep, &mut Vec::new()).unwrap_err();
    assert!(error.ends_with("nested deeper than 128 levels"), "{error}");
}

#[test]
fn bytes_nested_past_the_limit_are_refused() {
    // Each level of a `Tree` is a value, one child and no left: 0, 1, ...
    let bytes: Vec<u8> = [0u8, 1].repeat(100_000);
    let error = json::decode(Tree::LAYOUT, &mut &bytes[..]).unwrap_err();
    assert!(error.ends_with("nested deeper than 128 levels"), "{error}");
}

/// More fields than serde's largest tuple: the derive nests them, which
/// leaves no trace in the bytes.
#[derive(Debug, Clone, PartialEq, PluginData)]
struct Wide17 {
    a: u8,
    b: u8,
    c: u8,
    d: u8,
    e: u8,
    f: u8,
    g: u8,
    h: u8,
    i: u8,
    j: u8,
    k: u8,
    l: u8,
    m: u8,
    n: u8,
    o: u8,
    p: u8,
    q: String,
}

#[test]
fn structs_of_many_fields() {
    let value = Wide17 {
        a: 1,
        b: 2,
        c: 3,
        d: 4,
        e: 5,
        f: 6,
        g: 7,
        h: 8,
        i: 9,
        j: 10,
        k: 11,
        l: 12,
        m: 13,
        n: 14,
        o: 15,
        p: 16,
        q: "q".into(),
    };
    let mut bytes: Vec<u8> = (1..=16).collect();
    bytes.extend([1, b'q']);
    assert_eq!(crate::wire::encode(&value).unwrap(), bytes);
    agrees(
        value,
        json!({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9,
               "j": 10, "k": 11, "l": 12, "m": 13, "n": 14, "o": 15, "p": 16, "q": "q"}),
    );
}
