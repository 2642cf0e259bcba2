//! Whatever file lands in a plugin directory, the host refuses it with one
//! line that says what is wrong, and never crashes. Cases that could crash
//! a host run in a child process.

use std::path::{Path, PathBuf};

use object::read::elf::{FileHeader as _, ProgramHeader as _};
use plugin_interface::{LoadOptions, PluginError, PluginLibrary, abi};
use plugin_tests::{in_child_process, patch, plugins};

/// The bytes of a real plugin library.
fn plugin_bytes() -> Vec<u8> {
    std::fs::read(plugins().path("english-plugin")).unwrap()
}

/// Writes `bytes` into `dir` as `<name>.so` and opens it.
fn open_bytes(
    dir: &Path,
    name: &str,
    bytes: &[u8],
) -> (PathBuf, Result<PluginLibrary, PluginError>) {
    let path = dir.join(format!("{name}.{}", std::env::consts::DLL_EXTENSION));
    std::fs::write(&path, bytes).unwrap();
    let result = PluginLibrary::open(&path);
    (path, result)
}

/// The refusal of `bytes`, checked to be one line naming the file.
fn refusal(dir: &Path, name: &str, bytes: &[u8]) -> PluginError {
    let (path, result) = open_bytes(dir, name, bytes);
    let error = result.expect_err(name);
    let line = error.to_string();
    assert!(line.starts_with(&format!("{}: ", path.display())), "{line}");
    assert!(!line.contains('\n'), "{line}");
    assert_eq!(error.library(), path);
    error
}

fn reason(error: &PluginError) -> &str {
    match error {
        PluginError::NotALibrary { reason, .. } => reason,
        other => panic!("expected NotALibrary, got {other:?}"),
    }
}

/// (offset, end) of each loadable segment in the file.
fn loadable_segments(bytes: &[u8]) -> Vec<(u64, u64)> {
    let header = object::elf::FileHeader64::<object::Endianness>::parse(bytes).unwrap();
    let endian = header.endian().unwrap();
    header
        .program_headers(endian, bytes)
        .unwrap()
        .iter()
        .filter(|segment| segment.p_type(endian) == object::elf::PT_LOAD)
        .map(|s| (s.p_offset(endian), s.p_offset(endian) + s.p_filesz(endian)))
        .collect()
}

#[test]
fn truncated_copies_are_refused_before_dlopen() {
    in_child_process("truncated_copies_are_refused_before_dlopen", || {
        let dir = tempfile::tempdir().unwrap();
        let bytes = plugin_bytes();
        let segments = loadable_segments(&bytes);
        let (first_start, first_end) = segments[0];
        let last_end = segments.last().unwrap().1;
        let cuts = [
            (0, "empty file"),
            (63, "header is cut off"),
            (64, "truncated: its program headers end at byte"),
            (200, "truncated: its program headers end at byte"),
            ((first_start + first_end) / 2, "truncated: loadable segment"),
            (last_end - 1, "truncated: loadable segment"),
        ];
        for (cut, expected) in cuts {
            let error = refusal(dir.path(), &format!("cut-{cut}"), &bytes[..cut as usize]);
            assert!(reason(&error).contains(expected), "cut at {cut}: {error}");
        }
    });
}

#[test]
fn files_that_are_not_shared_libraries_are_refused() {
    in_child_process("files_that_are_not_shared_libraries_are_refused", || {
        let dir = tempfile::tempdir().unwrap();
        let mut random = vec![0u8; 4096];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for byte in &mut random {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
        random[0] = b'#';
        let mut elf_then_random = random.clone();
        elf_then_random[..4].copy_from_slice(b"\x7fELF");
        let cases: [(&str, Vec<u8>, &str); 5] = [
            ("random", random, "not an ELF file"),
            (
                "elf-then-random",
                elf_then_random,
                "not a 64-bit ELF file for this machine",
            ),
            ("empty", Vec::new(), "empty file"),
            (
                "text",
                b"this is not a library\n".to_vec(),
                "not an ELF file (it starts with \"this is not a li\")",
            ),
            (
                "relocatable",
                relocatable_object(),
                "a relocatable object (.o), not a shared library",
            ),
        ];
        for (name, bytes, expected) in cases {
            let error = refusal(dir.path(), name, &bytes);
            assert!(reason(&error).contains(expected), "{name}: {error}");
        }
    });
}

#[test]
fn a_library_of_another_architecture_is_refused() {
    in_child_process("a_library_of_another_architecture_is_refused", || {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = plugin_bytes();
        // e_machine, at offset 18 of a 64-bit ELF header.
        let other = if cfg!(target_arch = "aarch64") {
            object::elf::EM_X86_64
        } else {
            object::elf::EM_AARCH64
        };
        bytes[18..20].copy_from_slice(&other.0.to_le_bytes());
        let error = refusal(dir.path(), "other-arch", &bytes);
        assert!(reason(&error).contains("built for "), "{error}");
        assert!(
            reason(&error).contains(&format!("this host is {}", std::env::consts::ARCH)),
            "{error}"
        );
    });
}

/// A real relocatable object file, as a compiler writes one.
fn relocatable_object() -> Vec<u8> {
    use object::write::{Object, StandardSection, Symbol, SymbolSection};
    use object::{Architecture, BinaryFormat, Endianness, SymbolFlags, SymbolKind, SymbolScope};
    let architecture = if cfg!(target_arch = "aarch64") {
        Architecture::Aarch64
    } else {
        Architecture::X86_64
    };
    let mut object = Object::new(BinaryFormat::Elf, architecture, Endianness::Little);
    let text = object.section_id(StandardSection::Text);
    let offset = object.append_section_data(text, &[0xc3], 1);
    object.add_symbol(Symbol {
        name: b"plugin_register_all_Greeter_v1".to_vec(),
        value: offset,
        size: 1,
        kind: SymbolKind::Text,
        scope: SymbolScope::Dynamic,
        weak: false,
        section: SymbolSection::Section(text),
        flags: SymbolFlags::None,
    });
    object.write().unwrap()
}

#[test]
fn a_real_library_that_is_not_a_plugin_is_refused() {
    let path = plugins().path("not-a-plugin");
    let error = PluginLibrary::open(path).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: not a plugin: no `plugin_canary_v1` symbol (plugin libraries are built with `#[plugin_aggregates]`)",
            path.display()
        )
    );
}

