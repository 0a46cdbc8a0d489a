//! The audited file system: a sysroot directory (default `/`) that every path
//! lookup, symlink resolution and file read goes through.
//!
//! A root is a directory on this machine that stands for `/` of the audited
//! host: an unpacked image, a chroot, or `/` itself. Paths handed to and
//! returned by [`Root`] are *inner* paths: absolute paths as the audited host
//! would spell them. Symlinks are resolved the way the kernel would resolve
//! them if the root were `/` (`openat2(RESOLVE_IN_ROOT)` semantics): an
//! absolute link target starts again at the root, `..` never climbs above it,
//! and more than [`MAX_SYMLINKS`] links in one lookup is a loop. Files are
//! opened with `openat2` confined to the root where the kernel has it, never
//! follow a final symlink, never block on a FIFO, and only regular files are
//! handed out, so no audited path can make soclash read a device or a file
//! outside the root.
//!
//! Overlays (`scan --overlay DIR`, a package tree unpacked with `dpkg-deb
//! -x`) are laid over the root the way the package manager would install
//! them: each file lands where its path resolves in the root, so a `.deb`'s
//! `/lib/x86_64-linux-gnu/` follows a merged-/usr root's `/lib -> usr/lib`
//! link as dpkg does; files and symlinks replace the root's, new
//! directories are added, and a later overlay wins over an earlier one.
//! An overlay's files are opened through a descriptor of its directory
//! (`openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`), and what a package's
//! maintainer scripts would add (links, a copied configuration file) is
//! laid as data ([`Root::lay_virtual`]), never written anywhere.
//!
//! ```no_run
//! use soclash::root::Root;
//! let root = Root::new("/mnt/image".as_ref()).unwrap();
//! let file = root.open("/usr/lib/x86_64-linux-gnu/libc.so.6".as_ref()).unwrap();
//! println!("{} is {} bytes", file.canonical.display(), file.size);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::RwLock;

use rustc_hash::FxHashMap;
use rustix::fs::{Mode, OFlags, ResolveFlags};

use crate::budget::{self, WHATIF_ENTRIES, WHATIF_PATH_BYTES};

pub mod deb;
pub(crate) mod glob;
pub mod rpm;
pub mod scratch;

pub use glob::fnmatch;

/// Linux's `MAXSYMLINKS`: more links than this in one lookup is `ELOOP`.
pub const MAX_SYMLINKS: usize = 40;

/// Identity of a file as ld.so sees it (rule L13: `_dl_file_id_match_p`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

/// Why a path inside the root could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RootError {
    #[error("no such file or directory")]
    NotFound,
    #[error("too many levels of symbolic links (loop?)")]
    Loop,
    #[error("a path component is not a directory")]
    NotADirectory,
    #[error("not a regular file ({0})")]
    NotRegular(&'static str),
    #[error("path is not absolute inside the root")]
    NotAbsolute,
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl RootError {
    /// Absent in the sense ld.so's `open_path` uses: try the next candidate.
    pub fn is_absent(&self) -> bool {
        match self {
            RootError::NotFound | RootError::NotADirectory => true,
            RootError::Io(e) => e.kind() == io::ErrorKind::NotFound,
            _ => false,
        }
    }
}

/// A regular file opened inside the root.
#[derive(Debug)]
pub struct OpenFile {
    pub file: File,
    /// Inner path with every symlink resolved inside the root.
    pub canonical: PathBuf,
    pub id: FileId,
    pub size: u64,
}

/// What kind of thing an inner path names after resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Regular,
    Directory,
    Other(&'static str),
}

/// A directory's canonical inner path and the symlinks followed to reach it.
type Resolved = (PathBuf, usize);

/// A sysroot. Cheap to share between threads.
#[derive(Debug)]
pub struct Root {
    host: PathBuf,
    dirfd: OwnedFd,
    openat2: bool,
    /// Canonical directories by inner path (see [`Root::resolve`]).
    dirs: RwLock<FxHashMap<PathBuf, Result<Resolved, CachedError>>>,
    /// Whether failed lookups are cached: not while overlays are laid,
    /// when a later entry may create what was missing.
    cache_errors: bool,
    overlay: Overlay,
}

/// The overlays' entries by the canonical inner path they take, found once
/// when the root is opened; the root's own tree is never copied.
#[derive(Debug, Default)]
struct Overlay {
    layers: Vec<PathBuf>,
    /// A descriptor of each layer's directory, every open inside it
    /// relative to it.
    layer_fds: Vec<OwnedFd>,
    /// Each entry with the layer (index into `layers`) that placed it.
    entries: FxHashMap<PathBuf, (usize, Layered)>,
    /// Names the overlays add to a canonical directory, sorted byte-wise.
    children: FxHashMap<PathBuf, BTreeMap<OsString, Kind>>,
    errors: Vec<(PathBuf, String)>,
    /// Bytes of the entries' paths, against `WHATIF_PATH_BYTES`.
    path_bytes: u64,
    /// Names the overlays remove from a canonical directory of the root
    /// (files an upgraded package no longer ships).
    removed: FxHashMap<PathBuf, BTreeSet<OsString>>,
    /// The package manager rebuilds `/etc/ld.so.cache` after the install
    /// (libc-bin's `ldconfig` trigger).
    ld_cache_rebuilt: bool,
}

/// An overlay entry: in a layer's directory on this machine (layer index,
/// path relative to it), or data only.
#[derive(Debug, Clone)]
enum Layered {
    File(usize, PathBuf),
    Symlink(usize, PathBuf),
    /// A directory of a layer, or one only the model adds (`None`).
    Dir(Option<(usize, PathBuf)>),
    /// A symlink only the model adds, with its target.
    Link(PathBuf),
    /// A regular file only the model adds, with the content of the file at
    /// a canonical inner path (never itself a `Copy`).
    Copy(PathBuf),
    /// A file of the root the model removes: nothing is there.
    Removed,
}

impl Layered {
    fn kind(&self) -> Kind {
        match self {
            Layered::File(..) | Layered::Copy(_) => Kind::Regular,
            Layered::Symlink(..) | Layered::Link(_) => Kind::Other("symlink"),
            Layered::Dir(_) => Kind::Directory,
            Layered::Removed => Kind::Other("removed file"),
        }
    }
}

/// What a maintainer script model adds to the overlaid tree
/// ([`Root::lay_virtual`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Virtual {
    /// A symlink with this target.
    Link(PathBuf),
    /// A copy of the file at this inner path.
    Copy(PathBuf),
    /// Nothing: the root's file (or symlink) there is removed, as dpkg
    /// removes what an upgraded package no longer ships.
    Removed,
}

