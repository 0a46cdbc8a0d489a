//! Package attribution from an RPM database, measured against rpm itself
//! (the oracle): the tests build small packages with rpmbuild, install them
//! into fresh roots with `rpm --root` (SQLite database, as Fedora 33+,
//! RHEL 9 and SUSE's sqlite builds keep it), and every file soclash
//! attributes must be owned as `rpm -qf` says. The packages cover what an
//! installed header holds beyond a package file's: an epoch (also 0), a
//! relocation (rpm appends the new DIRNAMES after the original ones), a
//! file installed through a merged-/usr link, a link owned by one package
//! pointing at another's file, a file two packages share, and one base
//! name in several directories. soclash itself reads the database and
//! never runs rpm; rpm and rpmbuild come from Debian's `rpm` package.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use soclash::host::packages::{Package, owners};
use soclash::root::Root;

use crate::common::strace::{Syscall, unquote};
use crate::common::{path, soclash, tempdir};

/// Any small regular file does as a payload; rpm never looks inside.
const PAYLOAD: &str = "/usr/lib/x86_64-linux-gnu/libz.so.1";

fn run(cmd: &str, args: &[&str]) -> String {
    crate::common::run_in(Path::new("/"), cmd, args)
}

/// A package to build: files (destination, source on this machine) and
/// links (link, target).
struct Spec<'a> {
    name: &'a str,
    epoch: Option<u32>,
    prefix: Option<&'a str>,
    files: &'a [(&'a str, &'a str)],
    links: &'a [(&'a str, &'a str)],
}

impl Spec<'_> {
    const fn new(name: &str) -> Spec<'_> {
        Spec {
            name,
            epoch: None,
            prefix: None,
            files: &[],
            links: &[],
        }
    }
}

/// Builds `spec` with rpmbuild under `top`; the path of the package.
fn build(top: &Path, spec: &Spec) -> PathBuf {
    let mut install = String::new();
    let mut listed = String::new();
    for (dest, src) in spec.files {
        let dir = Path::new(dest).parent().expect("dir").display().to_string();
        install.push_str(&format!(
            "mkdir -p %{{buildroot}}{dir}\ncp {src} %{{buildroot}}{dest}\n"
        ));
        listed.push_str(&format!("{dest}\n"));
    }
    for (link, target) in spec.links {
        let dir = Path::new(link).parent().expect("dir").display().to_string();
        install.push_str(&format!(
            "mkdir -p %{{buildroot}}{dir}\nln -s {target} %{{buildroot}}{link}\n"
        ));
        listed.push_str(&format!("{link}\n"));
    }
    let epoch = spec
        .epoch
        .map(|e| format!("Epoch: {e}\n"))
        .unwrap_or_default();
    let prefix = spec
        .prefix
        .map(|p| format!("Prefix: {p}\n"))
        .unwrap_or_default();
    let name = spec.name;
    let text = format!(
        "Name: {name}\nVersion: 1.2.13\nRelease: 3.el9\n{epoch}{prefix}License: Zlib\nSummary: test\nBuildArch: x86_64\n%description\ntest\n%install\n{install}%files\n{listed}"
    );
    let spec_path = top.join(format!("{name}.spec"));
    std::fs::write(&spec_path, text).expect("spec");
    run(
        "rpmbuild",
        &[
            "--define",
            &format!("_topdir {}", path(top)),
            "--define",
            "__os_install_post %{nil}",
            "--define",
            "debug_package %{nil}",
            "--define",
            "_build_id_links none",
            "-bb",
            path(&spec_path),
        ],
    );
    let rpm = top.join(format!("RPMS/x86_64/{name}-1.2.13-3.el9.x86_64.rpm"));
    assert!(rpm.is_file(), "rpmbuild made no {}", rpm.display());
    rpm
}

