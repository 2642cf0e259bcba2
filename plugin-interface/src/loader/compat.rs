//! Whether a plugin's trait can serve the host's: the interface crate, the
//! semver rules, and the structural layout of every vtable slot.
//!
//! The common case costs one fingerprint comparison. Only when fingerprints
//! differ are the layouts walked, to name the first difference in one line
//! and to build the full report behind it.

use std::fmt::Write as _;
use std::path::Path;

use crate::abi::{MethodDescriptor, TraitDescriptor};
use crate::error::PluginError;
use crate::error::{InterfaceVersions, LayoutDifference};
use crate::layout::{FieldLayout, TypeLayout, bytes};
use crate::loader::canary::text;

/// How many vtable slots of the host's trait the plugin fills: all of
/// them, or fewer when it was built against an older minor version of the
/// interface whose vtable the host's extends.
pub(crate) type Slots = u32;

/// Checks the plugin's descriptor of a trait against the host's.
pub(crate) fn check(
    path: &Path,
    host: &TraitDescriptor,
    plugin: &TraitDescriptor,
) -> Result<Slots, PluginError> {
    let versions = || InterfaceVersions {
        host_crate: text(host.interface_crate),
        host_version: text(host.interface_version),
        plugin_crate: text(plugin.interface_crate),
        plugin_version: text(plugin.interface_version),
    };
    let mismatch = |reason: String| PluginError::InterfaceMismatch {
        library: path.to_path_buf(),
        trait_name: text(host.name),
        reason,
        versions: Box::new(versions()),
    };
    if bytes(plugin.interface_crate) != host.interface_crate.as_str().as_bytes() {
        return Err(mismatch("declared by another interface crate".to_owned()));
    }
    let (Some(host_version), Some(plugin_version)) = (
        Semver::parse(host.interface_version.as_str()),
        Semver::parse(&text(plugin.interface_version)),
    ) else {
        return Err(mismatch("unreadable interface version".to_owned()));
    };
    if plugin.fingerprint == host.fingerprint && host_version.compatible_with(plugin_version) {
        return Ok(host.method_count);
    }
    let difference = || {
        first_difference(host, plugin).map(|(place, expected, found)| PluginError::LayoutMismatch {
            library: path.to_path_buf(),
            trait_name: text(host.name),
            difference: Box::new(LayoutDifference {
                place,
                expected,
                found,
                versions: versions(),
                detail: report(host, plugin),
            }),
        })
    };
    if !host_version.compatible_with(plugin_version) {
        return Err(
            difference().unwrap_or_else(|| mismatch("incompatible interface versions".to_owned()))
        );
    }
    if plugin_version.newer_than(host_version) {
        return Err(mismatch(
            "the plugin was built against a newer interface than the host's".to_owned(),
        ));
    }
    if (plugin.send, plugin.sync) != (host.send, host.sync) {
        return Err(mismatch(format!(
            "supertraits differ: plugin has {}, host has {}",
            markers(plugin.send, plugin.sync),
            markers(host.send, host.sync)
        )));
    }
    // An older or equal version: the plugin's slots must be the host's
    // first slots, unchanged.
    let host_methods = methods(host);
    let plugin_methods = methods(plugin);
    let extends = plugin_methods.len() <= host_methods.len()
        && plugin_methods
            .iter()
            .zip(host_methods)
            .all(|(p, h)| p.fingerprint == h.fingerprint);
    if extends {
        return Ok(plugin_methods.len() as Slots);
    }
    Err(difference().unwrap_or_else(|| mismatch("the vtables differ".to_owned())))
}

fn methods(descriptor: &TraitDescriptor) -> &[MethodDescriptor] {
    crate::layout::items(&descriptor.methods)
}

