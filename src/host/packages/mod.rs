//! Which package owns a file, from the root's package database, never by
//! running the package manager: Debian/Ubuntu's `/var/lib/dpkg/status` and
//! `info/*.list`, Alpine's `/lib/apk/db/installed`, and the RPM database of
//! RHEL, Fedora and SUSE in its SQLite form (`rpmdb.sqlite`, copied into
//! SQLite's memory from the descriptor the root opened, so that SQLite
//! opens no file and the audit writes nothing beside it). The Berkeley DB
//! and ndb formats of older releases and of SUSE are recognised but not
//! read: their packages are "unknown". Only the files asked about are
//! looked up, so a database of 100,000 paths costs one read and a few
//! path resolutions.
//!
//! Each database is a module of its own (`dpkg`, `apk`, `rpm`) with a type
//! that implements `Database` (find it in a root, name the owners of the
//! files asked about); `DATABASES` lists them in the order they are
//! consulted, and the path lookups (`Lookups`, `claim`) and budgets are
//! shared. A new database is a new module and one entry in that list.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::budget;
use crate::root::{Kind, Root};

mod apk;
pub mod debversion;
pub mod depends;
mod dpkg;
pub mod requires;
mod rpm;
pub mod rpmvercmp;

pub use dpkg::{Conffile, Installed, dpkg_owners, installed, installed_list};
pub use rpm::{InstalledRpm, installed_rpms};

/// A package and its installed version.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Package {
    pub name: String,
    pub version: String,
}

/// The owners found, and which databases they come from.
#[derive(Debug, Default)]
pub struct Owners {
    pub by_file: BTreeMap<PathBuf, Package>,
    /// The databases read (`dpkg`, `apk`, `rpm`), or why one could not be
    /// (`rpm: Berkeley DB, not read`), and what of one was not read
    /// (`dpkg: budget exceeded: …`); empty when the root has none.
    pub databases: Vec<String>,
}

/// The package databases a root may have, in the order they are consulted:
/// where two list a file, the first one's answer wins. Adding a database
/// is a module with a type that implements [`Database`], and its line here.
const DATABASES: &[Detect] = &[detect::<dpkg::Dpkg>, detect::<apk::Apk>, detect::<rpm::Rpm>];

/// One kind of package database, as [`owners`] consults it: found in the
/// root by [`Database::detect`], then asked only about the files of one
/// scan, through the scan's shared [`Lookups`] (which resolve and budget
/// the paths it lists, see [`claim`]).
trait Database {
    /// Its name in `host.packages` (`dpkg`), also before its notes
    /// (`dpkg: …`).
    fn name(&self) -> &'static str;

    /// The root's database of this kind, if it has one. One that is there
    /// but cannot be read is found too: its [`Answer::Unread`] says why.
    fn detect(root: &Root) -> Option<Self>
    where
        Self: Sized;

    /// The owners of `files` (canonical inner paths) it lists; files no
    /// installed package lists are absent.
    fn owners(&self, at: &Lookups<'_>, files: &BTreeSet<PathBuf>) -> Answer;
}

/// What a database answered.
enum Answer {
    /// Read, perhaps in part: the owners, and notes on what of it was not
    /// read or why some owners are unknown. The database is listed in
    /// `host.packages`, each note after it.
    Owners {
        by_file: BTreeMap<PathBuf, Package>,
        notes: Vec<String>,
    },
    /// Not read at all: only why is listed (`rpm: …`), not the database.
    Unread(String),
}

/// A [`DATABASES`] entry: the root's database of one kind, if any.
type Detect = fn(&Root) -> Option<Box<dyn Database>>;

fn detect<D: Database + 'static>(root: &Root) -> Option<Box<dyn Database>> {
    D::detect(root).map(|db| Box::new(db) as Box<dyn Database>)
}

