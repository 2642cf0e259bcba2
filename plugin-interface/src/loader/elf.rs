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
    /// Whether the image has a thread-local storage template (`PT_TLS`).
    tls: bool,
}

/// One `PT_LOAD` segment: `[vaddr, vaddr + filesz)` comes from `[offset,
/// offset + filesz)` of the file.
#[derive(Debug, Clone, Copy)]
struct Segment {
    vaddr: u64,
    offset: u64,
    filesz: u64,
    memsz: u64,
    writable: bool,
    executable: bool,
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
        if let Some(expected) = MACHINE
            && machine != expected
        {
            return Err(format!(
                "built for {} (ELF machine {}), this host is {}",
                machine_name(machine),
                machine,
                std::env::consts::ARCH
            ));
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
        let mut others = Vec::new();
        let mut phdr = None;
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
                    if let Some(last) = segments.last().map(|s: &Segment| s.vaddr + s.memsz)
                        && vaddr < last
                    {
                        return Err(format!(
                            "loadable segment {index} (address {vaddr:#x}) overlaps or precedes the one before it"
                        ));
                    }
                    segments.push(Segment {
                        vaddr,
                        offset,
                        filesz,
                        memsz: segment.p_memsz(endian),
                        writable: segment.p_flags(endian).0 & PF_W != 0,
                        executable: segment.p_flags(endian).0 & PF_X != 0,
                    });
                }
                PT_DYNAMIC => dynamic = Some((segment.p_vaddr(endian), filesz)),
                // Made read-only after relocation, and thread-local
                // storage: both must stay inside the image.
                // The dynamic loader finds the program headers in memory
                // through this one.
                PT_PHDR => phdr = Some((index, segment.p_vaddr(endian), segment.p_memsz(endian))),
                kind @ (PT_GNU_RELRO | PT_TLS) => others.push((
                    index,
                    segment.p_vaddr(endian),
                    segment.p_memsz(endian),
                    filesz,
                    segment.p_align(endian),
                    kind,
                )),
                _ => {}
            }
        }
        if let Some((index, vaddr, memsz)) = phdr {
            let table = u64::from(header.e_phnum(endian)) * u64::from(header.e_phentsize(endian));
            let offset = segments
                .iter()
                .find(|s| vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz)
                .map(|s| s.offset + (vaddr - s.vaddr));
            if offset != Some(header.e_phoff(endian)) || memsz < table {
                return Err(format!(
                    "segment {index} says the program headers are at {vaddr:#x}, where they are not"
                ));
            }
        }
        for &(index, vaddr, memsz, filesz, align, kind) in &others {
            let inside = vaddr.checked_add(memsz).is_some_and(|end| {
                segments
                    .iter()
                    .any(|s| vaddr >= s.vaddr && end <= s.vaddr + s.memsz)
            });
            if !inside || filesz > memsz || (align > 1 && !align.is_power_of_two()) {
                return Err(format!(
                    "segment {index} ({memsz} bytes at {vaddr:#x}, alignment {align}) is not inside one loadable segment"
                ));
            }
            // Made read-only once relocated: linkers put it at the start of
            // a writable segment; anywhere else it would take away the
            // execution of code or the writing of data.
            if kind == PT_GNU_RELRO && !segments.iter().any(|s| s.writable && s.vaddr == vaddr) {
                return Err(format!(
                    "segment {index} (read-only after relocation, at {vaddr:#x}) does not start a writable loadable segment"
                ));
            }
        }
        let tls = others.iter().any(|other| other.5 == PT_TLS);
        let mut image = Self {
            data,
            segments,
            symbols: Symbols::default(),
            relocations: Vec::new(),
            tls,
        };
        let Some((address, size)) = dynamic else {
            return Err("no dynamic table (PT_DYNAMIC), not a shared library".to_owned());
        };
        // The dynamic loader reads the table where it is mapped.
        let table = image
            .bytes(address, size)
            .map_err(|error| format!("its dynamic table: {error}"))?;
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
        let mut entries = Vec::new();
        for entry in table.chunks_exact(16) {
            let tag = i64::from_ne_bytes(entry[..8].try_into().expect("16-byte entries"));
            let value = u64::from_ne_bytes(entry[8..].try_into().expect("16-byte entries"));
            entries.push((tag, value));
            match tag {
                0 => break,
                4 => values.hash = Some(value),
                5 => values.strtab = Some(value),
                6 => values.symtab = Some(value),
                7 => values.rela = Some(value),
                8 => values.relasz = value,
                9 => values.relaent = value,
                10 => values.strsz = value,
                23 => values.jmprel = Some(value),
                2 => values.pltrelsz = value,
                35 => values.relrsz = value,
                36 => values.relr = Some(value),
                0x6fff_fff9 => values.relacount = value,
                0x6fff_fff0 => values.versym = Some(value),
                0x6fff_fffc => values.verdef = Some(value),
                0x6fff_fffd => values.verdefnum = value,
                0x6fff_fffe => values.verneed = Some(value),
                0x6fff_ffff => values.verneednum = value,
                25 => values.init_array = Some(value),
                27 => values.init_arraysz = value,
                26 => values.fini_array = Some(value),
                28 => values.fini_arraysz = value,
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
        self.check_dynamic(&entries, &values)?;
        self.check_versions(&values)
            .map_err(|error| format!("its symbol versions: {error}"))?;
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
            self.check_relocations(table, values.relacount)
                .map_err(|error| format!("its relocation table: {error}"))?;
            self.read_rela(table)?;
        }
        if let Some(at) = values.jmprel {
            let table = self
                .bytes(at, values.pltrelsz)
                .map_err(|error| format!("its PLT relocation table: {error}"))?;
            self.check_relocations(table, 0)
                .map_err(|error| format!("its PLT relocation table: {error}"))?;
        }
        if let Some(at) = values.relr {
            let table = self
                .bytes(at, values.relrsz)
                .map_err(|error| format!("its packed relocation table: {error}"))?;
            self.read_relr(table)?;
        }
        self.relocations.sort_by_key(|(slot, _)| *slot);
        self.check_function_arrays(&values)
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

    /// Checks what the dynamic loader takes from the dynamic table without
    /// a second look: addresses inside the segments, tables inside the
    /// file, string offsets inside the string table, entry sizes.
    fn check_dynamic(&self, entries: &[(i64, u64)], values: &Dynamic) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for &(tag, value) in entries {
            if tag == 0 {
                break;
            }
            let what = |problem: String| format!("dynamic entry {tag:#x}: {problem}");
            if !known_tag(tag) {
                return Err(what("an unknown tag".to_owned()));
            }
            if !seen.insert(tag) && tag != 1 {
                return Err(what("given twice".to_owned()));
            }
            match tag {
                // Addresses the dynamic loader reads or calls.
                3..=7
                | 12
                | 13
                | 23
                | 25
                | 26
                | 32
                | 36
                | 0x6fff_fef5
                | 0x6fff_fff0
                | 0x6fff_fffc
                | 0x6fff_fffe
                    if !self.mapped(value, 1) =>
                {
                    return Err(what(format!("address {value:#x} is not in a segment")));
                }
                // Offsets into the string table.
                1 | 14 | 15 | 29 => {
                    let strings = values.strtab.unwrap_or(0);
                    let table = self.bytes(strings, values.strsz).map_err(&what)?;
                    let name = table.get(value as usize..).unwrap_or_default();
                    if !name.contains(&0) {
                        return Err(what(format!(
                            "string offset {value} is outside the string table"
                        )));
                    }
                }
                // Entry sizes and kinds the dynamic loader asserts.
                11 if value != SYM_SIZE => return Err(what(format!("symbols of {value} bytes"))),
                20 if value != 7 => return Err(what(format!("PLT relocations of kind {value}"))),
                37 if value != 8 => {
                    return Err(what(format!("packed relocations of {value} bytes")));
                }
                // `REL` relocations and text relocations.
                17..=19 => return Err(what("REL relocations on a RELA machine".to_owned())),
                22 => return Err(what("text relocations".to_owned())),
                30 if value & 0x4 != 0 => return Err(what("text relocations".to_owned())),
                _ => {}
            }
        }
        for (table, size, name) in PAIRED_TAGS {
            if seen.contains(&table) != seen.contains(&size) {
                return Err(format!(
                    "its dynamic table has {name} without their size, or a size without them"
                ));
            }
        }
        for (tag, needs, problem) in REQUIRED_TAGS {
            if seen.contains(&tag) && !seen.contains(&needs) {
                return Err(format!("its dynamic table has {problem}"));
            }
        }
        for tag in [12, 13] {
            if let Some(&(_, address)) = entries.iter().find(|(t, _)| *t == tag)
                && !self.executable(address)
            {
                return Err(format!(
                    "dynamic entry {tag:#x}: address {address:#x} is not in executable code"
                ));
            }
        }
        Ok(())
    }

    /// Checks the symbol-versioning tables as the dynamic loader will use
    /// them: every record and name inside the file, and every symbol's
    /// version index one that a record defines or needs.
    fn check_versions(&self, values: &Dynamic) -> Result<(), String> {
        let Some(versym) = values.versym else {
            return Ok(());
        };
        let strings = |offset: u32| offset as u64 >= self.symbols.strings_size;
        let mut highest = 1u16;
        for (start, count, kind) in [
            (values.verneed, values.verneednum, "needed"),
            (values.verdef, values.verdefnum, "defined"),
        ] {
            let Some(mut at) = start else { continue };
            if count > 1024 {
                return Err(format!("{count} {kind} version records"));
            }
            for _ in 0..count {
                let record = self.bytes(at, 20)?;
                let word = |offset: usize| {
                    u32::from_ne_bytes(record[offset..offset + 4].try_into().expect("4 bytes"))
                };
                let half = |offset: usize| {
                    u16::from_ne_bytes(record[offset..offset + 2].try_into().expect("2 bytes"))
                };
                let (entries, mut aux, next) = if kind == "needed" {
                    if strings(word(4)) {
                        return Err(
                            "a needed library's name is outside the string table".to_owned()
                        );
                    }
                    (half(2), word(8), word(12))
                } else {
                    highest = highest.max(half(4) & 0x7fff);
                    (half(6), word(12), word(16))
                };
                if entries > 1024 {
                    return Err(format!("{entries} {kind} versions in one record"));
                }
                let mut item = at.saturating_add(u64::from(aux));
                for _ in 0..entries {
                    let entry = self.bytes(item, if kind == "needed" { 16 } else { 8 })?;
                    let word = |offset: usize| {
                        u32::from_ne_bytes(entry[offset..offset + 4].try_into().expect("4 bytes"))
                    };
                    let (name, other) = if kind == "needed" {
                        (
                            word(8),
                            Some(u16::from_ne_bytes(entry[6..8].try_into().expect("2 bytes"))),
                        )
                    } else {
                        (word(0), None)
                    };
                    if strings(name) {
                        return Err(format!(
                            "a {kind} version's name is outside the string table"
                        ));
                    }
                    if let Some(other) = other {
                        highest = highest.max(other & 0x7fff);
                    }
                    aux = if kind == "needed" { word(12) } else { word(4) };
                    item = item.saturating_add(u64::from(aux));
                }
                at = at.saturating_add(u64::from(next));
            }
        }
        let table = self.bytes(versym, self.symbols.count as u64 * 2)?;
        for (index, entry) in table.chunks_exact(2).enumerate() {
            let version = u16::from_ne_bytes(entry.try_into().expect("2 bytes")) & 0x7fff;
            if version > highest {
                return Err(format!(
                    "symbol {index} has version {version}, none is defined past {highest}"
                ));
            }
        }
        Ok(())
    }

    /// Checks the initialiser and finaliser arrays once the relocations are
    /// read: every slot is filled with an address of executable code.
    fn check_function_arrays(&self, values: &Dynamic) -> Result<(), String> {
        for (address, size, name) in [
            (values.init_array, values.init_arraysz, "initialisers"),
            (values.fini_array, values.fini_arraysz, "finalisers"),
        ] {
            let Some(address) = address else { continue };
            if size % 8 != 0 || size > 1 << 20 || !self.writable(address, size) {
                return Err(format!(
                    "its {name} ({size} bytes at {address:#x}) are not an array in a writable segment"
                ));
            }
            for slot in (0..size / 8).map(|index| address + index * 8) {
                match self.pointer(slot) {
                    Ok(function) if self.executable(function) => {}
                    _ => {
                        return Err(format!(
                            "its {name} hold at {slot:#x} something other than an address of executable code"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether `address` lies in an executable segment's file part.
    fn executable(&self, address: u64) -> bool {
        self.segments
            .iter()
            .any(|s| s.executable && address >= s.vaddr && address < s.vaddr + s.filesz)
    }

    /// Checks every entry of a `RELA` table as the dynamic loader will
    /// apply it: a known kind, a symbol inside the symbol table, a slot
    /// inside a writable segment; the first `relative` entries relative.
    fn check_relocations(&self, table: &[u8], relative: u64) -> Result<(), String> {
        if !table.len().is_multiple_of(24) {
            return Err(format!("{} bytes, not whole 24-byte entries", table.len()));
        }
        if relative > (table.len() / 24) as u64 {
            return Err(format!(
                "{relative} relative entries promised, {} present",
                table.len() / 24
            ));
        }
        for (index, entry) in table.chunks_exact(24).enumerate() {
            let slot = u64::from_ne_bytes(entry[..8].try_into().expect("24-byte entries"));
            let info = u64::from_ne_bytes(entry[8..16].try_into().expect("24-byte entries"));
            let kind = (info & 0xffff_ffff) as u32;
            let symbol = info >> 32;
            if (index as u64) < relative && kind != RELATIVE {
                return Err(format!(
                    "entry {index} is of kind {kind}, not relative as promised"
                ));
            }
            if let Some(known) = KNOWN_RELOCATIONS
                && !known.contains(&kind)
            {
                return Err(format!("entry {index} is of unknown kind {kind}"));
            }
            if symbol != 0 && symbol >= self.symbols.count as u64 {
                return Err(format!(
                    "entry {index} names symbol {symbol}, past the table"
                ));
            }
            // A thread-local relocation of the image's own storage needs
            // the template the dynamic loader sets that storage up from.
            let own = symbol == 0
                || self
                    .symbol(symbol as usize)
                    .is_some_and(|target| target.defined);
            if !self.tls && own && TLS_RELOCATIONS.contains(&kind) {
                return Err(format!(
                    "entry {index} is a thread-local relocation (kind {kind}), but there is no thread-local storage segment (PT_TLS)"
                ));
            }
            if kind != 0 && !self.writable(slot, 8) {
                return Err(format!(
                    "entry {index} writes at {slot:#x}, outside the writable segments"
                ));
            }
        }
        Ok(())
    }

    /// Whether `[address, address + size)` lies in one segment's memory.
    fn mapped(&self, address: u64, size: u64) -> bool {
        address.checked_add(size).is_some_and(|end| {
            self.segments
                .iter()
                .any(|s| address >= s.vaddr && end <= s.vaddr + s.memsz)
        })
    }

    /// Whether `[address, address + size)` lies in one writable segment.
    fn writable(&self, address: u64, size: u64) -> bool {
        address.checked_add(size).is_some_and(|end| {
            self.segments
                .iter()
                .any(|s| s.writable && address >= s.vaddr && end <= s.vaddr + s.memsz)
        })
    }

    /// A slot whose own content is the address it will hold.
    fn push_implicit(&mut self, slot: u64) -> Result<(), String> {
        if !self.writable(slot, 8) {
            return Err(format!(
                "a packed relocation writes at {slot:#x}, outside the writable segments"
            ));
        }
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
    relacount: u64,
    versym: Option<u64>,
    verdef: Option<u64>,
    verdefnum: u64,
    verneed: Option<u64>,
    verneednum: u64,
    jmprel: Option<u64>,
    pltrelsz: u64,
    init_array: Option<u64>,
    init_arraysz: u64,
    fini_array: Option<u64>,
    fini_arraysz: u64,
}

/// Size of one `Elf64_Sym`.
const SYM_SIZE: u64 = 24;

/// `ET_DYN`: a shared object.
const ET_DYN: u16 = 3;
/// `PT_LOAD`: a loadable segment.
const PT_LOAD: u32 = 1;
/// `PT_DYNAMIC`: the dynamic table.
const PT_DYNAMIC: u32 = 2;
/// `PT_PHDR`: where the program headers are mapped.
const PT_PHDR: u32 = 6;
/// `PT_TLS`: the thread-local storage template.
const PT_TLS: u32 = 7;
/// `PT_GNU_RELRO`: what becomes read-only after relocation.
const PT_GNU_RELRO: u32 = 0x6474_e552;
/// `PF_W`: a writable segment.
const PF_W: u32 = 2;
/// `PF_X`: an executable segment.
const PF_X: u32 = 1;

/// The dynamic tags a shared library may carry: the standard ones, GNU's
/// and the symbol-versioning ones. Anything else is a corrupt table.
fn known_tag(tag: i64) -> bool {
    matches!(tag, 0..=37)
        // DT_VALRNG and DT_ADDRRNG (GNU_HASH and the like).
        || (0x6fff_fdf5..=0x6fff_fdff).contains(&tag)
        || (0x6fff_fef5..=0x6fff_feff).contains(&tag)
        // VERSYM, RELACOUNT, RELCOUNT, FLAGS_1, VERDEF(NUM), VERNEED(NUM).
        || matches!(tag, 0x6fff_fff0 | 0x6fff_fff9..=0x6fff_ffff)
        // AUXILIARY, FILTER.
        || matches!(tag, 0x7fff_fffd | 0x7fff_ffff)
}

/// Tags that come in pairs: the table and its size.
const PAIRED_TAGS: [(i64, i64, &str); 6] = [
    (7, 8, "relocations"),
    (23, 2, "PLT relocations"),
    (25, 27, "initialisers"),
    (26, 28, "finalisers"),
    (36, 35, "packed relocations"),
    (5, 10, "strings"),
];

/// (tag, the tag it needs, what is wrong without it): entries the dynamic
/// loader reads only together, skipping work or reading through a null
/// pointer when one is missing.
const REQUIRED_TAGS: [(i64, i64, &str); 3] = [
    (
        23,
        20,
        "PLT relocations (DT_JMPREL) without their kind (DT_PLTREL): the dynamic loader would leave them unapplied",
    ),
    (
        20,
        23,
        "a PLT relocation kind (DT_PLTREL) without PLT relocations (DT_JMPREL)",
    ),
    (
        36,
        37,
        "packed relocations (DT_RELR) without their entry size (DT_RELRENT)",
    ),
];

/// The relocation kinds this machine's dynamic loader applies to a shared
/// library, when known.
const KNOWN_RELOCATIONS: Option<&[u32]> = if cfg!(target_arch = "x86_64") {
    // NONE, 64, GLOB_DAT, JUMP_SLOT, RELATIVE, DTPMOD64, DTPOFF64,
    // TPOFF64, TLSDESC, IRELATIVE.
    Some(&[0, 1, 6, 7, 8, 16, 17, 18, 36, 37])
} else if cfg!(target_arch = "aarch64") {
    // NONE, ABS64, GLOB_DAT, JUMP_SLOT, RELATIVE, TLS_DTPMOD, TLS_DTPREL,
    // TLS_TPREL, TLSDESC, IRELATIVE.
    Some(&[0, 257, 1025, 1026, 1027, 1028, 1029, 1030, 1031, 1032])
} else {
    None
};

/// The relocation kinds of thread-local storage on this host: x86_64
/// DTPMOD64, DTPOFF64, TPOFF64 and TLSDESC; aarch64 TLS_DTPMOD,
/// TLS_DTPREL, TLS_TPREL and TLSDESC.
const TLS_RELOCATIONS: &[u32] = if cfg!(target_arch = "x86_64") {
    &[16, 17, 18, 36]
} else if cfg!(target_arch = "aarch64") {
    &[1028, 1029, 1030, 1031]
} else {
    &[]
};

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
