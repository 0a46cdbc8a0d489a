//! `ldconfig` emulation for a root without a usable `/etc/ld.so.cache`
//! (research/loader-model.md §2.3, rules C5–C10): what glibc 2.36's
//! `ldconfig -r ROOT` would write, built in memory as an [`LdCache`] so the
//! loader's cache lookup (rule C2) runs unchanged over it.
//!
//! This module owns the reading of `ld.so.conf` (`parse_conf`,
//! `parse_conf_include` with its `glob`), the directory list (`add_dir_1`,
//! `add_single_dir`, `add_glibc_hwcaps_subdirectories`, `add_system_dir`),
//! the scan of each directory (`search_dir`, `process_file`, `_dl_is_dso`)
//! and the ordering of the resulting entries (`add_to_cache` and `compare`
//! in elf/cache.c). ldconfig runs chrooted into the root when it can; this
//! is that behaviour, with every access going through [`Root`] so nothing
//! outside the root is ever read.
//!
//! Differences from a real run, all deliberate:
//! * a soname link `DIR/SONAME` that does not exist yet is the one ldconfig
//!   would create; the entry then names the chosen file itself (rule C9) so
//!   that the path can be opened;
//! * directories are read in byte order, where ldconfig sees `readdir`
//!   order. This only shows when one directory holds two names that are
//!   equal under [`libcmp`] (`libfoo.so.1` and `libfoo.so.01`), and in the
//!   order legacy hwcap subdirectories are appended to [`Emulated::dirs`];
//! * a.out (libc4) libraries are not entered: their flags are never
//!   acceptable to an x86-64 loader;
//! * includes nest at most [`LDCONFIG_INCLUDE_DEPTH`] deep and a file that
//!   includes itself is read once (ldconfig recurses until it runs out of
//!   file descriptors; re-reading only adds directories already present).
//!
//! ```no_run
//! use soclash::root::Root;
//! use soclash::resolve::ldconfig;
//! let root = Root::new("/mnt/image".as_ref()).unwrap();
//! let em = ldconfig::emulate(&root, |_| true, &["/lib/x86_64-linux-gnu", "/lib"]);
//! for e in em.cache.entries() {
//!     println!("{} => {}", e.key, e.value);
//! }
//! ```

use std::cmp::Ordering;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bstr::{BString, ByteSlice};

use super::cache::{DL_CACHE_HWCAP_EXTENSION, LdCache, OwnedEntry, libcmp};
use crate::budget::{self, LDCONFIG_FILE_BYTES, LDCONFIG_FILES, LDCONFIG_INCLUDE_DEPTH};
use crate::elf::{self, Class, Detail, ElfFacts};
use crate::root::{FileId, Kind, Root, RootError};

/// `LD_SO_CONF`.
pub const LD_SO_CONF: &str = "/etc/ld.so.conf";
/// `GLIBC_HWCAPS_SUBDIRECTORY`.
const GLIBC_HWCAPS_SUBDIRECTORY: &[u8] = b"glibc-hwcaps";
/// Bytes ldconfig searches for `GROUP` / `GNU ld script` (`process_file`).
const SCRIPT_PROBE: usize = 512;
/// `max (sizeof (struct exec), sizeof (Elf64_Ehdr))`: smaller files are
/// not examined.
const MIN_FILE_SIZE: u64 = 64;

/// `FLAG_ELF`.
const FLAG_ELF: i32 = 0x0001;
/// `FLAG_ELF_LIBC5`.
const FLAG_ELF_LIBC5: i32 = 0x0002;
/// `FLAG_ELF_LIBC6`.
const FLAG_ELF_LIBC6: i32 = 0x0003;
/// `FLAG_X8664_LIB64 | FLAG_ELF_LIBC6`.
const FLAG_X8664_LIB64_LIBC6: i32 = 0x0303;
/// `FLAG_X8664_LIBX32 | FLAG_ELF_LIBC6`.
const FLAG_X8664_LIBX32_LIBC6: i32 = 0x0803;
const EM_386: u16 = 3;
const EM_X86_64: u16 = 62;
const ET_DYN: u16 = 3;

/// `_dl_x86_hwcap_flags`; ldconfig's `hwcap_mask` (`HWCAP_IMPORTANT`)
/// covers all three.
const HWCAP_NAMES: [&[u8]; 3] = [b"sse2", b"x86_64", b"avx512_1"];
/// `_dl_x86_platforms`, bits 48.. (`_DL_FIRST_PLATFORM`).
const PLATFORM_NAMES: [&[u8]; 4] = [b"i586", b"i686", b"haswell", b"xeon_phi"];
const FIRST_PLATFORM: u32 = 48;
/// `TLS_SUBPATH` and `TLS_HWCAP_BIT`.
const TLS_SUBPATH: &[u8] = b"tls";
const TLS_HWCAP_BIT: u32 = 63;

