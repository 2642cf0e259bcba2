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

/// How much of the file is read at first: the ELF header and, in every
/// library seen, the program headers behind it.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
const HEAD: usize = 4096;

/// Refuses anything but a regular file that is an ELF shared object for
/// this machine whose loadable segments all lie inside the file. Errors
/// name `name`: the file itself, or the file a private copy was made of.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
pub(crate) fn validate(path: &Path, name: &Path) -> Result<(), PluginError> {
    use std::os::unix::fs::FileExt as _;

    use object::Endian as _;
    use object::elf;
    use object::read::elf::{FileHeader as _, ProgramHeader as _};

    let io = |source| PluginError::Io {
        library: name.to_path_buf(),
        source,
    };
    let refuse = |reason: String| PluginError::NotALibrary {
        library: name.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if !metadata.is_file() {
        return Err(refuse("not a regular file".to_owned()));
    }
    let length = metadata.len();
    if length == 0 {
        return Err(refuse("empty file, not a shared library".to_owned()));
    }
    let read = |offset: u64, size: usize| -> Result<Vec<u8>, PluginError> {
        let mut buffer = vec![0; size];
        file.read_exact_at(&mut buffer, offset).map_err(io)?;
        Ok(buffer)
    };
    let mut head = read(0, HEAD.min(length as usize))?;
    if !head.starts_with(&elf::ELFMAG) {
        return Err(refuse(format!(
            "not an ELF file (it starts with \"{}\")",
            head[..head.len().min(16)].escape_ascii()
        )));
    }
    let header = elf::FileHeader64::<object::Endianness>::parse(&*head).map_err(|error| {
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
    let table_end = header
        .e_phoff(endian)
        .saturating_add(u64::from(header.e_phnum(endian)) * u64::from(header.e_phentsize(endian)));
    if table_end > length {
        return Err(refuse(format!(
            "truncated: its program headers end at byte {table_end}, but the file has {length} bytes"
        )));
    }
    if table_end > head.len() as u64 {
        head = read(0, table_end as usize)?;
    }
    let header = elf::FileHeader64::<object::Endianness>::parse(&*head)
        .map_err(|error| refuse(error.to_string()))?;
    let segments = header
        .program_headers(endian, &*head)
        .map_err(|error| refuse(format!("unreadable program headers ({error})")))?;
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

/// On other platforms the dynamic loader checks the file's contents; only
/// that it is a regular file is checked here.
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
pub(crate) fn validate(path: &Path, name: &Path) -> Result<(), PluginError> {
    let metadata = std::fs::metadata(path).map_err(|source| PluginError::Io {
        library: name.to_path_buf(),
        source,
    })?;
    if metadata.is_file() {
        Ok(())
    } else {
        Err(PluginError::NotALibrary {
            library: name.to_path_buf(),
            reason: "not a regular file".to_owned(),
        })
    }
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
