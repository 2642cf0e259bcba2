//! Arbitrary bytes as a plugin file: the checker refuses them in one
//! bounded line, or accepts them, and never crashes or hangs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plugin_interface::{LoadOptions, PluginFile};

fuzz_target!(|data: &[u8]| {
    if let Err(error) = PluginFile::check_bytes("fuzz.so", data, &LoadOptions::default()) {
        let line = error.to_string();
        assert!(!line.contains('\n'), "{line}");
        assert!(line.len() <= 300, "{} bytes: {line}", line.len());
    }
});
