//! The pre-upgrade verdict on real Debian packages, over this machine (a
//! Debian 12 web server: Apache, mod_php 8.2, mod_wsgi, which .ci/run
//! installs) as the root, with its dpkg database as it is.
//!
//! The packages are what apt would install: `apt-get -s install
//! --no-install-recommends NAME` against this machine's own status names
//! the closure (apt's choice of alternatives and versions), and `apt-get
//! download` fetches each `NAME=VERSION` once into target/whatif-debs/,
//! where file names carry package names and versions, so a rerun downloads
//! nothing. Nothing is installed: each test checks that the package it
//! audits is not installed before and after. A missing tool, apt list or
//! package fails the test with what to do.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{path, repo, soclash};

/// Where the downloaded packages are kept between runs.
fn cache() -> PathBuf {
    let dir = repo().join("target/whatif-debs");
    std::fs::create_dir_all(&dir).expect("create target/whatif-debs");
    dir
}

fn run(cmd: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(cmd)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|e| panic!("{cmd} is needed (apt, dpkg: a Debian machine): {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The installed version of `name` on this machine, if any.
fn installed(name: &str) -> Option<String> {
    let (ok, out, _) = run("dpkg-query", &["-W", "-f=${Status} ${Version}", name]);
    let out = out.trim();
    (ok && out.starts_with("install ok installed"))
        .then(|| out.rsplit(' ').next().unwrap_or_default().to_string())
}

/// `NAME=VERSION` of what `apt-get install --no-install-recommends SPECS`
/// would install here, in apt's order; `apt-get update` first when the
/// lists are missing or do not know a package.
fn closure(specs: &[&str]) -> Vec<String> {
    let simulate = || {
        let mut args = vec![
            "-s",
            "-o",
            "Debug::NoLocking=1",
            "install",
            "--no-install-recommends",
        ];
        args.extend_from_slice(specs);
        run("apt-get", &args)
    };
    let (mut ok, mut out, mut err) = simulate();
    if !ok || !out.contains("\nInst ") {
        let (updated, _, uerr) = run("apt-get", &["update", "-qq"]);
        assert!(updated, "apt-get update failed: {uerr}");
        (ok, out, err) = simulate();
    }
    assert!(ok, "apt-get -s install {specs:?}: {err}{out}");
    // "Inst NAME [OLD] (VERSION ARCHIVE [ARCH])"
    let names: Vec<String> = out
        .lines()
        .filter_map(|l| l.strip_prefix("Inst "))
        .filter_map(|l| {
            let name = l.split(' ').next()?;
            let version = l.split_once(" (")?.1.split(' ').next()?;
            Some(format!("{name}={version}"))
        })
        .collect();
    assert!(
        !names.is_empty(),
        "apt would install nothing for {specs:?}: {out}"
    );
    names
}

/// The cached `.deb` of each `NAME=VERSION`, downloading the missing ones
/// (into a directory of their own first, so parallel tests never see a
/// partial file).
fn debs(specs: &[String]) -> Vec<PathBuf> {
    let dir = cache();
    let find = |spec: &str| -> Option<PathBuf> {
        let (name, version) = spec.split_once('=')?;
        let prefix = format!("{name}_{}_", version.replace(':', "%3a"));
        std::fs::read_dir(&dir)
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".deb"))
            })
    };
    let missing: Vec<&str> = specs
        .iter()
        .map(String::as_str)
        .filter(|s| find(s).is_none())
        .collect();
    if !missing.is_empty() {
        let partial = tempfile::tempdir_in(&dir).expect("partial download dir");
        let mut args = vec!["download", "-q", "-o", "APT::Sandbox::User=root"];
        args.extend_from_slice(&missing);
        let out = Command::new("apt-get")
            .args(&args)
            .current_dir(partial.path())
            .output()
            .expect("apt-get is needed");
        assert!(
            out.status.success(),
            "apt-get download {missing:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for e in std::fs::read_dir(partial.path()).expect("downloads") {
            let p = e.expect("download").path();
            std::fs::rename(&p, dir.join(p.file_name().expect("a name"))).expect("into the cache");
        }
    }
    specs
        .iter()
        .map(|s| find(s).unwrap_or_else(|| panic!("{s} was not downloaded")))
        .collect()
}

