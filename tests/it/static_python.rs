//! mod_wsgi with a static libpython (issue 16 item 2), on the `staticpy`
//! and `sharedpy` image sample roots (sample-libs/image-roots.sh
//! `python_stack`): httpd and Python 3.11 built from source under
//! /usr/local, httpd exporting the OpenSSL compiled into it, `_ssl` and
//! `_hashlib` in /usr/local's lib-dynload needing the system's libssl and
//! libcrypto. In `staticpy` mod_wsgi defines Python's C API itself and
//! carries the strings CPython compiles in (`PREFIX` `/usr/local`, the
//! `.cpython-311-…` suffix, `3.11.9`); in `sharedpy` it needs
//! /usr/local/lib/libpython3.11.so.1.0. image_roots.rs checks the members
//! against the loader; this checks what the scan makes of them:
//!
//! - the static stack imports the same modules as the shared one, and
//!   `_ssl`'s and `_hashlib`'s OpenSSL calls bind to httpd's copy in both,
//!   one finding of the catalogue's httpd-static-openssl-vs-libssl;
//! - without a prefix the root has, the interpreter is the root's one
//!   installation of 3.11, a guess the notes say; a daemon's `python-path`
//!   entry inside an installation names it first.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{sample_roots_dir, soclash, tempdir};

const DYN: &str = "/usr/local/lib/python3.11/lib-dynload";
const HTTPD: &str = "/usr/local/apache2/bin/httpd";
const OTHER: &str = "/usr/lib/python3.9/lib-dynload/_other.cpython-39-x86_64-linux-gnu.so";

fn root(name: &str) -> PathBuf {
    let r = sample_roots_dir().join("image").join(name).join("root");
    assert!(
        r.is_dir(),
        "{} missing: run `make sample-libs`",
        r.display()
    );
    r
}

fn scan(root: &Path) -> Value {
    let (code, out, err) = soclash(&[
        "scan",
        "--format",
        "json",
        "--root",
        root.to_str().expect("a UTF-8 path"),
    ]);
    assert!(matches!(code, 0 | 1), "scan failed ({code}): {err}");
    serde_json::from_str(&out).expect("scan --format json is JSON")
}

fn process<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["processes"]
        .as_array()
        .expect("processes")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no process {name}: {report:#}"))
}

