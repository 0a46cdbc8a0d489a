//! Exit codes a timer can rely on (issue 15): `--fail-on` with a certainty
//! and `none`, waivers, and exit 2 for an audit that could not be done (a
//! root with nothing to audit, a bad `--signatures` directory, a fleet
//! with no readable report). The roots are the signature roots of `make
//! sample-libs`: mixed-openssl's finding is high and certain,
//! duplicate-sqlite3's high and likely, libedit's low and likely.

use std::path::Path;

use serde_json::Value;

use crate::common::{SOCLASH, bind_root, path, soclash, tempdir};

const OPENSSL: &str = "sig-mixed-openssl-in-process-pos";
const SQLITE: &str = "sig-duplicate-sqlite3-in-process-pos";
const LIBEDIT: &str = "sig-libedit-vs-libreadline-pos";

/// `scan --root ROOT --format json EXTRA…`: (exit code, report, stderr).
fn scan(root: &str, extra: &[&str]) -> (i32, Value, String) {
    let r = bind_root(root);
    let mut args = vec!["scan", "--root", path(&r), "--format", "json"];
    args.extend_from_slice(extra);
    let (code, out, err) = soclash(&args);
    let report = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{root} {extra:?}: no JSON report ({e}); stderr: {err}"));
    (code, report, err)
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// `--fail-on SEVERITY` counts certain and likely findings,
/// `SEVERITY:certain` only certain ones, `none` none; a lower severity
/// than the findings' leaves the run clean.
#[test]
fn fail_on_takes_a_certainty_and_none() {
    for (root, fail_on, code) in [
        (OPENSSL, "high", 1),
        (SQLITE, "high", 1),
        (OPENSSL, "high:certain", 1),
        (SQLITE, "high:certain", 0),
        (SQLITE, "high:latent", 1),
        (SQLITE, "critical", 0),
        (SQLITE, "none", 0),
        (LIBEDIT, "high", 0),
        (LIBEDIT, "low", 1),
        (LIBEDIT, "low:certain", 0),
    ] {
        let (got, report, err) = scan(root, &["--fail-on", fail_on]);
        assert!(!ids(&report["findings"]).is_empty(), "{root}: a finding");
        assert_eq!(got, code, "{root} --fail-on {fail_on}: {err}");
    }
    let (code, _, err) = soclash(&["scan", "--fail-on", "high:sure", "--root", "/nonexistent"]);
    assert_eq!(code, 2);
    assert!(err.contains("certain, likely or latent"), "{err}");
}

/// A waived finding moves to `waived` with its reason and no longer
/// fails the run; an expired waiver does not apply and is named, as is a
/// waiver that matches nothing; a broken waivers file stops the run
/// before any report is written.
#[test]
fn waivers_move_findings_out_of_the_exit_code() {
    let dir = tempdir();
    let file = dir.path().join("waivers.yaml");
    let write = |text: &str| std::fs::write(&file, text).expect("write waivers");
    let w = path(&file);

    write(
        "- id: mixed-openssl-in-process\n  reason: libssl1.1 goes with the next release (ticket 42)\n  expires: 2999-01-01\n  host: 'bind-sig-*'\n  objects: ['/usr/lib/x86_64-linux-gnu/libssl.so.1.*']\n- id: md5\n  reason: r\n  expires: 2999-01-01\n",
    );
    let (code, report, err) = scan(OPENSSL, &["--waivers", w]);
    assert_eq!(code, 0, "{err}");
    assert!(ids(&report["findings"]).is_empty());
    assert_eq!(
        ids(&report["waived"].as_array().map_or(Value::Null, |a| {
            Value::Array(a.iter().map(|x| x["finding"].clone()).collect())
        })),
        ["mixed-openssl-in-process"]
    );
    assert_eq!(
        report["waived"][0]["reason"],
        "libssl1.1 goes with the next release (ticket 42)"
    );
    assert_eq!(report["summary"]["waived"], 1);
    assert!(err.contains("entry 2 (md5) matches no finding"), "{err}");

    // The table says what was waived and why.
    let r = bind_root(OPENSSL);
    let (_, table, _) = soclash(&[
        "scan",
        "--root",
        path(&r),
        "--format",
        "table",
        "--waivers",
        w,
    ]);
    assert!(table.contains("1 finding waived"), "{table}");
    assert!(table.contains("ticket 42"), "{table}");

    // Another host's waiver, or an expired one, leaves the finding.
    write("- {id: mixed-openssl-in-process, reason: r, expires: 2999-01-01, host: 'db-*'}\n");
    let (code, report, err) = scan(OPENSSL, &["--waivers", w]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(ids(&report["findings"]), ["mixed-openssl-in-process"]);
    write("- {id: mixed-openssl-in-process, reason: r, expires: 2001-01-01}\n");
    let (code, report, err) = scan(OPENSSL, &["--waivers", w]);
    assert_eq!(code, 1);
    assert!(report.get("waived").is_none());
    assert!(err.contains("expired on 2001-01-01: not applied"), "{err}");

    // A typo is no silent waiver of everything: the run stops.
    write("- {id: mixed-openssl-in-process, reason: r, expires: 2999-01-01, host_glob: x}\n");
    let (code, out, err) = soclash(&["scan", "--root", path(&r), "--waivers", w]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("unknown field `host_glob`"), "{err}");
    let (code, out, err) = soclash(&["scan", "--root", path(&r), "--waivers", "/nonexistent.yaml"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
}

/// A root with nothing of a web stack exits 2 and says so, in the report
/// too; it is not "No findings".
#[test]
fn nothing_to_audit_exits_2() {
    let dir = tempdir();
    std::fs::create_dir_all(dir.path().join("usr/lib")).expect("mkdir");
    let (code, out, err) = soclash(&["scan", "--root", path(dir.path()), "--format", "json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nothing to audit"), "{err}");
    let report: Value = serde_json::from_str(&out).expect("a report is still written");
    assert!(
        report["errors"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("nothing to audit")),
        "{report}"
    );
    let (code, table, _) = soclash(&["scan", "--root", path(dir.path()), "--format", "table"]);
    assert_eq!(code, 2);
    assert!(
        table.contains("Nothing audited") && !table.contains("No findings"),
        "{table}"
    );
    // --fail-on none does not make an audit that could not be done pass.
    let (code, _, _) = soclash(&["scan", "--root", path(dir.path()), "--fail-on", "none"]);
    assert_eq!(code, 2);
}

/// A `--signatures` directory that is missing or holds an invalid file
/// stops the run before scanning: nothing is written to standard output.
#[test]
fn bad_signatures_directory_exits_2_before_scanning() {
    let r = bind_root(OPENSSL);
    let dir = tempdir();
    std::fs::write(dir.path().join("bad.yaml"), "id: x\ntitle: [unclosed\n").expect("write");
    for sigs in [Path::new("/nonexistent-signatures"), dir.path()] {
        let (code, out, err) = soclash(&[
            "scan",
            "--root",
            path(&r),
            "--signatures",
            path(sigs),
            "--format",
            "json",
        ]);
        assert_eq!((code, out.as_str()), (2, ""), "{}: {err}", sigs.display());
        assert!(err.contains("--signatures"), "{err}");
    }
}

/// `fleet` over an archive with no readable report exits 2, empty or
/// holding only something that is no report.
#[test]
fn fleet_without_a_readable_report_exits_2() {
    let dir = tempdir();
    let (code, _, err) = soclash(&["fleet", path(dir.path())]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no readable report"), "{err}");
    let host = dir.path().join("web-01");
    std::fs::create_dir_all(&host).expect("mkdir");
    std::fs::write(host.join("20261201T000000Z.yaml"), "not: a report\n").expect("write");
    let (code, out, err) = soclash(&["fleet", path(dir.path()), "--format", "json"]);
    assert_eq!(code, 2, "{err}");
    let view: Value = serde_json::from_str(&out).expect("the view is still written");
    assert_eq!(view["hosts"], 0);
    assert_eq!(view["unreadable"].as_array().map(Vec::len), Some(1));
}

/// A signature's finding says how well its clash is confirmed, in the
/// report and in the table; a built-in finding has no status.
#[test]
fn signature_status_is_shown() {
    let (_, report, _) = scan(OPENSSL, &[]);
    assert_eq!(report["findings"][0]["status"], "confirmed");
    let (_, report, _) = scan(SQLITE, &[]);
    assert_eq!(report["findings"][0]["status"], "apache-unconfirmed");
    let (_, report, _) = scan("g-weak-first", &[]);
    assert!(report["findings"][0].get("status").is_none(), "{report}");
    let r = bind_root(SQLITE);
    let (_, table, _) = soclash(&["scan", "--root", path(&r), "--format", "table"]);
    assert!(table.contains("not yet confirmed in Apache"), "{table}");
}

/// A timer's run: `--quiet` prints no report, one summary line on stderr
/// (which the journal keeps) says what was found, whether it fails
/// `--fail-on` and where the report was archived; `--hostname` names the
/// archive's directory, and a name that would climb out of it is refused.
#[test]
fn quiet_runs_summarise_on_stderr() {
    let r = bind_root(OPENSSL);
    let dir = tempdir();
    let (code, out, err) = soclash(&[
        "scan",
        "--root",
        path(&r),
        "--quiet",
        "--archive",
        path(dir.path()),
        "--hostname",
        "web-01",
    ]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "");
    let line = err
        .lines()
        .find(|l| l.starts_with("soclash: 1 high"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains("0 files not audited: fails --fail-on; archived "),
        "{line}"
    );
    assert!(line.contains("/web-01/"), "{line}");
    let archived: Vec<_> = std::fs::read_dir(dir.path().join("web-01"))
        .expect("the archive has the host's directory")
        .collect();
    assert_eq!(archived.len(), 1);

    let (code, out, err) = soclash(&["scan", "--root", path(&r), "--quiet", "--fail-on", "none"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(
        err.contains("soclash: 1 high, 0 files not audited\n"),
        "{err}"
    );

    for bad in ["..", "a/b", ""] {
        let (code, out, err) = soclash(&["scan", "--root", path(&r), "--hostname", bad]);
        assert_eq!((code, out.as_str()), (2, ""), "{bad:?}: {err}");
        assert!(err.contains("--hostname"), "{err}");
    }
}

/// A root without /etc/hostname: `scan --archive` fails before it prints
/// the report, and says to give `--hostname`, which then names the
/// archive's directory. For `/` the name is the kernel's (uname's
/// nodename), not /etc/hostname's: checked in a UTS namespace of its own
/// whose host name differs from this machine's.
#[test]
fn archive_names_without_etc_hostname() {
    let dir = tempdir();
    let root = dir.path().join("root");
    let ok = std::process::Command::new("cp")
        .args(["-a", "--"])
        .arg(bind_root(OPENSSL))
        .arg(&root)
        .status()
        .expect("cp runs");
    assert!(ok.success());
    std::fs::remove_file(root.join("etc/hostname")).expect("the root had /etc/hostname");
    let archive = dir.path().join("archive");
    let (code, out, err) = soclash(&["scan", "--root", path(&root), "--archive", path(&archive)]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.contains("no usable hostname") && err.contains("--hostname NAME"),
        "{err}"
    );
    assert!(!archive.exists(), "something was archived");
    let (code, _, err) = soclash(&[
        "scan",
        "--root",
        path(&root),
        "--archive",
        path(&archive),
        "--hostname",
        "web-07",
        "--quiet",
    ]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        std::fs::read_dir(archive.join("web-07"))
            .map(Iterator::count)
            .ok(),
        Some(1),
        "{err}"
    );

    // `/` in a UTS namespace named otherwise than /etc/hostname says.
    let etc = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let name = "soclash-uts-test";
    assert_ne!(etc.trim(), name);
    let script = format!(
        "hostname {name} && exec {SOCLASH} scan --archive {} --quiet --fail-on none",
        path(&archive)
    );
    let run = std::process::Command::new("unshare")
        .args(["--uts", "sh", "-c", &script])
        .output()
        .unwrap_or_else(|e| panic!("unshare (util-linux) is needed, as root: {e}"));
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{err}");
    assert!(err.contains(&format!("/{name}/")), "{err}");
    assert_eq!(
        std::fs::read_dir(archive.join(name))
            .map(Iterator::count)
            .ok(),
        Some(1),
        "{err}"
    );
}
