//! Checks a library file before `dlopen` sees it.
//!
//! A truncated ELF file can kill the process with `SIGBUS` inside
//! `dlopen`, when the loader touches a mapped page past the end of the
//! file. So before loading, the headers are read (only they) and the file
//! must be an ELF shared object for this machine whose every loadable
//! segment lies inside the file. On platforms whose libraries are not ELF,
//! the dynamic loader is trusted with the file as it is.

use std::path::Path;

use crate::PluginError;

/// Refuses files that are not ELF shared objects for this machine, or whose
/// loadable segments run past the end of the file.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
pub(crate) fn validate(path: &Path) -> Result<(), PluginError> {
    use object::Endian as _;
    use object::elf;
    use object::read::elf::{FileHeader as _, ProgramHeader as _};

    let refuse = |reason: String| PluginError::NotALibrary {
        library: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|source| PluginError::Io {
        library: path.to_path_buf(),
        source,
    })?;
    let length = file
        .metadata()
        .map_err(|source| PluginError::Io {
            library: path.to_path_buf(),
            source,
        })?
        .len();
    if length == 0 {
        return Err(refuse("empty file, not a shared library".to_owned()));
    }
    let data = object::ReadCache::new(file);
    let ident = object::ReadRef::read_bytes_at(&data, 0, 16.min(length))
        .map_err(|()| refuse("unreadable file".to_owned()))?;
    if !ident.starts_with(&elf::ELFMAG) {
        return Err(refuse(format!(
            "not an ELF file (it starts with \"{}\")",
            ident.escape_ascii()
        )));
    }
    let header = elf::FileHeader64::<object::Endianness>::parse(&data).map_err(|error| {
        refuse(format!(
            "not a 64-bit ELF file for this machine, or its header is cut off ({error}); the file has {length} bytes"
        ))
    })?;
    let endian = header.endian().map_err(|error| refuse(error.to_string()))?;
    if endian.is_little_endian() != cfg!(target_endian = "little") {
        return Err(refuse("an ELF file of the other byte order".to_owned()));
    }
    let kind = header.e_type(endian);
    if kind != elf::ET_DYN {
        let what = match kind {
            elf::ET_REL => "a relocatable object (.o)",
            elf::ET_EXEC => "an executable",
            elf::ET_CORE => "a core dump",
            _ => "an ELF file of unknown type",
        };
        return Err(refuse(format!("{what}, not a shared library")));
    }
    let machine = header.e_machine(endian);
    if let Some(expected) = MACHINE {
        if machine != expected {
            return Err(refuse(format!(
                "built for {} (ELF machine {}), this host is {}",
                machine_name(machine),
                machine.0,
                std::env::consts::ARCH
            )));
        }
    }
    let segments = header.program_headers(endian, &data).map_err(|error| {
        refuse(format!(
            "truncated: its program headers do not fit in its {length} bytes ({error})"
        ))
    })?;
    for (index, segment) in segments.iter().enumerate() {
        if segment.p_type(endian) != elf::PT_LOAD {
            continue;
        }
        let end = segment
            .p_offset(endian)
            .checked_add(segment.p_filesz(endian));
        match end {
            Some(end) if end <= length => {}
            _ => {
                return Err(refuse(format!(
                    "truncated: loadable segment {index} ends at byte {}, but the file has {length} bytes",
                    end.map_or_else(|| "(overflow)".to_owned(), |end| end.to_string())
                )));
            }
        }
    }
    Ok(())
}

/// On other platforms the dynamic loader checks the file.
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
pub(crate) fn validate(_path: &Path) -> Result<(), PluginError> {
    Ok(())
}

/// The ELF machine of this host, when known.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
const MACHINE: Option<object::elf::Machine> = if cfg!(target_arch = "x86_64") {
    Some(object::elf::EM_X86_64)
} else if cfg!(target_arch = "aarch64") {
    Some(object::elf::EM_AARCH64)
} else if cfg!(target_arch = "riscv64") {
    Some(object::elf::EM_RISCV)
} else if cfg!(target_arch = "powerpc64") {
    Some(object::elf::EM_PPC64)
} else if cfg!(target_arch = "s390x") {
    Some(object::elf::EM_S390)
} else {
    None
};

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn machine_name(machine: object::elf::Machine) -> &'static str {
    use object::elf;
    match machine {
        elf::EM_X86_64 => "x86_64",
        elf::EM_386 => "x86",
        elf::EM_AARCH64 => "aarch64",
        elf::EM_ARM => "arm",
        elf::EM_RISCV => "riscv",
        elf::EM_PPC64 => "powerpc64",
        elf::EM_S390 => "s390x",
        _ => "another architecture",
    }
}

/// The version in the name of a canary symbol of another canary version
/// (`plugin_canary_v<N>`), read from the dynamic symbol table. Only called
/// to explain a missing canary.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
pub(crate) fn other_canary_version(path: &Path) -> Option<u32> {
    use object::read::elf::ElfFile64;
    use object::{Object as _, ObjectSymbol as _};

    let data = std::fs::read(path).ok()?;
    let file = ElfFile64::<object::Endianness>::parse(&*data).ok()?;
    file.dynamic_symbols().find_map(|symbol| {
        let name = symbol.name().ok()?;
        name.strip_prefix(plugin_symbols::CANARY_PREFIX)?
            .parse()
            .ok()
    })
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
pub(crate) fn other_canary_version(_path: &Path) -> Option<u32> {
    None
}