/// rpm on `root` with its database at `dbpath`, in SQLite whatever the
/// build's default.
fn rpm_args<'a>(root: &'a Path, dbpath: &'a str) -> Vec<&'a str> {
    vec![
        "--root",
        path(root),
        "--dbpath",
        dbpath,
        "--define",
        "_db_backend sqlite",
    ]
}

/// Installs each package in a transaction of its own, in order (so the
/// database numbers them in that order), with extra options.
fn install(root: &Path, dbpath: &str, rpms: &[(&Path, &[&str])]) {
    for (rpm, extra) in rpms {
        let mut args = rpm_args(root, dbpath);
        args.extend(["-i", "--nodeps", "--noscripts", "--nosignature"]);
        args.extend(extra.iter());
        args.push(path(rpm));
        run("rpm", &args);
    }
}

/// `NAME [EPOCH:]VERSION-RELEASE` of every package rpm says owns `file`
/// (two when they share it), empty when none does.
fn rpm_qf(root: &Path, dbpath: &str, file: &str) -> BTreeSet<String> {
    let out = Command::new("rpm")
        .args(rpm_args(root, dbpath))
        .args(["-qf", "--qf"])
        .arg("%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n")
        .arg(file)
        .output()
        .expect("rpm runs");
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // In no package: rpm says so, or, when the file is not on this
        // machine either, that it does not exist (it looks there, not in
        // --root).
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            text.is_empty() && (err.contains("not owned") || err.contains("No such file")),
            "rpm -qf {file}: {text}{err}"
        );
        return BTreeSet::new();
    }
    text.lines().map(str::to_string).collect()
}

fn show(p: &Package) -> String {
    format!("{} {}", p.name, p.version)
}

/// Every regular file under `root` outside `skip`, as inner paths. The
/// walk follows no link, so each is the file's canonical path.
fn regular_files(root: &Path, skip: &Path) -> BTreeSet<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file() && !e.path().starts_with(skip))
        .map(|e| Path::new("/").join(e.path().strip_prefix(root).expect("inside")))
        .collect()
}

/// Names, sizes, times and contents of a directory's entries.
fn snapshot(dir: &Path) -> BTreeMap<String, (u64, std::time::SystemTime, Vec<u8>)> {
    std::fs::read_dir(dir)
        .expect("db dir")
        .map(|e| {
            let e = e.expect("entry");
            let meta = e.metadata().expect("meta");
            let bytes = std::fs::read(e.path()).expect("read");
            (
                e.file_name().to_string_lossy().into_owned(),
                (meta.len(), meta.modified().expect("mtime"), bytes),
            )
        })
        .collect()
}

