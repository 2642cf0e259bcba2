//! Every carried type crosses into a real plugin library and back: one
//! with its own allocator (returned buffers are copied) and the same
//! source built with `allocator = host` (returned buffers are adopted).

use plugin_interface::{PluginAllocator, PluginLibrary};
use plugin_tests::plugins;
use roundtrip_interface::{Point, RoundTrip, RoundTripProxy};

/// Echo and Mirror from both builds of the roundtrip plugin.
fn echoes() -> Vec<RoundTripProxy> {
    let mut proxies = Vec::new();
    for (package, allocator) in [
        ("roundtrip-plugin", PluginAllocator::Own),
        ("roundtrip-shared-plugin", PluginAllocator::Host),
    ] {
        let library = PluginLibrary::open(plugins().path(package)).unwrap();
        assert_eq!(library.allocator(), allocator, "{package}");
        let made = library.instantiate::<dyn RoundTrip>().unwrap();
        assert_eq!(made.len(), 2, "Echo and Mirror");
        proxies.extend(made);
    }
    proxies
}

#[test]
fn integers_floats_and_bools() {
    for p in echoes() {
        assert_eq!(p.ints(1, 2, 3, 4, 5), 2 + 3 + 4 + 5 + 6);
        assert_eq!(
            p.ints(i8::MAX, i16::MAX, i32::MAX, i64::MAX, isize::MAX),
            i64::from(i8::MIN)
                .wrapping_add(i64::from(i16::MIN))
                .wrapping_add(i64::from(i32::MIN))
                .wrapping_add(i64::MIN)
                .wrapping_add(isize::MIN as i64)
        );
        assert_eq!(p.uints(1, 2, 3, 4, 5), 15);
        assert_eq!(
            p.uints(u8::MAX, u16::MAX, u32::MAX, u64::MAX, usize::MAX),
            u64::from(u8::MAX) + u64::from(u16::MAX) + u64::from(u32::MAX) - 2
        );
        assert_eq!(p.floats(1.5, -0.25), 2.5);
        assert!(p.floats(f32::NAN, 0.0).is_nan());
        assert!(p.not(false));
        assert!(!p.not(true));
    }
}

#[test]
fn strings_including_empty_and_non_ascii() {
    for p in echoes() {
        for text in ["", "plain", "héllo wörld", "日本語 🦀", "nul\0inside"] {
            assert_eq!(p.echo_str(text), text);
            assert_eq!(p.echo_string(text.to_owned()), text);
        }
        let long = "x".repeat(1 << 20);
        assert_eq!(p.echo_str(&long), long);
    }
}

#[test]
fn slices_and_vectors_including_empty() {
    for p in echoes() {
        assert_eq!(p.echo_bytes(&[]), Vec::<u8>::new());
        assert_eq!(p.echo_bytes(&[0, 1, 255]), [0, 1, 255]);
        assert_eq!(p.reverse(vec![]), Vec::<String>::new());
        assert_eq!(
            p.reverse(vec!["a".into(), String::new(), "ü".into()]),
            ["ü", "", "a"]
        );
    }
}

#[test]
fn options_and_results_including_none_and_err() {
    for p in echoes() {
        assert_eq!(p.echo_option(None), None);
        assert_eq!(p.echo_option(Some(String::new())), Some(String::new()));
        assert_eq!(p.echo_option(Some("ß".into())), Some("ß".into()));
        assert_eq!(p.echo_result(Ok(7)), Ok(7));
        assert_eq!(p.echo_result(Err("bad".into())), Err("bad".into()));
        assert_eq!(p.echo_result(Err(String::new())), Err(String::new()));
        assert_eq!(p.parse_len("äbc"), Ok(3));
        assert_eq!(p.parse_len(""), Err("empty input".into()));
        assert_eq!(p.check(true), Ok(()));
        assert_eq!(p.check(false), Err("not ok".into()));
        assert_eq!(p.nested(None), None);
        let nested = Some(vec![Ok(1), Err("two".into()), Ok(-3)]);
        assert_eq!(p.nested(nested.clone()), nested);
        assert_eq!(p.nested(Some(vec![])), Some(vec![]));
    }
}

#[test]
fn repr_c_structs_by_value_in_slices_and_in_vectors() {
    let a = Point {
        x: 1.0,
        y: -2.0,
        id: 7,
        visible: false,
    };
    let b = Point {
        x: 0.5,
        y: 4.0,
        id: 3,
        visible: true,
    };
    for p in echoes() {
        assert_eq!(p.echo_point(a), a);
        assert_eq!(
            p.sum_points(&[a, b]),
            Point {
                x: 1.5,
                y: 2.0,
                id: 7,
                visible: true
            }
        );
        assert_eq!(
            p.sum_points(&[]),
            Point {
                x: 0.0,
                y: 0.0,
                id: 0,
                visible: false
            }
        );
        assert_eq!(
            p.mirror(vec![a]),
            [Point {
                x: -1.0,
                y: 2.0,
                ..a
            }]
        );
        assert_eq!(p.mirror(Vec::new()), Vec::<Point>::new());
        let million = p.mirror(vec![a; 1_000_000]);
        assert_eq!(million.len(), 1_000_000);
        assert_eq!(
            million[999_999],
            Point {
                x: -1.0,
                y: 2.0,
                ..a
            }
        );
    }
}

#[test]
fn borrowed_return_and_mut_self() {
    let mut proxies = echoes();
    let echo = &mut proxies[0];
    assert_eq!(echo.info().entry(), "Echo");
    assert_eq!(echo.label(), "echo");
    echo.set_label("renamed ✓".into());
    assert_eq!(echo.label(), "renamed ✓");
    assert_eq!(echo.bump(), 1);
    assert_eq!(echo.bump(), 2);
    let mirror = &mut proxies[1];
    assert_eq!(mirror.label(), "mirror");
    assert_eq!(mirror.bump(), 1, "each instance has its own state");
}

#[test]
fn many_distinct_borrowed_returns_are_each_kept_once() {
    let mut proxies = echoes();
    let echo = &mut proxies[0];
    for round in 0..2 {
        for i in 0..20_000 {
            let label = format!("label {i}");
            echo.set_label(label.clone());
            assert_eq!(echo.label(), label, "round {round}");
        }
    }
}

#[test]
fn try_methods_return_ok_for_successful_calls() {
    let mut proxies = echoes();
    assert_eq!(proxies[0].try_echo_str("ok").unwrap(), "ok");
    assert_eq!(proxies[0].try_label().unwrap(), "echo");
    assert_eq!(proxies[0].try_bump().unwrap(), 1);
    proxies[0].try_set_label("set".into()).unwrap();
    assert_eq!(proxies[0].try_label().unwrap(), "set");
}
