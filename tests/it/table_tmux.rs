//! The terminal view as a person sees it: `soclash scan` runs in a real
//! terminal (tmux) of 80 and 200 columns, and the screen is kept as an
//! insta snapshot to review. The roots are copied to a fixed path first so
//! the `root` line is the same on every checkout; the CPU level is fixed so
//! the header is the same on every machine. Colour: on a terminal unless
//! `NO_COLOR` is set, never off one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{SOCLASH, sample_roots};

/// Copies `rel` (a root under the sample roots) to a fixed path.
fn fixed_copy(rel: &str, name: &str) -> PathBuf {
    let from = sample_roots().join(rel);
    assert!(from.is_dir(), "{} missing", from.display());
    let to = Path::new("/tmp/soclash-table-roots").join(name);
    let _ = std::fs::remove_dir_all(&to);
    std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
    let ok = Command::new("cp")
        .args(["-a", "--"])
        .arg(&from)
        .arg(&to)
        .status()
        .expect("cp runs");
    assert!(ok.success(), "cp -a {} failed", from.display());
    to
}

fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(["-L", socket, "-f", "/dev/null"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("tmux is needed (.ci/run installs it): {e}"));
    assert!(
        out.status.success(),
        "tmux {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `soclash ARGS` in a `width`-column terminal; returns the screen,
/// with escape sequences when `escapes`.
fn screen(width: u16, env: &[(&str, &str)], args: &[String], escapes: bool) -> String {
    static SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let socket = format!("soclash-test-{}-{n}", std::process::id());
    let bin = SOCLASH;
    let mut command = String::from("env -u NO_COLOR -u COLUMNS TERM=xterm-256color");
    for (k, v) in env {
        command.push_str(&format!(" {k}={v}"));
    }
    command.push_str(&format!(" {bin}"));
    for a in args {
        command.push_str(&format!(" '{a}'"));
    }
    command.push_str("; echo '[exit '$?']'; sleep 60");
    tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-x",
            &width.to_string(),
            "-y",
            "120",
            &command,
        ],
    );
    let start = Instant::now();
    let mut capture = String::new();
    while start.elapsed() < Duration::from_secs(60) {
        let mut a = vec!["capture-pane", "-p", "-J"];
        if escapes {
            a.push("-e");
        }
        capture = tmux(&socket, &a);
        if capture.contains("[exit ") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("tmux")
        .args(["-L", &socket, "kill-server"])
        .status();
    assert!(
        capture.contains("[exit "),
        "soclash did not finish: {capture}"
    );
    capture.trim_end().to_string()
}

fn scan_args(root: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = ["scan", "--cpu-level", "3", "--format", "table", "--root"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    a.push(root.display().to_string());
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

#[test]
fn the_table_in_80_and_200_columns() {
    let clash = fixed_copy("bind/sig-libedit-vs-libreadline-pos/root", "libedit-pos");
    let clean = fixed_copy("bind/sig-libedit-vs-libreadline-neg/root", "libedit-neg");
    let debian = fixed_copy("scan/debian/root", "debian");
    for (name, root, extra) in [
        ("clash", &clash, &[][..]),
        ("clash-verbose", &clash, &["-v"][..]),
        ("clean", &clean, &[][..]),
        ("inventory", &debian, &[][..]),
    ] {
        for width in [80u16, 200] {
            let text = screen(width, &[], &scan_args(root, extra), false);
            for line in text.lines() {
                assert!(
                    line.chars().count() <= usize::from(width),
                    "{name}: line wider than {width}: {line}"
                );
            }
            insta::assert_snapshot!(format!("{name}-{width}"), text);
        }
    }
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    let clash = fixed_copy("bind/sig-libedit-vs-libreadline-pos/root", "colour");
    let args = scan_args(&clash, &[]);
    let coloured = screen(100, &[], &args, true);
    assert!(
        // The libedit clash is low: it needs Python's interactive readline.
        coloured.contains("\u{1b}[") && coloured.contains("low"),
        "no colour on a terminal: {coloured}"
    );
    let plain = screen(100, &[("NO_COLOR", "1")], &args, true);
    assert!(
        !plain.contains("\u{1b}[1m") && !plain.contains("\u{1b}[31m"),
        "colour despite NO_COLOR: {plain}"
    );
    // Off a terminal: never.
    let out = Command::new(SOCLASH)
        .args(&args)
        .env_remove("NO_COLOR")
        .output()
        .expect("soclash runs");
    assert!(
        !out.stdout.contains(&0x1b),
        "colour in a pipe: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
