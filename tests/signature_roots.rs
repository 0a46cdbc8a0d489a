//! Every signature of `signatures/` against its two sample roots
//! (sample-libs/bind-roots.sh, `make sample-libs`):
//! `target/sample-roots/bind/sig-<id>-pos` reproduces the clash and
//! `sig-<id>-neg` is the near-miss that must stay silent (namespaced
//! symbols, distinct versions, the object installed but not loaded, the
//! extension enabled for php-fpm only, `WSGIApplicationGroup %{GLOBAL}`,
//! one library file).
//!
//! A positive root gives exactly one finding at or above low, with the
//! signature's id and severity, its objects, remedy and references, and
//! for a symbol clash the focal binding of the root's `expected.txt` as
//! evidence; `tests/bind_oracle.rs` runs the same roots under glibc and
//! checks that binding is the one ld.so makes. A negative root gives no
//! finding at or above low.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

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

fn bind_roots() -> PathBuf {
    std::env::var_os("SOCLASH_SAMPLE_ROOTS")
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/sample-roots"),
            PathBuf::from,
        )
        .join("bind")
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
    let mut failures = Vec::new();
    let mut focal_checked = 0;
    for (id, sev) in &severity {
        let pos = bind_roots().join(format!("sig-{id}-pos"));
        let neg = bind_roots().join(format!("sig-{id}-neg"));
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
                if f["severity"] != sev.as_str() {
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
                    let shown = f["bindings"].as_array().is_some_and(|b| {
                        b.iter().any(|x| {
                            x["from"] == from.as_str()
                                && x["actual"] == def.as_str()
                                && x["symbol"].as_str().is_some_and(|s| {
                                    s == symbol || s.starts_with(&format!("{symbol}@"))
                                })
                        })
                    });
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
