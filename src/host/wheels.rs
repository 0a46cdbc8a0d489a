//! Which Python distribution installed a file: the `RECORD` of each
//! `*.dist-info` directory in the `site-packages` (or `dist-packages`)
//! directories of the files asked about, as pip writes it (the
//! "Recording installed files" section of the wheel specification,
//! <https://packaging.python.org/en/latest/specifications/recording-installed-packages/>):
//! one CSV line per installed file, its path relative to that directory.
//!
//! A wheel's extension modules and the libraries auditwheel grafted into
//! `<dist>.libs/` are listed by one RECORD even where their directories'
//! names differ (`PIL/` and `pillow.libs/`, `pysqlite3/` and
//! `pysqlite3_binary.libs/`), so the rules can treat them as one thing a
//! sysadmin installs and removes. Only the files asked about are looked
//! up; each RECORD is read once, within the package database budgets.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use crate::budget;
use crate::host::packages::Package;
use crate::root::Root;

/// The distributions found, and what could not be read.
#[derive(Debug, Default)]
pub struct Wheels {
    /// File → the distribution whose RECORD lists it (name as the
    /// `.dist-info` directory spells it, `_` read as `-`; version).
    pub by_file: BTreeMap<PathBuf, Package>,
    /// (RECORD path, why it was not read).
    pub errors: Vec<(PathBuf, String)>,
}

/// The `site-packages` or `dist-packages` directory a path is in.
pub fn site_of(path: &Path) -> Option<PathBuf> {
    let mut site = PathBuf::new();
    for c in path.components() {
        site.push(c);
        if matches!(c, Component::Normal(n) if n == "site-packages" || n == "dist-packages") {
            return (site != path).then_some(site);
        }
    }
    None
}

/// The first field of a RECORD line (CSV: quoted when it holds a comma
/// or a quote, `""` inside quotes being one quote).
fn first_field(line: &[u8]) -> Vec<u8> {
    let Some(rest) = line.strip_prefix(b"\"") else {
        return line
            .split(|&b| b == b',')
            .next()
            .unwrap_or_default()
            .to_vec();
    };
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = rest.get(i) {
        if b == b'"' {
            if rest.get(i + 1) == Some(&b'"') {
                out.push(b'"');
                i += 2;
                continue;
            }
            break;
        }
        out.push(b);
        i += 1;
    }
    out
}

/// `site` joined with a RECORD path, `..` taken lexically.
fn join(site: &Path, rel: &Path) -> Option<PathBuf> {
    if rel.is_absolute() {
        return None;
    }
    let mut p = site.to_path_buf();
    for c in rel.components() {
        match c {
            Component::Normal(n) => p.push(n),
            Component::ParentDir => {
                p.pop();
            }
            _ => {}
        }
    }
    Some(p)
}

/// `name-version.dist-info` → (name with `_` read as `-`, version).
fn dist_of(dir: &OsStr) -> Option<Package> {
    let stem = dir.as_bytes().strip_suffix(b".dist-info")?;
    let stem = String::from_utf8_lossy(stem);
    let (name, version) = stem.split_once('-')?;
    (!name.is_empty() && !version.is_empty()).then(|| Package {
        name: name.replace('_', "-"),
        version: version.to_string(),
    })
}

