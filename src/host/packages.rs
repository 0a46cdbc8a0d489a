//! Which package owns a file, from the root's package database, never by
//! running the package manager: Debian/Ubuntu's `/var/lib/dpkg/status` and
//! `info/*.list`. Only the files asked about are looked up, so a database of
//! 100,000 paths costs one read of each list and a few path resolutions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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
}