/// The first place where the plugin's vtable differs from the host's, as
/// (place, expected, found).
fn first_difference(
    host: &TraitDescriptor,
    plugin: &TraitDescriptor,
) -> Option<(String, String, String)> {
    let trait_name = text(host.name);
    for (index, (h, p)) in methods(host).iter().zip(methods(plugin)).enumerate() {
        if h.fingerprint == p.fingerprint {
            continue;
        }
        let host_name = text(h.name);
        let plugin_name = text(p.name);
        if host_name != plugin_name {
            return Some((
                format!("{trait_name} method {index}"),
                format!("`{host_name}`"),
                format!("`{plugin_name}`"),
            ));
        }
        let place = format!("{trait_name}::{host_name}");
        if h.mutable != p.mutable {
            return Some((
                format!("{place} receiver"),
                receiver(h.mutable),
                receiver(p.mutable),
            ));
        }
        let (host_args, plugin_args) =
            (crate::layout::items(&h.args), crate::layout::items(&p.args));
        if host_args.len() != plugin_args.len() {
            return Some((
                place,
                format!("{} arguments", host_args.len()),
                format!("{} arguments", plugin_args.len()),
            ));
        }
        for (number, (ha, pa)) in host_args.iter().zip(plugin_args).enumerate() {
            if let Some(found) =
                layout_difference(&format!("{place} argument {}", number + 1), ha.ty, pa.ty)
            {
                return Some(found);
            }
        }
        if let Some(found) = layout_difference(&format!("{place} return value"), h.ret, p.ret) {
            return Some(found);
        }
    }
    let (host_count, plugin_count) = (methods(host).len(), methods(plugin).len());
    if host_count != plugin_count {
        return Some((
            trait_name,
            format!("{host_count} methods"),
            format!("{plugin_count} methods"),
        ));
    }
    None
}

fn layout_difference(
    place: &str,
    host: &TypeLayout,
    plugin: &TypeLayout,
) -> Option<(String, String, String)> {
    if same_layout(host, plugin) {
        return None;
    }
    let (expected, found) = (host.display_name(), plugin.display_name());
    if expected != found || host.kind != plugin.kind {
        return Some((place.to_owned(), expected, found));
    }
    let here = format!("{place} ({expected})");
    if bytes(host.compiler) != bytes(plugin.compiler) {
        return Some((
            format!("{here} borrowed in the compiler's layout"),
            format!("built by {}", text(host.compiler)),
            format!("built by {}", text(plugin.compiler)),
        ));
    }
    let (hf, pf) = (
        crate::layout::items(&host.fields),
        crate::layout::items(&plugin.fields),
    );
    if let Some(found) = fields_difference(&here, hf, pf) {
        return Some(found);
    }
    let (hv, pv) = (
        crate::layout::items(&host.variants),
        crate::layout::items(&plugin.variants),
    );
    for (h, p) in hv.iter().zip(pv) {
        if bytes(h.name) != bytes(p.name) {
            return Some((
                format!("{here} variant {}", text(h.name)),
                format!("variant `{}`", text(h.name)),
                format!("variant `{}`", text(p.name)),
            ));
        }
        let variant = format!("{here} variant `{}`", text(h.name));
        let (hf, pf) = (
            crate::layout::items(&h.fields),
            crate::layout::items(&p.fields),
        );
        if let Some(found) = fields_difference(&variant, hf, pf) {
            return Some(found);
        }
    }
    if hv.len() != pv.len() {
        return Some((
            here,
            format!("{} variants", hv.len()),
            format!("{} variants", pv.len()),
        ));
    }
    let (ha, pa) = (
        crate::layout::items(&host.args),
        crate::layout::items(&plugin.args),
    );
    for (h, p) in ha.iter().zip(pa) {
        if let Some(found) = layout_difference(&here, h, p) {
            return Some(found);
        }
    }
    Some((
        place.to_owned(),
        format!("{expected} of {} bytes", host.size),
        format!("{found} of {} bytes", plugin.size),
    ))
}

/// The first difference between two lists of fields, named by field.
fn fields_difference(
    here: &str,
    host: &[FieldLayout],
    plugin: &[FieldLayout],
) -> Option<(String, String, String)> {
    for (index, (h, p)) in host.iter().zip(plugin).enumerate() {
        let name = text(h.name);
        if bytes(h.name) != bytes(p.name) {
            return Some((
                format!("{here} field {}", index + 1),
                format!("field `{name}`"),
                format!("field `{}`", text(p.name)),
            ));
        }
        if !same_layout(h.ty, p.ty) {
            let place = format!("{here} field `{name}`");
            return layout_difference(&place, h.ty, p.ty)
                .or_else(|| Some((place, field(h), field(p))));
        }
        if h.offset != p.offset {
            return Some((format!("{here} field `{name}`"), field(h), field(p)));
        }
    }
    (host.len() != plugin.len()).then(|| {
        (
            here.to_owned(),
            format!("{} fields", host.len()),
            format!("{} fields", plugin.len()),
        )
    })
}