/// A [`RootError`] that can be kept in a cache.
#[derive(Debug, Clone, Copy)]
enum CachedError {
    NotFound,
    Loop,
    NotADirectory,
    Io(io::ErrorKind),
}

impl CachedError {
    fn from_error(e: &RootError) -> CachedError {
        match e {
            RootError::NotFound | RootError::NotAbsolute => CachedError::NotFound,
            RootError::Loop => CachedError::Loop,
            RootError::NotADirectory | RootError::NotRegular(_) => CachedError::NotADirectory,
            RootError::Io(e) => CachedError::Io(e.kind()),
        }
    }

    fn into_error(self) -> RootError {
        match self {
            CachedError::NotFound => RootError::NotFound,
            CachedError::Loop => RootError::Loop,
            CachedError::NotADirectory => RootError::NotADirectory,
            CachedError::Io(kind) => RootError::Io(kind.into()),
        }
    }
}

impl Root {
    /// Opens `dir` (a path on this machine) as the root of an audited host.
    pub fn new(dir: &Path) -> io::Result<Root> {
        let host = fs::canonicalize(dir)?;
        if !fs::metadata(&host)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "root is not a directory",
            ));
        }
        let dir = File::open(&host)?;
        let dirfd = OwnedFd::from(dir);
        let openat2 = probe_openat2(&dirfd);
        Ok(Root {
            host,
            dirfd,
            openat2,
            dirs: RwLock::default(),
            cache_errors: true,
            overlay: Overlay::default(),
        })
    }

    /// Opens the root directory of a running process (`/proc/PID/root`)
    /// as a root. The path is kept as given, not canonicalised: the
    /// kernel's link reaches the process's root only when followed, while
    /// its text is that root as the process's own mount namespace names
    /// it (`/` for a container), which is no path here.
    pub fn of_process(dir: &Path) -> io::Result<Root> {
        let dir_file = File::open(dir)?;
        if !dir_file.metadata()?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "root is not a directory",
            ));
        }
        let dirfd = OwnedFd::from(dir_file);
        let openat2 = probe_openat2(&dirfd);
        Ok(Root {
            host: dir.to_path_buf(),
            dirfd,
            openat2,
            dirs: RwLock::default(),
            cache_errors: true,
            overlay: Overlay::default(),
        })
    }

    /// Opens `dir` as a root with `overlays` (directories on this machine)
    /// laid over it in order. Overlay entries that cannot be placed (a
    /// FIFO, a file under a path the root has as a file) are kept as
    /// [`Root::overlay_errors`]; an overlay that is not a directory fails.
    pub fn with_overlays(dir: &Path, overlays: &[PathBuf]) -> io::Result<Root> {
        let mut root = Root::new(dir)?;
        root.cache_errors = false;
        for layer in overlays {
            let layer = fs::canonicalize(layer)?;
            if !fs::metadata(&layer)?.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("overlay {} is not a directory", layer.display()),
                ));
            }
            let fd = rustix::fs::open(
                &layer,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            root.overlay.layer_fds.push(fd);
            root.lay(&layer);
            root.overlay.layers.push(layer);
        }
        root.cache_errors = true;
        Ok(root)
    }

    /// The overlays' directories on this machine, bottom first.
    pub fn overlays(&self) -> &[PathBuf] {
        &self.overlay.layers
    }

    /// The overlay (index into [`Root::overlays`]) a canonical inner path
    /// comes from, or `None` for the root's own files.
    pub fn overlay_of(&self, canonical: &Path) -> Option<usize> {
        self.overlay.entries.get(canonical).map(|(layer, _)| *layer)
    }

    /// Overlay entries that were left out, with why (inner path, reason).
    pub fn overlay_errors(&self) -> &[(PathBuf, String)] {
        &self.overlay.errors
    }

    /// Places one overlay's entries, parents before children, each at the
    /// canonical path its parent resolves to in the tree so far. Linear in
    /// the entries: a directory's names are a sorted map, and the lookup
    /// cache is only cleared when an entry replaces what a cached lookup
    /// may have passed through.
    fn lay(&mut self, layer: &Path) {
        let index = self.overlay.layers.len();
        let mut walker = walkdir::WalkDir::new(layer)
            .min_depth(1)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter();
        while let Some(entry) = walker.next() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let at = e
                        .path()
                        .map_or_else(|| layer.to_path_buf(), Path::to_path_buf);
                    self.overlay
                        .errors
                        .push((at, format!("cannot read overlay: {e}")));
                    continue;
                }
            };
            if self.overlay.entries.len() >= WHATIF_ENTRIES {
                self.overlay.errors.push((
                    layer.to_path_buf(),
                    format!(
                        "{}; the rest of the overlay is left out",
                        budget::exceeded("WHATIF_ENTRIES", WHATIF_ENTRIES)
                    ),
                ));
                return;
            }
            let Ok(rel) = entry.path().strip_prefix(layer) else {
                continue;
            };
            self.overlay.path_bytes = self
                .overlay
                .path_bytes
                .saturating_add(rel.as_os_str().len() as u64);
            if self.overlay.path_bytes > WHATIF_PATH_BYTES {
                self.overlay.errors.push((
                    layer.to_path_buf(),
                    format!(
                        "{}; the rest of the overlay is left out",
                        budget::exceeded("WHATIF_PATH_BYTES", budget::bytes(WHATIF_PATH_BYTES))
                    ),
                ));
                return;
            }
            let inner = Path::new("/").join(rel);
            let (Some(parent), Some(name)) = (inner.parent(), inner.file_name()) else {
                continue;
            };
            let ft = entry.file_type();
            let parent = match self.resolve(parent) {
                Ok((p, Kind::Directory)) => Ok(p),
                Ok(_) => Err(RootError::NotADirectory),
                Err(e) => Err(e),
            };
            let parent = match parent {
                Ok(p) => p,
                Err(e) => {
                    self.overlay
                        .errors
                        .push((inner, format!("overlay entry left out: {e}")));
                    if ft.is_dir() {
                        walker.skip_current_dir();
                    }
                    continue;
                }
            };
            let rel = rel.to_path_buf();
            let layered = if ft.is_dir() {
                // A directory the tree already has (perhaps through a
                // symlink, as dpkg follows /lib -> usr/lib) is merged.
                if self
                    .resolve(&parent.join(name))
                    .is_ok_and(|(_, k)| k == Kind::Directory)
                {
                    continue;
                }
                Layered::Dir(Some((index, rel)))
            } else if ft.is_symlink() {
                Layered::Symlink(index, rel)
            } else if ft.is_file() {
                Layered::File(index, rel)
            } else {
                self.overlay.errors.push((
                    inner,
                    format!(
                        "overlay entry left out: not a regular file ({})",
                        file_kind_name(&ft)
                    ),
                ));
                continue;
            };
            self.place(parent, name, layered, index);
        }
    }

    /// Puts `layered` at `parent/name` (parent canonical) for layer `index`.
    fn place(&mut self, parent: PathBuf, name: &OsStr, layered: Layered, index: usize) {
        let canonical = parent.join(name);
        // A cached directory lookup can only have passed through a
        // directory or a symlink: replacing a file invalidates nothing.
        let replaced = match self.layered(&canonical) {
            Some(e) => Some(e.kind()),
            None => fs::symlink_metadata(self.host_path(&canonical))
                .ok()
                .map(|m| kind_or_symlink(&m.file_type())),
        };
        if matches!(replaced, Some(Kind::Directory | Kind::Other("symlink"))) {
            if let Ok(mut map) = self.dirs.write() {
                map.clear();
            }
        }
        if matches!(layered, Layered::Removed) {
            if let Some(names) = self.overlay.children.get_mut(&parent) {
                names.remove(name);
            }
            self.overlay
                .removed
                .entry(parent)
                .or_default()
                .insert(name.to_os_string());
        } else {
            if let Some(names) = self.overlay.removed.get_mut(&parent) {
                names.remove(name);
            }
            self.overlay
                .children
                .entry(parent)
                .or_default()
                .insert(name.to_os_string(), layered.kind());
        }
        self.overlay.entries.insert(canonical, (index, layered));
    }

    /// Lays what a maintainer script of layer `index` would add at the
    /// inner path `at`: its parent resolved in the tree as it is (missing
    /// directories are added, as `mkdir -p` would), never anywhere on this
    /// machine. What cannot be placed is kept as an overlay error and
    /// returned.
    pub fn lay_virtual(&mut self, index: usize, at: &Path, what: Virtual) -> Result<(), RootError> {
        let result = self.lay_virtual_at(index, at, what);
        if let Ok(mut map) = self.dirs.write() {
            map.clear();
        }
        if let Err(e) = &result {
            self.overlay.errors.push((
                at.to_path_buf(),
                format!("maintainer script effect left out: {e}"),
            ));
        }
        result
    }

    fn lay_virtual_at(&mut self, index: usize, at: &Path, what: Virtual) -> Result<(), RootError> {
        if self.overlay.entries.len() >= WHATIF_ENTRIES {
            return Err(RootError::Io(io::Error::other(budget::exceeded(
                "WHATIF_ENTRIES",
                WHATIF_ENTRIES,
            ))));
        }
        let (Some(parent), Some(name)) = (at.parent(), at.file_name()) else {
            return Err(RootError::NotAbsolute);
        };
        if what == Virtual::Removed {
            // Nothing is made to remove something: the parent must be there.
            let parent = match self.resolve(parent)? {
                (p, Kind::Directory) => p,
                _ => return Err(RootError::NotADirectory),
            };
            let at = parent.join(name);
            match self.layered(&at) {
                Some(Layered::Removed) => return Ok(()),
                // Only the root's own files are removed, never what an
                // overlay or a maintainer script placed.
                Some(_) => return Err(RootError::NotRegular("an overlay's entry")),
                None => match fs::symlink_metadata(self.host_path(&at)) {
                    Ok(m) if m.is_dir() => return Err(RootError::NotRegular("directory")),
                    Ok(_) => {}
                    Err(_) => return Err(RootError::NotFound),
                },
            }
            self.place(parent, name, Layered::Removed, index);
            return Ok(());
        }
        let parent = self.make_dirs(index, parent, 0)?;
        let layered = match what {
            Virtual::Removed => return Err(RootError::NotFound),
            Virtual::Link(target) => Layered::Link(target),
            Virtual::Copy(source) => {
                let (source, kind) = self.resolve(&source)?;
                if kind != Kind::Regular {
                    return Err(RootError::NotRegular("not a regular file"));
                }
                let source = match self.layered(&source) {
                    Some(Layered::Copy(s)) => s.clone(),
                    _ => source,
                };
                if source == parent.join(name) {
                    return Ok(());
                }
                Layered::Copy(source)
            }
        };
        self.place(parent, name, layered, index);
        Ok(())
    }

    /// The canonical directory `dir` resolves to, adding the missing ones
    /// as directories of layer `index`; a name that is there but not a
    /// directory (a dangling symlink too) fails, as `mkdir -p` would.
    fn make_dirs(&mut self, index: usize, dir: &Path, depth: usize) -> Result<PathBuf, RootError> {
        match self.resolve(dir) {
            Ok((c, Kind::Directory)) => return Ok(c),
            Ok(_) => return Err(RootError::NotADirectory),
            Err(RootError::NotFound) if self.symlink_kind(dir).is_none() => {}
            Err(e) => return Err(e),
        }
        let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
            return Err(RootError::NotFound);
        };
        if depth > MAX_SYMLINKS {
            return Err(RootError::Loop);
        }
        let parent = self.make_dirs(index, parent, depth + 1)?;
        self.place(parent.clone(), name, Layered::Dir(None), index);
        if let Ok(mut map) = self.dirs.write() {
            map.clear();
        }
        Ok(parent.join(name))
    }

    /// Records a problem with an overlay entry found outside the root (an
    /// entry a package's unpacking left out).
    pub fn add_overlay_error(&mut self, at: PathBuf, reason: String) {
        self.overlay.errors.push((at, reason));
    }

    /// Says that the package manager rebuilds `/etc/ld.so.cache` from
    /// `ld.so.conf` once the overlays are installed (libc-bin's `ldconfig`
    /// trigger, which a package of shared libraries activates): the file
    /// on disk is then not the cache ld.so will read.
    pub fn rebuild_ld_cache(&mut self) {
        self.overlay.ld_cache_rebuilt = true;
    }

    /// Whether `/etc/ld.so.cache` is the one ldconfig would write for this
    /// tree rather than the file there ([`Root::rebuild_ld_cache`]).
    pub fn ld_cache_rebuilt(&self) -> bool {
        self.overlay.ld_cache_rebuilt
    }

    /// The overlay entry at a canonical inner path.
    fn layered(&self, canonical: &Path) -> Option<&Layered> {
        self.overlay.entries.get(canonical).map(|(_, l)| l)
    }

    /// The root's directory on this machine.
    pub fn host_dir(&self) -> &Path {
        &self.host
    }

    /// True when the root is this machine's own `/`.
    pub fn is_host(&self) -> bool {
        self.host == Path::new("/")
    }

    fn host_path(&self, inner: &Path) -> PathBuf {
        let rel = inner.strip_prefix("/").unwrap_or(inner);
        if rel.as_os_str().is_empty() {
            self.host.clone()
        } else {
            self.host.join(rel)
        }
    }

    /// Resolves every symlink of an absolute inner path inside the root and
    /// returns the canonical inner path with the kind of file it names.
    pub fn resolve(&self, inner: &Path) -> Result<(PathBuf, Kind), RootError> {
        if !inner.is_absolute() {
            return Err(RootError::NotAbsolute);
        }
        // Most lookups are files in a few directories: resolve the directory
        // once per run and walk only the last component.
        let plain = inner
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
        if let (true, Some(parent), Some(name)) = (plain, inner.parent(), inner.file_name()) {
            let (dir, links) = self.resolve_dir(parent)?;
            return self
                .walk_from(dir, vec![name.to_os_string()], links)
                .map(|(p, k, _)| (p, k));
        }
        let mut pending = Vec::new();
        push_components(&mut pending, inner);
        // The names before the first `..` name a directory resolved once
        // (`$ORIGIN/../lib` of every library of a directory), then the
        // walk goes on from there as it would have from `/`.
        let names = pending.iter().rev().take_while(|c| *c != "..").count();
        if names > 0 && names < pending.len() {
            let dir: PathBuf = std::iter::once(OsStr::new("/"))
                .chain(pending.iter().rev().take(names).map(OsString::as_os_str))
                .collect();
            let (dir, links) = self.resolve_dir(&dir)?;
            pending.truncate(pending.len() - names);
            return self.walk_from(dir, pending, links).map(|(p, k, _)| (p, k));
        }
        self.walk(PathBuf::from("/"), pending)
    }

    /// A plain directory path's canonical path and the symlinks followed to
    /// reach it, cached for the life of the root. A directory not yet seen
    /// is resolved from its nearest cached ancestor, one name per level,
    /// each level cached on the way: a virtualenv's hundreds of lookups
    /// cost one `lstat` per new directory, not one per component of each.
    /// The symlinks count on from the parent's, so the limit is the
    /// kernel's for the whole path.
    fn resolve_dir(&self, dir: &Path) -> Result<Resolved, RootError> {
        let cached = |d: &Path| self.dirs.read().ok().and_then(|m| m.get(d).cloned());
        // The directories to resolve, deepest first, up to a cached one.
        let mut todo: Vec<&Path> = Vec::new();
        let mut from: Resolved = (PathBuf::from("/"), 0);
        let mut at = Some(dir);
        while let Some(d) = at {
            match cached(d) {
                Some(Ok(r)) => {
                    from = r;
                    break;
                }
                Some(Err(e)) => return Err(e.into_error()),
                None => todo.push(d),
            }
            at = d.parent();
        }
        while let Some(d) = todo.pop() {
            let walked = match d.file_name() {
                Some(name) => self.walk_from(from.0.clone(), vec![name.to_os_string()], from.1),
                None => self.walk_from(PathBuf::from("/"), Vec::new(), 0),
            };
            let result = match walked {
                Ok((p, Kind::Directory, links)) => Ok((p, links)),
                Ok(_) => Err(CachedError::NotADirectory),
                Err(e) => Err(CachedError::from_error(&e)),
            };
            if result.is_ok() || self.cache_errors {
                if let Ok(mut map) = self.dirs.write() {
                    map.insert(d.to_path_buf(), result.clone());
                }
            }
            from = result.map_err(CachedError::into_error)?;
        }
        Ok(from)
    }

    /// Walks `pending` (a stack: last element first) from the canonical
    /// directory `done`, following symlinks inside the root.
    fn walk(&self, done: PathBuf, pending: Vec<OsString>) -> Result<(PathBuf, Kind), RootError> {
        self.walk_from(done, pending, 0).map(|(p, k, _)| (p, k))
    }

    /// [`Root::walk`] with `links` symlinks already followed to reach
    /// `done`; also gives the count at the end.
    fn walk_from(
        &self,
        mut done: PathBuf,
        mut pending: Vec<OsString>,
        mut links: usize,
    ) -> Result<(PathBuf, Kind, usize), RootError> {
        let mut kind = Kind::Directory;
        while let Some(part) = pending.pop() {
            if part == ".." {
                // The kernel refuses `file/..` (ENOTDIR).
                if kind != Kind::Directory {
                    return Err(RootError::NotADirectory);
                }
                done.pop();
                kind = Kind::Directory;
                continue;
            }
            if kind != Kind::Directory {
                return Err(RootError::NotADirectory);
            }
            let candidate = done.join(&part);
            if let Some(layered) = self.layered(&candidate) {
                if let Layered::Removed = layered {
                    return Err(RootError::NotFound);
                }
                if let Layered::Symlink(..) | Layered::Link(_) = layered {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(RootError::Loop);
                    }
                    let target = self.layered_link(layered)?;
                    if target.is_absolute() {
                        done = PathBuf::from("/");
                    }
                    push_components(&mut pending, &target);
                    kind = Kind::Directory;
                    continue;
                }
                kind = layered.kind();
                done = candidate;
                continue;
            }
            let meta = match fs::symlink_metadata(self.host_path(&candidate)) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(RootError::NotFound),
                Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                    return Err(RootError::NotADirectory);
                }
                Err(e) => return Err(e.into()),
            };
            let ft = meta.file_type();
            if ft.is_symlink() {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(RootError::Loop);
                }
                let target = fs::read_link(self.host_path(&candidate))?;
                if target.is_absolute() {
                    done = PathBuf::from("/");
                }
                push_components(&mut pending, &target);
                kind = Kind::Directory;
                continue;
            }
            kind = kind_of(&ft);
            done = candidate;
        }
        Ok((done, kind, links))
    }

    /// The kind of file an inner path names, or `None` when it does not exist.
    pub fn kind(&self, inner: &Path) -> Option<Kind> {
        self.resolve(inner).ok().map(|(_, k)| k)
    }

    pub fn is_dir(&self, inner: &Path) -> bool {
        self.kind(inner) == Some(Kind::Directory)
    }

    /// Opens a regular file by inner path.
    pub fn open(&self, inner: &Path) -> Result<OpenFile, RootError> {
        let (canonical, kind) = self.resolve(inner)?;
        self.open_resolved(canonical, kind)
    }

    /// Opens what [`Root::resolve`] returned, refusing anything but a
    /// regular file (also when the file was replaced in between).
    pub fn open_resolved(&self, canonical: PathBuf, kind: Kind) -> Result<OpenFile, RootError> {
        match kind {
            Kind::Regular => {}
            Kind::Directory => return Err(RootError::NotRegular("directory")),
            Kind::Other(what) => return Err(RootError::NotRegular(what)),
        }
        let file = self.open_canonical(&canonical)?;
        let meta = file.metadata()?;
        if !meta.file_type().is_file() {
            return Err(RootError::NotRegular(file_kind_name(&meta.file_type())));
        }
        Ok(OpenFile {
            file,
            canonical,
            id: FileId {
                dev: meta.dev(),
                ino: meta.ino(),
            },
            size: meta.len(),
        })
    }

    /// Opens an already canonical inner path without following a final
    /// symlink and without blocking, confined to the root by the kernel when
    /// `openat2` is available (an overlay's file to its layer's directory).
    fn open_canonical(&self, canonical: &Path) -> io::Result<File> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let mut at = canonical;
        // A copy names a file that is not a copy; the bound is for safety.
        for _ in 0..MAX_SYMLINKS {
            return match self.layered(at) {
                Some(Layered::Copy(source)) => {
                    at = source;
                    continue;
                }
                Some(Layered::File(layer, rel) | Layered::Dir(Some((layer, rel)))) => {
                    self.open_in_layer(*layer, rel, flags).map(File::from)
                }
                Some(Layered::Removed) => Err(io::ErrorKind::NotFound.into()),
                _ => self.open_in_root(at, flags).map(File::from),
            };
        }
        Err(io::Error::other("copies of copies"))
    }

    /// Opens a canonical inner path of the root's own tree with `flags`,
    /// `openat2(RESOLVE_IN_ROOT)` on the root's descriptor.
    fn open_in_root(&self, canonical: &Path, flags: OFlags) -> io::Result<OwnedFd> {
        let rel = canonical.strip_prefix("/").unwrap_or(canonical);
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let fd = if self.openat2 {
            rustix::fs::openat2(
                &self.dirfd,
                rel,
                flags,
                Mode::empty(),
                ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
            )
        } else {
            rustix::fs::openat(&self.dirfd, rel, flags, Mode::empty())
        };
        Ok(fd?)
    }

    /// Opens `rel` in layer `layer`'s directory with `flags`, following no
    /// symlink and never leaving the directory.
    fn open_in_layer(&self, layer: usize, rel: &Path, flags: OFlags) -> io::Result<OwnedFd> {
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let Some(dir) = self.overlay.layer_fds.get(layer) else {
            return Err(io::ErrorKind::NotFound.into());
        };
        if self.openat2 {
            Ok(rustix::fs::openat2(
                dir,
                rel,
                flags,
                Mode::empty(),
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
            )?)
        } else {
            Ok(rustix::fs::openat(
                dir,
                rel,
                flags | OFlags::NOFOLLOW,
                Mode::empty(),
            )?)
        }
    }

    /// The target of an overlay's symlink.
    fn layered_link(&self, layered: &Layered) -> io::Result<PathBuf> {
        match layered {
            Layered::Link(target) => Ok(target.clone()),
            Layered::Symlink(layer, rel) => {
                let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
                    return Err(io::ErrorKind::NotFound.into());
                };
                let dir = self.open_in_layer(
                    *layer,
                    parent,
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                )?;
                let target = rustix::fs::readlinkat(&dir, name, Vec::new())?;
                Ok(PathBuf::from(OsString::from_vec(target.into_bytes())))
            }
            _ => Err(io::Error::from_raw_os_error(libc::EINVAL)),
        }
    }

    /// Reads a whole regular file, refusing files larger than `limit`
    /// bytes (an `InvalidData` error that names the budget, when `limit`
    /// is one: `budget::named!(SMALL_FILE)`).
    pub fn read(
        &self,
        inner: &Path,
        limit: impl Into<crate::budget::Named>,
    ) -> Result<Vec<u8>, RootError> {
        use std::io::Read;
        let limit = limit.into();
        let f = self.open(inner)?;
        if f.size > limit.value {
            let message = if limit.name.is_empty() {
                format!("file larger than {} bytes", limit.value)
            } else {
                format!(
                    "{}: the file is {} bytes",
                    crate::budget::exceeded(limit.name, crate::budget::bytes(limit.value)),
                    f.size
                )
            };
            return Err(RootError::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                message,
            )));
        }
        let mut buf = Vec::new();
        f.file.take(limit.value).read_to_end(&mut buf)?;
        Ok(buf)
    }

    /// Names in a directory (resolved inside the root), sorted byte-wise.
    pub fn read_dir(&self, inner: &Path) -> Result<Vec<OsString>, RootError> {
        Ok(self.entries(inner)?.into_iter().map(|(n, _)| n).collect())
    }

    /// Names in a directory with what each is, not following symlinks
    /// (`Kind::Other("symlink")`), sorted byte-wise; the kinds come from
    /// the directory itself, so listing costs no `stat` per entry.
    pub fn entries(&self, inner: &Path) -> Result<Vec<(OsString, Kind)>, RootError> {
        let (canonical, kind) = self.resolve(inner)?;
        if kind != Kind::Directory {
            return Err(RootError::NotADirectory);
        }
        self.list(&canonical)
    }

    /// The names in a canonical directory, the overlays' merged in.
    fn list(&self, canonical: &Path) -> Result<Vec<(OsString, Kind)>, RootError> {
        let added = self.overlay.children.get(canonical);
        let removed = self.overlay.removed.get(canonical);
        let mut out: Vec<(OsString, Kind)> = Vec::new();
        let virtual_dir = matches!(self.layered(canonical), Some(Layered::Dir(_)));
        if !virtual_dir {
            // Listed from a descriptor opened inside the root, never by
            // path: a directory swapped for a symlink is not followed.
            let fd = self.open_in_root(
                canonical,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            )?;
            let mut dir = rustix::fs::Dir::read_from(&fd).map_err(io::Error::from)?;
            while let Some(e) = dir.read() {
                // A failing directory read is the end of the listing.
                let Ok(e) = e else { break };
                let name = OsStr::from_bytes(e.file_name().to_bytes());
                if name == "."
                    || name == ".."
                    || added.is_some_and(|a| a.contains_key(name))
                    || removed.is_some_and(|r| r.contains(name))
                {
                    continue;
                }
                let ft = match e.file_type() {
                    rustix::fs::FileType::Unknown => {
                        match rustix::fs::statat(&fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) {
                            Ok(st) => rustix::fs::FileType::from_raw_mode(st.st_mode),
                            Err(_) => rustix::fs::FileType::Unknown,
                        }
                    }
                    ft => ft,
                };
                out.push((name.to_os_string(), kind_of_raw(ft)));
            }
        }
        out.extend(added.into_iter().flatten().map(|(n, k)| (n.clone(), *k)));
        out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        Ok(out)
    }

    /// Every entry below `dir` down to `max_depth` levels, parents before
    /// children, sorted byte-wise per directory, never entering a symlink;
    /// a directory that cannot be listed is an `Err` entry and the walk
    /// goes on.
    pub fn walk_tree(
        &self,
        dir: &Path,
        max_depth: usize,
    ) -> Vec<(PathBuf, Result<Kind, RootError>)> {
        let mut out = Vec::new();
        self.walk_into(dir, max_depth, &mut out);
        out
    }

    fn walk_into(
        &self,
        dir: &Path,
        depth: usize,
        out: &mut Vec<(PathBuf, Result<Kind, RootError>)>,
    ) {
        if depth == 0 {
            return;
        }
        let entries = match self.entries(dir) {
            Ok(e) => e,
            Err(e) => {
                out.push((dir.to_path_buf(), Err(e)));
                return;
            }
        };
        for (name, kind) in entries {
            let path = dir.join(name);
            out.push((path.clone(), Ok(kind)));
            if kind == Kind::Directory {
                self.walk_into(&path, depth - 1, out);
            }
        }
    }

    /// The kind of an inner path's last component without following it.
    pub fn symlink_kind(&self, inner: &Path) -> Option<Kind> {
        let parent = inner.parent()?;
        let name = inner.file_name()?;
        let (dir, kind) = self.resolve(parent).ok()?;
        if kind != Kind::Directory {
            return None;
        }
        let at = dir.join(name);
        if let Some(layered) = self.layered(&at) {
            return (!matches!(layered, Layered::Removed)).then(|| layered.kind());
        }
        let meta = fs::symlink_metadata(self.host_path(&at)).ok()?;
        if meta.file_type().is_symlink() {
            Some(Kind::Other("symlink"))
        } else {
            Some(kind_of(&meta.file_type()))
        }
    }

    /// The target of a symlink, as written in the link.
    pub fn read_link(&self, inner: &Path) -> Option<PathBuf> {
        let parent = inner.parent()?;
        let (dir, _) = self.resolve(parent).ok()?;
        let at = dir.join(inner.file_name()?);
        match self.layered(&at) {
            Some(l @ (Layered::Symlink(..) | Layered::Link(_))) => self.layered_link(l).ok(),
            Some(_) => None,
            None => fs::read_link(self.host_path(&at)).ok(),
        }
    }

    /// Inner paths matching a shell pattern (`*`, `?`, `[…]` per component),
    /// sorted byte-wise as glibc's `glob` with `LC_COLLATE=C`; literal
    /// components are not checked for existence.
    pub fn glob(&self, pattern: &[u8]) -> Vec<Vec<u8>> {
        glob::glob(self, pattern)
    }

    /// (device, inode) of a directory, for ldconfig's duplicate check (C6).
    pub fn dir_id(&self, inner: &Path) -> Option<FileId> {
        let (canonical, kind) = self.resolve(inner).ok()?;
        if kind != Kind::Directory {
            return None;
        }
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = match self.layered(&canonical) {
            Some(Layered::Dir(Some((layer, rel)))) => self.open_in_layer(*layer, rel, flags),
            // Only the model has it: no file, no identity.
            Some(_) => return None,
            None => self.open_in_root(&canonical, flags),
        };
        let st = rustix::fs::fstat(fd.ok()?.as_fd()).ok()?;
        Some(FileId {
            dev: st.st_dev,
            ino: st.st_ino,
        })
    }
}

