//! `ElfFacts`: what ld.so and the binding model need to know about one ELF
//! file (research/loader-model.md §0), read from the file alone.
//!
//! Everything is found the way ld.so finds it: through the program headers
//! and the dynamic segment, never through section headers, which a loader
//! ignores and a stripped or hostile file may omit or falsify. Only the byte
//! ranges that hold these structures are read, with positional reads through
//! object's `ReadCache` rather than a mapping of the whole file: a package
//! upgrade that truncates a file mid-scan then gives a read error instead of
//! `SIGBUS`. Every count and offset taken from the file is checked against
//! the file size before anything is allocated.
//!
//! This module knows nothing of hosts or other files; the resolver decides
//! whether a file is acceptable to a given process (rule L12).
//!
//! ```no_run
//! let file = std::fs::File::open("/usr/lib/x86_64-linux-gnu/libz.so.1").unwrap();
//! let facts = soclash::elf::read(file, soclash::elf::Detail::Linking).unwrap();
//! assert!(facts.soname.is_some());
//! ```

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use bstr::BString;
use object::elf;
use object::read::elf::{Dyn as _, FileHeader, ProgramHeader as _, Rel as _, Rela as _, Sym as _};
use object::read::{ReadCache, ReadCacheOps, ReadRef, StringTable};
use object::{Endian, Endianness};
use serde::Serialize;

/// How much of the file to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Headers, notes (build-id, x86 ISA level) and the dynamic section:
    /// enough to resolve dependencies.
    Linking,
    /// Also the dynamic symbol table, versions and relocations.
    Symbols,
}

/// Why a file could not be read as ELF at all. Problems further in (a bad
/// symbol table, say) leave the header facts usable and are listed in
/// [`ElfFacts::problems`] instead.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("file too short")]
    TooShort,
    #[error("not an ELF file (GNU ld script)")]
    LinkerScript,
    #[error("not an ELF file (bad magic)")]
    BadMagic,
    #[error("Unsupported ELF {0}")]
    Unsupported(&'static str),
    #[error("Invalid ELF {0}")]
    Invalid(&'static str),
    #[error("read error: {0}")]
    Io(#[from] io::Error),
}

/// ELF class (`EI_CLASS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Class {
    Elf32,
    Elf64,
}

/// How a dynamic relocation is looked up (glibc's `elf_machine_type_class`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelocClass {
    /// `JUMP_SLOT`: may be bound lazily at first call (rule G8).
    Plt,
    /// `COPY`: looked up skipping the executable (rule B15).
    Copy,
    /// Everything else (`GLOB_DAT`, absolute, TLS): bound at relocation time.
    Data,
}

/// One dynamic relocation that names a symbol (rule B1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relocation {
    pub r_type: u32,
    /// Index into [`ElfFacts::symbols`].
    pub symbol: u32,
    pub class: RelocClass,
}

/// The version attached to a dynamic symbol through `DT_VERSYM`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymbolVersion {
    /// Version index without the hidden bit (0 local, 1 base/global).
    pub index: u16,
    /// `@VER` rather than `@@VER` (versym bit 15).
    pub hidden: bool,
    /// The version name, when the index names a definition or requirement.
    pub name: Option<BString>,
    /// For a requirement (`Vernaux`), the file it is required from.
    pub file: Option<BString>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Symbol {
    pub name: BString,
    pub bind: u8,
    #[serde(rename = "type")]
    pub kind: u8,
    pub visibility: u8,
    pub shndx: u16,
    pub value: u64,
    pub size: u64,
    /// `None` when the file has no `DT_VERSYM`.
    pub version: Option<SymbolVersion>,
}

impl Symbol {
    pub fn is_defined(&self) -> bool {
        self.shndx != elf::SHN_UNDEF.0
    }
}

/// A `Verdef` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionDefinition {
    pub index: u16,
    pub flags: u16,
    pub hash: u32,
    pub name: BString,
    /// Further `Verdaux` names (parents).
    pub parents: Vec<BString>,
}

/// One `Vernaux` of a `Verneed` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionNeeded {
    pub name: BString,
    pub hash: u32,
    pub flags: u16,
    /// `vna_other`: the version index symbols use to refer to it.
    pub index: u16,
}

/// A `Verneed` entry: versions required from one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionRequirement {
    pub file: BString,
    pub versions: Vec<VersionNeeded>,
}

