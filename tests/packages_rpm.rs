//! Package attribution from an RPM database against rpm itself (the
//! oracle): the test builds two small packages with rpmbuild, installs them
//! into a fresh root with `rpm --root` (SQLite database, as Fedora 33+,
//! RHEL 9 and SUSE use), and every object soclash attributes must be owned
//! as `rpm -qf` says. A corrupt header and a Berkeley DB root must not stop
//! the scan. soclash itself reads the database and never runs rpm.

mod common;

use std::path::Path;
use std::process::Command;

use common::{path, soclash};
use serde_json::Value;

fn run(cmd: &str, args: &[&str]) -> String {
    common::run_in(Path::new("/"), cmd, args)
}

/// Builds an rpm installing `files` (destination, source on this machine)
/// and `links` (link, target).
fn build(
    top: &Path,
    name: &str,
    epoch: Option<u32>,
    files: &[(&str, &str)],
    links: &[(&str, &str)],
) {
    let mut install = String::new();
    let mut listed = String::new();
    for (dest, src) in files {
        let dir = Path::new(dest).parent().expect("dir").display().to_string();
        install.push_str(&format!(
            "mkdir -p %{{buildroot}}{dir}\ncp {src} %{{buildroot}}{dest}\n"
        ));
        listed.push_str(&format!("{dest}\n"));
    }
    for (link, target) in links {
        install.push_str(&format!("ln -s {target} %{{buildroot}}{link}\n"));
        listed.push_str(&format!("{link}\n"));
    }
    let epoch = epoch.map(|e| format!("Epoch: {e}\n")).unwrap_or_default();
    let spec = format!(
        "Name: {name}\nVersion: 1.2.13\nRelease: 3.el9\n{epoch}License: Zlib\nSummary: test\nBuildArch: x86_64\n%description\ntest\n%install\n{install}%files\n{listed}"
    );
    let spec_path = top.join(format!("{name}.spec"));
    std::fs::write(&spec_path, spec).expect("spec");
    run(
        "rpmbuild",
        &[
            "--define",
            &format!("_topdir {}", path(top)),
            "--define",
            "__os_install_post %{nil}",
            "--define",
            "debug_package %{nil}",
            "-bb",
            path(&spec_path),
        ],
    );
}

fn rpm_root(dir: &Path) -> std::path::PathBuf {
    let top = dir.join("top");
    std::fs::create_dir_all(&top).expect("topdir");
    let z = "/usr/lib/x86_64-linux-gnu/libz.so.1";
    build(
        &top,
        "soclash-test-zlib",
        Some(2),
        &[
            ("/usr/lib64/libz.so.1.2.13", z),
            ("/usr/lib64/php/modules/zz.so", z),
        ],
        &[("/usr/lib64/libz.so.1", "libz.so.1.2.13")],
    );
    build(
        &top,
        "soclash-test-httpd-module",
        None,
        &[("/usr/lib64/httpd/modules/mod_zz.so", z)],
        &[],
    );
    let root = dir.join("root");
    std::fs::create_dir_all(&root).expect("root");
    let db = ["--root", path(&root), "--dbpath", "/var/lib/rpm"];
    run("rpm", &[&db[..], &["--initdb"]].concat());
    let rpms: Vec<String> = std::fs::read_dir(top.join("RPMS/x86_64"))
        .expect("built rpms")
        .map(|e| e.expect("entry").path().display().to_string())
        .collect();
    assert_eq!(rpms.len(), 2, "{rpms:?}");
    let mut install = vec!["-i", "--nodeps", "--noscripts", "--nosignature"];
    install.extend(rpms.iter().map(String::as_str));
    run("rpm", &[&db[..], &install].concat());
    root
}

/// `NAME [EPOCH:]VERSION-RELEASE` of the package rpm says owns `file`.
fn rpm_qf(root: &Path, file: &str) -> Option<String> {
    let out = Command::new("rpm")
        .args([
            "--root",
            path(root),
            "--dbpath",
            "/var/lib/rpm",
            "-qf",
            "--qf",
        ])
        .arg("%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n")
        .arg(file)
        .output()
        .expect("rpm runs");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn scan(root: &Path) -> Value {
    let (code, out, err) = soclash(&["scan", "--root", path(root), "--format", "json"]);
    assert!(code == 0 || code == 1, "{err}");
    serde_json::from_str(&out).expect("JSON report")
}

#[test]
fn objects_are_attributed_as_rpm_qf_says() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = rpm_root(dir.path());
    let report = scan(&root);
    assert_eq!(report["host"]["packages"], serde_json::json!(["rpm"]));
    let mut agree = 0;
    for o in report["objects"].as_array().expect("objects") {
        let p = o["path"].as_str().expect("path");
        let want = rpm_qf(&root, p);
        let got = o["package"]["name"]
            .as_str()
            .map(|n| format!("{n} {}", o["package"]["version"].as_str().unwrap_or("")));
        assert_eq!(got, want, "{p}");
        agree += usize::from(want.is_some());
    }
    eprintln!("rpm: {agree} objects attributed as rpm -qf does");
    assert!(agree >= 2, "only {agree} attributed objects: {report:#}");

    // A corrupt header costs that package, not the scan.
    let db = root.join("var/lib/rpm/rpmdb.sqlite");
    let conn = rusqlite::Connection::open(&db).expect("open the test's database");
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

#[test]
fn a_berkeley_db_root_says_packages_are_unknown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("var/lib/rpm")).expect("dir");
    std::fs::write(root.join("var/lib/rpm/Packages"), [0u8; 4096]).expect("Packages");
    let report = scan(root);
    let dbs = report["host"]["packages"].to_string();
    assert!(
        dbs.contains("Berkeley DB") && dbs.contains("unknown"),
        "{dbs}"
    );
}