fn same_layout(a: &TypeLayout, b: &TypeLayout) -> bool {
    let hash = |layout| crate::layout::Fnv::new().layout(layout).finish();
    hash(a) == hash(b)
}

fn field(field: &FieldLayout) -> String {
    format!("{} at offset {}", field.ty.display_name(), field.offset)
}

fn receiver(mutable: bool) -> String {
    if mutable { "`&mut self`" } else { "`&self`" }.to_owned()
}

fn markers(send: bool, sync: bool) -> &'static str {
    match (send, sync) {
        (true, true) => "`Send + Sync`",
        (true, false) => "`Send`",
        (false, true) => "`Sync`",
        (false, false) => "neither `Send` nor `Sync`",
    }
}

/// Both descriptors in full, side by side per method.
fn report(host: &TraitDescriptor, plugin: &TraitDescriptor) -> String {
    let mut out = String::new();
    for (side, descriptor) in [("host", host), ("plugin", plugin)] {
        let _ = writeln!(
            out,
            "{side}: trait {} from {} {}, {} methods, vtable {} bytes, fingerprint {:016x}",
            text(descriptor.name),
            text(descriptor.interface_crate),
            text(descriptor.interface_version),
            descriptor.method_count,
            descriptor.vtable_size,
            descriptor.fingerprint
        );
        for method in methods(descriptor) {
            let _ = writeln!(
                out,
                "  {}  [{:016x}]",
                text(method.signature),
                method.fingerprint
            );
            for arg in crate::layout::items(&method.args) {
                let _ = writeln!(out, "    {}: {}", text(arg.name), describe(arg.ty));
            }
            let _ = writeln!(out, "    -> {}", describe(method.ret));
        }
    }
    out
}

fn describe(layout: &TypeLayout) -> String {
    let mut out = format!(
        "{} (size {}, align {})",
        layout.display_name(),
        layout.size,
        layout.align
    );
    let fields = crate::layout::items(&layout.fields);
    if !fields.is_empty() {
        let fields: Vec<String> = fields
            .iter()
            .map(|f| format!("{}: {}", text(f.name), field(f)))
            .collect();
        let _ = write!(out, " {{ {} }}", fields.join(", "));
    }
    out
}

/// The numeric part of a semver version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Semver {
    major: u64,
    minor: u64,
    patch: u64,
}