/// The facts of one ELF file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ElfFacts {
    pub class: Option<Class>,
    pub little_endian: bool,
    /// `EI_VERSION`.
    pub ident_version: u8,
    pub os_abi: u8,
    pub abi_version: u8,
    /// `e_ident[EI_PAD..]` all zero (ld.so rejects anything else).
    pub ident_pad_zero: bool,
    pub e_type: u16,
    pub machine: u16,
    pub e_phentsize: u16,
    pub interpreter: Option<BString>,
    /// Has a `PT_DYNAMIC` segment.
    pub dynamic: bool,
    pub soname: Option<BString>,
    /// `DT_NEEDED` in `.dynamic` order.
    pub needed: Vec<BString>,
    pub rpath: Option<BString>,
    pub runpath: Option<BString>,
    pub auxiliary: Vec<BString>,
    pub filter: Vec<BString>,
    pub flags: u64,
    pub flags_1: u64,
    /// `DT_SYMBOLIC` present (or `DF_SYMBOLIC`).
    pub symbolic: bool,
    /// `DT_BIND_NOW` present, `DF_BIND_NOW` or `DF_1_NOW`.
    pub bind_now: bool,
    pub textrel: bool,
    /// `PT_GNU_STACK` with `PF_X`, or no `PT_GNU_STACK` (executable by default).
    pub exec_stack: bool,
    pub build_id: Option<Vec<u8>>,
    /// `GNU_PROPERTY_X86_ISA_1_NEEDED` bits.
    pub isa_needed: Option<u32>,
    pub symbols: Vec<Symbol>,
    pub version_definitions: Vec<VersionDefinition>,
    pub version_requirements: Vec<VersionRequirement>,
    pub relocations: Vec<Relocation>,
    /// Parts of the dynamic information that could not be read.
    pub problems: Vec<String>,
}

impl ElfFacts {
    pub fn has_versym(&self) -> bool {
        self.symbols.iter().any(|s| s.version.is_some())
    }

    /// `DF_1_NODEFLIB` (rule L7).
    pub fn nodeflib(&self) -> bool {
        self.flags_1 & elf::DF_1_NODEFLIB.0 != 0
    }
}

/// Positional reads (`pread`) behind object's `ReadCache`, so that reading a
/// range is one system call and the shared file offset is never used.
#[derive(Debug)]
struct PositionalFile {
    file: File,
    pos: u64,
    len: u64,
    /// The first read error other than end of file, reported by [`read`].
    error: Option<io::Error>,
}

impl PositionalFile {
    fn note(&mut self, e: io::Error) {
        if e.kind() != io::ErrorKind::UnexpectedEof {
            self.error.get_or_insert(e);
        }
    }
}

impl ReadCacheOps for PositionalFile {
    fn len(&mut self) -> Result<u64, ()> {
        Ok(self.len)
    }
    fn seek(&mut self, pos: u64) -> Result<u64, ()> {
        self.pos = pos;
        Ok(pos)
    }
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ()> {
        let r = self.file.read_at(buf, self.pos);
        let n = r.map_err(|e| self.note(e))?;
        self.pos += n as u64;
        Ok(n)
    }
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), ()> {
        let r = self.file.read_exact_at(buf, self.pos);
        r.map_err(|e| self.note(e))?;
        self.pos += buf.len() as u64;
        Ok(())
    }
}

/// The largest string-table window read in one go for the linking facts.
const WHOLE_STRTAB: u64 = 64 * 1024;

/// Bytes read past the start of the last wanted string.
const SPAN_TAIL: u64 = 512;

/// The largest string we accept from a string table; longer is corruption.
const MAX_STRING: u64 = 64 * 1024;

/// Reads the facts of one open file.
pub fn read(file: File, detail: Detail) -> Result<ElfFacts, Error> {
    let len = file.metadata()?.len();
    read_sized(file, len, detail)
}

/// [`read`] for a file whose size the caller already knows (from the
/// `fstat` it made when opening it).
pub fn read_sized(file: File, len: u64, detail: Detail) -> Result<ElfFacts, Error> {
    let cache = ReadCache::new(PositionalFile {
        file,
        pos: 0,
        len,
        error: None,
    });
    let result = read_cached(&cache, len, detail);
    // A failed read is an I/O error, not a short or corrupt file.
    match cache.into_inner().error {
        Some(e) => Err(Error::Io(e)),
        None => result,
    }
}

fn read_cached(
    cache: &ReadCache<PositionalFile>,
    len: u64,
    detail: Detail,
) -> Result<ElfFacts, Error> {
    // The ELF header and, in every linker's layout, the program headers
    // follow each other at the start: one read serves both.
    let prefix = cache.read_bytes_at(0, len.min(PREFIX)).unwrap_or(&[]);
    let data = Source { prefix, cache };
    let ident = match prefix.get(..16) {
        Some(b) => b,
        None => return Err(classify_non_elf(prefix)),
    };
    if ident[..4] != elf::ELFMAG {
        return Err(classify_non_elf(ident));
    }
    let little = match ident[5] {
        d if d == elf::ELFDATA2LSB.0 => true,
        d if d == elf::ELFDATA2MSB.0 => false,
        _ => return Err(Error::Unsupported("data encoding")),
    };
    let endian = Endianness::from_little_endian(little).ok_or(Error::Unsupported("endian"))?;
    match ident[4] {
        c if c == elf::ELFCLASS64.0 => {
            parse::<elf::FileHeader64<Endianness>>(data, endian, detail, len)
        }
        c if c == elf::ELFCLASS32.0 => {
            parse::<elf::FileHeader32<Endianness>>(data, endian, detail, len)
        }
        _ => Err(Error::Unsupported("class")),
    }
}

