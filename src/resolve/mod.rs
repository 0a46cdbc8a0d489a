//! The ld.so model: which file each `DT_NEEDED` name resolves to, in which
//! order objects are loaded, and why each was found where it was
//! (research/loader-model.md §1–§2, rules L1–L14 and C1–C11).
//!
//! A [`Loader`] holds what is fixed for one root: its `ld.so.cache` (or an
//! emulation of `ldconfig` when it has none), the [`Profile`] of the root's
//! C library (its answers where C libraries' loaders differ: trusted
//! directories, `$LIB`, version-dependent behaviour; see [`profile`]), the
//! CPU level used for glibc-hwcaps, `LD_LIBRARY_PATH`, and caches of ELF
//! facts keyed by (device, inode) so each file is parsed once however many
//! paths reach it (rule L13). [`Loader::load`] simulates the start-up of one
//! program the way `ld.so --list` does and returns a [`Load`]: the objects
//! in load order with the edge of every `DT_NEEDED`.
//!
//! An unresolved dependency is a fact of the [`Load`], not an error.
//!
//! ```no_run
//! use soclash::{root::Root, resolve::{Loader, Options}};
//! let root = Root::new("/".as_ref()).unwrap();
//! let loader = Loader::new(&root, Options::default());
//! let load = loader.load("/usr/lib/x86_64-linux-gnu/libz.so.1".as_ref()).unwrap();
//! for line in load.ldd_lines() {
//!     println!("{line}");
//! }
//! ```

pub mod cache;
pub mod ldconfig;
pub mod profile;
mod search;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};

use rustc_hash::FxHashMap;

use bstr::{BString, ByteSlice};

use crate::elf::{self, Class, Detail, ElfFacts};
use crate::root::{FileId, Root, RootError};

pub use profile::Profile;
pub use search::{DlopenError, Found, Group, Namespace, rtld};

/// The x86-64 CPU the process is predicted for: its ISA level (1–4, for
/// glibc-hwcaps, rule L5/C2) and whether glibc would call it an Intel
/// `haswell` platform (rule L9 `$PLATFORM`, legacy subdirectories).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cpu {
    pub level: u8,
    pub intel: bool,
    pub avx512: bool,
}

impl Cpu {
    /// This machine's CPU, as glibc's `cpu_features` would see it.
    pub fn detect() -> Cpu {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            let v2 = has!("cmpxchg16b")
                && has!("popcnt")
                && has!("sse3")
                && has!("sse4.1")
                && has!("sse4.2")
                && has!("ssse3");
            let v3 = v2
                && has!("avx")
                && has!("avx2")
                && has!("bmi1")
                && has!("bmi2")
                && has!("f16c")
                && has!("fma")
                && has!("lzcnt")
                && has!("movbe")
                && has!("xsave");
            let v4 = v3
                && has!("avx512f")
                && has!("avx512bw")
                && has!("avx512cd")
                && has!("avx512dq")
                && has!("avx512vl");
            // SAFETY: cpuid leaf 0 exists on every x86-64 CPU.
            let vendor = std::arch::x86_64::__cpuid(0);
            let intel = vendor.ebx == 0x756e_6547; // "Genu"
            let level = if v4 {
                4
            } else if v3 {
                3
            } else if v2 {
                2
            } else {
                1
            };
            Cpu {
                level,
                intel,
                avx512: v4,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Cpu {
                level: 1,
                intel: false,
                avx512: false,
            }
        }
    }

    pub fn with_level(level: u8) -> Cpu {
        let cpu = Cpu::detect();
        Cpu {
            level,
            avx512: cpu.avx512 && level >= 4,
            ..cpu
        }
    }
}

/// Settings of one loader.
#[derive(Debug, Clone)]
pub struct Options {
    /// `LD_LIBRARY_PATH` of the process, as written.
    pub ld_library_path: Option<String>,
    pub cpu: Cpu,
    /// The process's working directory, inside the root (rules L2, L6).
    pub cwd: PathBuf,
    /// Overrides [`Profile::detect`].
    pub profile: Option<Profile>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ld_library_path: None,
            cpu: Cpu::detect(),
            cwd: PathBuf::from("/"),
            profile: None,
        }
    }
}

/// Where the cache came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheSource {
    /// The root's `/etc/ld.so.cache`.
    File,
    /// No usable cache file: ld.so then uses none (C4), and neither does
    /// the loader; `ldconfig` is emulated from `ld.so.conf` only to name
    /// what its next run would make ld.so find ([`Loader::ldconfig_would`]).
    Emulated,
    /// The cache the package manager's `ldconfig` trigger writes after the
    /// install a what-if models ([`Root::ld_cache_rebuilt`]): emulated from
    /// `ld.so.conf` as [`CacheSource::Emulated`] is, and read as ld.so
    /// reads the file.
    Rebuilt,
}

