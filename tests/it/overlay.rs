//! `scan --overlay` and `--overlay-deb`, the pre-upgrade what-if.
//!
//! The oracle for overlay semantics is a real tree: for every signature's
//! near-miss root (neg) and clashing root (pos) that `make sample-libs`
//! builds, the files pos adds or changes, laid over neg, must give the
//! report a scan of pos gives, with the signature's finding introduced by
//! the overlay. A real package from Debian's archive, downloaded by the
//! test, is audited as an overlay of this machine without being installed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{path, run_in, soclash, tempdir};

fn bind_roots() -> PathBuf {
    crate::common::sample_roots().join("bind")
}

fn scan_json(args: &[&str]) -> Value {
    let mut all = vec!["scan", "--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = soclash(&all);
    assert!(
        code == 0 || code == 1,
        "soclash {all:?}: exit {code}: {err}"
    );
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{all:?}: {e}"))
}

/// Writes into `overlay` what `new` adds to or changes in `old` (files by
/// content, symlinks by target); returns the paths `old` has that `new`
/// lacks, which an overlay cannot take away.
fn difference(old: &Path, new: &Path, overlay: &Path) -> Vec<PathBuf> {
    for e in walkdir::WalkDir::new(new).min_depth(1).sort_by_file_name() {
        let e = e.expect("walk new tree");
        let rel = e.path().strip_prefix(new).expect("under new");
        let before = old.join(rel);
        let at = overlay.join(rel);
        let ft = e.file_type();
        let before_meta = std::fs::symlink_metadata(&before).ok();
        if ft.is_dir() {
            if !before_meta.is_some_and(|m| m.is_dir()) {
                std::fs::create_dir_all(&at).expect("overlay dir");
            }
        } else if ft.is_symlink() {
            let target = std::fs::read_link(e.path()).expect("link");
            if std::fs::read_link(&before).ok() != Some(target.clone()) {
                std::fs::create_dir_all(at.parent().expect("parent")).expect("dir");
                std::os::unix::fs::symlink(&target, &at).expect("symlink");
            }
        } else if ft.is_file() {
            let same = before_meta.is_some_and(|m| m.is_file())
                && std::fs::read(&before).ok() == std::fs::read(e.path()).ok();
            if !same {
                std::fs::create_dir_all(at.parent().expect("parent")).expect("dir");
                std::fs::copy(e.path(), &at).expect("copy");
            }
        }
    }
    walkdir::WalkDir::new(old)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.path().strip_prefix(old).expect("under old").to_path_buf())
        .filter(|rel| std::fs::symlink_metadata(new.join(rel)).is_err())
        .collect()
}

/// What two scans of the same tree must agree on.
fn comparable(report: &Value) -> Value {
    let mut r = report.clone();
    let obj = r.as_object_mut().expect("report is a map");
    for k in ["host", "tool", "overlay", "summary"] {
        obj.remove(k);
    }
    r
}

