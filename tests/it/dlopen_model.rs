//! The `dlopen` model (rules G2, G4, G5, L3.2) against glibc itself: a small
//! C host built by the test performs a scripted sequence of `dlopen`s,
//! prints the link map with `dl_iterate_phdr`, and `LD_DEBUG=scopes` prints
//! the global scope as it grows; `resolve::Namespace` must predict all of it.

use std::path::{Path, PathBuf};
use std::process::Command;

use bstr::BStr;
use soclash::resolve::{Loader, Options, rtld};
use soclash::root::Root;

use crate::common::tempdir;

const HOST_C: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int cb(struct dl_phdr_info *i, size_t s, void *d) {
  (void)s; (void)d;
  printf("map %s\n", i->dlpi_name[0] ? i->dlpi_name : "<main>");
  return 0;
}
int main(int argc, char **argv) {
  for (int k = 1; k < argc; k++) {
    char *colon = strchr(argv[k], ':');
    if (!colon) return 2;
    void *h = dlopen(colon + 1, (int)strtol(argv[k], NULL, 0));
    printf("dlopen %s %s\n", colon + 1, h ? "ok" : "failed");
  }
  fflush(stdout);
  dl_iterate_phdr(cb, NULL);
  return 0;
}
"#;

fn gcc(dir: &Path, args: &[&str]) {
    let st = Command::new("gcc")
        .current_dir(dir)
        .args(args)
        .status()
        .expect("run gcc (package gcc)");
    assert!(st.success(), "gcc {args:?} failed");
}

#[test]
fn g2_dlopen_sequence_matches_glibc() {
    let t = tempdir();
    let d = t.path();
    let ds = d.to_str().unwrap();
    std::fs::write(d.join("host.c"), HOST_C).unwrap();
    for (name, src) in [
        ("b", "int b(void){return 1;}"),
        ("nt", "int nt(void){return 3;}"),
        ("a", "int b(void); int a(void){return b();}"),
        ("c2", "int b(void); int c2(void){return b();}"),
        ("m", "int nt(void); int m(void){return nt();}"),
    ] {
        std::fs::write(d.join(format!("{name}.c")), src).unwrap();
    }
    gcc(d, &["-shared", "-fPIC", "-o", "libb.so", "b.c"]);
    gcc(d, &["-shared", "-fPIC", "-o", "libnt.so", "nt.c"]);
    gcc(
        d,
        &[
            "-shared",
            "-fPIC",
            "-Wl,--no-as-needed",
            "-o",
            "liba.so",
            "a.c",
            "-L.",
            "-lb",
        ],
    );
    gcc(
        d,
        &[
            "-shared",
            "-fPIC",
            "-Wl,--no-as-needed",
            "-o",
            "libc2.so",
            "c2.c",
            "-L.",
            "-lb",
        ],
    );
    gcc(
        d,
        &[
            "-shared",
            "-fPIC",
            "-Wl,--no-as-needed",
            "-o",
            "libm.so",
            "m.c",
            "-L.",
            "-lnt",
        ],
    );
    std::fs::remove_file(d.join("libnt.so")).unwrap();
    // L3.2: the executable's DT_RPATH (not RUNPATH) serves dlopened modules'
    // dependencies too.
    let rpath = format!("-Wl,--disable-new-dtags,-rpath,{ds}");
    gcc(d, &["-o", "host", "host.c", &rpath]);

    let script: Vec<(u32, PathBuf)> = vec![
        (rtld::NOW | rtld::GLOBAL, d.join("liba.so")),
        (rtld::NOW, d.join("libc2.so")),
        (rtld::NOW, d.join("libm.so")), // libnt.so is gone: fails, rolled back
        (rtld::NOW | rtld::GLOBAL, d.join("libc2.so")), // G4: promoted
    ];
    let host = d.join("host");
    let out = Command::new(&host)
        .env_clear()
        .env("LD_DEBUG", "scopes")
        .args(
            script
                .iter()
                .map(|(f, p)| format!("{f:#x}:{}", p.display())),
        )
        .output()
        .expect("run the test's own host program");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);

    // glibc's answers.
    let results: Vec<bool> = stdout
        .lines()
        .filter(|l| l.starts_with("dlopen "))
        .map(|l| l.ends_with(" ok"))
        .collect();
    let maps: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("map "))
        .filter(|n| *n != "linux-vdso.so.1")
        .map(|n| {
            if n == "<main>" {
                host.display().to_string()
            } else {
                n.to_string()
            }
        })
        .collect();
    let mut global: Vec<String> = Vec::new();
    let mut lines = stderr
        .lines()
        .map(|l| l.split_once('\t').map_or(l, |x| x.1).trim());
    while let Some(l) = lines.next() {
        if l == format!("object={} [0]", host.display()) {
            let scope = lines.next().expect("scope line");
            let list = scope
                .strip_prefix("scope 0: ")
                .expect("scope 0 of the main program");
            global.extend(list.split(' ').map(str::to_string));
        } else if let Some(rest) = l.strip_prefix("add ") {
            global.push(rest.split(" [").next().unwrap().to_string());
        }
    }
    assert_eq!(
        results.len(),
        script.len(),
        "host output:\n{stdout}\n{stderr}"
    );

    // soclash's.
    let root = Root::new(Path::new("/")).unwrap();
    let loader = Loader::new(&root, Options::default());
    let mut ns = loader.start(&host, &[]).expect("start the host");
    let predicted: Vec<bool> = script
        .iter()
        .map(|(f, p)| {
            ns.dlopen(BStr::new(p.to_str().unwrap()), *f, Some(0))
                .is_ok()
        })
        .collect();
    let name = |j: usize| {
        ns.objects()[j]
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    let chain: Vec<String> = ns.chain_order().into_iter().map(name).collect();
    let scope: Vec<String> = ns.global().iter().map(|&j| name(j)).collect();

    assert_eq!(predicted, results, "dlopen outcomes");
    assert_eq!(chain, maps, "link-map order (dl_iterate_phdr)");
    assert_eq!(scope, global, "global scope (LD_DEBUG=scopes)");
    eprintln!(
        "dlopen model: {} dlopens, {} mapped objects, {} global scope entries agree with glibc",
        results.len(),
        maps.len(),
        global.len()
    );
}
