//! The names of every symbol a plugin library exports.
//!
//! The macros in `plugin-annotations` emit these names and the loader in
//! `plugin-interface` looks them up, so both sides compute them here and
//! nowhere else.
//!
//! ```
//! use plugin_symbols as sym;
//!
//! assert_eq!(sym::register("Greeter", "English"), "plugin_register_Greeter_English_v1");
//! assert_eq!(sym::register_all("Greeter"), "plugin_register_all_Greeter_v1");
//! assert_eq!(sym::CANARY, "plugin_canary_v1");
//! ```

/// Version suffix of every per-trait symbol. It changes only when the shape
/// of the exported functions changes.
pub const SYMBOL_VERSION: u32 = 1;

/// Version of the canary static's layout; part of [`CANARY`].
pub const CANARY_VERSION: u32 = 1;

/// The exported canary static, read before any plugin function is called.
pub const CANARY: &str = "plugin_canary_v1";

/// Offers the host's allocator to a library, which takes it when built
/// with `#[plugin_aggregates(..., allocator = host)]`; every library
/// exports it.
pub const ALLOCATOR: &str = "plugin_allocator_v1";

/// Flushes the library's own `std` output buffers (each library links a
/// `std` of its own, with its own stdout buffer); every library built with
/// this version exports it.
pub const FLUSH_OUTPUT: &str = "plugin_flush_output_v1";

/// Hands a library the host's table (its logger, the framework version,
/// the construction in progress) right after [`ALLOCATOR`]; every library
/// exports it.
pub const HOST: &str = "plugin_host_v1";

/// Lists the plugin traits a library needs as services
/// (`#[plugin_aggregates(Trait, requires(Other, ...))]`); every library
/// exports it.
pub const REQUIRES: &str = "plugin_requires_v1";

/// Prefix shared by every canary symbol, whatever its version.
pub const CANARY_PREFIX: &str = "plugin_canary_v";

/// Maker of one implementation: `plugin_register_<Trait>_<Type>_v1`.
pub fn register(trait_name: &str, type_name: &str) -> String {
    format!("plugin_register_{trait_name}_{type_name}_v{SYMBOL_VERSION}")
}

/// Unmaker of one implementation: `plugin_unregister_<Trait>_<Type>_v1`.
pub fn unregister(trait_name: &str, type_name: &str) -> String {
    format!("plugin_unregister_{trait_name}_{type_name}_v{SYMBOL_VERSION}")
}

/// Makes every implementation of a trait: `plugin_register_all_<Trait>_v1`.
pub fn register_all(trait_name: &str) -> String {
    format!("plugin_register_all_{trait_name}_v{SYMBOL_VERSION}")
}

/// Frees what [`register_all`] made: `plugin_unregister_all_<Trait>_v1`.
pub fn unregister_all(trait_name: &str) -> String {
    format!("plugin_unregister_all_{trait_name}_v{SYMBOL_VERSION}")
}

/// Number of unmaker calls of a trait: `plugin_unmaker_counter_<Trait>_v1`.
pub fn unmaker_counter(trait_name: &str) -> String {
    format!("plugin_unmaker_counter_{trait_name}_v{SYMBOL_VERSION}")
}

/// Lists the implementations of a trait without constructing any:
/// `plugin_factories_<Trait>_v1`.
pub fn factories(trait_name: &str) -> String {
    format!("plugin_factories_{trait_name}_v{SYMBOL_VERSION}")
}

/// Saves an instance's state before a reload, for implementations declared
/// with `#[plugin_impl(Trait, state)]`: `plugin_save_state_<Trait>_<Type>_v1`.
pub fn save_state(trait_name: &str, type_name: &str) -> String {
    format!("plugin_save_state_{trait_name}_{type_name}_v{SYMBOL_VERSION}")
}

/// Restores saved state into a fresh instance after a reload:
/// `plugin_load_state_<Trait>_<Type>_v1`.
pub fn load_state(trait_name: &str, type_name: &str) -> String {
    format!("plugin_load_state_{trait_name}_{type_name}_v{SYMBOL_VERSION}")
}

/// The serialised path of one implementation:
/// `plugin_dispatch_<Trait>_<Type>_v1` takes a method index and its
/// encoded arguments and hands back the encoded result.
pub fn dispatch(trait_name: &str, type_name: &str) -> String {
    format!("plugin_dispatch_{trait_name}_{type_name}_v{SYMBOL_VERSION}")
}

/// `name` with a trailing NUL, as `dlsym` wants it.
pub fn c_name(name: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(name.len() + 1);
    bytes.extend_from_slice(name.as_bytes());
    bytes.push(0);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_impl_symbols_follow_the_seed_scheme() {
        assert_eq!(
            register("Greeter", "English"),
            "plugin_register_Greeter_English_v1"
        );
        assert_eq!(
            unregister("Greeter", "English"),
            "plugin_unregister_Greeter_English_v1"
        );
        assert_eq!(
            dispatch("Greeter", "English"),
            "plugin_dispatch_Greeter_English_v1"
        );
    }

    #[test]
    fn per_trait_symbols_follow_the_seed_scheme() {
        assert_eq!(
            register_all("Calculator"),
            "plugin_register_all_Calculator_v1"
        );
        assert_eq!(
            unregister_all("Calculator"),
            "plugin_unregister_all_Calculator_v1"
        );
        assert_eq!(
            unmaker_counter("Calculator"),
            "plugin_unmaker_counter_Calculator_v1"
        );
        assert_eq!(factories("Calculator"), "plugin_factories_Calculator_v1");
    }

    #[test]
    fn canary_name_carries_its_version() {
        assert_eq!(CANARY, format!("{CANARY_PREFIX}{CANARY_VERSION}"));
    }

    #[test]
    fn names_keep_the_case_of_the_rust_identifiers() {
        assert_eq!(
            register("my_trait", "HTTPThing"),
            "plugin_register_my_trait_HTTPThing_v1"
        );
    }

    #[test]
    fn c_name_appends_one_nul() {
        assert_eq!(c_name("abc"), b"abc\0");
        assert_eq!(c_name(""), b"\0");
    }
}