fn ids(report: &Value, key: &str) -> BTreeSet<String> {
    report["overlay"][key]
        .as_array()
        .expect("overlay list")
        .iter()
        .filter_map(|f| f["id"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn neg_plus_the_difference_is_pos() {
    let roots = bind_roots();
    let mut pairs: Vec<String> = std::fs::read_dir(&roots)
        .expect("bind roots")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix("-pos").map(str::to_string))
        .collect();
    pairs.sort();
    assert_eq!(pairs.len(), 30, "one pos/neg pair per signature: {pairs:?}");
    let mut tested = Vec::new();
    let mut removals = Vec::new();
    for pair in &pairs {
        let neg = roots.join(format!("{pair}-neg/root"));
        let pos = roots.join(format!("{pair}-pos/root"));
        let dir = tempdir();
        let gone = difference(&neg, &pos, dir.path());
        if !gone.is_empty() {
            removals.push((pair.clone(), gone));
            continue;
        }
        let id = pair.strip_prefix("sig-").expect("sig- prefix");
        let want = scan_json(&["--root", path(&pos)]);
        let got = scan_json(&["--root", path(&neg), "--overlay", path(dir.path())]);
        assert_eq!(
            comparable(&got),
            comparable(&want),
            "{pair}: neg with the overlay differs from pos"
        );
        let before = scan_json(&["--root", path(&neg)]);
        let introduced = ids(&got, "introduced");
        let fires = want["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["id"] == id && f["severity"] != "info");
        let fired_before = before["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["id"] == id);
        assert!(fires && !fired_before, "{pair}: the pair does not separate");
        assert!(
            introduced.contains(id),
            "{pair}: {id} not introduced by the overlay: {introduced:?}"
        );
        tested.push(pair.clone());
    }
    eprintln!(
        "{} pairs laid as overlays; {} need removals an overlay cannot make: {:?}",
        tested.len(),
        removals.len(),
        removals.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    assert_eq!(tested.len() + removals.len(), 30);
    assert!(
        tested.len() >= 20,
        "only {} of 30 pairs tested: {removals:?}",
        tested.len()
    );
}

/// The workflow of the issue: the report of the root alone, then the
/// root with a clashing PHP extension configuration laid over it; `diff`
/// of the two fails at the finding's severity and not above.
#[test]
fn an_overlay_adding_a_clash_fails_the_diff() {
    let roots = bind_roots();
    let neg = roots.join("sig-libedit-vs-libreadline-neg/root");
    let pos = roots.join("sig-libedit-vs-libreadline-pos/root");
    let dir = tempdir();
    let overlay = dir.path().join("overlay");
    // pos lacks neg's php-fpm SAPI, which an overlay cannot take away;
    // it does not touch the Apache process.
    difference(&neg, &pos, &overlay);
    let before = dir.path().join("before.yaml");
    let after = dir.path().join("after.yaml");
    let (code, _, err) = soclash(&["scan", "--root", path(&neg), "-o", path(&before)]);
    assert_eq!(code, 0, "{err}");
    // The clash is low (it needs Python's interactive readline module,
    // rules/consequence.rs): it fails the scan from --fail-on low.
    let (code, _, err) = soclash(&[
        "scan",
        "--root",
        path(&neg),
        "--overlay",
        path(&overlay),
        "--fail-on",
        "low",
        "-o",
        path(&after),
    ]);
    assert_eq!(code, 1, "the overlay's low finding fails the scan: {err}");
    let report: Value =
        serde_norway::from_str(&std::fs::read_to_string(&after).expect("report")).expect("YAML");
    assert_eq!(
        ids(&report, "introduced"),
        BTreeSet::from(["libedit-vs-libreadline".to_string()])
    );
    assert_eq!(
        report["overlay"]["layers"][0].as_str(),
        Some(path(&overlay))
    );
    let (code, out, err) = soclash(&["diff", path(&before), path(&after), "--fail-on", "low"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("libedit-vs-libreadline"), "{out}");
    let (code, _, err) = soclash(&["diff", path(&before), path(&after), "--fail-on", "medium"]);
    assert_eq!(code, 0, "{err}");
    // The table marks what the overlay introduces.
    let (_, table, _) = soclash(&[
        "scan",
        "--root",
        path(&neg),
        "--overlay",
        path(&overlay),
        "--format",
        "table",
    ]);
    assert!(table.contains("introduced by the overlay"), "{table}");
}

/// A PHP extension package from Debian's archive, downloaded by the test
/// and audited as an overlay of this machine: its shared objects are in
/// the report as added, owned by the package `dpkg-deb -f` names, and
/// enabled as its postinst would; the package stays uninstalled.
#[test]
fn a_debian_package_audits_as_an_overlay_without_being_installed() {
    const PACKAGE: &str = "php8.2-mbstring";
    let status = |p: &str| {
        std::process::Command::new("dpkg-query")
            .args(["-W", "-f=${Status}", p])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    assert!(
        !status(PACKAGE).contains("install ok installed"),
        "{PACKAGE} is installed here; the test needs a package that is not"
    );
    let dir = tempdir();
    // apt-get drops privileges for the download: a directory it may write.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .expect("chmod");
    run_in(dir.path(), "apt-get", &["download", "-q", PACKAGE]);
    let deb = std::fs::read_dir(dir.path())
        .expect("download dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("apt-get download wrote a .deb");
    let name = run_in(dir.path(), "dpkg-deb", &["-f", path(&deb), "Package"]);
    let version = run_in(dir.path(), "dpkg-deb", &["-f", path(&deb), "Version"]);
    let shipped: BTreeSet<String> = run_in(dir.path(), "dpkg-deb", &["-c", path(&deb)])
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|p| p.ends_with(".so"))
        .map(|p| p.trim_start_matches('.').to_string())
        .collect();
    assert!(!shipped.is_empty(), "{PACKAGE} ships no shared object");

    let report = scan_json(&["--overlay-deb", path(&deb)]);
    let overlay = &report["overlay"];
    let layer = overlay["layers"][0].as_str().expect("layer label");
    assert!(
        layer.contains(&format!("({} {})", name.trim(), version.trim())),
        "{layer}"
    );
    assert!(layer.contains("enabled for apache2"), "{layer}");
    let added: BTreeSet<String> = overlay["objects"]["added"]
        .as_array()
        .expect("added objects")
        .iter()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect();
    for so in &shipped {
        assert!(added.contains(so), "{so} not added: {added:?}");
        let object = report["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .find(|o| o["path"] == so.as_str())
            .unwrap_or_else(|| panic!("{so} not in the report"));
        assert_eq!(object["package"]["name"], name.trim(), "{object:#}");
        assert_eq!(object["package"]["version"], version.trim(), "{object:#}");
        // Enabled for mod_php as `apt install` leaves it.
        assert_eq!(object["loaded"], true, "{object:#}");
    }
    assert!(
        !status(PACKAGE).contains("install ok installed"),
        "auditing the package installed it"
    );
    assert!(
        !Path::new("/usr/lib/php/20220829/mbstring.so").exists(),
        "auditing the package wrote into the root"
    );
}

/// A file that is not a package, or an overlay that is not a directory,
/// stops the what-if with one line and exit 2: its answer would be wrong.
#[test]
fn a_bad_overlay_is_a_usage_error() {
    let (code, out, err) = soclash(&["scan", "--overlay-deb", "/etc/hostname"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("cannot unpack /etc/hostname") && err.lines().count() == 1,
        "{err}"
    );
    let (code, _, err) = soclash(&["scan", "--overlay", "/etc/hostname"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a directory"), "{err}");
}