fn classify_non_elf(head: &[u8]) -> Error {
    let text = head
        .iter()
        .position(|&b| b != b' ' && b != b'\n' && b != b'\t');
    let rest = text.map_or(&[][..], |i| &head[i..]);
    let script = [
        &b"/*"[..],
        b"GROUP",
        b"INPUT",
        b"OUTPUT_FORMAT",
        b"SEARCH_DIR",
    ];
    if script.iter().any(|k| rest.starts_with(k)) {
        Error::LinkerScript
    } else if head.len() < 4 || (head.len() < 16 && head.starts_with(&elf::ELFMAG)) {
        Error::TooShort
    } else {
        Error::BadMagic
    }
}

type Data<'a> = Source<'a>;

/// Bytes read up front.
const PREFIX: u64 = 1024;

/// The file as object reads it: ranges inside the first page come from the
/// prefix already read, the rest through the `ReadCache`.
#[derive(Clone, Copy)]
struct Source<'a> {
    prefix: &'a [u8],
    cache: &'a ReadCache<PositionalFile>,
}

impl<'a> ReadRef<'a> for Source<'a> {
    fn len(self) -> Result<u64, ()> {
        self.cache.len()
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'a [u8], ()> {
        let end = offset.checked_add(size).ok_or(())?;
        if end <= self.prefix.len() as u64 {
            let (start, end) = (
                usize::try_from(offset).map_err(|_| ())?,
                usize::try_from(end).map_err(|_| ())?,
            );
            return self.prefix.get(start..end).ok_or(());
        }
        self.cache.read_bytes_at(offset, size)
    }

    fn read_bytes_at_until(
        self,
        range: std::ops::Range<u64>,
        delimiter: u8,
    ) -> Result<&'a [u8], ()> {
        self.cache.read_bytes_at_until(range, delimiter)
    }
}

/// Dynamic-section values that point elsewhere.
#[derive(Default)]
struct DynInfo {
    strtab: Option<u64>,
    strsz: Option<u64>,
    symtab: Option<u64>,
    syment: Option<u64>,
    hash: Option<u64>,
    gnu_hash: Option<u64>,
    versym: Option<u64>,
    verdef: Option<u64>,
    verdefnum: Option<u64>,
    verneed: Option<u64>,
    verneednum: Option<u64>,
    rela: Option<(u64, u64)>,
    rel: Option<(u64, u64)>,
    jmprel: Option<u64>,
    pltrelsz: Option<u64>,
    pltrel: Option<u64>,
    soname: Option<u64>,
    needed: Vec<u64>,
    rpath: Option<u64>,
    runpath: Option<u64>,
    auxiliary: Vec<u64>,
    filter: Vec<u64>,
}