/// The Python extension modules a process may import, by path.
fn imports(p: &Value) -> BTreeSet<String> {
    p["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["how"] == "dlopen" && m["may_be_imported"] == true)
        .filter_map(|m| m["object"].as_str().map(str::to_string))
        .collect()
}

fn notes(p: &Value) -> String {
    p["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

/// (id, from, symbol, actual) of every binding of every finding that
/// binds a reference to httpd.
fn to_httpd(report: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for f in report["findings"].as_array().expect("findings") {
        for b in f["bindings"].as_array().into_iter().flatten() {
            if b["actual"] == HTTPD {
                out.insert((
                    f["id"].as_str().unwrap_or_default().to_string(),
                    b["from"].as_str().unwrap_or_default().to_string(),
                    b["symbol"].as_str().unwrap_or_default().to_string(),
                ));
            }
        }
    }
    out
}

#[test]
fn static_libpython_imports_its_installation_and_the_openssl_clash_is_found() {
    let stat = scan(&root("staticpy"));
    let shared = scan(&root("sharedpy"));
    let want: BTreeSet<String> = [
        format!("{DYN}/_hashlib.cpython-311-x86_64-linux-gnu.so"),
        format!("{DYN}/_ssl.cpython-311-x86_64-linux-gnu.so"),
        "/usr/local/lib/python3.11/site-packages/sitepkg/_site.cpython-311-x86_64-linux-gnu.so"
            .to_string(),
    ]
    .into();
    for name in ["apache", "wsgi:site"] {
        for (label, report) in [("static", &stat), ("shared", &shared)] {
            let p = process(report, name);
            assert_eq!(imports(p), want, "{label} {name}: {p:#}");
            assert!(!imports(p).contains(OTHER));
        }
        let n = notes(process(&stat, name));
        assert!(
            n.contains("/usr/local/apache2/modules/mod_wsgi.so embeds a static libpython")
                && n.contains("Python 3.11 with the prefix compiled into it, /usr/local"),
            "{name}: {n}"
        );
    }
    let found = to_httpd(&stat);
    let ssl = format!("{DYN}/_ssl.cpython-311-x86_64-linux-gnu.so");
    let hashlib = format!("{DYN}/_hashlib.cpython-311-x86_64-linux-gnu.so");
    let id = "httpd-static-openssl-vs-libssl".to_string();
    for (from, symbol) in [
        (&ssl, "SSL_new@OPENSSL_3.0.0"),
        (&ssl, "SSL_CTX_new@OPENSSL_3.0.0"),
        (&hashlib, "EVP_DigestInit_ex@OPENSSL_3.0.0"),
    ] {
        assert!(
            found.contains(&(id.clone(), from.clone(), symbol.to_string())),
            "{from}'s {symbol} binds to httpd's OpenSSL: {found:#?}"
        );
    }
    assert_eq!(found, to_httpd(&shared), "the shared libpython's result");
    let f = stat["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["id"] == id.as_str())
        .expect("the finding");
    let mut processes: Vec<String> = f["processes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect();
    processes.sort();
    assert_eq!(processes, ["apache", "wsgi:site"], "{f:#}");
}

/// Without the compiled-in prefix in the root, the embedded interpreter
/// is the root's one 3.11 (a guess, said so); a daemon whose `python-path`
/// lies in that installation names it by that entry.
#[test]
fn without_a_compiled_prefix_the_path_entry_then_the_one_installation() {
    let tmp = tempdir();
    let copy = tmp.path().join("root");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(root("staticpy"))
        .arg(&copy)
        .status()
        .expect("cp");
    assert!(status.success());
    // PREFIX and EXEC_PREFIX compiled in as a directory the root lacks.
    let module = copy.join("usr/local/apache2/modules/mod_wsgi.so");
    let mut bytes = std::fs::read(&module).expect("mod_wsgi.so");
    let (from, to) = (b"\0/usr/local\0", b"\0/nowhere/x\0");
    let mut patched = 0;
    let mut i = 0;
    while let Some(at) = bytes
        .get(i..)
        .and_then(|rest| rest.windows(from.len()).position(|w| w == from))
    {
        bytes[i + at..i + at + from.len()].copy_from_slice(to);
        i += at + from.len();
        patched += 1;
    }
    assert_eq!(patched, 2, "PREFIX and EXEC_PREFIX");
    std::fs::write(&module, bytes).expect("write mod_wsgi.so");
    let conf = copy.join("usr/local/apache2/conf/httpd.conf");
    let text = std::fs::read_to_string(&conf).expect("httpd.conf");
    let text = text.replace(
        "WSGIDaemonProcess site display-name=%{GROUP}",
        "WSGIDaemonProcess site display-name=%{GROUP} python-path=/usr/local/lib/python3.11/site-packages",
    );
    std::fs::write(&conf, text).expect("write httpd.conf");

    let report = scan(&copy);
    let apache = process(&report, "apache");
    let n = notes(apache);
    assert!(
        n.contains("Python 3.11 at /usr/local, the root's one installation of that version, is a likely guess"),
        "{n}"
    );
    let site = process(&report, "wsgi:site");
    let m = notes(site);
    assert!(
        m.contains("Python 3.11 of the installation /usr/local that its path entry /usr/local/lib/python3.11/site-packages"),
        "{m}"
    );
    for p in [apache, site] {
        assert!(
            imports(p).contains(&format!("{DYN}/_ssl.cpython-311-x86_64-linux-gnu.so")),
            "{p:#}"
        );
    }
    assert!(!to_httpd(&report).is_empty());
}
