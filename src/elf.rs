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
//! the file size before anything is allocated, and every byte read or
//! copied into the facts is charged to a [`Meter`] first: the cache keeps
//! what it read until the file is done, so a file whose fields point at
//! the same megabytes many times over would otherwise cost gigabytes
//! (issue 13). A file over its budget is an [`Error::Budget`].
//!
//! This module knows nothing of hosts or other files; the resolver decides
//! whether a file is acceptable to a given process (rule L12).
//!
//! ```no_run
//! let file = std::fs::File::open("/usr/lib/x86_64-linux-gnu/libz.so.1").unwrap();
//! let facts = soclash::elf::read(file, soclash::elf::Detail::Linking).unwrap();
//! assert!(facts.soname.is_some());
//! ```

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use bstr::BString;
use object::elf;
use object::read::elf::{Dyn as _, FileHeader, ProgramHeader as _, Rel as _, Rela as _, Sym as _};
use object::read::{ReadCache, ReadCacheOps, ReadRef, StringTable};
use object::{Endian, Endianness};
use rustc_hash::FxHashSet;
use serde::Serialize;

use crate::budget;

mod fingerprint;

use fingerprint::Trace;
pub use fingerprint::{Fingerprint, Head, head};

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
    /// Not a source: the message prints it.
    #[error("read error: {0}")]
    Io(io::Error),
    /// The file asked for more than a budget allows (`budget::exceeded`
    /// text, naming it); nothing of it is used.
    #[error("{0}")]
    Budget(String),
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
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

/// The kind of one dependency entry of the dynamic section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyTag {
    Needed = 0,
    Auxiliary = 1,
    Filter = 2,
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
    /// `DT_NEEDED`, `DT_AUXILIARY` and `DT_FILTER` entries in `.dynamic`
    /// order (the n-th of a kind is the n-th of its list above): ld.so
    /// handles them in that order, placing each filtee before its filter
    /// (elf/dl-deps.c), so the order decides the load order.
    #[serde(skip)]
    pub dependency_tags: Vec<DependencyTag>,
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
    /// Symbol indices sorted by name, made on first use: the rules and the
    /// clash matchers ask every member of every process for names and
    /// exports, and one file's answer is the same in each of them.
    #[serde(skip)]
    pub(crate) by_name: OnceLock<Vec<u32>>,
    /// [`ElfFacts::vague_linkage`], made on first use.
    #[serde(skip)]
    pub(crate) vague: OnceLock<Vague>,
}

/// Which of a file's definitions may be vague linkage: any defined
/// `STB_GNU_UNIQUE` symbol, any defined weak or unique `_Z` symbol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vague {
    pub unique: bool,
    pub weak_cxx: bool,
}

impl ElfFacts {
    /// Whether the file defines any symbol that vague linkage could
    /// explain: the rules ask it of every interposed reference before
    /// looking the name up, and most C libraries define none.
    pub fn vague_linkage(&self) -> Vague {
        *self.vague.get_or_init(|| {
            let mut v = Vague::default();
            for s in self.symbols.iter().filter(|s| s.is_defined()) {
                v.unique |= s.bind == 10;
                v.weak_cxx |= matches!(s.bind, 2 | 10) && s.name.starts_with(b"_Z");
            }
            v
        })
    }

