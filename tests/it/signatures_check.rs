//! `soclash signatures check|list` on the repository's catalogue and on
//! deliberately broken signature files.
//!
//! The catalogue is `signatures/*.yaml`; build.rs embeds exactly those files,
//! so the directory and the embedded copy must agree on how many signatures
//! there are and which ids. Each file of `tests/fixtures/broken-signatures/`
//! carries one mistake (its first comment says which), and soclash must
//! report it as `FILE:LINE:COLUMN: message` pointing at the mistake. Where
//! the mistake is comes from the fixture text (a marker string found in it),
//! never from soclash's output.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use crate::common::{repo, soclash_in};

const BROKEN: &str = "tests/fixtures/broken-signatures";

fn signatures_dir() -> PathBuf {
    repo().join("signatures")
}

/// The stems of `signatures/*.yaml`: the ids the catalogue must have.
fn catalogue_ids() -> BTreeSet<String> {
    let dir = signatures_dir();
    let ids: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").file_name())
        .filter_map(|n| n.to_str()?.strip_suffix(".yaml").map(str::to_string))
        .collect();
    assert!(!ids.is_empty(), "no signatures in {}", dir.display());
    ids
}

#[test]
fn signatures_dir_holds_only_yaml_files_and_the_readme() {
    // build.rs embeds `*.yaml` only: a `.yml` file there would be checked
    // by `signatures check signatures` but missing from the binary.
    let dir = signatures_dir();
    let stray: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| !n.ends_with(".yaml") && n != "README.md")
        .collect();
    assert!(stray.is_empty(), "not embedded by build.rs: {stray:?}");
}

/// The signatures the catalogue must have at least (the list).
const REQUIRED: [&str; 16] = [
    "python-md5-vs-libmhash",
    "pysqlite-cache-init-vs-mod-cache",
    "pyexpat-vs-httpd-libexpat",
    "mysql-client-library-mismatch",
    "httpd-static-openssl-vs-libssl",
    "python-gilstate-subinterpreter",
    "textrel-selinux-static-libpython",
    "cx-oracle-process-name-parens",
    "mixed-openssl-in-process",
    "wheel-vendored-openssl",
    "duplicate-sqlite3-in-process",
    "lxml-wheel-static-libxml2",
    "two-libphp-in-one-httpd",
    "multiple-libpython-or-mod-python-with-mod-wsgi",
    "missing-version-node",
    "libedit-vs-libreadline",
];

#[test]
fn required_signatures_are_there() {
    let ids = catalogue_ids();
    let missing: Vec<&str> = REQUIRED
        .into_iter()
        .filter(|id| !ids.contains(*id))
        .collect();
    assert!(missing.is_empty(), "missing from signatures/: {missing:?}");
}

#[test]
fn repository_catalogue_is_valid() {
    let n = catalogue_ids().len();
    let (code, stdout, stderr) = soclash_in(repo(), &["signatures", "check", "signatures"]);
    assert_eq!(code, 0, "signatures check signatures failed:\n{stderr}");
    assert_eq!(stderr, "", "no error lines expected");
    assert!(
        stdout.contains(&format!("{n} signatures valid, 0 errors")),
        "expected {n} valid signatures, got:\n{stdout}{stderr}"
    );
}

#[test]
fn embedded_catalogue_is_valid_and_complete() {
    let n = catalogue_ids().len();
    let (code, stdout, stderr) = soclash_in(repo(), &["signatures", "check"]);
    assert_eq!(code, 0, "signatures check (embedded) failed:\n{stderr}");
    assert_eq!(stderr, "", "no error lines expected");
    assert!(
        stdout.contains(&format!("{n} signatures valid, 0 errors")),
        "expected {n} embedded signatures (rebuild after adding files), got:\n{stdout}{stderr}"
    );
}

#[test]
fn list_names_every_signature_file() {
    let (code, stdout, stderr) = soclash_in(repo(), &["signatures", "list", "--format", "json"]);
    assert_eq!(code, 0, "signatures list failed:\n{stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("signatures list --format json is JSON");
    let listed: BTreeSet<String> = doc
        .as_array()
        .expect("a list of signatures")
        .iter()
        .map(|s| {
            s["id"]
                .as_str()
                .unwrap_or_else(|| panic!("a signature without an id: {s}"))
                .to_string()
        })
        .collect();
    assert_eq!(listed, catalogue_ids());
}

/// Each broken file and where its mistake is: the first occurrence of a
/// needle in the file's text, some characters further on.
const MISTAKES: [(&str, &str, usize); 12] = [
    // The regular expression itself (its opening quote).
    ("bad-regex.yaml", "'^libfoo(", 0),
    // The unknown key.
    ("unknown-key.yaml", "sonme:", 0),
    // The unknown kind's key.
    ("unknown-matcher-kind.yaml", "symbol_clsh:", 0),
    // The matcher holding two kinds (its mapping starts at its first key).
    ("two-kinds.yaml", "present:", 0),
    // The id's value.
    ("non-kebab-id.yaml", "\nid: ", 5),
    ("id-differs.yaml", "\nid: ", 5),
    ("duplicate-id.yml", "\nid: ", 5),
    // The severity's value.
    ("bad-severity.yaml", "urgent", 0),
    // The mapping that lacks the key (its first key, after the comments).
    ("missing-key.yaml", "\nid:", 1),
    // The tab.
    ("yaml-syntax.yaml", "\t", 0),
    // The id that is not a built-in finding's (in `explains`, in the
    // `finding` matcher).
    ("unknown-explains-id.yaml", "symbol-interposed]", 0),
    ("unknown-finding-id.yaml", "python-md5-vs-libmhash }", 0),
];

/// 1-based line and column of byte offset `at` in `text`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..at].chars().count() + 1)
}

fn expected_position(file: &str, needle: &str, skip: usize) -> (usize, usize) {
    let path = repo().join(BROKEN).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{file}: no {needle:?} in the fixture"));
    line_column(&text, at + skip)
}

#[test]
fn broken_signatures_are_reported_where_the_mistake_is() {
    let (code, stdout, stderr) = soclash_in(repo(), &["signatures", "check", BROKEN]);
    assert_eq!(
        code, 1,
        "broken signatures must fail the check:\n{stdout}{stderr}"
    );
    // duplicate-id.yaml, the first file with that id, is the one valid file.
    assert!(
        stdout.contains(&format!("1 signature valid, {} errors", MISTAKES.len())),
        "one error per broken file expected:\n{stdout}{stderr}"
    );
    let mut wrong = Vec::new();
    for (file, needle, skip) in MISTAKES {
        let (line, column) = expected_position(file, needle, skip);
        let prefix = format!("{BROKEN}/{file}:");
        let reported: Vec<&str> = stderr.lines().filter(|l| l.starts_with(&prefix)).collect();
        let at = |l: &&str| {
            let mut rest = l[prefix.len()..].splitn(3, ':');
            let (Some(l), Some(c)) = (rest.next(), rest.next()) else {
                return false;
            };
            l.parse() == Ok(line) && c.parse() == Ok(column)
        };
        if reported.len() != 1 || !reported.iter().any(at) {
            wrong.push(format!(
                "{file}: expected one error at {line}:{column}, got {reported:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "errors not reported where the mistake is:\n{}\n\nfull output:\n{stderr}",
        wrong.join("\n")
    );
}
