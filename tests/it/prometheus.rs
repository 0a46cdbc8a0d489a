//! `scan --format prometheus` (issue 19) read back by the Prometheus
//! project's own parser (python3-prometheus-client, which `.ci/run`
//! installs): every family parses, and its samples add up to the report of
//! the same scan — findings, waived findings, objects by role, errors.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::{bind_root, path, sample_roots, soclash, tempdir};

/// The samples the official parser reads from `text`: (name, labels) →
/// value, labels as `k=v` joined by commas in name order.
fn parse(text: &str) -> BTreeMap<(String, String), f64> {
    const READER: &str = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        print(f"{s.name}\t{labels}\t{s.value}")
"#;
    use std::io::Write;
    let mut child = std::process::Command::new("/usr/bin/python3")
        .args(["-c", READER])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("/usr/bin/python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed the parser");
    let out = child.wait_with_output().expect("parser ends");
    assert!(
        out.status.success(),
        "python3-prometheus-client is needed (.ci/run installs it) and must parse:\n{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut f = l.split('\t');
            let name = f.next().unwrap_or("").to_string();
            let labels = f.next().unwrap_or("").to_string();
            let value = f.next().and_then(|v| v.parse().ok()).expect("a value");
            ((name, labels), value)
        })
        .collect()
}

fn sum(samples: &BTreeMap<(String, String), f64>, name: &str) -> f64 {
    samples
        .iter()
        .filter(|((n, _), _)| n == name)
        .map(|(_, v)| v)
        .sum()
}

#[test]
fn the_textfile_parses_and_adds_up_to_the_report() {
    let tmp = tempdir();
    let waivers = tmp.path().join("w.yaml");
    std::fs::write(
        &waivers,
        "- {id: libedit-vs-libreadline, reason: r, expires: 2999-01-01}\n",
    )
    .expect("write");
    let prom = tmp.path().join("soclash.prom");
    let mut checked = 0;
    for root in [
        bind_root("sig-libedit-vs-libreadline-pos"),
        bind_root("sig-mixed-openssl-in-process-pos"),
        sample_roots().join("scan/bad"),
    ] {
        let args = |format: &str| {
            vec![
                "scan".to_string(),
                "--root".into(),
                path(&root).into(),
                "--waivers".into(),
                path(&waivers).into(),
                "--format".into(),
                format.into(),
            ]
        };
        let mut a = args("prometheus");
        a.extend(["--output".to_string(), path(&prom).to_string()]);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let (_, out, err) = soclash(&a);
        assert!(out.is_empty(), "--output: nothing on stdout");
        let text = std::fs::read_to_string(&prom).unwrap_or_else(|e| panic!("{e}: {err}"));
        let samples = parse(&text);
        let j = args("json");
        let j: Vec<&str> = j.iter().map(String::as_str).collect();
        let (_, out, _) = soclash(&j);
        let report: Value = serde_json::from_str(&out).expect("JSON report");
        let len = |k: &str| report[k].as_array().map_or(0, Vec::len) as f64;
        assert_eq!(sum(&samples, "soclash_findings"), len("findings"), "{text}");
        assert_eq!(
            sum(&samples, "soclash_findings_waived"),
            len("waived"),
            "{text}"
        );
        assert_eq!(sum(&samples, "soclash_audit_errors"), len("errors"));
        for (role, n) in report["summary"]["by_role"].as_object().expect("by_role") {
            let key = ("soclash_objects".to_string(), format!("role={role}"));
            assert_eq!(samples.get(&key).copied(), n.as_f64(), "{role}");
        }
        for f in report["findings"].as_array().into_iter().flatten() {
            let key = (
                "soclash_findings".to_string(),
                format!(
                    "certainty={},id={},severity={}",
                    f["certainty"].as_str().unwrap_or(""),
                    f["id"].as_str().unwrap_or(""),
                    f["severity"].as_str().unwrap_or("")
                ),
            );
            assert!(samples.get(&key).is_some_and(|v| *v >= 1.0), "{key:?}");
        }
        assert!(sum(&samples, "soclash_scan_timestamp_seconds") > 1.7e9);
        assert_eq!(sum(&samples, "soclash_info"), 1.0);
        checked += 1;
    }
    // No temporary file is left beside the textfile.
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("read tmp")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".soclash-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(checked, 3);
}