fn parse<Elf: FileHeader<Endian = Endianness>>(
    data: Data<'_>,
    endian: Endianness,
    detail: Detail,
    len: u64,
) -> Result<ElfFacts, Error> {
    let header = data.read_at::<Elf>(0).map_err(|()| Error::TooShort)?;
    let ident = header.e_ident();
    let mut facts = ElfFacts {
        class: Some(if header.is_type_64() {
            Class::Elf64
        } else {
            Class::Elf32
        }),
        little_endian: endian.is_little_endian(),
        ident_version: ident.version.0,
        os_abi: ident.os_abi.0,
        abi_version: ident.abi_version,
        ident_pad_zero: ident.padding.iter().all(|&b| b == 0),
        e_type: header.e_type(endian).0,
        machine: header.e_machine(endian).0,
        e_phentsize: header.e_phentsize(endian),
        exec_stack: true,
        ..ElfFacts::default()
    };
    let phdrs = header
        .program_headers(endian, data)
        .map_err(|_| Error::Invalid("program header table"))?;

    let mut loads = Vec::new();
    let mut dynamic = None;
    for ph in phdrs {
        match ph.p_type(endian) {
            elf::PT_LOAD => {
                let (offset, filesz): (u64, u64) =
                    (ph.p_offset(endian).into(), ph.p_filesz(endian).into());
                // ld.so maps it whole; touching the missing tail is SIGBUS.
                if offset.checked_add(filesz).is_none_or(|end| end > len) {
                    facts
                        .problems
                        .push("Invalid ELF PT_LOAD segment: extends past the end of the file (truncated?)".into());
                }
                loads.push((ph.p_vaddr(endian).into(), offset, filesz));
            }
            elf::PT_DYNAMIC => dynamic = Some(ph),
            elf::PT_INTERP => match ph.interpreter(endian, data) {
                Ok(Some(i)) => facts.interpreter = Some(i.into()),
                Ok(None) => {}
                Err(_) => facts.problems.push("Invalid ELF PT_INTERP segment".into()),
            },
            elf::PT_GNU_STACK => facts.exec_stack = ph.p_flags(endian).0 & elf::PF_X.0 != 0,
            // Usually inside the prefix already read: no extra read.
            elf::PT_NOTE | elf::PT_GNU_PROPERTY => read_notes(&mut facts, ph, endian, data),
            _ => {}
        }
    }
    let Some(dynamic) = dynamic else {
        return Ok(facts);
    };
    facts.dynamic = true;
    let dyns = match dynamic.dynamic(endian, data) {
        Ok(Some(d)) => d,
        _ => {
            facts.problems.push("Invalid ELF dynamic segment".into());
            return Ok(facts);
        }
    };
    let map = AddressMap { loads };
    let mut info = DynInfo::default();
    for d in dyns {
        let tag = d.d_tag(endian);
        if tag == elf::DT_NULL {
            break;
        }
        store_dyn(&mut info, &mut facts, tag, d.d_val(endian).into());
    }
    let strings = match (info.strtab.and_then(|a| map.offset(a)), info.strsz) {
        (Some(off), Some(size)) if off.checked_add(size).is_some_and(|e| e <= len) => {
            // One read instead of one per string: the whole table when the
            // symbols follow, else the span that holds the names we need.
            let span = if detail == Detail::Symbols {
                Some((0, size))
            } else {
                let single = [info.soname, info.rpath, info.runpath];
                let offsets = info
                    .needed
                    .iter()
                    .chain(&info.auxiliary)
                    .chain(&info.filter)
                    .chain(single.iter().flatten());
                let lo = offsets.clone().copied().min().unwrap_or(0).min(size);
                let hi = offsets
                    .copied()
                    .max()
                    .unwrap_or(0)
                    .saturating_add(SPAN_TAIL)
                    .min(size);
                (hi.saturating_sub(lo) <= WHOLE_STRTAB).then_some((lo, hi))
            };
            let window = span.and_then(|(lo, hi)| {
                let bytes = data.read_bytes_at(off + lo, hi - lo).ok()?;
                Some((lo, StringTable::new(bytes, 0, hi - lo)))
            });
            Some(Strings {
                window,
                table: (data, off, size),
            })
        }
        _ => None,
    };
    let Some(strings) = strings else {
        facts
            .problems
            .push("Invalid ELF dynamic string table (DT_STRTAB/DT_STRSZ)".into());
        return Ok(facts);
    };
    let get = |off: u64| -> Option<BString> {
        u32::try_from(off)
            .ok()
            .and_then(|o| strings.get(o))
            .map(BString::from)
    };
    let mut bad = false;
    let mut str_of = |off: Option<u64>| -> Option<BString> {
        let s = get(off?);
        bad |= s.is_none();
        s
    };
    facts.soname = str_of(info.soname);
    facts.rpath = str_of(info.rpath);
    facts.runpath = str_of(info.runpath);
    for (list, offs) in [
        (&mut facts.needed, &info.needed),
        (&mut facts.auxiliary, &info.auxiliary),
        (&mut facts.filter, &info.filter),
    ] {
        for &o in offs {
            match get(o) {
                Some(s) => list.push(s),
                None => bad = true,
            }
        }
    }
    if bad {
        facts
            .problems
            .push("Invalid ELF dynamic string offset (past DT_STRSZ)".into());
    }
    if detail == Detail::Symbols {
        read_symbols::<Elf>(&mut facts, &info, &map, &strings, data, endian, len);
    }
    Ok(facts)
}

/// A string table: a window read in one go, and positional reads of single
/// strings for anything outside it.
struct Strings<'a> {
    window: Option<(u64, StringTable<'a, &'a [u8]>)>,
    /// The whole table: (data, file offset, size).
    table: (Data<'a>, u64, u64),
}

impl Strings<'_> {
    fn get(&self, offset: u32) -> Option<&[u8]> {
        let in_window = self.window.as_ref().and_then(|(base, table)| {
            let rel = u64::from(offset).checked_sub(*base)?;
            table.get(u32::try_from(rel).ok()?).ok()
        });
        let s = match in_window {
            Some(s) => s,
            // Read on in growing blocks up to MAX_STRING: object's
            // `read_bytes_at_until` gives up after 4 KiB.
            None => {
                let (data, off, size) = self.table;
                let rel = u64::from(offset);
                if rel >= size {
                    return None;
                }
                let mut want = 1024u64;
                loop {
                    let n = want.min(size - rel);
                    let block = data.read_bytes_at(off + rel, n).ok()?;
                    if let Some(i) = block.iter().position(|&b| b == 0) {
                        break &block[..i];
                    }
                    if n == size - rel || n > MAX_STRING {
                        return None;
                    }
                    want *= 4;
                }
            }
        };
        (s.len() as u64 <= MAX_STRING).then_some(s)
    }
}

