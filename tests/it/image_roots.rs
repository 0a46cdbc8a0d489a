//! `soclash image` on the sample hosts that `make sample-libs` builds
//! (sample-libs/image-roots.sh) under `target/sample-roots/image/<name>/`:
//!
//! - `debian`: apache2 started by apache2ctl with envvars, mods-enabled
//!   `*.load` then `*.conf` (relative links and one absolute link, a module
//!   only in mods-available), `<IfModule mod_status.c>`, `<IfDefine>` set by
//!   `APACHE_ARGUMENTS` and one never set, a NODELETE library that survives
//!   the first configuration pass, `LoadFile`; mod_php 8.2 and php-fpm8.2
//!   with their own conf.d (an apache2-only and an fpm-only extension);
//!   mod_wsgi with lib-dynload, and a `WSGIDaemonProcess python-home=`
//!   group, the process `wsgi:app`, with its virtualenv (another
//!   virtualenv only in a disabled site);
//! - `rhel`: `ServerRoot "/etc/httpd"`, `Include conf.modules.d/*.conf`,
//!   `<IfModule prefork.c>` in 15-php.conf after 00-mpm.conf loaded prefork,
//!   modules through the `/etc/httpd/modules` link, `/etc/php.ini` and
//!   `/etc/php.d` for mod_php and php-fpm;
//! - `source`: `/usr/local/apache2`, `LoadModule` relative to ServerRoot,
//!   `Include conf/extra/*.conf` in byte order (`B.conf` before `a.conf`);
//! - `wsgi`: three mod_wsgi daemon process groups (two with a virtualenv
//!   each, one no application names) and an embedded application with
//!   `WSGIPythonPath`, each group a process `wsgi:GROUP`;
//! - `staticpy` and `sharedpy`: httpd and Python 3.11 built from source
//!   under /usr/local, mod_wsgi with libpython linked statically (its
//!   version and prefix from the strings compiled into it) or shared, the
//!   same lib-dynload and site-packages modules imported in both;
//! - `plugins`: library plugins (glibc's gconv modules its configuration
//!   names, ImageMagick's coders and filters, SASL mechanisms, GIO modules,
//!   OpenSSL's providers) as members that may be loaded, with their
//!   loaders' modes.
//!
//! Each root comes with `expected.txt`: what each process loads, written by
//! the script with the configuration, and what those objects bring in as
//! glibc's own loader loads it inside the root under chroot; never from
//! soclash. For every process the manifest names, this test runs
//! `soclash image --root ROOT --process P --format json`, checks the shape
//! of the document (a `processes` list of `{name, members, scopes, errors,
//! notes}`), that the process has no `errors` (the roots are built so that
//! every file is there and loads), and every manifest line:
//!
//! | line | the process must |
//! | --- | --- |
//! | `member P PATH` | have a member whose `object` is PATH |
//! | `not-member P PATH` | have none |
//! | `before P A B` | list A before B in `members` (link-map order) |
//! | `flags P PATH FLAGS` | give PATH's member `flags` FLAGS |
//! | `global P PATH` | have PATH in `scopes.global`, its member `global` |
//! | `local P PATH` | have PATH as a member outside `scopes.global` |
//!
//! Failures of all roots and processes are collected and reported together;
//! a process soclash refuses (an exit status other than 0) is reported with
//! its stderr and the number of lines left unchecked.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

use crate::common::{SOCLASH, sample_roots_dir};

/// The sample hosts image-roots.sh builds.
const ROOTS: [&str; 7] = [
    "debian", "rhel", "source", "wsgi", "staticpy", "sharedpy", "plugins",
];

/// Every run must be done by then.
const TIMEOUT: Duration = Duration::from_secs(10);

/// `how` of a member (DESIGN.md, `image`).
const HOW: [&str; 4] = ["exec", "needed", "preload", "dlopen"];

/// The directory of every sample host; panics, naming what is missing and
/// how to build it, when one is not complete.
fn sample_dirs() -> Vec<(&'static str, PathBuf)> {
    let base = sample_roots_dir().join("image");
    let dirs: Vec<(&str, PathBuf)> = ROOTS.iter().map(|n| (*n, base.join(n))).collect();
    let missing: Vec<String> = dirs
        .iter()
        .filter(|(_, d)| !d.join("expected.txt").is_file() || !d.join("root").is_dir())
        .map(|(_, d)| d.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "image sample roots missing or incomplete: {}\nrun `make sample-libs` first \
         (as root: the manifest comes from ld.so run under chroot)",
        missing.join(", ")
    );
    dirs
}

/// What one manifest line asks of its process.
#[derive(Debug)]
enum Check {
    Member(String),
    NotMember(String),
    Before(String, String),
    Flags(String, String),
    Global(String),
    Local(String),
}

