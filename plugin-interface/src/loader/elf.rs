//! A library image read from its bytes, the way the dynamic loader would
//! map it: the ELF header, the loadable segments, the dynamic table, the
//! exported symbols and the relocations that fill pointers in its data.
//!
//! Nothing here trusts the file: every offset, length and count is checked
//! against the file and its segments before it is used, and every failure
//! is a reason in one line. No code of the file runs.

use object::elf;
use object::read::elf::{FileHeader as _, ProgramHeader as _};

type Header = elf::FileHeader64<object::Endianness>;

/// At most this many relocations are kept: more than any library this
/// framework builds, and 16 MiB of table.
const MAX_RELOCATIONS: usize = 1 << 20;

/// Segments end below this address, so that an address inside one plus a
/// struct's size never overflows.
const MAX_ADDRESS: u64 = 1 << 48;

/// At most this many dynamic symbols are read.
const MAX_SYMBOLS: usize = 1 << 20;

/// A checked ELF shared object for this machine.
#[derive(Debug)]
pub(crate) struct Image<'a> {
    data: &'a [u8],
    segments: Vec<Segment>,
    symbols: Symbols,
    /// (slot address, what the dynamic loader writes there), by address.
    relocations: Vec<(u64, Fill)>,
}

/// One `PT_LOAD` segment: `[vaddr, vaddr + filesz)` comes from `[offset,
/// offset + filesz)` of the file.
#[derive(Debug, Clone, Copy)]
struct Segment {
    vaddr: u64,
    offset: u64,
    filesz: u64,
}

/// Where the dynamic symbol table is.
#[derive(Debug, Clone, Copy, Default)]
struct Symbols {
    table: u64,
    count: usize,
    strings: u64,
    strings_size: u64,
}

/// What the dynamic loader writes into a relocated slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fill {
    /// The load base plus this address of the image.
    Address(u64),
    /// The address of a symbol of another library.
    Foreign,
    /// Another kind of relocation (its type).
    Other(u32),
}

/// One dynamic symbol.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Symbol<'a> {
    /// Its name.
    pub(crate) name: &'a [u8],
    /// Its address in the image.
    pub(crate) value: u64,
    /// Its size in bytes.
    pub(crate) size: u64,
    /// Whether the image defines it (not an import).
    pub(crate) defined: bool,
    /// `STT_*` type.
    pub(crate) kind: u8,
}