/// The distributions of the `wanted` files that are in a site directory;
/// a hash set, as every line of every RECORD is looked up in it.
pub fn owners(root: &Root, wanted: &rustc_hash::FxHashSet<&Path>) -> Wheels {
    let mut out = Wheels::default();
    // In path order, whatever the set's.
    let sites: BTreeSet<PathBuf> = wanted.iter().filter_map(|f| site_of(f)).collect();
    let mut left = budget::PACKAGE_LISTS_PER_SCAN;
    for site in sites {
        let Ok(entries) = root.read_dir(&site) else {
            continue;
        };
        for dir in entries {
            let Some(dist) = dist_of(&dir) else { continue };
            let record = site.join(&dir).join("RECORD");
            if left == 0 {
                out.errors.push((
                    record,
                    budget::exceeded(
                        "PACKAGE_LISTS_PER_SCAN",
                        budget::bytes(budget::PACKAGE_LISTS_PER_SCAN),
                    ),
                ));
                return out;
            }
            let text = match root.read(&record, budget::named!(PACKAGE_DB_FILE)) {
                Ok(t) => t,
                Err(e) if e.is_absent() => continue,
                Err(e) => {
                    out.errors.push((record, e.to_string()));
                    continue;
                }
            };
            left = left.saturating_sub(text.len() as u64);
            for line in text.split(|&b| b == b'\n') {
                let field = first_field(line.strip_suffix(b"\r").unwrap_or(line));
                if field.is_empty() {
                    continue;
                }
                let Some(path) = join(&site, Path::new(OsStr::from_bytes(&field))) else {
                    continue;
                };
                if wanted.contains(path.as_path()) {
                    out.by_file.entry(path).or_insert_with(|| dist.clone());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_directories() {
        assert_eq!(
            site_of(Path::new(
                "/srv/app/venv/lib/python3.11/site-packages/PIL/_imaging.so"
            )),
            Some(PathBuf::from("/srv/app/venv/lib/python3.11/site-packages"))
        );
        assert_eq!(
            site_of(Path::new("/usr/lib/python3/dist-packages/x.so")),
            Some(PathBuf::from("/usr/lib/python3/dist-packages"))
        );
        assert_eq!(site_of(Path::new("/usr/lib/libx.so")), None);
        assert_eq!(site_of(Path::new("/usr/lib/site-packages")), None);
    }

    #[test]
    fn record_fields_and_names() {
        assert_eq!(
            first_field(b"PIL/_imaging.so,sha256=x,12"),
            b"PIL/_imaging.so"
        );
        assert_eq!(first_field(b"\"a,\"\"b\"\".so\",sha256=x,1"), b"a,\"b\".so");
        assert_eq!(
            dist_of(OsStr::new("psycopg2_binary-2.9.6.dist-info")),
            Some(Package {
                name: "psycopg2-binary".into(),
                version: "2.9.6".into()
            })
        );
        assert_eq!(dist_of(OsStr::new("lxml.libs")), None);
        assert_eq!(
            join(Path::new("/v/s/site-packages"), Path::new("../../bin/x")),
            Some(PathBuf::from("/v/bin/x"))
        );
        assert_eq!(join(Path::new("/s"), Path::new("/etc/passwd")), None);
    }

    /// A RECORD names the files of a wheel in two directories; a file no
    /// RECORD lists has no owner; an oversized RECORD is an error.
    #[test]
    fn owners_from_record() {
        let t = tempfile::tempdir().unwrap();
        let site = t.path().join("v/lib/python3.11/site-packages");
        for d in [
            "pysqlite3",
            "pysqlite3_binary.libs",
            "pysqlite3_binary-0.5.4.dist-info",
            "other",
        ] {
            std::fs::create_dir_all(site.join(d)).unwrap();
        }
        std::fs::write(
            site.join("pysqlite3_binary-0.5.4.dist-info/RECORD"),
            "pysqlite3_binary.libs/libsqlite3-1aa379ef.so.0.8.6,sha256=x,1\r\npysqlite3/_sqlite3.so,sha256=y,2\npysqlite3_binary-0.5.4.dist-info/RECORD,,\n",
        )
        .unwrap();
        let root = Root::new(t.path()).unwrap();
        let inner = Path::new("/v/lib/python3.11/site-packages");
        let files: Vec<PathBuf> = [
            "pysqlite3/_sqlite3.so",
            "pysqlite3_binary.libs/libsqlite3-1aa379ef.so.0.8.6",
            "other/x.so",
        ]
        .iter()
        .map(|f| inner.join(f))
        .collect();
        let w = owners(&root, &files.iter().map(PathBuf::as_path).collect());
        assert_eq!(w.by_file.len(), 2, "{w:?}");
        assert!(
            w.by_file
                .values()
                .all(|p| p.name == "pysqlite3-binary" && p.version == "0.5.4")
        );
        assert!(w.errors.is_empty());
    }
}
