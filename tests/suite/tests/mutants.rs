//! Corrupted copies of a real plugin: every canary field, the relocations
//! that fill its pointers and what they point to, the ELF header, the
//! program and section headers and the dynamic table. The checker must
//! refuse each bad copy with one short line (or accept it), and never
//! crash, hang or allocate without bound. It runs in a child process, so a
//! signal fails the test instead of ending the run.

use std::time::{Duration, Instant};

use plugin_interface::{LoadOptions, PluginError, PluginFile};
use plugin_tests::image::{Layout, layout};
use plugin_tests::{in_child_process, plugins};

/// Mutants per part of the file.
const PLAN: [(&str, usize); 7] = [
    ("ELF header", 300),
    ("program headers", 300),
    ("section headers", 200),
    ("dynamic table", 300),
    ("canary", 500),
    ("relocations", 400),
    ("pointed-to data", 600),
];

/// `PLUGIN_MUTANTS_SCALE=N` runs N times as many mutants and
/// `PLUGIN_MUTANTS_SEED=S` other ones, for longer runs by hand.
fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Longest refusal accepted, path included.
const MAX_LINE: usize = 300;

#[test]
fn corrupted_copies_are_refused_in_one_short_line() {
    in_child_process("corrupted_copies_are_refused_in_one_short_line", || {
        watchdog(Duration::from_secs(
            120 * setting("PLUGIN_MUTANTS_SCALE", 1),
        ));
        let full = std::fs::read(plugins().path("english-plugin")).unwrap();
        let layout = layout(&full);
        let options = LoadOptions::default();
        let name = "m.so";
        PluginFile::check_bytes(name, &layout.bytes, &options)
            .expect("the cut-down copy itself passes");
        let started = Instant::now();
        let mut random = Random(setting("PLUGIN_MUTANTS_SEED", 0x2545_f491_4f6c_dd1d) | 1);
        let scale = setting("PLUGIN_MUTANTS_SCALE", 1) as usize;
        let mut buffer = layout.bytes.clone();
        let mut accepted = 0;
        let mut refused = std::collections::BTreeMap::<String, usize>::new();
        let mut total = 0;
        for (part, count) in PLAN.map(|(part, count)| (part, count * scale)) {
            let ranges = ranges(&layout, part);
            assert!(!ranges.is_empty(), "no {part} in the file");
            for index in 0..count {
                buffer.copy_from_slice(&layout.bytes);
                let (start, size) = ranges[random.below(ranges.len())];
                let what = mutate(&mut buffer, start, size, &mut random);
                total += 1;
                match PluginFile::check_bytes(name, &buffer, &options) {
                    Ok(_) => accepted += 1,
                    Err(error) => {
                        let line = error.to_string();
                        assert!(
                            !line.contains('\n') && line.len() <= MAX_LINE,
                            "{part} mutant {index} ({what}) gave a refusal of {} bytes: {}",
                            line.len(),
                            line.escape_debug()
                        );
                        *refused.entry(kind(&error)).or_default() += 1;
                    }
                }
            }
        }
        println!(
            "{total} mutants in {:.2?}: {accepted} accepted, refused: {refused:?}",
            started.elapsed()
        );
        assert!(total >= 2000);
        assert!(
            refused.values().sum::<usize>() > total / 4,
            "most corruptions of these parts are noticed"
        );
    });
}

/// A sample of mutants goes through the file path too: one open, the
/// copy, the checks.
#[test]
fn corrupted_files_are_refused_through_the_file_path() {
    in_child_process("corrupted_files_are_refused_through_the_file_path", || {
        watchdog(Duration::from_secs(120));
        let full = std::fs::read(plugins().path("english-plugin")).unwrap();
        let layout = layout(&full);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mutant.so");
        let mut random = Random(0x9e37_79b9_7f4a_7c15);
        for index in 0..100 {
            let mut bytes = layout.bytes.clone();
            let part = PLAN[index % PLAN.len()].0;
            let ranges = ranges(&layout, part);
            let (start, size) = ranges[random.below(ranges.len())];
            mutate(&mut bytes, start, size, &mut random);
            std::fs::write(&path, &bytes).unwrap();
            if let Err(error) = PluginFile::check(&path) {
                let line = error.to_string();
                assert!(!line.contains('\n'), "{line}");
                assert!(line.len() <= MAX_LINE + path.as_os_str().len(), "{line}");
            }
        }
    });
}

fn ranges(layout: &Layout, part: &str) -> Vec<(usize, usize)> {
    match part {
        "ELF header" => vec![layout.header],
        "program headers" => vec![layout.program_headers],
        "section headers" => vec![layout.section_headers],
        "dynamic table" => vec![layout.dynamic],
        "canary" => vec![layout.canary],
        "relocations" => layout.relocations.clone(),
        "pointed-to data" => layout.targets.clone(),
        other => panic!("no part {other}"),
    }
}

/// Corrupts `bytes` somewhere in `[start, start + size)`; says how.
fn mutate(bytes: &mut [u8], start: usize, size: usize, random: &mut Random) -> String {
    let at = start + random.below(size.max(1));
    let word = |width: usize| (at / width * width).max(start).min(bytes.len() - width);
    match random.below(5) {
        0 => {
            let bit = random.below(8);
            bytes[at] ^= 1 << bit;
            format!("bit {bit} of byte {at} flipped")
        }
        1 => {
            bytes[at] = 0;
            format!("byte {at} = 0")
        }
        2 => {
            bytes[at] = 0xff;
            format!("byte {at} = 0xff")
        }
        3 => {
            let at = word(4);
            let value = [0, 1, u32::MAX, i32::MAX as u32, random.next() as u32][random.below(5)];
            bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
            format!("u32 at {at} = {value:#x}")
        }
        _ => {
            let at = word(8);
            let len = bytes.len() as u64;
            let value = [
                0,
                1,
                u64::MAX,
                1 << 40,
                len,
                len - 1,
                random.next(),
                random.next() % 4096,
            ][random.below(8)];
            bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
            format!("u64 at {at} = {value:#x}")
        }
    }
}

fn kind(error: &PluginError) -> String {
    format!("{error:?}")
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Aborts the process if the test has not finished in `limit`: a hang
/// fails instead of stalling the run.
fn watchdog(limit: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("still running after {limit:?}: a hang");
        std::process::abort();
    });
}

/// xorshift64: the same mutants on every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}