impl Semver {
    fn parse(text: &str) -> Option<Self> {
        let core = text.split(['-', '+']).next()?;
        let mut parts = core.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Self {
            major,
            minor,
            patch,
        })
    }

    /// Cargo's rule: same major; for `0.x` the minor is the major, and for
    /// `0.0.x` the patch.
    fn compatible_with(self, other: Self) -> bool {
        match (self.major, self.minor) {
            (0, 0) => self == other,
            (0, _) => other.major == 0 && self.minor == other.minor,
            _ => self.major == other.major,
        }
    }

    /// Whether `self` adds API over `other` (a later minor; for `0.x`, a
    /// later patch).
    fn newer_than(self, other: Self) -> bool {
        if self.major == 0 {
            self.patch > other.patch
        } else {
            self.minor > other.minor
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::MethodDescriptor;
    use crate::layout::{ArgLayout, known};

    static GREET_ARGS: [ArgLayout; 1] = [ArgLayout {
        name: crate::repr::RStr::new("target"),
        ty: known::RSTR,
    }];
    static GREET_U64_ARGS: [ArgLayout; 1] = [ArgLayout {
        name: crate::repr::RStr::new("target"),
        ty: known::U64,
    }];
    static V1: [MethodDescriptor; 1] = [MethodDescriptor::new(
        "greet",
        "fn greet(&self, target: &str) -> String",
        false,
        &GREET_ARGS,
        known::RSTRING,
    )];
    static V1_1: [MethodDescriptor; 2] = [
        MethodDescriptor::new(
            "greet",
            "fn greet(&self, target: &str) -> String",
            false,
            &GREET_ARGS,
            known::RSTRING,
        ),
        MethodDescriptor::new(
            "farewell",
            "fn farewell(&self, target: &str) -> String",
            false,
            &GREET_ARGS,
            known::RSTRING,
        ),
    ];
    static V2: [MethodDescriptor; 1] = [MethodDescriptor::new(
        "greet",
        "fn greet(&self, target: u64) -> String",
        false,
        &GREET_U64_ARGS,
        known::RSTRING,
    )];

    fn descriptor(version: &'static str, methods: &'static [MethodDescriptor]) -> TraitDescriptor {
        TraitDescriptor::new(
            "Greeter",
            "greeter-interface",
            version,
            24 + 8 * methods.len(),
            true,
            true,
            methods,
        )
    }

    fn error(host: &TraitDescriptor, plugin: &TraitDescriptor) -> String {
        check(Path::new("libx.so"), host, plugin)
            .unwrap_err()
            .to_string()
    }

    /// Two releases of one interface's data types, as a host and a plugin
    /// built against each would describe them.
    mod before {
        use crate::PluginData;

        #[derive(PluginData)]
        pub enum Shape {
            Circle { radius: f64 },
            Rect(f64, f64),
        }

        #[derive(PluginData)]
        pub struct Person {
            pub name: String,
            pub age: Option<u32>,
            pub home: Shape,
        }
    }

    mod renamed_variant {
        use crate::PluginData;

        #[derive(PluginData)]
        pub enum Shape {
            Round { radius: f64 },
            Rect(f64, f64),
        }
    }

    mod retyped_field {
        use crate::PluginData;

        #[derive(PluginData)]
        pub enum Shape {
            Circle { radius: f64 },
            Rect(f64, f64),
        }

        #[derive(PluginData)]
        pub struct Person {
            pub name: String,
            pub age: Option<u64>,
            pub home: Shape,
        }
    }

    mod added_variant_field {
        use crate::PluginData;

        #[derive(PluginData)]
        pub enum Shape {
            Circle { radius: f64 },
            Rect(f64, f64, f64),
        }

        #[derive(PluginData)]
        pub struct Person {
            pub name: String,
            pub age: Option<u32>,
            pub home: Shape,
        }
    }

    mod reordered_field {
        use crate::PluginData;

        #[derive(PluginData)]
        pub struct Person {
            pub age: Option<u32>,
            pub name: String,
            pub home: super::before::Shape,
        }
    }

    fn verdict(host: &TypeLayout, plugin: &TypeLayout) -> String {
        let (place, expected, found) =
            layout_difference("Zoo::rename argument 1", host, plugin).expect("a difference");
        format!("{place}: expected {expected}, found {found}")
    }

    #[test]
    fn a_renamed_variant_is_named() {
        use crate::PluginData;
        assert_eq!(
            verdict(
                <before::Shape as PluginData>::LAYOUT,
                <renamed_variant::Shape as PluginData>::LAYOUT
            ),
            "Zoo::rename argument 1 (Shape) variant Circle: expected variant `Circle`, found variant `Round`"
        );
    }

    #[test]
    fn a_changed_variant_inside_a_struct_is_named() {
        use crate::PluginData;
        assert_eq!(
            verdict(
                <before::Person as PluginData>::LAYOUT,
                <added_variant_field::Person as PluginData>::LAYOUT
            ),
            "Zoo::rename argument 1 (Person) field `home` (Shape) variant `Rect`: expected 2 fields, found 3 fields"
        );
    }

    #[test]
    fn a_retyped_field_is_named() {
        use crate::PluginData;
        assert_eq!(
            verdict(
                <before::Person as PluginData>::LAYOUT,
                <retyped_field::Person as PluginData>::LAYOUT
            ),
            "Zoo::rename argument 1 (Person) field `age`: expected ROption<u32>, found ROption<u64>"
        );
    }

    #[test]
    fn a_reordered_field_is_named() {
        use crate::PluginData;
        assert_eq!(
            verdict(
                <before::Person as PluginData>::LAYOUT,
                <reordered_field::Person as PluginData>::LAYOUT
            ),
            "Zoo::rename argument 1 (Person) field 1: expected field `name`, found field `age`"
        );
    }

    #[test]
    fn a_borrowed_type_under_another_compiler_is_named() {
        use crate::PluginData;
        let host = <before::Person as PluginData>::NATIVE;
        let mut plugin = TypeLayout::native::<before::Person>("Person", &[], &[], &[]);
        plugin.fields = host.fields;
        plugin.compiler = crate::repr::RStr::new("rustc 1.80.0 (051478957 2024-07-21)");
        let verdict = verdict(host, &plugin);
        assert!(
            verdict.starts_with(
                "Zoo::rename argument 1 (Person) borrowed in the compiler's layout: expected built by rustc"
            ),
            "{verdict}"
        );
        assert!(
            verdict.ends_with("found built by rustc 1.80.0 (051478957 2024-07-21)"),
            "{verdict}"
        );
    }

    #[test]
    fn the_same_interface_fills_every_slot() {
        assert_eq!(
            check(
                Path::new("x"),
                &descriptor("1.0.0", &V1),
                &descriptor("1.0.3", &V1)
            )
            .unwrap(),
            1
        );
    }

    #[test]
    fn an_older_minor_fills_the_slots_it_has() {
        assert_eq!(
            check(
                Path::new("x"),
                &descriptor("1.1.0", &V1_1),
                &descriptor("1.0.0", &V1)
            )
            .unwrap(),
            1
        );
    }

    #[test]
    fn a_newer_minor_is_refused() {
        assert_eq!(
            error(&descriptor("1.0.0", &V1), &descriptor("1.1.0", &V1_1)),
            "libx.so: Greeter: the plugin was built against a newer interface than the host's \
             (plugin built against greeter-interface 1.1.0, host has greeter-interface 1.0.0)"
        );
    }

    #[test]
    fn a_changed_argument_is_named_with_both_versions() {
        let error = check(
            Path::new("libx.so"),
            &descriptor("2.0.0", &V2),
            &descriptor("1.1.0", &V1_1),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "libx.so: Greeter::greet argument 1: expected u64, found RStr \
             (plugin built against greeter-interface 1.1.0, host has greeter-interface 2.0.0)"
        );
        let detail = error.detail().unwrap();
        assert!(
            detail.contains("host: trait Greeter from greeter-interface 2.0.0"),
            "{detail}"
        );
        assert!(
            detail.contains("target: RStr (size 16, align 8)"),
            "{detail}"
        );
    }

    #[test]
    fn a_changed_layout_under_the_same_version_is_refused() {
        assert!(
            error(&descriptor("1.0.0", &V1), &descriptor("1.0.0", &V2))
                .starts_with("libx.so: Greeter::greet argument 1: expected RStr, found u64")
        );
    }

    #[test]
    fn an_incompatible_major_without_layout_change_is_refused() {
        assert!(
            error(&descriptor("2.0.0", &V1), &descriptor("1.0.0", &V1))
                .contains("incompatible interface versions")
        );
    }

    #[test]
    fn semver_follows_cargo() {
        let v = |s| Semver::parse(s).unwrap();
        assert!(v("1.0.0").compatible_with(v("1.4.2")));
        assert!(!v("1.0.0").compatible_with(v("2.0.0")));
        assert!(v("0.3.1").compatible_with(v("0.3.0")));
        assert!(!v("0.3.1").compatible_with(v("0.4.0")));
        assert!(v("0.0.3").compatible_with(v("0.0.3")));
        assert!(!v("0.0.3").compatible_with(v("0.0.4")));
        assert!(v("1.2.3-beta.1+build").compatible_with(v("1.0.0")));
        assert!(v("1.2.0").newer_than(v("1.1.9")));
        assert!(!v("1.1.9").newer_than(v("1.2.0")));
        assert_eq!(Semver::parse("1.2"), None);
        assert_eq!(Semver::parse("1.2.3.4"), None);
    }
}
