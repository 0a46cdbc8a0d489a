//! Hostile packages input (issue 13): package databases crafted to make
//! the owner lookup of `soclash scan` run forever, fill memory, or write
//! outside the root. Each root holds one real ELF file as its httpd, so
//! that the scan has a file to ask the databases about.

use std::fs::File;
use std::path::Path;

use super::harness;

use crate::common::tempdir;

/// A root with this machine's libz as its httpd binary.
fn root_with_httpd(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("usr/sbin")).unwrap();
    std::fs::copy(
        "/usr/lib/x86_64-linux-gnu/libz.so.1",
        root.join("usr/sbin/apache2"),
    )
    .expect("this machine's libz (zlib1g)");
    root
}

/// `soclash scan --root ROOT` with SQLite's and everyone's temporary
/// directory pointed at `tmp`.
fn scan(dir: &Path, root: &Path, tmp: &Path) -> harness::Run {
    let tmp = tmp.to_str().unwrap();
    let run = harness::run(
        dir,
        &["scan", "--root", root.to_str().unwrap(), "--format", "json"],
        &[("TMPDIR", tmp), ("SQLITE_TMPDIR", tmp)],
        harness::DEADLINE,
    );
    eprintln!(
        "scan: {:.1} s, {} MB, exit {:?}",
        run.secs, run.peak_rss_mb, run.code
    );
    run
}

/// The notes the report gives on the package databases.
fn package_notes(run: &harness::Run) -> Vec<String> {
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    report["host"]["packages"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// An rpmdb.sqlite of one 4 KiB page made by `schema`.
fn rpmdb(root: &Path, schema: &str) {
    let dir = root.join("var/lib/rpm");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rpmdb.sqlite");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(schema).unwrap();
    drop(c);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size <= 8192, "{size} bytes");
}

/// Runs the scan of a root with the rpm database `schema` makes, and
/// checks that it ends in time, leaves nothing in the temporary directory
/// or the root, and says the database was not read, and why.
fn hostile_rpmdb(schema: &str, why: &str) {
    let dir = tempdir();
    let root = root_with_httpd(dir.path());
    rpmdb(&root, schema);
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let before = harness::listing(&root);
    let run = scan(dir.path(), &root, &tmp);
    run.assert_bounded(harness::DEADLINE);
    assert_eq!(
        harness::listing(&tmp).len(),
        1,
        "{:?}",
        harness::listing(&tmp)
    );
    assert_eq!(harness::listing(&root), before);
    let notes = package_notes(&run);
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("rpm: rpmdb.sqlite not read: ") && n.contains(why)),
        "{notes:?}"
    );
}

/// `Packages` a recursive view that never ends, sorted by the scan's
/// `ORDER BY hnum`: on main SQLite grew a temporary file in /var/tmp at
/// ~28 MB/s until the disk was full.
#[test]
fn rpmdb_packages_a_recursive_view() {
    hostile_rpmdb(
        "CREATE VIEW Packages AS WITH RECURSIVE r(hnum, blob) AS \
         (SELECT 1, zeroblob(1000) UNION ALL SELECT hnum + 1, blob FROM r) \
         SELECT hnum, blob FROM r;",
        "Packages is a view",
    );
}

/// A recursive CTE that counts to 10^15 and yields nothing: no memory,
/// only time.
#[test]
fn rpmdb_packages_a_huge_recursive_cte() {
    hostile_rpmdb(
        "CREATE VIEW Packages AS WITH RECURSIVE r(n) AS \
         (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 1000000000000000) \
         SELECT n AS hnum, x'' AS blob FROM r WHERE n < 0;",
        "Packages is a view",
    );
}

/// A table whose blob is computed for each row: 900 MB each.
#[test]
fn rpmdb_packages_with_a_generated_blob() {
    hostile_rpmdb(
        "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, \
         blob BLOB AS (zeroblob(900000000))); \
         INSERT INTO Packages (hnum) VALUES (1), (2), (3);",
        "Packages has generated columns",
    );
}

/// 2,000 installed packages whose `.list` files are each 64 MiB, sparse
/// (a few KiB on disk): every list was read whole (165 s on main).
#[test]
fn dpkg_many_huge_sparse_lists() {
    let dir = tempdir();
    let root = root_with_httpd(dir.path());
    let info = root.join("var/lib/dpkg/info");
    std::fs::create_dir_all(&info).unwrap();
    let mut status = String::new();
    for i in 0..2000 {
        status.push_str(&format!(
            "Package: p{i:04}\nStatus: install ok installed\nVersion: 1\n\n"
        ));
        let list = File::create(info.join(format!("p{i:04}.list"))).unwrap();
        list.set_len(64 << 20).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), status).unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let run = scan(dir.path(), &root, &tmp);
    run.assert_bounded(harness::DEADLINE);
    run.assert_names_budget("PACKAGE_LISTS_PER_SCAN");
}

/// One list that names the scanned file's name in a million directories,
/// each looked up in the root (a 60 MB list took 24 s).
#[test]
fn dpkg_list_naming_a_file_in_a_million_directories() {
    let dir = tempdir();
    let root = root_with_httpd(dir.path());
    let info = root.join("var/lib/dpkg/info");
    std::fs::create_dir_all(&info).unwrap();
    std::fs::write(
        root.join("var/lib/dpkg/status"),
        "Package: p\nStatus: install ok installed\nVersion: 1\n",
    )
    .unwrap();
    let mut list = String::new();
    for i in 0..1_000_000 {
        list.push_str(&format!("/d{i}/apache2\n"));
    }
    std::fs::write(info.join("p.list"), list).unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let run = scan(dir.path(), &root, &tmp);
    run.assert_bounded(harness::DEADLINE);
    run.assert_names_budget("PACKAGE_PATH_LOOKUPS");
}
