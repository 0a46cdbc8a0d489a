//! The C library seam of the loader model: everything in which the dynamic
//! linker of one C library decides differently from another's, asked as
//! questions, so the loader ([`super::Loader`]) and its search hold no
//! library's paths, files or version rules of their own.
//!
//! The loader is part of the C library, and the libraries disagree on
//! policy while agreeing on ELF:
//!
//! * **Default directories.** glibc searches the `SYSTEM_DIRS` its build
//!   was configured with (elf/dl-load.c, `_dl_init_paths`; Debian's
//!   multiarch directories, upstream's `lib64`); musl reads
//!   `/etc/ld-musl-$ARCH.path` under the prefix its loader is installed
//!   in, else searches `/lib:/usr/local/lib:/usr/lib` (ldso/dynlink.c,
//!   `load_library`).
//! * **The cache.** glibc's ld.so looks names up in `/etc/ld.so.cache`
//!   (elf/dl-cache.c, `_dl_load_cache_lookup`), which `ldconfig` writes
//!   from `ld.so.conf`; musl has neither cache nor `ldconfig`.
//! * **Subdirectories.** glibc tries glibc-hwcaps subdirectories of every
//!   search directory (elf/dl-hwcaps.c), and before 2.37 the legacy
//!   `tls`/platform/hwcap ones (`_dl_important_hwcaps`); musl tries none.
//! * **Dynamic string tokens.** glibc expands `$ORIGIN`, `$LIB` and
//!   `$PLATFORM`, whose values its build and the CPU decide (elf/dl-load.c,
//!   `_dl_dst_substitute`); musl knows only `$ORIGIN` and drops a path
//!   list holding any other token (`fixup_rpath`).
//! * **The interpreter** a program without `PT_INTERP` gets (glibc's
//!   compiled-in `RTLD`; musl's `ld-musl-$ARCH.so.1`), and the release,
//!   on which glibc's own rules turn (research/loader-model.md §10).
//!
//! * **The ABI.** A multilib host runs i386 and x32 programs beside
//!   x86-64 ones, each with a loader of its own build: its interpreter
//!   (`/lib/ld-linux.so.2`, `/libx32/ld-linux-x32.so.2`), default
//!   directories (Debian's `/lib32`, `/libx32`, or the multiarch
//!   `/lib/i386-linux-gnu`), `$LIB`, `$PLATFORM`, legacy subdirectories
//!   and the cache entries it takes (`_DL_CACHE_DEFAULT_ID`). The root's
//!   profile answers for its native build and names the others
//!   ([`Libc::multilib`]); the loader asks the one of the program's ELF
//!   class and machine ([`Abi`]).
//!
//! A [`Profile`] is the answers of one root's C library; [`Libc`] is the
//! questions, one type per library implementing them in a file of its own
//! ([`glibc`]), and `LIBCS` the order in which libraries try to recognise
//! a root. Adding a C library is a file with a type that implements
//! [`Libc`] (how it is recognised in a root, and its answers), its `mod`
//! line, and its entry in `LIBCS`. A search *order* is an algorithm, not
//! an answer: [`Libc::search`] names which of `resolve::search`'s two a
//! library's loader runs (glibc's, or musl's `LD_LIBRARY_PATH` first, then
//! `DT_RUNPATH` or `DT_RPATH` alike through the whole requester chain).
//! What this seam does not cover yet: musl's symbol lookups, which ignore
//! versions; a musl process is bound by glibc's rules.
//!
//! ```no_run
//! use soclash::{root::Root, resolve::profile::Profile};
//! let root = Root::new("/".as_ref()).unwrap();
//! let profile = Profile::detect(&root);
//! println!("{} {:?}: {:?}", profile.name(), profile.version(), profile.default_dirs());
//! ```

pub mod glibc;
pub mod musl;

use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Cpu;
use super::cache::LookupContext;
use super::ldconfig::Emulated;
use crate::elf::Class;
use crate::root::Root;

pub use glibc::Glibc;
pub use musl::Musl;

/// The C libraries a root may be built on, in the order they try to
/// recognise it: the first that does gives its [`Profile`]. A root none
/// recognises (no C library at a known place) is taken as upstream glibc
/// of unknown release ([`Glibc::fallback`]). Adding a C library is a type
/// that implements [`Libc`], and its line here.
const LIBCS: &[Detect] = &[detect::<Glibc>, detect::<Musl>];

/// A [`LIBCS`] entry: the root's C library of one kind, if it has it.
type Detect = fn(&Root) -> Option<Profile>;

fn detect<L: Libc + 'static>(root: &Root) -> Option<Profile> {
    L::detect(root).map(Profile::new)
}

/// The ABIs of an x86-64 host: which build of the C library loads a
/// process is decided by its program's ELF class and machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Abi {
    /// `ELFCLASS64`, `EM_X86_64`.
    X86_64,
    /// `ELFCLASS32`, `EM_386`.
    I386,
    /// `ELFCLASS32`, `EM_X86_64`.
    X32,
}