    /// The symbols whose names start with `prefix`, in name order (then
    /// symbol-table order): one run of the name index, found by bisection.
    pub fn starting_with<'a>(&'a self, prefix: &'a [u8]) -> impl Iterator<Item = &'a Symbol> + 'a {
        self.starting_with_at(prefix).map(|(_, s)| s)
    }

    /// [`ElfFacts::starting_with`] with each symbol's index.
    pub fn starting_with_at<'a>(
        &'a self,
        prefix: &'a [u8],
    ) -> impl Iterator<Item = (u32, &'a Symbol)> + 'a {
        let key = move |i: u32| self.symbols.get(i as usize).map(|s| s.name.as_slice());
        let sorted = self.by_name.get_or_init(|| {
            let mut all: Vec<u32> = (0..self.symbols.len())
                .filter_map(|i| u32::try_from(i).ok())
                .collect();
            all.sort_by(|&a, &b| key(a).cmp(&key(b)).then(a.cmp(&b)));
            all
        });
        let at = sorted.partition_point(|&i| key(i) < Some(prefix));
        sorted
            .get(at..)
            .unwrap_or_default()
            .iter()
            .map_while(move |&i| {
                self.symbols
                    .get(i as usize)
                    .filter(|s| s.name.starts_with(prefix))
                    .map(|s| (i, s))
            })
    }

    /// The symbols called `name`, in symbol-table order.
    pub fn named<'a>(&'a self, name: &'a [u8]) -> impl Iterator<Item = &'a Symbol> + 'a {
        self.starting_with(name)
            .take_while(move |s| s.name.as_slice() == name)
    }

    /// The names starting with `start` that another object can bind to
    /// (defined; global, weak or GNU-unique; default or protected
    /// visibility; UTF-8), in name order: an exact name is the first of
    /// them or nothing.
    pub fn exports_from<'a>(&'a self, start: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.exports_from_at(start).map(|(_, n)| n)
    }

    /// [`ElfFacts::exports_from`] with each symbol's index.
    pub fn exports_from_at<'a>(
        &'a self,
        start: &'a str,
    ) -> impl Iterator<Item = (u32, &'a str)> + 'a {
        self.starting_with_at(start.as_bytes())
            .filter(|(_, s)| {
                s.is_defined() && matches!(s.bind, 1 | 2 | 10) && matches!(s.visibility, 0 | 3)
            })
            .filter_map(|(i, s)| Some((i, std::str::from_utf8(&s.name).ok()?)))
    }

    /// Whether it exports exactly `name`.
    pub fn exports_name(&self, name: &str) -> bool {
        self.exports_from(name).next() == Some(name)
    }

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
    /// What was read, when the caller wants a [`Fingerprint`].
    trace: Option<Trace>,
}

impl PositionalFile {
    fn note(&mut self, e: io::Error) {
        if e.kind() != io::ErrorKind::UnexpectedEof {
            self.error.get_or_insert(e);
        }
    }

    fn traced(&mut self, at: u64, bytes: &[u8]) {
        if let Some(t) = &mut self.trace {
            t.add(at, bytes);
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
        self.traced(self.pos, buf.get(..n).unwrap_or_default());
        self.pos += n as u64;
        Ok(n)
    }
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), ()> {
        let r = self.file.read_exact_at(buf, self.pos);
        r.map_err(|e| self.note(e))?;
        self.traced(self.pos, buf);
        self.pos += buf.len() as u64;
        Ok(())
    }
}

/// The largest string-table window read in one go for the linking facts.
const WHOLE_STRTAB: u64 = 64 * 1024;

/// Bytes read past the start of the last wanted string.
const SPAN_TAIL: u64 = 512;

/// What a cache entry costs beyond its bytes (map slot, allocation), so
/// that many tiny reads are not free.
const ENTRY_COST: u64 = 64;

/// ELF bytes read and copied by this process, for
/// [`budget::ELF_BYTES_PER_RUN`].
static RUN_BYTES: AtomicU64 = AtomicU64::new(0);

/// Which budget a file went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Over {
    File,
    Run,
    Notes,
}

impl Over {
    fn text(self) -> String {
        match self {
            Over::File => budget::exceeded(
                "ELF_BYTES_PER_FILE",
                budget::bytes(budget::ELF_BYTES_PER_FILE),
            ),
            Over::Run => budget::exceeded(
                "ELF_BYTES_PER_RUN",
                budget::bytes(budget::ELF_BYTES_PER_RUN),
            ),
            Over::Notes => {
                budget::exceeded("ELF_NOTE_BYTES", budget::bytes(budget::ELF_NOTE_BYTES))
            }
        }
    }
}

