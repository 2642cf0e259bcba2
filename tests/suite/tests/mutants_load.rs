//! Corrupted program headers and dynamic tables, loaded: what the checker
//! accepts, the dynamic loader maps and relocates without a signal. Each
//! accepted copy is opened in a child process, so a crash fails the test
//! instead of ending the run.
//!
//! Loadable segments' headers and the values of `DT_INIT` and `DT_FINI`
//! are left alone: they decide which bytes run as code, and code is the
//! plugin's own (a file that passes the checks runs).

use std::path::Path;
use std::process::Command;

use plugin_interface::{LoadOptions, PluginFile, PluginLibrary};
use plugin_tests::image::layout;
use plugin_tests::plugins;

const TEST: &str = "structurally_corrupted_copies_load_or_are_refused_without_a_signal";
const MUTANT: &str = "PLUGIN_MUTANT_FILE";

#[test]
fn structurally_corrupted_copies_load_or_are_refused_without_a_signal() {
    if let Some(file) = std::env::var_os(MUTANT) {
        // The child: open the copy the parent wrote, and close it.
        let options = LoadOptions::default().allow_insecure_permissions(true);
        if let Ok(library) = PluginLibrary::open_with(Path::new(&file), &options) {
            drop(library.close());
        }
        return;
    }
    let full = std::fs::read(plugins().path("english-plugin")).unwrap();
    let layout = layout(&full);
    let dir = tempfile::tempdir().unwrap();
    let options = LoadOptions::default();
    let mut random = 0x853c_49e6_748f_ea9bu64;
    let (mut accepted, mut refused) = (0, 0);
    for index in 0..600 {
        let mut bytes = layout.bytes.clone();
        let (start, size) = if index % 2 == 0 {
            layout.program_headers
        } else {
            layout.dynamic
        };
        let at = start + (next(&mut random) % size as u64) as usize;
        if index % 2 == 0 {
            let entry = start + (at - start) / 56 * 56;
            let kind = u32::from_ne_bytes(bytes[entry..entry + 4].try_into().unwrap());
            if kind == 1 {
                continue;
            }
        } else {
            let entry = start + (at - start) / 16 * 16;
            let tag = u64::from_ne_bytes(bytes[entry..entry + 8].try_into().unwrap());
            if (tag == 12 || tag == 13) && at >= entry + 8 {
                continue;
            }
        }
        bytes[at] ^= 1 << (next(&mut random) % 8);
        if PluginFile::check_bytes("m.so", &bytes, &options).is_err() {
            refused += 1;
            continue;
        }
        accepted += 1;
        let path = dir.path().join(format!("mutant-{index}.so"));
        std::fs::write(&path, &bytes).unwrap();
        let status = Command::new(std::env::current_exe().unwrap())
            .args([TEST, "--exact", "--test-threads", "1"])
            .env(MUTANT, &path)
            .output()
            .expect("re-running the test binary")
            .status;
        assert!(
            status.code().is_some(),
            "mutant {index} (bit flipped at byte {at}) ended the process that loaded it: {status}"
        );
        std::fs::remove_file(&path).unwrap();
    }
    println!("{accepted} accepted and loaded without a signal, {refused} refused");
    assert!(accepted > 0 && refused > 0);
}

/// xorshift64.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}