/// A problem with one file met while loading, for the report's `errors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    pub path: PathBuf,
    pub reason: String,
}

/// An opened candidate, shared by every lookup that reaches the same file.
#[derive(Debug)]
pub struct Opened {
    pub id: FileId,
    pub canonical: PathBuf,
    pub size: u64,
    /// Shared, as the file is, by every path that reaches it.
    pub facts: Result<Arc<ElfFacts>, Arc<elf::Error>>,
}

/// A parse's fingerprint and its facts.
type Parsed = (Arc<elf::Fingerprint>, Arc<ElfFacts>);

/// How many different files of one size and first KiB are kept to compare
/// a new one with: copies of one file are one entry, and a root of many
/// files alike only up to their headers costs a bounded number of reads
/// per file.
const COPIES_TRIED: usize = 4;

/// The loader of one root.
pub struct Loader<'r> {
    root: &'r Root,
    opts: Options,
    profile: Profile,
    cache: Option<cache::LdCache>,
    cache_source: CacheSource,
    /// For a root without a usable cache: what its `ldconfig` would write,
    /// never searched (rule C4), only named in the places tried.
    unwritten: Option<ldconfig::Emulated>,
    problems: Vec<FileProblem>,
    detail: Detail,
    /// Facts by file identity (rule L13): parsed once.
    by_id: RwLock<FxHashMap<FileId, Arc<OnceLock<Arc<Opened>>>>>,
    /// Opened files by canonical inner path.
    by_canonical: RwLock<FxHashMap<PathBuf, Arc<Opened>>>,
    /// Opened files by the inner path asked for: the modules and plugins
    /// every mod_wsgi daemon group dlopens are resolved through the root
    /// once, not once per group.
    by_path: RwLock<FxHashMap<PathBuf, Arc<Opened>>>,
    /// Facts parsed, by the size and first KiB of their file, with what
    /// each parse read: another inode holding the same bytes there (a
    /// virtualenv copied forty times) shares them unparsed.
    by_content: RwLock<FxHashMap<elf::Head, Vec<Parsed>>>,
    /// Files parsed and files given the facts of a copy, for tests.
    counts: [std::sync::atomic::AtomicUsize; 2],
    /// Result of trying one candidate path (inner, as opened).
    probes: RwLock<FxHashMap<PathBuf, Probe>>,
    /// Whether a search directory exists, so absent glibc-hwcaps and legacy
    /// subdirectories cost one lookup per run (ld.so keeps the same status
    /// per directory: `r_search_path_elem::status`).
    dirs: RwLock<FxHashMap<PathBuf, bool>>,
    /// `ld.so --list` of a file on its own, by the path asked for: what a
    /// member's references expect (`image::solo`), asked by every process
    /// that holds the member, made once.
    alone: RwLock<FxHashMap<PathBuf, SharedLoad>>,
    /// The C library's answers for the root's native ABI, and for each
    /// other ABI it has a build for (a multilib host's i386 and x32).
    native: View,
    multilib: Vec<View>,
    /// A second C library beside the native one (Debian's `musl` package
    /// on a glibc host): the loader of a program whose `PT_INTERP` is its
    /// interpreter.
    other: Option<View>,
}

/// What the loader asks of the C library build that loads processes of
/// one ABI, asked once per run.
struct View {
    profile: Profile,
    /// Subdirectories tried in every search directory (rule L5).
    subdirs: Vec<String>,
    /// What the cache lookup needs to know of the CPU and the C library
    /// (rule C2); `None` when its loader reads no cache.
    cache_ctx: Option<cache::LookupContext<'static>>,
}

impl View {
    fn new(profile: Profile, cpu: &Cpu) -> View {
        View {
            subdirs: profile.search_subdirs(cpu),
            cache_ctx: profile.ld_cache(cpu).map(|p| p.lookup),
            profile,
        }
    }
}

