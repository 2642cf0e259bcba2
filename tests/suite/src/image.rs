//! Where things are in a plugin library file, for tests that corrupt it.

use object::read::elf::{FileHeader as _, ProgramHeader as _};
use object::{Object as _, ObjectSection as _, ObjectSymbol as _};

/// A plugin library cut down to what the dynamic loader maps (the
/// loadable segments), with its section header table appended, and the
/// places of its parts.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The cut-down file.
    pub bytes: Vec<u8>,
    /// The ELF header.
    pub header: (usize, usize),
    /// The program header table.
    pub program_headers: (usize, usize),
    /// The section header table.
    pub section_headers: (usize, usize),
    /// The dynamic table.
    pub dynamic: (usize, usize),
    /// The canary static.
    pub canary: (usize, usize),
    /// The relocation entries that fill a pointer of the canary or of
    /// what it points to (transitively), 24 bytes each.
    pub relocations: Vec<(usize, usize)>,
    /// What those pointers point to: a window of bytes at each target.
    pub targets: Vec<(usize, usize)>,
}

/// The layout of the plugin file `full`.
pub fn layout(full: &[u8]) -> Layout {
    let header = object::elf::FileHeader64::<object::Endianness>::parse(full).unwrap();
    let endian = header.endian().unwrap();
    let segments: Vec<(u64, u64, u64)> = header
        .program_headers(endian, full)
        .unwrap()
        .iter()
        .filter(|s| s.p_type(endian) == object::elf::PT_LOAD)
        .map(|s| (s.p_vaddr(endian), s.p_offset(endian), s.p_filesz(endian)))
        .collect();
    let dynamic = header
        .program_headers(endian, full)
        .unwrap()
        .iter()
        .find(|s| s.p_type(endian) == object::elf::PT_DYNAMIC)
        .map(|s| (s.p_offset(endian) as usize, s.p_filesz(endian) as usize))
        .unwrap();
    let loaded = segments
        .iter()
        .map(|(_, offset, size)| offset + size)
        .max()
        .unwrap() as usize;
    let shoff = header.e_shoff(endian) as usize;
    let shsize = usize::from(header.e_shnum(endian)) * usize::from(header.e_shentsize(endian));
    let mut bytes = full[..loaded].to_vec();
    while !bytes.len().is_multiple_of(8) {
        bytes.push(0);
    }
    let section_headers = (bytes.len(), shsize);
    bytes.extend_from_slice(&full[shoff..shoff + shsize]);
    let new_shoff = section_headers.0 as u64;
    bytes[40..48].copy_from_slice(&new_shoff.to_le_bytes());

    let file = object::read::elf::ElfFile64::<object::Endianness>::parse(full).unwrap();
    let offset_of = |vaddr: u64| {
        segments
            .iter()
            .find(|(start, _, size)| vaddr >= *start && vaddr < start + size)
            .map(|(start, offset, _)| (offset + (vaddr - start)) as usize)
    };
    let canary = file
        .dynamic_symbols()
        .find(|s| s.name() == Ok(plugin_symbols::CANARY))
        .expect("a canary symbol");
    let canary_range = (canary.address(), canary.size());
    let rela = file.section_by_name(".rela.dyn").expect(".rela.dyn");
    let (rela_offset, rela_size) = rela.file_range().unwrap();
    let records: Vec<(usize, u64, u64)> = (0..rela_size as usize / 24)
        .map(|index| {
            let at = rela_offset as usize + index * 24;
            let slot = u64::from_le_bytes(full[at..at + 8].try_into().unwrap());
            let addend = u64::from_le_bytes(full[at + 16..at + 24].try_into().unwrap());
            (at, slot, addend)
        })
        .collect();
    let mut regions = vec![canary_range];
    let mut relocations = Vec::new();
    let mut targets = Vec::new();
    let mut next = 0;
    while next < regions.len() && regions.len() < 400 {
        let (start, size) = regions[next];
        next += 1;
        for &(at, slot, addend) in &records {
            if slot >= start && slot < start + size && !relocations.contains(&(at, 24)) {
                relocations.push((at, 24));
                if let Some(offset) = offset_of(addend) {
                    targets.push((offset, 96.min(loaded - offset)));
                    regions.push((addend, 96));
                }
            }
        }
    }
    Layout {
        bytes,
        header: (0, 64),
        program_headers: (
            header.e_phoff(endian) as usize,
            usize::from(header.e_phnum(endian)) * usize::from(header.e_phentsize(endian)),
        ),
        section_headers,
        dynamic,
        canary: (offset_of(canary.address()).unwrap(), canary.size() as usize),
        relocations,
        targets,
    }
}
