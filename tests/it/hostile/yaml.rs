//! Hostile yaml input (issue 13): signature files and archived reports
//! that would make the YAML parser quadratic or expand aliases into
//! gigabytes, and "reports" that are FIFOs, devices or too large.

use std::path::Path;

use super::harness::{self, DEADLINE};

use crate::common::tempdir;

/// The head of a signature whose `applies_to` is `value`.
fn signature(value: &str) -> String {
    format!(
        "id: deep\ntitle: t\nseverity: high\nstatus: confirmed\nera: current\n\
         match: {{ present: {{ soname: x }} }}\nremedy: r\nreferences: []\napplies_to: {value}\n"
    )
}

/// `[[[…]]]` filling about `bytes`.
fn flow_nesting(bytes: usize) -> String {
    let n = bytes / 2;
    format!("{}{}", "[".repeat(n), "]".repeat(n))
}

fn write_signature(dir: &Path, text: &str) -> String {
    let sigs = dir.join("sigs");
    std::fs::create_dir_all(&sigs).unwrap();
    std::fs::write(sigs.join("deep.yaml"), text).unwrap();
    sigs.display().to_string()
}

fn check_signatures(text: &str, budget: &str) {
    let tmp = tempdir();
    let sigs = write_signature(tmp.path(), text);
    let run = harness::run(tmp.path(), &["signatures", "check", &sigs], &[], DEADLINE);
    run.assert_bounded(DEADLINE);
    assert_eq!(run.code, Some(1), "{run:#?}");
    run.assert_names_budget(budget);
    assert!(run.stderr.contains("deep.yaml:"), "{}", run.stderr);
}

#[test]
fn flow_nesting_of_200k_in_a_signature() {
    check_signatures(&signature(&flow_nesting(200 << 10)), "YAML_DEPTH");
}

#[test]
fn flow_nesting_up_to_the_signature_cap() {
    let head = signature("").len();
    let text = signature(&flow_nesting((1 << 20) - head - 2));
    assert!(text.len() as u64 <= soclash::budget::SIGNATURE_BYTES);
    check_signatures(&text, "YAML_DEPTH");
}

#[test]
fn block_nesting_in_a_signature() {
    let mut nested = String::new();
    for i in 1..1400 {
        nested.push_str(&format!("\n{}k:", " ".repeat(i)));
    }
    check_signatures(&signature(&nested), "YAML_DEPTH");
    let compact = format!("\n{}x", "- ".repeat(200_000));
    check_signatures(&signature(&compact), "YAML_DEPTH");
}

/// `--signatures DIR` of a scan or `signatures list` reads the same way.
#[test]
fn signatures_dir_of_the_catalogue() {
    let tmp = tempdir();
    let sigs = write_signature(tmp.path(), &signature(&flow_nesting(200 << 10)));
    let run = harness::run(
        tmp.path(),
        &["signatures", "list", "--signatures", &sigs],
        &[],
        DEADLINE,
    );
    run.assert_bounded(DEADLINE);
    run.assert_names_budget("YAML_DEPTH");
    // The embedded catalogue is still listed.
    assert!(run.stdout.contains("libedit-vs-libreadline"), "{run:#?}");
}

#[test]
fn signature_larger_than_the_cap() {
    let tmp = tempdir();
    let sigs = write_signature(tmp.path(), "");
    let f = std::fs::File::options()
        .write(true)
        .open(Path::new(&sigs).join("deep.yaml"))
        .unwrap();
    f.set_len(soclash::budget::SIGNATURE_BYTES + 1).unwrap();
    let run = harness::run(tmp.path(), &["signatures", "check", &sigs], &[], DEADLINE);
    run.assert_bounded(DEADLINE);
    run.assert_names_budget("SIGNATURE_BYTES");
}

#[test]
fn too_many_signature_files() {
    let tmp = tempdir();
    let sigs = tmp.path().join("sigs");
    std::fs::create_dir(&sigs).unwrap();
    for i in 0..=soclash::budget::SIGNATURE_FILES {
        std::fs::write(sigs.join(format!("s{i}.yaml")), "").unwrap();
    }
    let run = harness::run(tmp.path(), &["signatures", "check", "sigs"], &[], DEADLINE);
    run.assert_bounded(DEADLINE);
    assert_eq!(run.code, Some(1), "{run:#?}");
    run.assert_names_budget("SIGNATURE_FILES");
    assert!(
        run.stdout.contains("0 signatures valid, 1 error\n"),
        "{run:#?}"
    );
}

/// The attacker's report: each line 40 aliases to the line before, and
/// then lines of aliases to the last, to about 718 KB.
fn laughs() -> String {
    let mut text = String::from("schema: 1\n");
    text.push_str(&format!("a0: &a0 [{}]\n", vec!["x"; 40].join(",")));
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 40].join(",");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let mut k = 0;
    while text.len() < 718_000 {
        text.push_str(&format!("b{k}: [{}]\n", vec!["*a9"; 40].join(",")));
        k += 1;
    }
    text
}

/// Fewer aliases than YAML_ALIASES, each doubling the one before.
fn doubling() -> String {
    let mut text = format!("schema: 1\na0: &a0 [{}]\n", "x,".repeat(20_000));
    for i in 1..8 {
        text.push_str(&format!("a{i}: &a{i} [*a{}, *a{}]\n", i - 1, i - 1));
    }
    text
}