/// The bytes one file has cost (read into the cache, or copied from it
/// into the facts), charged before they are allocated, against the
/// file's budget and the run's. Once over, every further charge fails, so
/// the parse winds down quickly and [`read_sized`] reports the budget.
#[derive(Debug)]
struct Meter {
    used: Cell<u64>,
    notes: Cell<u64>,
    /// Cache keys already charged: a repeated read is served by the cache.
    seen: RefCell<FxHashSet<(u64, u64)>>,
    over: Cell<Option<Over>>,
    file_limit: u64,
    run: &'static AtomicU64,
    run_limit: u64,
}

impl Meter {
    fn new() -> Meter {
        Meter::with_limits(
            budget::ELF_BYTES_PER_FILE,
            &RUN_BYTES,
            budget::ELF_BYTES_PER_RUN,
        )
    }

    fn with_limits(file_limit: u64, run: &'static AtomicU64, run_limit: u64) -> Meter {
        Meter {
            used: Cell::new(0),
            notes: Cell::new(0),
            seen: RefCell::default(),
            over: Cell::new(None),
            file_limit,
            run,
            run_limit,
        }
    }

    /// Takes `n` bytes from the file's and the run's budgets, or records
    /// which one they would exceed.
    fn charge(&self, n: u64) -> bool {
        if self.over.get().is_some() {
            return false;
        }
        let used = self.used.get().saturating_add(n);
        if used > self.file_limit {
            self.over.set(Some(Over::File));
            return false;
        }
        let limit = self.run_limit;
        let run = self
            .run
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| {
                r.checked_add(n).filter(|&t| t <= limit)
            });
        if run.is_err() {
            self.over.set(Some(Over::Run));
            return false;
        }
        self.used.set(used);
        true
    }

    /// [`Meter::charge`] for a new cache entry of `size` bytes under
    /// `key`, free when the cache already holds it.
    fn charge_entry(&self, key: (u64, u64), size: u64) -> bool {
        if self.seen.borrow().contains(&key) {
            return true;
        }
        if !self.charge(size.saturating_add(ENTRY_COST)) {
            return false;
        }
        self.seen.borrow_mut().insert(key);
        true
    }

    /// Takes `n` bytes of note segment from [`budget::ELF_NOTE_BYTES`].
    fn charge_notes(&self, n: u64) -> bool {
        let total = self.notes.get().saturating_add(n);
        if total > budget::ELF_NOTE_BYTES {
            self.over.set(self.over.get().or(Some(Over::Notes)));
            return false;
        }
        self.notes.set(total);
        true
    }
}

/// Reads the facts of one open file.
pub fn read(file: File, detail: Detail) -> Result<ElfFacts, Error> {
    let len = file.metadata()?.len();
    read_sized(file, len, detail)
}

/// [`read`] for a file whose size the caller already knows (from the
/// `fstat` it made when opening it).
pub fn read_sized(file: File, len: u64, detail: Detail) -> Result<ElfFacts, Error> {
    read_metered(file, len, detail, &Meter::new())
}

fn read_metered(file: File, len: u64, detail: Detail, meter: &Meter) -> Result<ElfFacts, Error> {
    read_traced(file, len, detail, meter, None).0
}

fn read_traced(
    file: File,
    len: u64,
    detail: Detail,
    meter: &Meter,
    trace: Option<Trace>,
) -> (Result<ElfFacts, Error>, Option<Trace>) {
    let cache = ReadCache::new(PositionalFile {
        file,
        pos: 0,
        len,
        error: None,
        trace,
    });
    let result = read_cached(&cache, len, detail, meter);
    let file = cache.into_inner();
    if let Some(over) = meter.over.get() {
        return (Err(Error::Budget(over.text())), None);
    }
    // A failed read is an I/O error, not a short or corrupt file.
    match file.error {
        Some(e) => (Err(Error::Io(e)), None),
        None => (result, file.trace),
    }
}

