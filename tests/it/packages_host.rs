//! Package attribution on this machine against `dpkg -S` (the oracle; soclash
//! itself reads /var/lib/dpkg and never runs dpkg): for every object of the
//! scan, the package soclash names is the one dpkg names for the file. dpkg
//! knows files by the path their package ships them under, which on merged
//! /usr is often the `/lib` alias of the canonical `/usr/lib` path, so each
//! object is asked for by its canonical path, its aliases and the names the
//! scan reached it by, and the first answer counts.

use std::collections::BTreeMap;
use std::process::Command as Std;

use assert_cmd::Command;
use serde_json::Value;

#[test]
fn every_object_is_attributed_as_dpkg_says() {
    assert!(
        std::path::Path::new("/var/lib/dpkg/status").is_file(),
        "this test needs a Debian host (dpkg's database)"
    );
    let out = Command::cargo_bin("soclash")
        .expect("the soclash binary is built for tests")
        .args(["scan", "--format", "json", "--fail-on", "critical"])
        .output()
        .expect("soclash runs");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let objects = report["objects"].as_array().expect("objects");
    assert!(objects.len() > 100, "the web stack .ci/run installs");
    // Every name to ask dpkg about, per object, in order of preference.
    let mut asks: Vec<(String, Vec<String>)> = Vec::new();
    for o in objects {
        let path = o["path"].as_str().expect("path").to_string();
        let mut names = vec![path.clone()];
        for prefix in ["/usr/lib/", "/usr/bin/", "/usr/sbin/"] {
            if let Some(rest) = path.strip_prefix(prefix) {
                names.push(format!("/{}{rest}", &prefix[5..]));
            }
        }
        for n in o["names"].as_array().into_iter().flatten() {
            names.push(n.as_str().expect("name").to_string());
        }
        asks.push((path, names));
    }
    let all: Vec<&String> = asks.iter().flat_map(|(_, n)| n).collect();
    let dpkg = Std::new("dpkg")
        .arg("-S")
        .args(&all)
        .output()
        .expect("dpkg -S runs");
    // `pkg[:arch][, pkg2]: /path` lines; paths dpkg does not know are on
    // stderr.
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for line in String::from_utf8_lossy(&dpkg.stdout).lines() {
        if let Some((pkgs, path)) = line.split_once(": ") {
            let first = pkgs.split(", ").next().unwrap_or(pkgs);
            let name = first.split(':').next().unwrap_or(first);
            owner
                .entry(path.to_string())
                .or_insert_with(|| name.to_string());
        }
    }
    let mut agree = 0;
    let mut unowned = 0;
    let mut failures = Vec::new();
    for ((path, names), o) in asks.iter().zip(objects) {
        let want = names.iter().find_map(|n| owner.get(n));
        let got = o["package"]["name"].as_str();
        match (want, got) {
            (Some(w), Some(g)) if w == g => agree += 1,
            (None, None) => unowned += 1,
            _ => failures.push(format!("{path}: dpkg {want:?}, soclash {got:?}")),
        }
        if got.is_some() && o["package"]["version"].as_str().is_none_or(str::is_empty) {
            failures.push(format!("{path}: no version"));
        }
    }
    // Each finding names the packages of its objects, for the remedy.
    let package_of: BTreeMap<&str, &str> = objects
        .iter()
        .filter_map(|o| Some((o["path"].as_str()?, o["package"]["name"].as_str()?)))
        .collect();
    for f in report["findings"].as_array().expect("findings") {
        let line = f["evidence"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find(|l| l.starts_with("packages: "));
        for o in f["objects"].as_array().into_iter().flatten() {
            if let Some(pkg) = o.as_str().and_then(|o| package_of.get(o)) {
                if !line.is_some_and(|l| l.contains(&format!("{pkg} "))) {
                    failures.push(format!("finding {}: package {pkg} not named", f["id"]));
                }
            }
        }
    }
    // The remedy names, for each library of a finding, the package of the
    // module or extension that brings it (what a sysadmin disables).
    let mut remedies = 0;
    for f in report["findings"].as_array().expect("findings") {
        let members = report["processes"]
            .as_array()
            .expect("processes")
            .iter()
            .filter(|p| p["name"] == f["process"])
            .flat_map(|p| p["members"].as_array().into_iter().flatten());
        let remedy = f["remedy"].as_str().unwrap_or_default();
        for m in members {
            let (Some(object), Some(by)) = (m["object"].as_str(), m["brought_by"].as_str()) else {
                continue;
            };
            if !f["objects"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|o| o == object)
            {
                continue;
            }
            let Some(pkg) = package_of.get(by) else {
                continue;
            };
            let file = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
            let want = format!("{} comes with {} (package {pkg} ", file(object), file(by));
            if remedy.contains(&want) {
                remedies += 1;
            } else {
                failures.push(format!(
                    "finding {}: remedy lacks `{want}`: {remedy}",
                    f["id"]
                ));
            }
        }
    }
    eprintln!(
        "packages: {agree} objects attributed as dpkg -S does, {unowned} owned by no package, {remedies} remedies name the bringing package, {} differ",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(agree > 100);
}
