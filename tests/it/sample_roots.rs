//! Oracle test: `soclash deps` against glibc's own loader on the sample
//! roots, and against musl's (`ld-musl-x86_64.so.1 --list`) on its Alpine
//! ones (`MUSL=1`).
//!
//! `make sample-libs` (sample-libs/Makefile, cases.sh) builds one small
//! sysroot per loader rule under `target/sample-roots/<case>/root` and records
//! what the real `ld.so` of this host prints for it when run inside that root
//! with chroot, the way `ldd` runs it (`expected.txt`, load addresses and
//! linux-vdso removed). This test runs `soclash deps --root` on every case and
//! requires the same lines in the same order. The cases and the rules they
//! exercise (L1-L14, C5-C11 of research/loader-model.md) are listed in
//! sample-libs/README.md.
//!
//! The expected output depends on this machine's CPU for the glibc-hwcaps
//! cases (their `case.env` records the level the loader used, passed on as
//! `--cpu-level`) and for `$PLATFORM`; it is regenerated on every machine.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use assert_cmd::Command;

use crate::common::sample_roots_dir;

/// One case directory: `case.env` (KEY=VALUE lines, `#` comments),
/// `expected.txt` and `root/`.
struct Case {
    dir: PathBuf,
    env: BTreeMap<String, String>,
}

impl Case {
    fn load(dir: PathBuf) -> Result<Case, String> {
        let manifest = dir.join("case.env");
        let text = fs::read_to_string(&manifest)
            .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
        let mut env = BTreeMap::new();
        for line in text.lines() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| format!("{}: not KEY=VALUE: {line:?}", manifest.display()))?;
            env.insert(key.to_owned(), value.to_owned());
        }
        if !env.contains_key("FILE") {
            return Err(format!("{}: no FILE=", manifest.display()));
        }
        Ok(Case { dir, env })
    }

    /// Runs soclash on the case; `Ok(())` when its output is the oracle's.
    fn check(&self) -> Result<(), String> {
        let expected_path = self.dir.join("expected.txt");
        let expected = fs::read_to_string(&expected_path).map_err(|e| {
            format!(
                "cannot read {}: {e} (incomplete case: run `make sample-libs`)",
                expected_path.display()
            )
        })?;
        let root = self.dir.join("root");
        let mut cmd = Command::cargo_bin("soclash").expect("the soclash binary is built for tests");
        cmd.arg("deps").arg("--root").arg(&root);
        if let Some(llp) = self.env.get("LD_LIBRARY_PATH") {
            cmd.arg("--ld-library-path").arg(llp);
        }
        if let Some(level) = self.env.get("CPU_LEVEL") {
            cmd.arg("--cpu-level").arg(level);
        }
        if let Some(preload) = self.env.get("PRELOAD") {
            cmd.arg("--preload").arg(preload);
        }
        cmd.arg(&self.env["FILE"]);
        let shown = format!("{cmd:?}");
        let output = cmd
            .output()
            .map_err(|e| format!("cannot run {shown}: {e}"))?;
        let got = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        // What ld.so wrote on its standard error: the same lines from
        // soclash, whose own diagnostics start with `soclash:`.
        let loader_stderr = || -> Result<String, String> {
            let path = self.dir.join("expected-stderr.txt");
            fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        };
        let got_stderr: String = stderr
            .lines()
            .filter(|l| !l.starts_with("soclash:"))
            .map(|l| format!("{l}\n"))
            .collect();
        if self.env.contains_key("FATAL") && self.env.contains_key("MUSL") {
            // musl lists on past what it cannot load, writes `Error
            // loading shared library` lines and exits 127; deps prints the
            // same list and lines and exits 2, as for ld.so's fatal cases.
            let oracle = loader_stderr()?;
            if output.status.code() == Some(2) && got == expected && got_stderr == oracle {
                return Ok(());
            }
            return Err(format!(
                "{shown}: musl's loader listed\n{}and wrote\n{oracle}; soclash: {}, listed\n{}and wrote\n{stderr}",
                visible(&expected),
                output.status,
                visible(&got)
            ));
        }
        if self.env.contains_key("FATAL") {
            // ld.so stops and lists nothing; soclash lists what it can,
            // names the file and reason, and ends with status 2.
            let oracle = loader_stderr()?;
            let cause = oracle
                .split_once("error while loading shared libraries: ")
                .map(|(_, c)| c.trim_end())
                .ok_or_else(|| format!("unexpected ld.so message: {oracle}"))?;
            if output.status.code() == Some(2) && stderr.contains(cause) {
                return Ok(());
            }
            return Err(format!(
                "{shown}: ld.so stopped with {cause:?}; soclash: {}, stderr {stderr}",
                output.status
            ));
        }
        let want_stderr = if self.env.contains_key("STDERR") {
            loader_stderr()?
        } else {
            String::new()
        };
        if got == expected && got_stderr == want_stderr {
            return Ok(());
        }
        let mut msg = String::new();
        let _ = writeln!(
            msg,
            "{}",
            self.env.get("DESCRIPTION").map_or("", String::as_str)
        );
        let _ = writeln!(msg, "command: {shown}");
        let _ = writeln!(msg, "status: {}", output.status);
        let _ = writeln!(msg, "--- expected (ld.so) ---\n{}", visible(&expected));
        let _ = writeln!(msg, "--- got (soclash) ---\n{}", visible(&got));
        let _ = writeln!(msg, "--- expected stderr (ld.so) ---\n{want_stderr}");
        if !stderr.is_empty() {
            let _ = writeln!(msg, "--- soclash stderr ---\n{stderr}");
        }
        Err(msg)
    }
}

/// Shows tabs and a missing final newline, which matter to the comparison.
fn visible(s: &str) -> String {
    let mut out = s.replace('\t', "\\t");
    if !s.is_empty() && !s.ends_with('\n') {
        out.push_str("[no newline at end]\n");
    }
    out
}

#[test]
fn deps_matches_ld_so_on_every_sample_root() {
    let base = sample_roots_dir();
    let entries = fs::read_dir(&base).unwrap_or_else(|e| {
        panic!(
            "sample roots missing at {} ({e}): run `make sample-libs` first \
             (as root: the oracle runs ld.so under chroot)",
            base.display()
        )
    });
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        // `scan/`, `image/` and `bind/` hold the sample hosts of
        // tests/scan_roots.rs, image_roots.rs and bind_oracle.rs, not cases.
        .filter(|e| {
            !["scan", "image", "bind"]
                .iter()
                .any(|n| e.file_name() == *n)
        })
        .map(|e| e.path())
        .collect();
    dirs.sort();
    assert!(
        !dirs.is_empty(),
        "no sample roots in {}: run `make sample-libs` first",
        base.display()
    );

    let total = dirs.len();
    let mut failures = Vec::new();
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Err(msg) = Case::load(dir).and_then(|case| case.check()) {
            failures.push((name, msg));
        }
    }

    let passed = total - failures.len();
    if !failures.is_empty() {
        let mut report = String::new();
        for (name, msg) in &failures {
            let _ = writeln!(report, "=== case {name} ===\n{msg}");
        }
        let names: Vec<&str> = failures.iter().map(|(n, _)| n.as_str()).collect();
        panic!(
            "{report}soclash deps differs from ld.so on {} of {total} sample roots \
             ({passed} pass): {}",
            failures.len(),
            names.join(", ")
        );
    }
    eprintln!("{passed}/{total} sample roots agree with ld.so");
}