/// Pushes the components of `path` so that popping yields them in order.
fn push_components(stack: &mut Vec<OsString>, path: &Path) {
    let start = stack.len();
    for c in path.components() {
        match c {
            Component::Normal(n) => stack.push(n.to_os_string()),
            Component::ParentDir => stack.push(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    stack[start..].reverse();
}

/// The kind a directory entry's type gives, a symlink not followed.
fn kind_of_raw(ft: rustix::fs::FileType) -> Kind {
    use rustix::fs::FileType as T;
    match ft {
        T::RegularFile => Kind::Regular,
        T::Directory => Kind::Directory,
        T::Symlink => Kind::Other("symlink"),
        T::Fifo => Kind::Other("FIFO"),
        T::Socket => Kind::Other("socket"),
        T::BlockDevice => Kind::Other("block device"),
        T::CharacterDevice => Kind::Other("character device"),
        _ => Kind::Other("special file"),
    }
}

fn kind_or_symlink(ft: &fs::FileType) -> Kind {
    if ft.is_symlink() {
        Kind::Other("symlink")
    } else {
        kind_of(ft)
    }
}

fn kind_of(ft: &fs::FileType) -> Kind {
    if ft.is_file() {
        Kind::Regular
    } else if ft.is_dir() {
        Kind::Directory
    } else {
        Kind::Other(file_kind_name(ft))
    }
}

/// What a non-regular file is, for error messages.
pub fn file_kind_name(ft: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "directory"
    } else if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_char_device() {
        "character device"
    } else if ft.is_symlink() {
        "symlink"
    } else {
        "special file"
    }
}

/// Whether the kernel (and any seccomp filter) lets us use `openat2`.
fn probe_openat2(dirfd: &OwnedFd) -> bool {
    rustix::fs::openat2(
        dirfd,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT,
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// Makes a FIFO at `path` (`mkfifo(3)`: `mknod` of type FIFO).
    fn mkfifo(path: &Path) {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
    }

    fn tree() -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        let p = t.path();
        fs::create_dir_all(p.join("usr/lib")).unwrap();
        fs::write(p.join("usr/lib/libx.so.1.0"), b"x").unwrap();
        symlink("libx.so.1.0", p.join("usr/lib/libx.so.1")).unwrap();
        symlink("/usr/lib/libx.so.1.0", p.join("usr/lib/abs.so")).unwrap();
        symlink("usr/lib", p.join("lib")).unwrap();
        symlink("loop2", p.join("loop1")).unwrap();
        symlink("loop1", p.join("loop2")).unwrap();
        symlink("/etc/passwd", p.join("escape")).unwrap();
        symlink("../../../../../etc/hostname", p.join("usr/lib/up.so")).unwrap();
        let r = Root::new(p).unwrap();
        (t, r)
    }

    /// A removal (a file an upgraded package no longer ships) hides the
    /// root's file or link from every lookup and listing, through merged
    /// /usr's `/lib` link too; a directory is never removed; a later
    /// layer's file at the place wins; nothing on disk changes.
    #[test]
    fn removals_hide_the_roots_files() {
        let (t, _) = tree();
        let layer = tempfile::tempdir().unwrap();
        let mut r = Root::with_overlays(t.path(), &[layer.path().to_path_buf()]).unwrap();
        assert!(
            r.lay_virtual(0, Path::new("/lib/libx.so.1.0"), Virtual::Removed)
                .is_ok()
        );
        assert!(
            r.lay_virtual(0, Path::new("/usr/lib/libx.so.1"), Virtual::Removed)
                .is_ok()
        );
        assert!(
            r.lay_virtual(0, Path::new("/usr/lib"), Virtual::Removed)
                .is_err()
        );
        assert!(
            r.lay_virtual(0, Path::new("/none/x"), Virtual::Removed)
                .is_err()
        );
        assert!(r.kind(Path::new("/usr/lib/libx.so.1.0")).is_none());
        assert!(
            r.open(Path::new("/usr/lib/abs.so"))
                .unwrap_err()
                .is_absent()
        );
        assert_eq!(r.symlink_kind(Path::new("/usr/lib/libx.so.1")), None);
        assert_eq!(r.read_link(Path::new("/usr/lib/libx.so.1")), None);
        let names = r.read_dir(Path::new("/usr/lib")).unwrap();
        assert_eq!(names, ["abs.so", "up.so"]);
        assert!(t.path().join("usr/lib/libx.so.1.0").exists());
        // A later layer's file there wins over the removal.
        fs::write(t.path().join("new"), b"n").unwrap();
        r.lay_virtual(
            1,
            Path::new("/usr/lib/libx.so.1.0"),
            Virtual::Copy("/new".into()),
        )
        .unwrap();
        assert_eq!(r.read(Path::new("/lib/libx.so.1.0"), 10).unwrap(), b"n");
        assert!(
            r.read_dir(Path::new("/usr/lib"))
                .unwrap()
                .contains(&"libx.so.1.0".into())
        );
        assert!(!r.ld_cache_rebuilt());
        r.rebuild_ld_cache();
        assert!(r.ld_cache_rebuilt());
    }

    #[test]
    fn relative_and_absolute_links_stay_inside() {
        let (_t, r) = tree();
        let (c, k) = r.resolve(Path::new("/lib/libx.so.1")).unwrap();
        assert_eq!(c, Path::new("/usr/lib/libx.so.1.0"));
        assert_eq!(k, Kind::Regular);
        let (c, _) = r.resolve(Path::new("/usr/lib/abs.so")).unwrap();
        assert_eq!(c, Path::new("/usr/lib/libx.so.1.0"));
        assert!(r.resolve(Path::new("/escape")).unwrap_err().is_absent());
        assert!(r.open(Path::new("/usr/lib/up.so")).unwrap_err().is_absent());
    }

    #[test]
    fn loops_are_detected() {
        let (_t, r) = tree();
        assert!(matches!(
            r.resolve(Path::new("/loop1")),
            Err(RootError::Loop)
        ));
    }

    #[test]
    fn directories_and_fifos_are_not_opened() {
        let (t, r) = tree();
        assert!(matches!(
            r.open(Path::new("/usr/lib")),
            Err(RootError::NotRegular("directory"))
        ));
        let fifo = t.path().join("fifo");
        mkfifo(&fifo);
        assert!(matches!(
            r.open(Path::new("/fifo")),
            Err(RootError::NotRegular("FIFO"))
        ));
    }

    /// A directory swapped for a symlink to a directory outside between
    /// its lookup and its listing (the race of issue 13) is not listed.
    #[test]
    fn a_directory_swapped_for_a_symlink_is_not_listed() {
        let (t, r) = tree();
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("outside.so"), b"x").unwrap();
        fs::create_dir(t.path().join("mods")).unwrap();
        fs::write(t.path().join("mods/mod.so"), b"x").unwrap();
        let (canonical, kind) = r.resolve(Path::new("/mods")).unwrap();
        assert_eq!(kind, Kind::Directory);
        assert_eq!(
            r.list(&canonical).unwrap(),
            [(OsString::from("mod.so"), Kind::Regular)]
        );
        fs::rename(t.path().join("mods"), t.path().join("mods.old")).unwrap();
        symlink(outside.path(), t.path().join("mods")).unwrap();
        assert!(r.list(&canonical).is_err());
        // Through a swapped parent the listing stays inside the root.
        fs::create_dir_all(t.path().join("a/mods")).unwrap();
        let (canonical, _) = r.resolve(Path::new("/a/mods")).unwrap();
        fs::rename(t.path().join("a"), t.path().join("a.old")).unwrap();
        symlink(outside.path(), t.path().join("a")).unwrap();
        assert!(r.list(&canonical).is_err());
    }

    #[test]
    fn file_under_a_file_is_not_a_directory() {
        let (_t, r) = tree();
        assert!(
            r.resolve(Path::new("/usr/lib/libx.so.1.0/x"))
                .unwrap_err()
                .is_absent()
        );
    }

    /// Overlays land as dpkg would install them: through the root's
    /// merged-/usr `/lib` link, replacing the root's file, adding new
    /// directories; a later overlay wins; a FIFO in an overlay is an error.
    #[test]
    fn overlays_are_laid_as_installed() {
        let r = tempfile::tempdir().unwrap();
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        fs::create_dir_all(r.path().join("usr/lib/x86_64-linux-gnu")).unwrap();
        std::os::unix::fs::symlink("usr/lib", r.path().join("lib")).unwrap();
        fs::write(r.path().join("usr/lib/x86_64-linux-gnu/libz.so.1"), b"root").unwrap();
        fs::write(
            r.path().join("usr/lib/x86_64-linux-gnu/libkeep.so.1"),
            b"keep",
        )
        .unwrap();
        fs::create_dir_all(a.path().join("lib/x86_64-linux-gnu")).unwrap();
        fs::write(a.path().join("lib/x86_64-linux-gnu/libz.so.1"), b"a").unwrap();
        fs::write(a.path().join("lib/x86_64-linux-gnu/libnew.so.1"), b"a").unwrap();
        fs::create_dir_all(a.path().join("opt/app/lib")).unwrap();
        fs::write(a.path().join("opt/app/lib/libapp.so"), b"a").unwrap();
        std::os::unix::fs::symlink("libapp.so", a.path().join("opt/app/lib/libapp.so.1")).unwrap();
        fs::create_dir_all(b.path().join("usr/lib/x86_64-linux-gnu")).unwrap();
        fs::write(b.path().join("usr/lib/x86_64-linux-gnu/libnew.so.1"), b"b").unwrap();
        mkfifo(&b.path().join("fifo"));

        let root = Root::with_overlays(r.path(), &[a.path().into(), b.path().into()]).unwrap();
        let read = |p: &str| root.read(Path::new(p), 100).unwrap();
        assert_eq!(read("/usr/lib/x86_64-linux-gnu/libz.so.1"), b"a");
        assert_eq!(read("/lib/x86_64-linux-gnu/libnew.so.1"), b"b");
        assert_eq!(read("/usr/lib/x86_64-linux-gnu/libkeep.so.1"), b"keep");
        assert_eq!(read("/opt/app/lib/libapp.so.1"), b"a");
        let (canonical, _) = root
            .resolve(Path::new("/lib/x86_64-linux-gnu/libnew.so.1"))
            .unwrap();
        assert_eq!(
            canonical,
            Path::new("/usr/lib/x86_64-linux-gnu/libnew.so.1")
        );
        assert_eq!(root.overlay_of(&canonical), Some(1));
        assert_eq!(
            root.overlay_of(Path::new("/usr/lib/x86_64-linux-gnu/libkeep.so.1")),
            None
        );
        assert_eq!(
            root.read_dir(Path::new("/usr/lib/x86_64-linux-gnu"))
                .unwrap(),
            ["libkeep.so.1", "libnew.so.1", "libz.so.1"].map(OsString::from)
        );
        assert!(root.is_dir(Path::new("/opt/app")));
        assert_eq!(
            root.symlink_kind(Path::new("/opt/app/lib/libapp.so.1")),
            Some(Kind::Other("symlink"))
        );
        let tree: Vec<PathBuf> = root
            .walk_tree(Path::new("/opt"), 5)
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(
            tree,
            [
                "/opt/app",
                "/opt/app/lib",
                "/opt/app/lib/libapp.so",
                "/opt/app/lib/libapp.so.1"
            ]
            .map(PathBuf::from)
        );
        assert_eq!(
            root.overlay_errors().len(),
            1,
            "{:?}",
            root.overlay_errors()
        );
        assert_eq!(root.overlay_errors()[0].0, Path::new("/fifo"));
        // The root itself is untouched.
        assert_eq!(
            fs::read(r.path().join("usr/lib/x86_64-linux-gnu/libz.so.1")).unwrap(),
            b"root"
        );
    }
}