fn store_dyn(info: &mut DynInfo, facts: &mut ElfFacts, tag: elf::DynamicTag, val: u64) {
    match tag {
        elf::DT_NEEDED => info.needed.push(val),
        elf::DT_SONAME => info.soname = Some(val),
        elf::DT_RPATH => info.rpath = Some(val),
        elf::DT_RUNPATH => info.runpath = Some(val),
        elf::DT_AUXILIARY => info.auxiliary.push(val),
        elf::DT_FILTER => info.filter.push(val),
        elf::DT_STRTAB => info.strtab = Some(val),
        elf::DT_STRSZ => info.strsz = Some(val),
        elf::DT_SYMTAB => info.symtab = Some(val),
        elf::DT_SYMENT => info.syment = Some(val),
        elf::DT_HASH => info.hash = Some(val),
        elf::DT_GNU_HASH => info.gnu_hash = Some(val),
        elf::DT_VERSYM => info.versym = Some(val),
        elf::DT_VERDEF => info.verdef = Some(val),
        elf::DT_VERDEFNUM => info.verdefnum = Some(val),
        elf::DT_VERNEED => info.verneed = Some(val),
        elf::DT_VERNEEDNUM => info.verneednum = Some(val),
        elf::DT_RELA => info.rela = Some((val, info.rela.map_or(0, |r| r.1))),
        elf::DT_RELASZ => info.rela = Some((info.rela.map_or(0, |r| r.0), val)),
        elf::DT_REL => info.rel = Some((val, info.rel.map_or(0, |r| r.1))),
        elf::DT_RELSZ => info.rel = Some((info.rel.map_or(0, |r| r.0), val)),
        elf::DT_JMPREL => info.jmprel = Some(val),
        elf::DT_PLTRELSZ => info.pltrelsz = Some(val),
        elf::DT_PLTREL => info.pltrel = Some(val),
        elf::DT_FLAGS => {
            facts.flags = val;
            facts.symbolic |= val & elf::DF_SYMBOLIC.0 != 0;
            facts.bind_now |= val & elf::DF_BIND_NOW.0 != 0;
            facts.textrel |= val & elf::DF_TEXTREL.0 != 0;
        }
        elf::DT_FLAGS_1 => {
            facts.flags_1 = val;
            facts.bind_now |= val & elf::DF_1_NOW.0 != 0;
        }
        elf::DT_SYMBOLIC => facts.symbolic = true,
        elf::DT_BIND_NOW => facts.bind_now = true,
        elf::DT_TEXTREL => facts.textrel = true,
        _ => {}
    }
}

/// Virtual address to file offset, through the `PT_LOAD` segments.
struct AddressMap {
    loads: Vec<(u64, u64, u64)>,
}

impl AddressMap {
    fn offset(&self, addr: u64) -> Option<u64> {
        self.loads.iter().find_map(|&(vaddr, off, filesz)| {
            let delta = addr.checked_sub(vaddr)?;
            (delta < filesz).then(|| off.checked_add(delta)).flatten()
        })
    }
}

