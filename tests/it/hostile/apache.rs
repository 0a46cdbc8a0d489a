//! Hostile apache input (issue 13): configurations whose include work,
//! error count or memory would grow without bound, each in a minimal
//! Debian-like root (`/usr/sbin/apache2` and `/etc/apache2/apache2.conf`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::harness::{self, DEADLINE, Run};

use crate::common::tempdir;

/// Largest report a hostile configuration may produce.
const MAX_REPORT: usize = 1 << 20;

/// A root the scan takes for a Debian Apache host, in `dir/root`; its
/// configuration is `conf`.
fn debian_root(dir: &Path, conf: &[u8]) -> PathBuf {
    let root = dir.join("root");
    fs::create_dir_all(root.join("usr/sbin")).unwrap();
    fs::create_dir_all(root.join("etc/apache2")).unwrap();
    fs::copy("/usr/bin/true", root.join("usr/sbin/apache2")).unwrap();
    fs::write(root.join("etc/apache2/apache2.conf"), conf).unwrap();
    root
}

fn scan(dir: &Path, root: &Path) -> Run {
    let root = root.to_str().unwrap();
    harness::run(
        dir,
        &["scan", "--root", root, "--format", "yaml"],
        &[],
        DEADLINE,
    )
}

/// Ends by itself within the deadline and memory, names `budget`, and says
/// it in under [`MAX_REPORT`] bytes.
fn assert_contained(run: &Run, budget: &str) {
    eprintln!(
        "{budget}: {:.1} s, {} MB, report {} bytes",
        run.secs,
        run.peak_rss_mb,
        run.stdout.len()
    );
    run.assert_bounded(DEADLINE);
    run.assert_names_budget(budget);
    assert!(
        run.stdout.len() < MAX_REPORT,
        "report of {} bytes",
        run.stdout.len()
    );
}

/// `Include /etc/apache2/x/` where x is d0 and each d<i> holds two links
/// to d<i+1>: the paths double at each level, and httpd would follow them
/// all (it has no loop check but the nesting level).
fn symlink_fan_out(depth: usize) {
    let t = tempdir();
    let root = debian_root(t.path(), b"Include /etc/apache2/x/\n");
    let etc = root.join("etc/apache2");
    for i in 0..=depth {
        fs::create_dir(etc.join(format!("d{i}"))).unwrap();
    }
    std::os::unix::fs::symlink("d0", etc.join("x")).unwrap();
    for i in 0..depth {
        for l in ["l1", "l2"] {
            let next = format!("../d{}", i + 1);
            std::os::unix::fs::symlink(next, etc.join(format!("d{i}/{l}"))).unwrap();
        }
    }
    let run = scan(t.path(), &root);
    assert_contained(&run, "APACHE_INCLUDE_WORK");
}

#[test]
fn symlink_fan_out_depth_18() {
    symlink_fan_out(18);
}

#[test]
fn symlink_fan_out_depth_40() {
    symlink_fan_out(40);
}

/// 100,000 `IncludeOptional` globs over a directory of 1,000 names that
/// none matches: 10^8 names looked at.
#[test]
fn include_optional_globs() {
    let t = tempdir();
    let mut conf = Vec::new();
    for _ in 0..100_000 {
        conf.extend_from_slice(b"IncludeOptional /etc/apache2/many/*.conf\n");
    }
    let root = debian_root(t.path(), &conf);
    let many = root.join("etc/apache2/many");
    fs::create_dir(&many).unwrap();
    for i in 0..1000 {
        fs::write(many.join(format!("f{i}.txt")), b"").unwrap();
    }
    let run = scan(t.path(), &root);
    assert_contained(&run, "APACHE_INCLUDE_WORK");
}

/// 3 million `Include`s of files that do not exist, in four files just
/// under the size budget: each is an error httpd would stop at.
#[test]
fn failing_includes() {
    let t = tempdir();
    let root = debian_root(t.path(), b"Include /etc/apache2/conf.d/*.conf\n");
    let conf_d = root.join("etc/apache2/conf.d");
    fs::create_dir(&conf_d).unwrap();
    for k in 0..4 {
        let mut f =
            std::io::BufWriter::new(fs::File::create(conf_d.join(format!("{k}.conf"))).unwrap());
        for i in 0..750_000 {
            writeln!(f, "Include /m/{k}{i:06}").unwrap();
        }
        f.flush().unwrap();
    }
    let run = scan(t.path(), &root);
    assert_contained(&run, "APACHE_INCLUDE_WORK");
    run.assert_names_budget("ERRORS_PER_FILE");
    // One "and N more" entry, for the one file read, right after its
    // ERRORS_PER_FILE errors.
    let lines: Vec<&str> = run.stdout.lines().collect();
    let more: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains("budget exceeded: ERRORS_PER_FILE"))
        .collect();
    assert_eq!(
        more.len(),
        1,
        "{}",
        &run.stdout[..run.stdout.len().min(8000)]
    );
    assert!(
        lines[more[0] - 1].contains("/etc/apache2/conf.d/0.conf:21"),
        "{}",
        lines[more[0] - 1]
    );
    let listed = lines
        .iter()
        .filter(|l| l.contains("Could not open configuration file /m/"))
        .count();
    assert_eq!(listed, 20, "{}", &run.stdout[..run.stdout.len().min(8000)]);
}