impl<'a> Image<'a> {
    /// Checks the headers, segments, dynamic table and relocations of
    /// `data`; the error is the reason the file is not a loadable library.
    pub(crate) fn parse(data: &'a [u8]) -> Result<Self, String> {
        let length = data.len() as u64;
        if data.is_empty() {
            return Err("empty file, not a shared library".to_owned());
        }
        if !data.starts_with(&elf::ELFMAG) {
            return Err(format!(
                "not an ELF file (it starts with \"{}\")",
                data[..data.len().min(16)].escape_ascii()
            ));
        }
        let header = Header::parse(data).map_err(|error| {
            format!(
                "not a 64-bit ELF file for this machine, or its header is cut off ({error}); the file has {length} bytes"
            )
        })?;
        let endian = header.endian().map_err(|error| error.to_string())?;
        if object::Endian::is_little_endian(endian) != cfg!(target_endian = "little") {
            return Err("an ELF file of the other byte order".to_owned());
        }
        let kind = header.e_type(endian).0;
        if kind != ET_DYN {
            let what = match kind {
                1 => "a relocatable object (.o)",
                2 => "an executable",
                4 => "a core dump",
                _ => "an ELF file of unknown type",
            };
            return Err(format!("{what}, not a shared library"));
        }
        let machine = header.e_machine(endian).0;
        if let Some(expected) = MACHINE {
            if machine != expected {
                return Err(format!(
                    "built for {} (ELF machine {}), this host is {}",
                    machine_name(machine),
                    machine,
                    std::env::consts::ARCH
                ));
            }
        }
        let table_end = header.e_phoff(endian).saturating_add(
            u64::from(header.e_phnum(endian)) * u64::from(header.e_phentsize(endian)),
        );
        if table_end > length {
            return Err(format!(
                "truncated: its program headers end at byte {table_end}, but the file has {length} bytes"
            ));
        }
        let program_headers = header
            .program_headers(endian, data)
            .map_err(|error| format!("unreadable program headers ({error})"))?;
        let mut segments = Vec::new();
        let mut dynamic = None;
        for (index, segment) in program_headers.iter().enumerate() {
            let offset = segment.p_offset(endian);
            let filesz = segment.p_filesz(endian);
            let end = offset.checked_add(filesz);
            match segment.p_type(endian).0 {
                PT_LOAD => {
                    match end {
                        Some(end) if end <= length => {}
                        _ => {
                            return Err(format!(
                                "truncated: loadable segment {index} ends at byte {}, but the file has {length} bytes",
                                end.map_or_else(|| "(overflow)".to_owned(), |end| end.to_string())
                            ));
                        }
                    }
                    let vaddr = segment.p_vaddr(endian);
                    if vaddr
                        .checked_add(segment.p_memsz(endian))
                        .is_none_or(|end| end > MAX_ADDRESS)
                        || segment.p_memsz(endian) < filesz
                    {
                        return Err(format!(
                            "loadable segment {index} has a bad size (address {vaddr:#x}, {filesz} bytes in the file, {} in memory)",
                            segment.p_memsz(endian)
                        ));
                    }
                    segments.push(Segment {
                        vaddr,
                        offset,
                        filesz,
                    });
                }
                PT_DYNAMIC => dynamic = Some((offset, filesz)),
                _ => {}
            }
        }
        let mut image = Self {
            data,
            segments,
            symbols: Symbols::default(),
            relocations: Vec::new(),
        };
        let Some((offset, size)) = dynamic else {
            return Err("no dynamic table (PT_DYNAMIC), not a shared library".to_owned());
        };
        let table = image.file_range(offset, size).ok_or_else(|| {
            format!("its dynamic table (byte {offset}, {size} bytes) is outside the file")
        })?;
        image.read_dynamic(table)?;
        Ok(image)
    }