/// The outcome of opening one candidate file (rule L12).
#[derive(Debug, Clone)]
pub enum Probe {
    /// Not there (`ENOENT`, `ENOTDIR`, `EACCES`, …): try the next candidate.
    Absent,
    /// Exists but is of another class or machine: skipped silently.
    Skipped(&'static str),
    /// Refused in a way that stops ld.so (bad magic, byte order, OS ABI…).
    Fatal(String),
    /// An error other than `ENOENT`/`EACCES` (`ELOOP`): the rest of the
    /// search list it was met in is skipped, later lists are searched.
    Ends(String),
    Accepted(Arc<Opened>),
}

impl<'r> Loader<'r> {
    pub fn new(root: &'r Root, opts: Options) -> Loader<'r> {
        Loader::with_detail(root, opts, Detail::Linking)
    }

    /// A loader that reads symbols too, for the stages after resolution.
    pub fn with_detail(root: &'r Root, opts: Options, detail: Detail) -> Loader<'r> {
        let profile = opts
            .profile
            .clone()
            .unwrap_or_else(|| Profile::detect(root));
        let cpu = opts.cpu;
        let policy = profile.ld_cache(&cpu);
        let mut problems = Vec::new();
        let rebuilt = root.ld_cache_rebuilt() && policy.is_some();
        let parsed = policy.as_ref().filter(|_| !rebuilt).and_then(|p| {
            let cache_path = p.file;
            match root.read(cache_path, 256 << 20) {
                Ok(bytes) => match cache::LdCache::parse(&bytes) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        problems.push(FileProblem {
                            path: cache_path.into(),
                            reason: format!("unusable ld.so.cache: {e}"),
                        });
                        None
                    }
                },
                Err(e) if e.is_absent() => None,
                Err(e) => {
                    problems.push(FileProblem {
                        path: cache_path.into(),
                        reason: e.to_string(),
                    });
                    None
                }
            }
        });
        let (cache, cache_source, unwritten) = match parsed {
            Some(c) => (Some(c), CacheSource::File, None),
            None => {
                // A C library without `ldconfig` leaves `cache` empty.
                let em = profile.ldconfig(root).map(|mut em| {
                    problems.extend(
                        std::mem::take(&mut em.problems)
                            .into_iter()
                            .map(|(path, reason)| FileProblem { path, reason }),
                    );
                    em
                });
                if rebuilt {
                    (em.map(|em| em.cache), CacheSource::Rebuilt, None)
                } else {
                    // ld.so reads no ld.so.conf (C4): without the file it
                    // searches no cache at all.
                    (None, CacheSource::Emulated, em)
                }
            }
        };
        let other = (profile.search() != profile::Search::Musl)
            .then(|| profile::Musl::detect_in(root))
            .flatten()
            .map(|m| View::new(Profile::new(m), &cpu));
        for (path, reason) in profile
            .problems()
            .iter()
            .chain(other.iter().flat_map(|v| v.profile.problems()))
        {
            problems.push(FileProblem {
                path: path.clone(),
                reason: reason.clone(),
            });
        }
        Loader {
            native: View::new(profile.clone(), &cpu),
            multilib: profile
                .multilib()
                .iter()
                .map(|p| View::new(p.clone(), &cpu))
                .collect(),
            other,
            root,
            opts,
            profile,
            cache,
            cache_source,
            unwritten,
            problems,
            detail,
            by_id: RwLock::default(),
            by_canonical: RwLock::default(),
            by_path: RwLock::default(),
            by_content: RwLock::default(),
            counts: Default::default(),
            probes: RwLock::default(),
            dirs: RwLock::default(),
            alone: RwLock::default(),
        }
    }

    /// [`Loader::load`] of `file`, made once per loader however many
    /// processes (and the scan's inventory) ask.
    pub fn load_shared(&self, file: &Path) -> SharedLoad {
        if let Some(l) = self.alone.read().ok().and_then(|m| m.get(file).cloned()) {
            return l;
        }
        let load = self.load(file).map(Arc::new).map_err(Arc::new);
        if let Ok(mut m) = self.alone.write() {
            m.entry(file.to_path_buf()).or_insert_with(|| load.clone());
        }
        load
    }

    /// [`Loader::load_shared`], `None` where it cannot be loaded at all.
    pub fn load_alone(&self, file: &Path) -> Option<Arc<Load>> {
        self.load_shared(file).ok()
    }

    /// Whether this loader searches `root` as one made with `opts` and
    /// `detail` would: a model may then use it, and share what it read.
    pub fn serves(&self, root: &Root, opts: &Options, detail: Detail) -> bool {
        std::ptr::eq(self.root, root)
            && self.detail == detail
            && self.opts.ld_library_path == opts.ld_library_path
            && self.opts.cpu == opts.cpu
            && self.opts.cwd == opts.cwd
            && self.opts.profile.is_none()
            && opts.profile.is_none()
    }