fn read_notes<Ph: object::read::elf::ProgramHeader<Endian = Endianness>>(
    facts: &mut ElfFacts,
    ph: &Ph,
    endian: Endianness,
    data: Data<'_>,
) {
    // A note segment larger than this is not a note segment.
    if ph.p_filesz(endian).into() > 1 << 20 {
        facts.problems.push("Invalid ELF note segment size".into());
        return;
    }
    // `ProgramHeader::notes` only iterates PT_NOTE; PT_GNU_PROPERTY holds
    // notes too (one NT_GNU_PROPERTY_TYPE_0).
    let notes = ph.data(endian, data).ok().and_then(|d| {
        object::read::elf::NoteIterator::<Ph::Elf>::new(endian, ph.p_align(endian), d).ok()
    });
    let Some(mut notes) = notes else {
        facts.problems.push("Invalid ELF note segment".into());
        return;
    };
    loop {
        match notes.next() {
            Ok(Some(note)) => {
                if note.name() != elf::ELF_NOTE_GNU {
                    continue;
                }
                match note.n_type(endian) {
                    elf::NT_GNU_BUILD_ID => facts.build_id = Some(note.desc().to_vec()),
                    elf::NT_GNU_PROPERTY_TYPE_0 => {
                        let Some(mut props) = note.gnu_properties(endian) else {
                            continue;
                        };
                        while let Ok(Some(p)) = props.next() {
                            if p.pr_type() == elf::GNU_PROPERTY_X86_ISA_1_NEEDED {
                                facts.isa_needed = p.data_u32(endian).ok();
                            }
                        }
                    }
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => {
                facts.problems.push("Invalid ELF note".into());
                break;
            }
        }
    }
}

fn read_symbols<Elf: FileHeader<Endian = Endianness>>(
    facts: &mut ElfFacts,
    info: &DynInfo,
    map: &AddressMap,
    strings: &Strings<'_>,
    data: Data<'_>,
    endian: Endianness,
    len: u64,
) {
    let sym_size = std::mem::size_of::<Elf::Sym>() as u64;
    let Some(symtab) = info.symtab.and_then(|a| map.offset(a)) else {
        if info.symtab.is_some() {
            facts.problems.push("Invalid ELF DT_SYMTAB address".into());
        }
        return;
    };
    if info.syment.is_some_and(|e| e != sym_size) {
        facts.problems.push("Unsupported ELF DT_SYMENT".into());
        return;
    }
    let count = match symbol_count::<Elf>(info, map, data, endian) {
        Some(c) => c,
        None => {
            facts
                .problems
                .push("Invalid ELF symbol count (DT_HASH/DT_GNU_HASH)".into());
            return;
        }
    };
    // Never more symbols than the file can hold.
    let room = len.saturating_sub(symtab) / sym_size;
    if count > room {
        facts
            .problems
            .push("Invalid ELF dynamic symbol table (runs past the end of the file)".into());
    }
    let count = count.min(room);
    let Ok(syms) = data.read_slice_at::<Elf::Sym>(symtab, count as usize) else {
        facts
            .problems
            .push("Invalid ELF dynamic symbol table".into());
        return;
    };
    let versyms: Option<&[elf::Versym<Endianness>]> = info
        .versym
        .and_then(|a| map.offset(a))
        .and_then(|off| data.read_slice_at(off, syms.len()).ok());
    if info.versym.is_some() && versyms.is_none() {
        facts.problems.push("Invalid ELF DT_VERSYM table".into());
    }
    read_versions(facts, info, map, strings, data, endian);

    let mut bad_names = 0usize;
    facts.symbols = syms
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let name = strings.get(s.st_name(endian)).unwrap_or_else(|| {
                bad_names += 1;
                b""
            });
            let version = versyms.and_then(|v| v.get(i)).map(|v| {
                let raw = v.0.get(endian).0;
                let index = raw & elf::VERSYM_VERSION;
                let (name, file) = version_name(facts, index, s.st_shndx(endian).0 != 0);
                SymbolVersion {
                    index,
                    hidden: raw & elf::VERSYM_HIDDEN.0 != 0,
                    name,
                    file,
                }
            });
            Symbol {
                name: name.into(),
                bind: s.st_bind().0,
                kind: s.st_type().0,
                visibility: s.st_visibility().0,
                shndx: s.st_shndx(endian).0,
                value: s.st_value(endian).into(),
                size: s.st_size(endian).into(),
                version,
            }
        })
        .collect();
    if bad_names > 0 {
        facts.problems.push(format!(
            "Invalid ELF symbol name offset ({bad_names} symbols)"
        ));
    }
    read_relocations::<Elf>(facts, info, map, data, endian);
}

fn version_name(facts: &ElfFacts, index: u16, defined: bool) -> (Option<BString>, Option<BString>) {
    if index <= 1 {
        return (None, None);
    }
    let def = || {
        facts
            .version_definitions
            .iter()
            .find(|d| d.index == index)
            .map(|d| (Some(d.name.clone()), None))
    };
    let need = || {
        facts.version_requirements.iter().find_map(|r| {
            r.versions
                .iter()
                .find(|v| v.index == index)
                .map(|v| (Some(v.name.clone()), Some(r.file.clone())))
        })
    };
    let found = if defined {
        def().or_else(need)
    } else {
        need().or_else(def)
    };
    found.unwrap_or((None, None))
}

/// The number of dynamic symbols: `nchain` of `DT_HASH`, else one past the
/// last symbol reachable through `DT_GNU_HASH` (what `readelf -D` does; ld.so
/// itself never needs the count).
fn symbol_count<Elf: FileHeader<Endian = Endianness>>(
    info: &DynInfo,
    map: &AddressMap,
    data: Data<'_>,
    endian: Endianness,
) -> Option<u64> {
    let u32_at = |off: u64| -> Option<u32> {
        data.read_at::<object::endian::U32<Endianness>>(off)
            .ok()
            .map(|v| v.get(endian))
    };
    if let Some(off) = info.hash.and_then(|a| map.offset(a)) {
        // `nchain`; DT_HASH entries are 4 bytes on every target we audit.
        return u32_at(off.checked_add(4)?).map(u64::from);
    }
    let off = info.gnu_hash.and_then(|a| map.offset(a))?;
    let nbuckets = u64::from(u32_at(off)?);
    let symoffset = u64::from(u32_at(off + 4)?);
    let bloom_size = u64::from(u32_at(off + 8)?);
    let word = if std::mem::size_of::<Elf::Sym>() == 24 {
        8
    } else {
        4
    };
    let buckets_off = off
        .checked_add(16)?
        .checked_add(bloom_size.checked_mul(word)?)?;
    let buckets: &[object::endian::U32<Endianness>] = data
        .read_slice_at(buckets_off, usize::try_from(nbuckets).ok()?)
        .ok()?;
    let max = buckets.iter().map(|b| b.get(endian)).max().unwrap_or(0);
    if u64::from(max) < symoffset {
        // No hashed symbol: GNU ld writes its special empty table (symoffset
        // 1 whatever precedes it). The undefined symbols are still there;
        // GNU ld and lld place .dynstr right after .dynsym.
        let sym_size = std::mem::size_of::<Elf::Sym>() as u64;
        let by_layout = info
            .strtab
            .zip(info.symtab)
            .and_then(|(st, sy)| st.checked_sub(sy))
            .map(|gap| gap / sym_size);
        return Some(by_layout.map_or(symoffset, |n| n.max(symoffset)));
    }
    let chains_off = buckets_off.checked_add(nbuckets.checked_mul(4)?)?;
    let mut i = u64::from(max);
    let len = data.len().ok()?;
    // Walk the last chain until its end bit, a block of words per read (a
    // read per word costs a system call and a cache entry each).
    loop {
        let pos = chains_off.checked_add(i.checked_sub(symoffset)?.checked_mul(4)?)?;
        let n = (len.saturating_sub(pos) / 4).min(1024);
        if n == 0 {
            return None;
        }
        let words: &[object::endian::U32<Endianness>] = data.read_slice_at(pos, n as usize).ok()?;
        for w in words {
            i += 1;
            if w.get(endian) & 1 == 1 {
                return Some(i);
            }
        }
    }
}