/// `PT_INTERP` values that make an i386 library libc6 (`interpreters`
/// in elf/readlib.c with the x86-64 `SYSDEP_KNOWN_INTERPRETER_NAMES`).
const KNOWN_INTERPRETERS: [&[u8]; 4] = [
    b"/lib/ld-linux-x86-64.so.2",
    b"/lib/ld-linux.so.2",
    b"/libx32/ld-linux-x32.so.2",
    b"/lib64/ld-linux-x86-64.so.2",
];
/// `DT_NEEDED` names that do the same (`known_libs`).
const KNOWN_LIBS: [&[u8]; 2] = [b"libc.so.6", b"libm.so.6"];

/// The result of one emulated `ldconfig` run.
#[derive(Debug, Clone)]
pub struct Emulated {
    /// The cache ldconfig would write, in its order.
    pub cache: LdCache,
    /// Every directory scanned, in ldconfig's order (what `ldconfig -v`
    /// prints): configured directories with their glibc-hwcaps
    /// subdirectories right after each, then the system directories, then
    /// legacy hwcap subdirectories as they were found. Paths as written in
    /// the configuration, which is how they appear in cache values.
    pub dirs: Vec<PathBuf>,
    /// Where each of `dirs` was configured (`/etc/ld.so.conf.d/app.conf:1`,
    /// `<builtin>`): what to name when a root without a cache would find a
    /// library only once `ldconfig` ran.
    pub sources: Vec<String>,
    /// Files and configuration lines ldconfig would complain about.
    pub problems: Vec<(PathBuf, String)>,
}

/// One `struct dir_entry`.
#[derive(Debug, Clone)]
struct DirEntry {
    /// As written (trailing whitespace and slashes removed).
    path: Vec<u8>,
    id: FileId,
    /// glibc-hwcaps subdirectory name, for entries under `glibc-hwcaps/`.
    hwcaps: Option<Vec<u8>>,
    /// The configuration line that added it (or its parent directory).
    from: String,
}

/// One `struct dlib_entry`: the current winner for a soname in a directory.
struct Dlib {
    name: Vec<u8>,
    soname: Vec<u8>,
    flag: i32,
    is_link: bool,
    isa_level: u32,
}

/// One `struct cache_entry` before `save_cache`.
struct Pending {
    key: Vec<u8>,
    value: Vec<u8>,
    flags: i32,
    isa_level: u32,
    hwcap: u64,
    bits_hwcap: u32,
    hwcaps: Option<Vec<u8>>,
}

struct Emulator<'r, F> {
    root: &'r Root,
    accept: F,
    dirs: Vec<DirEntry>,
    entries: Vec<Pending>,
    problems: Vec<(PathBuf, String)>,
    conf_files: usize,
}

/// Runs the emulation: `ld.so.conf` first, then `system_dirs` (ldconfig's
/// built-in `SLIBDIR`/`LIBDIR`; Debian adds `/lib` and `/usr/lib`), then
/// the scan. `accept` decides which ELF shared objects enter the cache
/// (ldconfig on x86-64 takes x86-64, x32 and i386 ones; the loader only
/// ever uses the first).
///
/// A system directory ending in `/lib64` or `/libx32` is expanded as
/// upstream's x86-64 `add_system_dir` does (`/lib`, `/lib64`, `/libx32`,
/// rule C6). Other directories are added as given: that is what both
/// upstream (whose `SLIBDIR` is `/lib64`) and Debian (whose built-ins are
/// multiarch directories plus plain `/lib` and `/usr/lib`, never expanded)
/// do.
pub fn emulate(root: &Root, accept: impl Fn(&ElfFacts) -> bool, system_dirs: &[&str]) -> Emulated {
    let mut em = Emulator {
        root,
        accept,
        dirs: Vec::new(),
        entries: Vec::new(),
        problems: Vec::new(),
        conf_files: 0,
    };
    let mut stack = Vec::new();
    em.parse_conf(LD_SO_CONF.as_bytes(), &mut stack);
    for dir in system_dirs {
        for d in add_system_dir_x86_64(dir) {
            em.add_dir_1(d.as_bytes(), b"<builtin>", 0);
        }
    }
    // `search_dirs`: the list grows while it is walked (legacy hwcap
    // subdirectories are appended).
    let mut i = 0;
    while i < em.dirs.len() {
        em.search_dir(i);
        i += 1;
    }
    let dirs = em.dirs.iter().map(|d| path_of(&d.path)).collect();
    let sources = em.dirs.iter().map(|d| d.from.clone()).collect();
    let cache = save_cache(em.entries);
    Emulated {
        cache,
        dirs,
        sources,
        problems: em.problems,
    }
}