/// [`read_sized`], with the [`Fingerprint`] of what the parse read when
/// it gave facts: another file that [`Fingerprint::matches`] it gives the
/// same facts without being parsed (identical copies of a virtualenv).
pub fn read_fingerprinted(
    file: File,
    len: u64,
    detail: Detail,
) -> (Result<ElfFacts, Error>, Option<Fingerprint>) {
    let (result, trace) = read_traced(file, len, detail, &Meter::new(), Some(Trace::new()));
    let print = trace
        .filter(|_| result.is_ok())
        .and_then(|t| t.finish(len, detail));
    (result, print)
}

fn read_cached(
    cache: &ReadCache<PositionalFile>,
    len: u64,
    detail: Detail,
    meter: &Meter,
) -> Result<ElfFacts, Error> {
    // The ELF header and, in every linker's layout, the program headers
    // follow each other at the start: one read serves both.
    let first = Source {
        prefix: &[],
        cache,
        meter,
    };
    let prefix = first.read_bytes_at(0, len.min(PREFIX)).unwrap_or(&[]);
    let data = Source {
        prefix,
        cache,
        meter,
    };
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
/// prefix already read, the rest through the `ReadCache`, each new range
/// charged to the meter before it is allocated.
#[derive(Clone, Copy)]
struct Source<'a> {
    prefix: &'a [u8],
    cache: &'a ReadCache<PositionalFile>,
    meter: &'a Meter,
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
        // Out of the file is an error before it costs anything.
        if size == 0 || end > self.cache.len()? {
            return self.cache.read_bytes_at(offset, size);
        }
        if !self.meter.charge_entry((offset, size), size) {
            return Err(());
        }
        self.cache.read_bytes_at(offset, size)
    }

    fn read_bytes_at_until(
        self,
        range: std::ops::Range<u64>,
        delimiter: u8,
    ) -> Result<&'a [u8], ()> {
        // The cache reads up to 4 KiB for this, kept by start and
        // delimiter; charged as such (keyed apart from plain reads).
        let key = (range.start, u64::MAX - u64::from(delimiter));
        if !self.meter.charge_entry(key, 4096) {
            return Err(());
        }
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
    /// The three lists above in `.dynamic` order.
    tags: Vec<DependencyTag>,
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
                too_long: Cell::new(false),
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
    let get =
        |off: u64| -> Option<BString> { u32::try_from(off).ok().and_then(|o| strings.copy(o)) };
    let mut bad = false;
    let mut str_of = |off: Option<u64>| -> Option<BString> {
        let s = get(off?);
        bad |= s.is_none();
        s
    };
    facts.soname = str_of(info.soname);
    facts.rpath = str_of(info.rpath);
    facts.runpath = str_of(info.runpath);
    // Which entries of each kind were read, so the order keeps only those.
    let mut read: [Vec<bool>; 3] = Default::default();
    for ((list, offs), ok) in [
        (&mut facts.needed, &info.needed),
        (&mut facts.auxiliary, &info.auxiliary),
        (&mut facts.filter, &info.filter),
    ]
    .into_iter()
    .zip(&mut read)
    {
        for &o in offs {
            let s = get(o);
            ok.push(s.is_some());
            match s {
                Some(s) => list.push(s),
                None => bad = true,
            }
        }
    }
    let mut seen = [0usize; 3];
    for &tag in &info.tags {
        let k = tag as usize;
        let n = seen.get(k).copied().unwrap_or(0);
        if let Some(c) = seen.get_mut(k) {
            *c += 1;
        }
        if read.get(k).and_then(|r| r.get(n)).copied().unwrap_or(false) {
            facts.dependency_tags.push(tag);
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
    if strings.too_long.get() {
        facts.problems.push(format!(
            "Invalid ELF string (longer than a string can be): {}",
            budget::exceeded("ELF_STRING", budget::bytes(budget::ELF_STRING))
        ));
    }
    Ok(facts)
}

/// A string table: a window read in one go, and positional reads of single
/// strings for anything outside it.
struct Strings<'a> {
    window: Option<(u64, StringTable<'a, &'a [u8]>)>,
    /// The whole table: (data, file offset, size).
    table: (Data<'a>, u64, u64),
    /// A string ran past [`budget::ELF_STRING`].
    too_long: Cell<bool>,
}

impl Strings<'_> {
    /// The string at `offset`, copied out for the facts: its bytes are
    /// charged to the file's meter, since many entries may name the same
    /// long string.
    fn copy(&self, offset: u32) -> Option<BString> {
        let s = self.get(offset)?;
        let cost = (s.len() + std::mem::size_of::<BString>()) as u64;
        self.table.0.meter.charge(cost).then(|| BString::from(s))
    }

    fn get(&self, offset: u32) -> Option<&[u8]> {
        let in_window = self.window.as_ref().and_then(|(base, table)| {
            let rel = u64::from(offset).checked_sub(*base)?;
            table.get(u32::try_from(rel).ok()?).ok()
        });
        let s = match in_window {
            Some(s) => s,
            // Read on in growing blocks up to ELF_STRING: object's
            // `read_bytes_at_until` gives up after 4 KiB.
            None => {
                let (data, off, size) = self.table;
                let rel = u64::from(offset);
                if rel >= size {
                    return None;
                }
                let mut want = 1024u64;
                loop {
                    let n = want.min(size - rel).min(budget::ELF_STRING + 1);
                    let block = data.read_bytes_at(off + rel, n).ok()?;
                    if let Some(i) = block.iter().position(|&b| b == 0) {
                        break &block[..i];
                    }
                    if n == size - rel {
                        return None;
                    }
                    if n > budget::ELF_STRING {
                        self.too_long.set(true);
                        return None;
                    }
                    want *= 4;
                }
            }
        };
        if s.len() as u64 > budget::ELF_STRING {
            self.too_long.set(true);
            return None;
        }
        Some(s)
    }
}