/// The owners of `files` (canonical inner paths) by every package database
/// the root has, in `DATABASES` order; files no installed package lists
/// are absent. Where two databases claim a file, dpkg's answer wins, then
/// apk's.
pub fn owners(root: &Root, files: &BTreeSet<PathBuf>) -> Owners {
    let mut out = Owners::default();
    let at = Lookups::new(root);
    for find in DATABASES {
        let Some(db) = find(root) else { continue };
        let name = db.name();
        match db.owners(&at, files) {
            Answer::Owners { by_file, notes } => {
                out.databases.push(name.into());
                out.databases
                    .extend(notes.into_iter().map(|n| format!("{name}: {n}")));
                for (f, p) in by_file {
                    out.by_file.entry(f).or_insert(p);
                }
            }
            Answer::Unread(why) => out.databases.push(format!("{name}: {why}")),
        }
    }
    out.databases.extend(at.note());
    out
}

/// A package database file, or why it was not read.
enum DbFile {
    Read(Vec<u8>),
    /// Absent, not a regular file, or a read error: as if not there.
    Unreadable,
    /// Larger than [`budget::PACKAGE_DB_FILE`].
    TooLarge,
    /// Larger than what is left of a total budget.
    OverTotal,
}

/// Reads a whole database file within [`budget::PACKAGE_DB_FILE`] and
/// `left`, judged by its size before anything is read (and no more than
/// that size read, should it grow meanwhile).
fn read_db_file(root: &Root, path: &Path, left: u64) -> DbFile {
    use std::io::Read;
    let Ok(f) = root.open(path) else {
        return DbFile::Unreadable;
    };
    if f.size > budget::PACKAGE_DB_FILE {
        return DbFile::TooLarge;
    }
    if f.size > left {
        return DbFile::OverTotal;
    }
    let mut buf = Vec::new();
    match f.file.take(f.size).read_to_end(&mut buf) {
        Ok(_) => DbFile::Read(buf),
        Err(_) => DbFile::Unreadable,
    }
}

/// Why a database, or the one file that is all of it, was not read: a
/// note gives the message after the database's name (`dpkg: status not
/// read: unreadable: packages unknown`).
#[derive(Debug, thiserror::Error)]
enum Error {
    /// Absent, not a regular file, or a read error.
    #[error("unreadable")]
    Unreadable,
    /// A byte budget: `PACKAGE_DB_FILE`, `RPMDB_BYTES`, `RPMDB_HEAP`.
    #[error("{}", budget::exceeded(.0.name, budget::bytes(.0.value)))]
    Bytes(budget::Named),
    /// `RPMDB_VM_STEPS`: an SQLite statement interrupted.
    #[error("{}", budget::exceeded("RPMDB_VM_STEPS", budget::RPMDB_VM_STEPS))]
    Steps,
    #[error("{0}")]
    Io(std::io::Error),
    #[error("{0}")]
    Sqlite(rusqlite::Error),
    /// rpm's `Packages` is missing, or not a plain table that SQLite
    /// reads without running the database's code: what it is.
    #[error("no Packages table")]
    NoPackages,
    #[error("Packages is a {0}, not a table")]
    NotATable(String),
    #[error("Packages is a virtual table")]
    VirtualTable,
    #[error("Packages has generated columns")]
    GeneratedColumns,
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Sqlite(e)
    }
}

/// Why a single database file was not read, for a note.
fn unread(file: DbFile) -> Result<Vec<u8>, Error> {
    match file {
        DbFile::Read(bytes) => Ok(bytes),
        DbFile::TooLarge | DbFile::OverTotal => Err(Error::Bytes(budget::named!(PACKAGE_DB_FILE))),
        DbFile::Unreadable => Err(Error::Unreadable),
    }
}

/// The file names of the files asked about, to skip the rest cheaply.
fn wanted_names(files: &BTreeSet<PathBuf>) -> BTreeSet<&[u8]> {
    files
        .iter()
        .filter_map(|f| f.file_name())
        .map(|n| n.as_encoded_bytes())
        .collect()
}

/// Records `package` as the owner of each listed path that is one of
/// `files`.
fn claim(
    at: &Lookups<'_>,
    files: &BTreeSet<PathBuf>,
    listed: Vec<PathBuf>,
    package: &Package,
    out: &mut BTreeMap<PathBuf, Package>,
) {
    for p in listed {
        if let Some(canonical) = at.installed_at(&p) {
            if files.contains(&canonical) {
                out.entry(canonical).or_insert_with(|| package.clone());
            }
        }
    }
}

