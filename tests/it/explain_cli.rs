//! `soclash explain` on this machine's Apache (the web stack `.ci/run`
//! installs): the document's shape (DESIGN.md: a list of `{symbol, process,
//! definitions, references}`, one such object with `--process`), and its
//! content against goblin as an independent ELF reader: every member of the
//! modelled process that defines the symbol in its dynamic symbol table is
//! a definition, every member with a dynamic relocation naming it is a
//! reference, and nothing else is listed. Where each reference binds is
//! checked against glibc by `tests/apache_oracle.rs` and
//! `tests/bind_oracle.rs`; here only the bookkeeping around it.

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;
use goblin::elf::Elf;
use serde_json::Value;

/// Symbols with several definers or many references on Debian 12's stack:
/// MD5Init (libbsd's hidden weak copy and libmd's), a data object of
/// libreadline and libedit, a function every module calls, and one that
/// nothing defines.
const SYMBOLS: [&str; 4] = [
    "MD5Init",
    "rl_line_buffer",
    "apr_pool_create_ex",
    "soclash_no_such_symbol",
];

fn run(args: &[&str]) -> Value {
    let out = Command::cargo_bin("soclash")
        .expect("the soclash binary is built for tests")
        .args(args)
        .output()
        .expect("soclash runs");
    assert!(
        out.status.success(),
        "soclash {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("explain --format json is JSON")
}

/// (defined names, names some dynamic relocation refers to) of one file.
type Names = (BTreeSet<String>, BTreeSet<String>);

/// [`Names`] of one file, by goblin.
fn goblin_names(path: &Path) -> Names {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let elf = Elf::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = |i: usize| -> Option<String> {
        let s = elf.dynsyms.get(i)?;
        elf.dynstrtab.get_at(s.st_name).map(str::to_string)
    };
    let defined = elf
        .dynsyms
        .iter()
        .filter(|s| s.st_shndx != 0 && s.st_bind() != goblin::elf::sym::STB_LOCAL && s.st_name != 0)
        .filter_map(|s| elf.dynstrtab.get_at(s.st_name).map(str::to_string))
        .collect();
    let referenced = elf
        .dynrelas
        .iter()
        .chain(elf.pltrelocs.iter())
        .chain(elf.dynrels.iter())
        .filter(|r| r.r_sym != 0)
        .filter_map(|r| name(r.r_sym))
        .collect();
    (defined, referenced)
}

fn strings(v: &Value, key: &str) -> BTreeSet<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|e| {
            e[key]
                .as_str()
                .unwrap_or_else(|| panic!("{key} is a string in {e}"))
                .to_string()
        })
        .collect()
}

#[test]
fn explain_lists_every_definition_and_reference_goblin_sees() {
    assert!(
        Path::new("/usr/sbin/apache2").is_file(),
        "this test needs Debian's apache2 with mod_php and mod_wsgi (installed by .ci/run)"
    );
    let image = run(&["image", "--format", "json"]);
    let members: Vec<String> = image["processes"][0]["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["object"].as_str().expect("object").to_string())
        .collect();
    let facts: Vec<(String, Names)> = members
        .iter()
        .map(|m| (m.clone(), goblin_names(Path::new(m))))
        .collect();
    let mut failures = Vec::new();
    let mut checked = 0;
    for symbol in SYMBOLS {
        let doc = run(&["explain", "--process", "apache", "--format", "json", symbol]);
        assert_eq!(doc["symbol"], symbol);
        assert_eq!(doc["process"], "apache");
        for d in doc["definitions"].as_array().expect("definitions") {
            for key in ["object", "binding", "visibility"] {
                assert!(d[key].is_string(), "definition {key}: {d}");
            }
            assert!(
                d["default"].is_boolean() && d.get("version").is_some(),
                "{d}"
            );
        }
        for r in doc["references"].as_array().expect("references") {
            assert!(r["object"].is_string(), "{r}");
            assert!(r["interposed"].is_boolean(), "{r}");
            for key in ["version", "binds_to", "expected"] {
                assert!(r.get(key).is_some(), "reference without {key}: {r}");
            }
            let interposed = r["binds_to"] != r["expected"];
            assert_eq!(
                r["interposed"], interposed,
                "interposed is binds_to != expected: {r}"
            );
        }
        let want_defs: BTreeSet<String> = facts
            .iter()
            .filter(|(_, (d, _))| d.contains(symbol))
            .map(|(m, _)| m.clone())
            .collect();
        let want_refs: BTreeSet<String> = facts
            .iter()
            .filter(|(_, (_, r))| r.contains(symbol))
            .map(|(m, _)| m.clone())
            .collect();
        let got_defs = strings(&doc["definitions"], "object");
        let got_refs = strings(&doc["references"], "object");
        if got_defs != want_defs {
            failures.push(format!(
                "{symbol}: definitions {got_defs:?}, goblin {want_defs:?}"
            ));
        }
        if got_refs != want_refs {
            failures.push(format!(
                "{symbol}: references {got_refs:?}, goblin {want_refs:?}"
            ));
        }
        checked += want_defs.len() + want_refs.len();
    }
    eprintln!(
        "explain: {} symbols, {checked} definitions and referencing objects checked against goblin over {} members",
        SYMBOLS.len(),
        members.len()
    );
    assert!(
        checked > 10,
        "the symbols were chosen to have definers and users"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Without --process: a list with one entry per modelled process.
    let all = run(&["explain", "--format", "json", "MD5Init"]);
    let list = all.as_array().expect("a list without --process");
    let processes: BTreeSet<&str> = list
        .iter()
        .map(|e| e["process"].as_str().expect("process"))
        .collect();
    assert!(processes.contains("apache"), "{processes:?}");
    assert!(list.iter().all(|e| e["symbol"] == "MD5Init"));
}

/// Piped, `image` and `explain` draw their tables as wide as `COLUMNS`
/// says, like `scan` (issue 19: they were 269 and 201 columns wide).
#[test]
fn image_and_explain_tables_follow_columns_when_piped() {
    let root = crate::common::bind_root("g-weak-first");
    for args in [vec!["image", "--root"], vec!["explain", "--root"]] {
        let mut cmd = std::process::Command::new(crate::common::SOCLASH);
        cmd.args(&args).arg(&root).env("COLUMNS", "60");
        if args[0] == "explain" {
            cmd.arg("wk_fn");
        }
        let out = cmd.output().expect("soclash runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A table, or below the width its columns need, one record per
        // row (layout::Grid): either way within COLUMNS.
        let text = String::from_utf8_lossy(&out.stdout);
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(
            widest > 0 && widest <= 60,
            "{}: {widest} columns\n{text}",
            args[0]
        );
    }
}
