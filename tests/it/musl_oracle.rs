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

/// The driver of [`musl_binding_agrees_with_dladdr`]: `dlopen`s each
/// `PATH MODE` pair of its arguments in order, then asks each object it
/// opened for its references (`soclash_report`, which passes the address
/// of each symbol it refers to, as its GOT holds it) and prints where
/// musl's `dladdr` places each: `OBJECT SYMBOL DEFINER`.
const MUSL_DRIVER: &str = r#"#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
static const char *current;
static void out(const char *sym, void *addr) {
    Dl_info info;
    if (!dladdr(addr, &info) || !info.dli_fname) {
        printf("%s %s ?\n", current, sym);
        return;
    }
    printf("%s %s %s\n", current, sym, info.dli_fname);
}
int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        void *h = dlopen(argv[i], (int)strtol(argv[i + 1], 0, 0));
        if (!h) {
            printf("error %s\n", dlerror());
            return 1;
        }
        void (*report)(void (*)(const char *, void *)) =
            (void (*)(void (*)(const char *, void *)))dlsym(h, "soclash_report");
        current = argv[i];
        if (report)
            report(out);
    }
    return 0;
}
"#;

/// musl's `find_sym` against the binding model of a musl Apache: an
/// Alpine-layout root whose `apache2` is a musl driver ([`MUSL_DRIVER`])
/// `dlopen`ing the modules the model says, with the flags it says, under
/// chroot. libva and libvb define `vfunc` under version nodes VA and VB;
/// mod_a (loaded first, `RTLD_GLOBAL`) needs libva, mod_b needs libvb and
/// asks for `vfunc@VB`: glibc skips libva's (B8) and binds libvb's, musl
/// compares names only and binds libva's. libvd defines `hfunc` only under
/// a hidden version (`hfunc@VD1`), which musl's hash lookup skips, so
/// mod_b's `hfunc` binds libve's. The PHP extension ext_x (PHP asks for
/// `RTLD_DEEPBIND`, which musl has not) needs libvc's `dfunc@@VC` and binds
/// libva's `dfunc@@VA` through the global scope; the Python module _loc
/// (`RTLD_NOW`, local) needs libvg's `vfunc@@VG` in its own group and binds
/// libva's, global first. Each line the driver prints must be the
/// model's binding of that (object, symbol), and the focal ones are
/// checked against what musl's sources say (written here by hand).
#[test]
fn musl_binding_agrees_with_dladdr() {
    use soclash::image::bind::{BindOptions, bind};
    use soclash::image::{self, How, ImageOptions};
    use soclash::resolve::Cpu;

    let tmp = tempfile::tempdir().expect("a temporary directory");
    let root = tmp.path().join("root");
    let b = tmp.path().join("build");
    let mods = "/usr/lib/apache2/modules";
    let phpext = "/usr/lib/php/20220829";
    let dynload = "/usr/lib/python3.11/lib-dynload";
    for d in [
        "lib",
        "usr/lib",
        "usr/sbin",
        "etc/apache2",
        "etc/php/8.2/apache2/conf.d",
        mods.trim_start_matches('/'),
        phpext.trim_start_matches('/'),
        dynload.trim_start_matches('/'),
    ] {
        fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    fs::create_dir_all(&b).expect("mkdir");
    fs::copy(LDSO, root.join("lib/ld-musl-x86_64.so.1"))
        .unwrap_or_else(|e| panic!("{LDSO} ({e}): .ci/deps installs Debian's musl"));
    let write = |name: &str, text: &str| fs::write(b.join(name), text).expect("write a source");
    let at = |inner: &str| {
        root.join(inner.trim_start_matches('/'))
            .display()
            .to_string()
    };
    // A library: output (inside the root), soname, source, extra arguments.
    let lib = |out: &str, soname: &str, src: &str, extra: &[&str]| {
        let out = at(out);
        let soname = format!("-Wl,-soname,{soname}");
        let mut args = vec![
            "-shared",
            "-fPIC",
            "-o",
            &out,
            src,
            &soname,
            "-Wl,--no-as-needed",
        ];
        args.extend_from_slice(extra);
        musl_gcc(&b, &args);
    };
    write(
        "va.c",
        "int vfunc(void) { return 1; }\nint dfunc(void) { return 1; }\n",
    );
    write("va.map", "VA { global: vfunc; dfunc; local: *; };\n");
    write("vc.c", "int dfunc(void) { return 3; }\n");
    write("vc.map", "VC { global: dfunc; local: *; };\n");
    write("vg.c", "int vfunc(void) { return 7; }\n");
    write("vg.map", "VG { global: vfunc; local: *; };\n");
    write("py.c", "int Py_IsInitialized(void) { return 1; }\n");
    write("vb.c", "int vfunc(void) { return 2; }\n");
    write("vb.map", "VB { global: vfunc; local: *; };\n");
    write(
        "vd.c",
        "int hfunc_impl(void) { return 4; }\n__asm__(\".symver hfunc_impl, hfunc@VD1\");\n",
    );
    write("vd.map", "VD1 { local: hfunc_impl; };\n");
    write("ve.c", "int hfunc(void) { return 5; }\n");
    write("ve.map", "VE { global: hfunc; local: *; };\n");
    lib(
        "/usr/lib/libva.so",
        "libva.so",
        "va.c",
        &["-Wl,--version-script=va.map"],
    );
    lib(
        "/usr/lib/libvb.so",
        "libvb.so",
        "vb.c",
        &["-Wl,--version-script=vb.map"],
    );
    lib(
        "/usr/lib/libvd.so",
        "libvd.so",
        "vd.c",
        &["-Wl,--version-script=vd.map"],
    );
    lib(
        "/usr/lib/libve.so",
        "libve.so",
        "ve.c",
        &["-Wl,--version-script=ve.map"],
    );
    for (name, map) in [("vc", true), ("vg", true), ("python3.11", false)] {
        let script = format!("-Wl,--version-script={name}.map");
        let soname = if map {
            format!("lib{name}.so")
        } else {
            "libpython3.11.so.1.0".into()
        };
        let src = if map {
            format!("{name}.c")
        } else {
            "py.c".into()
        };
        let extra: &[&str] = if map { &[&script] } else { &[] };
        lib(&format!("/usr/lib/{soname}"), &soname, &src, extra);
    }
    let report = |syms: &[&str]| {
        let mut s = String::from("typedef void (*out_fn)(const char *, void *);\n");
        for sym in syms {
            s.push_str(&format!("int {sym}(void);\n"));
        }
        s.push_str("void soclash_report(out_fn out) {\n");
        for sym in syms {
            s.push_str(&format!("    out(\"{sym}\", (void *)&{sym});\n"));
        }
        s.push_str("}\n");
        s
    };
    write("mod_a.c", &report(&["vfunc"]));
    write("mod_b.c", &report(&["vfunc", "hfunc"]));
    let (va, vb, vd, ve) = (
        at("/usr/lib/libva.so"),
        at("/usr/lib/libvb.so"),
        at("/usr/lib/libvd.so"),
        at("/usr/lib/libve.so"),
    );
    lib(
        &format!("{mods}/mod_a.so"),
        "mod_a.so",
        "mod_a.c",
        &[&va, &vd],
    );
    lib(
        &format!("{mods}/mod_b.so"),
        "mod_b.so",
        "mod_b.c",
        &[&vb, &ve],
    );
    write("php.c", &report(&[]));
    lib(
        &format!("{mods}/libphp8.2.so"),
        "libphp8.2.so",
        "php.c",
        &[],
    );
    write("wsgi.c", &report(&["Py_IsInitialized"]));
    let libpython = at("/usr/lib/libpython3.11.so.1.0");
    lib(
        &format!("{mods}/mod_wsgi.so"),
        "mod_wsgi.so",
        "wsgi.c",
        &[&libpython],
    );
    // A PHP extension: PHP asks for RTLD_DEEPBIND, which musl has not.
    write("ext.c", &report(&["dfunc"]));
    let vc = at("/usr/lib/libvc.so");
    lib(&format!("{phpext}/ext_x.so"), "ext_x.so", "ext.c", &[&vc]);
    fs::write(
        root.join("etc/php/8.2/apache2/conf.d/20-ext_x.ini"),
        "extension=ext_x.so\n",
    )
    .expect("write the ini");
    // A Python extension module: RTLD_NOW, local.
    write("loc.c", &report(&["vfunc"]));
    let vg = at("/usr/lib/libvg.so");
    lib(
        &format!("{dynload}/_loc.cpython-311-x86_64-linux-gnu.so"),
        "_loc.so",
        "loc.c",
        &[&vg],
    );
    write("driver.c", MUSL_DRIVER);
    let driver = at("/usr/sbin/apache2");
    musl_gcc(&b, &["-o", &driver, "driver.c"]);
    fs::write(
        root.join("etc/apache2/apache2.conf"),
        format!(
            "LoadModule php_module {mods}/libphp8.2.so\nLoadModule wsgi_module {mods}/mod_wsgi.so\n\
             LoadModule a_module {mods}/mod_a.so\nLoadModule b_module {mods}/mod_b.so\n"
        ),
    )
    .expect("write apache2.conf");

    let r = soclash::root::Root::new(&root).expect("the root");
    let opts = ImageOptions {
        apache_config: None,
        cpu: Cpu::detect(),
        bind_early: None,
    };
    let img = image::apache(&r, &opts).expect("soclash models the musl Apache");
    assert!(img.errors.is_empty(), "model errors: {:?}", img.errors);
    // The plan: the model's dlopens in member order, with musl's values
    // of the flags (those of x86-64 glibc too).
    let mut plan = Vec::new();
    for m in img.members.iter().filter(|m| m.how == How::Dlopen) {
        let mut mode = 0;
        for f in m.flags.split('|') {
            mode |= match f {
                "RTLD_LAZY" => 1,
                "RTLD_NOW" => 2,
                "RTLD_GLOBAL" => 0x100,
                "RTLD_LOCAL" => 0,
                other => panic!("{}: flag {other} has no musl value", m.object),
            };
        }
        plan.push(m.object.clone());
        plan.push(format!("{mode:#x}"));
    }
    let want_plan: Vec<String> = [
        (format!("{mods}/libphp8.2.so"), "0x102"),
        (format!("{mods}/mod_wsgi.so"), "0x102"),
        (format!("{mods}/mod_a.so"), "0x102"),
        (format!("{mods}/mod_b.so"), "0x102"),
        // RTLD_LAZY|RTLD_GLOBAL: the DEEPBIND PHP asks for is dropped.
        (format!("{phpext}/ext_x.so"), "0x101"),
        (
            format!("{dynload}/_loc.cpython-311-x86_64-linux-gnu.so"),
            "0x2",
        ),
    ]
    .into_iter()
    .flat_map(|(p, m)| [p, m.to_string()])
    .collect();
    assert_eq!(
        plan, want_plan,
        "modules RTLD_NOW|RTLD_GLOBAL in configuration order, then the PHP extension, then the Python module RTLD_LOCAL"
    );
    let out = Command::new("/usr/sbin/chroot")
        .arg(&root)
        .arg("/usr/sbin/apache2")
        .args(&plan)
        .env_clear()
        .output()
        .expect("chroot runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the driver failed ({:?}): {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Vec<(&str, &str, &str)> = stdout
        .lines()
        .filter_map(|l| {
            let mut w = l.split(' ');
            Some((w.next()?, w.next()?, w.next()?))
        })
        .collect();
    // musl's answers, from its sources (not from soclash).
    for focal in [
        (format!("{mods}/mod_a.so"), "vfunc", "/usr/lib/libva.so"),
        (format!("{mods}/mod_b.so"), "vfunc", "/usr/lib/libva.so"),
        (format!("{mods}/mod_b.so"), "hfunc", "/usr/lib/libve.so"),
        (
            format!("{mods}/mod_wsgi.so"),
            "Py_IsInitialized",
            "/usr/lib/libpython3.11.so.1.0",
        ),
        // glibc: libvc (DEEPBIND puts the extension's own list first).
        (format!("{phpext}/ext_x.so"), "dfunc", "/usr/lib/libva.so"),
        // glibc: libvg (vfunc@VG, in the module's local group).
        (
            format!("{dynload}/_loc.cpython-311-x86_64-linux-gnu.so"),
            "vfunc",
            "/usr/lib/libva.so",
        ),
    ] {
        assert!(
            seen.contains(&(focal.0.as_str(), focal.1, focal.2)),
            "musl did not bind {focal:?}: the scenario is broken\n{stdout}"
        );
    }
    assert_eq!(seen.len(), 6, "{stdout}");
    let bindings = bind(&img, &BindOptions::default());
    let mut failures = Vec::new();
    for (object, symbol, definer) in &seen {
        let refs: Vec<_> = bindings
            .references
            .iter()
            .filter(|r| *r.object == **object && *r.symbol == **symbol && !r.direct)
            .collect();
        if refs.is_empty() {
            failures.push(format!("{object} {symbol}: no reference in the model"));
        }
        for r in refs {
            if r.binds_to.as_deref() != Some(*definer) {
                failures.push(format!(
                    "{object} {symbol}@{:?}: musl binds {definer}, the model {:?}",
                    r.version, r.binds_to
                ));
            }
        }
    }
    // mod_b asks for vfunc@VB: the case where glibc would bind libvb.
    assert!(
        bindings
            .references
            .iter()
            .any(|r| r.object.ends_with("mod_b.so")
                && &*r.symbol == "vfunc"
                && r.version.as_deref() == Some("VB")),
        "mod_b's vfunc reference is not versioned VB"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("musl bindings compared with dladdr: {}", seen.len());
}
