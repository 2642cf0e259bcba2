//! A real plugin library with fuzzer-chosen bytes written over it: the
//! input is a list of (offset, bytes) patches applied to the library named
//! by `PLUGIN_FUZZ_LIBRARY` (for instance
//! `target/debug/libenglish_plugin.so`), so the fuzzer starts from a file
//! that passes every check and explores the canary, its relocations and
//! the ELF tables around them.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use plugin_interface::{LoadOptions, PluginFile};

fn library() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = std::env::var_os("PLUGIN_FUZZ_LIBRARY")
            .expect("PLUGIN_FUZZ_LIBRARY names a plugin library to mutate");
        std::fs::read(path).expect("the library named by PLUGIN_FUZZ_LIBRARY")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut bytes = library().to_vec();
    // Each patch: 4 bytes of offset (modulo the file's length), 1 byte of
    // length, then that many bytes.
    let mut rest = data;
    while rest.len() >= 5 {
        let offset = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize % bytes.len();
        let length = usize::from(rest[4]).min(rest.len() - 5);
        let end = (offset + length).min(bytes.len());
        bytes[offset..end].copy_from_slice(&rest[5..5 + (end - offset)]);
        rest = &rest[5 + length..];
    }
    if let Err(error) = PluginFile::check_bytes("fuzz.so", &bytes, &LoadOptions::default()) {
        let line = error.to_string();
        assert!(!line.contains('\n'), "{line}");
        assert!(line.len() <= 300, "{} bytes: {line}", line.len());
    }
});
