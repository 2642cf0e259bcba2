//! A plugin links a `std` of its own, with its own stdout buffer: what
//! the plugin prints without a newline waits there. The host writes it
//! out with `PluginLibrary::flush_output`, and closing the library writes
//! out what is left instead of losing it.

use std::io::Write as _;

use plugin_interface::PluginLibrary;
use plugin_tests::plugins;
use zoo_interface::Console;

const CHILD: &str = "PLUGIN_TESTS_OUTPUT_CHILD";

/// Runs in a child process whose stdout the test reads.
fn print_from_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let path = plugins().copy_to("zoo-plugin", dir.path(), "zoo");
    let library = PluginLibrary::open(&path).unwrap();
    let console = library.instantiate::<dyn Console>().unwrap().pop().unwrap();
    let host = |text: &str| {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes()).unwrap();
        out.flush().unwrap();
    };
    host("[start]");
    console.print("[plugin, flushed]");
    library.flush_output();
    host("[host, after the flush]");
    console.print("[plugin, left in its buffer]");
    drop(console);
    library.close().unwrap();
    host("[host, after the close]\n");
}

#[test]
fn the_plugins_output_is_written_out_in_order_when_flushed_and_at_close() {
    if std::env::var_os(CHILD).is_some() {
        print_from_both_sides();
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "the_plugins_output_is_written_out_in_order_when_flushed_and_at_close",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(
            "[start][plugin, flushed][host, after the flush][plugin, left in its buffer][host, after the close]\n"
        ),
        "{stdout}"
    );
}
