//! `soclash fleet` over an archive generated from real scans of the sample
//! roots: 10,000 hosts whose newest reports are those scans under varied
//! host names, some with a previous report of another root (drift), some
//! stale, one of another schema, one from another tool version. What the
//! view must say is computed from the source reports themselves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::common::{bind_root, soclash, tempdir};

const HOSTS: usize = 10_000;

/// A real report of each source root, and its finding ids with their
/// worst severity.
struct Source {
    text: String,
    ids: BTreeMap<String, String>,
}

fn source(root: &str) -> Source {
    let r = bind_root(root);
    let (code, text, err) = soclash(&[
        "scan",
        "--root",
        r.to_str().expect("UTF-8"),
        "--format",
        "yaml",
    ]);
    assert!(code == 0 || code == 1, "{err}");
    let v: Value = serde_norway::from_str(&text).expect("YAML report");
    let rank = |s: &str| {
        ["info", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| *x == s)
    };
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for f in v["findings"].as_array().expect("findings") {
        let id = f["id"].as_str().expect("id").to_string();
        let sev = f["severity"].as_str().expect("severity").to_string();
        let e = ids.entry(id).or_insert_with(|| sev.clone());
        if rank(&sev) > rank(e) {
            *e = sev;
        }
    }
    Source { text, ids }
}

