//! `soclash generate DIR` (what `make install` and the Debian package
//! install): completions and man pages from the clap definitions. bash
//! itself loads the completion script and registers it; the man pages name
//! every subcommand.

use std::process::Command as Std;

use assert_cmd::Command;

use crate::common::tempdir;

#[test]
fn completions_and_man_pages_cover_every_subcommand() {
    let dir = tempdir();
    Command::cargo_bin("soclash")
        .expect("the soclash binary is built for tests")
        .arg("generate")
        .arg(dir.path())
        .assert()
        .success();
    let bash = dir.path().join("completions/soclash.bash");
    let out = Std::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p soclash", bash.display()))
        .output()
        .expect("bash runs");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("soclash"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = std::fs::read_to_string(&bash).expect("bash completions");
    for f in ["_soclash", "soclash.fish"] {
        assert!(dir.path().join("completions").join(f).is_file(), "{f}");
    }
    let page = std::fs::read_to_string(dir.path().join("man/soclash.1")).expect("soclash.1");
    assert!(page.contains(".TH soclash"), "{page}");
    for sub in ["deps", "scan", "image", "explain", "diff", "signatures"] {
        assert!(script.contains(sub), "completion for {sub}");
        assert!(page.contains(sub), "soclash.1 names {sub}");
        assert!(
            dir.path().join(format!("man/soclash-{sub}.1")).is_file(),
            "soclash-{sub}.1"
        );
    }
    assert!(
        !page.contains("generate"),
        "the packaging helper stays out of the man page"
    );
}
