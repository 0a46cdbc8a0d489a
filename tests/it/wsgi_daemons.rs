//! mod_wsgi's daemon process groups as processes of their own, on the
//! `wsgi` image sample root (sample-libs/image-roots.sh `root_wsgi`):
//! `WSGIDaemonProcess one` and `two` with a virtualenv each, a group `idle`
//! no application names (on two's virtualenv), and an embedded application
//! whose `WSGIPythonPath` module only the Apache children may import;
//! mod_php loads an extension whose library defines `clash_fn`.
//!
//! How the root is built says what must come out (image_roots.rs checks
//! every process's members against the manifest; this checks what the scan
//! and the commands make of them):
//!
//! - each virtualenv has its own build of the wheel `clashpkg`, whose
//!   module calls `clash_fn` and bundles its own copy: in every daemon,
//!   PHP's global `libclashx.so.1` takes that call, one root cause (the
//!   distribution) in three processes: one finding naming them;
//! - both builds bundle `libsame-33333333.so.1`, one soname, different
//!   files: in one process the second would be the first's (L1), but no
//!   process holds both virtualenvs, so no finding may name both;
//! - every member of every process is an object of the report, with the
//!   processes it is in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::common::{SOCLASH, sample_roots_dir};

const SITE1: &str = "/srv/one/venv/lib/python3.11/site-packages";
const SITE2: &str = "/srv/two/venv/lib/python3.11/site-packages";
const CLASH: &str = "clashpkg/_clash.cpython-311-x86_64-linux-gnu.so";
const EMB: &str = "/srv/emb/lib/_emb.cpython-311-x86_64-linux-gnu.so";
const PHP_LIB: &str = "/usr/lib/x86_64-linux-gnu/libclashx.so.1";

