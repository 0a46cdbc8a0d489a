//! What soclash printed before its code was restructured, kept as files:
//! `tests/it/golden/` holds the outputs of the binary built from commit
//! 2d31993 (before the pipeline was split into `model`, `cli`, `host::*`
//! and `image`'s process registry) for every sample root: `scan` and
//! `image` as JSON, `deps --why` of every ELF file of the ld.so scenario
//! roots, and `explain` of the bind scenarios' symbols. A restructuring
//! must leave every one byte-identical; a change of behaviour shows here as
//! a diff to read before the files are re-recorded.
//!
//! Differences of the machine are taken out before comparing, not hidden
//! in the files: `scanned_at`, the directory the sample roots were built
//! in (`$SAMPLES`, as given or as resolved when it is a symlink), and
//! build-ids, which gold derives from the output path (`make sample-libs`
//! in another checkout gives mod_protdata.so another one). The CPU level
//! is fixed with `--cpu-level 3`.
//!
//! `SOCLASH_GOLDEN_RECORD=BINARY cargo test --test it golden::` re-records
//! the files from BINARY (and fails, so a recording never passes as a
//! check).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;

/// Symbols the bind scenarios (sample-libs/bind-roots.sh) are about.
const SYMBOLS: [&str; 13] = [
    "MD5Init",
    "cache_init",
    "XML_Parse",
    "prot_data",
    "prot_fn",
    "jdata",
    "late_fn",
    "tls_counter",
    "uniq_v",
    "vfoo",
    "dup_fn",
    "wk_fn",
    "cfunc",
];

/// One recorded output: its file name under tests/it/golden/ and the
/// arguments that make it.
struct Case {
    name: String,
    args: Vec<String>,
}

fn golden_dir() -> PathBuf {
    common::repo().join("tests/it/golden")
}

/// The sample scenarios in a fixed order: the ld.so scenarios at the top,
/// then image/, scan/ and bind/; each holds its root in `root/`.
fn roots(base: &Path) -> Vec<PathBuf> {
    let dirs = |d: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.is_dir())
            .collect();
        v.sort();
        v
    };
    let mut out: Vec<PathBuf> = dirs(base)
        .into_iter()
        .filter(|p| !["bind", "image", "scan"].iter().any(|s| p.ends_with(s)))
        .collect();
    for group in ["image", "scan", "bind"] {
        out.extend(dirs(&base.join(group)));
    }
    out
}

/// `LD_LIBRARY_PATH=` of a scenario's case.env, which its oracle runs with.
fn ld_library_path(case: &Path) -> Option<String> {
    let env = std::fs::read_to_string(case.join("case.env")).ok()?;
    env.lines()
        .find_map(|l| l.strip_prefix("LD_LIBRARY_PATH="))
        .map(str::to_string)
}

/// ELF files below `dir`, sorted, as paths inside the root.
fn elf_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(root).sort_by_file_name() {
        let e = e.expect("walk a sample root");
        if !e.file_type().is_file() {
            continue;
        }
        let mut magic = [0u8; 4];
        let is_elf = std::fs::File::open(e.path())
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok()
            && magic == *b"\x7fELF";
        if is_elf {
            let inner = e.path().strip_prefix(root).expect("below the root");
            out.push(format!("/{}", inner.display()));
        }
    }
    out
}