    /// Bytes `[offset, offset + size)` of the file, if inside it.
    fn file_range(&self, offset: u64, size: u64) -> Option<&'a [u8]> {
        let end = offset.checked_add(size)?;
        if end > self.data.len() as u64 {
            return None;
        }
        Some(&self.data[offset as usize..end as usize])
    }

    /// The `size` bytes at `address` of the image, which must lie in the
    /// file part of one loadable segment.
    pub(crate) fn bytes(&self, address: u64, size: u64) -> Result<&'a [u8], String> {
        let end = address
            .checked_add(size)
            .ok_or_else(|| format!("{size} bytes at {address:#x} overflow"))?;
        self.segments
            .iter()
            .find(|s| address >= s.vaddr && end <= s.vaddr + s.filesz)
            .and_then(|s| self.file_range(s.offset + (address - s.vaddr), size))
            .ok_or_else(|| format!("{size} bytes at {address:#x} are not in the file's segments"))
    }

    /// Where the dynamic loader's mapping of the image starts, as an
    /// address of the image: the first loadable segment's address, rounded
    /// down to a page.
    pub(crate) fn mapping_start(&self) -> u64 {
        // SAFETY: `sysconf` has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
        self.segments
            .iter()
            .map(|segment| segment.vaddr)
            .min()
            .map_or(0, |vaddr| vaddr / page * page)
    }

    /// The native-endian word of `N` bytes at `address`.
    pub(crate) fn array<const N: usize>(&self, address: u64) -> Result<[u8; N], String> {
        let bytes = self.bytes(address, N as u64)?;
        Ok(bytes.try_into().expect("N bytes were read"))
    }

    pub(crate) fn u64_at(&self, address: u64) -> Result<u64, String> {
        self.array::<8>(address).map(u64::from_ne_bytes)
    }

    pub(crate) fn u32_at(&self, address: u64) -> Result<u32, String> {
        self.array::<4>(address).map(u32::from_ne_bytes)
    }

    /// The address the dynamic loader writes into the pointer slot at
    /// `address`, as an address of this image. A slot no relocation fills,
    /// or one filled with another library's symbol, is refused: the
    /// pointer would not point into this image.
    pub(crate) fn pointer(&self, address: u64) -> Result<u64, String> {
        self.bytes(address, 8)?;
        let at = self
            .relocations
            .partition_point(|(slot, _)| *slot <= address);
        match at.checked_sub(1).map(|at| self.relocations[at]) {
            Some((slot, Fill::Address(value))) if slot == address => {
                if self
                    .segments
                    .iter()
                    .any(|s| value >= s.vaddr && value < s.vaddr + s.filesz)
                {
                    Ok(value)
                } else {
                    Err(format!(
                        "the pointer at {address:#x} points outside the file's segments ({value:#x})"
                    ))
                }
            }
            Some((slot, Fill::Foreign)) if slot == address => Err(format!(
                "the pointer at {address:#x} is filled with another library's symbol"
            )),
            Some((slot, Fill::Other(kind))) if slot == address => Err(format!(
                "the pointer at {address:#x} is filled by a relocation of type {kind}"
            )),
            _ => Err(format!("the pointer at {address:#x} is not relocated")),
        }
    }

    /// The dynamic symbols, in table order.
    pub(crate) fn symbols(&self) -> impl Iterator<Item = Symbol<'a>> + '_ {
        (0..self.symbols.count).filter_map(|index| self.symbol(index))
    }

    /// The first defined dynamic symbol named `name`.
    pub(crate) fn find(&self, name: &str) -> Option<Symbol<'a>> {
        self.symbols()
            .find(|symbol| symbol.defined && symbol.name == name.as_bytes())
    }

    fn symbol(&self, index: usize) -> Option<Symbol<'a>> {
        let entry = self
            .symbols
            .table
            .checked_add((index as u64).checked_mul(SYM_SIZE)?)?;
        let raw = self.bytes(entry, SYM_SIZE).ok()?;
        let name = u32::from_ne_bytes(raw[0..4].try_into().ok()?);
        let info = raw[4];
        let section = u16::from_ne_bytes(raw[6..8].try_into().ok()?);
        let value = u64::from_ne_bytes(raw[8..16].try_into().ok()?);
        let size = u64::from_ne_bytes(raw[16..24].try_into().ok()?);
        Some(Symbol {
            name: self.string(u64::from(name))?,
            value,
            size,
            defined: section != 0,
            kind: info & 0xf,
        })
    }

    /// The NUL-terminated string at `offset` of the dynamic string table.
    fn string(&self, offset: u64) -> Option<&'a [u8]> {
        if offset >= self.symbols.strings_size {
            return None;
        }
        let table = self
            .bytes(self.symbols.strings, self.symbols.strings_size)
            .ok()?;
        let rest = &table[offset as usize..];
        let end = rest.iter().position(|&byte| byte == 0)?;
        Some(&rest[..end])
    }

    /// Reads the dynamic table: where the symbols, their names and the
    /// relocations are.
    fn read_dynamic(&mut self, table: &[u8]) -> Result<(), String> {
        let mut values = Dynamic::default();
        for entry in table.chunks_exact(16) {
            let tag = i64::from_ne_bytes(entry[..8].try_into().expect("16-byte entries"));
            let value = u64::from_ne_bytes(entry[8..].try_into().expect("16-byte entries"));
            match tag {
                0 => break,
                4 => values.hash = Some(value),
                5 => values.strtab = Some(value),
                6 => values.symtab = Some(value),
                7 => values.rela = Some(value),
                8 => values.relasz = value,
                9 => values.relaent = value,
                10 => values.strsz = value,
                35 => values.relrsz = value,
                36 => values.relr = Some(value),
                0x6fff_fef5 => values.gnu_hash = Some(value),
                _ => {}
            }
        }
        if let (Some(table), Some(strings)) = (values.symtab, values.strtab) {
            self.bytes(strings, values.strsz)
                .map_err(|error| format!("its dynamic string table: {error}"))?;
            let count = match (values.gnu_hash, values.hash) {
                (Some(at), _) => self.gnu_hash_count(at),
                (None, Some(at)) => self.u32_at(at.saturating_add(4)).map(|n| n as usize),
                (None, None) => Err("no symbol hash table".to_owned()),
            }
            .map_err(|error| format!("its dynamic symbols: {error}"))?;
            if count > MAX_SYMBOLS {
                return Err(format!("{count} dynamic symbols, more than {MAX_SYMBOLS}"));
            }
            self.bytes(table, count as u64 * SYM_SIZE)
                .map_err(|error| format!("its dynamic symbol table: {error}"))?;
            self.symbols = Symbols {
                table,
                count,
                strings,
                strings_size: values.strsz,
            };
        }
        if let Some(at) = values.rela {
            if values.relaent != 24 {
                return Err(format!(
                    "relocation entries of {} bytes, expected 24",
                    values.relaent
                ));
            }
            let table = self
                .bytes(at, values.relasz)
                .map_err(|error| format!("its relocation table: {error}"))?;
            self.read_rela(table)?;
        }
        if let Some(at) = values.relr {
            let table = self
                .bytes(at, values.relrsz)
                .map_err(|error| format!("its packed relocation table: {error}"))?;
            self.read_relr(table)?;
        }
        self.relocations.sort_by_key(|(slot, _)| *slot);
        Ok(())
    }

    /// Number of symbols a GNU hash table covers: one past the last index
    /// of any chain.
    fn gnu_hash_count(&self, at: u64) -> Result<usize, String> {
        let buckets = u64::from(self.u32_at(at)?);
        let first = u64::from(self.u32_at(at.saturating_add(4))?);
        let bloom = u64::from(self.u32_at(at.saturating_add(8))?);
        let buckets_at = at.saturating_add(16 + bloom * 8);
        let chains_at = buckets_at.saturating_add(buckets * 4);
        self.bytes(buckets_at, buckets * 4)?;
        let mut count = first;
        // Chains never share entries, so all of them together are at most
        // as long as the symbol table; a file whose buckets reuse a chain
        // is refused before that walk gets long.
        let mut steps = 0usize;
        for bucket in 0..buckets {
            let start = u64::from(self.u32_at(buckets_at.saturating_add(bucket * 4))?);
            if start == 0 {
                continue;
            }
            if start < first {
                return Err(format!(
                    "hash bucket {bucket} starts at symbol {start}, before {first}"
                ));
            }
            let mut index = start;
            loop {
                steps += 1;
                if index - first > MAX_SYMBOLS as u64 || steps > MAX_SYMBOLS {
                    return Err(format!("hash chains longer than {MAX_SYMBOLS} in all"));
                }
                let hash = self.u32_at(chains_at.saturating_add((index - first) * 4))?;
                if hash & 1 == 1 {
                    break;
                }
                index += 1;
            }
            count = count.max(index + 1);
        }
        Ok(count as usize)
    }

    fn read_rela(&mut self, table: &[u8]) -> Result<(), String> {
        for entry in table.chunks_exact(24) {
            let slot = u64::from_ne_bytes(entry[..8].try_into().expect("24-byte entries"));
            let info = u64::from_ne_bytes(entry[8..16].try_into().expect("24-byte entries"));
            let addend = i64::from_ne_bytes(entry[16..].try_into().expect("24-byte entries"));
            let kind = (info & 0xffff_ffff) as u32;
            let symbol = (info >> 32) as usize;
            let fill = if kind == RELATIVE {
                Fill::Address(addend as u64)
            } else if kind == ABSOLUTE {
                match self.symbol(symbol) {
                    Some(target) if target.defined => {
                        Fill::Address(target.value.wrapping_add(addend as u64))
                    }
                    _ => Fill::Foreign,
                }
            } else {
                Fill::Other(kind)
            };
            self.push_relocation(slot, fill)?;
        }
        Ok(())
    }

    /// `DT_RELR`: addresses, each followed by bitmaps of the next 63
    /// words; every listed word gets the load base added.
    fn read_relr(&mut self, table: &[u8]) -> Result<(), String> {
        let mut next = 0u64;
        for entry in table.chunks_exact(8) {
            let entry = u64::from_ne_bytes(entry.try_into().expect("8-byte entries"));
            if entry & 1 == 0 {
                self.push_implicit(entry)?;
                next = entry.wrapping_add(8);
            } else {
                let mut bits = entry >> 1;
                let mut slot = next;
                while bits != 0 {
                    if bits & 1 == 1 {
                        self.push_implicit(slot)?;
                    }
                    bits >>= 1;
                    slot = slot.wrapping_add(8);
                }
                next = next.wrapping_add(63 * 8);
            }
        }
        Ok(())
    }

    /// A slot whose own content is the address it will hold.
    fn push_implicit(&mut self, slot: u64) -> Result<(), String> {
        match self.u64_at(slot) {
            Ok(value) => self.push_relocation(slot, Fill::Address(value)),
            // A slot outside the file is never read as a pointer.
            Err(_) => Ok(()),
        }
    }

    fn push_relocation(&mut self, slot: u64, fill: Fill) -> Result<(), String> {
        if self.relocations.len() == MAX_RELOCATIONS {
            return Err(format!("more than {MAX_RELOCATIONS} relocations"));
        }
        self.relocations.push((slot, fill));
        Ok(())
    }
}