    pub fn root(&self) -> &Root {
        self.root
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The C library build that loads a program of this class and
    /// machine: the root's native one unless the root has one for its ABI.
    pub fn profile_for(&self, class: Class, machine: u16) -> &Profile {
        &self.view((class, machine)).profile
    }

    fn view(&self, want: (Class, u16)) -> &View {
        let abi = profile::Abi::of(want.0, want.1);
        if abi == Some(self.native.profile.abi()) {
            return &self.native;
        }
        self.multilib
            .iter()
            .find(|v| Some(v.profile.abi()) == abi)
            .unwrap_or(&self.native)
    }

    /// The cache ld.so reads (or the emulated one, see [`Loader::cache_source`]).
    pub fn cache(&self) -> Option<&cache::LdCache> {
        self.cache.as_ref()
    }

    pub fn cache_source(&self) -> &CacheSource {
        &self.cache_source
    }

    /// For a root without a usable `ld.so.cache`: where the cache its
    /// `ldconfig` would write names `name`, and the configuration line
    /// that put that directory there. ld.so finds nothing there until
    /// `ldconfig` runs (rule C4).
    pub fn ldconfig_would(
        &self,
        name: &[u8],
        ctx: &cache::LookupContext<'_>,
    ) -> Option<(String, String)> {
        let em = self.unwritten.as_ref()?;
        let value = em.cache.lookup(name, ctx)?;
        let value = value.to_str_lossy().into_owned();
        let dir = Path::new(&value).parent()?;
        let from = em
            .dirs
            .iter()
            .zip(&em.sources)
            .find(|(d, _)| d.as_path() == dir)
            .map_or_else(|| "ld.so.conf".to_string(), |(_, s)| s.clone());
        Some((value, from))
    }

    /// What the root's `ldconfig` would write, for a root without a usable
    /// cache file (never searched: ld.so reads no `ld.so.conf`).
    pub fn unwritten_cache(&self) -> Option<&ldconfig::Emulated> {
        self.unwritten.as_ref()
    }

    /// The detail this loader's facts are read with.
    pub fn detail(&self) -> Detail {
        self.detail
    }

    /// What the loader read and worked out (facts, loads, probes), apart
    /// from the root it borrows: freeing a scan's worth took tens of
    /// milliseconds on the 40-virtualenv root, which a caller done with it
    /// can leave to another thread.
    pub fn into_held(self) -> impl Send + 'static {
        fn take<T>(l: std::sync::LockResult<T>) -> T {
            l.unwrap_or_else(std::sync::PoisonError::into_inner)
        }
        (
            take(self.by_id.into_inner()),
            take(self.by_canonical.into_inner()),
            take(self.by_path.into_inner()),
            take(self.by_content.into_inner()),
            take(self.probes.into_inner()),
            take(self.dirs.into_inner()),
            take(self.alone.into_inner()),
        )
    }

    /// Problems with the root's own loader configuration.
    pub fn problems(&self) -> &[FileProblem] {
        &self.problems
    }

    /// Opens and parses a file by inner path, sharing the result with every
    /// other path that reaches the same file: by canonical path without
    /// opening it again, by (device, inode) without parsing it again.
    pub fn open(&self, path: &Path) -> Result<Arc<Opened>, RootError> {
        if let Some(o) = read_map(&self.by_path).get(path) {
            return Ok(Arc::clone(o));
        }
        let opened = self.open_afresh(path)?;
        write_map(&self.by_path).insert(path.to_path_buf(), Arc::clone(&opened));
        Ok(opened)
    }

    fn open_afresh(&self, path: &Path) -> Result<Arc<Opened>, RootError> {
        let (canonical, kind) = self.root.resolve(path)?;
        if let Some(o) = read_map(&self.by_canonical).get(&canonical) {
            return Ok(Arc::clone(o));
        }
        let file = self.root.open_resolved(canonical, kind)?;
        let slot = Arc::clone(write_map(&self.by_id).entry(file.id).or_default());
        let detail = self.detail;
        let opened = Arc::clone(slot.get_or_init(|| {
            let crate::root::OpenFile {
                file,
                canonical,
                id,
                size,
            } = file;
            Arc::new(Opened {
                id,
                canonical,
                size,
                facts: self.facts_of(file, size, detail),
            })
        }));
        write_map(&self.by_canonical).insert(opened.canonical.clone(), Arc::clone(&opened));
        Ok(opened)
    }