/// The directories packages list, resolved in the root once each, for
/// every database of one scan. Only a listed path whose name is a wanted
/// file's is looked up, but a list may name one file in millions of
/// directories: past [`budget::PACKAGE_PATH_LOOKUPS`] none is resolved.
struct Lookups<'r> {
    root: &'r Root,
    resolved: RefCell<FxHashMap<PathBuf, Option<PathBuf>>>,
    left: Cell<usize>,
    over: Cell<bool>,
}

impl<'r> Lookups<'r> {
    fn new(root: &'r Root) -> Lookups<'r> {
        Lookups {
            root,
            resolved: RefCell::default(),
            left: Cell::new(budget::PACKAGE_PATH_LOOKUPS),
            over: Cell::new(false),
        }
    }

    /// Where a path a package lists is in the root: its directory resolved
    /// (a package names `/lib/...` where merged /usr made `/lib` a link),
    /// its last component not. A package that lists a symlink owns the
    /// link, not the file it points to, which may be another package's
    /// (`rpm -qf` compares directories the same way, by fingerprint, and
    /// the name as it is); since `files` are canonical, a listed link
    /// never matches one.
    fn installed_at(&self, listed: &Path) -> Option<PathBuf> {
        // Longer than PATH_MAX: no file of the root can be there.
        if listed.as_os_str().len() > libc::PATH_MAX as usize {
            return None;
        }
        let name = listed.file_name()?;
        let parent = listed.parent()?;
        if let Some(dir) = self.resolved.borrow().get(parent) {
            return dir.as_ref().map(|d| d.join(name));
        }
        let Some(left) = self.left.get().checked_sub(1) else {
            self.over.set(true);
            return None;
        };
        self.left.set(left);
        let dir = match self.root.resolve(parent) {
            Ok((dir, Kind::Directory)) => Some(dir),
            _ => None,
        };
        let found = dir.as_ref().map(|d| d.join(name));
        self.resolved.borrow_mut().insert(parent.to_path_buf(), dir);
        found
    }

    /// The note for a scan that ran out of lookups.
    fn note(&self) -> Option<String> {
        self.over.get().then(|| {
            format!(
                "{}: some owners unknown",
                budget::exceeded("PACKAGE_PATH_LOOKUPS", budget::PACKAGE_PATH_LOOKUPS)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn write(root: &Path, file: &str, bytes: &[u8]) {
        let host = root.join(file.trim_start_matches('/'));
        std::fs::create_dir_all(host.parent().unwrap()).unwrap();
        std::fs::write(host, bytes).unwrap();
    }

    pub(super) fn paths(list: &[&str]) -> BTreeSet<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    pub(super) fn found<'a>(owners: &'a Owners, file: &str) -> Option<(&'a str, &'a str)> {
        owners
            .by_file
            .get(Path::new(file))
            .map(|p| (p.name.as_str(), p.version.as_str()))
    }

    /// A package whose list names a link owns the link, not the file it
    /// points to: dpkg's list of the link's package is read first here,
    /// and the file is still its own package's.
    #[test]
    fn a_listed_link_does_not_own_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        write(r, "/opt/vendor/lib/libq.so.1", b"x");
        std::fs::create_dir_all(r.join("usr/lib")).unwrap();
        std::os::unix::fs::symlink("/opt/vendor/lib/libq.so.1", r.join("usr/lib/libq.so.1"))
            .unwrap();
        write(
            r,
            "/var/lib/dpkg/status",
            b"Package: a-compat-links\nStatus: install ok installed\nVersion: 1\n\nPackage: vendor-libq\nStatus: install ok installed\nVersion: 2\n",
        );
        write(
            r,
            "/var/lib/dpkg/info/a-compat-links.list",
            b"/usr/lib/libq.so.1\n",
        );
        write(
            r,
            "/var/lib/dpkg/info/vendor-libq.list",
            b"/opt/vendor/lib/libq.so.1\n",
        );
        let root = Root::new(r).unwrap();
        let found_ = owners(&root, &paths(&["/opt/vendor/lib/libq.so.1"]));
        assert_eq!(
            found(&found_, "/opt/vendor/lib/libq.so.1"),
            Some(("vendor-libq", "2"))
        );
    }
}