/// A Fedora-like root: merged /usr (`/lib64` a link to `usr/lib64`), the
/// database in `/usr/lib/sysimage/rpm` and `/var/lib/rpm` a link to it.
///
/// `rpm -qf` matches a path by fingerprint (its directory's device and
/// inode, and the base name), and with `--root` it takes those of this
/// machine's directories, not the root's (rpm 4.18 stats `/lib64/` on the
/// host). The root's one directory link is therefore this machine's own,
/// `/lib64`, which merged-/usr Debian 12 has too.
#[test]
fn every_installed_file_is_attributed_as_rpm_qf_says() {
    assert!(Path::new(PAYLOAD).is_file(), "{PAYLOAD} (zlib1g) needed");
    assert_eq!(
        std::fs::read_link("/lib64").ok(),
        Some(PathBuf::from("usr/lib64")),
        "rpm -qf resolves directory links on this machine: it needs merged /usr (/lib64 -> usr/lib64)"
    );
    let dir = tempdir();
    let top = dir.path().join("top");
    let root = dir.path().join("root");
    std::fs::create_dir_all(&top).expect("topdir");
    std::fs::create_dir_all(root.join("usr/lib64")).expect("root");
    std::os::unix::fs::symlink("usr/lib64", root.join("lib64")).expect("merged /usr");
    let p = PAYLOAD;
    let zlib = build(
        &top,
        &Spec {
            epoch: Some(2),
            files: &[("/usr/lib64/libz.so.1.2.13", p)],
            links: &[("/usr/lib64/libz.so.1", "libz.so.1.2.13")],
            ..Spec::new("soclash-zlib")
        },
    );
    // One package, files in three directories, one base name shared with
    // another package's file elsewhere.
    let multi = build(
        &top,
        &Spec {
            files: &[
                ("/usr/lib64/httpd/modules/mod_zz.so", p),
                ("/usr/lib64/php/modules/zz.so", p),
                ("/usr/libexec/zz/zz.so", p),
            ],
            ..Spec::new("soclash-multi")
        },
    );
    let owner = build(
        &top,
        &Spec {
            files: &[
                ("/opt/a/libq.so.1", p),
                ("/usr/lib64/php2/modules/zz.so", p),
            ],
            ..Spec::new("soclash-owner")
        },
    );
    // Installed first, so its header is read before the owner's.
    let link = build(
        &top,
        &Spec {
            links: &[("/usr/lib64/libq.so.1", "/opt/a/libq.so.1")],
            ..Spec::new("soclash-link")
        },
    );
    let merged = build(
        &top,
        &Spec {
            epoch: Some(0),
            files: &[("/lib64/libm1.so", p)],
            ..Spec::new("soclash-merged")
        },
    );
    let reloc = build(
        &top,
        &Spec {
            prefix: Some("/usr"),
            files: &[("/usr/lib64/rel/librel.so", p)],
            ..Spec::new("soclash-reloc")
        },
    );
    let shared_a = build(
        &top,
        &Spec {
            files: &[("/usr/lib64/shared.so", p)],
            ..Spec::new("soclash-shared-a")
        },
    );
    let shared_b = build(
        &top,
        &Spec {
            files: &[("/usr/lib64/shared.so", p)],
            ..Spec::new("soclash-shared-b")
        },
    );
    let db = "/usr/lib/sysimage/rpm";
    run("rpm", &[&rpm_args(&root, db)[..], &["--initdb"]].concat());
    let none: &[&str] = &[];
    install(
        &root,
        db,
        &[
            (&zlib, none),
            (&multi, none),
            (&link, none),
            (&owner, none),
            (&merged, none),
            (&reloc, &["--relocate", "/usr=/opt/rel"]),
            (&shared_a, none),
            (&shared_b, none),
        ],
    );
    std::fs::create_dir_all(root.join("var/lib")).expect("var/lib");
    std::os::unix::fs::symlink("../../usr/lib/sysimage/rpm", root.join("var/lib/rpm"))
        .expect("/var/lib/rpm link");
    std::fs::write(root.join("usr/lib64/unowned.so"), b"x").expect("unowned file");

    let db_dir = root.join("usr/lib/sysimage/rpm");
    let files = regular_files(&root, &db_dir);
    // The walk found exactly what rpm installed, plus the unowned file.
    let listed = run(
        "rpm",
        &[
            &rpm_args(&root, db)[..],
            &["-qa", "--qf", "[%{FILENAMES}\n]"],
        ]
        .concat(),
    );
    let mut installed: BTreeSet<PathBuf> = listed
        .lines()
        .map(|l| root.join(l.trim_start_matches('/')))
        .filter(|h| h.is_file())
        .map(|h| {
            let real = h.canonicalize().expect("installed file");
            Path::new("/").join(real.strip_prefix(&root).expect("inside"))
        })
        .collect();
    installed.insert(PathBuf::from("/usr/lib64/unowned.so"));
    assert_eq!(files, installed);

    let before = snapshot(&db_dir);
    let found = owners(&Root::new(&root).expect("root"), &files);
    assert_eq!(
        snapshot(&db_dir),
        before,
        "reading the database changed its directory"
    );
    assert_eq!(found.databases, ["rpm"]);

    let mut failures = Vec::new();
    let (mut owned, mut shared) = (0, 0);
    for f in &files {
        let want = rpm_qf(&root, db, path(f));
        let got = found.by_file.get(f).map(show);
        let agrees = match &got {
            None => want.is_empty(),
            Some(g) => want.contains(g),
        };
        if !agrees {
            failures.push(format!("{}: rpm {want:?}, soclash {got:?}", f.display()));
        }
        owned += usize::from(!want.is_empty());
        shared += usize::from(want.len() > 1);
    }
    eprintln!(
        "rpm: {} of {} files attributed as rpm -qf says ({owned} owned, {shared} shared by two packages)",
        files.len() - failures.len(),
        files.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!((files.len(), owned, shared), (10, 9, 1));

    // Corrupt headers: each real header truncated at many lengths, with each
    // byte of its index (counts, offsets, types) and some of its data
    // flipped, and rows that hold no blob. Appended after the real ones, so
    // the real owners must come out unchanged, and nothing may panic.
    let db_file = db_dir.join("rpmdb.sqlite");
    let conn = rusqlite::Connection::open(&db_file).expect("open the test's database");
    let blobs: Vec<Vec<u8>> = conn
        .prepare("SELECT blob FROM Packages ORDER BY hnum")
        .expect("select")
        .query_map([], |r| r.get(0))
        .expect("query")
        .map(|b| b.expect("blob"))
        .collect();
    assert_eq!(blobs.len(), 8);
    let mut variants: Vec<Vec<u8>> = Vec::new();
    for blob in &blobs {
        let il = u32::from_be_bytes(blob[..4].try_into().expect("4 bytes")) as usize;
        for len in (0..blob.len()).step_by(23) {
            variants.push(blob[..len].to_vec());
        }
        for at in (0..8 + 16 * il).chain((8 + 16 * il..blob.len()).step_by(29)) {
            for mask in [0xff, 0x01] {
                let mut v = blob.clone();
                v[at] ^= mask;
                variants.push(v);
            }
        }
    }
    let tx = conn.unchecked_transaction().expect("transaction");
    for v in &variants {
        tx.execute("INSERT INTO Packages (blob) VALUES (?1)", [v])
            .expect("insert a variant");
    }
    for odd in ["'text'", "42", "x''"] {
        tx.execute(&format!("INSERT INTO Packages (blob) VALUES ({odd})"), [])
            .expect("insert an odd row");
    }
    tx.commit().expect("commit");
    drop(conn);
    let again = owners(&Root::new(&root).expect("root"), &files);
    assert_eq!(again.databases, ["rpm"]);
    assert_eq!(again.by_file, found.by_file);
    eprintln!(
        "rpm: {} corrupt headers and 3 rows without a usable blob read beside 8 real ones: the same {} owners",
        variants.len(),
        found.by_file.len()
    );
}

fn scan(root: &Path) -> Value {
    let (code, out, err) = soclash(&["scan", "--root", path(root), "--format", "json"]);
    // Roots of packages only: nothing of a web stack to audit (exit 2).
    assert!(
        code == 0 || code == 1 || (code == 2 && err.contains("nothing to audit")),
        "{err}"
    );
    serde_json::from_str(&out).expect("JSON report")
}

/// The scan names each object's package as rpm does, from a database at
/// `/var/lib/rpm` (RHEL 8/9's place), and a header that is garbage costs
/// that package, not the scan.
#[test]
fn objects_of_a_scan_are_attributed_as_rpm_qf_says() {
    assert!(Path::new(PAYLOAD).is_file(), "{PAYLOAD} (zlib1g) needed");
    let dir = tempdir();
    let top = dir.path().join("top");
    std::fs::create_dir_all(&top).expect("topdir");
    let p = PAYLOAD;
    let zlib = build(
        &top,
        &Spec {
            epoch: Some(2),
            files: &[
                ("/usr/lib64/libz.so.1.2.13", p),
                ("/usr/lib64/php/modules/zz.so", p),
            ],
            links: &[("/usr/lib64/libz.so.1", "libz.so.1.2.13")],
            ..Spec::new("soclash-test-zlib")
        },
    );
    let module = build(
        &top,
        &Spec {
            files: &[("/usr/lib64/httpd/modules/mod_zz.so", p)],
            ..Spec::new("soclash-test-httpd-module")
        },
    );
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).expect("root");
    let db = "/var/lib/rpm";
    run("rpm", &[&rpm_args(&root, db)[..], &["--initdb"]].concat());
    let none: &[&str] = &[];
    install(&root, db, &[(&zlib, none), (&module, none)]);
    let report = scan(&root);
    assert_eq!(report["host"]["packages"], serde_json::json!(["rpm"]));
    let mut agree = 0;
    for o in report["objects"].as_array().expect("objects") {
        let p = o["path"].as_str().expect("path");
        let want = rpm_qf(&root, db, p);
        let got = o["package"]["name"]
            .as_str()
            .map(|n| format!("{n} {}", o["package"]["version"].as_str().unwrap_or("")));
        match &got {
            None => assert!(want.is_empty(), "{p}: rpm {want:?}"),
            Some(g) => assert!(want.contains(g), "{p}: rpm {want:?}, soclash {g}"),
        }
        agree += usize::from(!want.is_empty());
    }
    eprintln!("rpm: {agree} scanned objects attributed as rpm -qf does");
    assert!(agree >= 2, "only {agree} attributed objects: {report:#}");

    let db_file = root.join("var/lib/rpm/rpmdb.sqlite");
    let conn = rusqlite::Connection::open(&db_file).expect("open the test's database");
    let n = conn
        .execute(
            "UPDATE Packages SET blob = x'0000ffff00000010deadbeef' WHERE hnum = (SELECT MIN(hnum) FROM Packages)",
            [],
        )
        .expect("corrupt one header");
    assert_eq!(n, 1);
    drop(conn);
    let report = scan(&root);
    let owned = report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["package"].is_object())
        .count();
    assert!(
        owned >= 1 && owned < agree,
        "{owned} of {agree} still owned"
    );
}