fn store_dyn(info: &mut DynInfo, facts: &mut ElfFacts, tag: elf::DynamicTag, val: u64) {
    match tag {
        elf::DT_NEEDED => {
            info.needed.push(val);
            info.tags.push(DependencyTag::Needed);
        }
        elf::DT_SONAME => info.soname = Some(val),
        elf::DT_RPATH => info.rpath = Some(val),
        elf::DT_RUNPATH => info.runpath = Some(val),
        elf::DT_AUXILIARY => {
            info.auxiliary.push(val);
            info.tags.push(DependencyTag::Auxiliary);
        }
        elf::DT_FILTER => {
            info.filter.push(val);
            info.tags.push(DependencyTag::Filter);
        }
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
    // Real note segments hold a few hundred bytes; parsing them costs
    // time per byte, so all of a file's together are budgeted.
    if !data.meter.charge_notes(ph.p_filesz(endian).into()) {
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
    // The symbols are several times the size of the entries they come
    // from; charged before they are made.
    let size = std::mem::size_of::<Symbol>() as u64;
    if !data.meter.charge((syms.len() as u64).saturating_mul(size)) {
        return;
    }
    let versions = Versions::of(facts);
    let mut bad_names = 0usize;
    let mut symbols = Vec::with_capacity(syms.len());
    for (i, s) in syms.iter().enumerate() {
        let name = match strings.copy(s.st_name(endian)) {
            Some(n) => n,
            None if data.meter.over.get().is_some() => return,
            None => {
                bad_names += 1;
                BString::default()
            }
        };
        let version = versyms.and_then(|v| v.get(i)).map(|v| {
            let raw = v.0.get(endian).0;
            let index = raw & elf::VERSYM_VERSION;
            let (name, file) = versions.name(index, s.st_shndx(endian).0 != 0);
            SymbolVersion {
                index,
                hidden: raw & elf::VERSYM_HIDDEN.0 != 0,
                name: name.cloned(),
                file: file.cloned(),
            }
        });
        // The version's names are copies too.
        let copied = version.as_ref().map_or(0, |v| {
            v.name.as_ref().map_or(0, |n| n.len()) + v.file.as_ref().map_or(0, |f| f.len())
        });
        if !data.meter.charge(copied as u64) {
            return;
        }
        symbols.push(Symbol {
            name,
            bind: s.st_bind().0,
            kind: s.st_type().0,
            visibility: s.st_visibility().0,
            shndx: s.st_shndx(endian).0,
            value: s.st_value(endian).into(),
            size: s.st_size(endian).into(),
            version,
        });
    }
    facts.symbols = symbols;
    if bad_names > 0 {
        facts.problems.push(format!(
            "Invalid ELF symbol name offset ({bad_names} symbols)"
        ));
    }
    read_relocations::<Elf>(facts, info, map, data, endian);
}

/// Version names by index, looked up once per symbol: the first
/// definition and the first requirement with each index, as a search of
/// the lists in file order finds them.
struct Versions<'a> {
    defined: rustc_hash::FxHashMap<u16, &'a BString>,
    needed: rustc_hash::FxHashMap<u16, (&'a BString, &'a BString)>,
}

impl<'a> Versions<'a> {
    fn of(facts: &'a ElfFacts) -> Versions<'a> {
        let mut defined = rustc_hash::FxHashMap::default();
        for d in &facts.version_definitions {
            defined.entry(d.index).or_insert(&d.name);
        }
        let mut needed = rustc_hash::FxHashMap::default();
        for r in &facts.version_requirements {
            for v in &r.versions {
                needed.entry(v.index).or_insert((&v.name, &r.file));
            }
        }
        Versions { defined, needed }
    }

    /// A defined symbol's version is looked for among the definitions
    /// first, an undefined one's among the requirements.
    fn name(&self, index: u16, defined: bool) -> (Option<&'a BString>, Option<&'a BString>) {
        if index <= 1 {
            return (None, None);
        }
        let def = || self.defined.get(&index).map(|&n| (Some(n), None));
        let need = || self.needed.get(&index).map(|&(n, f)| (Some(n), Some(f)));
        let found = if defined {
            def().or_else(need)
        } else {
            need().or_else(def)
        };
        found.unwrap_or((None, None))
    }
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
    let name = |o: u32| strings.copy(o);
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
        // What is kept of each entry read is charged before it is kept.
        let kept = |n: usize| {
            data.meter
                .charge((n * std::mem::size_of::<Relocation>()) as u64)
        };
        if rela {
            let n = size / std::mem::size_of::<Elf::Rela>() as u64;
            match data.read_slice_at::<Elf::Rela>(off, n as usize) {
                Ok(rs) if kept(rs.len()) => rs
                    .iter()
                    .for_each(|r| push(r.r_sym(endian, false), r.r_type(endian, false).0)),
                Ok(_) => return,
                Err(()) => bad = true,
            }
        } else {
            let n = size / std::mem::size_of::<Elf::Rel>() as u64;
            match data.read_slice_at::<Elf::Rel>(off, n as usize) {
                Ok(rs) if kept(rs.len()) => rs
                    .iter()
                    .for_each(|r| push(r.r_sym(endian), r.r_type(endian).0)),
                Ok(_) => return,
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

/// The name of an `e_machine` value, as reports and findings print it.
pub fn machine_name(machine: u16) -> String {
    match machine {
        3 => "i386".into(),
        8 => "mips".into(),
        20 => "ppc".into(),
        21 => "ppc64".into(),
        22 => "s390".into(),
        40 => "arm".into(),
        62 => "x86_64".into(),
        183 => "aarch64".into(),
        243 => "riscv".into(),
        258 => "loongarch".into(),
        m => format!("machine-{m}"),
    }
}

#[cfg(test)]
mod tests;