/// How much of a file starting with `head` the dynamic loader reads or
/// maps: up to the end of its program header table and of every segment,
/// whatever their type. `None` unless `head` holds a 64-bit ELF header
/// and its whole program header table.
pub(crate) fn mapped_extent(head: &[u8]) -> Option<u64> {
    let header = Header::parse(head).ok()?;
    let endian = header.endian().ok()?;
    let segments = header.program_headers(endian, head).ok()?;
    let table_end = header
        .e_phoff(endian)
        .checked_add(u64::from(header.e_phnum(endian)) * u64::from(header.e_phentsize(endian)))?;
    let mut extent = table_end.max(size_of::<Header>() as u64);
    for segment in segments {
        let end = segment
            .p_offset(endian)
            .saturating_add(segment.p_filesz(endian));
        extent = extent.max(end);
    }
    Some(extent)
}

/// What the dynamic table says, before it is checked.
#[derive(Debug, Default)]
struct Dynamic {
    symtab: Option<u64>,
    strtab: Option<u64>,
    strsz: u64,
    hash: Option<u64>,
    gnu_hash: Option<u64>,
    rela: Option<u64>,
    relasz: u64,
    relaent: u64,
    relr: Option<u64>,
    relrsz: u64,
}

/// Size of one `Elf64_Sym`.
const SYM_SIZE: u64 = 24;