/// Databases soclash does not read are named, so that the report says
/// "unknown" rather than "no package".
#[test]
fn unread_rpm_databases_are_reported_unknown() {
    let cases = [
        (
            "var/lib/rpm/Packages",
            &b"\0\0\0\0\x61\x15\x06\0"[..],
            "rpm: Berkeley DB (Packages), not read: packages unknown",
        ),
        (
            "usr/lib/sysimage/rpm/Packages.db",
            b"RpmP",
            "rpm: ndb (Packages.db), not read: packages unknown",
        ),
        (
            "var/lib/rpm/rpmdb.sqlite",
            b"not a database at all, but long enough to look like one's first page",
            "rpm: rpmdb.sqlite not read: file is not a database: packages unknown",
        ),
    ];
    for (file, bytes, want) in cases {
        let dir = tempdir();
        let host = dir.path().join(file);
        std::fs::create_dir_all(host.parent().expect("dir")).expect("dir");
        std::fs::write(&host, bytes).expect("database");
        let root = Root::new(dir.path()).expect("root");
        let found = owners(&root, &BTreeSet::from([PathBuf::from("/usr/lib64/x.so")]));
        assert_eq!(found.databases, [want], "{file}");
        assert!(found.by_file.is_empty());
    }
    // And the scan's report says so.
    let dir = tempdir();
    std::fs::create_dir_all(dir.path().join("var/lib/rpm")).expect("dir");
    std::fs::write(dir.path().join("var/lib/rpm/Packages"), [0u8; 4096]).expect("Packages");
    let report = scan(dir.path());
    assert_eq!(
        report["host"]["packages"],
        serde_json::json!(["rpm: Berkeley DB (Packages), not read: packages unknown"])
    );
}

