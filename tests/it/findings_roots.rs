//! Findings of `soclash scan` on the bind roots that `make sample-libs`
//! builds (sample-libs/bind-roots.sh): one problem, one finding, and
//! silence where the binding is by design or the near-miss misses.
//!
//! - The binding scenarios (sample-libs/README.md, "Bind roots"): which are
//!   clashes is their design, not soclash's output: an object's own symbol
//!   taken by another library (a, b, d, f, g, n, o; b is the catalogued
//!   cache_init clash, whose signature replaces the generic finding), a
//!   soname substituted by the copy loaded first (i), and by-design
//!   bindings that must stay silent: DEEPBIND shielding (c), distinct
//!   symbol versions (e), protected visibility (h), copy relocations (j),
//!   `STB_GNU_UNIQUE` (k), a weak lazy call bound later (l), a canonical
//!   PLT entry (m), a scope update (p).
//! - Every signature of `signatures/` against its two roots:
//!   `sig-<id>-pos` reproduces the clash and `sig-<id>-neg` is the
//!   near-miss that must stay silent (namespaced symbols, distinct
//!   versions, the object installed but not loaded, the extension enabled
//!   for php-fpm only, `WSGIApplicationGroup %{GLOBAL}`, one library file).
//!   A positive root gives exactly one finding at or above low, with the
//!   signature's id and severity (or a lower one whose evidence says first
//!   why: the libedit clash needs Python's interactive `readline` module),
//!   its objects, remedy and references; a negative root none.
//!
//! Where each focal reference binds is glibc's answer, checked by
//! `tests/bind_oracle.rs` on the same roots and written in each root's
//! `expected.txt`; a finding must carry that binding as its evidence.

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

use crate::common::sample_roots_dir;

fn soclash(args: &[&str], root: Option<&Path>) -> Value {
    let mut cmd = Command::cargo_bin("soclash").expect("the soclash binary is built for tests");
    cmd.args(args);
    if let Some(r) = root {
        cmd.arg("--root").arg(r);
    }
    let out = cmd.output().expect("soclash runs");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "soclash {args:?}: no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// (scenario, the finding its design calls for).
const SCENARIOS: [(&str, Option<&str>); 17] = [
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
    // libqdec loses qc_dict to the system's copy; that it finds its
    // dependencies only through the module's DT_RPATH is no
    // unresolved-dependency, the process finds them (issue 15).
    ("q-rpath-loader-chain", Some("symbol-interposition")),
];

/// Whether a finding's bindings show `from`'s reference to `symbol` (any
/// version) bound to `def`.
fn shows_binding(f: &Value, from: &str, symbol: &str, def: &str) -> bool {
    f["bindings"].as_array().is_some_and(|b| {
        b.iter().any(|x| {
            x["from"] == from
                && x["actual"] == def
                && x["symbol"]
                    .as_str()
                    .is_some_and(|s| s == symbol || s.starts_with(&format!("{symbol}@")))
        })
    })
}

/// (REF, SYMBOL, DEF) lines of a root's expected.txt that hold with and
/// without LD_BIND_NOW.
fn focal(dir: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(dir.join("expected.txt")).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the roots with `make sample-libs`",
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

fn at_or_above_low(report: &Value) -> Vec<Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] != "info")
        .cloned()
        .collect()
}