/// `ET_DYN`: a shared object.
const ET_DYN: u16 = 3;
/// `PT_LOAD`: a loadable segment.
const PT_LOAD: u32 = 1;
/// `PT_DYNAMIC`: the dynamic table.
const PT_DYNAMIC: u32 = 2;

/// (ELF machine, relocation adding the load base to an addend, relocation
/// writing a symbol's address plus an addend) of this host, when known.
const MACHINE_RELOCATIONS: Option<(u16, u32, u32)> = if cfg!(target_arch = "x86_64") {
    Some((62, 8, 1))
} else if cfg!(target_arch = "aarch64") {
    Some((183, 1027, 257))
} else if cfg!(target_arch = "riscv64") {
    Some((243, 3, 2))
} else if cfg!(target_arch = "powerpc64") {
    Some((21, 22, 38))
} else if cfg!(target_arch = "s390x") {
    Some((22, 12, 22))
} else {
    None
};

/// The ELF machine of this host, when known.
const MACHINE: Option<u16> = match MACHINE_RELOCATIONS {
    Some((machine, _, _)) => Some(machine),
    None => None,
};

/// This machine's relocation that adds the load base to an addend.
const RELATIVE: u32 = match MACHINE_RELOCATIONS {
    Some((_, relative, _)) => relative,
    None => u32::MAX,
};

/// This machine's relocation that writes a symbol's address plus an addend.
const ABSOLUTE: u32 = match MACHINE_RELOCATIONS {
    Some((_, _, absolute)) => absolute,
    None => u32::MAX,
};

fn machine_name(machine: u16) -> &'static str {
    match machine {
        62 => "x86_64",
        3 => "x86",
        183 => "aarch64",
        40 => "arm",
        243 => "riscv",
        21 => "powerpc64",
        22 => "s390x",
        _ => "another architecture",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_foreign_files_are_refused_with_a_reason() {
        assert_eq!(
            Image::parse(b"").unwrap_err(),
            "empty file, not a shared library"
        );
        assert!(
            Image::parse(b"hello\n")
                .unwrap_err()
                .starts_with("not an ELF file")
        );
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(&elf::ELFMAG);
        assert!(Image::parse(&header).is_err());
    }
}
