//! Which package owns a file, from the root's package database, never by
//! running the package manager: Debian/Ubuntu's `/var/lib/dpkg/status` and
//! `info/*.list`, Alpine's `/lib/apk/db/installed`, and the RPM database of
//! RHEL, Fedora and SUSE in its SQLite form (`rpmdb.sqlite`, read-only and
//! immutable, so the audit writes nothing beside it). The Berkeley DB and
//! ndb formats of older releases are recognised but not read: their
//! packages are "unknown". Only the files asked about are looked up, so a
//! database of 100,000 paths costs one read and a few path resolutions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use std::os::unix::ffi::OsStringExt;

use bstr::ByteSlice;
use serde::{Deserialize, Serialize};

use crate::root::Root;

/// A package and its installed version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: String,
}

/// Largest status or list file read.
const MAX_DB_FILE: u64 = 64 << 20;

const DPKG: &str = "/var/lib/dpkg";

/// The owners found, and which databases they come from.
#[derive(Debug, Default)]
pub struct Owners {
    pub by_file: BTreeMap<PathBuf, Package>,
    /// The databases read (`dpkg`, `apk`, `rpm`), or why one could not be
    /// (`rpm: Berkeley DB, not read`); empty when the root has none.
    pub databases: Vec<String>,
}

/// The owners of `files` (canonical inner paths) by every package database
/// the root has; files no installed package lists are absent. Where two
/// databases claim a file, dpkg's answer wins, then apk's.
pub fn owners(root: &Root, files: &BTreeSet<PathBuf>) -> Owners {
    let mut out = Owners::default();
    if root.kind(&Path::new(DPKG).join("status")).is_some() {
        out.databases.push("dpkg".into());
        out.by_file = dpkg_owners(root, files);
    }
    if root.kind(Path::new(APK)).is_some() {
        out.databases.push("apk".into());
        for (f, p) in apk_owners(root, files) {
            out.by_file.entry(f).or_insert(p);
        }
    }
    match rpm_owners(root, files) {
        Rpm::None => {}
        Rpm::Read(found) => {
            out.databases.push("rpm".into());
            for (f, p) in found {
                out.by_file.entry(f).or_insert(p);
            }
        }
        Rpm::Unread(why) => out.databases.push(format!("rpm: {why}")),
    }
    out
}

/// The owners of `files` (canonical inner paths) by the root's dpkg
/// database; files no installed package lists are absent.
pub fn dpkg_owners(root: &Root, files: &BTreeSet<PathBuf>) -> BTreeMap<PathBuf, Package> {
    let mut out = BTreeMap::new();
    let versions = dpkg_versions(root);
    if versions.is_empty() {
        return out;
    }
    let wanted: BTreeSet<&[u8]> = files
        .iter()
        .filter_map(|f| f.file_name())
        .map(|n| n.as_encoded_bytes())
        .collect();
    let info = Path::new(DPKG).join("info");
    let Ok(names) = root.read_dir(&info) else {
        return out;
    };
    let mut names: Vec<String> = names
        .iter()
        .filter_map(|n| n.to_str())
        .filter_map(|n| n.strip_suffix(".list"))
        .map(str::to_string)
        .collect();
    names.sort();
    for pkg in names {
        // `libc6:amd64` for Multi-Arch: same packages.
        let name = pkg.split(':').next().unwrap_or(&pkg).to_string();
        let Some(version) = versions.get(&pkg).or_else(|| versions.get(&name)) else {
            continue;
        };
        let Ok(list) = root.read(&info.join(format!("{pkg}.list")), MAX_DB_FILE) else {
            continue;
        };
        for line in list.lines() {
            let base = line.rsplit(|&b| b == b'/').next().unwrap_or_default();
            if !wanted.contains(base) {
                continue;
            }
            // The list names files as the package ships them (/lib/...
            // under merged /usr): resolve inside the root.
            let listed =
                Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(line));
            let Ok((canonical, _)) = root.resolve(listed) else {
                continue;
            };
            if files.contains(&canonical) {
                out.entry(canonical).or_insert_with(|| Package {
                    name: name.clone(),
                    version: version.clone(),
                });
            }
        }
    }
    out
}