/// One line of `expected.txt`, with the process it is about.
#[derive(Debug)]
struct Line {
    process: String,
    check: Check,
    text: String,
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
        let own = |s: &str| s.to_owned();
        let (process, check) = match words.as_slice() {
            ["member", p, path] => (p, Check::Member(own(path))),
            ["not-member", p, path] => (p, Check::NotMember(own(path))),
            ["before", p, a, b] => (p, Check::Before(own(a), own(b))),
            ["flags", p, path, flags] => (p, Check::Flags(own(path), own(flags))),
            ["global", p, path] => (p, Check::Global(own(path))),
            ["local", p, path] => (p, Check::Local(own(path))),
            _ => {
                return Err(format!(
                    "{}:{}: unknown manifest line {raw:?}",
                    file.display(),
                    n + 1
                ));
            }
        };
        lines.push(Line {
            process: (*process).to_owned(),
            check,
            text: raw.to_owned(),
        });
    }
    if !lines.iter().any(|l| matches!(l.check, Check::Member(_))) {
        return Err(format!("{}: no member lines", file.display()));
    }
    Ok(lines)
}

/// One member as the report gives it.
struct Member {
    object: String,
    flags: String,
    global: bool,
}

/// The parts of one process the manifest speaks about.
struct Image {
    members: Vec<Member>,
    global_scope: Vec<String>,
    errors: Vec<String>,
    notes: Vec<String>,
}

/// Runs `soclash image --root ROOT --process P --format json`: the process,
/// or why there is none. Shape problems go to `fail`.
fn image(root: &Path, process: &str, fail: &mut Vec<String>) -> Result<Image, String> {
    let mut cmd = Command::new(SOCLASH);
    cmd.arg("image")
        .arg("--root")
        .arg(root)
        .args(["--process", process, "--format", "json"]);
    cmd.timeout(TIMEOUT);
    let shown = format!(
        "soclash image --root {} --process {process} --format json",
        root.display()
    );
    let start = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code().is_none() || start.elapsed() >= TIMEOUT {
        return Err(format!(
            "{shown}: did not finish within {TIMEOUT:?} ({}); stderr: {stderr}",
            out.status
        ));
    }
    if !out.status.success() {
        let hint = if stderr.contains("unknown process") {
            " (soclash does not model this process yet)"
        } else {
            ""
        };
        return Err(format!(
            "{shown}: {}{hint}; stderr: {}",
            out.status,
            stderr.trim_end()
        ));
    }
    let doc: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{shown}: output is not JSON: {e}"))?;
    let Some(processes) = doc["processes"].as_array() else {
        return Err(format!("{shown}: no top-level `processes` list"));
    };
    let Some(p) = processes.iter().find(|p| p["name"] == process) else {
        let names: Vec<String> = processes.iter().map(|p| p["name"].to_string()).collect();
        return Err(format!(
            "{shown}: no process named {process:?} in `processes` (names: {})",
            names.join(", ")
        ));
    };
    if processes.len() != 1 {
        fail.push(format!(
            "{process}: `processes` has {} entries, expected the one asked for",
            processes.len()
        ));
    }

    let empty = Vec::new();
    for key in ["members", "errors", "notes"] {
        if !p[key].is_array() {
            fail.push(format!("{process}: `{key}` is not a list: {}", p[key]));
        }
    }
    if !p["scopes"]["global"].is_array() {
        fail.push(format!(
            "{process}: `scopes.global` is not a list: {}",
            p["scopes"]
        ));
    }
    let mut members = Vec::new();
    for m in p["members"].as_array().unwrap_or(&empty) {
        let string = |k: &str| m[k].as_str().map(str::to_owned);
        let (Some(object), Some(how), Some(flags), Some(_via)) = (
            string("object"),
            string("how"),
            string("flags"),
            string("via"),
        ) else {
            fail.push(format!(
                "{process}: member without string object/how/flags/via: {m}"
            ));
            continue;
        };
        if !HOW.contains(&how.as_str()) {
            fail.push(format!(
                "{process}: member {object}: how {how:?} is not one of {HOW:?}"
            ));
        }
        let mut flag = |k: &str, required: bool| match &m[k] {
            Value::Bool(b) => Some(*b),
            Value::Null if !required => Some(false),
            other => {
                fail.push(format!(
                    "{process}: member {object}: `{k}` is not a boolean: {other}"
                ));
                None
            }
        };
        let global = flag("global", true).unwrap_or(false);
        flag("may_be_imported", true);
        flag("uncertain", false);
        members.push(Member {
            object,
            flags,
            global,
        });
    }
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let image = Image {
        members,
        global_scope: strings(&p["scopes"]["global"]),
        errors: strings(&p["errors"]),
        notes: strings(&p["notes"]),
    };

    // One member per object; the global scope is the global members.
    let mut seen = BTreeSet::new();
    for m in &image.members {
        if !seen.insert(m.object.as_str()) {
            fail.push(format!("{process}: {} is listed twice", m.object));
        }
    }
    let flagged: BTreeSet<&str> = image
        .members
        .iter()
        .filter(|m| m.global)
        .map(|m| m.object.as_str())
        .collect();
    let scope: BTreeSet<&str> = image.global_scope.iter().map(String::as_str).collect();
    if flagged != scope {
        fail.push(format!(
            "{process}: scopes.global and the members marked global differ: only in the scope {:?}, only marked {:?}",
            scope.difference(&flagged).collect::<Vec<_>>(),
            flagged.difference(&scope).collect::<Vec<_>>()
        ));
    }
    Ok(image)
}