/// The x86-64 `add_system_dir` of upstream glibc
/// (sysdeps/unix/sysv/linux/x86_64/dl-cache.h), applied only where
/// upstream's own `SLIBDIR`/`LIBDIR` would trigger it: `X/lib64` and
/// `X/libx32` become `X/lib`, `X/lib64`, `X/libx32`.
pub fn add_system_dir_x86_64(dir: &str) -> Vec<String> {
    let base = dir
        .strip_suffix("/lib64")
        .map(|b| format!("{b}/lib"))
        .or_else(|| dir.strip_suffix("/libx32").map(|b| format!("{b}/lib")));
    match base {
        Some(lib) => vec![lib.clone(), format!("{lib}64"), format!("{lib}x32")],
        None => vec![dir.to_string()],
    }
}

/// `_dl_is_dso`: `lib*.so*`, `ld-*.so*`, `ld.so.*`, `ld64.so.*` (rule C8).
pub fn is_dso(name: &[u8]) -> bool {
    ((name.starts_with(b"lib") || name.starts_with(b"ld-")) && name.find(b".so").is_some())
        || name.starts_with(b"ld.so.")
        || name.starts_with(b"ld64.so.")
}

/// `is_hwcap_platform`: a legacy hwcap, platform or `tls` subdirectory name.
fn is_hwcap_platform(name: &[u8]) -> bool {
    HWCAP_NAMES.contains(&name) || PLATFORM_NAMES.contains(&name) || name == TLS_SUBPATH
}

/// `path_hwcap`: the legacy hwcap bits spelled by the trailing components
/// of a directory path (`…/haswell/x86_64` → bits 50 and 1). Added, not
/// or-ed, as ldconfig does, so a repeated name carries.
fn path_hwcap(path: &[u8]) -> u64 {
    let mut s = path;
    let mut hwcap = 0u64;
    while let Some(pos) = s.rfind_byte(b'/') {
        let comp = s.get(pos + 1..).unwrap_or_default();
        let bit = if let Some(i) = HWCAP_NAMES.iter().position(|&n| n == comp) {
            i as u32
        } else if let Some(i) = PLATFORM_NAMES.iter().position(|&n| n == comp) {
            FIRST_PLATFORM + i as u32
        } else if comp == TLS_SUBPATH {
            TLS_HWCAP_BIT
        } else {
            break;
        };
        hwcap = hwcap.wrapping_add(1u64 << bit);
        s = s.get(..pos).unwrap_or_default();
    }
    hwcap
}

/// The prelink temporaries `search_dir` skips (glibc 2.36 skips nothing
/// else by name; the `;` and `.dpkg-new`/`.dpkg-tmp` skips of rule C8
/// arrived in 2.39).
fn is_prelink_temporary(name: &[u8]) -> bool {
    if name.ends_with(b".#prelink#") {
        return true;
    }
    const TEMPLATE: usize = ".#prelink#.XXXXXX".len();
    name.len() >= TEMPLATE
        && name
            .get(name.len() - TEMPLATE..)
            .is_some_and(|t| t.starts_with(b".#prelink#."))
}

/// C `isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// C `isblank`.
fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn path_of(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

/// The inner path for a path as ldconfig would open it chrooted with `/`
/// as working directory.
fn inner(bytes: &[u8]) -> PathBuf {
    if bytes.starts_with(b"/") {
        path_of(bytes)
    } else {
        let mut p = b"/".to_vec();
        p.extend_from_slice(bytes);
        path_of(&p)
    }
}

fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(dir.len() + 1 + name.len());
    p.extend_from_slice(dir);
    p.push(b'/');
    p.extend_from_slice(name);
    p
}

/// POSIX `dirname` for the include base.
fn dirname(path: &[u8]) -> Vec<u8> {
    let trimmed = path.trim_end_with(|c| c == '/');
    match trimmed.rfind_byte(b'/') {
        None if path.starts_with(b"/") => b"/".to_vec(),
        None => b".".to_vec(),
        Some(pos) => {
            let d = trimmed
                .get(..pos)
                .unwrap_or_default()
                .trim_end_with(|c| c == '/');
            if d.is_empty() {
                b"/".to_vec()
            } else {
                d.to_vec()
            }
        }
    }
}

