//! Oracle test: `soclash deps` on musl programs of this glibc host against
//! musl's own loader, `/lib/ld-musl-x86_64.so.1 --list` (Debian's `musl`
//! and `musl-tools`, which `.ci/deps` installs). The root is `/`, so the
//! loader soclash must pick is the program's `PT_INTERP`, not the root's
//! glibc (for a library, which has none, its `DT_NEEDED` on musl's
//! `libc.so`); the Alpine-layout roots are `sample_roots`' `U*` cases.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use assert_cmd::Command as BinCommand;

const LDSO: &str = "/lib/ld-musl-x86_64.so.1";

fn musl_gcc(dir: &Path, args: &[&str]) {
    let out = Command::new("musl-gcc")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run musl-gcc ({e}): .ci/deps installs musl-tools"));
    assert!(
        out.status.success(),
        "musl-gcc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The loader's lines without load addresses.
fn without_addresses(out: &[u8]) -> String {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| match l.rfind(" (0x") {
            Some(i) => format!("{}\n", &l[..i]),
            None => format!("{l}\n"),
        })
        .collect()
}

fn loader_errors(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.starts_with("Error loading shared library"))
        .map(str::to_owned)
        .collect()
}

fn compare(program: &Path) -> Result<(), String> {
    let oracle: Output = Command::new(LDSO)
        .arg("--list")
        .arg(program)
        .env_clear()
        .output()
        .map_err(|e| format!("cannot run {LDSO}: {e}"))?;
    let ours = BinCommand::cargo_bin("soclash")
        .expect("the soclash binary is built for tests")
        .arg("deps")
        .arg(program)
        .output()
        .map_err(|e| format!("cannot run soclash: {e}"))?;
    let want = without_addresses(&oracle.stdout);
    let got = String::from_utf8_lossy(&ours.stdout).into_owned();
    let want_errors = loader_errors(&oracle.stderr);
    let got_errors = loader_errors(&ours.stderr);
    // musl exits 127 after listing past what it could not load; deps
    // exits 2, as for ld.so's fatal cases.
    let want_code = match oracle.status.code() {
        Some(0) => 0,
        Some(127) => 2,
        other => return Err(format!("{LDSO} --list exited {other:?}")),
    };
    if want == got && want_errors == got_errors && ours.status.code() == Some(want_code) {
        return Ok(());
    }
    Err(format!(
        "{}:\n--- {LDSO} --list (status {:?})\n{want}{want_errors:?}\n--- soclash deps (status {:?})\n{got}{}",
        program.display(),
        oracle.status.code(),
        ours.status.code(),
        String::from_utf8_lossy(&ours.stderr)
    ))
}

#[test]
fn deps_agrees_with_ld_musl_on_programs_of_a_glibc_host() {
    assert!(
        Path::new(LDSO).exists(),
        "{LDSO} missing: .ci/deps installs Debian's musl"
    );
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let d = tmp.path();
    fs::write(d.join("lib.c"), "int f(void) { return 1; }\n").expect("write lib.c");
    fs::write(d.join("main.c"), "int main(void) { return 0; }\n").expect("write main.c");
    fs::create_dir_all(d.join("lib/deep")).expect("mkdir");
    let lib = |path: &str, soname: &str, extra: &[&str]| {
        let soname_arg = format!("-Wl,-soname,{soname}");
        let mut args = vec![
            "-shared",
            "-fPIC",
            "-o",
            path,
            "lib.c",
            soname_arg.as_str(),
            "-Wl,--no-as-needed",
        ];
        args.extend_from_slice(extra);
        musl_gcc(d, &args);
    };
    lib("lib/deep/libdeep.so", "libdeep.so", &[]);
    // libmid finds libdeep through its own $ORIGIN RUNPATH.
    lib(
        "lib/libmid.so",
        "libmid.so",
        &[
            "lib/deep/libdeep.so",
            "-Wl,--enable-new-dtags,-rpath,$ORIGIN/deep",
        ],
    );
    lib("lib/libtop.so", "libtop.so", &["lib/libmid.so"]);
    let rpath = format!("-Wl,--disable-new-dtags,-rpath,{}", d.join("lib").display());
    // ok: RPATH of the program for libtop and libmid, libm.so.6 is musl.
    musl_gcc(
        d,
        &[
            "-o",
            "ok",
            "main.c",
            "-Wl,--no-as-needed",
            "lib/libtop.so",
            "-lm",
            rpath.as_str(),
        ],
    );
    // missing: libtop is not on any path of it.
    musl_gcc(
        d,
        &[
            "-o",
            "missing",
            "main.c",
            "-Wl,--no-as-needed",
            "lib/libtop.so",
        ],
    );
    let mut failures = Vec::new();
    let mut ok_count = 0;
    // The libraries too: no PT_INTERP, musl's by their DT_NEEDED libc.so.
    let objects = ["ok", "missing", "lib/libtop.so", "lib/libmid.so"];
    for p in objects {
        match compare(&d.join(p)) {
            Ok(()) => ok_count += 1,
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} musl objects differ:\n{}",
        failures.len(),
        objects.len(),
        failures.join("\n")
    );
    assert_eq!(ok_count, objects.len());
}

