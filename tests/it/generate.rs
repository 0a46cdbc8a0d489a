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
    // --process completes the process kinds, not file names.
    assert!(script.contains("apache php-fpm wsgi:"), "process names");
    for f in ["_soclash", "soclash.fish"] {
        assert!(dir.path().join("completions").join(f).is_file(), "{f}");
    }
    let page = std::fs::read_to_string(dir.path().join("man/soclash.1")).expect("soclash.1");
    assert!(page.contains(".TH soclash"), "{page}");
    for sub in [
        "deps",
        "scan",
        "image",
        "explain",
        "diff",
        "signatures",
        "apt-hook",
    ] {
        assert!(script.contains(sub), "completion for {sub}");
        // roff writes a name's hyphen as `\-`.
        assert!(
            page.contains(&sub.replace('-', "\\-")),
            "soclash.1 names {sub}"
        );
        assert!(
            dir.path().join(format!("man/soclash-{sub}.1")).is_file(),
            "soclash-{sub}.1"
        );
    }
    assert!(
        !page.contains("generate"),
        "the packaging helper stays out of the man page"
    );
    // No page for `help` subcommands: 12 pages, one per command.
    let mut pages: Vec<String> = std::fs::read_dir(dir.path().join("man"))
        .expect("man")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert!(pages.iter().all(|p| !p.contains("help")), "{pages:?}");
    assert_eq!(pages.len(), 12, "{pages:?}");
    // Rendered by man(1) (man-db, which .ci/deps installs), the pages a
    // sysadmin reads first have the sections they look for.
    let render = |page: &str| {
        let out = Std::new("man")
            .args(["-l", "-P", "cat"])
            .arg(dir.path().join("man").join(page))
            .env("MANWIDTH", "100")
            .output()
            .expect("man-db's man is needed (.ci/deps installs it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for page in ["soclash.1", "soclash-scan.1"] {
        let text = render(page);
        for section in [
            "NAME",
            "SYNOPSIS",
            "OPTIONS",
            "EXIT STATUS",
            "EXAMPLES",
            "ENVIRONMENT",
            "FILES",
        ] {
            assert!(
                text.lines().any(|l| l.trim_end() == section),
                "{page}: no {section} section:\n{text}"
            );
        }
    }
    for page in ["soclash-diff.1", "soclash-fleet.1", "soclash-deps.1"] {
        let text = render(page);
        assert!(
            text.contains("EXIT STATUS") && text.contains("EXAMPLES"),
            "{page}:\n{text}"
        );
    }
    let scan = render("soclash-scan.1");
    assert!(scan.contains("--fail-on high:certain"), "{scan}");
}