/// `soclash scan` of this machine with `debs` laid over it and `extra`
/// arguments: (exit code, report, stderr).
fn whatif(debs: &[PathBuf], extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["scan", "--format", "json"];
    for d in debs {
        args.push("--overlay-deb");
        args.push(path(d));
    }
    args.extend_from_slice(extra);
    let t = std::time::Instant::now();
    let (code, out, err) = soclash(&args);
    eprintln!(
        "what-if of {} packages: exit {code} in {:?}",
        debs.len(),
        t.elapsed()
    );
    let report: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("no report ({e}), exit {code}: {err}"));
    (code, report, err)
}

fn verdict(report: &Value) -> (&str, &str) {
    let v = &report["overlay"]["verdict"];
    (
        v["outcome"].as_str().expect("a verdict outcome"),
        v["summary"].as_str().expect("a verdict summary"),
    )
}

fn ids(report: &Value, list: &str) -> BTreeSet<String> {
    report["overlay"][list]
        .as_array()
        .unwrap_or_else(|| panic!("overlay.{list}"))
        .iter()
        .filter_map(|k| k["id"].as_str().map(str::to_string))
        .collect()
}

fn object<'a>(report: &'a Value, path: &str) -> &'a Value {
    report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["path"] == path)
        .unwrap_or_else(|| panic!("{path} is not in the report"))
}

/// The exit code is the verdict's: 1 exactly when an introduced finding
/// is counted, whatever the host already had; the counted findings are
/// introduced ones.
fn exit_follows_the_verdict(code: i32, report: &Value) {
    let (outcome, summary) = verdict(report);
    let want = match outcome {
        "introduces" => 1,
        "nothing" => 0,
        _ => 2,
    };
    assert_eq!(code, want, "{summary}");
    let introduced = report["overlay"]["introduced"]
        .as_array()
        .expect("introduced");
    for k in report["overlay"]["verdict"]["counted"]
        .as_array()
        .into_iter()
        .flatten()
    {
        assert!(introduced.contains(k), "counted but not introduced: {k}");
    }
    let sorted = |v: &Value| {
        let mut o: Vec<String> = v
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect();
        o.sort();
        o
    };
    let already: Vec<&Value> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| {
            !introduced.iter().any(|k| {
                k["id"] == f["id"]
                    && k["process"] == f["process"]
                    && sorted(&k["objects"]) == sorted(&f["objects"])
            })
        })
        .collect();
    eprintln!(
        "verdict {outcome}: {summary}; {} finding(s) already there: {:?}",
        already.len(),
        already
            .iter()
            .map(|f| (&f["id"], &f["severity"]))
            .collect::<Vec<_>>()
    );
}

fn not_installed(name: &str) {
    assert_eq!(
        installed(name),
        None,
        "{name} is installed on this machine; the test needs a machine without it"
    );
}

