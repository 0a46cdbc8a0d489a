//! The pre-upgrade what-if on an RPM-based root (`scan --overlay-rpm`),
//! measured against rpm itself: the packages are built with rpmbuild
//! here, the root is the RHEL sample root (`make sample-libs`) copied and
//! given an rpm database with `rpm --root ... -i`, and rpm is the oracle
//! for what soclash reads without running it: `rpm -qp --qf` for the
//! package each added object carries, `rpm -U --test` for which
//! `Requires` fail, a real `rpm -U` into a copy of the root for which
//! files an upgrade leaves, and `rpm.vercmp` for the version order.
//! rpm and rpmbuild come from Debian's `rpm` package (.ci/deps).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{path, sample_roots, soclash, tempdir};

const DB: &str = "/var/lib/rpm";

fn rpm_args(root: &Path) -> Vec<String> {
    [
        "--root",
        path(root),
        "--dbpath",
        DB,
        "--define",
        "_db_backend sqlite",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Runs `cmd`; (success, stdout, stderr). A missing tool fails loudly.
fn run(cmd: &str, args: &[String]) -> (bool, String, String) {
    let out = Command::new(cmd)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|e| panic!("{cmd} is needed (.ci/deps installs rpm): {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn must(cmd: &str, args: &[String]) -> String {
    let (ok, out, err) = run(cmd, args);
    assert!(ok, "{cmd} {args:?}: {out}{err}");
    out
}

/// A package to build: files (destination, source), dependencies, and
/// spec text added at the end (scriptlets, file triggers).
#[derive(Default)]
struct Spec<'a> {
    name: &'a str,
    version: &'a str,
    epoch: Option<u32>,
    files: Vec<(&'a str, PathBuf)>,
    requires: &'a [&'a str],
    provides: &'a [&'a str],
    extra: &'a str,
}

/// Builds `spec` with rpmbuild under `top` (no automatic dependencies:
/// each test says what its packages need); the package's path.
fn build(top: &Path, spec: &Spec) -> PathBuf {
    let mut install = String::new();
    let mut listed = String::new();
    for (dest, src) in &spec.files {
        let dir = Path::new(dest).parent().expect("dir").display().to_string();
        install.push_str(&format!(
            "mkdir -p %{{buildroot}}{dir}\ncp {} %{{buildroot}}{dest}\n",
            src.display()
        ));
        listed.push_str(&format!("{dest}\n"));
    }
    let mut head = format!(
        "Name: {}\nVersion: {}\nRelease: 1.el9\nLicense: MIT\nSummary: test\nBuildArch: x86_64\nAutoReqProv: no\n",
        spec.name, spec.version
    );
    if let Some(e) = spec.epoch {
        head.push_str(&format!("Epoch: {e}\n"));
    }
    for r in spec.requires {
        head.push_str(&format!("Requires: {r}\n"));
    }
    for p in spec.provides {
        head.push_str(&format!("Provides: {p}\n"));
    }
    let text = format!(
        "{head}%description\ntest\n%install\n{install}%files\n{listed}{}",
        spec.extra
    );
    let spec_path = top.join(format!("{}-{}.spec", spec.name, spec.version));
    std::fs::write(&spec_path, text).expect("spec");
    let args: Vec<String> = [
        "--define",
        &format!("_topdir {}", path(top)),
        "--define",
        "__os_install_post %{nil}",
        "--define",
        "debug_package %{nil}",
        "--define",
        "_build_id_links none",
        "-bb",
        path(&spec_path),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    must("rpmbuild", &args);
    let rpm = top.join(format!(
        "RPMS/x86_64/{}-{}-1.el9.x86_64.rpm",
        spec.name, spec.version
    ));
    assert!(rpm.is_file(), "rpmbuild made no {}", rpm.display());
    rpm
}

/// `NAME [EPOCH:]VERSION-RELEASE` of a package file, as rpm reads it.
fn rpm_qp(rpm: &Path) -> String {
    let mut args = vec!["-qp".to_string(), "--nosignature".into(), "--qf".into()];
    args.push("%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}".into());
    args.push(path(rpm).into());
    must("rpm", &args)
}

/// The failed dependencies `rpm -U --test` names for `rpms` on `root`:
/// (what is needed, the package's name).
fn rpm_test(root: &Path, rpms: &[&Path]) -> BTreeSet<(String, String)> {
    let mut args = rpm_args(root);
    args.extend(["-U", "--test", "--nosignature"].map(String::from));
    args.extend(rpms.iter().map(|r| path(r).to_string()));
    let (ok, out, err) = run("rpm", &args);
    let failed: BTreeSet<(String, String)> = err
        .lines()
        .filter_map(|l| l.trim().split_once(" is needed by "))
        .map(|(what, by)| {
            // NAME-VERSION-RELEASE.ARCH, or with an epoch.
            let nvr = by.rsplit_once('.').map_or(by, |(n, _)| n);
            let name = nvr.rsplitn(3, '-').nth(2).unwrap_or(nvr);
            (what.to_string(), name.to_string())
        })
        .collect();
    assert_eq!(ok, failed.is_empty(), "rpm -U --test: {out}{err}");
    failed
}

/// The unmet requirements in soclash's report, as (what, package).
fn soclash_unmet(report: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for line in report["overlay"]["unmet"].as_array().into_iter().flatten() {
        let line = line.as_str().expect("text");
        let (name, rest) = line.split_once(" needs ").expect("NAME needs");
        let (list, _) = rest
            .split_once(": not installed and not part of this what-if")
            .expect("the reason");
        for what in list.split(", ") {
            out.insert((what.to_string(), name.to_string()));
        }
    }
    out
}

/// The RHEL sample root, copied, with an rpm database.
fn rpm_root(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    let sample = sample_roots().join("image/rhel/root");
    assert!(
        sample.is_dir(),
        "{} missing: make sample-libs",
        sample.display()
    );
    must(
        "cp",
        &["-a".into(), path(&sample).into(), path(&root).into()],
    );
    let mut args = rpm_args(&root);
    args.push("--initdb".into());
    must("rpm", &args);
    root
}

fn install(root: &Path, rpms: &[&Path]) {
    let mut args = rpm_args(root);
    args.extend(["-i", "--noscripts", "--nosignature", "--nodeps"].map(String::from));
    args.extend(rpms.iter().map(|r| path(r).to_string()));
    must("rpm", &args);
}

/// `soclash scan --root ROOT --format json` with the overlays; (exit
/// code, the report, stderr).
fn whatif(root: &Path, rpms: &[&Path], extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["scan", "--root", path(root), "--format", "json"];
    for r in rpms {
        args.extend(["--overlay-rpm", path(r)]);
    }
    args.extend(extra);
    let (code, out, err) = soclash(&args);
    let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    (code, report, err)
}

/// The exit code is the verdict's (1 introduces, 0 nothing, 2 incomplete).
fn assert_verdict(code: i32, report: &Value) {
    let outcome = report["overlay"]["verdict"]["outcome"]
        .as_str()
        .unwrap_or_else(|| panic!("no verdict: {:#}", report["overlay"]));
    let want = match outcome {
        "introduces" => 1,
        "nothing" => 0,
        _ => 2,
    };
    assert_eq!(code, want, "{:#}", report["overlay"]);
}

fn object<'a>(report: &'a Value, p: &str) -> Option<&'a Value> {
    report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["path"] == p)
}