impl<F: Fn(&ElfFacts) -> bool> Emulator<'_, F> {
    fn problem(&mut self, path: &[u8], reason: impl Into<String>) {
        self.problems.push((path_of(path), reason.into()));
    }

    /// `parse_conf` (rule C5): `#` comments, `include PATTERN…`, ignored
    /// `hwcap` lines, and one directory per other line.
    fn parse_conf(&mut self, filename: &[u8], stack: &mut Vec<PathBuf>) {
        let path = inner(filename);
        let text = match self.root.read(&path, budget::named!(LDCONFIG_FILE_BYTES)) {
            Ok(t) => t,
            // ENOENT is silent; a directory opens but reads nothing.
            Err(e) if e.is_absent() => return,
            Err(RootError::NotRegular("directory")) => return,
            Err(RootError::Io(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                self.problem(
                    filename,
                    format!(
                        "{}: configuration file ignored",
                        budget::exceeded("LDCONFIG_FILE_BYTES", budget::bytes(LDCONFIG_FILE_BYTES))
                    ),
                );
                return;
            }
            Err(e) => {
                self.problem(
                    filename,
                    format!("ignoring configuration file that cannot be opened: {e}"),
                );
                return;
            }
        };
        self.conf_files += 1;
        if self.conf_files > LDCONFIG_FILES {
            self.problem(
                filename,
                format!(
                    "{}: configuration file ignored",
                    budget::exceeded("LDCONFIG_FILES", LDCONFIG_FILES)
                ),
            );
            return;
        }
        let canonical = self.root.resolve(&path).map(|(c, _)| c).unwrap_or(path);
        if stack.contains(&canonical) {
            self.problem(filename, "configuration file includes itself; ignored");
            return;
        }
        if stack.len() >= LDCONFIG_INCLUDE_DEPTH {
            self.problem(
                filename,
                format!(
                    "{}: configuration file ignored",
                    budget::exceeded("LDCONFIG_INCLUDE_DEPTH", LDCONFIG_INCLUDE_DEPTH)
                ),
            );
            return;
        }
        stack.push(canonical);
        for (lineno, raw) in text.split(|&c| c == b'\n').enumerate() {
            let lineno = lineno + 1;
            // C string: ends at a NUL; `#` ends it too.
            let line = raw.split(|&c| c == 0).next().unwrap_or_default();
            let line = line.split(|&c| c == b'#').next().unwrap_or_default();
            let start = line
                .iter()
                .position(|&c| !is_space(c))
                .unwrap_or(line.len());
            let cp = line.get(start..).unwrap_or_default();
            if cp.is_empty() {
                continue;
            }
            if cp.starts_with(b"include") && cp.get(7).copied().is_some_and(is_blank) {
                let rest = cp.get(8..).unwrap_or_default();
                for pattern in rest.split(|&c| is_blank(c)).filter(|p| !p.is_empty()) {
                    self.parse_conf_include(filename, pattern, stack);
                }
            } else if cp
                .get(..5)
                .is_some_and(|k| k.eq_ignore_ascii_case(b"hwcap"))
                && cp.get(5).copied().is_some_and(is_blank)
            {
                self.problem(filename, format!("{lineno}: hwcap directive ignored"));
            } else {
                self.add_dir_1(cp, filename, lineno);
            }
        }
        stack.pop();
    }

    /// `parse_conf_include`: a relative pattern is relative to the
    /// including file's directory; matches are read in `glob` order (C
    /// collation, i.e. byte order).
    fn parse_conf_include(&mut self, config_file: &[u8], pattern: &[u8], stack: &mut Vec<PathBuf>) {
        let pattern = if !pattern.starts_with(b"/") && config_file.contains(&b'/') {
            join(&dirname(config_file), pattern)
        } else {
            pattern.to_vec()
        };
        for file in self.root.glob(&pattern) {
            self.parse_conf(&file, stack);
        }
    }

    /// `add_dir_1`: `DIR[=TYPE]`, trailing whitespace and slashes removed,
    /// must exist; then `add_single_dir` and its glibc-hwcaps subdirectories.
    fn add_dir_1(&mut self, line: &[u8], from_file: &[u8], from_line: usize) {
        let (path, kind) = match line.find_byte(b'=') {
            Some(eq) => (
                line.get(..eq).unwrap_or_default(),
                Some(line.get(eq + 1..).unwrap_or_default()),
            ),
            None => (line, None),
        };
        if let Some(kind) = kind {
            if !matches!(kind, b"libc4" | b"libc5" | b"libc6" | b"glibc2") {
                self.problem(
                    from_file,
                    format!(
                        "{from_line}: {} is not a known library type",
                        kind.as_bstr()
                    ),
                );
            }
        }
        let path = path.trim_end_with(|c| c.is_ascii() && is_space(c as u8));
        let path = path.trim_end_with(|c| c == '/');
        if path.is_empty() {
            return;
        }
        let at = inner(path);
        match self.root.resolve(&at) {
            Ok((_, Kind::Directory)) => {}
            Ok(_) => {
                self.problem(
                    path,
                    format!("not a directory (from {}:{from_line})", from_file.as_bstr()),
                );
                return;
            }
            Err(e) if e.is_absent() => return,
            Err(e) => {
                self.problem(
                    path,
                    format!("can't stat: {e} (from {}:{from_line})", from_file.as_bstr()),
                );
                return;
            }
        }
        let Some(id) = self.root.dir_id(&at) else {
            return;
        };
        let from = if from_line == 0 {
            from_file.to_str_lossy().into_owned()
        } else {
            format!("{}:{from_line}", from_file.as_bstr())
        };
        let entry = DirEntry {
            path: path.to_vec(),
            id,
            hwcaps: None,
            from: from.clone(),
        };
        if self.add_single_dir(entry) {
            self.add_glibc_hwcaps_subdirectories(path, &from);
        }
    }

    /// `add_single_dir`: duplicates by (device, inode) are dropped, the
    /// first occurrence keeps its place (rule C6).
    fn add_single_dir(&mut self, entry: DirEntry) -> bool {
        if self.dirs.iter().any(|d| d.id == entry.id) {
            return false;
        }
        self.dirs.push(entry);
        true
    }

    /// `add_glibc_hwcaps_subdirectories` (rule C7): every non-hidden
    /// subdirectory of `DIR/glibc-hwcaps` without `:` in its name.
    fn add_glibc_hwcaps_subdirectories(&mut self, path: &[u8], from: &str) {
        let base = join(path, GLIBC_HWCAPS_SUBDIRECTORY);
        let Ok(names) = self.root.read_dir(&inner(&base)) else {
            return;
        };
        for name in names {
            let name = name.as_bytes();
            if name.starts_with(b".") || name.contains(&b':') {
                continue;
            }
            let sub = join(&base, name);
            let at = inner(&sub);
            if self.root.symlink_kind(&at) == Some(Kind::Regular) {
                continue;
            }
            let Some(id) = self.root.dir_id(&at) else {
                continue;
            };
            self.add_single_dir(DirEntry {
                path: sub,
                id,
                hwcaps: Some(name.to_vec()),
                from: from.to_string(),
            });
        }
    }

    /// `search_dir` (rules C8, C9): the libraries of one directory, one
    /// winner per soname, entered into the cache.
    fn search_dir(&mut self, index: usize) {
        let Some(entry) = self.dirs.get(index).cloned() else {
            return;
        };
        let hwcap = if entry.hwcaps.is_none() {
            path_hwcap(&entry.path)
        } else {
            0
        };
        let dir_at = inner(&entry.path);
        let names = match self.root.read_dir(&dir_at) {
            Ok(n) => n,
            Err(e) if e.is_absent() => return,
            Err(e) => {
                self.problem(&entry.path, format!("can't open directory: {e}"));
                return;
            }
        };
        let mut dlibs: Vec<Dlib> = Vec::new();
        for name in &names {
            let name = name.as_bytes();
            let file_name = join(&entry.path, name);
            let at = inner(&file_name);
            let (is_reg, mut is_link, is_dirent) = match self.root.symlink_kind(&at) {
                Some(Kind::Regular) => (true, false, false),
                Some(Kind::Directory) => (false, false, true),
                Some(Kind::Other("symlink")) => (false, true, false),
                _ => continue,
            };
            if !is_dso(name) && (is_reg || (entry.hwcaps.is_none() && !is_hwcap_platform(name))) {
                continue;
            }
            if is_prelink_temporary(name) {
                continue;
            }
            let is_dir = if is_link {
                match self.root.resolve(&at) {
                    Ok((_, k)) => k == Kind::Directory,
                    // Dangling, looping or escaping: skipped quietly.
                    Err(_) => continue,
                }
            } else {
                is_dirent
            };
            if entry.hwcaps.is_none() && is_dir && is_hwcap_platform(name) {
                if let Some(id) = self.root.dir_id(&at) {
                    self.add_single_dir(DirEntry {
                        path: file_name,
                        id,
                        hwcaps: None,
                        from: entry.from.clone(),
                    });
                }
                continue;
            }
            if !is_reg && !is_link {
                continue;
            }
            let Some((flag, isa_level, soname)) = self.process_file(&at, &file_name) else {
                continue;
            };
            let mut soname = soname.unwrap_or_else(|| name.to_vec());
            // A link is only a link if it is named after the soname or is
            // its `.so` development link; otherwise it counts as a file.
            if is_link && name != soname.as_slice() {
                let dev_link =
                    name.len() >= 3 && name.ends_with(b".so") && soname.starts_with(name);
                if !dev_link {
                    is_link = false;
                }
            }
            if is_link {
                soname = name.to_vec();
            }
            if let Some(d) = dlibs.iter_mut().find(|d| d.soname == soname) {
                let newer = (!is_link && d.is_link)
                    || (is_link == d.is_link && libcmp(&d.name, name) == Ordering::Less);
                if newer {
                    let mut clash = None;
                    if d.flag != flag {
                        let libc56 = |f: i32| f == FLAG_ELF_LIBC5 || f == FLAG_ELF_LIBC6;
                        if (d.flag == FLAG_ELF && libc56(flag))
                            || (libc56(d.flag) && flag == FLAG_ELF)
                        {
                            d.flag = flag;
                        } else {
                            clash = Some(format!(
                                "libraries {} and {} have same soname but different type",
                                d.name.as_bstr(),
                                name.as_bstr()
                            ));
                        }
                    }
                    d.name = name.to_vec();
                    d.is_link = is_link;
                    d.isa_level = isa_level;
                    if let Some(c) = clash {
                        self.problem(&entry.path, c);
                    }
                }
            } else {
                dlibs.push(Dlib {
                    name: name.to_vec(),
                    soname,
                    flag,
                    is_link,
                    isa_level,
                });
            }
        }
        // ldconfig pushes each new library at the head of its list.
        for d in dlibs.iter().rev() {
            let filename = if entry.hwcaps.is_none() {
                // Rule C9: the soname link, unless it is not there yet.
                let link = join(&entry.path, &d.soname);
                if self.root.resolve(&inner(&link)).is_ok() {
                    &d.soname
                } else {
                    &d.name
                }
            } else {
                &d.name
            };
            self.entries.push(Pending {
                key: d.soname.clone(),
                value: join(&entry.path, filename),
                flags: d.flag,
                isa_level: d.isa_level,
                hwcap,
                bits_hwcap: hwcap.count_ones(),
                hwcaps: entry.hwcaps.clone(),
            });
        }
    }

    /// `process_file` and x86 `process_elf_file`: the flags, ISA level and
    /// soname of a candidate, or `None` when ldconfig would not enter it.
    fn process_file(&mut self, at: &Path, file_name: &[u8]) -> Option<(i32, u32, Option<Vec<u8>>)> {
        let opened = match self.root.open(at) {
            Ok(f) => f,
            Err(e) if e.is_absent() => return None,
            Err(RootError::Loop) => return None,
            Err(RootError::NotRegular(what)) => {
                self.problem(
                    file_name,
                    format!("cannot read: not a regular file ({what})"),
                );
                return None;
            }
            Err(e) => {
                self.problem(file_name, format!("cannot read: {e}"));
                return None;
            }
        };
        let mut head = [0u8; SCRIPT_PROBE];
        let mut got = 0usize;
        while let Some(buf) = head.get_mut(got..) {
            if buf.is_empty() {
                break;
            }
            match opened.file.read_at(buf, got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.problem(file_name, format!("read error: {e}"));
                    return None;
                }
            }
        }
        let head = head.get(..got).unwrap_or_default();
        if opened.size == 0 {
            self.problem(file_name, "file is empty, not checked");
            return None;
        }
        if opened.size < MIN_FILE_SIZE {
            let n = head.len().min(4);
            if head.get(..n) == b"\x7fELF".get(..n) {
                self.problem(file_name, "file is too small, not checked");
            }
            return None;
        }
        if !head.starts_with(b"\x7fELF") {
            let script = head.find(b"GROUP").is_some() || head.find(b"GNU ld script").is_some();
            let gdb = file_name.len() > 7 && file_name.ends_with(b"-gdb.py");
            if !script && !gdb {
                self.problem(
                    file_name,
                    "not an ELF file - it has the wrong magic bytes at the start",
                );
            }
            return None;
        }
        let facts = match elf::read(opened.file, Detail::Linking) {
            Ok(f) => f,
            Err(e) => {
                self.problem(file_name, e.to_string());
                return None;
            }
        };
        if facts.e_type != ET_DYN {
            return None;
        }
        let flag = match (facts.machine, facts.class) {
            (EM_X86_64, Some(Class::Elf64)) => FLAG_X8664_LIB64_LIBC6,
            (EM_X86_64, Some(Class::Elf32)) => FLAG_X8664_LIBX32_LIBC6,
            (EM_386, Some(Class::Elf32)) => {
                let interp = facts
                    .interpreter
                    .as_ref()
                    .is_some_and(|i| KNOWN_INTERPRETERS.contains(&i.as_slice()));
                let libc = facts
                    .needed
                    .iter()
                    .any(|n| KNOWN_LIBS.contains(&n.as_slice()));
                if interp || libc {
                    FLAG_ELF_LIBC6
                } else {
                    FLAG_ELF
                }
            }
            (m, _) => {
                self.problem(file_name, format!("is for unknown machine {m}"));
                return None;
            }
        };
        // No PT_DYNAMIC: `process_elf_file` gives up without a word.
        if !facts.dynamic || !(self.accept)(&facts) {
            return None;
        }
        // `read_gnu_property`: the highest bit of ISA_1_NEEDED (bsr).
        let isa_level = facts
            .isa_needed
            .filter(|&v| v != 0)
            .map_or(0, |v| 31 - v.leading_zeros());
        Some((flag, isa_level, facts.soname.map(|s| s.to_vec())))
    }
}