/// php8.2-imagick with what apt installs with it (ImageMagick's
/// libraries): imagick.so enabled by the postinst's dh_php loop
/// (`php_invoke enmod "$version" ALL "$name"`) and loaded by mod_php; the
/// libraries' ldconfig trigger rebuilds the cache, so no stale-ld-cache;
/// `--fail-on low` makes what the host already has count, and still the
/// exit code follows only what the upgrade introduces.
#[test]
fn php_imagick_with_its_closure() {
    not_installed("php8.2-imagick");
    let specs = closure(&["php8.2-imagick"]);
    assert!(specs.len() > 1, "imagick alone? {specs:?}");
    let debs = debs(&specs);
    let (code, report, err) = whatif(&debs, &["--fail-on", "low"]);
    exit_follows_the_verdict(code, &report);
    assert_ne!(verdict(&report).0, "incomplete", "{err}");
    assert!(
        report["overlay"].get("unmet").is_none(),
        "{}",
        report["overlay"]["unmet"]
    );
    let imagick = object(&report, "/usr/lib/php/20220829/imagick.so");
    assert_eq!(imagick["loaded"], true, "{imagick:#}");
    assert_eq!(imagick["package"]["name"], "php8.2-imagick");
    let layer = report["overlay"]["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .filter_map(Value::as_str)
        .find(|l| l.contains("(php8.2-imagick "))
        .expect("the imagick layer");
    assert!(
        layer.contains("extension imagick enabled for apache2"),
        "{layer}"
    );
    assert_eq!(report["host"]["ld_cache"], "rebuilt");
    assert!(
        !ids(&report, "introduced").contains("stale-ld-cache"),
        "{}",
        report["overlay"]["introduced"]
    );
    assert_eq!(installed("php8.2-imagick"), None, "the audit installed it");
}

/// libapache2-mod-security2 alone: its Depends liblua5.1-0 and libyajl2
/// are not installed, so the what-if is not what apt would install: exit
/// 2, the two named; with --ignore-depends it is judged (the module that
/// cannot load is introduced); a waiver for that finding passes it.
#[test]
fn mod_security2_alone_is_incomplete() {
    not_installed("libapache2-mod-security2");
    for lib in ["liblua5.1-0", "libyajl2"] {
        not_installed(lib);
    }
    let specs: Vec<String> = closure(&["libapache2-mod-security2"])
        .into_iter()
        .filter(|s| s.starts_with("libapache2-mod-security2="))
        .collect();
    let debs = debs(&specs);
    let (code, report, err) = whatif(&debs, &[]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(verdict(&report).0, "incomplete");
    let want = "libapache2-mod-security2 needs liblua5.1-0, libyajl2: not installed and not part of this what-if";
    assert_eq!(report["overlay"]["unmet"][0], want);
    assert!(err.contains(want), "{err}");

    let (code, report, err) = whatif(&debs, &["--ignore-depends"]);
    assert_eq!(code, 1, "{err}");
    exit_follows_the_verdict(code, &report);
    let counted: Vec<&Value> = report["overlay"]["verdict"]["counted"]
        .as_array()
        .expect("counted")
        .iter()
        .collect();
    assert!(
        counted.iter().any(|k| k["id"] == "unresolved-dependency"
            && k["objects"][0] == "/usr/lib/apache2/modules/mod_security2.so"),
        "{counted:?}"
    );
    let dir = crate::common::tempdir();
    let waivers = dir.path().join("waivers.yaml");
    std::fs::write(
        &waivers,
        "- id: unresolved-dependency\n  reason: lua and yajl come with it\n  expires: 2999-12-31\n  objects: [/usr/lib/apache2/modules/mod_security2.so]\n",
    )
    .expect("waivers");
    let (code, report, err) = whatif(&debs, &["--ignore-depends", "--waivers", path(&waivers)]);
    assert_eq!(code, 0, "a waived introduced finding does not fail: {err}");
    assert!(
        verdict(&report).1.contains("1 introduced finding waived"),
        "{}",
        verdict(&report).1
    );
}

/// libapache2-mod-security2 with what apt installs with it: complete, the
/// module enabled by its postinst (`apache2_invoke enmod` in a loop) and
/// loaded with its libraries found, the cache rebuilt; its own verdict.
#[test]
fn mod_security2_with_its_dependencies() {
    not_installed("libapache2-mod-security2");
    let specs = closure(&["libapache2-mod-security2"]);
    assert!(specs.len() >= 3, "{specs:?}");
    let debs = debs(&specs);
    let (code, report, _) = whatif(&debs, &[]);
    exit_follows_the_verdict(code, &report);
    assert_ne!(verdict(&report).0, "incomplete");
    let module = object(&report, "/usr/lib/apache2/modules/mod_security2.so");
    assert_eq!(module["loaded"], true, "{module:#}");
    assert!(
        module["resolved"]
            .as_object()
            .expect("resolved")
            .values()
            .all(|v| !v.is_null()),
        "{module:#}"
    );
    let introduced = ids(&report, "introduced");
    assert!(
        !introduced.contains("unresolved-dependency"),
        "{introduced:?}"
    );
    assert!(!introduced.contains("stale-ld-cache"), "{introduced:?}");
    assert_eq!(report["host"]["ld_cache"], "rebuilt");
}

/// Another version of an installed package than this machine has (an
/// upgrade, or a downgrade once the machine is upgraded), from the archive.
fn other_version(name: &str) -> (String, String) {
    let have = installed(name).unwrap_or_else(|| panic!("{name} is not installed here"));
    let (ok, out, err) = run("apt-cache", &["madison", name]);
    assert!(ok, "apt-cache madison {name}: {err}");
    let other = out
        .lines()
        .filter_map(|l| l.split('|').nth(1).map(str::trim))
        .find(|v| *v != have)
        .unwrap_or_else(|| panic!("the archive has no other version of {name} than {have}: {out}"))
        .to_string();
    (have, other)
}

/// ca-certificates in another version than installed: the installed one
/// is replaced, and the certificates it lists that the other no longer
/// ships are removed in the what-if, exactly those.
#[test]
fn an_upgrade_removes_what_the_new_version_no_longer_ships() {
    let (have, other) = other_version("ca-certificates");
    let debs = debs(&[format!("ca-certificates={other}")]);
    // dpkg-deb's own reading of the package, names as bytes (its `-c`
    // escapes non-ASCII names in the C locale).
    let tarball = Command::new("dpkg-deb")
        .args(["--fsys-tarfile", path(&debs[0])])
        .output()
        .expect("dpkg-deb is needed");
    assert!(tarball.status.success());
    let shipped: BTreeSet<String> = tar::Archive::new(tarball.stdout.as_slice())
        .entries()
        .expect("a tar")
        .map(|e| {
            let e = e.expect("an entry");
            let p = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            p.trim_start_matches('.').trim_end_matches('/').to_string()
        })
        .collect();
    let list = std::fs::read_to_string("/var/lib/dpkg/info/ca-certificates.list")
        .expect("dpkg's list of ca-certificates");
    let dropped = list
        .lines()
        .filter(|p| !shipped.contains(*p) && Path::new(p).is_file())
        .count();
    assert!(dropped > 0, "{have} and {other} ship the same files");
    let (code, report, err) = whatif(&debs, &[]);
    exit_follows_the_verdict(code, &report);
    assert_eq!(verdict(&report).0, "nothing", "{err}");
    let layer = report["overlay"]["layers"][0].as_str().expect("layer");
    let want =
        format!("replaces ca-certificates {have}: {dropped} files it no longer ships removed");
    assert!(layer.contains(&want), "{layer}\nwanted: {want}");
}

/// Python's standard library extension modules in another version than
/// installed: alone it needs the same version of libpython3.11-minimal (an
/// `=` relation, Debian's version order), so the what-if is incomplete;
/// with what apt installs with it, the modules are the new version's.
#[test]
fn a_library_upgrade_replaces_the_installed_version() {
    let (have, other) = other_version("libpython3.11-stdlib");
    let alone = debs(&[format!("libpython3.11-stdlib={other}")]);
    let (code, report, err) = whatif(&alone, &[]);
    assert_eq!(code, 2, "{err}");
    let unmet = report["overlay"]["unmet"][0].as_str().expect("unmet");
    assert!(
        unmet.starts_with(&format!(
            "libpython3.11-stdlib needs libpython3.11-minimal (= {other})"
        )),
        "{unmet}"
    );
    let specs = closure(&[&format!("libpython3.11-stdlib={other}")]);
    let debs = debs(&specs);
    let (code, report, err) = whatif(&debs, &[]);
    exit_follows_the_verdict(code, &report);
    assert_ne!(verdict(&report).0, "incomplete", "{err}");
    let label = report["overlay"]["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .filter_map(Value::as_str)
        .find(|l| l.contains("(libpython3.11-stdlib "))
        .expect("the stdlib layer");
    assert!(
        label.contains(&format!("replaces libpython3.11-stdlib {have}")),
        "{label}"
    );
    let changed = report["overlay"]["objects"]["changed"]
        .as_array()
        .expect("changed");
    assert!(!changed.is_empty());
    let sqlite = object(
        &report,
        "/usr/lib/python3.11/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so",
    );
    assert_eq!(sqlite["package"]["version"], other.as_str(), "{sqlite:#}");
    assert_eq!(installed("libpython3.11-stdlib"), Some(have));
}