    /// The facts of a newly opened inode: a copy's already parsed when its
    /// size, first KiB and every range that parse read match (at most
    /// [`COPIES_TRIED`] candidates), else its own parse. Only the facts
    /// are shared: identity, path and `$ORIGIN` stay the file's own.
    fn facts_of(
        &self,
        file: std::fs::File,
        size: u64,
        detail: Detail,
    ) -> Result<Arc<ElfFacts>, Arc<elf::Error>> {
        use std::sync::atomic::Ordering::Relaxed;
        let head = elf::head(&file, size).ok();
        if let Some(head) = head {
            let candidates: Vec<Parsed> = read_map(&self.by_content)
                .get(&head)
                .map(|v| v.iter().take(COPIES_TRIED).cloned().collect())
                .unwrap_or_default();
            for (print, facts) in candidates {
                match print.matches(&file, size, detail) {
                    Ok(true) => {
                        self.counts[1].fetch_add(1, Relaxed);
                        return Ok(facts);
                    }
                    Ok(false) => {}
                    Err(e) => return Err(Arc::new(e)),
                }
            }
        }
        self.counts[0].fetch_add(1, Relaxed);
        let (facts, print) = elf::read_fingerprinted(file, size, detail);
        let facts = facts.map(Arc::new).map_err(Arc::new)?;
        if let Some(print) = print
            && let Some(key) = print.head().filter(|h| Some(*h) == head)
        {
            let mut map = write_map(&self.by_content);
            let list = map.entry(key).or_default();
            if list.len() < COPIES_TRIED {
                list.push((Arc::new(print), Arc::clone(&facts)));
            }
        }
        Ok(facts)
    }

    /// Files parsed, and files that took a copy's facts instead, so far.
    pub fn parse_counts(&self) -> (usize, usize) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.counts[0].load(Relaxed), self.counts[1].load(Relaxed))
    }

    /// Tries one candidate path for a process of `want` class and machine.
    fn probe(&self, path: &Path, want: (Class, u16)) -> Probe {
        if let Some(p) = read_map(&self.probes).get(path) {
            return p.clone();
        }
        let probe = match self.open(path) {
            Err(e) if e.is_absent() => Probe::Absent,
            // ELOOP is neither ENOENT nor EACCES: open_path gives up on
            // the list it was searching (rule L12).
            Err(RootError::Loop) => Probe::Ends("too many levels of symbolic links".into()),
            // open(2) takes a directory; reading it is EISDIR, and
            // open_verify stops ld.so with "cannot read file data".
            Err(RootError::NotRegular("directory")) => {
                Probe::Fatal("cannot read file data: Error 21 (a directory)".into())
            }
            // A FIFO would block ld.so in open(2); soclash never opens
            // one, and takes it, as sockets and devices, for absent.
            Err(RootError::NotRegular(_)) => Probe::Absent,
            Err(e) => Probe::Fatal(e.to_string()),
            Ok(opened) => accept(opened, want),
        };
        write_map(&self.probes).insert(path.to_path_buf(), probe.clone());
        probe
    }

    fn dir_exists(&self, dir: &Path) -> bool {
        if let Some(&e) = read_map(&self.dirs).get(dir) {
            return e;
        }
        let exists = self.root.is_dir(dir);
        write_map(&self.dirs).insert(dir.to_path_buf(), exists);
        exists
    }
}

/// The per-run caches only ever gain entries, so a panic elsewhere cannot
/// leave one inconsistent: a poisoned lock is used as it is.
fn read_map<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write_map<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Rule L12 (`open_verify`): which files ld.so accepts as a candidate.
fn accept(opened: Arc<Opened>, want: (Class, u16)) -> Probe {
    let facts = match &opened.facts {
        Ok(f) => f,
        Err(e) => {
            // A file shorter than the class's header: ld.so reads the
            // e_ident first and says "file too short"; anything not ELF is
            // an invalid header. Both stop the load.
            return Probe::Fatal(e.to_string());
        }
    };
    if facts.class != Some(want.0) {
        return Probe::Skipped("wrong ELF class");
    }
    if let Some(reason) = ident_fault(facts) {
        return Probe::Fatal(reason.to_string());
    }
    if facts.machine != want.1 {
        return Probe::Skipped("wrong machine");
    }
    if !matches!(facts.e_type, 2 | 3) {
        return Probe::Fatal("only ET_DYN and ET_EXEC can be loaded".into());
    }
    let phentsize = match facts.class {
        Some(Class::Elf64) => 56,
        _ => 32,
    };
    if facts.e_phentsize != phentsize {
        return Probe::Fatal("ELF file's phentsize not the expected size".into());
    }
    Probe::Accepted(opened)
}

