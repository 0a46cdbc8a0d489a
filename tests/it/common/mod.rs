//! What the integration tests share: where `make sample-libs` put the
//! sample roots, the soclash binary under test and running it, and fresh
//! temporary directories.

use std::path::{Path, PathBuf};

pub mod ld_debug;
pub mod strace;

/// The soclash binary under test (cargo builds it for the integration tests).
pub const SOCLASH: &str = env!("CARGO_BIN_EXE_soclash");

/// The repository: the crate's manifest directory.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where the sample roots are (`SOCLASH_SAMPLE_ROOTS`, else
/// target/sample-roots), unchecked: for the tests that name what is missing
/// themselves.
pub fn sample_roots_dir() -> PathBuf {
    std::env::var_os("SOCLASH_SAMPLE_ROOTS")
        .map_or_else(|| repo().join("target/sample-roots"), PathBuf::from)
}

/// The sample roots (`SOCLASH_SAMPLE_ROOTS`, else target/sample-roots).
pub fn sample_roots() -> PathBuf {
    let base = sample_roots_dir();
    assert!(
        base.is_dir(),
        "{} missing: run `make sample-libs`",
        base.display()
    );
    base
}

/// The root directory of one bind scenario or signature pair.
pub fn bind_root(name: &str) -> PathBuf {
    let r = sample_roots().join("bind").join(name).join("root");
    assert!(
        r.is_dir(),
        "{} missing: run `make sample-libs`",
        r.display()
    );
    r
}

/// A fresh temporary directory, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Runs soclash; (exit code, stdout, stderr).
pub fn soclash(args: &[&str]) -> (i32, String, String) {
    outcome(std::process::Command::new(SOCLASH).args(args))
}

/// Runs soclash in `dir`; (exit code, stdout, stderr).
pub fn soclash_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    outcome(
        std::process::Command::new(SOCLASH)
            .current_dir(dir)
            .args(args),
    )
}

fn outcome(cmd: &mut std::process::Command) -> (i32, String, String) {
    let out = cmd.output().expect("soclash runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A test path as an argument.
pub fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 test paths")
}

/// Runs an oracle or helper tool in `dir`, failing loudly when it is
/// missing (`.ci/run` installs it) or fails; its stdout.
pub fn run_in(dir: &Path, cmd: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} is needed (.ci/run installs it): {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