fn read_versions(
    facts: &mut ElfFacts,
    info: &DynInfo,
    map: &AddressMap,
    strings: &Strings<'_>,
    data: Data<'_>,
    endian: Endianness,
) {
    let name = |o: u32| strings.get(o).map(BString::from);
    // Entries never overlap in a well-formed file: no more of them than the
    // file can hold (Verdaux is 8 bytes, Verneed and Vernaux 16).
    let len = data.len().unwrap_or(0);
    let (mut def_budget, mut need_budget) = (len / 8, len / 16);
    if let Some(mut off) = info.verdef.and_then(|a| map.offset(a)) {
        let count = info.verdefnum.unwrap_or(0).min(u64::from(u16::MAX));
        for _ in 0..count {
            let Ok(vd) = data.read_at::<elf::Verdef<Endianness>>(off) else {
                facts.problems.push("Invalid ELF Verdef".into());
                break;
            };
            if vd.vd_version.get(endian) != 1 || def_budget == 0 {
                facts.problems.push("Invalid ELF Verdef".into());
                break;
            }
            def_budget -= 1;
            let mut names = Vec::new();
            let mut aux = off.checked_add(u64::from(vd.vd_aux.get(endian)));
            for _ in 0..vd.vd_cnt.get(endian) {
                let Some(a) = aux.and_then(|a| {
                    data.read_at::<elf::Verdaux<Endianness>>(a)
                        .ok()
                        .map(|v| (a, v))
                }) else {
                    facts.problems.push("Invalid ELF Verdaux".into());
                    break;
                };
                if def_budget == 0 {
                    facts.problems.push("Invalid ELF Verdaux".into());
                    break;
                }
                def_budget -= 1;
                match name(a.1.vda_name.get(endian)) {
                    Some(n) => names.push(n),
                    None => facts.problems.push("Invalid ELF Verdaux name".into()),
                }
                let next = a.1.vda_next.get(endian);
                if next == 0 {
                    break;
                }
                aux = a.0.checked_add(u64::from(next));
            }
            let mut names = names.into_iter();
            facts.version_definitions.push(VersionDefinition {
                index: vd.vd_ndx.get(endian).0,
                flags: vd.vd_flags.get(endian).0,
                hash: vd.vd_hash.get(endian),
                name: names.next().unwrap_or_default(),
                parents: names.collect(),
            });
            let next = vd.vd_next.get(endian);
            if next == 0 {
                break;
            }
            match off.checked_add(u64::from(next)) {
                Some(n) => off = n,
                None => break,
            }
        }
    }
    if let Some(mut off) = info.verneed.and_then(|a| map.offset(a)) {
        let count = info.verneednum.unwrap_or(0).min(u64::from(u16::MAX));
        for _ in 0..count {
            let Ok(vn) = data.read_at::<elf::Verneed<Endianness>>(off) else {
                facts.problems.push("Invalid ELF Verneed".into());
                break;
            };
            let file = name(vn.vn_file.get(endian));
            if vn.vn_version.get(endian) != 1 || file.is_none() || need_budget == 0 {
                facts.problems.push("Invalid ELF Verneed".into());
                break;
            }
            need_budget -= 1;
            let mut versions = Vec::new();
            let mut aux = off.checked_add(u64::from(vn.vn_aux.get(endian)));
            for _ in 0..vn.vn_cnt.get(endian) {
                let Some((a, v)) = aux.and_then(|a| {
                    data.read_at::<elf::Vernaux<Endianness>>(a)
                        .ok()
                        .map(|v| (a, v))
                }) else {
                    facts.problems.push("Invalid ELF Vernaux".into());
                    break;
                };
                let Some(vna_name) = name(v.vna_name.get(endian)).filter(|_| need_budget > 0)
                else {
                    facts.problems.push("Invalid ELF Vernaux".into());
                    break;
                };
                need_budget -= 1;
                versions.push(VersionNeeded {
                    name: vna_name,
                    hash: v.vna_hash.get(endian),
                    flags: v.vna_flags.get(endian).0,
                    index: v.vna_other.get(endian).0 & elf::VERSYM_VERSION,
                });
                let next = v.vna_next.get(endian);
                if next == 0 {
                    break;
                }
                aux = a.checked_add(u64::from(next));
            }
            facts.version_requirements.push(VersionRequirement {
                file: file.unwrap_or_default(),
                versions,
            });
            let next = vn.vn_next.get(endian);
            if next == 0 {
                break;
            }
            match off.checked_add(u64::from(next)) {
                Some(n) => off = n,
                None => break,
            }
        }
    }
}