/// A FIFO or an oversized file where musl's path file is: musl would block
/// or read it whole; soclash says it did not read it and searches an empty
/// path, so a library only in `/usr/lib` is not found, and goes on.
#[test]
fn an_unread_path_file_is_an_error_entry_and_an_empty_path() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let root = tmp.path();
    for d in ["lib", "etc", "usr/lib", "opt/app/bin", "build"] {
        fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    fs::copy(LDSO, root.join("lib/ld-musl-x86_64.so.1"))
        .unwrap_or_else(|e| panic!("{LDSO} ({e}): .ci/deps installs Debian's musl"));
    let b = root.join("build");
    fs::write(b.join("lib.c"), "int f(void) { return 1; }\n").expect("write lib.c");
    fs::write(b.join("main.c"), "int main(void) { return 0; }\n").expect("write main.c");
    let lib = root.join("usr/lib/libhere.so");
    let lib = lib.to_str().expect("utf-8 path");
    musl_gcc(
        &b,
        &[
            "-shared",
            "-fPIC",
            "-o",
            lib,
            "lib.c",
            "-Wl,-soname,libhere.so",
        ],
    );
    let app = root.join("opt/app/bin/app");
    let app = app.to_str().expect("utf-8 path");
    musl_gcc(&b, &["-o", app, "main.c", "-Wl,--no-as-needed", lib]);
    let path_file = root.join("etc/ld-musl-x86_64.path");
    let run = || {
        BinCommand::cargo_bin("soclash")
            .expect("the soclash binary is built for tests")
            .arg("deps")
            .arg("--root")
            .arg(root)
            .arg("/opt/app/bin/app")
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .expect("soclash runs")
    };
    // Without a path file: the default path finds it.
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("libhere.so => /usr/lib/libhere.so"));
    for (kind, make) in [
        (
            "FIFO",
            Box::new(|p: &Path| {
                let status = Command::new("mkfifo").arg(p).status().expect("mkfifo runs");
                assert!(status.success());
            }) as Box<dyn Fn(&Path)>,
        ),
        (
            "over budget",
            Box::new(|p: &Path| {
                fs::write(p, "/usr/lib\n".repeat(200_000)).expect("write the path file");
            }),
        ),
    ] {
        let _ = fs::remove_file(&path_file);
        make(&path_file);
        let out = run();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{kind}: {stderr}");
        assert!(
            stderr.contains("/etc/ld-musl-x86_64.path:")
                && stderr.contains("searched as an empty path")
                && stderr.contains("Error loading shared library libhere.so"),
            "{kind}: {stderr}"
        );
    }
}

/// musl has no `RTLD_DEEPBIND` (its dlfcn.h defines none): on an Alpine
/// root a `dlopen` asked with it (as mod_php asks for its extensions on
/// glibc) forms a group without it. U2's `/opt/r/lib/libs2.so` is a copy
/// the start-up did not load.
#[test]
fn a_musl_dlopen_has_no_deepbind() {
    use soclash::resolve::{Loader, Options, rtld};
    let dir = crate::common::sample_roots_dir().join("U2-musl-rpath-origin/root");
    assert!(
        dir.is_dir(),
        "{} missing: run `make sample-libs`",
        dir.display()
    );
    let root = soclash::root::Root::new(&dir).expect("the U2 root");
    let loader = Loader::new(&root, Options::default());
    assert_eq!(loader.profile().name(), "musl");
    let mut ns = loader
        .start(Path::new("/opt/app/bin/app"), &[])
        .expect("start the program");
    let before = ns.objects().len();
    let j = ns
        .dlopen(
            bstr::BStr::new("/opt/r/lib/libs2.so"),
            rtld::LAZY | rtld::GLOBAL | rtld::DEEPBIND,
            Some(0),
        )
        .expect("the copy in /opt/r/lib opens");
    assert!(j >= before, "a new object, not the start-up's libs2.so");
    let group = ns.groups().last().expect("the dlopen's group");
    assert_eq!(group.root, j);
    assert_eq!(group.flags & rtld::DEEPBIND, 0, "flags {:#x}", group.flags);
    assert_ne!(group.flags & rtld::GLOBAL, 0);
}