/// The fatal `e_ident` checks of `open_verify`, in its order (after the
/// magic, and after the class check that only skips).
fn ident_fault(f: &ElfFacts) -> Option<&'static str> {
    if !f.little_endian {
        return Some("ELF file data encoding not little-endian");
    }
    if f.ident_version != 1 {
        return Some("ELF file version ident does not match current one");
    }
    // VALID_ELF_OSABI / VALID_ELF_ABIVERSION (sysdeps/gnu/ldsodefs.h).
    match f.os_abi {
        0 if f.abi_version == 0 => None,
        3 if f.abi_version < 3 => None,
        0 | 3 => Some("ELF file ABI version invalid"),
        _ => Some("ELF file OS ABI invalid"),
    }
    .or((!f.ident_pad_zero).then_some("nonzero padding in e_ident"))
}

/// How an object came to be loaded, or why it could not be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    /// The program itself.
    Main,
    /// The dynamic linker, loaded before anything else.
    Interpreter,
    Found(Found),
    /// Searched and not found; the places tried, in order.
    NotFound(Vec<String>),
    /// A candidate that stops ld.so (rule L12), with the path and reason.
    Fatal {
        path: PathBuf,
        reason: String,
    },
}

/// One object of a simulated start-up.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The name it was first requested by (`l_libname`).
    pub name: BString,
    /// The path it was opened under (`l_name`), inner.
    pub path: Option<PathBuf>,
    pub opened: Option<Arc<Opened>>,
    pub how: How,
    /// For each `DT_NEEDED` of this object, in order, the object it got.
    pub needed: Vec<usize>,
    /// The objects its `DT_FILTER` and `DT_AUXILIARY` entries got, in
    /// `.dynamic` order (an auxiliary filtee found nowhere is left out
    /// outside trace mode's listing).
    pub filtees: Vec<usize>,
    /// The object whose `DT_NEEDED` loaded it (`l_loader`).
    pub loader: Option<usize>,
}

impl Loaded {
    pub fn facts(&self) -> Option<&ElfFacts> {
        self.opened.as_ref()?.facts.as_ref().ok().map(|f| &**f)
    }
}

/// A simulated start-up: index 0 is the main program; the rest in the
/// order `ld.so --list` prints them (rule G1).
#[derive(Debug, Clone)]
pub struct Load {
    pub objects: Vec<Loaded>,
    /// Index of the dynamic linker when some object needed it.
    pub interpreter: Option<usize>,
    /// The order `ld.so --list` prints: main first, then the link-map chain
    /// with the dynamic linker at its search-list position.
    pub order: Vec<usize>,
    /// What ld.so writes for each preload it could not load, which it
    /// leaves out of the list (`ERROR: ld.so: object ... ignored.`).
    pub preload_errors: Vec<String>,
    /// Whose loader's listing this is (`ld.so --list` or `ld-musl --list`).
    pub listing: profile::Search,
    /// musl: a further line for the loader under another of its names
    /// (`libm.so.6` after `libc.so`), printed after that many entries of
    /// `order`.
    pub itself_lines: Vec<(usize, BString)>,
}

/// A stand-alone load, or why there is none, as [`Loader::load_shared`]
/// keeps it for everyone who asks.
pub type SharedLoad = Result<Arc<Load>, Arc<LoadError>>;

/// Why the main file could not be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Open(#[from] RootError),
    #[error("{0}")]
    Elf(Arc<elf::Error>),
    #[error("not a dynamic executable")]
    NotDynamic,
}

impl Load {
    /// `ld.so --list` lines (without load addresses and linux-vdso).
    pub fn ldd_lines(&self) -> Vec<String> {
        self.lines(false)
    }

    /// The same with the reason each object was found (`--why`).
    pub fn lines(&self, why: bool) -> Vec<String> {
        let mut out = Vec::new();
        let musl = self.listing == profile::Search::Musl;
        if musl {
            // `ld-musl --list` names itself first, as it was invoked.
            if let Some(p) = self.objects.get(1).and_then(|o| o.path.as_ref()) {
                out.push(format!("\t{}", p.display()));
            }
        }
        let itself = |k: usize, out: &mut Vec<String>| {
            for (_, name) in self.itself_lines.iter().filter(|(at, _)| *at == k) {
                if let Some(p) = self.objects.get(1).and_then(|o| o.path.as_ref()) {
                    out.push(format!("\t{} => {}", name.to_str_lossy(), p.display()));
                }
            }
        };
        for (k, &i) in self.order.iter().enumerate().skip(1) {
            itself(k, &mut out);
            let Some(o) = self.objects.get(i) else {
                continue;
            };
            if musl && matches!(o.how, How::NotFound(_) | How::Fatal { .. }) {
                // On standard error only: `Load::loader_errors`.
                continue;
            }
            let mut line = o.ldd_line();
            if why {
                line.push_str("  [");
                line.push_str(&o.reason());
                line.push(']');
            }
            out.push(line);
        }
        itself(self.order.len(), &mut out);
        if out.is_empty() {
            out.push("\tstatically linked".to_string());
        }
        out
    }
}

