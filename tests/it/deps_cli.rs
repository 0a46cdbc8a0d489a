//! `soclash deps --why`, `--tree` and the one-parse-per-file rule, on the
//! conformance roots built by `make sample-libs`.
//!
//! The reasons expected here follow from how each sample root is built (its
//! case description names the rule), and the objects of a tree must be
//! exactly those glibc's loader listed for the same root (`expected.txt`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crate::common::{SOCLASH, sample_roots_dir};

fn roots() -> PathBuf {
    let dir = sample_roots_dir();
    assert!(
        dir.join("A-rpath-inherited/expected.txt").is_file(),
        "sample roots missing under {}: run `make sample-libs`",
        dir.display()
    );
    dir
}

fn deps(case: &str, extra: &[&str]) -> String {
    let root = roots().join(case).join("root");
    let out = Command::new(SOCLASH)
        .arg("deps")
        .arg("--root")
        .arg(&root)
        .args(extra)
        .arg("/opt/app/bin/app")
        .output()
        .expect("run soclash");
    assert!(
        out.status.success(),
        "soclash failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn line_for<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.trim_start().starts_with(name))
        .unwrap_or_else(|| panic!("no line for {name} in:\n{out}"))
}

/// Rule L3.1: case A's libc2 is only in the executable's RPATH directory
/// and is needed by libb, which has none: found through the RPATH chain.
#[test]
fn why_names_the_rpath_of_the_loader_chain() {
    let out = deps("A-rpath-inherited", &["--why"]);
    assert!(
        line_for(&out, "libc2.so =>").ends_with("[RPATH of /opt/app/bin/app]"),
        "{out}"
    );
    assert!(
        line_for(&out, "libc.so.6 =>").ends_with("[ld.so.cache]"),
        "{out}"
    );
}

/// Rule L3.3 before L3.4: case C1's libx is in both LD_LIBRARY_PATH and
/// RUNPATH directories.
#[test]
fn why_names_ld_library_path() {
    let out = deps(
        "C1-ld-library-path-before-runpath",
        &["--why", "--ld-library-path", "/opt/env"],
    );
    assert!(
        line_for(&out, "libx.so =>").ends_with("[LD_LIBRARY_PATH]"),
        "{out}"
    );
}

/// Rule L3.4 and G1: `$ORIGIN/../lib` in the program's RUNPATH.
#[test]
fn why_names_the_runpath() {
    let out = deps("G1-origin", &["--why"]);
    assert!(
        line_for(&out, "libo.so =>").ends_with("[RUNPATH of /opt/app/bin/app]"),
        "{out}"
    );
}

/// Rule L3 (RUNPATH not inherited): an unresolved name lists the places tried.
#[test]
fn why_lists_the_places_tried_when_not_found() {
    let out = deps("B-runpath-not-inherited", &["--why"]);
    let line = line_for(&out, "libc2.so =>");
    assert!(
        line.contains("not found; tried ld.so.cache, default directories"),
        "{line}"
    );
    assert!(
        !line.contains("/opt/app/lib"),
        "RUNPATH must not be inherited: {line}"
    );
}

/// `--tree` shows every object ld.so loads, each subtree once.
#[test]
fn tree_holds_exactly_the_loaded_objects_each_expanded_once() {
    for case in [
        "L1-soname-reuse",
        "L3-rpath-loader-chain",
        "A-rpath-inherited",
    ] {
        let expected = std::fs::read_to_string(roots().join(case).join("expected.txt")).unwrap();
        let mut want: Vec<&str> = expected.lines().map(str::trim).collect();
        want.sort();
        want.dedup();
        let tree = deps(case, &["--tree"]);
        let mut lines = tree.lines();
        assert_eq!(lines.next(), Some("/opt/app/bin/app"));
        let mut got: Vec<String> = Vec::new();
        for l in lines {
            assert!(l.starts_with("    "), "child line not indented: {l:?}");
            let entry = l.trim().trim_end_matches(" [see above]").to_string();
            if !l.ends_with(" [see above]") {
                assert!(
                    !got.contains(&entry) || !entry.contains("=>"),
                    "{case}: {entry} expanded twice:\n{tree}"
                );
            }
            got.push(entry);
        }
        got.sort();
        got.dedup();
        assert_eq!(
            got, want,
            "{case}: objects of --tree differ from ld.so's list"
        );
    }
}

/// Rule L13: one file reached by two paths is opened as one object and
/// parsed once.
#[test]
fn l13_one_file_two_paths_one_parse() {
    let root = soclash::root::Root::new(&roots().join("G2-absolute-symlink-in-root/root")).unwrap();
    let loader = soclash::resolve::Loader::new(&root, soclash::resolve::Options::default());
    let a = loader.open(Path::new("/opt/app/lib/libabs.so.1")).unwrap();
    let b = loader
        .open(Path::new("/usr/lib/x86_64-linux-gnu/libabs.so.1.0"))
        .unwrap();
    assert!(Arc::ptr_eq(&a, &b), "two parses of one file");
    assert_eq!(
        a.canonical,
        Path::new("/usr/lib/x86_64-linux-gnu/libabs.so.1.0")
    );
}

/// A reader that stops early (`| head -1`) closes the pipe: every command
/// ends quietly with status 0, whatever the format.
#[test]
fn closed_stdout_is_not_an_error() {
    use std::io::Read;
    use std::process::{Command as Std, Stdio};
    let bin = assert_cmd::cargo::cargo_bin("soclash");
    let runs: [&[&str]; 5] = [
        &["scan", "--format", "json", "--fail-on", "critical"],
        &["scan", "--format", "yaml", "--fail-on", "critical"],
        &["image", "--format", "json"],
        &["explain", "--format", "json", "MD5Init"],
        &["deps", "/usr/sbin/apache2", "/usr/bin/python3"],
    ];
    for args in runs {
        let mut child = Std::new(&bin)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("soclash starts");
        let mut stdout = child.stdout.take().expect("piped");
        let mut first = [0u8; 1];
        stdout.read_exact(&mut first).expect("some output");
        drop(stdout);
        let out = child.wait_with_output().expect("soclash ends");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !stderr.contains("Broken pipe"),
            "{args:?}: {:?} {stderr}",
            out.status
        );
    }
}