/// Everything the image of `process` gets wrong about `lines`.
fn check_lines(process: &str, image: &Image, lines: &[&Line], fail: &mut Vec<String>) {
    let index: BTreeMap<&str, usize> = image
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| (m.object.as_str(), i))
        .collect();
    let scope: BTreeSet<&str> = image.global_scope.iter().map(String::as_str).collect();
    let place = |path: &str| {
        index.get(path).map_or_else(
            || "not a member".to_owned(),
            |i| format!("member #{}", i + 1),
        )
    };
    for line in lines {
        let problem = match &line.check {
            Check::Member(path) => {
                (!index.contains_key(path.as_str())).then(|| "not a member".to_owned())
            }
            Check::NotMember(path) => index
                .get(path.as_str())
                .map(|i| format!("listed as member #{}", i + 1)),
            Check::Before(a, b) => match (index.get(a.as_str()), index.get(b.as_str())) {
                (Some(i), Some(j)) if i < j => None,
                (Some(i), Some(j)) => Some(format!("A is member #{}, B is #{}", i + 1, j + 1)),
                _ => Some(format!("A is {}, B is {}", place(a), place(b))),
            },
            Check::Flags(path, want) => match index.get(path.as_str()) {
                Some(&i) if image.members[i].flags == *want => None,
                Some(&i) => Some(format!("flags are {}", image.members[i].flags)),
                None => Some("not a member".to_owned()),
            },
            Check::Global(path) => match index.get(path.as_str()) {
                None => Some("not a member".to_owned()),
                Some(&i) if !image.members[i].global => Some("member marked not global".to_owned()),
                Some(_) if !scope.contains(path.as_str()) => {
                    Some("not in scopes.global".to_owned())
                }
                Some(_) => None,
            },
            Check::Local(path) => match index.get(path.as_str()) {
                None => Some("not a member".to_owned()),
                Some(&i) if image.members[i].global => Some("member marked global".to_owned()),
                Some(_) if scope.contains(path.as_str()) => Some("in scopes.global".to_owned()),
                Some(_) => None,
            },
        };
        if let Some(problem) = problem {
            fail.push(format!("{}: {problem}", line.text));
        }
    }
    if !image.errors.is_empty() {
        fail.push(format!(
            "{process}: errors reported for a root built to start cleanly:\n    {}",
            image.errors.join("\n    ")
        ));
    }
}

/// Everything wrong with `soclash image` on one sample host, by process.
fn check_root(name: &str, dir: &Path, notes: &mut Vec<String>) -> Vec<String> {
    let manifest = match parse_manifest(&dir.join("expected.txt")) {
        Ok(m) => m,
        Err(e) => return vec![e],
    };
    let root = dir.join("root");
    let mut by_process: BTreeMap<&str, Vec<&Line>> = BTreeMap::new();
    for line in &manifest {
        by_process.entry(&line.process).or_default().push(line);
    }
    let mut fail = Vec::new();
    for (process, lines) in &by_process {
        match image(&root, process, &mut fail) {
            Ok(image) => {
                notes.push(format!(
                    "{name} {process}: {} members, {} in the global scope; {} manifest lines",
                    image.members.len(),
                    image.global_scope.len(),
                    lines.len()
                ));
                for n in &image.notes {
                    notes.push(format!("{name} {process}: note: {n}"));
                }
                check_lines(process, &image, lines, &mut fail);
            }
            Err(e) => fail.push(format!(
                "{e}\n  ({} manifest lines for {process} unchecked)",
                lines.len()
            )),
        }
    }
    fail
}

#[test]
fn image_models_each_sample_root_as_its_manifest_says() {
    let dirs = sample_dirs();
    let mut report = String::new();
    let mut notes = Vec::new();
    let mut failed = Vec::new();
    for (name, dir) in &dirs {
        let fail = check_root(name, dir, &mut notes);
        if !fail.is_empty() {
            let _ = writeln!(report, "=== image root {name} ({}) ===", dir.display());
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
        "{report}soclash image disagrees with the manifest of {} of {} sample roots: {}",
        failed.len(),
        dirs.len(),
        failed.join(", ")
    );
    eprintln!("{0}/{0} image sample roots as built", dirs.len());
}