fn cases(base: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for scenario in roots(base) {
        let root = scenario.join("root");
        let rel = scenario.strip_prefix(base).expect("below the sample roots");
        let label = rel.display().to_string().replace('/', "_");
        let r = root.display().to_string();
        let common = ["--root", &r, "--cpu-level", "3", "--format", "json"];
        for cmd in ["scan", "image"] {
            let mut args = vec![cmd.to_string()];
            args.extend(common.iter().map(|s| s.to_string()));
            cases.push(Case {
                name: format!("{label}.{cmd}.json"),
                args,
            });
        }
        if rel.components().count() == 1 {
            let mut args: Vec<String> = ["deps", "--why", "--root", &r, "--cpu-level", "3"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            if let Some(path) = ld_library_path(&scenario) {
                args.extend(["--ld-library-path".to_string(), path]);
            }
            let files = elf_files(&root);
            if !files.is_empty() {
                args.extend(files);
                cases.push(Case {
                    name: format!("{label}.deps"),
                    args,
                });
            }
        }
        if rel.starts_with("bind") && !label.starts_with("bind_sig-") {
            for sym in SYMBOLS {
                let mut args = vec!["explain".to_string(), sym.to_string()];
                args.extend(common.iter().map(|s| s.to_string()));
                cases.push(Case {
                    name: format!("{label}.explain.{sym}.json"),
                    args,
                });
            }
        }
    }
    cases
}

/// Output, error text and exit code, with what differs between machines
/// taken out.
fn run(bin: &Path, case: &Case, base: &Path) -> String {
    let out = Command::new(bin)
        .args(&case.args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let samples = base.display().to_string();
    // soclash names the roots as resolved: the sample roots' directory may
    // be a symlink to where another checkout built them.
    let resolved =
        std::fs::canonicalize(base).map_or_else(|_| samples.clone(), |p| p.display().to_string());
    let mut text = String::new();
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        text.push_str(&format!("--- {stream}\n"));
        for line in String::from_utf8_lossy(bytes).lines() {
            if line.contains("\"scanned_at\"") {
                continue;
            }
            let line = line
                .replace(&resolved, "$SAMPLES")
                .replace(&samples, "$SAMPLES");
            text.push_str(&mask_build_id(&line));
            text.push('\n');
        }
    }
    text.push_str(&format!("--- exit {}\n", out.status.code().unwrap_or(-1)));
    text
}

/// `"build_id": "…"` with its value replaced.
fn mask_build_id(line: &str) -> String {
    const KEY: &str = "\"build_id\": \"";
    match line.find(KEY) {
        Some(i) => {
            let start = i + KEY.len();
            let end = line[start..].find('"').map_or(line.len(), |n| start + n);
            format!("{}BUILD-ID{}", &line[..start], &line[end..])
        }
        None => line.to_string(),
    }
}

#[test]
fn outputs_are_the_recorded_ones() {
    let base = common::sample_roots();
    let dir = golden_dir();
    let cases = cases(&base);
    assert!(cases.len() > 300, "only {} cases", cases.len());
    if let Some(bin) = std::env::var_os("SOCLASH_GOLDEN_RECORD") {
        std::fs::create_dir_all(&dir).expect("create tests/it/golden");
        for c in &cases {
            std::fs::write(dir.join(&c.name), run(Path::new(&bin), c, &base))
                .expect("write a golden file");
        }
        panic!(
            "recorded {} outputs of {}: not a check",
            cases.len(),
            Path::new(&bin).display()
        );
    }
    let mut differ = Vec::new();
    let mut recorded = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .count();
    for c in &cases {
        let now = run(Path::new(common::SOCLASH), c, &base);
        match std::fs::read_to_string(dir.join(&c.name)) {
            Ok(then) if then == now => {}
            Ok(then) => {
                let first = then
                    .lines()
                    .zip(now.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(then.lines().count().min(now.lines().count()));
                differ.push(format!(
                    "{} (soclash {}): first difference at line {}:\n  was: {}\n  now: {}",
                    c.name,
                    c.args.join(" "),
                    first + 1,
                    then.lines().nth(first).unwrap_or("<end>"),
                    now.lines().nth(first).unwrap_or("<end>"),
                ));
            }
            Err(e) => differ.push(format!("{}: not recorded ({e})", c.name)),
        }
        recorded = recorded.saturating_sub(1);
    }
    assert!(
        differ.is_empty(),
        "{} of {} outputs differ from tests/it/golden/:\n{}",
        differ.len(),
        cases.len(),
        differ.join("\n")
    );
    assert_eq!(
        recorded, 0,
        "tests/it/golden/ holds outputs no case makes (a sample root was removed?)"
    );
}

#[test]
fn build_ids_are_masked_and_nothing_else() {
    assert_eq!(
        mask_build_id(r#"      "build_id": "3f2a", "x": 1"#),
        r#"      "build_id": "BUILD-ID", "x": 1"#
    );
    assert_eq!(mask_build_id(r#""soname": "a""#), r#""soname": "a""#);
}