/// A copy of a real plugin with its canary edited in place.
fn edited_plugin(
    dir: &Path,
    name: &str,
    edit: impl FnOnce(&mut Vec<u8>),
) -> (PathBuf, Result<PluginLibrary, PluginError>) {
    let mut bytes = plugin_bytes();
    edit(&mut bytes);
    open_bytes(dir, name, &bytes)
}

/// Where the canary's magic starts in a plugin file.
fn canary_at(bytes: &[u8]) -> usize {
    let positions: Vec<usize> = bytes
        .windows(8)
        .enumerate()
        .filter(|(_, w)| *w == abi::CANARY_MAGIC)
        .map(|(at, _)| at)
        .collect();
    assert_eq!(positions.len(), 1, "one canary in the file");
    positions[0]
}

#[test]
fn a_canary_of_another_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, result) = edited_plugin(dir.path(), "canary-v0", |bytes| {
        assert!(patch(bytes, b"plugin_canary_v1", b"plugin_canary_v0") >= 1);
    });
    let error = result.unwrap_err();
    assert!(
        matches!(
            error,
            PluginError::CanaryVersion {
                expected: 1,
                found: 0,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{}: canary version 0, this host reads version 1 (plugin built with another release of plugin-interface)",
            path.display()
        )
    );
}

#[test]
fn a_wrong_magic_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, result) = edited_plugin(dir.path(), "bad-magic", |bytes| {
        let at = canary_at(bytes);
        bytes[at..at + 8].copy_from_slice(b"NOTMAGIC");
    });
    assert_eq!(
        result.unwrap_err().to_string(),
        format!(
            "{}: canary magic is \"NOTMAGIC\", expected \"RSPLUGIN\"",
            path.display()
        )
    );
}

#[test]
fn another_framework_abi_epoch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, result) = edited_plugin(dir.path(), "epoch", |bytes| {
        let at = canary_at(bytes) + 12;
        bytes[at..at + 4].copy_from_slice(&99u32.to_le_bytes());
    });
    let error = result.unwrap_err();
    assert!(
        matches!(
            error,
            PluginError::AbiEpoch {
                expected: abi::ABI_EPOCH,
                found: 99,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{}: framework ABI epoch 99, expected {} (plugin built with plugin-interface {v}, host has {v})",
            path.display(),
            abi::ABI_EPOCH,
            v = abi::FRAMEWORK_VERSION
        )
    );
}

#[test]
fn a_panic_abort_plugin_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let (path, result) = edited_plugin(dir.path(), "abort", |bytes| {
        // `panic_strategy`: after the 16-byte header and three 16-byte
        // strings.
        let at = canary_at(bytes) + 64;
        assert_eq!(bytes[at], abi::PanicStrategy::Unwind as u8);
        bytes[at] = abi::PanicStrategy::Abort as u8;
    });
    assert_eq!(
        result.unwrap_err().to_string(),
        format!(
            "{}: built with panic = \"abort\"; a panic in it would abort the host (allow it with `LoadOptions::allow_panic_abort`)",
            path.display()
        )
    );
    let allowed =
        PluginLibrary::open_with(&path, &LoadOptions::default().allow_panic_abort(true)).unwrap();
    assert_eq!(
        allowed.canary().panic_strategy,
        Some(abi::PanicStrategy::Abort)
    );
}

#[test]
fn a_plugin_for_another_target_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = abi::TARGET.as_bytes();
    let mut other = target.to_vec();
    *other.last_mut().unwrap() = b'X';
    let (path, result) = edited_plugin(dir.path(), "target", |bytes| {
        assert!(patch(bytes, target, &other) >= 1);
    });
    assert_eq!(
        result.unwrap_err().to_string(),
        format!(
            "{}: built for target {}, this host is {}",
            path.display(),
            String::from_utf8_lossy(&other),
            abi::TARGET
        )
    );
}