/// ldconfig's `compare` (elf/cache.c): descending [`libcmp`] on the key,
/// then higher flags, then glibc-hwcaps entries first and by name, then
/// more legacy hwcap bits, then the larger hwcap (rule C2).
fn compare(e1: &Pending, e2: &Pending) -> Ordering {
    let res = libcmp(&e2.key, &e1.key);
    if res != Ordering::Equal {
        return res;
    }
    e2.flags
        .cmp(&e1.flags)
        .then_with(|| match (&e1.hwcaps, &e2.hwcaps) {
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(a), Some(b)) => a.cmp(b),
            (None, None) => Ordering::Equal,
        })
        .then_with(|| e2.bits_hwcap.cmp(&e1.bits_hwcap))
        .then_with(|| e2.hwcap.cmp(&e1.hwcap))
}

/// A digit run long enough to wrap `_dl_cache_libcmp`'s `int`, which makes
/// the comparison inconsistent and the order depend on the insertion
/// algorithm itself.
fn has_long_number(key: &[u8]) -> bool {
    key.split(|c| !c.is_ascii_digit())
        .any(|run| run.len() >= 10)
}

/// `add_to_cache`'s sorted insertion, then `save_cache`'s glibc-hwcaps
/// indices (`assign_glibc_hwcaps_indices`: used names sorted by `strcmp`)
/// and extension hwcap values (`compute_hwcap_value`).
fn save_cache(pending: Vec<Pending>) -> LdCache {
    let sorted = if pending.iter().any(|p| has_long_number(&p.key)) {
        // Literal insertion: before the first entry that compares greater.
        let mut list: Vec<Pending> = Vec::with_capacity(pending.len());
        for p in pending {
            let at = list
                .iter()
                .position(|e| compare(e, &p) == Ordering::Greater)
                .unwrap_or(list.len());
            list.insert(at, p);
        }
        list
    } else {
        // A consistent comparison: a stable sort is the same insertion.
        let mut list = pending;
        list.sort_by(compare);
        list
    };
    let mut names: Vec<Vec<u8>> = sorted.iter().filter_map(|p| p.hwcaps.clone()).collect();
    names.sort();
    names.dedup();
    let entries = sorted
        .into_iter()
        .map(|p| {
            let hwcap = match &p.hwcaps {
                Some(n) => {
                    let index = names.binary_search(n).unwrap_or_default() as u64;
                    DL_CACHE_HWCAP_EXTENSION | (u64::from(p.isa_level) << 32) | index
                }
                None => p.hwcap,
            };
            OwnedEntry {
                flags: p.flags,
                key: BString::from(p.key),
                value: BString::from(p.value),
                hwcap,
            }
        })
        .collect();
    LdCache::from_entries(
        entries,
        names.into_iter().map(BString::from).collect(),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirname_of_include_base() {
        assert_eq!(dirname(b"/etc/ld.so.conf"), b"/etc");
        assert_eq!(dirname(b"/ld.so.conf"), b"/");
        assert_eq!(dirname(b"/etc//x//"), b"/etc");
    }
    use std::fs;
    use std::os::unix::fs::symlink;

    fn lib(name: &str) -> PathBuf {
        let p = Path::new("/usr/lib/x86_64-linux-gnu").join(name);
        fs::canonicalize(&p).unwrap()
    }

    fn x86_64(f: &ElfFacts) -> bool {
        f.class == Some(Class::Elf64) && f.machine == EM_X86_64
    }

    #[test]
    fn dso_names() {
        for n in [
            "libz.so.1",
            "libz.so",
            "ld-linux-x86-64.so.2",
            "ld.so.1",
            "ld64.so.2",
            "libfoo-2.so",
        ] {
            assert!(is_dso(n.as_bytes()), "{n}");
        }
        for n in ["libz.a", "foo.so.1", "ld.so", "lib", "ldx.so"] {
            assert!(!is_dso(n.as_bytes()), "{n}");
        }
        assert!(is_prelink_temporary(b"libz.so.1.#prelink#.AbCdEf"));
        assert!(is_prelink_temporary(b"libz.so.1.#prelink#"));
        assert!(!is_prelink_temporary(b"libz.so.1"));
    }

    #[test]
    fn legacy_hwcap_paths() {
        assert_eq!(path_hwcap(b"/usr/lib"), 0);
        assert_eq!(path_hwcap(b"/usr/lib/tls"), 1 << 63);
        assert_eq!(path_hwcap(b"/usr/lib/haswell/x86_64"), (1 << 50) | (1 << 1));
        assert_eq!(path_hwcap(b"/x86_64/lib"), 0);
    }

    #[test]
    fn system_dir_expansion() {
        assert_eq!(
            add_system_dir_x86_64("/lib64"),
            ["/lib", "/lib64", "/libx32"]
        );
        assert_eq!(
            add_system_dir_x86_64("/usr/libx32"),
            ["/usr/lib", "/usr/lib64", "/usr/libx32"]
        );
        assert_eq!(add_system_dir_x86_64("/lib"), ["/lib"]);
        assert_eq!(
            add_system_dir_x86_64("/lib/x86_64-linux-gnu"),
            ["/lib/x86_64-linux-gnu"]
        );
    }

    /// A root in the shape of loader-model.md §2.4, plus configuration
    /// oddities. The expectations are the rules themselves; the oracle
    /// comparison with the real ldconfig is tests/it/ld_cache.rs.
    #[test]
    fn emulates_the_test_vector_root() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        fs::create_dir_all(r.join("etc/conf.d")).unwrap();
        fs::create_dir_all(r.join("opt/a/glibc-hwcaps/x86-64-v3")).unwrap();
        fs::create_dir_all(r.join("opt/b")).unwrap();
        fs::create_dir_all(r.join("opt/c")).unwrap();
        fs::write(
            r.join("etc/ld.so.conf"),
            "# comment\n  /opt/a/ # trailing\ninclude conf.d/*.conf\nhwcap 1 foo\n/missing\n/opt/a\n",
        )
        .unwrap();
        fs::write(
            r.join("etc/conf.d/b.conf"),
            "/opt/b//\t\ninclude /etc/ld.so.conf\n",
        )
        .unwrap();
        fs::write(r.join("etc/conf.d/.hidden.conf"), "/opt/c\n").unwrap();
        let z = lib("libz.so.1");
        fs::copy(&z, r.join("opt/a/libz.so.1.2")).unwrap();
        symlink("libz.so.1.2", r.join("opt/a/libz.so.1")).unwrap();
        fs::copy(&z, r.join("opt/a/glibc-hwcaps/x86-64-v3/libz.so.1.2")).unwrap();
        fs::copy(&z, r.join("opt/b/libz.so.1.0")).unwrap();
        fs::write(r.join("opt/b/libbroken.so.1"), [b'x'; 100]).unwrap();
        fs::write(
            r.join("opt/b/libc.so"),
            format!(
                "/* GNU ld script\n{}*/\nGROUP ( libc.so.6 )\n",
                " ".repeat(80)
            ),
        )
        .unwrap();
        let root = Root::new(r).unwrap();
        let em = emulate(&root, x86_64, &["/opt/c"]);

        assert_eq!(
            em.dirs,
            [
                "/opt/a",
                "/opt/a/glibc-hwcaps/x86-64-v3",
                "/opt/b",
                "/opt/c"
            ]
            .map(PathBuf::from)
        );
        let got: Vec<(String, String)> = em
            .cache
            .entries()
            .map(|e| (e.key.to_string(), e.value.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("libz.so.1", "/opt/a/glibc-hwcaps/x86-64-v3/libz.so.1.2"),
                ("libz.so.1", "/opt/a/libz.so.1"),
                // No libz.so.1 link in /opt/b: the file itself (C9).
                ("libz.so.1", "/opt/b/libz.so.1.0"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let first = em.cache.entry(0).unwrap();
        assert_eq!(first.hwcaps_subdir(), Some(&b"x86-64-v3"[..]));
        assert_eq!(first.flags, 0x303);
        let reasons: Vec<String> = em
            .problems
            .iter()
            .map(|(p, r)| format!("{}: {r}", p.display()))
            .collect();
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("hwcap directive ignored")),
            "{reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r.contains("includes itself")),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with("/opt/b/libbroken.so.1: not an ELF file")),
            "{reasons:?}"
        );
        assert!(
            !reasons.iter().any(|r| r.contains("libc.so:")),
            "{reasons:?}"
        );
    }
}