/// The report text as host `host` scanned at `stamp`.
fn as_host(text: &str, host: &str, stamp: &str) -> String {
    let rfc = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &stamp[..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        &stamp[13..15]
    );
    text.lines()
        .map(|l| {
            if l.starts_with("  hostname:") {
                format!("  hostname: {host}")
            } else if l.starts_with("  scanned_at:") {
                format!("  scanned_at: {rfc}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn write(archive: &Path, host: &str, stamp: &str, text: &str) {
    let dir = archive.join(host);
    std::fs::create_dir_all(&dir).expect("host dir");
    std::fs::write(dir.join(format!("{stamp}.yaml")), text).expect("report");
}

#[test]
fn ten_thousand_reports() {
    let roots = [
        "sig-libedit-vs-libreadline-pos",
        "sig-python-md5-vs-libmhash-pos",
        "sig-python-md5-vs-libmhash-neg",
        "sig-pysqlite-cache-init-vs-mod-cache-pos",
        "sig-duplicate-sqlite3-in-process-pos",
        "sig-libedit-vs-libreadline-neg",
    ];
    let sources: Vec<Source> = roots.iter().map(|r| source(r)).collect();
    let dir = tempdir();
    let archive = dir.path();
    let new_stamp = "20261120T120000Z";
    let old_stamp = "20261113T120000Z";
    let ancient = "20250101T000000Z";
    let mut want_ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut want_drift: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    let mut want_stale = BTreeSet::new();
    let mut want_worst: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..HOSTS {
        let host = format!("web{i:05}.example.net");
        let s = &sources[i % sources.len()];
        let stamp = if i % 997 == 0 { ancient } else { new_stamp };
        if stamp == ancient {
            want_stale.insert(host.clone());
        }
        write(archive, &host, stamp, &as_host(&s.text, &host, stamp));
        for id in s.ids.keys() {
            want_ids.entry(id.clone()).or_default().insert(host.clone());
        }
        let worst = ["critical", "high", "medium", "low", "info"]
            .into_iter()
            .find(|w| s.ids.values().any(|v| v == w))
            .unwrap_or("none");
        *want_worst.entry(worst.to_string()).or_default() += 1;
        if i % 3 == 0 && stamp == new_stamp {
            // Every 7th of these had another root a week before: drift.
            let prev = if i % 7 == 0 {
                &sources[(i + 1) % sources.len()]
            } else {
                s
            };
            write(
                archive,
                &host,
                old_stamp,
                &as_host(&prev.text, &host, old_stamp),
            );
            if !std::ptr::eq(prev, s) {
                let old: BTreeSet<String> = prev.ids.keys().cloned().collect();
                let new: BTreeSet<String> = s.ids.keys().cloned().collect();
                want_drift.insert(
                    host,
                    (
                        new.difference(&old).cloned().collect(),
                        old.difference(&new).cloned().collect(),
                    ),
                );
            }
        }
    }

    // This child's own peak (VmHWM, sampled), not getrusage's largest
    // child of the whole test process, which other tests' scans share.
    let run = crate::hostile::harness::run(
        archive,
        &[
            "fleet",
            archive.to_str().expect("UTF-8"),
            "--format",
            "json",
            "--stale",
            "30",
        ],
        &[],
        std::time::Duration::from_secs(600),
    );
    let (code, out, err) = (run.code, run.stdout.clone(), run.stderr.clone());
    let rss_mib = run.peak_rss_mb;
    eprintln!(
        "fleet of {HOSTS} hosts ({} reports): {:.2} s, peak RSS {rss_mib} MiB",
        HOSTS + HOSTS / 3,
        run.secs
    );
    assert!(!run.timed_out, "fleet took over 600 s");
    assert_eq!(
        code,
        Some(1),
        "critical and high findings on the fleet: {err}"
    );
    let f: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(f["hosts"], HOSTS);
    assert_eq!(f["unreadable"], Value::Array(Vec::new()));
    let got_ids: BTreeMap<String, BTreeSet<String>> = f["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|x| {
            let hosts: BTreeSet<String> = x["hosts"]
                .as_array()
                .expect("hosts")
                .iter()
                .map(|h| h.as_str().expect("host").to_string())
                .collect();
            assert_eq!(x["count"], hosts.len());
            (x["id"].as_str().expect("id").to_string(), hosts)
        })
        .collect();
    assert_eq!(got_ids, want_ids);
    let got_worst: BTreeMap<String, usize> = f["by_severity"]
        .as_object()
        .expect("by_severity")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_array().map_or(0, Vec::len)))
        .collect();
    assert_eq!(got_worst, want_worst);
    let got_stale: BTreeSet<String> = f["stale"]
        .as_array()
        .expect("stale")
        .iter()
        .map(|s| s["host"].as_str().expect("host").to_string())
        .collect();
    assert_eq!(got_stale, want_stale);
    let got_drift: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = f["drift"]
        .as_array()
        .expect("drift")
        .iter()
        .map(|d| {
            let set = |k: &str| -> BTreeSet<String> {
                d[k].as_array()
                    .expect("list")
                    .iter()
                    .map(|x| x.as_str().expect("id").to_string())
                    .collect()
            };
            (
                d["host"].as_str().expect("host").to_string(),
                (set("findings_added"), set("findings_resolved")),
            )
        })
        .collect();
    assert!(!want_drift.is_empty());
    assert_eq!(got_drift, want_drift);
    // Bounded memory: far below the 13,000 reports' size on disk.
    assert!(rss_mib < 512, "peak RSS {rss_mib} MiB");

    // As of a day between the two scans: only the older reports count,
    // so the hosts with only a newer report drop out.
    let (_, out, err) = soclash(&[
        "fleet",
        archive.to_str().expect("UTF-8"),
        "--format",
        "json",
        "--at",
        "2026-11-15",
    ]);
    let f: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
    let older = (0..HOSTS).filter(|i| i % 3 == 0 && i % 997 != 0).count()
        + (0..HOSTS).filter(|i| i % 997 == 0).count();
    assert_eq!(f["hosts"], older);
    assert_eq!(f["at"], "20261115T235959Z");
    assert_eq!(f["drift"], Value::Array(Vec::new()));
    // Ages count to the moment of the view, not to today.
    let secs = |rfc: &str| {
        humantime::parse_rfc3339(rfc)
            .expect("RFC 3339")
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after the epoch")
            .as_secs()
    };
    let at = secs("2026-11-15T23:59:59Z");
    let stale = f["stale"].as_array().expect("stale");
    assert!(!stale.is_empty(), "hosts stale at --at");
    for s in stale {
        let n = s["newest"].as_str().expect("stamp");
        let newest = secs(&format!(
            "{}-{}-{}T{}:{}:{}Z",
            &n[..4],
            &n[4..6],
            &n[6..8],
            &n[9..11],
            &n[11..13],
            &n[13..15]
        ));
        assert_eq!(s["age_days"], (at - newest) / 86_400, "{s}");
    }
}

/// Another schema is refused with its path, never misread; another tool
/// version is read and named; `--fail-on` sets the exit status.
#[test]
fn other_schemas_and_tools() {
    // A root whose one finding is high (the libedit root's is low: it needs
    // Python's interactive readline module).
    let s = source("sig-pysqlite-cache-init-vs-mod-cache-pos");
    let dir = tempdir();
    let a = dir.path();
    let stamp = "20261120T120000Z";
    write(a, "new", stamp, &as_host(&s.text, "new", stamp));
    let other_tool =
        as_host(&s.text, "other", stamp).replacen("  version: 0.1.0", "  version: 9.9.9", 1);
    assert_ne!(
        other_tool,
        as_host(&s.text, "other", stamp),
        "tool version line"
    );
    write(a, "other", stamp, &other_tool);
    write(
        a,
        "future",
        stamp,
        &as_host(&s.text, "future", stamp).replacen("schema: 1", "schema: 2", 1),
    );
    write(a, "garbage", stamp, "this: [is not\n");
    std::fs::create_dir_all(a.join("empty")).expect("empty host dir");
    std::fs::write(a.join("empty/notes.txt"), "not a report").expect("write");

    let (code, out, err) = soclash(&["fleet", a.to_str().expect("UTF-8"), "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    let f: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(f["hosts"], 2);
    let tools: Vec<&String> = f["tools"].as_object().expect("tools").keys().collect();
    assert_eq!(tools.len(), 2, "{tools:?}");
    assert!(
        tools.iter().any(|t| t.starts_with("soclash 9.9.9")),
        "{tools:?}"
    );
    let unreadable: BTreeMap<String, String> = f["unreadable"]
        .as_array()
        .expect("unreadable")
        .iter()
        .map(|e| {
            (
                e["path"].as_str().expect("path").to_string(),
                e["reason"].as_str().expect("reason").to_string(),
            )
        })
        .collect();
    assert_eq!(unreadable.len(), 2, "{unreadable:?}");
    let future = a.join("future").join(format!("{stamp}.yaml"));
    assert!(
        unreadable[future.to_str().expect("UTF-8")].contains("schema 2 is not 1"),
        "{unreadable:?}"
    );
    let (code, _, err) = soclash(&["fleet", a.to_str().expect("UTF-8"), "--fail-on", "critical"]);
    assert_eq!(code, 0, "only high findings: {err}");
    let (code, _, err) = soclash(&["fleet", "/nonexistent-archive"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot read the archive"), "{err}");
}
