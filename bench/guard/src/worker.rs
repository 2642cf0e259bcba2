//! `plugin-worker`: the worker process of the isolation measurements
//! (`examples/isolation.rs`), the one line a host application's own
//! package needs.

fn main() -> std::process::ExitCode {
    plugin_interface::isolation::worker_main()
}
