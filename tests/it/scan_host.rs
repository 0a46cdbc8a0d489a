//! `soclash scan` on this machine: the inventory must hold every Apache
//! module, PHP extension and lib-dynload module the file system has, with
//! the right role, and `unresolved-dependency` must name exactly the
//! objects for which `ldd` prints "not found" and that no modelled process
//! loads with all it needs.
//!
//! Expectations are counted from the file system and from the system `ldd`
//! (run only on the distribution's own files), never typed in by hand.
//! `.ci/run` installs apache2, mod_php, mod_wsgi and extension packages.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::SOCLASH;

fn so_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "so") && p.is_file())
        .collect();
    v.sort();
    v
}

fn dirs_matching(parent: &str, pred: impl Fn(&str) -> bool, sub: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(parent)
        .map(|rd| {
            rd.flatten()
                .filter(|e| pred(&e.file_name().to_string_lossy()))
                .map(|e| e.path().join(sub))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn scan() -> serde_json::Value {
    let out = Command::new(SOCLASH)
        .args(["scan", "--format", "json"])
        .output()
        .expect("run soclash scan");
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "scan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("scan --format json is JSON")
}

#[test]
fn scan_of_this_host_matches_file_system_and_ldd() {
    let mut expected: BTreeMap<PathBuf, &str> = BTreeMap::new();
    for f in so_files(Path::new("/usr/lib/apache2/modules")) {
        expected.insert(f, "apache-module");
    }
    for d in dirs_matching(
        "/usr/lib/php",
        |n| n.starts_with(|c: char| c.is_ascii_digit()),
        "",
    ) {
        for f in so_files(&d) {
            expected.insert(f, "php-extension");
        }
    }
    for d in dirs_matching("/usr/lib", |n| n.starts_with("python"), "lib-dynload") {
        for f in so_files(&d) {
            expected.insert(f, "python-extension");
        }
    }
    let count = |role: &str| expected.values().filter(|r| **r == role).count();
    assert!(
        count("apache-module") >= 50
            && count("php-extension") >= 10
            && count("python-extension") >= 20,
        "web stack not installed (modules {}, PHP {}, Python {}): .ci/run installs apache2, \
         libapache2-mod-php, libapache2-mod-wsgi-py3 and php-*/python3-* extension packages",
        count("apache-module"),
        count("php-extension"),
        count("python-extension")
    );

    let report = scan();
    let objects = report["objects"].as_array().expect("objects");
    let mut by_path: BTreeMap<PathBuf, String> = BTreeMap::new();
    for o in objects {
        let role = o["role"].as_str().expect("role").to_string();
        by_path.insert(
            PathBuf::from(o["path"].as_str().expect("path")),
            role.clone(),
        );
        for n in o["names"].as_array().into_iter().flatten() {
            by_path.insert(PathBuf::from(n.as_str().expect("name")), role.clone());
        }
    }
    let mut wrong = Vec::new();
    for (path, role) in &expected {
        let canonical = fs::canonicalize(path).expect("canonicalize");
        match by_path.get(&canonical).or_else(|| by_path.get(path)) {
            Some(r) if r == role => {}
            other => wrong.push(format!(
                "{}: expected {role}, got {other:?}",
                path.display()
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} objects missing or with the wrong role:\n{}",
        wrong.len(),
        expected.len(),
        wrong.join("\n")
    );

    // `loaded`: an Apache module is loaded exactly when an enabled
    // mods-enabled/*.load names it (read here with plain string parsing).
    let mut enabled = BTreeSet::new();
    for e in fs::read_dir("/etc/apache2/mods-enabled")
        .expect("mods-enabled")
        .flatten()
    {
        if e.path().extension().is_some_and(|x| x == "load") {
            for line in fs::read_to_string(e.path()).unwrap_or_default().lines() {
                let w: Vec<&str> = line.split_whitespace().collect();
                if w.len() == 3 && w[0].eq_ignore_ascii_case("LoadModule") {
                    enabled.insert(fs::canonicalize(w[2]).expect("module exists"));
                }
            }
        }
    }
    let mut loaded_wrong = Vec::new();
    for o in objects.iter().filter(|o| o["role"] == "apache-module") {
        let path = PathBuf::from(o["path"].as_str().expect("path"));
        let want = enabled.contains(&path);
        if o["loaded"] != serde_json::Value::Bool(want) {
            loaded_wrong.push(format!(
                "{}: loaded {} but enabled {want}",
                path.display(),
                o["loaded"]
            ));
        }
    }
    assert!(
        !enabled.is_empty(),
        "no enabled Apache module: is apache2 installed?"
    );
    assert!(
        loaded_wrong.is_empty(),
        "`loaded` of Apache modules:\n{}",
        loaded_wrong.join("\n")
    );

    // Every candidate the scan confirmed (not the libraries they pull in),
    // through ldd, which prints "not found" for any missing dependency.
    let candidates: Vec<&str> = objects
        .iter()
        .filter(|o| o["role"] != "library")
        .filter_map(|o| o["path"].as_str())
        .collect();
    let mut ldd_not_found = BTreeSet::new();
    for c in &candidates {
        let out = Command::new("ldd")
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .arg(c)
            .output()
            .expect("run ldd (libc-bin)");
        if String::from_utf8_lossy(&out.stdout).contains("not found") {
            ldd_not_found.insert(c.to_string());
        }
    }
    // The in-process half (issue 15): ldd loads the object alone; a name it
    // misses matters where a process misses it too. A member of a modelled
    // process (`objects[].processes`, the members tests/it/apache_oracle.rs
    // checks against the real Apache) found every name there, since a
    // dlopen that misses one fails and leaves nothing behind; httpd is a
    // member of its own start-up whatever it misses. So ldd's objects stay
    // flagged unless a process has them as members.
    let member = |path: &str| {
        objects.iter().any(|o| {
            o["path"] == path
                && o["role"] != "httpd"
                && o["processes"].as_array().is_some_and(|p| !p.is_empty())
        })
    };
    let expected_flagged: BTreeSet<String> = ldd_not_found
        .iter()
        .filter(|c| !member(c))
        .cloned()
        .collect();
    let flagged: BTreeSet<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["id"] == "unresolved-dependency")
        .flat_map(|f| f["objects"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect();
    assert_eq!(
        flagged, expected_flagged,
        "unresolved-dependency vs ldd 'not found' minus what a process loads"
    );
    eprintln!(
        "scan of this host: {} expected objects found with their roles ({} modules, {} PHP, {} Python); \
         {} enabled modules loaded, the others not; {} candidates through ldd, {} with 'not found', \
         {} of them loaded by a process",
        expected.len(),
        count("apache-module"),
        count("php-extension"),
        count("python-extension"),
        enabled.len(),
        candidates.len(),
        ldd_not_found.len(),
        ldd_not_found.len() - expected_flagged.len()
    );
}

/// The web stack names the versions running here: Apache's from the httpd
/// binary (checked against `apache2 -v`, the machine's own Apache), and
/// Python's from the interpreter Apache embeds (its libpython), not from
/// whichever extension module some package installed first.
#[test]
fn web_stack_versions_are_the_running_ones() {
    let report = scan();
    let stack = report["host"]["stack"].as_array().expect("stack");
    let of = |name: &str| {
        stack
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {stack:?}"))
    };
    let out = std::process::Command::new("/usr/sbin/apache2")
        .arg("-v")
        .output()
        .expect("apache2 -v (the machine's Apache, which .ci/deps installs)");
    let banner = String::from_utf8_lossy(&out.stdout);
    let version = banner
        .split("Apache/")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("Server version: Apache/X.Y.Z");
    assert_eq!(of("apache")["version"], version, "{banner}");
    let python = of("python");
    let path = python["path"].as_str().expect("path");
    assert!(
        path.contains("libpython") || path.contains("/lib-dynload/"),
        "{python}"
    );
    // The interpreter's own word: Debian's python3 (the one mod_wsgi
    // embeds here) says its version and where its libpython is.
    let out = std::process::Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sys, sysconfig; print('%d.%d' % sys.version_info[:2], sysconfig.get_config_var('LIBDIR') + '/' + sysconfig.get_config_var('INSTSONAME'))",
        ])
        .output()
        .expect("/usr/bin/python3 (.ci/deps installs it)");
    let said = String::from_utf8_lossy(&out.stdout);
    let (version, lib) = said
        .trim()
        .split_once(' ')
        .unwrap_or_else(|| panic!("python3 said {said:?}"));
    assert!(
        path == lib || !path.contains("libpython"),
        "the stack's libpython {path} is not the system interpreter's {lib}"
    );
    assert_eq!(python["version"], version, "{python} against {said}");
}