fn diff(old: &str, new: &str) -> harness::Run {
    let tmp = tempdir();
    std::fs::write(tmp.path().join("old.yaml"), old).unwrap();
    std::fs::write(tmp.path().join("new.yaml"), new).unwrap();
    let run = harness::run(tmp.path(), &["diff", "old.yaml", "new.yaml"], &[], DEADLINE);
    run.assert_bounded(DEADLINE);
    assert_eq!(run.code, Some(2), "{run:#?}");
    run
}

#[test]
fn alias_repetition_in_a_report() {
    let text = laughs();
    assert!(text.len() >= 718_000);
    diff(&text, &text).assert_names_budget("YAML_ALIASES");
    diff(&doubling(), &doubling()).assert_names_budget("YAML_ALIAS_BYTES");
}

#[test]
fn nesting_in_a_yaml_or_json_report() {
    let yaml = format!("schema: 1\nx: {}\n", flow_nesting(1 << 20));
    diff(&yaml, &yaml).assert_names_budget("YAML_DEPTH");
    // serde_norway reads JSON reports as YAML, through the same check.
    let json = format!(
        "{{\"schema\": 1, \"x\": {}{}}}",
        "{\"k\": ".repeat(100_000),
        "}".repeat(100_000)
    );
    diff(&json, &json).assert_names_budget("YAML_DEPTH");
}

/// One node per 3 bytes, as many as serde_norway would keep events of.
#[test]
fn too_many_nodes_in_a_report() {
    let n = soclash::budget::YAML_NODES + 1;
    let text = format!("schema: 1\nprocesses: [{}]\n", "[],".repeat(n));
    assert!(text.len() as u64 <= soclash::budget::REPORT_BYTES);
    diff(&text, &text).assert_names_budget("YAML_NODES");
}

#[test]
fn report_larger_than_the_cap() {
    let tmp = tempdir();
    let big = tmp.path().join("big.yaml");
    std::fs::write(&big, "schema: 1\n").unwrap();
    // Sparse: no disk is used for the hole.
    std::fs::File::options()
        .write(true)
        .open(&big)
        .unwrap()
        .set_len(soclash::budget::REPORT_BYTES + 1)
        .unwrap();
    let run = harness::run(tmp.path(), &["diff", "big.yaml", "big.yaml"], &[], DEADLINE);
    run.assert_bounded(DEADLINE);
    assert_eq!(run.code, Some(2), "{run:#?}");
    run.assert_names_budget("REPORT_BYTES");
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C string for mkfifo(3).
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn diff_of_a_fifo_or_dev_zero_ends_at_once() {
    let tmp = tempdir();
    mkfifo(&tmp.path().join("fifo.yaml"));
    for (args, what) in [
        (["diff", "fifo.yaml", "fifo.yaml"], "a FIFO"),
        (["diff", "/dev/zero", "/dev/zero"], "a character device"),
    ] {
        let run = harness::run(tmp.path(), &args, &[], DEADLINE);
        run.assert_bounded(DEADLINE);
        assert_eq!(run.code, Some(2), "{run:#?}");
        assert!(run.secs < 5.0, "{run:#?}");
        assert!(
            run.stderr
                .contains(&format!("not a regular file but {what}")),
            "{run:#?}"
        );
    }
}

#[test]
fn fleet_over_a_fifo_and_hostile_reports() {
    let tmp = tempdir();
    let archive = tmp.path().join("archive");
    for host in ["deep", "drift", "fifo", "laughs"] {
        std::fs::create_dir_all(archive.join(host)).unwrap();
    }
    let deep = format!("schema: 1\nx: {}\n", flow_nesting(1 << 20));
    std::fs::write(archive.join("deep/20260101T000000Z.yaml"), &deep).unwrap();
    // A real newest report whose previous one is a FIFO: the drift read
    // must not hang either.
    std::fs::create_dir(tmp.path().join("root")).unwrap();
    let scan = harness::run(
        tmp.path(),
        &["scan", "--root", "root", "--format", "yaml"],
        &[],
        DEADLINE,
    );
    // An empty root: exit 2 (nothing to audit), with its report.
    scan.assert_scanned();
    assert!(scan.stdout.starts_with("schema: 1"), "{scan:#?}");
    std::fs::write(archive.join("drift/20260101T000000Z.yaml"), &scan.stdout).unwrap();
    mkfifo(&archive.join("drift/20251231T000000Z.yaml"));
    mkfifo(&archive.join("fifo/20260101T000000Z.yaml"));
    std::fs::write(archive.join("laughs/20260101T000000Z.yaml"), laughs()).unwrap();
    let run = harness::run(
        tmp.path(),
        &["fleet", "archive", "--format", "json"],
        &[],
        DEADLINE,
    );
    run.assert_bounded(DEADLINE);
    run.assert_names_budget("YAML_ALIASES");
    run.assert_names_budget("YAML_DEPTH");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let unreadable: Vec<String> = v["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["path"], e["reason"]))
        .collect();
    let fifos: Vec<&String> = unreadable
        .iter()
        .filter(|e| e.contains("not a regular file but a FIFO"))
        .collect();
    assert_eq!(unreadable.len(), 4, "{unreadable:#?}");
    assert!(
        fifos.len() == 2
            && fifos[0].contains("drift/20251231T000000Z.yaml")
            && fifos[1].contains("fifo/20260101T000000Z.yaml"),
        "{unreadable:#?}"
    );
    // The one readable host is in the view.
    assert_eq!(v["hosts"], 1, "{v:#}");
}
