//! Discovery: where the objects that can end up in a web-server process
//! live on a root, by the layouts of Debian/Ubuntu, RHEL/Fedora/Rocky, SUSE,
//! Alpine and source builds.
//!
//! This stage only finds candidate files and the role their place gives
//! them; it never parses ELF. The scan confirms each candidate from its ELF
//! facts (a non-ELF file in a modules directory becomes an error entry, not
//! a module). Directories are walked with walkdir below directories that
//! [`Root`] resolved inside the root, never following a symlinked
//! directory; every file is later opened through [`Root`], so a symlink
//! pointing out of the root is never read.
//!
//! ```no_run
//! let root = soclash::root::Root::new("/".as_ref()).unwrap();
//! let found = soclash::host::discover(&root);
//! println!("{} candidates", found.candidates.len());
//! ```

use std::ffi::OsStr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::model::Role;
use crate::root::{Kind, Root};

pub mod apache;
pub mod live;
pub mod maintscripts;
pub mod packages;
pub mod php;
pub(crate) mod service;
mod text;
pub mod wheels;

/// httpd executable names (RHEL's `httpd`, Debian's `apache2`, SUSE's
/// `httpd2` and MPM-specific names).
const HTTPD_NAMES: &[&str] = &[
    "apache2",
    "httpd",
    "httpd2",
    "httpd-prefork",
    "httpd-worker",
    "httpd-event",
    "httpd2-prefork",
    "httpd2-worker",
    "httpd2-event",
];

/// Directories that hold the httpd executable.
const HTTPD_DIRS: &[&str] = &[
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/local/apache2/bin",
    "/usr/local/apache/bin",
    "/opt/*/apache2/bin",
    "/opt/*/httpd/bin",
    "/opt/*/bin",
];

/// Apache module directories (their `*.so`, not recursive).
const MODULE_DIRS: &[&str] = &[
    "/usr/lib/apache2/modules",
    "/usr/lib64/httpd/modules",
    "/usr/lib/httpd/modules",
    "/etc/httpd/modules",
    "/usr/lib64/apache2*",
    "/usr/lib/apache2",
    "/usr/local/apache2/modules",
    "/usr/local/apache/modules",
    "/usr/local/apache2/libexec",
    "/usr/local/apache/libexec",
    "/opt/*/apache2/modules",
    "/opt/*/httpd/modules",
    "/opt/*/apache2/libexec",
    "/opt/*/httpd/libexec",
];

/// PHP extension directories (their `*.so`, not recursive).
const PHP_DIRS: &[&str] = &[
    "/usr/lib/php/[0-9]*",
    "/usr/lib64/php/modules",
    "/usr/lib64/php-zts/modules",
    "/usr/lib/php/modules",
    "/usr/lib64/php*/extensions",
    "/usr/lib/php*/modules",
    "/usr/local/lib/php/extensions/*",
    "/opt/*/lib/php/extensions/*",
];

/// Python `lib-dynload` directories (not recursive).
const DYNLOAD_DIRS: &[&str] = &[
    "/usr/lib/python[23]*/lib-dynload",
    "/usr/lib64/python[23]*/lib-dynload",
    "/usr/local/lib/python[23]*/lib-dynload",
    "/usr/local/lib64/python[23]*/lib-dynload",
    "/opt/*/lib/python[23]*/lib-dynload",
    "/opt/*/lib64/python[23]*/lib-dynload",
];

/// Python package directories (walked recursively).
const PACKAGE_DIRS: &[&str] = &[
    "/usr/lib/python3/dist-packages",
    "/usr/lib/python[23]*/site-packages",
    "/usr/lib/python[23]*/dist-packages",
    "/usr/lib64/python[23]*/site-packages",
    "/usr/local/lib/python[23]*/site-packages",
    "/usr/local/lib/python[23]*/dist-packages",
    "/usr/local/lib64/python[23]*/site-packages",
    "/opt/*/lib/python[23]*/site-packages",
    "/opt/*/lib64/python[23]*/site-packages",
];