fn root() -> PathBuf {
    let r = sample_roots_dir().join("image/wsgi/root");
    assert!(
        r.is_dir(),
        "{} missing: run `make sample-libs`",
        r.display()
    );
    r
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(SOCLASH)
        .args(args)
        .output()
        .expect("run soclash");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// The scan: one process per daemon group in configuration order after
/// Apache's children; the clash of the wheel with PHP's library once, in
/// every daemon that imports it; nothing between the two virtualenvs.
#[test]
fn daemon_groups_are_processes_and_their_clash_one_finding() {
    let root = root();
    let (code, out, err) = run(&[
        "scan",
        "--format",
        "json",
        "--root",
        root.to_str().expect("a UTF-8 path"),
    ]);
    assert!(matches!(code, Some(0 | 1)), "scan failed ({code:?}): {err}");
    let report: Value = serde_json::from_str(&out).expect("scan --format json is JSON");
    let names: Vec<String> = report["processes"]
        .as_array()
        .expect("processes")
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(names, ["apache", "wsgi:one", "wsgi:two", "wsgi:idle"]);

    let findings = report["findings"].as_array().expect("findings");
    let mentions = |f: &Value| -> BTreeSet<String> {
        let mut m: BTreeSet<String> = strs(&f["objects"]).into_iter().collect();
        for b in f["bindings"].as_array().into_iter().flatten() {
            for k in ["from", "expected", "actual"] {
                if let Some(s) = b[k].as_str() {
                    m.insert(s.to_string());
                }
            }
        }
        m
    };
    let clash: Vec<&Value> = findings
        .iter()
        .filter(|f| {
            let m = mentions(f);
            m.contains(PHP_LIB) && m.iter().any(|o| o.ends_with(CLASH))
        })
        .collect();
    assert_eq!(
        clash.len(),
        1,
        "the wheel's clash with PHP's library is one finding: {clash:#?}"
    );
    let f = clash[0];
    let mut processes = strs(&f["processes"]);
    processes.sort();
    assert_eq!(processes, ["wsgi:idle", "wsgi:one", "wsgi:two"], "{f:#}");
    assert_eq!(f["process"], "wsgi:one");
    for site in [SITE1, SITE2] {
        assert!(
            mentions(f).contains(&format!("{site}/{CLASH}")),
            "{site}'s module is a location of {f:#}"
        );
    }
    let same1 = format!("{SITE1}/clashpkg.libs/libsame-33333333.so.1");
    let same2 = format!("{SITE2}/clashpkg.libs/libsame-33333333.so.1");
    let across: Vec<&Value> = findings
        .iter()
        .filter(|f| {
            let m = mentions(f);
            m.contains(&same1) && m.contains(&same2)
        })
        .collect();
    assert!(
        across.is_empty(),
        "no process holds both virtualenvs: {across:#?}"
    );
    assert!(
        !findings.iter().any(|f| f["process"] == "apache"
            && mentions(f)
                .iter()
                .any(|o| o.starts_with("/srv/one/") || o.starts_with("/srv/two/"))),
        "the Apache children import nothing from the daemons' virtualenvs"
    );
}

/// Every member of every process is an object of the report, listing the
/// processes it is in: a virtualenv's modules and the libraries they
/// bundle, and the embedded application's `WSGIPythonPath` module (in
/// apache alone), which only the model finds.
#[test]
fn every_member_is_an_object_with_its_processes() {
    let root = root();
    let (code, out, err) = run(&[
        "scan",
        "--format",
        "json",
        "--root",
        root.to_str().expect("a UTF-8 path"),
    ]);
    assert!(matches!(code, Some(0 | 1)), "scan failed ({code:?}): {err}");
    let report: Value = serde_json::from_str(&out).expect("scan --format json is JSON");
    let objects: BTreeMap<String, &Value> = report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter_map(|o| Some((o["path"].as_str()?.to_string(), o)))
        .collect();
    let mut missing = Vec::new();
    for p in report["processes"].as_array().expect("processes") {
        let name = p["name"].as_str().unwrap_or_default();
        for m in p["members"].as_array().into_iter().flatten() {
            let path = m["object"].as_str().unwrap_or_default();
            match objects.get(path) {
                Some(o) if strs(&o["processes"]).iter().any(|x| x == name) => {}
                Some(o) => missing.push(format!("{path}: lists {:?}, not {name}", o["processes"])),
                None => missing.push(format!("{path} ({name}) is no object")),
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    let role = |p: &str| objects.get(p).map(|o| o["role"].clone());
    assert_eq!(
        role(&format!("{SITE1}/{CLASH}")),
        Some("python-extension".into())
    );
    assert_eq!(
        role(&format!("{SITE1}/clashpkg.libs/libclashx-11111111.so.1")),
        Some("library".into())
    );
    assert_eq!(
        objects.get(EMB).map(|o| strs(&o["processes"])),
        Some(vec!["apache".to_string()])
    );
}

/// `image` shows every process, `--process wsgi:GROUP` one of them, and a
/// group the root does not have is an error that names the ones it has.
#[test]
fn image_and_explain_take_daemon_processes() {
    let root = root();
    let root = root.to_str().expect("a UTF-8 path");
    let (code, out, err) = run(&["image", "--format", "json", "--root", root]);
    assert_eq!(code, Some(0), "{err}");
    let doc: Value = serde_json::from_str(&out).expect("JSON");
    let names: Vec<&str> = doc["processes"]
        .as_array()
        .expect("processes")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["apache", "wsgi:one", "wsgi:two", "wsgi:idle"]);

    let (code, out, err) = run(&[
        "image",
        "--format",
        "json",
        "--process",
        "wsgi:two",
        "--root",
        root,
    ]);
    assert_eq!(code, Some(0), "{err}");
    let doc: Value = serde_json::from_str(&out).expect("JSON");
    let procs = doc["processes"].as_array().expect("processes");
    assert_eq!(procs.len(), 1);
    assert_eq!(procs[0]["name"], "wsgi:two");

    let (code, _, err) = run(&["image", "--process", "wsgi:nosuch", "--root", root]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "no process wsgi:nosuch on this root; modelled: apache, wsgi:one, wsgi:two, wsgi:idle"
        ),
        "{err}"
    );
    let (code, _, err) = run(&["image", "--process", "nginx", "--root", root]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("unknown process \"nginx\""), "{err}");

    // In daemon one, the module's call goes to PHP's library.
    let (code, out, err) = run(&[
        "explain",
        "--format",
        "json",
        "--process",
        "wsgi:one",
        "--root",
        root,
        "clash_fn",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let doc: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(doc["process"], "wsgi:one");
    let refs = doc["references"].as_array().expect("references");
    let from_module = refs
        .iter()
        .find(|r| r["object"].as_str().is_some_and(|f| f.ends_with(CLASH)))
        .unwrap_or_else(|| panic!("no reference from the module: {doc:#}"));
    assert_eq!(from_module["binds_to"], PHP_LIB, "{doc:#}");
    assert_eq!(
        from_module["expected"],
        format!("{SITE1}/clashpkg.libs/libclashx-11111111.so.1"),
        "{doc:#}"
    );
}