/// Rule C4: case C4's root has `/opt/c4` in its ld.so.conf but no cache,
/// and ld.so (the case's oracle) does not find libc4.so. `--why` says so
/// and names what `ldconfig` would enter and the configuration line, and
/// never calls a cache the root does not have `ld.so.cache`.
#[test]
fn c4_without_a_cache_why_names_what_ldconfig_would_enter() {
    let out = deps("C4-no-ld-so-cache", &["--why"]);
    let line = line_for(&out, "libc4.so =>");
    assert!(
        line.contains(
            "ld.so.cache: this root has none (ldconfig would enter /opt/c4/libc4.so, from /etc/ld.so.conf.d/c4.conf:1)"
        ),
        "{line}"
    );
    assert!(!out.contains("[ld.so.cache]"), "{out}");
}

/// Rule C4 in `scan`: the missing cache is a `stale-ld-cache` finding that
/// names the library only the cache would have found.
#[test]
fn c4_without_a_cache_is_a_finding() {
    let root = soclash::root::Root::new(&roots().join("C4-no-ld-so-cache/root")).unwrap();
    let loader = soclash::resolve::Loader::new(&root, soclash::resolve::Options::default());
    assert!(loader.cache().is_none(), "ld.so searches no cache here");
    let f = soclash::rules::inventory::stale_ld_cache(&root, &loader).expect("a finding");
    assert_eq!(f.id.to_string(), "stale-ld-cache");
    assert!(
        f.title.contains("/etc/ld.so.cache is missing"),
        "{}",
        f.title
    );
    assert_eq!(f.objects, ["/opt/c4/libc4.so"]);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.contains("/etc/ld.so.conf.d/c4.conf:1")),
        "{:?}",
        f.evidence
    );
}

/// Rule L15: `--tree` shows a filter's filtee and auxiliary filtees below
/// it, the one found nowhere too, as ld.so's list (`expected.txt`) has them.
#[test]
fn tree_shows_filtees_below_their_filter() {
    let tree = deps("L15-filter-auxiliary", &["--tree"]);
    let filt = tree
        .lines()
        .position(|l| l.trim_start().starts_with("libfilt.so =>"))
        .unwrap_or_else(|| panic!("{tree}"));
    let below: Vec<&str> = tree.lines().skip(filt + 1).map(str::trim).collect();
    for want in [
        "libfiltee.so => /opt/app/lib/libfiltee.so",
        "libauxee.so => /opt/app/lib/libauxee.so",
        "libnoaux.so => not found",
    ] {
        assert!(
            below.contains(&want),
            "{want} not below libfilt.so:\n{tree}"
        );
    }
}

/// Rule L12: the ELOOP that ended the RPATH search is named in `--why`.
#[test]
fn why_names_the_loop_that_ended_a_search() {
    let out = deps(
        "L12-eloop-ends-search",
        &["--why", "--ld-library-path", "/opt/d3"],
    );
    let line = line_for(&out, "libf.so =>");
    assert!(
        line.contains("/opt/d1/libf.so: too many levels of symbolic links; search ended"),
        "{line}"
    );
    assert!(
        line_for(&out, "libk.so =>").ends_with("[LD_LIBRARY_PATH]"),
        "{out}"
    );
}