/// How deep a package tree is walked: deeper is not a Python package.
const MAX_PACKAGE_DEPTH: usize = 12;

/// A file found in a place that gives it a role.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    /// Inner path as found (symlinks not resolved).
    pub path: PathBuf,
    pub role: Role,
}

/// What discovery found, and what it could not look at.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Sorted by path, then role.
    pub candidates: Vec<Candidate>,
    /// (inner path, reason), sorted.
    pub errors: Vec<(PathBuf, String)>,
    /// Files in a place that gives them a role that are not regular files
    /// (a FIFO, a device), with why, sorted: objects of the web stack that
    /// cannot be read, which `scan` reports as findings, not errors.
    pub unreadable: Vec<(Candidate, String)>,
}

/// One place to look.
#[derive(Clone, Copy)]
enum Place {
    Httpd,
    Flat(Role),
    Packages,
}

/// The names of the root's `/etc/ld.so.preload`, which ld.so preloads
/// into every process after `LD_PRELOAD`, and what kept the file from
/// being read.
pub fn ld_so_preload(root: &Root) -> (Vec<String>, Vec<(PathBuf, String)>) {
    let mut log = service::Log::default();
    let names = service::preload::read_ld_so_preload(root, &mut log);
    (names, log.errors)
}

/// Finds every candidate object on the root.
pub fn discover(root: &Root) -> Discovery {
    let mut places: Vec<(PathBuf, Place)> = Vec::new();
    let mut add = |patterns: &[&str], place: Place| {
        for p in patterns {
            for dir in root.glob(p.as_bytes()) {
                places.push((PathBuf::from(OsStr::from_bytes(&dir)), place));
            }
        }
    };
    add(HTTPD_DIRS, Place::Httpd);
    add(MODULE_DIRS, Place::Flat(Role::ApacheModule));
    add(PHP_DIRS, Place::Flat(Role::PhpExtension));
    add(DYNLOAD_DIRS, Place::Flat(Role::PythonExtension));
    add(PACKAGE_DIRS, Place::Packages);
    // One walk per directory, however many patterns or symlinks name it
    // (RHEL's /etc/httpd/modules is /usr/lib64/httpd/modules).
    let mut resolved: Vec<(PathBuf, PathBuf, Place)> = places
        .into_iter()
        .filter_map(|(dir, place)| match root.resolve(&dir) {
            Ok((canonical, Kind::Directory)) => Some((canonical, dir, place)),
            _ => None,
        })
        .collect();
    resolved.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    resolved.dedup_by(|a, b| a.0 == b.0);

    let results: Vec<Discovery> = resolved
        .par_iter()
        .map(|(canonical, _, place)| walk(root, canonical, *place))
        .collect();
    let mut out = Discovery::default();
    for d in results {
        out.candidates.extend(d.candidates);
        out.errors.extend(d.errors);
        out.unreadable.extend(d.unreadable);
    }
    out.candidates.sort();
    out.candidates.dedup();
    out.errors.sort();
    out.errors.dedup();
    out.unreadable.sort();
    out.unreadable.dedup();
    out
}

/// Python extension modules and wheel-bundled libraries under one package
/// directory (a virtualenv's site-packages, a `python-path` entry).
pub fn python_packages(root: &Root, dir: &Path) -> Discovery {
    match root.resolve(dir) {
        Ok((canonical, Kind::Directory)) => {
            let mut d = walk(root, &canonical, Place::Packages);
            d.candidates.sort();
            d.errors.sort();
            d.unreadable.sort();
            d
        }
        _ => Discovery::default(),
    }
}

/// A Python installation of the root: its prefix (`sys.exec_prefix`, the
/// directory above `lib/pythonX.Y`) and its `X.Y`, one per `lib-dynload`
/// directory of the places discovery looks in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Installation {
    pub prefix: PathBuf,
    pub version: String,
}

