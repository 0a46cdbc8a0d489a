//! Oracle test over this machine's own libraries: `soclash deps F` must
//! print exactly what glibc's `ldd F` prints, normalised only for load
//! addresses and linux-vdso, for every ELF object of the web stack.
//!
//! This test deliberately reads this machine's system libraries and runs the
//! system `ldd` on them (never on anything the suite did not build or the
//! distribution did not ship). `.ci/run` installs the web-stack packages
//! first so the corpus is a real Apache + PHP + Python stack.
//!
//! Mismatches fail unless `tests/ldd-allowlist.txt` lists the file with a
//! written reason; an allow-list entry that no longer mismatches fails too,
//! so the list cannot go stale.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{SOCLASH, repo};

/// Fewer objects than this means the web stack is not installed.
const MIN_CORPUS: usize = 600;

fn is_elf(p: &Path) -> bool {
    let mut magic = [0u8; 4];
    fs::File::open(p)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

fn corpus() -> Vec<PathBuf> {
    let mut roots = vec![
        PathBuf::from("/usr/lib/x86_64-linux-gnu"),
        PathBuf::from("/usr/lib/apache2/modules"),
        PathBuf::from("/usr/lib/php"),
    ];
    for entry in fs::read_dir("/usr/lib").expect("read /usr/lib").flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("python3")
            || name.to_string_lossy().starts_with("python2")
        {
            roots.push(entry.path().join("lib-dynload"));
        }
    }
    let mut files = Vec::new();
    for root in roots {
        for e in walkdir::WalkDir::new(&root).into_iter().flatten() {
            if e.file_type().is_file() && is_elf(e.path()) {
                files.push(e.path().to_path_buf());
            }
        }
    }
    files.sort();
    files
}

/// `ldd` output per file, normalised: no load addresses, no vDSO
/// (`linux-vdso.so.1`, an i386 process's `linux-gate.so.1`).
fn ldd(files: &[PathBuf]) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    for chunk in files.chunks(200) {
        // A clean environment: ldd honours LD_LIBRARY_PATH and LD_PRELOAD,
        // and cargo sets the former for tests.
        let o = Command::new("ldd")
            .env_clear()
            .env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")
            .args(chunk)
            .output()
            .expect("run ldd (package libc-bin)");
        parse_blocks(&String::from_utf8_lossy(&o.stdout), chunk, &mut out, true);
    }
    out
}

fn parse_blocks(text: &str, files: &[PathBuf], out: &mut BTreeMap<PathBuf, String>, strip: bool) {
    let mut current: Option<PathBuf> = None;
    for line in text.lines() {
        if !line.starts_with('\t') && line.ends_with(':') {
            let p = PathBuf::from(&line[..line.len() - 1]);
            if files.contains(&p) {
                out.entry(p.clone()).or_default();
                current = Some(p);
                continue;
            }
        }
        let Some(cur) = &current else { continue };
        let mut l = line.to_string();
        if strip {
            if l.contains("linux-vdso.so.1") || l.contains("linux-gate.so.1") {
                continue;
            }
            if let Some(i) = l.rfind(" (0x") {
                l.truncate(i);
            }
        }
        let block = out.entry(cur.clone()).or_default();
        block.push_str(&l);
        block.push('\n');
    }
}

fn soclash(files: &[PathBuf]) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let o = Command::new(SOCLASH)
        .arg("deps")
        .args(files)
        .output()
        .expect("run soclash");
    parse_blocks(&String::from_utf8_lossy(&o.stdout), files, &mut out, false);
    out
}

fn allowlist() -> BTreeMap<PathBuf, String> {
    let path = repo().join("tests/ldd-allowlist.txt");
    let text = fs::read_to_string(&path).expect("read tests/ldd-allowlist.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (p, reason) = l.split_once(" # ").unwrap_or_else(|| {
                panic!("allow-list line without ' # reason': {l}");
            });
            assert!(
                !reason.trim().is_empty(),
                "allow-list entry without reason: {l}"
            );
            (PathBuf::from(p.trim()), reason.trim().to_string())
        })
        .collect()
}

#[test]
fn deps_agrees_with_ldd_on_this_machine() {
    let files = corpus();
    assert!(
        files.len() >= MIN_CORPUS,
        "only {} ELF objects found; .ci/run installs apache2, libapache2-mod-php, \
         libapache2-mod-wsgi-py3 and the PHP/Python extension packages first",
        files.len()
    );
    compare(&files, "ldd oracle");
}

/// Fewer i386 objects than this means gcc-multilib's `libc6-i386` is not
/// installed.
const MIN_LIB32: usize = 200;

/// The i386 half of a multilib host: every ELF object of gcc-multilib's
/// `/usr/lib32` (its glibc, gconv modules, libstdc++, sanitizers) through
/// `ldd`, which runs them with `/lib/ld-linux.so.2`: its `/lib32`
/// directories, the cache's i386 entries, `$LIB` and the interpreter's
/// line as the i386 loader prints them.
#[test]
fn deps_agrees_with_ldd_on_lib32() {
    let mut files = Vec::new();
    for e in walkdir::WalkDir::new("/usr/lib32").into_iter().flatten() {
        if e.file_type().is_file() && is_elf(e.path()) {
            files.push(e.path().to_path_buf());
        }
    }
    files.sort();
    assert!(
        files.len() >= MIN_LIB32,
        "only {} ELF objects in /usr/lib32; .ci/deps installs gcc-multilib",
        files.len()
    );
    compare(&files, "ldd oracle (/usr/lib32)");
}

/// `soclash deps` against `ldd` on `files`, allow-list applied.
fn compare(files: &[PathBuf], what: &str) {
    let files = files.to_vec();
    let expected = ldd(&files);
    let got = soclash(&files);
    let allowed = allowlist();
    let mut agree = 0;
    let mut failures = Vec::new();
    let mut stale = Vec::new();
    for f in &files {
        let e = expected.get(f).map(String::as_str).unwrap_or("");
        let g = got.get(f).map(String::as_str).unwrap_or("");
        let same = e == g;
        match (same, allowed.contains_key(f)) {
            (true, false) => agree += 1,
            (true, true) => stale.push(f.display().to_string()),
            (false, true) => {}
            (false, false) => failures.push(format!(
                "{}\n--- ldd\n{e}--- soclash deps\n{g}",
                f.display()
            )),
        }
    }
    eprintln!(
        "{what}: {agree} of {} objects agree, {} allow-listed, {} mismatches",
        files.len(),
        allowed.len(),
        failures.len()
    );
    assert!(
        stale.is_empty(),
        "allow-list entries that now agree with ldd (remove them): {stale:?}"
    );
    assert!(
        failures.is_empty(),
        "{} of {} objects differ from ldd:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
