//! `soclash signatures check|list`: the shipped catalogue validates, and a
//! directory of deliberately broken files (tests/fixtures/broken-signatures,
//! one mistake per file) fails with `FILE:LINE:COLUMN: message` lines that
//! point at each mistake.
//!
//! Where a mistake is is read from the fixture itself: its line carries a
//! comment `# MARK TOKEN`, and the column is that of TOKEN on the line (the
//! key, value, map or list item the error is about). A file with no mark
//! has its mistake at the document (a missing key, a clash with another
//! file): line 1.

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;

fn soclash(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("soclash")
        .expect("the soclash binary is built for tests")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("soclash runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn yaml_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .collect()
}

#[test]
fn shipped_catalogue_is_valid_and_embedded() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures");
    let files = yaml_files(&dir);
    assert!(files.len() >= 16, "the issue's 16 signatures: {files:?}");
    let want = format!("{} signatures valid, 0 errors", files.len());
    let (code, out, err) = soclash(&["signatures", "check", "signatures"]);
    assert_eq!((code, out.trim(), err.as_str()), (0, want.as_str(), ""));
    // The binary carries the same files.
    let (code, out, err) = soclash(&["signatures", "check"]);
    assert_eq!((code, out.trim(), err.as_str()), (0, want.as_str(), ""));
    let (code, out, _) = soclash(&["signatures", "list", "--format", "json"]);
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let ids: BTreeSet<String> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_string())
        .collect();
    let stems: BTreeSet<String> = files
        .iter()
        .map(|f| f.trim_end_matches(".yaml").to_string())
        .collect();
    assert_eq!(ids, stems);
}

#[test]
fn broken_files_are_reported_at_their_mistake() {
    let rel = "tests/fixtures/broken-signatures";
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let (code, out, err) = soclash(&["signatures", "check", rel]);
    assert_eq!(code, 1, "{out}{err}");
    let mut failures = Vec::new();
    let files = yaml_files(&dir);
    // dup-a.yaml is valid on its own; dup-a.yml repeats its id.
    let broken: Vec<&String> = files.iter().filter(|f| *f != "dup-a.yaml").collect();
    assert!(out.contains(&format!("1 signatures valid, {} errors", broken.len())), "{out}");
    for name in broken {
        let text = std::fs::read_to_string(dir.join(name)).expect("fixture");
        let (line, column) = text
            .lines()
            .enumerate()
            .find_map(|(i, l)| {
                let token = l.split_once("# MARK ")?.1.trim();
                let column = l.find(token)? + 1;
                Some((i + 1, column))
            })
            .unwrap_or((1, 1));
        let want = format!("{rel}/{name}:{line}:{column}: ");
        match err.lines().find(|l| l.starts_with(&format!("{rel}/{name}:"))) {
            Some(l) if l.starts_with(&want) && l.len() > want.len() => {}
            Some(l) => failures.push(format!("{name}: want {want}…, got {l}")),
            None => failures.push(format!("{name}: not reported")),
        }
    }
    assert!(failures.is_empty(), "{}\n--- stderr:\n{err}", failures.join("\n"));
}