impl Load {
    /// A tree from the main program: each object's `DT_NEEDED` below it,
    /// every subtree printed once and referenced afterwards (`--tree`).
    pub fn tree_lines(&self, why: bool) -> Vec<String> {
        let mut out = Vec::new();
        let Some(main) = self.objects.first() else {
            return out;
        };
        out.push(main.name.to_str_lossy().into_owned());
        let mut expanded = vec![false; self.objects.len()];
        if let Some(e) = expanded.first_mut() {
            *e = true;
        }
        // (object, depth), depth-first in DT_NEEDED order.
        let children = |o: &Loaded| -> Vec<usize> {
            let mut c: Vec<usize> = o.needed.iter().chain(&o.filtees).copied().collect();
            c.reverse();
            c
        };
        let mut stack: Vec<(usize, usize)> = children(main).into_iter().map(|j| (j, 1)).collect();
        while let Some((i, depth)) = stack.pop() {
            let Some(o) = self.objects.get(i) else {
                continue;
            };
            let mut line = "    ".repeat(depth);
            line.push_str(o.ldd_line().trim_start_matches('\t'));
            let seen = expanded.get(i).copied().unwrap_or(true);
            if seen && !(o.needed.is_empty() && o.filtees.is_empty()) {
                line.push_str(" [see above]");
            }
            if why && !seen {
                line.push_str("  [");
                line.push_str(&o.reason());
                line.push(']');
            }
            out.push(line);
            if !seen {
                if let Some(e) = expanded.get_mut(i) {
                    *e = true;
                }
                stack.extend(children(o).into_iter().map(|j| (j, depth + 1)));
            }
        }
        out
    }

    /// What ld.so's version check writes while listing (rtld.c runs
    /// `_dl_check_all_versions` verbosely in trace mode, dl-version.c):
    /// for every loaded object in chain order and every version it needs
    /// from a loaded object, `PROGRAM: FILE: version `V' not found
    /// (required by OBJECT)`, `weak version ...` for a weak one, and `no
    /// version information available` for each needed from a file that
    /// defines none. Needs the facts read with [`Detail::Symbols`];
    /// objects found nowhere are not checked, as in trace mode.
    pub fn version_problems(&self, program: &str) -> Vec<String> {
        const VER_FLG_WEAK: u16 = 0x2;
        let mut out = Vec::new();
        let shown = |o: &Loaded| -> String {
            o.path.as_ref().map_or_else(
                || o.name.to_str_lossy().into_owned(),
                |p| p.display().to_string(),
            )
        };
        for &i in &self.order {
            let Some(o) = self.objects.get(i) else {
                continue;
            };
            let Some(facts) = o.facts() else { continue };
            for req in &facts.version_requirements {
                let needed = self
                    .order
                    .iter()
                    .filter_map(|&j| self.objects.get(j))
                    .find(|n| {
                        n.name == req.file
                            || n.facts().and_then(|f| f.soname.as_ref()) == Some(&req.file)
                            || n.path.as_ref().is_some_and(|p| {
                                p.as_os_str().as_encoded_bytes() == req.file.as_slice()
                            })
                    });
                let Some(needed) = needed else { continue };
                let Some(nf) = needed.facts() else { continue };
                for v in &req.versions {
                    let msg = if nf.version_definitions.is_empty() {
                        "no version information available".to_string()
                    } else if nf.version_definitions.iter().any(|d| d.name == v.name) {
                        continue;
                    } else if v.flags & VER_FLG_WEAK != 0 {
                        format!("weak version `{}' not found", v.name.to_str_lossy())
                    } else {
                        format!("version `{}' not found", v.name.to_str_lossy())
                    };
                    out.push(format!(
                        "{program}: {}: {msg} (required by {})",
                        shown(needed),
                        shown(o)
                    ));
                }
            }
        }
        out
    }

    /// What musl's loader writes on standard error for each library it
    /// could not load, listing on (`load_deps`; it then exits 127):
    /// `Error loading shared library NAME: ERROR (needed by REQUESTER)`,
    /// the requester as it was loaded (the program as named). Empty for
    /// glibc, which prints `not found` in the list instead.
    pub fn loader_errors(&self) -> Vec<String> {
        if self.listing != profile::Search::Musl {
            return Vec::new();
        }
        let mut out = Vec::new();
        for &i in &self.order {
            let Some(o) = self.objects.get(i) else {
                continue;
            };
            let error = match &o.how {
                How::NotFound(_) => "No such file or directory",
                How::Fatal { reason, .. } => reason.as_str(),
                _ => continue,
            };
            let by = o
                .loader
                .and_then(|l| self.objects.get(l))
                .and_then(|l| l.path.as_ref())
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            out.push(format!(
                "Error loading shared library {}: {error} (needed by {by})",
                o.name.to_str_lossy()
            ));
        }
        out
    }