/// Every Python installation of the root, by its `lib-dynload` directory
/// in the places discovery looks in, sorted and without duplicates: what a
/// static libpython that names no prefix of its own may be guessed to use.
pub fn python_installations(root: &Root) -> Vec<Installation> {
    let mut out: Vec<Installation> = DYNLOAD_DIRS
        .iter()
        .flat_map(|pattern| root.glob(pattern.as_bytes()))
        .filter_map(|dir| {
            let dir = PathBuf::from(std::ffi::OsString::from_vec(dir));
            if !root.is_dir(&dir) {
                return None;
            }
            let lib = dir.parent()?;
            let version = lib
                .file_name()?
                .to_str()?
                .strip_prefix("python")?
                .to_string();
            let prefix = lib.parent()?.parent()?.to_path_buf();
            let ok = version.split('.').count() == 2
                && version
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            ok.then_some(Installation { prefix, version })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn walk(root: &Root, dir: &Path, place: Place) -> Discovery {
    let mut out = Discovery::default();
    let depth = match place {
        Place::Packages => MAX_PACKAGE_DEPTH,
        _ => 1,
    };
    // Through the root, so overlays' files are seen as installed.
    for (path, kind) in root.walk_tree(dir, depth) {
        let kind = match kind {
            Ok(k) => k,
            Err(e) => {
                out.errors
                    .push((path, format!("cannot read directory: {e}")));
                continue;
            }
        };
        if kind == Kind::Directory {
            continue;
        }
        let Some(name) = path.file_name().map(OsStr::as_bytes) else {
            continue;
        };
        let role = match place {
            Place::Httpd => {
                if !HTTPD_NAMES.iter().any(|n| n.as_bytes() == name) {
                    continue;
                }
                Role::Httpd
            }
            Place::Flat(role) => {
                if !name.ends_with(b".so") {
                    continue;
                }
                role
            }
            Place::Packages => match package_role(&path, name) {
                Some(role) => role,
                None => continue,
            },
        };
        if let Kind::Other(what) = kind {
            if what != "symlink" {
                out.unreadable.push((
                    Candidate { path, role },
                    format!("not a regular file ({what})"),
                ));
                continue;
            }
        }
        out.candidates.push(Candidate { path, role });
    }
    out
}

/// In a Python package tree: extension modules are `*.so`; the libraries
/// wheels bundle (`<pkg>.libs/`, `<pkg>/.libs/`) are `*.so*` there.
fn package_role(path: &Path, name: &[u8]) -> Option<Role> {
    let parent = path.parent()?.file_name()?.as_bytes();
    let in_libs = parent == b".libs" || parent.ends_with(b".libs");
    if in_libs {
        return bstr::ByteSlice::find(name, b".so").map(|_| Role::Library);
    }
    name.ends_with(b".so").then_some(Role::PythonExtension)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wheels bundle libraries in `<pkg>.libs/` (auditwheel) or
    /// `<pkg>/.libs/` (older tools); everything else `*.so` is a module.
    #[test]
    fn package_roles() {
        let role = |p: &str| {
            let p = Path::new(p);
            package_role(p, p.file_name().unwrap().as_bytes())
        };
        assert_eq!(
            role("/sp/numpy.libs/libopenblas-1a2b3c4d.so.0.3"),
            Some(Role::Library)
        );
        assert_eq!(role("/sp/pkg/.libs/libfoo.so"), Some(Role::Library));
        assert_eq!(
            role("/sp/pkg/_core.cpython-311-x86_64-linux-gnu.so"),
            Some(Role::PythonExtension)
        );
        assert_eq!(role("/sp/pkg/_core.abi3.so"), Some(Role::PythonExtension));
        assert_eq!(role("/sp/pkg/data.txt"), None);
        assert_eq!(role("/sp/pkg/libfoo.so.1"), None);
    }
}