/// Installed packages' versions from `status`, by `name` and
/// `name:arch`.
fn dpkg_versions(root: &Root) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(text) = root.read(&Path::new(DPKG).join("status"), MAX_DB_FILE) else {
        return out;
    };
    for para in text.split_str("\n\n") {
        let mut name = None;
        let mut arch = None;
        let mut version = None;
        let mut installed = false;
        for line in para.lines() {
            let Some((key, value)) = line.split_once_str(":") else {
                continue;
            };
            let value = value.trim().to_str_lossy().into_owned();
            match key {
                b"Package" => name = Some(value),
                b"Architecture" => arch = Some(value),
                b"Version" => version = Some(value),
                b"Status" => installed = value.ends_with(" installed"),
                _ => {}
            }
        }
        if let (true, Some(n), Some(v)) = (installed, name, version) {
            if let Some(a) = arch {
                out.insert(format!("{n}:{a}"), v.clone());
            }
            out.insert(n, v);
        }
    }
    out
}

const APK: &str = "/lib/apk/db/installed";

/// Alpine: blank-line separated records; `P:` name, `V:` version, `F:` a
/// directory (relative to `/`), `R:` a file in the last `F:`.
fn apk_owners(root: &Root, files: &BTreeSet<PathBuf>) -> BTreeMap<PathBuf, Package> {
    let mut out = BTreeMap::new();
    let Ok(text) = root.read(Path::new(APK), MAX_DB_FILE) else {
        return out;
    };
    let wanted = wanted_names(files);
    for record in text.split_str("\n\n") {
        let (mut name, mut version) = (None, None);
        let mut listed: Vec<PathBuf> = Vec::new();
        let mut dir: &[u8] = b"";
        for line in record.lines() {
            let Some((key, value)) = line.split_at_checked(2) else {
                continue;
            };
            match key {
                b"P:" => name = Some(value.to_str_lossy().into_owned()),
                b"V:" => version = Some(value.to_str_lossy().into_owned()),
                b"F:" => dir = value,
                b"R:" if wanted.contains(value) => {
                    let mut p = b"/".to_vec();
                    if !dir.is_empty() {
                        p.extend_from_slice(dir);
                        p.push(b'/');
                    }
                    p.extend_from_slice(value);
                    listed.push(PathBuf::from(std::ffi::OsString::from_vec(p)));
                }
                _ => {}
            }
        }
        if let (Some(n), Some(v)) = (name, version) {
            claim(
                root,
                files,
                listed,
                &Package {
                    name: n,
                    version: v,
                },
                &mut out,
            );
        }
    }
    out
}

/// The file names of the files asked about, to skip the rest cheaply.
fn wanted_names(files: &BTreeSet<PathBuf>) -> BTreeSet<&[u8]> {
    files
        .iter()
        .filter_map(|f| f.file_name())
        .map(|n| n.as_encoded_bytes())
        .collect()
}

/// Records `package` as the owner of each listed path (as the package
/// names it, resolved inside the root) that is one of `files`.
fn claim(
    root: &Root,
    files: &BTreeSet<PathBuf>,
    listed: Vec<PathBuf>,
    package: &Package,
    out: &mut BTreeMap<PathBuf, Package>,
) {
    for p in listed {
        if let Ok((canonical, _)) = root.resolve(&p) {
            if files.contains(&canonical) {
                out.entry(canonical).or_insert_with(|| package.clone());
            }
        }
    }
}

/// The RPM database, where newer releases keep it and where older ones
/// did (`/var/lib/rpm` is often a link to the first).
const RPM_DIRS: [&str; 2] = ["/usr/lib/sysimage/rpm", "/var/lib/rpm"];

