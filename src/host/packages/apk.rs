//! apk (Alpine, Wolfi, Chimera): the `installed` database.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use bstr::ByteSlice;

use super::{
    Answer, Database, DbFile, Error, Lookups, Package, claim, read_db_file, unread, wanted_names,
};
use crate::root::{Kind, Root};

/// Alpine's place, then the one Wolfi and Chimera use (`/usr/lib`, also
/// where `/lib` is no link to it).
const APK: [&str; 2] = ["/lib/apk/db/installed", "/usr/lib/apk/db/installed"];

/// The root's `installed` file, at the first of [`APK`] where it is one.
pub(super) struct Apk(&'static Path);

impl Database for Apk {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn detect(root: &Root) -> Option<Apk> {
        APK.iter()
            .map(Path::new)
            .find(|p| root.kind(p) == Some(Kind::Regular))
            .map(Apk)
    }

    /// A database that cannot be read is listed, with why.
    fn owners(&self, at: &Lookups<'_>, files: &BTreeSet<PathBuf>) -> Answer {
        match apk_owners(at, self.0, files) {
            Ok(by_file) => Answer::Owners {
                by_file,
                notes: Vec::new(),
            },
            Err(why) => Answer::Owners {
                by_file: BTreeMap::new(),
                notes: vec![format!("installed not read: {why}: packages unknown")],
            },
        }
    }
}

/// Alpine: blank-line separated records; `P:` name, `V:` version, `F:` a
/// directory (relative to `/`), `R:` a file in the last `F:`.
fn apk_owners(
    at: &Lookups<'_>,
    db: &Path,
    files: &BTreeSet<PathBuf>,
) -> Result<BTreeMap<PathBuf, Package>, Error> {
    let root = at.root;
    let mut out = BTreeMap::new();
    let text = match read_db_file(root, db, u64::MAX) {
        DbFile::Unreadable => return Ok(out),
        file => unread(file)?,
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
                at,
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
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::packages::owners;
    use crate::host::packages::tests::{found, paths, write};

    /// Alpine's installed database as apk-tools writes it
    /// (`apk_db_fdb_write`; format in the wiki's Apk_spec: `P:` and `V:`
    /// per package, `F:` a directory relative to `/`, `R:` a file in the
    /// last `F:`), on a root where `/lib` is a directory of its own, as on
    /// Alpine before merged /usr. libcrypto3's record is the real one's
    /// shape: files in four directories, one of them a link in `usr/lib`
    /// to the file in `lib`, which does not make the link's name the
    /// file's. A record without `V:` owns nothing.
    #[test]
    fn owners_from_apk_installed() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        for f in [
            "/usr/lib/apache2/mod_php82.so",
            "/lib/libcrypto.so.3",
            "/usr/lib/engines-3/afalg.so",
            "/usr/lib/ossl-modules/legacy.so",
            "/usr/lib/libedit.so.0.0.72",
        ] {
            write(r, f, b"x");
        }
        std::os::unix::fs::symlink("../../lib/libcrypto.so.3", r.join("usr/lib/libcrypto.so.3"))
            .unwrap();
        let db = [
            "C:Q1abc=",
            "P:php82-apache2",
            "V:8.2.26-r0",
            "A:x86_64",
            "F:usr",
            "F:usr/lib",
            "F:usr/lib/apache2",
            "R:mod_php82.so",
            "a:0:0:755",
            "Z:Q1x=",
            "",
            "C:Q1def=",
            "P:libcrypto3",
            "V:3.3.2-r0",
            "F:lib",
            "R:libcrypto.so.3",
            "Z:Q1y=",
            "F:usr",
            "F:usr/lib",
            "R:libcrypto.so.3",
            "a:0:0:777",
            "Z:Q1z=",
            "F:usr/lib/engines-3",
            "R:afalg.so",
            "F:usr/lib/ossl-modules",
            "R:legacy.so",
            "",
            "C:Q1ghi=",
            "P:broken",
            "F:usr/lib",
            "R:libedit.so.0.0.72",
            "",
        ]
        .join("\n");
        write(r, "/lib/apk/db/installed", db.as_bytes());
        let root = Root::new(r).unwrap();
        let files = paths(&[
            "/usr/lib/apache2/mod_php82.so",
            "/lib/libcrypto.so.3",
            "/usr/lib/engines-3/afalg.so",
            "/usr/lib/ossl-modules/legacy.so",
            "/usr/lib/libedit.so.0.0.72",
        ]);
        let found_ = owners(&root, &files);
        assert_eq!(found_.databases, ["apk"]);
        let crypto = Some(("libcrypto3", "3.3.2-r0"));
        assert_eq!(
            found(&found_, "/usr/lib/apache2/mod_php82.so"),
            Some(("php82-apache2", "8.2.26-r0"))
        );
        assert_eq!(found(&found_, "/lib/libcrypto.so.3"), crypto);
        assert_eq!(found(&found_, "/usr/lib/engines-3/afalg.so"), crypto);
        assert_eq!(found(&found_, "/usr/lib/ossl-modules/legacy.so"), crypto);
        assert_eq!(found(&found_, "/usr/lib/libedit.so.0.0.72"), None);
        assert_eq!(found_.by_file.len(), 4);
    }

    /// Wolfi's and Chimera's place for the database (`/usr/lib/apk/db`),
    /// where `/lib` is a directory without one. A package that lists a
    /// directory by a link's name (`usr/lib64`, a link to `lib`) owns the
    /// file in the directory the link names.
    #[test]
    fn owners_from_apk_installed_under_usr_lib() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        write(r, "/usr/lib/libssl.so.3", b"x");
        write(r, "/lib/ld-musl-x86_64.so.1", b"x");
        std::os::unix::fs::symlink("lib", r.join("usr/lib64")).unwrap();
        let db = [
            "P:libssl3",
            "V:3.3.2-r0",
            "F:usr/lib64",
            "R:libssl.so.3",
            "",
            "P:musl",
            "V:1.2.5-r0",
            "F:lib",
            "R:ld-musl-x86_64.so.1",
            "",
        ]
        .join("\n");
        write(r, "/usr/lib/apk/db/installed", db.as_bytes());
        let root = Root::new(r).unwrap();
        let files = paths(&["/usr/lib/libssl.so.3", "/lib/ld-musl-x86_64.so.1"]);
        let found_ = owners(&root, &files);
        assert_eq!(found_.databases, ["apk"]);
        assert_eq!(
            found(&found_, "/usr/lib/libssl.so.3"),
            Some(("libssl3", "3.3.2-r0"))
        );
        assert_eq!(
            found(&found_, "/lib/ld-musl-x86_64.so.1"),
            Some(("musl", "1.2.5-r0"))
        );
    }

    /// Merged /usr (`/lib` a link to `usr/lib`, as Alpine is moving to):
    /// the database is found through the link, and a package that still
    /// lists `lib/...` owns the file under `/usr/lib`.
    #[test]
    fn owners_from_apk_installed_on_merged_usr() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        write(r, "/usr/lib/libz.so.1.3.1", b"x");
        std::os::unix::fs::symlink("usr/lib", r.join("lib")).unwrap();
        let db = ["P:zlib", "V:1.3.1-r2", "F:lib", "R:libz.so.1.3.1", ""].join("\n");
        write(r, "/lib/apk/db/installed", db.as_bytes());
        let root = Root::new(r).unwrap();
        let found_ = owners(&root, &paths(&["/usr/lib/libz.so.1.3.1"]));
        assert_eq!(found_.databases, ["apk"]);
        assert_eq!(
            found(&found_, "/usr/lib/libz.so.1.3.1"),
            Some(("zlib", "1.3.1-r2"))
        );
    }
}