fn package_of(report: &Value, p: &str) -> Option<String> {
    let o = object(report, p)?;
    Some(format!(
        "{} {}",
        o["package"]["name"].as_str()?,
        o["package"]["version"].as_str()?
    ))
}

/// The what-if of a new PHP extension on an RPM root: named as rpm names
/// the package, its unmet Requires exactly those `rpm -U --test` names
/// (exit 2), judged with --ignore-depends, satisfied by installed
/// packages (a versioned provision, a file) and by another package of
/// the what-if; glibc's file trigger rebuilds the cache; its %post is
/// said to be unmodelled.
#[test]
fn requires_attribution_and_verdict_as_rpm_says() {
    let dir = tempdir();
    let top = dir.path().join("top");
    std::fs::create_dir_all(&top).expect("top");
    let root = rpm_root(dir.path());
    let modules = root.join("usr/lib64/php/modules");
    let ext = modules.join("xml.so");
    // Installed: a provider of baz 2.1, httpd (owning the root's own
    // file), and a glibc-like package whose file trigger runs ldconfig.
    let baz = build(
        &top,
        &Spec {
            name: "soclash-test-baz",
            version: "2.1",
            provides: &["baz = 2.1"],
            files: vec![("/usr/lib64/libbazx.so.1", ext.clone())],
            ..Spec::default()
        },
    );
    let httpd = build(
        &top,
        &Spec {
            name: "soclash-test-httpd",
            version: "2.4.57",
            files: vec![("/usr/sbin/httpd", root.join("usr/sbin/httpd"))],
            ..Spec::default()
        },
    );
    let glibc = build(
        &top,
        &Spec {
            name: "soclash-test-glibc",
            version: "2.34",
            files: vec![("/usr/lib64/libc.so.6", root.join("usr/lib64/libc.so.6"))],
            extra: "%transfiletriggerin -- /lib64 /usr/lib64\n/sbin/ldconfig\n",
            ..Spec::default()
        },
    );
    // Fedora's bash provides /bin/sh, which a %post's interpreter needs.
    let bash = build(
        &top,
        &Spec {
            name: "soclash-test-bash",
            version: "5.1",
            provides: &["/bin/sh"],
            files: vec![("/usr/bin/bash", ext.clone())],
            ..Spec::default()
        },
    );
    install(&root, &[&baz, &httpd, &glibc]);

    let newext = build(
        &top,
        &Spec {
            name: "soclash-test-newext",
            version: "1.0",
            epoch: Some(3),
            requires: &[
                "libbar.so.1()(64bit)",
                "baz >= 2",
                "baz < 3",
                "soclash-test-dep >= 1.2",
                "/usr/sbin/httpd",
                "(soclash-test-baz or soclash-test-none)",
            ],
            files: vec![("/usr/lib64/php/modules/newext.so", ext.clone())],
            extra: "%post\necho enabling newext\n",
            ..Spec::default()
        },
    );
    let ini = top.join("30-newext.ini");
    std::fs::write(&ini, "extension=newext\n").expect("ini");
    let dep = build(
        &top,
        &Spec {
            name: "soclash-test-dep",
            version: "1.5",
            provides: &["libbar.so.1()(64bit)"],
            files: vec![("/etc/php.d/30-newext.ini", ini.clone())],
            ..Spec::default()
        },
    );

    // Alone: incomplete, and the same requirements rpm names (the %post
    // brings `Requires(post): /bin/sh`, which nothing installed provides
    // yet).
    let want = rpm_test(&root, &[&newext]);
    let named = |list: &[&str]| -> BTreeSet<(String, String)> {
        list.iter()
            .map(|w| (w.to_string(), "soclash-test-newext".to_string()))
            .collect()
    };
    assert_eq!(
        want,
        named(&["/bin/sh", "libbar.so.1()(64bit)", "soclash-test-dep >= 1.2"])
    );
    let (code, report, err) = whatif(&root, &[&newext], &[]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(soclash_unmet(&report), want);
    // With bash installed, /bin/sh is provided.
    install(&root, &[&bash]);
    let want = rpm_test(&root, &[&newext]);
    assert_eq!(
        want,
        named(&["libbar.so.1()(64bit)", "soclash-test-dep >= 1.2"])
    );
    let (code, report, err) = whatif(&root, &[&newext], &[]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(soclash_unmet(&report), want);
    assert_eq!(report["overlay"]["verdict"]["outcome"], "incomplete");
    let summary = report["overlay"]["verdict"]["summary"]
        .as_str()
        .expect("summary");
    assert!(
        summary.contains("%pre/%post scriptlets")
            && summary.contains("soclash-test-newext (%post)"),
        "{summary}"
    );
    // The added object carries the package as rpm reads it.
    let added = "/usr/lib64/php/modules/newext.so";
    assert_eq!(package_of(&report, added), Some(rpm_qp(&newext)));
    assert_eq!(rpm_qp(&newext), "soclash-test-newext 3:1.0-1.el9");
    eprintln!(
        "overlay-rpm: unmet {:?} as rpm -U --test names them; {added} is {}",
        want,
        rpm_qp(&newext)
    );

    eprintln!("overlay-rpm: {summary}");
    // Judged anyway.
    let (code, report, _) = whatif(&root, &[&newext], &["--ignore-depends"]);
    assert_verdict(code, &report);
    assert_ne!(code, 2);
    assert_eq!(soclash_unmet(&report), want);

    // With what it needs: complete, as rpm agrees; the extension is
    // enabled by the other package's ini and loaded in mod_php.
    assert!(rpm_test(&root, &[&newext, &dep]).is_empty());
    let (code, report, _) = whatif(&root, &[&newext, &dep], &[]);
    assert_verdict(code, &report);
    assert!(soclash_unmet(&report).is_empty());
    let notes = report["overlay"]["notes"].to_string();
    assert!(
        notes.contains("soclash-test-glibc's file trigger on /usr/lib64"),
        "{notes}"
    );
    assert_eq!(object(&report, added).expect("added")["loaded"], true);
    // The root's own files are untouched.
    assert!(!modules.join("newext.so").exists());
    assert!(!root.join("etc/php.d/30-newext.ini").exists());
}

/// An upgrade of an installed package (same name) takes the new
/// version's files and loses those it no longer ships, as a real `rpm
/// -U` into a copy of the root leaves them.
#[test]
fn an_upgrade_replaces_files_as_rpm_u_does() {
    let dir = tempdir();
    let top = dir.path().join("top");
    std::fs::create_dir_all(&top).expect("top");
    let root = rpm_root(dir.path());
    let modules = root.join("usr/lib64/php/modules");
    let ext = modules.join("xml.so");
    let v1 = build(
        &top,
        &Spec {
            name: "soclash-test-ext",
            version: "1.0",
            files: vec![
                ("/usr/lib64/php/modules/ext.so", ext.clone()),
                ("/usr/lib64/php/modules/dropped.so", ext.clone()),
            ],
            ..Spec::default()
        },
    );
    install(&root, &[&v1]);
    let v2 = build(
        &top,
        &Spec {
            name: "soclash-test-ext",
            version: "2.0",
            files: vec![
                ("/usr/lib64/php/modules/ext.so", modules.join("gd.so")),
                ("/usr/lib64/php/modules/ext2.so", ext.clone()),
            ],
            ..Spec::default()
        },
    );
    let (code, report, _) = whatif(&root, &[&v2], &[]);
    assert_verdict(code, &report);
    let layer = report["overlay"]["layers"][0].as_str().expect("layer");
    assert!(
        layer.ends_with("(soclash-test-ext 2.0-1.el9); replaces soclash-test-ext 1.0-1.el9: 1 file it no longer ships removed"),
        "{layer}"
    );
    let seen: BTreeSet<String> = report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter_map(|o| o["path"].as_str())
        .filter(|p| p.starts_with("/usr/lib64/php/modules/"))
        .map(str::to_string)
        .collect();

    // The oracle: rpm -U itself, on a copy.
    let copy = dir.path().join("upgraded");
    must("cp", &["-a".into(), path(&root).into(), path(&copy).into()]);
    let mut args = rpm_args(&copy);
    args.extend(["-U", "--noscripts", "--nosignature", "--nodeps"].map(String::from));
    args.push(path(&v2).into());
    must("rpm", &args);
    let real: BTreeSet<String> = std::fs::read_dir(copy.join("usr/lib64/php/modules"))
        .expect("modules")
        .map(|e| {
            format!(
                "/usr/lib64/php/modules/{}",
                e.expect("entry").file_name().to_string_lossy()
            )
        })
        .collect();
    assert_eq!(seen, real);
    assert!(!real.contains("/usr/lib64/php/modules/dropped.so"));
    for f in ["ext.so", "ext2.so"] {
        let p = format!("/usr/lib64/php/modules/{f}");
        assert_eq!(package_of(&report, &p), Some(rpm_qp(&v2)), "{p}");
    }
    assert_eq!(
        std::fs::read(copy.join("usr/lib64/php/modules/ext.so")).expect("ext.so"),
        std::fs::read(modules.join("gd.so")).expect("gd.so")
    );
    // Before the upgrade, the root's own file is still version 1's.
    assert!(modules.join("dropped.so").exists());
    eprintln!(
        "overlay-rpm: the upgrade leaves {} PHP extensions, as rpm -U does",
        seen.len()
    );
}

/// rpm's version order: soclash's rpmvercmp against `rpm.vercmp` on
/// pairs drawn from the characters versions are made of (a fixed seed),
/// and on a few of the unit test's table.
#[test]
fn rpmvercmp_agrees_with_rpm_vercmp() {
    use soclash::host::packages::rpmvercmp::rpmvercmp;
    // No `-` or `:`: rpm.vercmp parses its arguments as EVRs (a `-`
    // starts a release), which a version without them is as it is.
    const ALPHABET: &[u8] = b"0123456789.~^_+abzAZ";
    let mut seed: u64 = 0x5eed_1234_abcd_0001;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut pick = || ALPHABET[(next() % ALPHABET.len() as u64) as usize] as char;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for i in 0..600 {
        let la = 1 + pick() as usize % 7;
        let a: String = (0..la).map(|_| pick()).collect();
        // Every other pair is a small change of a, so that long equal
        // prefixes are common.
        let b = if i % 2 == 0 {
            let mut b = a.clone();
            b.push(pick());
            b
        } else {
            let lb = 1 + pick() as usize % 7;
            (0..lb).map(|_| pick()).collect()
        };
        pairs.push((a, b));
    }
    for (a, b) in [
        ("1.0~rc1", "1.0"),
        ("1.0^git1", "1.0.1"),
        ("3.el9", "3.el9_1"),
        ("0010", "9"),
        ("1.1.α", "1.1"),
    ] {
        pairs.push((a.into(), b.into()));
    }
    let lua: String = pairs
        .iter()
        .map(|(a, b)| format!("print(rpm.vercmp('{a}','{b}')) print(' ') "))
        .collect();
    let out = must("rpm", &["--eval".into(), format!("%{{lua: {lua}}}")]);
    let got: Vec<i32> = out
        .split_whitespace()
        .map(|s| s.parse().expect("a number"))
        .collect();
    assert_eq!(got.len(), pairs.len(), "{out}");
    let mut wrong = Vec::new();
    for ((a, b), want) in pairs.iter().zip(got) {
        let ours = rpmvercmp(a, b) as i32;
        if ours != want {
            wrong.push(format!("{a:?} vs {b:?}: rpm {want}, soclash {ours}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    eprintln!("rpmvercmp: {} pairs as rpm.vercmp orders them", pairs.len());
}

/// Where the payload starts in a package file: after the 96-byte lead,
/// the signature header (padded to 8 bytes) and the main header.
fn payload_offset(bytes: &[u8]) -> usize {
    let header_len = |at: usize| {
        let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().expect("4")) as usize;
        (be(at + 8), be(at + 12))
    };
    let (il, dl) = header_len(96);
    let main = 96 + 16 + il * 16 + dl + (8 - dl % 8) % 8;
    let (il, dl) = header_len(main);
    main + 16 + il * 16 + dl
}

/// A cpio (newc) entry of rpm's payload.
fn cpio_entry(out: &mut Vec<u8>, ino: u32, name: &str, mode: u32, data: &[u8]) {
    use std::io::Write;
    let mut w = cpio::newc::Builder::new(name)
        .ino(ino)
        .mode(mode)
        .nlink(1)
        .write(Vec::new(), data.len() as u32);
    w.write_all(data).expect("data");
    out.extend(w.finish().expect("entry"));
}

/// Runs soclash with its temporary directory in `tmp`.
fn soclash_tmp(tmp: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(crate::common::SOCLASH)
        .args(args)
        .env("TMPDIR", tmp)
        .output()
        .expect("soclash runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every path under `dir`, for before-and-after comparisons.
fn tree(dir: &Path) -> BTreeSet<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walk").into_path())
        .collect()
}

/// Hostile packages: a real package's header with a payload that climbs
/// with `..`, places an absolute symlink and a file below a symlink to
/// a directory outside, gives errors for those entries and writes nothing
/// outside soclash's temporary directory (which is gone afterwards); a
/// truncated payload and a file that is no package stop the what-if with
/// an error naming the file (exit 2), leaving nothing behind.
#[test]
fn hostile_rpms_write_nothing_outside_the_temporary_directory() {
    let dir = tempdir();
    let top = dir.path().join("top");
    let tmp = dir.path().join("tmp");
    let outside = dir.path().join("outside");
    for d in [&top, &tmp, &outside] {
        std::fs::create_dir_all(d).expect("dir");
    }
    let root = rpm_root(dir.path());
    let ext = root.join("usr/lib64/php/modules/xml.so");
    let real = build(
        &top,
        &Spec {
            name: "soclash-test-hostile",
            version: "1.0",
            files: vec![("/usr/lib64/php/modules/hostile.so", ext.clone())],
            ..Spec::default()
        },
    );
    let bytes = std::fs::read(&real).expect("rpm");
    let at = payload_offset(&bytes);
    let elf = std::fs::read(&ext).expect("ELF");
    let mut payload = Vec::new();
    cpio_entry(
        &mut payload,
        1,
        "./usr/lib64/php/modules/hostile.so",
        0o100644,
        &elf,
    );
    cpio_entry(
        &mut payload,
        2,
        "./../../../escape-soclash",
        0o100644,
        b"out",
    );
    cpio_entry(&mut payload, 3, "./usr/lib64/abs", 0o120777, b"/etc/passwd");
    cpio_entry(
        &mut payload,
        4,
        "./usr/lib64/out",
        0o120777,
        path(&outside).as_bytes(),
    );
    cpio_entry(&mut payload, 5, "./usr/lib64/out/through", 0o100644, b"out");
    payload.extend(cpio::newc::trailer(Vec::new()).expect("trailer"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &payload).expect("gzip");
    let mut hostile = bytes[..at].to_vec();
    hostile.extend(gz.finish().expect("gzip"));
    // rpmbuild's payload compressor is this build's default: check it is
    // gzip, which the crafted payload is.
    let mut q = vec!["-qp".to_string(), "--nosignature".into(), "--qf".into()];
    q.push("%{PAYLOADCOMPRESSOR}".into());
    q.push(path(&real).into());
    let compressor = must("rpm", &q);
    let hostile = if compressor == "gzip" {
        hostile
    } else {
        panic!(
            "rpmbuild compressed with {compressor}: the test writes a gzip payload under a {compressor} header"
        );
    };
    let hostile_rpm = dir.path().join("hostile.rpm");
    std::fs::write(&hostile_rpm, &hostile).expect("hostile rpm");

    let before = tree(&root);
    let (code, out, err) = soclash_tmp(
        &tmp,
        &[
            "scan",
            "--root",
            path(&root),
            "--format",
            "json",
            "--overlay-rpm",
            path(&hostile_rpm),
        ],
    );
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
    let errors: BTreeSet<(String, String)> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            let p = e["path"].as_str().expect("path");
            let entry = p.rsplit_once(": ").map_or(p, |(_, entry)| entry);
            (
                entry.to_string(),
                e["reason"].as_str().expect("reason").to_string(),
            )
        })
        .collect();
    let left_out =
        |entry: &str, why: &str| (entry.to_string(), format!("package entry left out: {why}"));
    assert_eq!(
        errors,
        BTreeSet::from([
            left_out("./../../../escape-soclash", "path climbs with .."),
            left_out(
                "./usr/lib64/out/through",
                "a file is where a directory goes"
            ),
        ])
    );
    // Errors make the scan's own exit 2 only through its errors; the
    // verdict still comes.
    assert!(report["overlay"]["verdict"].is_object(), "{code} {err}");
    assert!(object(&report, "/usr/lib64/php/modules/hostile.so").is_some());
    assert_eq!(tree(&root), before, "the root changed");
    assert_eq!(std::fs::read_dir(&outside).expect("outside").count(), 0);
    assert_eq!(
        std::fs::read_dir(&tmp).expect("tmp").count(),
        0,
        "scratch left behind"
    );
    // `..` thrice from the package's directory in the scratch directory
    // would be `dir` itself.
    let escaped: Vec<PathBuf> = tree(dir.path())
        .into_iter()
        .filter(|p| p.ends_with("escape-soclash"))
        .collect();
    assert!(escaped.is_empty(), "{escaped:?}");

    // Truncated in its payload, and no package at all.
    let truncated = dir.path().join("truncated.rpm");
    std::fs::write(&truncated, &bytes[..at + (bytes.len() - at) / 2]).expect("truncated");
    let not_rpm = dir.path().join("not.rpm");
    std::fs::write(&not_rpm, b"<html>404 Not Found</html>").expect("not an rpm");
    for (file, says) in [
        (&truncated, "payload"),
        (
            &not_rpm,
            "not an RPM package soclash reads: shorter than an RPM lead",
        ),
    ] {
        let (code, _, err) = soclash_tmp(
            &tmp,
            &[
                "scan",
                "--root",
                path(&root),
                "--format",
                "json",
                "--overlay-rpm",
                path(file),
            ],
        );
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains(&format!("cannot unpack {}: ", file.display())) && err.contains(says),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(&tmp).expect("tmp").count(), 0);
    }
    assert_eq!(tree(&root), before, "the root changed");

    // Mutants of the real package, read in this process: truncations in
    // steps, every other byte of the lead and headers (so a byte of each
    // count, offset and type) and some of the payload flipped. An error or a package, never a panic,
    // and nothing outside each mutant's directory.
    let mutants = dir.path().join("mutants");
    std::fs::create_dir_all(&mutants).expect("mutants");
    let mut variants: Vec<Vec<u8>> = (0..bytes.len())
        .step_by(37)
        .map(|n| bytes[..n].to_vec())
        .collect();
    for i in (0..at).step_by(2).chain((at..bytes.len()).step_by(97)) {
        for mask in [0xff, 0x01] {
            let mut v = bytes.clone();
            v[i] ^= mask;
            variants.push(v);
        }
    }
    let (mut read, mut refused) = (0, 0);
    for (i, v) in variants.iter().enumerate() {
        let file = mutants.join("m.rpm");
        std::fs::write(&file, v).expect("mutant");
        let dest = mutants.join(i.to_string());
        std::fs::create_dir(&dest).expect("dest");
        let mut totals = soclash::root::deb::Unpacked::default();
        match soclash::root::rpm::unpack(&file, &dest, &mut totals) {
            Ok(_) => read += 1,
            Err(_) => refused += 1,
        }
        std::fs::remove_dir_all(&dest).expect("clean");
    }
    let left: Vec<_> = std::fs::read_dir(&mutants)
        .expect("mutants")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from("m.rpm")]);
    assert!(read > 0 && refused > 0, "{read} read, {refused} refused");
    eprintln!(
        "overlay-rpm: {} mutants of a real package: {read} read, {refused} refused, no panic",
        variants.len()
    );
}
