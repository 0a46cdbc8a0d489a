//! `soclash scan` on the sample hosts that `make sample-libs` builds
//! (sample-libs/scan-roots.sh) under `target/sample-roots/scan/<name>/`:
//!
//! - `debian`: Debian 12 with merged /usr: apache2, modules, mod_php and its
//!   extensions, Python lib-dynload, dist-packages and an auditwheel-style
//!   wheel, plus a non-ELF, a 32-bit and an unresolvable module and a
//!   library installed after ldconfig ran;
//! - `rhel`: the RHEL 9 layout (`/usr/lib64`, `/etc/httpd/modules` as a
//!   relative link), clean, with no Debian path;
//! - `bad`: a small Debian root with a FIFO, a device node, a symlink loop,
//!   a link out of the root, empty and truncated files, mode-000
//!   directories and a linker script where the crawler looks.
//!
//! Each root comes with `expected.txt`, written from what the script built
//! and from what glibc's own loader loaded inside the root under chroot,
//! never from soclash. Its line kinds are explained in its header and in
//! sample-libs/README.md. Every root is also checked for the schema-1 shape
//! of the report, host facts read from the root's own files, identical
//! output for two scans (but for `host.scanned_at`), YAML carrying the same
//! document as JSON, and a scan that finishes within [`TIMEOUT`]. Failures
//! of all roots are collected and reported together.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

use crate::common::{SOCLASH, sample_roots_dir};

/// The sample hosts scan-roots.sh builds.
const ROOTS: [&str; 3] = ["debian", "rhel", "bad"];

/// Every scan must be done by then, the hostile root included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Schema 1 (DESIGN.md): the top-level keys of the report.
const TOP_LEVEL: [&str; 8] = [
    "schema",
    "tool",
    "host",
    "processes",
    "objects",
    "findings",
    "errors",
    "summary",
];

const ROLES: [&str; 5] = [
    "httpd",
    "apache-module",
    "php-extension",
    "python-extension",
    "library",
];

/// The directory of every sample host; panics, naming what is missing and
/// how to build it, when one is not complete.
fn sample_dirs() -> Vec<(&'static str, PathBuf)> {
    let base = sample_roots_dir().join("scan");
    let dirs: Vec<(&str, PathBuf)> = ROOTS.iter().map(|n| (*n, base.join(n))).collect();
    let missing: Vec<String> = dirs
        .iter()
        .filter(|(_, d)| !d.join("expected.txt").is_file() || !d.join("root").is_dir())
        .map(|(_, d)| d.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "scan sample roots missing or incomplete: {}\nrun `make sample-libs` first \
         (as root: it uses chroot and mknod)",
        missing.join(", ")
    );
    dirs
}

/// One line of `expected.txt`.
#[derive(Debug)]
enum Line {
    Object { role: String, path: String },
    Finding { id: String, path: String },
    NoFinding(String),
    Error(String),
    Absent(String),
    AbsentSoname(String),
    Unreadable(String),
    NoPath(String),
}

fn parse_manifest(file: &Path) -> Result<Vec<Line>, String> {
    let text =
        fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut lines = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = raw.split(' ').collect();
        let line = match words.as_slice() {
            ["object", role, path] => Line::Object {
                role: (*role).to_owned(),
                path: (*path).to_owned(),
            },
            ["finding", id, path] => Line::Finding {
                id: (*id).to_owned(),
                path: (*path).to_owned(),
            },
            ["no-finding", id] => Line::NoFinding((*id).to_owned()),
            ["error", path] => Line::Error((*path).to_owned()),
            ["absent", path] => Line::Absent((*path).to_owned()),
            ["absent-soname", name] => Line::AbsentSoname((*name).to_owned()),
            ["unreadable", path] => Line::Unreadable((*path).to_owned()),
            ["no-path", text] => Line::NoPath((*text).to_owned()),
            _ => {
                return Err(format!(
                    "{}:{}: unknown manifest line {raw:?}",
                    file.display(),
                    n + 1
                ));
            }
        };
        lines.push(line);
    }
    if !lines.iter().any(|l| matches!(l, Line::Object { .. })) {
        return Err(format!("{}: no object lines", file.display()));
    }
    Ok(lines)
}

