//! `plugin-worker`: serves one plugin library to a host over the socket
//! the host started it with (see `plugin_interface::isolation`). Ship it
//! beside the host executable.

fn main() -> std::process::ExitCode {
    plugin_interface::isolation::worker_main()
}
