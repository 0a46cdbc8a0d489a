//! The terminal view as a person sees it: `soclash scan`, `image`,
//! `explain`, `fleet`, `diff` and `signatures list` run in a real
//! terminal (tmux) of 40, 80 and 200 columns, and the screen is kept as
//! an insta snapshot to review. No word is split
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
        // From the start of the history: a long output scrolls.
        let mut a = vec!["capture-pane", "-p", "-J", "-S", "-"];
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

/// `args` run in terminals of 40, 80 and 200 columns: every line within
/// the width and no word split (against the same output 400 columns wide,
/// which must hold a table when `table`); each screen kept as the snapshot
/// `NAME-WIDTH` when `snapshot`. What is wrong goes into `failures`.
fn check_screens(
    name: &str,
    args: &[String],
    table: bool,
    snapshot: bool,
    failures: &mut Vec<String>,
) -> Vec<String> {
    let wide = piped(400, args);
    assert!(
        !table || wide.contains('┆'),
        "{name}: no table at 400 columns:\n{wide}"
    );
    let mut screens = Vec::new();
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
        if snapshot {
            insta::assert_snapshot!(format!("{name}-{width}"), text);
        }
        screens.push(text);
    }
    screens
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
        check_screens(name, args, true, true, &mut failures);
    }
    assert!(failures.is_empty(), "words split:\n{}", failures.join("\n"));
}

/// An archive at a fixed path, removed however the test ends.
struct Archive(PathBuf);

impl Drop for Archive {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The report of a real scan of the sample root `name` as host `host`
/// wrote it at `stamp` (`%Y%m%dT%H%M%SZ`) into `archive`; the tool line
/// fixed, so the view does not change with the catalogue's hash.
fn archived(archive: &Path, name: &str, host: &str, stamp: &str) -> PathBuf {
    let out = Command::new(SOCLASH)
        .args(["scan", "--cpu-level", "3", "--format", "yaml", "--root"])
        .arg(crate::common::bind_root(name))
        .output()
        .expect("soclash runs");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "scan {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let rfc = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &stamp[..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        &stamp[13..15]
    );
    let mut in_tool = false;
    let mut report = String::new();
    for l in text.lines() {
        if !l.starts_with(' ') {
            in_tool = l == "tool:";
        }
        let l = if in_tool && l.starts_with("  version:") {
            "  version: 0.1.0".to_string()
        } else if in_tool && l.starts_with("  signatures:") {
            "  signatures: the catalogue of this test".to_string()
        } else if l.starts_with("  hostname:") {
            format!("  hostname: {host}")
        } else if l.starts_with("  scanned_at:") {
            format!("  scanned_at: {rfc}")
        } else {
            l.to_string()
        };
        report.push_str(&l);
        report.push('\n');
    }
    let file = archive.join(host).join(format!("{stamp}.yaml"));
    std::fs::create_dir_all(file.parent().expect("host dir")).expect("mkdir");
    std::fs::write(&file, report).expect("report");
    file
}

/// The fleet view, a diff and the signature catalogue at 40, 80 and 200
/// columns: no word split, lines within the width; the fleet view kept as
/// snapshots (the catalogue changes with every signature, and the diff
/// shows the sample objects' build-ids, so those two are checked here
/// rather than kept).
#[test]
fn fleet_diff_and_signatures_in_40_80_and_200_columns() {
    let archive = Archive(PathBuf::from("/tmp/soclash-table-roots/archive"));
    let a = &archive.0;
    let _ = std::fs::remove_dir_all(a);
    archived(
        a,
        "sig-libedit-vs-libreadline-pos",
        "web01",
        "20261030T060000Z",
    );
    let old = archived(
        a,
        "sig-pysqlite-cache-init-vs-mod-cache-neg",
        "web02.example.org",
        "20261025T060000Z",
    );
    let new = archived(
        a,
        "sig-pysqlite-cache-init-vs-mod-cache-pos",
        "web02.example.org",
        "20261030T060000Z",
    );
    archived(
        a,
        "sig-libedit-vs-libreadline-neg",
        "db01",
        "20261001T060000Z",
    );
    let arg = |p: &Path| p.display().to_string();
    let fleet: Vec<String> = ["fleet", "--at", "2026-11-02"]
        .iter()
        .map(|s| s.to_string())
        .chain([arg(a)])
        .collect();
    let diff: Vec<String> = vec!["diff".into(), arg(&old), arg(&new)];
    let signatures: Vec<String> = vec!["signatures".into(), "list".into()];
    let mut failures = Vec::new();
    let fleet_screens = check_screens("fleet", &fleet, true, true, &mut failures);
    let diff_screens = check_screens("diff", &diff, false, false, &mut failures);
    let sig_screens = check_screens("signatures", &signatures, true, false, &mut failures);
    assert!(failures.is_empty(), "words split:\n{}", failures.join("\n"));
    // What each must show, at every width: the fleet's high finding, its
    // drift and stale host (32 days before --at); the diff's added
    // finding; every signature of the catalogue.
    for s in &fleet_screens {
        // Words as read, across wrapped lines.
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        for want in [
            "pysqlite-cache-init-vs-mod-cache",
            "libedit-vs-libreadline",
            "db01: newest report 20261001T060000Z (32 days old)",
        ] {
            assert!(s.contains(want), "fleet: no {want:?}:\n{s}");
        }
    }
    for s in &diff_screens {
        assert!(
            s.contains("added finding  high") && s.contains("pysqlite-cache-init-vs-mod-cache"),
            "diff:\n{s}"
        );
    }
    let ids = Command::new(SOCLASH)
        .args(["signatures", "list", "--format", "json"])
        .output()
        .expect("soclash runs");
    let ids: serde_json::Value = serde_json::from_slice(&ids.stdout).expect("JSON");
    let ids = ids.as_array().expect("a list");
    assert!(ids.len() > 10, "{ids:?}");
    for (s, width) in sig_screens.iter().zip([40, 80, 200]) {
        for id in ids {
            let id = id["id"].as_str().expect("id");
            // A record's `id: ` line; an id longer than that is shortened
            // (the split-word check above held it to one word of the
            // catalogue).
            if id.len() + "id: ".len() > width {
                continue;
            }
            assert!(
                s.lines().any(|l| l.split([' ', '│', '┆']).any(|w| w == id)),
                "signatures list: {id} missing or split:\n{s}"
            );
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
