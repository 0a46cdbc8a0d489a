//! The JSON Schema of report schema 1 (issue 19): `soclash schema` is
//! docs/report.schema.json, every report the suite records validates
//! against it (tests/it/golden/*.scan.json, plus a waived finding and a
//! what-if, which the golden roots do not have), and a report with a wrong
//! value does not.

use serde_json::Value;

use crate::common::{bind_root, path, repo, soclash, tempdir};

fn schema() -> Value {
    let (code, out, err) = soclash(&["schema"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("soclash schema prints JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&schema()).expect("the schema is a valid draft 2020-12 schema")
}

fn errors(v: &jsonschema::Validator, report: &Value) -> Vec<String> {
    v.iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(5)
        .collect()
}

/// The shipped copy is what the binary prints.
#[test]
fn docs_copy_is_the_generated_schema() {
    let (_, out, _) = soclash(&["schema"]);
    let shipped = std::fs::read_to_string(repo().join("docs/report.schema.json"))
        .expect("docs/report.schema.json");
    assert!(
        out == shipped,
        "docs/report.schema.json is stale: `cargo run -- schema > docs/report.schema.json`"
    );
    let s = schema();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
}

/// Every recorded scan report validates; so do a report with a waived
/// finding and one of a what-if.
#[test]
fn every_report_validates() {
    let v = validator();
    let trailing_comma = regex::Regex::new(r",(\s*\n\s*[}\]])").expect("regex");
    let mut checked = 0;
    let dir = repo().join("tests/it/golden");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/it/golden")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".scan.json"))
        .collect();
    files.sort();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read golden");
        let json = text
            .strip_prefix("--- stdout\n")
            .and_then(|t| t.split("\n--- stderr").next())
            .expect("golden layout");
        // The recording drops the `scanned_at` line (tests/it/golden.rs):
        // put a time back where it was.
        let json = trailing_comma.replace_all(json, "$1");
        let mut report: Value = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("{}: no JSON report: {e}", file.display()));
        report["host"]["scanned_at"] = "2026-12-06T00:00:00Z".into();
        let errs = errors(&v, &report);
        assert!(errs.is_empty(), "{}: {errs:#?}", file.display());
        checked += 1;
    }
    assert!(checked >= 100, "only {checked} recorded reports");

    // A waived finding, and a what-if's overlay section.
    let tmp = tempdir();
    let waivers = tmp.path().join("w.yaml");
    std::fs::write(
        &waivers,
        "- {id: mixed-openssl-in-process, reason: r, expires: 2999-01-01}\n",
    )
    .expect("write");
    std::fs::create_dir_all(tmp.path().join("overlay/usr/lib")).expect("mkdir");
    let root = bind_root("sig-mixed-openssl-in-process-pos");
    for extra in [
        vec!["--waivers", path(&waivers)],
        vec!["--overlay", path(&tmp.path().join("overlay"))],
    ] {
        let mut args = vec!["scan", "--root", path(&root), "--format", "json"];
        args.extend(extra.iter().copied());
        let (_, out, err) = soclash(&args);
        let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
        let errs = errors(&v, &report);
        assert!(errs.is_empty(), "{extra:?}: {errs:#?}");
        checked += 1;
    }
    assert!(
        ["waived", "overlay"]
            .iter()
            .all(|k| schema()["properties"].get(k).is_some())
    );
    eprintln!("{checked} reports validate against the schema");
}

/// The schema rejects what is not a schema-1 report: a severity that is
/// none, another schema number, a missing section, a string for a count.
#[test]
fn wrong_values_are_rejected() {
    let v = validator();
    let root = bind_root("sig-mixed-openssl-in-process-pos");
    let (_, out, _) = soclash(&["scan", "--root", path(&root), "--format", "json"]);
    let good: Value = serde_json::from_str(&out).expect("JSON report");
    assert!(errors(&v, &good).is_empty());
    type Spoil = fn(&mut Value);
    let bad: [(&str, Spoil); 5] = [
        ("severity", |r| {
            r["findings"][0]["severity"] = "urgent".into()
        }),
        ("schema 2", |r| r["schema"] = 2.into()),
        ("no findings", |r| {
            r.as_object_mut().map(|o| o.remove("findings"));
        }),
        ("count as text", |r| r["summary"]["objects"] = "many".into()),
        ("role", |r| r["objects"][0]["role"] = "daemon".into()),
    ];
    for (what, spoil) in bad {
        let mut r = good.clone();
        spoil(&mut r);
        assert!(!v.is_valid(&r), "{what}: accepted");
    }
}
