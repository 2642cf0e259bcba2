//! Corrupted program headers and dynamic tables, loaded: what the checker
//! accepts, the dynamic loader maps and relocates without a signal. Each
//! accepted copy is opened in a child process, so a crash fails the test
//! instead of ending the run.
//!
//! Loadable segments' headers are left alone, and so are the values of
//! `DT_INIT` and `DT_FINI` and the places and sizes of the relocation
//! tables: they decide which bytes run as code, or which code addresses
//! the dynamic loader fills in (a table moved elsewhere leaves the PLT's
//! slots unfilled), and code is the plugin's own: a file that passes the
//! checks runs. The checker still reads all of them without a signal
//! (`mutants.rs`).

use std::path::Path;
use std::process::Command;

use plugin_interface::{LoadOptions, PluginFile, PluginLibrary};
use plugin_tests::image::layout;
use plugin_tests::plugins;

const TEST: &str = "structurally_corrupted_copies_load_or_are_refused_without_a_signal";
const MUTANT: &str = "PLUGIN_MUTANT_FILE";

/// Dynamic tags whose values decide what runs: `DT_INIT`, `DT_FINI`, and
/// where the relocation tables are and how long (`DT_RELA`, `DT_RELASZ`,
/// `DT_JMPREL`, `DT_PLTRELSZ`, `DT_RELR`, `DT_RELRSZ`).
const CODE_TAGS: [u64; 8] = [12, 13, 7, 8, 23, 2, 36, 35];

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
            if CODE_TAGS.contains(&tag) && at >= entry + 8 {
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

/// A library whose thread-local storage template is hidden (its `PT_TLS`
/// header given another type) still carries thread-local relocations of
/// its own: the dynamic loader would apply them with no storage set up,
/// and the first access would crash. The checker refuses it, naming why.
#[test]
fn thread_local_relocations_without_a_storage_template_are_refused() {
    let full = std::fs::read(plugins().path("english-plugin")).unwrap();
    let mut bytes = layout(&full).bytes;
    let (start, size) = layout(&full).program_headers;
    let tls = (start..start + size)
        .step_by(56)
        .find(|&at| u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap()) == 7)
        .expect("a PT_TLS header");
    bytes[tls + 2] ^= 0x80;
    let error = PluginFile::check_bytes("tls.so", &bytes, &LoadOptions::default()).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("thread-local relocation") && message.contains("PT_TLS"),
        "{message}"
    );
}
