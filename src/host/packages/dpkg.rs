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

/// A package of dpkg's `status`, with what a what-if needs of it: what it
/// satisfies ([`super::depends`]) and what its conffiles were when dpkg
/// installed them (a conffile the administrator changed is kept on
/// upgrade).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Installed {
    pub package: super::depends::Candidate,
    /// `install ok installed`, or one of the trigger states dpkg counts
    /// as installed for dependencies; not a package half-installed, or
    /// removed with its configuration kept (whose conffiles still count).
    pub installed: bool,
    pub conffiles: Vec<Conffile>,
}

/// A line of a package's `Conffiles` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conffile {
    pub path: String,
    /// The MD5 (hex) of the file as the package installed it.
    pub md5: String,
    /// dpkg keeps an obsolete conffile, no longer shipped, as it is.
    pub obsolete: bool,
}

/// Every package paragraph of the root's dpkg `status`, in file order
/// (read within [`budget::PACKAGE_DB_FILE`]); `Ok(empty)` when the root
/// has no dpkg database.
pub fn installed(root: &Root) -> Result<Vec<Installed>, String> {
    let path = Path::new(DPKG).join("status");
    if root.kind(&path).is_none() {
        return Ok(Vec::new());
    }
    let text = unread(read_db_file(root, &path, u64::MAX))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let text = text.to_str_lossy();
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let mut p = Installed::default();
        for (key, value) in crate::root::deb::fields(para) {
            let c = &mut p.package;
            match key.to_ascii_lowercase().as_str() {
                "package" => c.name = value,
                "version" => c.version = value,
                "architecture" => c.architecture = value,
                "multi-arch" => c.multi_arch = value,
                "depends" => c.depends = value,
                "pre-depends" => c.pre_depends = value,
                "provides" => c.provides = value,
                "status" => {
                    p.installed = matches!(
                        value.split_whitespace().last(),
                        Some("installed" | "triggers-pending" | "triggers-awaited")
                    );
                }
                "conffiles" => {
                    p.conffiles = value
                        .lines()
                        .filter_map(|l| {
                            let mut w = l.split_whitespace();
                            let (path, md5) = (w.next()?, w.next()?);
                            Some(Conffile {
                                path: path.to_string(),
                                md5: md5.to_string(),
                                obsolete: w.any(|f| f == "obsolete"),
                            })
                        })
                        .collect();
                }
                _ => {}
            }
        }
        if !p.package.name.is_empty() {
            out.push(p);
        }
    }
    Ok(out)
}

/// The files dpkg lists for an installed package (`info/NAME:ARCH.list`,
/// else `info/NAME.list`), one inner path each; `None` when there is no
/// list, or it is over [`budget::PACKAGE_DB_FILE`].
pub fn installed_list(root: &Root, name: &str, arch: &str) -> Option<Vec<u8>> {
    let info = Path::new(DPKG).join("info");
    let safe = |s: &str| !s.is_empty() && !s.contains('/') && s != "." && s != "..";
    if !safe(name) {
        return None;
    }
    let mut files = vec![format!("{name}.list")];
    if safe(arch) {
        files.insert(0, format!("{name}:{arch}.list"));
    }
    files
        .into_iter()
        .find_map(|f| match read_db_file(root, &info.join(f), u64::MAX) {
            DbFile::Read(b) => Some(b),
            _ => None,
        })
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

    /// Status paragraphs with what a what-if needs: states, multi-line
    /// Conffiles, Provides; lists by NAME:ARCH first.
    #[test]
    fn status_for_the_whatif() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let root = Root::new(r).unwrap();
        assert_eq!(installed(&root), Ok(Vec::new()));
        write(
            r,
            "/var/lib/dpkg/status",
            b"Package: apache2\nStatus: install ok installed\nVersion: 2.4.71-1~deb12u1\nArchitecture: amd64\nProvides: httpd, httpd-cgi\nConffiles:\n /etc/apache2/apache2.conf 354c9e6d2b88a0a3e0548f853840674c\n /etc/apache2/old.conf 0123 obsolete\nDescription: x\n y\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\npackage: lower\nstatus: install ok triggers-pending\nversion: 2\n",
        );
        write(r, "/var/lib/dpkg/info/libc6:amd64.list", b"/a\n");
        write(r, "/var/lib/dpkg/info/libc6.list", b"/b\n");
        let root = Root::new(r).unwrap();
        let all = installed(&root).unwrap();
        assert_eq!(all.len(), 3);
        assert!(all[0].installed && !all[1].installed && all[2].installed);
        assert_eq!(all[0].package.provides, "httpd, httpd-cgi");
        assert_eq!(
            all[0].conffiles,
            vec![
                Conffile {
                    path: "/etc/apache2/apache2.conf".into(),
                    md5: "354c9e6d2b88a0a3e0548f853840674c".into(),
                    obsolete: false
                },
                Conffile {
                    path: "/etc/apache2/old.conf".into(),
                    md5: "0123".into(),
                    obsolete: true
                }
            ]
        );
        assert_eq!(all[2].package.name, "lower");
        assert_eq!(installed_list(&root, "libc6", "amd64").unwrap(), b"/a\n");
        assert_eq!(installed_list(&root, "libc6", "").unwrap(), b"/b\n");
        assert_eq!(installed_list(&root, "../x", "amd64"), None);
    }
}