/// Runs `soclash scan --root ROOT ARGS...`, killed after [`TIMEOUT`].
fn scan(root: &Path, args: &[&str]) -> Result<(Output, Duration), String> {
    let mut cmd = Command::new(SOCLASH);
    cmd.arg("scan").arg("--root").arg(root).args(args);
    cmd.timeout(TIMEOUT);
    let shown = format!("soclash scan --root {} {}", root.display(), args.join(" "));
    let start = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let took = start.elapsed();
    if out.status.code().is_none() || took >= TIMEOUT {
        return Err(format!(
            "{shown}: did not finish within {TIMEOUT:?} (killed: {}); stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((out, took))
}

/// A report (JSON or YAML) from a scan that must not have failed (exit 2).
fn report(root: &Path, format: &str) -> Result<(Value, String, Duration), String> {
    let (out, took) = scan(root, &["--format", format])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !matches!(out.status.code(), Some(0 | 1)) {
        return Err(format!(
            "scan --root {} --format {format}: {} (expected 0 or 1); stderr: {stderr}",
            root.display(),
            out.status
        ));
    }
    let text = String::from_utf8(out.stdout)
        .map_err(|e| format!("--format {format}: output is not UTF-8: {e}"))?;
    let value: Value = match format {
        "json" => serde_json::from_str(&text).map_err(|e| format!("--format json: {e}"))?,
        _ => serde_norway::from_str(&text).map_err(|e| format!("--format yaml: {e}"))?,
    };
    Ok((value, text, took))
}

/// `text` with the value of `host.scanned_at` replaced, for comparisons.
fn without_time(value: &Value, text: &str) -> String {
    match value["host"]["scanned_at"].as_str() {
        Some(t) if !t.is_empty() => text.replacen(t, "<scanned_at>", 1),
        _ => text.to_owned(),
    }
}

fn strip_time(mut value: Value) -> Value {
    if let Some(host) = value.get_mut("host").and_then(Value::as_object_mut) {
        host.remove("scanned_at");
    }
    value
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// First line of a root's file, trimmed.
fn first_line(root: &Path, inner: &str) -> Option<String> {
    let text = fs::read_to_string(root.join(inner)).ok()?;
    let line = text.lines().next()?.trim().to_owned();
    (!line.is_empty()).then_some(line)
}

/// A key of the root's os-release(5), unquoted.
fn os_release(root: &Path, key: &str) -> Option<String> {
    let text = fs::read_to_string(root.join("etc/os-release")).ok()?;
    text.lines().find_map(|l| {
        let v = l.strip_prefix(key)?.strip_prefix('=')?.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        Some(v.to_owned())
    })
}

/// Everything wrong with the scan of one sample host.
fn check_root(name: &str, dir: &Path, notes: &mut Vec<String>) -> Vec<String> {
    let mut fail = Vec::new();
    let manifest = match parse_manifest(&dir.join("expected.txt")) {
        Ok(m) => m,
        Err(e) => return vec![e],
    };
    let root = dir.join("root");
    let (json, json_text, took) = match report(&root, "json") {
        Ok(r) => r,
        Err(e) => return vec![e],
    };
    notes.push(format!("{name}: scanned in {took:.2?}"));

    // Shape: schema 1.
    let keys: BTreeSet<&str> = json
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let want: BTreeSet<&str> = TOP_LEVEL.into_iter().collect();
    if keys != want {
        fail.push(format!(
            "top-level keys {keys:?}, schema 1 has {want:?} (missing {:?}, extra {:?})",
            want.difference(&keys).collect::<Vec<_>>(),
            keys.difference(&want).collect::<Vec<_>>()
        ));
    }
    if json["schema"] != 1 {
        fail.push(format!("schema is {}, not 1", json["schema"]));
    }
    let empty = Vec::new();
    let objects = json["objects"].as_array().unwrap_or(&empty);
    let findings = json["findings"].as_array().unwrap_or(&empty);
    let errors = json["errors"].as_array().unwrap_or(&empty);
    for key in ["objects", "findings", "errors", "processes"] {
        if !json[key].is_array() {
            fail.push(format!("{key} is not a list: {}", json[key]));
        }
    }

    // Objects by canonical path: one entry per file.
    let mut by_path: BTreeMap<&str, &Value> = BTreeMap::new();
    for o in objects {
        let Some(path) = o["path"].as_str() else {
            fail.push(format!("object without a path: {o}"));
            continue;
        };
        if by_path.insert(path, o).is_some() {
            fail.push(format!("object {path} listed twice"));
        }
        let role = o["role"].as_str().unwrap_or("");
        if !ROLES.contains(&role) {
            fail.push(format!(
                "object {path}: role {:?} is not one of {ROLES:?}",
                o["role"]
            ));
        }
    }
    let names_of =
        |o: &Value| -> Vec<String> { strs(&o["names"]).into_iter().map(str::to_owned).collect() };
    let error_paths: BTreeSet<&str> = errors.iter().filter_map(|e| e["path"].as_str()).collect();
    let show_errors = || {
        if errors.is_empty() {
            return "  (none)".to_owned();
        }
        errors
            .iter()
            .map(|e| format!("  {} ({})", e["path"], e["reason"]))
            .collect::<Vec<_>>()
            .join("\n")
    };

    // The manifest, line by line.
    let mut expected_objects = BTreeSet::new();
    let mut maybe_objects = BTreeSet::new();
    for line in &manifest {
        match line {
            Line::Object { role, path } => {
                expected_objects.insert(path.as_str());
                match by_path.get(path.as_str()) {
                    Some(o) if o["role"] == role.as_str() => {}
                    Some(o) => fail.push(format!(
                        "object {path}: role {}, expected {role}",
                        o["role"]
                    )),
                    None => {
                        let alias = objects
                            .iter()
                            .find(|o| names_of(o).iter().any(|n| n == path))
                            .map_or(String::new(), |o| {
                                format!(" (it is a name of {})", o["path"])
                            });
                        let err = if error_paths.contains(path.as_str()) {
                            " (listed under errors)"
                        } else {
                            ""
                        };
                        fail.push(format!(
                            "object {path} ({role}) missing from objects{alias}{err}"
                        ));
                    }
                }
            }
            Line::Finding { id, path } => {
                // expected.txt's unresolved-dependency lines are ldd's "not
                // found" in the chroot, the object alone. The scan judges in
                // the processes (issue 15): ldd's half suffices only while no
                // process has the object as a member (here: no root has an
                // Apache configuration to model); a member found the name.
                if id == "unresolved-dependency" {
                    let member = by_path
                        .get(path.as_str())
                        .and_then(|o| o["processes"].as_array())
                        .is_some_and(|p| !p.is_empty());
                    if member {
                        fail.push(format!(
                            "{path}: ldd misses a name alone, but a process has it as a member: \
                             the expectation needs the in-process half"
                        ));
                    }
                }
                let hit = findings.iter().any(|f| {
                    f["id"] == id.as_str() && strs(&f["objects"]).contains(&path.as_str())
                });
                if !hit {
                    let same: Vec<String> = findings
                        .iter()
                        .filter(|f| f["id"] == id.as_str())
                        .map(|f| format!("  {} objects {}", f["title"], f["objects"]))
                        .collect();
                    fail.push(format!(
                        "no finding {id} for {path}; findings with that id: {}",
                        if same.is_empty() {
                            "none".to_owned()
                        } else {
                            format!("\n{}", same.join("\n"))
                        }
                    ));
                }
            }
            Line::NoFinding(id) => {
                for f in findings.iter().filter(|f| f["id"] == id.as_str()) {
                    fail.push(format!(
                        "unexpected finding {id}: {} (objects {}, evidence {})",
                        f["title"], f["objects"], f["evidence"]
                    ));
                }
            }
            Line::Error(path) => {
                // A file the scan could not audit: an errors[] entry, or,
                // for an object of the web stack, an `unreadable-object`
                // finding, which a partial audit cannot pass without
                // (issue 15).
                let unreadable = findings.iter().any(|f| {
                    f["id"] == "unreadable-object" && strs(&f["objects"]).contains(&path.as_str())
                });
                if !error_paths.contains(path.as_str()) && !unreadable {
                    fail.push(format!(
                        "no errors entry or unreadable-object finding for {path}; errors:\n{}",
                        show_errors()
                    ));
                }
            }
            Line::Absent(path) => {
                for o in objects {
                    if o["path"] == path.as_str() || names_of(o).iter().any(|n| n == path) {
                        fail.push(format!(
                            "{path} must not be an object, but is listed: {} ({}, soname {})",
                            o["path"], o["role"], o["soname"]
                        ));
                    }
                }
            }
            Line::AbsentSoname(soname) => {
                for o in objects.iter().filter(|o| o["soname"] == soname.as_str()) {
                    fail.push(format!(
                        "no object may have soname {soname} (a file outside the root was read?): {}",
                        o["path"]
                    ));
                }
            }
            Line::Unreadable(path) => {
                // Root's capabilities bypass mode 000: reading the file is as
                // right as an error for it or a directory above it; the
                // crawler need not enter a subdirectory of a flat place.
                maybe_objects.insert(path.as_str());
                let object = by_path.contains_key(path.as_str());
                let error = error_paths
                    .iter()
                    .find(|e| path.as_str() == **e || Path::new(path).starts_with(Path::new(e)));
                let outcome = match (object, error) {
                    (true, _) => "read (an object)".to_owned(),
                    (false, Some(e)) => format!("an error for {e}"),
                    (false, None) => "not listed".to_owned(),
                };
                notes.push(format!(
                    "{name}: {path} under a mode-000 directory: {outcome}"
                ));
            }
            Line::NoPath(text) => {
                let mut paths: Vec<(String, String)> = Vec::new();
                for o in objects {
                    let p = o["path"].as_str().unwrap_or("").to_owned();
                    paths.push((format!("object {p}"), p.clone()));
                    for n in names_of(o) {
                        paths.push((format!("name of {p}"), n));
                    }
                    if let Some(r) = o["resolved"].as_object() {
                        for (k, v) in r {
                            if let Some(v) = v.as_str() {
                                paths.push((format!("{p} resolves {k} to"), v.to_owned()));
                            }
                        }
                    }
                }
                for f in findings {
                    for p in strs(&f["objects"]) {
                        paths.push((format!("finding {}", f["id"]), p.to_owned()));
                    }
                }
                for (what, p) in paths {
                    if p.contains(text.as_str()) {
                        fail.push(format!("{what} {p}: contains {text:?}"));
                    }
                }
            }
        }
    }
    // The manifest lists every object: the candidates as built and every
    // library glibc's loader loaded for them.
    for path in by_path.keys() {
        if !expected_objects.contains(path) && !maybe_objects.contains(path) {
            let o = by_path[path];
            fail.push(format!(
                "unexpected object {path} ({}): not built as a candidate, not loaded by ld.so",
                o["role"]
            ));
        }
    }

    // Summary agrees with the lists.
    let summary = &json["summary"];
    if summary["objects"] != objects.len() {
        fail.push(format!(
            "summary.objects {} but {} objects",
            summary["objects"],
            objects.len()
        ));
    }
    if summary["errors"] != errors.len() {
        fail.push(format!(
            "summary.errors {} but {} errors",
            summary["errors"],
            errors.len()
        ));
    }
    let total = |v: &Value| -> Option<u64> {
        v.as_u64().or_else(|| {
            v.as_object()
                .map(|m| m.values().filter_map(Value::as_u64).sum())
        })
    };
    if total(&summary["by_role"]) != Some(objects.len() as u64) {
        fail.push(format!(
            "summary.by_role {} does not add up to {} objects",
            summary["by_role"],
            objects.len()
        ));
    }
    if total(&summary["findings"]) != Some(findings.len() as u64) {
        fail.push(format!(
            "summary.findings {} does not add up to {} findings",
            summary["findings"],
            findings.len()
        ));
    }

    // Host facts come from the root's own files.
    let host = &json["host"];
    let hostname = first_line(&root, "etc/hostname");
    if host["hostname"].as_str() != hostname.as_deref() {
        fail.push(format!(
            "host.hostname {}, the root's etc/hostname says {hostname:?}",
            host["hostname"]
        ));
    }
    for (key, field) in [("ID", "id"), ("VERSION_ID", "version_id")] {
        let want = os_release(&root, key);
        if host["os_release"][field].as_str() != want.as_deref() {
            fail.push(format!(
                "host.os_release.{field} {}, the root's etc/os-release says {want:?}",
                host["os_release"][field]
            ));
        }
    }
    if host["scanned_at"].as_str().is_none_or(str::is_empty) {
        fail.push(format!("host.scanned_at is {}", host["scanned_at"]));
    }

    // Deterministic: a second scan gives the same bytes but for scanned_at.
    match report(&root, "json") {
        Ok((again, again_text, _)) => {
            if without_time(&json, &json_text) != without_time(&again, &again_text) {
                let first = without_time(&json, &json_text);
                let second = without_time(&again, &again_text);
                let diff = first
                    .lines()
                    .zip(second.lines())
                    .enumerate()
                    .find(|(_, (a, b))| a != b)
                    .map_or_else(
                        || "(one output is a prefix of the other)".to_owned(),
                        |(i, (a, b))| format!("line {}: {a:?} then {b:?}", i + 1),
                    );
                fail.push(format!("two scans differ beyond host.scanned_at: {diff}"));
            }
        }
        Err(e) => fail.push(format!("second scan: {e}")),
    }

    // YAML carries the same document as JSON.
    match report(&root, "yaml") {
        Ok((yaml, _, _)) => {
            let (a, b) = (strip_time(json.clone()), strip_time(yaml));
            if a != b {
                let keys: Vec<&str> = TOP_LEVEL
                    .into_iter()
                    .filter(|k| a.get(k) != b.get(k))
                    .collect();
                fail.push(format!(
                    "--format yaml is not the --format json document (differs in {keys:?})"
                ));
            }
        }
        Err(e) => fail.push(e),
    }
    fail
}

#[test]
fn scan_reports_what_each_sample_root_holds() {
    let dirs = sample_dirs();
    let mut report = String::new();
    let mut notes = Vec::new();
    let mut failed = Vec::new();
    for (name, dir) in &dirs {
        let fail = check_root(name, dir, &mut notes);
        if !fail.is_empty() {
            let _ = writeln!(report, "=== scan root {name} ({}) ===", dir.display());
            for f in &fail {
                let _ = writeln!(report, "- {f}");
            }
            failed.push(format!("{name} ({} problem(s))", fail.len()));
        }
    }
    for n in &notes {
        eprintln!("{n}");
    }
    assert!(
        failed.is_empty(),
        "{report}soclash scan disagrees with the manifest of {} of {} sample roots: {}",
        failed.len(),
        dirs.len(),
        failed.join(", ")
    );
    eprintln!("{0}/{0} scan sample roots as built", dirs.len());
}

#[test]
fn scan_exit_codes() {
    let dirs: BTreeMap<&str, PathBuf> = sample_dirs().into_iter().collect();
    let mut fail = Vec::new();

    // A root that cannot be used: 2, one line on stderr, nothing on stdout.
    let missing = sample_roots_dir().join("scan").join("no-such-root");
    let file = dirs["debian"].join("expected.txt");
    for (what, root) in [("missing root", &missing), ("regular file as root", &file)] {
        match scan(root, &["--format", "json"]) {
            Ok((out, _)) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                if out.status.code() != Some(2) {
                    fail.push(format!("{what}: {}, expected exit 2", out.status));
                }
                if stderr.lines().count() != 1 || !stderr.ends_with('\n') {
                    fail.push(format!(
                        "{what}: stderr must be exactly one line, is {stderr:?}"
                    ));
                }
                if !out.stdout.is_empty() {
                    fail.push(format!(
                        "{what}: nothing may go to stdout, got {:?}",
                        String::from_utf8_lossy(&out.stdout)
                    ));
                }
            }
            Err(e) => fail.push(format!("{what}: {e}")),
        }
    }

    // The debian root has high findings (unresolved-dependency,
    // wrong-architecture) and nothing critical.
    let root = dirs["debian"].join("root");
    for (level, want) in [("high", 1), ("critical", 0)] {
        match scan(&root, &["--format", "json", "--fail-on", level]) {
            Ok((out, _)) if out.status.code() == Some(want) => {}
            Ok((out, _)) => fail.push(format!(
                "debian --fail-on {level}: {}, expected exit {want}; stderr: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )),
            Err(e) => fail.push(format!("debian --fail-on {level}: {e}")),
        }
    }
    assert!(fail.is_empty(), "exit codes:\n- {}", fail.join("\n- "));
}