enum Rpm {
    None,
    Read(BTreeMap<PathBuf, Package>),
    Unread(&'static str),
}

fn rpm_owners(root: &Root, files: &BTreeSet<PathBuf>) -> Rpm {
    for dir in RPM_DIRS {
        let dir = Path::new(dir);
        let Ok(file) = root.open(&dir.join("rpmdb.sqlite")) else {
            if root.kind(&dir.join("Packages")).is_some() {
                return Rpm::Unread("Berkeley DB (Packages), not read: packages unknown");
            }
            if root.kind(&dir.join("Packages.db")).is_some() {
                return Rpm::Unread("ndb (Packages.db), not read: packages unknown");
            }
            continue;
        };
        return match rpm_sqlite(root, files, &file.file) {
            Ok(found) => Rpm::Read(found),
            Err(_) => Rpm::Unread("rpmdb.sqlite could not be read: packages unknown"),
        };
    }
    Rpm::None
}

/// Reads the `Packages` table of an rpmdb.sqlite the root opened (through
/// its descriptor, so the file read is the one confined to the root),
/// immutable: SQLite takes no lock and writes no journal beside it.
fn rpm_sqlite(
    root: &Root,
    files: &BTreeSet<PathBuf>,
    db: &std::fs::File,
) -> rusqlite::Result<BTreeMap<PathBuf, Package>> {
    use rusqlite::{Connection, OpenFlags};
    use std::os::fd::AsRawFd;
    let uri = format!("file:/proc/self/fd/{}?immutable=1", db.as_raw_fd());
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let wanted = wanted_names(files);
    let mut out = BTreeMap::new();
    let mut stmt = conn.prepare("SELECT blob FROM Packages ORDER BY hnum")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let blob: Vec<u8> = row.get(0)?;
        // A corrupt header is one package less, not a failed audit.
        let Some(h) = rpm::Header::parse(&blob) else {
            continue;
        };
        let Some(package) = h.package() else { continue };
        let listed = h.files(&wanted);
        claim(root, files, listed, &package, &mut out);
    }
    Ok(out)
}

/// The RPM header format (rpm's `headerImport`): entry count and data
/// length (big-endian u32), then 16-byte entries (tag, type, offset,
/// count), then the data they point into. The database keeps it without
/// the lead and magic of a package file. Every offset and count is checked
/// against the blob.
mod rpm {
    use std::os::unix::ffi::OsStringExt;
    use std::path::PathBuf;

    use super::Package;

    const NAME: u32 = 1000;
    const VERSION: u32 = 1001;
    const RELEASE: u32 = 1002;
    const EPOCH: u32 = 1003;
    const DIRINDEXES: u32 = 1116;
    const BASENAMES: u32 = 1117;
    const DIRNAMES: u32 = 1118;

    const INT32: u32 = 4;
    const STRING: u32 = 6;
    const STRING_ARRAY: u32 = 8;
    const I18NSTRING: u32 = 9;

