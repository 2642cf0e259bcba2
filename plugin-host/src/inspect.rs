//! `plugin-host inspect LIB`: one library in detail.

use std::path::Path;
use std::process::ExitCode;

use greeter_interface::Greeter;
use plugin_interface::{LoadOptions, PluginFile, PluginInterface};

use crate::describe::{self, Status};

/// Prints everything the canary of `path` says: framework, compiler,
/// target, panic strategy, and for each trait its interface crate and
/// version, vtable size, method signatures and entries; and the file's
/// SHA-256. For `Greeter` it also says whether this host can use it. The
/// file is read, never loaded. Exits with 1 if the library fails a check.
pub fn inspect(path: &Path, options: &LoadOptions) -> ExitCode {
    let mut status = Status::default();
    let library = match PluginFile::check_with(path, options) {
        Ok(library) => library,
        Err(error) => {
            status.fail(describe::refusal(path, error));
            return status.exit_code();
        }
    };
    let canary = library.canary();
    println!("{}", describe::shown(path, library.target()));
    println!("  sha256:           {}", library.sha256_hex());
    println!("  canary version:   {}", canary.canary_version);
    println!("  ABI epoch:        {}", canary.abi_epoch);
    println!("  plugin-interface: {}", canary.framework_version);
    println!("  compiler:         {}", canary.rustc_version);
    println!("  target:           {}", canary.target);
    println!(
        "  panic strategy:   {}",
        describe::panic_strategy(canary.panic_strategy)
    );
    if canary.traits.is_empty() {
        println!("  traits:           none");
    }
    for info in &canary.traits {
        println!("  trait {}", info.name);
        println!(
            "    interface: {} {}",
            info.interface_crate, info.interface_version
        );
        println!(
            "    vtable:    {} bytes, {} methods",
            info.vtable_size,
            info.methods.len()
        );
        for method in &info.methods {
            println!("      {}", method.signature);
        }
        match library.entries(&info.name) {
            Ok(entries) => println!("    entries:   {}", describe::entry_names(&entries)),
            Err(error) => {
                println!("    entries:   unavailable");
                status.fail(error);
            }
        }
        if describe::is_hosts_greeter(info) {
            let host = <dyn Greeter as PluginInterface>::DESCRIPTOR;
            match library.check_interface::<dyn Greeter>() {
                Ok(()) => println!(
                    "    host:      compatible with {} {}",
                    host.interface_crate.as_str(),
                    host.interface_version.as_str()
                ),
                Err(error) => {
                    println!("    host:      incompatible");
                    status.fail(error);
                }
            }
        }
    }
    status.exit_code()
}
