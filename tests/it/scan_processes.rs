//! `soclash scan` takes `loaded` and `processes` from the process model: on
//! the image sample roots (built by `make sample-libs`), every object the
//! root's manifest says a process loads is an object of the report and
//! lists that process, and no object lists a process the manifest says
//! does not load it. The manifests come
//! from how sample-libs/image-roots.sh built each root, not from soclash.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use crate::common::{SOCLASH, sample_roots_dir};

#[test]
fn scan_objects_name_the_processes_that_load_them() {
    let base = sample_roots_dir().join("image");
    let mut checked = 0;
    let mut failures = Vec::new();
    for name in ["debian", "rhel", "source", "wsgi"] {
        let dir = base.join(name);
        let manifest = std::fs::read_to_string(dir.join("expected.txt"))
            .unwrap_or_else(|_| panic!("{} missing: run `make sample-libs`", dir.display()));
        let out = Command::new(SOCLASH)
            .args(["scan", "--format", "json", "--root"])
            .arg(dir.join("root"))
            .output()
            .expect("run soclash scan");
        let report: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("scan --format json is JSON");
        let mut procs: BTreeMap<String, (BTreeSet<String>, serde_json::Value)> = BTreeMap::new();
        for o in report["objects"].as_array().expect("objects") {
            let set = o["processes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect();
            procs.insert(
                o["path"].as_str().unwrap_or_default().to_string(),
                (set, o["loaded"].clone()),
            );
        }
        for line in manifest.lines().filter(|l| !l.starts_with('#')) {
            let w: Vec<&str> = line.split_whitespace().collect();
            let [kind, process, path] = w[..] else {
                continue;
            };
            let Some((set, loaded)) = procs.get(path) else {
                // Every member of a process is an object of the report
                // (a virtualenv's modules too); what no process loads
                // may be none.
                if kind == "member" {
                    checked += 1;
                    failures.push(format!(
                        "{name}: {path}, a member of {process}, is no object"
                    ));
                }
                continue;
            };
            match kind {
                "member" => {
                    checked += 1;
                    if !set.contains(process) {
                        failures.push(format!(
                            "{name}: {path} should list {process}, lists {set:?}"
                        ));
                    }
                    if loaded == &serde_json::Value::Bool(false) {
                        failures.push(format!(
                            "{name}: {path} is a member of {process} but loaded is false"
                        ));
                    }
                }
                "not-member" => {
                    checked += 1;
                    if set.contains(process) {
                        failures.push(format!("{name}: {path} must not list {process}"));
                    }
                }
                _ => {}
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} manifest lines matched scanned objects"
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} lines:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("scan processes: {checked} manifest lines agree");
}