impl Abi {
    /// The ABI of a program of this class and machine, if an x86 one.
    pub fn of(class: Class, machine: u16) -> Option<Abi> {
        const EM_386: u16 = 3;
        const EM_X86_64: u16 = 62;
        match (class, machine) {
            (Class::Elf64, EM_X86_64) => Some(Abi::X86_64),
            (Class::Elf32, EM_386) => Some(Abi::I386),
            (Class::Elf32, EM_X86_64) => Some(Abi::X32),
            _ => None,
        }
    }
}

/// What the loader asks of the root's C library. The loader never reads a
/// library's paths or version itself; each answer here is one decision
/// its `ld.so` takes differently from another's.
pub trait Libc: fmt::Debug + Send + Sync {
    /// This library in the root, if the root has it.
    fn detect(root: &Root) -> Option<Self>
    where
        Self: Sized;

    /// Its name (`glibc`).
    fn name(&self) -> &'static str;

    /// Its release as reports write it (`2.36`), when known.
    fn version(&self) -> Option<String>;

    /// The processes this build loads.
    fn abi(&self) -> Abi;

    /// The builds of the same library for the root's other ABIs (a
    /// multilib host's i386 and x32 glibc), each answering for its own
    /// processes; empty on a root with one.
    fn multilib(&self) -> &[Profile] {
        &[]
    }

    /// The interpreter of a program without `PT_INTERP` (the compiled-in
    /// `RTLD`): `ld.so --list` runs one loader, whatever the file.
    fn interpreter(&self) -> &Path;

    /// The default (trusted) directories, in search order (rule L10); also
    /// the directories `DF_1_NODEFLIB` keeps cached paths out of (L7).
    fn default_dirs(&self) -> &[PathBuf];

    /// The value of `$LIB` (rule L9).
    fn dst_lib(&self) -> &str;

    /// The value of `$PLATFORM` on `cpu` (rule L9).
    fn dst_platform(&self, cpu: &Cpu) -> &'static str;

    /// The subdirectories tried in every search directory on `cpu`, best
    /// first, ending with `""` for the directory itself (rule L5).
    fn search_subdirs(&self, cpu: &Cpu) -> Vec<String>;

    /// The cache its loader reads and how a name is looked up in it on
    /// `cpu` (rules C1–C4); `None` when its loader reads no cache.
    fn ld_cache(&self, cpu: &Cpu) -> Option<CachePolicy>;

    /// The cache its `ldconfig` would write from the root's configuration
    /// now (rules C5–C10), standing in for a cache file that is missing or
    /// unusable, and compared with one that is there (`stale-ld-cache`);
    /// `None` when it has no `ldconfig`.
    fn ldconfig(&self, root: &Root) -> Option<Emulated>;

    /// The order and rules of its search for one name.
    fn search(&self) -> Search {
        Search::Glibc
    }

    /// The sonames of its C library proper: an object without `PT_INTERP`
    /// (a shared library listed on its own) that needs one of them was
    /// linked against this library.
    fn libc_sonames(&self) -> &[&'static str] {
        &[]
    }

    /// What could not be read while recognising it (a configuration file
    /// over its budget), each an error entry of the run.
    fn problems(&self) -> &[(PathBuf, String)] {
        &[]
    }

    /// Whether its loader answers a `DT_NEEDED` of this name with itself,
    /// wherever a file of the name is (musl's `libc.so`, `libm.so.6`…).
    fn is_itself(&self, _name: &[u8]) -> bool {
        false
    }
}

/// How a loader searches for one name and lists what it loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// glibc's `_dl_map_object` (rules L1–L13): already-loaded names and
    /// sonames, RPATH chain unless RUNPATH, `LD_LIBRARY_PATH`, RUNPATH,
    /// cache, trusted directories; filters; `ld.so --list`'s listing.
    Glibc,
    /// musl's `load_library`: a name found under the same short name or
    /// the same file is reused (never by soname); `LD_LIBRARY_PATH`, then
    /// the RUNPATH-else-RPATH of the requester and of each requester up
    /// its chain, then the default path; a file found ends the search
    /// whether or not it loads; no filters; `ld-musl --list`'s listing.
    Musl,
}

/// Where a loader's cache is and what its lookup needs to know.
#[derive(Debug, Clone)]
pub struct CachePolicy {
    /// The cache file, inside the root (`/etc/ld.so.cache`).
    pub file: &'static Path,
    /// What the lookup needs of the CPU and the library's release (C2).
    pub lookup: LookupContext<'static>,
}

/// The root's C library, as the loader asks it (see [`Libc`]). Shared, not
/// copied, when the [`super::Options`] carrying it are cloned.
#[derive(Debug, Clone)]
pub struct Profile(Arc<dyn Libc>);

impl Profile {
    pub fn new(libc: impl Libc + 'static) -> Profile {
        Profile(Arc::new(libc))
    }

    /// The C library the root is built on: the first in `LIBCS` that
    /// recognises it.
    pub fn detect(root: &Root) -> Profile {
        LIBCS
            .iter()
            .find_map(|detect| detect(root))
            .unwrap_or_else(|| Profile::new(Glibc::fallback()))
    }
}

impl Deref for Profile {
    type Target = dyn Libc;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}