#[test]
fn each_signature_fires_on_its_positive_root_and_not_on_its_near_miss() {
    let catalogue = soclash(&["signatures", "list", "--format", "json"], None);
    let severity: BTreeMap<String, String> = catalogue
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| {
            (
                s["id"].as_str().expect("id").to_string(),
                s["severity"].as_str().expect("severity").to_string(),
            )
        })
        .collect();
    assert!(
        severity.len() >= 16,
        "the catalogue has the issue's 16 signatures at least: {severity:?}"
    );
    let bind_roots = sample_roots_dir().join("bind");
    let mut failures = Vec::new();
    let mut focal_checked = 0;
    for (id, sev) in &severity {
        let pos = bind_roots.join(format!("sig-{id}-pos"));
        let neg = bind_roots.join(format!("sig-{id}-neg"));
        for dir in [&pos, &neg] {
            assert!(
                dir.join("root").is_dir(),
                "{} missing: run `make sample-libs`",
                dir.display()
            );
        }
        let found = at_or_above_low(&soclash(
            &["scan", "--format", "json"],
            Some(&pos.join("root")),
        ));
        match found.as_slice() {
            [f] if f["id"] == id.as_str() => {
                // The signature's severity, or a lower one whose reason
                // the evidence gives first ("at most low: every crossing
                // needs an import of readline…", rules/consequence.rs).
                let capped = f["evidence"][0].as_str().is_some_and(|e| {
                    e.starts_with(&format!(
                        "at most {}:",
                        f["severity"].as_str().unwrap_or("?")
                    ))
                });
                if f["severity"] != sev.as_str() && !capped {
                    failures.push(format!("{id}: severity {} not {sev}", f["severity"]));
                }
                for key in ["objects", "references"] {
                    if f[key].as_array().is_none_or(Vec::is_empty) {
                        failures.push(format!("{id}: no {key}"));
                    }
                }
                if f["remedy"].as_str().is_none_or(str::is_empty) {
                    failures.push(format!("{id}: no remedy"));
                }
                // The interposition the root is built for is the finding's
                // evidence (bind_oracle confirms it with glibc).
                for (from, symbol, def) in focal(&pos).into_iter().filter(|(f, _, d)| f != d) {
                    focal_checked += 1;
                    let shown = shows_binding(f, &from, &symbol, &def);
                    if !shown {
                        failures.push(format!(
                            "{id}: binding {from} {symbol} -> {def} not in {:#}",
                            f["bindings"]
                        ));
                    }
                }
            }
            other => failures.push(format!(
                "{id}: want exactly one finding {id}, got {:?}",
                other.iter().map(|f| f["id"].clone()).collect::<Vec<_>>()
            )),
        }
        let silent = at_or_above_low(&soclash(
            &["scan", "--format", "json"],
            Some(&neg.join("root")),
        ));
        if !silent.is_empty() {
            failures.push(format!(
                "{id}: the near-miss gives {:?}",
                silent.iter().map(|f| f["id"].clone()).collect::<Vec<_>>()
            ));
        }
    }
    eprintln!(
        "{} signatures: {} roots, {focal_checked} focal bindings checked",
        severity.len(),
        2 * severity.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The built-in binding findings on the bind scenarios: one problem, one
/// finding, and silence where the binding is by design.
#[test]
fn one_finding_per_designed_clash_and_none_for_the_rest() {
    let mut failures = Vec::new();
    for (name, want) in SCENARIOS {
        let dir = sample_roots_dir().join("bind").join(name);
        let focal = focal(&dir);
        let findings = at_or_above_low(&soclash(
            &["scan", "--format", "json"],
            Some(&dir.join("root")),
        ));
        match (want, findings.as_slice()) {
            (None, []) => {}
            (None, found) => failures.push(format!("{name}: by design, yet {found:#?}")),
            (Some(id), [f]) if f["id"] == id => {
                // Its evidence holds a focal binding as glibc makes it.
                if !focal
                    .iter()
                    .any(|(from, symbol, def)| shows_binding(f, from, symbol, def))
                {
                    failures.push(format!(
                        "{name}: no focal binding {focal:?} in {:#}",
                        f["bindings"]
                    ));
                }
                if f["process"] != "apache" || f["remedy"].as_str().is_none_or(str::is_empty) {
                    failures.push(format!("{name}: process and remedy: {f:#}"));
                }
            }
            (Some(id), found) => failures.push(format!("{name}: want one {id}, got {found:#?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
