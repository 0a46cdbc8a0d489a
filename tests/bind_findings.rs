//! The built-in binding findings of `soclash scan` on the bind roots that
//! `make sample-libs` builds (sample-libs/bind-roots.sh): one problem, one
//! finding, and silence where the binding is by design.
//!
//! Which scenarios are clashes is the scenarios' design (sample-libs/
//! README.md, "Bind roots"), not soclash's output: an object's own symbol
//! taken by another library (a, b, d, f, g, n, o), a soname substituted by
//! the copy loaded first (i), and by-design bindings that must stay silent:
//! DEEPBIND shielding (c), distinct symbol versions (e), protected
//! visibility (h), copy relocations (j), `STB_GNU_UNIQUE` (k), a weak lazy
//! call bound later (l), a canonical PLT entry (m), a scope update (p).
//! Where each focal reference binds is glibc's answer, checked by
//! `tests/bind_oracle.rs` and written in each root's `expected.txt`; here
//! the finding must carry that binding as its evidence.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// (scenario, the finding its design calls for).
const SCENARIOS: [(&str, Option<&str>); 16] = [
    ("a-self-reference", Some("symbol-interposition")),
    // The cache_init scenario is the catalogued clash: its signature
    // explains (replaces) the built-in interposition finding.
    (
        "b-function-pointer",
        Some("pysqlite-cache-init-vs-mod-cache"),
    ),
    ("c-deepbind", None),
    ("d-local-global-first", Some("symbol-interposition")),
    ("e-versioned-duplicates", None),
    ("f-versioned-to-unversioned", Some("symbol-interposition")),
    ("g-weak-first", Some("symbol-interposition")),
    ("h-protected", None),
    ("i-soname-reuse", Some("duplicate-soname-different-file")),
    ("j-copy-relocation", None),
    ("k-gnu-unique", None),
    ("l-lazy-first-call", None),
    ("m-canonical-plt", None),
    ("n-tls", Some("symbol-interposition")),
    ("o-hidden-version", Some("symbol-interposition")),
    ("p-scope-update", None),
];

fn bind_roots() -> PathBuf {
    std::env::var_os("SOCLASH_SAMPLE_ROOTS")
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sample-roots"),
            PathBuf::from,
        )
        .join("bind")
}

/// The focal references of a root: (ref, symbol, def) that glibc binds the
/// same with and without LD_BIND_NOW.
fn focal(dir: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(dir.join("expected.txt")).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the bind roots with `make sample-libs`",
            dir.display()
        )
    });
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() >= 4 && w[0] == "both")
                .then(|| (w[1].to_string(), w[2].to_string(), w[3].to_string()))
        })
        .collect()
}

#[test]
fn one_finding_per_designed_clash_and_none_for_the_rest() {
    let mut failures = Vec::new();
    for (name, want) in SCENARIOS {
        let dir = bind_roots().join(name);
        let focal = focal(&dir);
        let out = Command::cargo_bin("soclash")
            .expect("the soclash binary is built for tests")
            .args(["scan", "--format", "json", "--root"])
            .arg(dir.join("root"))
            .output()
            .expect("soclash runs");
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{name}: no JSON report ({e})"));
        let findings: Vec<&Value> = report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["severity"] != "info")
            .collect();
        match want {
            None => {
                if !findings.is_empty() {
                    failures.push(format!("{name}: by design, yet {findings:#?}"));
                }
            }
            Some(id) => {
                if findings.len() != 1 || findings[0]["id"] != id {
                    failures.push(format!("{name}: want one {id}, got {findings:#?}"));
                    continue;
                }
                let f = findings[0];
                // Its evidence holds a focal binding as glibc makes it.
                let shown = focal.iter().any(|(from, symbol, def)| {
                    f["bindings"].as_array().is_some_and(|b| {
                        b.iter().any(|x| {
                            x["from"] == from.as_str()
                                && x["actual"] == def.as_str()
                                && x["symbol"].as_str().is_some_and(|s| {
                                    s == symbol || s.starts_with(&format!("{symbol}@"))
                                })
                        })
                    })
                });
                if !shown {
                    failures.push(format!(
                        "{name}: no focal binding {focal:?} in {:#}",
                        f["bindings"]
                    ));
                }
                if f["process"] != "apache" || f["remedy"].as_str().is_none_or(str::is_empty) {
                    failures.push(format!("{name}: process and remedy: {f:#}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
