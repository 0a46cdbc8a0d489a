//! The terminal view as a person sees it: `soclash scan`, `image` and
//! `explain` run in a real terminal (tmux) of 40, 80 and 200 columns, and
//! the screen is kept as an insta snapshot to review. No word is split
//! across lines at any width: every word on the screen is one of the same
//! output drawn 400 columns wide, or one shortened with an ellipsis on
//! purpose. The roots are copied to a fixed path first so the `root` line
//! is the same on every checkout; the CPU level is fixed so the header is
//! the same on every machine. Colour: on a terminal unless `NO_COLOR` is
//! set, never off one.

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
pub(crate) fn screen(width: u16, env: &[(&str, &str)], args: &[String], escapes: bool) -> String {
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
    model_args("scan", root, extra)
}

fn model_args(command: &str, root: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [command, "--cpu-level", "3", "--format", "table", "--root"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    a.push(root.display().to_string());
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// The same command's output off a terminal, `COLUMNS` wide: wide enough
/// that nothing is wrapped or shortened.
fn piped(width: u16, args: &[String]) -> String {
    let out = Command::new(SOCLASH)
        .args(args)
        .env("COLUMNS", width.to_string())
        .env_remove("NO_COLOR")
        .output()
        .expect("soclash runs");
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The words of a screen: what lies between spaces and box-drawing lines,
/// a label's colon left out (a record's `object:` is the table's
/// `object`).
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| c.is_whitespace() || ('\u{2500}'..='\u{257f}').contains(&c))
        .map(|w| w.strip_suffix(':').unwrap_or(w))
        .filter(|w| !w.is_empty())
        .collect()
}

/// The words of `narrow` that are not words of `wide`: a word split
/// across lines, unless it was shortened on purpose (each `…` standing
/// for a part of one word of `wide`, the rest of it kept in order).
fn split_words<'a>(narrow: &'a str, wide: &str) -> Vec<&'a str> {
    let whole: std::collections::BTreeSet<&str> = words(wide).into_iter().collect();
    words(narrow)
        .into_iter()
        .filter(|w| !(whole.contains(w) || w.contains('…') && whole.iter().any(|u| elides(w, u))))
        .collect()
}

/// Whether `short` is `word` with parts of it replaced by `…`.
fn elides(short: &str, word: &str) -> bool {
    let pieces: Vec<&str> = short.split('…').collect();
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if word == short
        || word.len() < first.len() + last.len()
        || !word.starts_with(first)
        || !word.ends_with(last)
    {
        return false;
    }
    let mut rest = &word[first.len()..word.len() - last.len()];
    for p in &pieces[1..pieces.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

#[test]
fn split_words_are_found() {
    let wide = "│ python-extension ┆ /usr/lib/python3.11/readline.so │";
    assert!(split_words("│ python-ext ┆\n│ ension ┆", wide).contains(&"python-ext"));
    assert!(split_words("python-extension: /usr/…/readline.so", wide).is_empty());
    assert_eq!(split_words("/usr/…/other.so", wide), ["/usr/…/other.so"]);
    assert!(split_words("…/read…e.so", wide).is_empty());
    assert_eq!(split_words("…/other…e.so", wide), ["…/other…e.so"]);
}

/// Every screen at 40, 80 and 200 columns: lines within the width, no word
/// split, and the snapshot.
#[test]
fn the_table_in_40_80_and_200_columns() {
    let clash = fixed_copy("bind/sig-libedit-vs-libreadline-pos/root", "libedit-pos");
    let clean = fixed_copy("bind/sig-libedit-vs-libreadline-neg/root", "libedit-neg");
    let debian = fixed_copy("scan/debian/root", "debian");
    let screens = [
        ("clash", scan_args(&clash, &[])),
        ("clash-verbose", scan_args(&clash, &["-v"])),
        ("clean", scan_args(&clean, &[])),
        ("inventory", scan_args(&debian, &[])),
        ("image", model_args("image", &clash, &[])),
        (
            "explain",
            model_args("explain", &clash, &["rl_line_buffer"]),
        ),
    ];
    let mut failures = Vec::new();
    for (name, args) in &screens {
        let wide = piped(400, args);
        assert!(
            wide.contains('┆'),
            "{name}: no table at 400 columns:\n{wide}"
        );
        for width in [40u16, 80, 200] {
            let text = screen(width, &[], args, false);
            for line in text.lines() {
                assert!(
                    line.chars().count() <= usize::from(width),
                    "{name}: line wider than {width}: {line}"
                );
            }
            // The screen less the shell's `[exit N]` the session adds.
            let drawn = text.rsplit_once("[exit ").map_or(text.as_str(), |(d, _)| d);
            let split = split_words(drawn, &wide);
            if !split.is_empty() {
                failures.push(format!("{name} at {width} columns: {split:?}\n{text}"));
            }
            insta::assert_snapshot!(format!("{name}-{width}"), text);
        }
    }
    assert!(failures.is_empty(), "words split:\n{}", failures.join("\n"));
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