/// 16 MiB of one-word lines: the lines of a file cost no more memory than
/// the file (they took 557 MB).
#[test]
fn short_lines() {
    let t = tempdir();
    let conf = b"a\n".repeat((16 << 20) / 2 - 1);
    let root = debian_root(t.path(), &conf);
    let run = scan(t.path(), &root);
    eprintln!("short lines: {:.1} s, {} MB", run.secs, run.peak_rss_mb);
    run.assert_bounded(DEADLINE);
    assert!(run.peak_rss_mb < 200, "peak RSS {} MB", run.peak_rss_mb);
}

/// Two million nested sections, then two million directives inside them:
/// each directive's context was copied from every open section.
#[test]
fn nested_sections() {
    let t = tempdir();
    let mut conf = b"<a>\n".repeat(2_000_000);
    conf.extend_from_slice(&b"x\n".repeat(2_000_000));
    let root = debian_root(t.path(), &conf);
    let run = scan(t.path(), &root);
    assert_contained(&run, "APACHE_SECTION_DEPTH");
}

/// An `Include` path of 500,000 components recursed once per component.
#[test]
fn long_include_path() {
    let t = tempdir();
    let mut conf = b"Include ".to_vec();
    conf.extend_from_slice(&b"/a".repeat(500_000));
    conf.extend_from_slice(b"/*\n");
    let root = debian_root(t.path(), &conf);
    let run = scan(t.path(), &root);
    assert_contained(&run, "APACHE_PATH");
}

/// Four includes of a 16 MiB file of `<a>`/`</a>` lines, the costliest
/// lines to read.
#[test]
fn total_bytes() {
    let t = tempdir();
    let root = debian_root(t.path(), &b"Include /etc/apache2/x.conf\n".repeat(4));
    fs::write(
        root.join("etc/apache2/x.conf"),
        b"<a>\n</a>\n".repeat((16 << 20) / 9),
    )
    .unwrap();
    let run = scan(t.path(), &root);
    assert_contained(&run, "APACHE_TOTAL_BYTES");
}

/// `envvars`, which the scan interprets for Debian's `apache2ctl`, with
/// `text`.
fn envvars_root(dir: &Path, text: &[u8]) -> PathBuf {
    let root = debian_root(dir, b"ServerName x\n");
    fs::write(root.join("etc/apache2/envvars"), text).unwrap();
    root
}

/// `A=$A$A` forty times: a value of 2^40 bytes.
#[test]
fn envvars_doubling() {
    let t = tempdir();
    let mut text = b"A=x\n".to_vec();
    text.extend_from_slice(&b"A=$A$A\n".repeat(40));
    let root = envvars_root(t.path(), &text);
    let run = scan(t.path(), &root);
    assert_contained(&run, "ENVVARS_VALUE");
}

/// 200,000 nested `if`s: each command looked at every open one.
#[test]
fn envvars_nesting() {
    let t = tempdir();
    let root = envvars_root(t.path(), &b"if :\n".repeat(200_000));
    let run = scan(t.path(), &root);
    assert_contained(&run, "ENVVARS_NESTING");
}

/// 250,000 pipelines, each an error entry (26 MB of report).
#[test]
fn envvars_errors() {
    let t = tempdir();
    let root = envvars_root(t.path(), &b"a|b\n".repeat(250_000));
    let run = scan(t.path(), &root);
    assert_contained(&run, "ERRORS_PER_FILE");
    let more = run
        .stdout
        .lines()
        .filter(|l| l.contains("budget exceeded: ERRORS_PER_FILE"))
        .count();
    assert_eq!(more, 1);
}

/// 2,000 `EnvironmentFile=` globs in the unit, each matching 100 files of
/// 100 KB: 20 GB to read.
#[test]
fn environment_files() {
    let t = tempdir();
    let root = debian_root(t.path(), b"ServerName x\n");
    let mut unit = b"[Service]\nExecStart=/usr/sbin/apache2 -k start\n".to_vec();
    unit.extend_from_slice(&b"EnvironmentFile=/etc/envs/*\n".repeat(2000));
    fs::create_dir_all(root.join("etc/systemd/system")).unwrap();
    fs::write(root.join("etc/systemd/system/apache2.service"), unit).unwrap();
    fs::create_dir(root.join("etc/envs")).unwrap();
    let mut env = Vec::new();
    for j in 0..1000 {
        writeln!(env, "V{j}={}", "x".repeat(90)).unwrap();
    }
    for i in 0..100 {
        fs::write(root.join(format!("etc/envs/e{i:03}")), &env).unwrap();
    }
    let run = scan(t.path(), &root);
    assert_contained(&run, "SERVICE_FILES");
}