fn read_relocations<Elf: FileHeader<Endian = Endianness>>(
    facts: &mut ElfFacts,
    info: &DynInfo,
    map: &AddressMap,
    data: Data<'_>,
    endian: Endianness,
) {
    let machine = facts.machine;
    let nsyms = facts.symbols.len() as u32;
    let plt_is_rela = info.pltrel.is_none_or(|t| t == elf::DT_RELA.0 as u64);
    let jmp = info.jmprel.zip(info.pltrelsz);
    let mut out = Vec::new();
    let mut bad = false;
    // (address, size, is_rela, from DT_JMPREL)
    let mut tables = Vec::new();
    for (range, rela) in [(info.rela, true), (info.rel, false)] {
        let Some((addr, size)) = range else { continue };
        // Linkers may include the PLT relocations in the DT_RELA range; glibc
        // then processes them once, as PLT relocations.
        let (addr, size) = match jmp {
            Some((j, js))
                if rela == plt_is_rela
                    && j >= addr
                    && j.checked_add(js)
                        .is_some_and(|e| Some(e) == addr.checked_add(size)) =>
            {
                (addr, j - addr)
            }
            _ => (addr, size),
        };
        tables.push((addr, size, rela, false));
    }
    if let Some((j, js)) = jmp {
        tables.push((j, js, plt_is_rela, true));
    }
    for (addr, size, rela, plt) in tables {
        if size == 0 {
            continue;
        }
        let Some(off) = map.offset(addr) else {
            bad = true;
            continue;
        };
        let mut push = |sym: u32, r_type: u32| {
            if sym == 0 {
                return;
            }
            if sym >= nsyms {
                bad = true;
                return;
            }
            out.push(Relocation {
                r_type,
                symbol: sym,
                class: reloc_class(machine, r_type, plt),
            });
        };
        if rela {
            let n = size / std::mem::size_of::<Elf::Rela>() as u64;
            match data.read_slice_at::<Elf::Rela>(off, n as usize) {
                Ok(rs) => rs
                    .iter()
                    .for_each(|r| push(r.r_sym(endian, false), r.r_type(endian, false).0)),
                Err(()) => bad = true,
            }
        } else {
            let n = size / std::mem::size_of::<Elf::Rel>() as u64;
            match data.read_slice_at::<Elf::Rel>(off, n as usize) {
                Ok(rs) => rs
                    .iter()
                    .for_each(|r| push(r.r_sym(endian), r.r_type(endian).0)),
                Err(()) => bad = true,
            }
        }
    }
    if bad {
        facts.problems.push("Invalid ELF relocation table".into());
    }
    facts.relocations = out;
}

fn reloc_class(machine: u16, r_type: u32, from_jmprel: bool) -> RelocClass {
    let (jump_slot, copy) = match elf::Machine(machine) {
        elf::EM_X86_64 => (elf::R_X86_64_JUMP_SLOT.0, elf::R_X86_64_COPY.0),
        elf::EM_386 => (elf::R_386_JMP_SLOT.0, elf::R_386_COPY.0),
        elf::EM_AARCH64 => (elf::R_AARCH64_JUMP_SLOT.0, elf::R_AARCH64_COPY.0),
        elf::EM_ARM => (elf::R_ARM_JUMP_SLOT.0, elf::R_ARM_COPY.0),
        elf::EM_PPC64 => (elf::R_PPC64_JMP_SLOT.0, elf::R_PPC64_COPY.0),
        elf::EM_S390 => (elf::R_390_JMP_SLOT.0, elf::R_390_COPY.0),
        _ => {
            return if from_jmprel {
                RelocClass::Plt
            } else {
                RelocClass::Data
            };
        }
    };
    if r_type == copy {
        RelocClass::Copy
    } else if r_type == jump_slot {
        RelocClass::Plt
    } else {
        RelocClass::Data
    }
}