    pub struct Header<'a> {
        entries: Vec<(u32, u32, usize, usize)>,
        data: &'a [u8],
    }

    fn be32(b: &[u8], at: usize) -> Option<u32> {
        let w = b.get(at..at.checked_add(4)?)?;
        Some(u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
    }

    impl<'a> Header<'a> {
        pub fn parse(blob: &'a [u8]) -> Option<Header<'a>> {
            let il = usize::try_from(be32(blob, 0)?).ok()?;
            let dl = usize::try_from(be32(blob, 4)?).ok()?;
            let start = il.checked_mul(16)?.checked_add(8)?;
            let data = blob.get(start..start.checked_add(dl)?)?;
            let mut entries = Vec::with_capacity(il.min(blob.len() / 16));
            for i in 0..il {
                let at = 8 + i * 16;
                let tag = be32(blob, at)?;
                let kind = be32(blob, at + 4)?;
                let offset = usize::try_from(be32(blob, at + 8)?).ok()?;
                let count = usize::try_from(be32(blob, at + 12)?).ok()?;
                entries.push((tag, kind, offset, count));
            }
            Some(Header { entries, data })
        }

        fn entry(&self, tag: u32) -> Option<(u32, usize, usize)> {
            self.entries
                .iter()
                .find(|e| e.0 == tag)
                .map(|&(_, kind, offset, count)| (kind, offset, count))
        }

        /// `count` NUL-terminated strings from `offset`.
        fn strings(&self, tag: u32) -> Option<Vec<&'a [u8]>> {
            let (kind, offset, count) = self.entry(tag)?;
            if !matches!(kind, STRING | STRING_ARRAY | I18NSTRING) {
                return None;
            }
            let count = if kind == STRING { 1 } else { count };
            let mut rest = self.data.get(offset..)?;
            // Each string takes at least its NUL: a bigger count is corrupt.
            if count > rest.len() {
                return None;
            }
            let mut out = Vec::with_capacity(count);
            for _ in 0..count {
                let end = rest.iter().position(|&b| b == 0)?;
                out.push(rest.get(..end)?);
                rest = rest.get(end + 1..)?;
            }
            Some(out)
        }

        fn string(&self, tag: u32) -> Option<String> {
            let s = *self.strings(tag)?.first()?;
            Some(String::from_utf8_lossy(s).into_owned())
        }

        fn int32s(&self, tag: u32) -> Option<Vec<u32>> {
            let (kind, offset, count) = self.entry(tag)?;
            if kind != INT32 || count > self.data.len() / 4 {
                return None;
            }
            (0..count)
                .map(|i| be32(self.data, offset.checked_add(i * 4)?))
                .collect()
        }

        /// Name and `[EPOCH:]VERSION-RELEASE`, as `rpm -q` shows them.
        pub fn package(&self) -> Option<Package> {
            let name = self.string(NAME)?;
            let mut version = format!("{}-{}", self.string(VERSION)?, self.string(RELEASE)?);
            if let Some(epoch) = self.int32s(EPOCH).and_then(|e| e.first().copied()) {
                version = format!("{epoch}:{version}");
            }
            Some(Package { name, version })
        }

        /// The package's files (DIRNAMES[DIRINDEXES[i]] + BASENAMES[i])
        /// whose base name is one of `wanted`.
        pub fn files(&self, wanted: &std::collections::BTreeSet<&[u8]>) -> Vec<PathBuf> {
            let (Some(base), Some(dirs), Some(index)) = (
                self.strings(BASENAMES),
                self.strings(DIRNAMES),
                self.int32s(DIRINDEXES),
            ) else {
                return Vec::new();
            };
            base.iter()
                .zip(&index)
                .filter(|(b, _)| wanted.contains(*b))
                .filter_map(|(b, &i)| {
                    let dir = dirs.get(usize::try_from(i).ok()?)?;
                    let mut p = dir.to_vec();
                    p.extend_from_slice(b);
                    Some(PathBuf::from(std::ffi::OsString::from_vec(p)))
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A root with a status file and two lists: one file under merged
    /// /usr's /lib alias, one not installed (status deinstall).
    #[test]
    fn owners_from_status_and_lists() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        std::fs::create_dir_all(r.join("usr/lib/x86_64-linux-gnu")).unwrap();
        std::os::unix::fs::symlink("usr/lib", r.join("lib")).unwrap();
        std::fs::write(r.join("usr/lib/x86_64-linux-gnu/libz.so.1.2.13"), b"x").unwrap();
        std::fs::write(r.join("usr/lib/x86_64-linux-gnu/libgone.so.1"), b"x").unwrap();
        std::fs::create_dir_all(r.join("var/lib/dpkg/info")).unwrap();
        std::fs::write(
            r.join("var/lib/dpkg/status"),
            "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13.dfsg-1\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n",
        )
        .unwrap();
        std::fs::write(
            r.join("var/lib/dpkg/info/zlib1g:amd64.list"),
            "/.\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libz.so.1.2.13\n",
        )
        .unwrap();
        std::fs::write(
            r.join("var/lib/dpkg/info/gone.list"),
            "/usr/lib/x86_64-linux-gnu/libgone.so.1\n",
        )
        .unwrap();
        let root = Root::new(r).unwrap();
        let files: BTreeSet<PathBuf> = [
            "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
            "/usr/lib/x86_64-linux-gnu/libgone.so.1",
        ]
        .into_iter()
        .map(PathBuf::from)
        .collect();
        let owners = dpkg_owners(&root, &files);
        assert_eq!(owners.len(), 1, "{owners:?}");
        assert_eq!(
            owners.get(Path::new("/usr/lib/x86_64-linux-gnu/libz.so.1.2.13")),
            Some(&Package {
                name: "zlib1g".into(),
                version: "1:1.2.13.dfsg-1".into()
            })
        );
    }

    /// Alpine's installed database as apk writes it (apk-tools'
    /// `apk_db_write_fdb`: `P:`/`V:` per package, `F:` directories
    /// relative to `/`, `R:` files in the last `F:`), with a file reached
    /// through a merged-/usr link and a package listed without a version.
    #[test]
    fn owners_from_apk_installed() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        std::fs::create_dir_all(r.join("usr/lib/apache2")).unwrap();
        std::fs::create_dir_all(r.join("usr/lib/php82/modules")).unwrap();
        std::os::unix::fs::symlink("usr/lib", r.join("lib")).unwrap();
        for f in [
            "usr/lib/apache2/mod_php82.so",
            "usr/lib/php82/modules/readline.so",
            "usr/lib/libedit.so.0.0.72",
        ] {
            std::fs::write(r.join(f), b"x").unwrap();
        }
        std::fs::create_dir_all(r.join("lib/apk/db")).unwrap();
        std::fs::write(
            r.join("lib/apk/db/installed"),
            "C:Q1abc=
P:php82-apache2
V:8.2.26-r0
A:x86_64
F:usr
F:usr/lib
F:usr/lib/apache2
R:mod_php82.so
a:0:0:755
Z:Q1x=

             C:Q1def=
P:php82-readline
V:8.2.26-r0
F:usr/lib/php82/modules
R:readline.so

             C:Q1ghi=
P:libedit
V:20240808.3.1-r0
F:lib
R:libedit.so.0.0.72

             P:broken
F:usr/lib
R:libedit.so.0.0.72
",
        )
        .unwrap();
        let root = Root::new(r).unwrap();
        let files: BTreeSet<PathBuf> = [
            "/usr/lib/apache2/mod_php82.so",
            "/usr/lib/php82/modules/readline.so",
            "/usr/lib/libedit.so.0.0.72",
        ]
        .into_iter()
        .map(PathBuf::from)
        .collect();
        let found = owners(&root, &files);
        assert_eq!(found.databases, ["apk"]);
        let name = |p: &str| {
            found
                .by_file
                .get(Path::new(p))
                .map(|p| (p.name.as_str(), p.version.as_str()))
        };
        assert_eq!(
            name("/usr/lib/apache2/mod_php82.so"),
            Some(("php82-apache2", "8.2.26-r0"))
        );
        assert_eq!(
            name("/usr/lib/php82/modules/readline.so"),
            Some(("php82-readline", "8.2.26-r0"))
        );
        assert_eq!(
            name("/usr/lib/libedit.so.0.0.72"),
            Some(("libedit", "20240808.3.1-r0"))
        );
    }

    /// Corrupt RPM headers: counts and offsets past the blob are refused,
    /// never trusted for an allocation or a read.
    #[test]
    fn corrupt_rpm_headers_are_refused() {
        assert!(rpm::Header::parse(b"").is_none());
        assert!(rpm::Header::parse(&[0xff; 8]).is_none());
        // One entry claiming a string array of 2^32-1 strings at offset 0.
        let mut blob = vec![0, 0, 0, 1, 0, 0, 0, 4];
        blob.extend_from_slice(&[
            0, 0, 0x04, 0x5d, 0, 0, 0, 8, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
        ]);
        blob.extend_from_slice(b"a\0b\0");
        let h = rpm::Header::parse(&blob).unwrap();
        assert!(h.files(&BTreeSet::from([&b"a"[..]])).is_empty());
        assert!(h.package().is_none());
    }
}
