//! `scan --format sarif` (issue 19) against the official SARIF 2.1.0 JSON
//! schema: the copy the serde-sarif crate generates its types from
//! (OASIS's `sarif-schema-2.1.0.json`), found through `cargo metadata`, so
//! the test reads the schema as published rather than one of ours. Each
//! finding is one result, a waived one suppressed with the waiver's
//! reason, files that could not be audited are notifications.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::{bind_root, path, repo, sample_roots, soclash, tempdir};

/// The official schema, from the serde-sarif package cargo resolved.
/// Offline and for this host's platform only: a fresh machine has
/// downloaded only the packages this platform builds with, and cargo
/// would want the others (Windows' console crates) for a full resolve.
fn official_schema() -> Value {
    let rustc = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(repo())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let manifest = meta["packages"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "serde-sarif"))
        .and_then(|p| p["manifest_path"].as_str())
        .expect("serde-sarif is a dependency");
    let schema = PathBuf::from(manifest)
        .parent()
        .expect("package directory")
        .join("src/schema.json");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(&schema).unwrap_or_else(|e| panic!("{}: {e}", schema.display())),
    )
    .expect("schema JSON");
    assert_eq!(
        schema["title"],
        "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    );
    // The published schema's `language` patterns have a stray `]`, which
    // ECMA-262 (the schema's regex dialect) reads as a literal and the
    // validator's regex engine refuses: escape it, same meaning.
    let mut schema = schema;
    let fixed = escape_stray_bracket(&mut schema);
    assert!(fixed >= 1, "the published erratum is gone: drop this fix");
    schema
}

fn escape_stray_bracket(v: &mut Value) -> usize {
    const STRAY: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    match v {
        Value::String(s) if s == STRAY => {
            *s = r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\]?$".into();
            1
        }
        Value::Array(a) => a.iter_mut().map(escape_stray_bracket).sum(),
        Value::Object(o) => o.values_mut().map(escape_stray_bracket).sum(),
        _ => 0,
    }
}

fn scan(root: &std::path::Path, format: &str, extra: &[&str]) -> Value {
    let mut args = vec!["scan", "--root", path(root), "--format", format];
    args.extend_from_slice(extra);
    let (_, out, err) = soclash(&args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{format}: {e}: {err}"))
}

#[test]
fn sarif_validates_and_mirrors_the_report() {
    let validator = jsonschema::validator_for(&official_schema()).expect("SARIF schema compiles");
    let tmp = tempdir();
    let waivers = tmp.path().join("w.yaml");
    std::fs::write(
        &waivers,
        "- {id: libedit-vs-libreadline, reason: nobody imports readline, expires: 2999-01-01}\n",
    )
    .expect("write");
    let roots = [
        bind_root("sig-mixed-openssl-in-process-pos"),
        bind_root("sig-libedit-vs-libreadline-pos"),
        bind_root("g-weak-first"),
        sample_roots().join("scan/bad"),
    ];
    let mut results = 0;
    for root in &roots {
        for extra in [vec![], vec!["--waivers", path(&waivers)]] {
            let log = scan(root, "sarif", &extra);
            let errs: Vec<String> = validator
                .iter_errors(&log)
                .take(5)
                .map(|e| format!("{e} at {}", e.instance_path()))
                .collect();
            assert!(errs.is_empty(), "{}: {errs:#?}", root.display());
            let report = scan(root, "json", &extra);
            let run = &log["runs"][0];
            let got = run["results"].as_array().expect("results");
            let findings = report["findings"].as_array().map_or(0, Vec::len);
            let waived = report["waived"].as_array().map_or(0, Vec::len);
            assert_eq!(got.len(), findings + waived, "{}", root.display());
            for (r, f) in got
                .iter()
                .zip(report["findings"].as_array().into_iter().flatten())
            {
                assert_eq!(r["ruleId"], f["id"]);
                let level = match f["severity"].as_str() {
                    Some("critical" | "high") => "error",
                    Some("medium") => "warning",
                    _ => "note",
                };
                assert_eq!(r["level"], level);
                let rule = &run["tool"]["driver"]["rules"]
                    [r["ruleIndex"].as_u64().expect("index") as usize];
                assert_eq!(rule["id"], f["id"]);
                let uris: Vec<String> = r["locations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|l| {
                        format!(
                            "/{}",
                            l["physicalLocation"]["artifactLocation"]["uri"]
                                .as_str()
                                .unwrap_or("")
                        )
                    })
                    .collect();
                let objects: Vec<String> = f["objects"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|o| o.as_str().unwrap_or("").to_string())
                    .collect();
                assert_eq!(uris, objects);
            }
            let suppressed = got
                .iter()
                .filter(|r| r.get("suppressions").is_some())
                .count();
            assert_eq!(suppressed, waived);
            let errors = report["errors"].as_array().map_or(0, Vec::len);
            let notes = &run["invocations"][0]["toolExecutionNotifications"];
            assert_eq!(notes.as_array().map_or(0, Vec::len), errors);
            assert_eq!(run["invocations"][0]["executionSuccessful"], errors == 0);
            results += got.len();
        }
    }
    assert!(results >= 6, "{results} results in all");
    // The schema is not a formality: a level SARIF does not have fails.
    let mut bad = scan(&roots[0], "sarif", &[]);
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&bad));
    eprintln!("{} SARIF logs validate, {results} results", roots.len() * 2);
}
