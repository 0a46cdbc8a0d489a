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
//! ```no_run
//! use soclash::root::Root;
//! let root = Root::new("/mnt/image".as_ref()).unwrap();
//! let file = root.open("/usr/lib/x86_64-linux-gnu/libc.so.6".as_ref()).unwrap();
//! println!("{} is {} bytes", file.canonical.display(), file.size);
//! ```

use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::RwLock;

use rustc_hash::FxHashMap;

mod glob;

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
    #[error("{0}")]
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

/// A sysroot. Cheap to share between threads.
#[derive(Debug)]
pub struct Root {
    host: PathBuf,
    dirfd: OwnedFd,
    openat2: bool,
    /// Canonical directories by inner path (see [`Root::resolve`]).
    dirs: RwLock<FxHashMap<PathBuf, Result<PathBuf, CachedError>>>,
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
        })
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
            let dir = self.resolve_dir(parent)?;
            return self.walk(dir, vec![name.to_os_string()]);
        }
        let mut pending = Vec::new();
        push_components(&mut pending, inner);
        self.walk(PathBuf::from("/"), pending)
    }

    /// A directory's canonical path, cached for the life of the root.
    fn resolve_dir(&self, dir: &Path) -> Result<PathBuf, RootError> {
        if let Ok(map) = self.dirs.read() {
            if let Some(r) = map.get(dir) {
                return r.clone().map_err(CachedError::into_error);
            }
        }
        let mut pending = Vec::new();
        push_components(&mut pending, dir);
        let result = match self.walk(PathBuf::from("/"), pending) {
            Ok((p, Kind::Directory)) => Ok(p),
            Ok(_) => Err(CachedError::NotADirectory),
            Err(e) => Err(CachedError::from_error(&e)),
        };
        if let Ok(mut map) = self.dirs.write() {
            map.insert(dir.to_path_buf(), result.clone());
        }
        result.map_err(CachedError::into_error)
    }

    /// Walks `pending` (a stack: last element first) from the canonical
    /// directory `done`, following symlinks inside the root.
    fn walk(
        &self,
        mut done: PathBuf,
        mut pending: Vec<OsString>,
    ) -> Result<(PathBuf, Kind), RootError> {
        let mut links = 0usize;
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
        Ok((done, kind))
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
    /// `openat2` is available.
    fn open_canonical(&self, canonical: &Path) -> io::Result<File> {
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
        let rel = canonical.strip_prefix("/").unwrap_or(canonical);
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let c = std::ffi::CString::new(rel.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in path"))?;
        let fd = if self.openat2 {
            let mut how: libc::open_how = unsafe { std::mem::zeroed() };
            how.flags = flags as u64;
            how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
            // SAFETY: valid dirfd, NUL-terminated path, `how` lives across the call.
            unsafe {
                libc::syscall(
                    libc::SYS_openat2,
                    self.dirfd.as_raw_fd(),
                    c.as_ptr(),
                    &how as *const libc::open_how,
                    std::mem::size_of::<libc::open_how>(),
                ) as libc::c_int
            }
        } else {
            // SAFETY: valid dirfd and NUL-terminated path.
            unsafe { libc::openat(self.dirfd.as_raw_fd(), c.as_ptr(), flags) }
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor we own.
        Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Reads a whole regular file, refusing files larger than `limit` bytes.
    pub fn read(&self, inner: &Path, limit: u64) -> Result<Vec<u8>, RootError> {
        use std::io::Read;
        let f = self.open(inner)?;
        if f.size > limit {
            return Err(RootError::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("file larger than {limit} bytes"),
            )));
        }
        let mut buf = Vec::new();
        f.file.take(limit).read_to_end(&mut buf)?;
        Ok(buf)
    }

    /// Names in a directory (resolved inside the root), sorted byte-wise.
    pub fn read_dir(&self, inner: &Path) -> Result<Vec<OsString>, RootError> {
        let (canonical, kind) = self.resolve(inner)?;
        if kind != Kind::Directory {
            return Err(RootError::NotADirectory);
        }
        let mut names: Vec<OsString> = fs::read_dir(self.host_path(&canonical))?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        Ok(names)
    }

    /// The kind of an inner path's last component without following it.
    pub fn symlink_kind(&self, inner: &Path) -> Option<Kind> {
        let parent = inner.parent()?;
        let name = inner.file_name()?;
        let (dir, kind) = self.resolve(parent).ok()?;
        if kind != Kind::Directory {
            return None;
        }
        let meta = fs::symlink_metadata(self.host_path(&dir.join(name))).ok()?;
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
        fs::read_link(self.host_path(&dir.join(inner.file_name()?))).ok()
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
        let m = fs::metadata(self.host_path(&canonical)).ok()?;
        Some(FileId {
            dev: m.dev(),
            ino: m.ino(),
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
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT;
    // SAFETY: valid dirfd, static NUL-terminated path, `how` outlives the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd.as_raw_fd(),
            c".".as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd >= 0 {
        // SAFETY: fd was just returned to us.
        drop(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) });
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

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
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            r.open(Path::new("/fifo")),
            Err(RootError::NotRegular("FIFO"))
        ));
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
}