    /// The first candidate that would make ld.so refuse to start, if any.
    pub fn fatal(&self) -> Option<(&Path, &str)> {
        self.objects.iter().find_map(|o| match &o.how {
            How::Fatal { path, reason } => Some((path.as_path(), reason.as_str())),
            _ => None,
        })
    }
}

impl Loaded {
    /// One line as rtld's trace mode prints it.
    pub fn ldd_line(&self) -> String {
        let name = self.name.to_str_lossy();
        match (&self.how, &self.path) {
            (How::NotFound(_), _) | (_, None) => format!("\t{name} => not found"),
            (How::Fatal { path, reason }, _) => {
                format!("\t{name} => {} (error: {reason})", path.display())
            }
            (_, Some(p)) if p.as_os_str().as_encoded_bytes() == self.name.as_bytes() => {
                format!("\t{name}")
            }
            (_, Some(p)) => format!("\t{name} => {}", p.display()),
        }
    }

    /// Why it was found there, or where it was looked for.
    pub fn reason(&self) -> String {
        match &self.how {
            How::Main => "main program".into(),
            How::Interpreter => "program interpreter".into(),
            How::Found(f) => f.to_string(),
            How::NotFound(tried) => format!("not found; tried {}", tried.join(", ")),
            How::Fatal { reason, .. } => reason.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Copies in two directories and a hard link are parsed once, share
    /// their facts, and keep their own identity and path (L1 reuse and
    /// `$ORIGIN` are per file); a file that differs is parsed.
    #[test]
    fn l13_copies_parsed_once_each_its_own_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lib = std::fs::read("/lib/x86_64-linux-gnu/libc.so.6").expect("read libc");
        for d in ["a", "b", "c"] {
            std::fs::create_dir(dir.path().join(d)).expect("mkdir");
        }
        std::fs::write(dir.path().join("a/libc.so.6"), &lib).expect("write");
        std::fs::write(dir.path().join("b/libc.so.6"), &lib).expect("write");
        std::fs::hard_link(dir.path().join("a/libc.so.6"), dir.path().join("c/link.so"))
            .expect("link");
        let mut other = lib.clone();
        if let Some(b) = other.get_mut(20) {
            *b ^= 1;
        }
        std::fs::write(dir.path().join("c/other.so"), &other).expect("write");
        let root = Root::new(dir.path()).expect("root");
        let loader = Loader::with_detail(&root, Options::default(), Detail::Symbols);
        let open = |p: &str| loader.open(Path::new(p)).expect("open");
        let a = open("/a/libc.so.6");
        let b = open("/b/libc.so.6");
        let link = open("/c/link.so");
        assert_eq!(loader.parse_counts(), (1, 1));
        let (fa, fb) = (
            a.facts.as_ref().expect("facts"),
            b.facts.as_ref().expect("facts"),
        );
        assert!(Arc::ptr_eq(fa, fb), "the copy shares the facts");
        assert_ne!(a.id, b.id);
        assert_ne!(a.canonical, b.canonical);
        assert_eq!(link.id, a.id, "a hard link is the same file");
        let other = open("/c/other.so");
        assert_eq!(loader.parse_counts(), (2, 1));
        assert!(!Arc::ptr_eq(other.facts.as_ref().expect("facts"), fa));
    }

    /// Rule L12: the order of `open_verify`'s checks.
    #[test]
    fn l12_class_is_checked_before_os_abi() {
        let f = ElfFacts {
            class: Some(Class::Elf32),
            little_endian: true,
            ident_version: 1,
            os_abi: 9,
            ident_pad_zero: true,
            e_type: 3,
            machine: 3,
            e_phentsize: 32,
            ..ElfFacts::default()
        };
        let opened = Arc::new(Opened {
            id: FileId { dev: 0, ino: 0 },
            canonical: PathBuf::from("/x"),
            size: 0,
            facts: Ok(Arc::new(f.clone())),
        });
        assert!(matches!(
            accept(Arc::clone(&opened), (Class::Elf64, 62)),
            Probe::Skipped("wrong ELF class")
        ));
        assert!(
            matches!(accept(opened, (Class::Elf32, 3)), Probe::Fatal(r) if r.contains("OS ABI"))
        );
    }
}