/// What SQLite may not do to an rpm database it reads, as `strace` sees
/// every file system call of a scan: open it again by a path (a path of
/// the root, resolved on this machine, may lead out of it by then), turn
/// the root's descriptor back into a path, look at anything beside it
/// (`-journal`, `-wal` and `-shm` are left there as decoys), or write
/// anything in the root. The one open of the database is the root's own,
/// `openat2` confined to the root, and the scan still reads it.
#[test]
fn strace_sees_the_rpm_database_opened_only_by_the_root() {
    assert!(Path::new(PAYLOAD).is_file(), "{PAYLOAD} (zlib1g) needed");
    let dir = tempdir();
    let top = dir.path().join("top");
    std::fs::create_dir_all(&top).expect("topdir");
    let httpd = build(
        &top,
        &Spec {
            files: &[("/usr/sbin/apache2", PAYLOAD)],
            ..Spec::new("soclash-test-httpd")
        },
    );
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).expect("root");
    let db = "/var/lib/rpm";
    run("rpm", &[&rpm_args(&root, db)[..], &["--initdb"]].concat());
    install(&root, db, &[(&httpd, &[])]);
    let db_dir = root.join("var/lib/rpm");
    for beside in ["-journal", "-wal", "-shm"] {
        let decoy = db_dir.join(format!("rpmdb.sqlite{beside}"));
        if !decoy.exists() {
            std::fs::write(&decoy, b"decoy: never to be opened").expect("decoy");
        }
    }
    let before = snapshot(&db_dir);

    let log = dir.path().join("strace.log");
    let out = Command::new("strace")
        .args(["-f", "-y", "-qq", "-s", "4096", "-e", "trace=%file", "-o"])
        .arg(&log)
        .arg(crate::common::SOCLASH)
        .args(["scan", "--format", "json", "--root", path(&root)])
        .current_dir(dir.path())
        .output()
        .expect("strace runs (.ci/run installs it)");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["host"]["packages"], serde_json::json!(["rpm"]));
    let owned = report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .any(|o| o["package"]["name"] == "soclash-test-httpd");
    assert!(owned, "the database was not read: {report:#}");
    assert_eq!(
        snapshot(&db_dir),
        before,
        "the database's directory changed"
    );

    let log = std::fs::read_to_string(&log).expect("strace log");
    let root_text = path(&root).to_string();
    let names_db = |s: &str| s == "rpmdb.sqlite" || s.ends_with("/rpmdb.sqlite");
    let (mut confined, mut bad) = (0, Vec::new());
    for line in log.lines() {
        let Some(call) = Syscall::parse(line) else {
            continue;
        };
        if line.contains("rpmdb.sqlite-") {
            bad.push(format!("beside the database: {line}"));
        }
        let by_path = call
            .args
            .iter()
            .filter_map(|a| unquote(a))
            .any(|p| names_db(&p));
        let opened_db = call.ret_fd_path.as_deref().is_some_and(names_db);
        let opens = matches!(call.name.as_str(), "open" | "openat" | "openat2" | "creat");
        let no_follow_stat = matches!(call.name.as_str(), "lstat" | "statx" | "newfstatat")
            && line.contains("AT_SYMLINK_NOFOLLOW");
        if opens && (by_path || opened_db) {
            let writes = ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"]
                .iter()
                .any(|w| line.contains(w));
            if call.name == "openat2" && line.contains("RESOLVE_IN_ROOT") && !writes {
                confined += 1;
            } else {
                bad.push(format!("opened other than by the root: {line}"));
            }
        } else if by_path && !no_follow_stat {
            // Root's own walk lstats each component; nothing else may
            // name the database by a path (a readlink of the descriptor,
            // a stat that follows links).
            bad.push(format!("named by a path: {line}"));
        }
        for written in call.written_paths(dir.path()) {
            if written.starts_with(&root_text) {
                bad.push(format!("written in the root: {line}"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(
        confined, 1,
        "the root's one open of the database not seen: is the log parsed?\n{log}"
    );
    eprintln!("rpm: strace saw the database opened once, by the root, and nothing beside it");
}
