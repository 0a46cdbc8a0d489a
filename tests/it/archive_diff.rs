//! `scan --archive` and `soclash diff` on the sample roots `make
//! sample-libs` builds: archiving twice and diffing shows no change; a
//! clash added between two reports is an added finding and fails at
//! `--fail-on`; an archived report is never overwritten; a report of
//! another schema is refused, not misread.

use std::path::Path;

use serde_json::Value;

use crate::common::{bind_root, path, soclash, tempdir};

#[test]
fn archive_twice_then_diff_shows_nothing() {
    let r = bind_root("sig-pysqlite-cache-init-vs-mod-cache-neg");
    let host = std::fs::read_to_string(r.join("etc/hostname")).expect("hostname");
    archive_twice(&r, host.trim());
}

/// The same on this machine's own web stack, named by its hostname.
#[test]
fn archive_this_host_twice_then_diff_shows_nothing() {
    let out = std::process::Command::new("hostname")
        .output()
        .expect("hostname runs");
    let host = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!host.is_empty(), "hostname printed nothing");
    archive_twice(Path::new("/"), &host);
}

fn archive_twice(r: &Path, host: &str) {
    let dir = tempdir();
    for _ in 0..2 {
        let (code, _, err) = soclash(&[
            "scan",
            "--root",
            path(r),
            "--format",
            "json",
            "-o",
            "/dev/null",
            "--archive",
            path(dir.path()),
        ]);
        assert!(code == 0 || code == 1, "{err}");
        assert!(err.contains("; archived "), "{err}");
        // Reports are named by the second they were made in.
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let hdir = dir.path().join(host);
    let mut files: Vec<String> = std::fs::read_dir(&hdir)
        .expect("host directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    for f in &files {
        let stamp = f.strip_suffix(".yaml").expect(".yaml");
        let ok = stamp.len() == 16
            && stamp.as_bytes()[8] == b'T'
            && stamp.ends_with('Z')
            && stamp[..8]
                .bytes()
                .chain(stamp[9..15].bytes())
                .all(|b| b.is_ascii_digit());
        assert!(ok, "{f} is not <UTC %Y%m%dT%H%M%SZ>.yaml");
    }
    let (code, out, err) = soclash(&[
        "diff",
        "--archive",
        path(dir.path()),
        host,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let d: Value = serde_json::from_str(&out).expect("JSON");
    for (k, l) in [
        ("findings", "added"),
        ("findings", "resolved"),
        ("findings", "changed"),
        ("objects", "added"),
        ("objects", "removed"),
        ("objects", "changed"),
    ] {
        assert_eq!(d[k][l], Value::Array(Vec::new()), "{k}.{l}: {d:#}");
    }
    let (_, out, _) = soclash(&["diff", "--archive", path(dir.path()), host]);
    assert!(out.contains("No change."), "{out}");
}

#[test]
fn an_added_clash_fails_at_its_severity() {
    let dir = tempdir();
    let old = dir.path().join("old.yaml");
    let new = dir.path().join("new.yaml");
    for (name, file) in [
        ("sig-pysqlite-cache-init-vs-mod-cache-neg", &old),
        ("sig-pysqlite-cache-init-vs-mod-cache-pos", &new),
    ] {
        let (code, _, err) = soclash(&[
            "scan",
            "--root",
            path(&bind_root(name)),
            "--format",
            "yaml",
            "-o",
            path(file),
            "--fail-on",
            "critical",
        ]);
        assert_eq!(code, 0, "{err}");
    }
    let (code, out, _) = soclash(&["diff", path(&old), path(&new), "--format", "json"]);
    assert_eq!(code, 1, "a high finding was added");
    let d: Value = serde_json::from_str(&out).expect("JSON");
    let added: Vec<&str> = d["findings"]["added"]
        .as_array()
        .expect("added")
        .iter()
        .map(|f| f["id"].as_str().expect("id"))
        .collect();
    assert_eq!(added, ["pysqlite-cache-init-vs-mod-cache"]);
    let (code, _, _) = soclash(&["diff", path(&old), path(&new), "--fail-on", "critical"]);
    assert_eq!(code, 0, "nothing critical was added");
    // The other way round it is resolved, and nothing is added.
    let (code, out, _) = soclash(&["diff", path(&new), path(&old), "--format", "json"]);
    assert_eq!(code, 0);
    let d: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(d["findings"]["resolved"].as_array().map(Vec::len), Some(1));
}

#[test]
fn archived_reports_are_never_overwritten_and_other_schemas_refused() {
    let dir = tempdir();
    let file = dir.path().join("r.yaml");
    let (_, _, err) = soclash(&[
        "scan",
        "--root",
        path(&bind_root("sig-pysqlite-cache-init-vs-mod-cache-neg")),
        "--format",
        "yaml",
        "-o",
        path(&file),
    ]);
    let report = soclash::report::diff::read_report(&file).unwrap_or_else(|e| panic!("{e} {err}"));
    // The report names its signature set, so later diffs can tell.
    assert!(
        report
            .tool
            .signatures
            .as_deref()
            .is_some_and(|s| s.contains(" signatures, fnv1a ")),
        "{:?}",
        report.tool
    );
    let archive = dir.path().join("archive");
    let first = soclash::report::diff::archive(&archive, &report).expect("first write");
    let before = std::fs::read(&first).expect("written");
    let again = soclash::report::diff::archive(&archive, &report);
    assert!(again.is_err(), "the same name again must not overwrite");
    assert_eq!(std::fs::read(&first).expect("still there"), before);

    let text = std::fs::read_to_string(&file).expect("report");
    let other = dir.path().join("schema2.yaml");
    std::fs::write(&other, text.replacen("schema: 1", "schema: 2", 1)).expect("write");
    let (code, _, err) = soclash(&["diff", path(&file), path(&other)]);
    assert_eq!(code, 2);
    assert!(err.contains("schema 2"), "{err}");
}
