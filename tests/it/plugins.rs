//! Library plugins (issue 16 item 3) on the `plugins` image sample root
//! (sample-libs/image-roots.sh `root_plugins`): mod_php's extensions bring
//! libMagickCore, libsasl2 (through an LDAP library), libgio and libcrypto,
//! and libc is there as always; each loads plugins from a directory of its
//! own. image_roots.rs checks the members and modes against the manifest
//! (the realistic root has no ImageMagick nor GIO: those families are
//! checked here only); this checks what a scan makes of them and that a
//! directory of thousands stays within its budget.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{sample_roots_dir, soclash, tempdir};

const ML: &str = "/usr/lib/x86_64-linux-gnu";

fn root() -> PathBuf {
    let r = sample_roots_dir().join("image/plugins/root");
    assert!(
        r.is_dir(),
        "{} missing: run `make sample-libs`",
        r.display()
    );
    r
}

fn image(root: &std::path::Path) -> Value {
    let (code, out, err) = soclash(&[
        "image",
        "--format",
        "json",
        "--root",
        root.to_str().expect("a UTF-8 path"),
    ]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("image --format json is JSON")
}

/// Each plugin is a member that may be loaded, its `via` naming the
/// library that loads it and how; it is an object of the scan in the
/// process; a gconv module no `module` line names is none.
#[test]
fn plugins_are_members_brought_by_their_library() {
    let root = root();
    let doc = image(&root);
    let p = &doc["processes"][0];
    let member = |path: &str| -> Option<&Value> {
        p["members"]
            .as_array()?
            .iter()
            .find(|m| m["object"] == path)
    };
    for (plugin, loader, flags) in [
        (
            format!("{ML}/ImageMagick-6.9.11/modules-Q16/coders/png.so"),
            format!("{ML}/libMagickCore-6.Q16.so.6.0.0"),
            "RTLD_LAZY|RTLD_LOCAL",
        ),
        (
            format!("{ML}/sasl2/libplain.so"),
            format!("{ML}/libsasl2.so.2.0.25"),
            "RTLD_NOW|RTLD_LOCAL",
        ),
        (
            format!("{ML}/gconv/ISO8859-15.so"),
            format!("{ML}/libc.so.6"),
            "RTLD_LAZY|RTLD_LOCAL",
        ),
        (
            format!("{ML}/ossl-modules/legacy.so"),
            format!("{ML}/libcrypto.so.3"),
            "RTLD_NOW|RTLD_LOCAL",
        ),
    ] {
        let m = member(&plugin).unwrap_or_else(|| panic!("{plugin} is no member: {p:#}"));
        assert_eq!(m["may_be_imported"], true, "{m:#}");
        assert_eq!(m["global"], false, "{m:#}");
        assert_eq!(m["flags"], flags, "{m:#}");
        let via = m["via"].as_str().unwrap_or_default();
        assert!(via.starts_with(&format!("{loader} ")), "{via}");
    }
    assert!(member(&format!("{ML}/gconv/STRAY.so")).is_none());

    let (code, out, err) = soclash(&[
        "scan",
        "--format",
        "json",
        "--root",
        root.to_str().expect("a UTF-8 path"),
    ]);
    assert!(matches!(code, 0 | 1), "{err}");
    let report: Value = serde_json::from_str(&out).expect("JSON");
    let object = report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["path"] == format!("{ML}/sasl2/libplain.so").as_str())
        .unwrap_or_else(|| panic!("the SASL plugin is no object: {report:#}"));
    assert_eq!(object["processes"][0], "apache", "{object:#}");
}

/// A plugin directory of 3,000 files: the first PLUGINS_PER_DIRECTORY in
/// byte order are tried, the notes name the budget, in bounded time.
#[test]
fn a_directory_of_thousands_of_plugins_stays_within_its_budget() {
    let tmp = tempdir();
    let copy = tmp.path().join("root");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(root())
        .arg(&copy)
        .status()
        .expect("cp");
    assert!(status.success());
    let dir = copy.join(&ML[1..]).join("sasl2");
    let one = dir.join("libplain.so");
    for i in 0..3000 {
        std::fs::hard_link(&one, dir.join(format!("libp{i:04}.so"))).expect("hard link");
    }
    let t0 = Instant::now();
    let doc = image(&copy);
    assert!(t0.elapsed() < Duration::from_secs(60), "{:?}", t0.elapsed());
    let notes: Vec<&str> = doc["processes"][0]["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        notes.iter().any(|n| n.contains(
            "sasl2: 3002 plugins, budget exceeded: PLUGINS_PER_DIRECTORY (1024); the first 1024 in byte order are modelled"
        )),
        "{notes:#?}"
    );
}
