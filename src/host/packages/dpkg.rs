//! dpkg (Debian, Ubuntu): `/var/lib/dpkg/status` says what is installed
//! and its version, `info/<package>.list` what files each installed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use bstr::ByteSlice;

use super::{
    Answer, Database, DbFile, Error, Lookups, Package, read_db_file, unread, wanted_names,
};
use crate::budget;
use crate::root::Root;

const DPKG: &str = "/var/lib/dpkg";

/// A root with a dpkg `status` file.
pub(super) struct Dpkg;

impl Database for Dpkg {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn detect(root: &Root) -> Option<Dpkg> {
        root.kind(&Path::new(DPKG).join("status"))
            .is_some()
            .then_some(Dpkg)
    }

    fn owners(&self, at: &Lookups<'_>, files: &BTreeSet<PathBuf>) -> Answer {
        let (by_file, notes) = dpkg_lookup(at, files);
        Answer::Owners { by_file, notes }
    }
}

/// The owners of `files` (canonical inner paths) by the root's dpkg
/// database; files no installed package lists are absent. dpkg keeps no
/// index from files to packages, so each installed package's list is read
/// (in name order, the first to list a file owning it) until every file
/// has its owner or the scan's [`budget::PACKAGE_LISTS_PER_SCAN`] is
/// spent. Also notes on what was not read, and why.
pub fn dpkg_owners(
    root: &Root,
    files: &BTreeSet<PathBuf>,
) -> (BTreeMap<PathBuf, Package>, Vec<String>) {
    let at = Lookups::new(root);
    let (out, mut notes) = dpkg_lookup(&at, files);
    notes.extend(at.note());
    (out, notes)
}

fn dpkg_lookup(
    at: &Lookups<'_>,
    files: &BTreeSet<PathBuf>,
) -> (BTreeMap<PathBuf, Package>, Vec<String>) {
    let root = at.root;
    let mut out = BTreeMap::new();
    let mut notes = Vec::new();
    let versions = match dpkg_versions(root) {
        Ok(v) => v,
        Err(why) => {
            notes.push(format!("status not read: {why}: packages unknown"));
            return (out, notes);
        }
    };
    if versions.is_empty() || files.is_empty() {
        return (out, notes);
    }
    let wanted = wanted_names(files);
    let info = Path::new(DPKG).join("info");
    let Ok(names) = root.read_dir(&info) else {
        return (out, notes);
    };
    let mut names: Vec<String> = names
        .iter()
        .filter_map(|n| n.to_str())
        .filter_map(|n| n.strip_suffix(".list"))
        .map(str::to_string)
        .collect();
    names.sort();
    let mut left = budget::PACKAGE_LISTS_PER_SCAN;
    let mut too_large: Vec<String> = Vec::new();
    for pkg in names {
        // Every file has its owner: no later list can change that. Or
        // no more paths may be looked up.
        if out.len() == files.len() || at.over.get() {
            break;
        }
        // `libc6:amd64` for Multi-Arch: same packages.
        let name = pkg.split(':').next().unwrap_or(&pkg).to_string();
        let Some(version) = versions.get(&pkg).or_else(|| versions.get(&name)) else {
            continue;
        };
        let list = match read_db_file(root, &info.join(format!("{pkg}.list")), left) {
            DbFile::Read(list) => list,
            DbFile::Unreadable => continue,
            DbFile::TooLarge => {
                too_large.push(pkg);
                continue;
            }
            DbFile::OverTotal => {
                notes.push(format!(
                    "{}: lists from {pkg}.list on not read: their packages unknown",
                    budget::exceeded(
                        "PACKAGE_LISTS_PER_SCAN",
                        budget::bytes(budget::PACKAGE_LISTS_PER_SCAN)
                    )
                ));
                break;
            }
        };
        left -= list.len() as u64;
        for line in list.lines() {
            let base = line.rfind_byte(b'/').map_or(line, |i| &line[i + 1..]);
            if !wanted.contains(base) {
                continue;
            }
            let listed =
                Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(line));
            let Some(canonical) = at.installed_at(listed) else {
                if at.over.get() {
                    break;
                }
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
    if let Some(first) = too_large.first() {
        notes.push(format!(
            "{} list(s) not read, the first {first}.list: {}: their packages unknown",
            too_large.len(),
            budget::exceeded("PACKAGE_DB_FILE", budget::bytes(budget::PACKAGE_DB_FILE))
        ));
    }
    (out, notes)
}

/// Installed packages' versions from `status`, by `name` and
/// `name:arch`.
fn dpkg_versions(root: &Root) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    let path = Path::new(DPKG).join("status");
    let text = unread(read_db_file(root, &path, u64::MAX))?;
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
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::packages::tests::{paths, write};

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
        let (owners, notes) = dpkg_owners(&root, &files);
        assert_eq!(owners.len(), 1, "{owners:?}");
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(
            owners.get(Path::new("/usr/lib/x86_64-linux-gnu/libz.so.1.2.13")),
            Some(&Package {
                name: "zlib1g".into(),
                version: "1:1.2.13.dfsg-1".into()
            })
        );
    }

    /// A list larger than PACKAGE_DB_FILE is not read and one note names
    /// the budget; the other lists are read. Once every file has its
    /// owner, later lists are not even opened (the oversized one here
    /// would otherwise be noted again).
    #[test]
    fn oversized_lists_are_noted_and_later_lists_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        write(r, "/usr/lib/liba.so.1", b"x");
        write(
            r,
            "/var/lib/dpkg/status",
            b"Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: big\nStatus: install ok installed\nVersion: 1\n\nPackage: c\nStatus: install ok installed\nVersion: 1\n",
        );
        write(r, "/var/lib/dpkg/info/big.list", b"");
        let big = std::fs::File::options()
            .write(true)
            .open(r.join("var/lib/dpkg/info/big.list"))
            .unwrap();
        big.set_len(budget::PACKAGE_DB_FILE + 1).unwrap();
        write(r, "/var/lib/dpkg/info/c.list", b"/usr/lib/liba.so.1\n");
        let root = Root::new(r).unwrap();
        let (found, notes) = dpkg_owners(&root, &paths(&["/usr/lib/liba.so.1"]));
        assert_eq!(
            found
                .get(Path::new("/usr/lib/liba.so.1"))
                .map(|p| p.name.as_str()),
            Some("c")
        );
        assert_eq!(
            notes,
            [
                "1 list(s) not read, the first big.list: budget exceeded: PACKAGE_DB_FILE (64 MiB): their packages unknown"
            ]
        );
        // a.list, read first, owns it now: big.list is never reached.
        write(r, "/var/lib/dpkg/info/a.list", b"/usr/lib/liba.so.1\n");
        let (found, notes) = dpkg_owners(&root, &paths(&["/usr/lib/liba.so.1"]));
        assert_eq!(
            found
                .get(Path::new("/usr/lib/liba.so.1"))
                .map(|p| p.name.as_str()),
            Some("a")
        );
        assert!(notes.is_empty(), "{notes:?}");
    }
}
