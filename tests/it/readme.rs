//! The README's examples are the output of the commands they show: each
//! fenced block after a `<!-- example: NAME -->` comment is compared with
//! what the command prints today, run on a sample root copied to a fixed
//! path (`/tmp/soclash-readme/NAME`) in a 100-column terminal (tmux, as a
//! person runs it; `deps` off one, as it prints no table). A block that
//! drifts fails here; `SOCLASH_README_UPDATE=1` writes the new output into
//! README.md instead, to be reviewed in the diff. A block whose command
//! another test runs (apt with the hook: `ELSEWHERE`) is checked there,
//! through `check_block`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{SOCLASH, repo, sample_roots};
use crate::table_tmux::screen;

/// Where the examples' roots are copied: the path their output shows.
const BASE: &str = "/tmp/soclash-readme";
/// The terminal the examples are shown in.
const WIDTH: u16 = 100;

/// `rel` (a sample root) copied to `BASE/name`, afresh.
fn copy(rel: &str, name: &str) -> PathBuf {
    let from = sample_roots().join(rel);
    assert!(
        from.is_dir(),
        "{} missing: run `make sample-libs`",
        from.display()
    );
    let to = Path::new(BASE).join(name);
    let _ = std::fs::remove_dir_all(&to);
    std::fs::create_dir_all(BASE).expect("mkdir");
    let ok = Command::new("cp")
        .args(["-a", "--"])
        .arg(&from)
        .arg(&to)
        .status()
        .expect("cp runs");
    assert!(ok.success(), "cp -a {} failed", from.display());
    to
}

/// The example blocks of `readme`: (name, the block's lines between the
/// fences, the byte range of those lines).
fn blocks(readme: &str) -> Vec<(String, String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = readme[at..].find("<!-- example: ") {
        let start = at + i;
        let name_end = start + readme[start..].find(" -->").expect("marker closed");
        let name = readme[start + "<!-- example: ".len()..name_end].to_string();
        let fence = name_end
            + readme[name_end..]
                .find("```console\n")
                .expect("a console block after the marker");
        let body = fence + "```console\n".len();
        let end = body + readme[body..].find("```\n").expect("block closed");
        out.push((name, readme[body..end].to_string(), body..end));
        at = end;
    }
    out
}

/// A command line as the block shows it, and its output: `$ soclash …`,
/// then what it printed, then `$ echo $?` and the exit status when
/// `status`.
fn example(args: &[&str], tmux: bool, status: bool) -> String {
    let shown = format!("$ soclash {}\n", args.join(" "));
    let (text, code) = if tmux {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let screen = screen(WIDTH, &[("NO_COLOR", "1")], &args, false);
        let (text, exit) = screen.rsplit_once("[exit ").expect("exit marker");
        let code = exit.trim_end_matches(']').trim().to_string();
        (text.trim_end().to_string(), code)
    } else {
        let out = Command::new(SOCLASH)
            .args(args)
            .env("COLUMNS", WIDTH.to_string())
            .output()
            .expect("soclash runs");
        let code = out.status.code().map_or("signal".into(), |c| c.to_string());
        (
            String::from_utf8(out.stdout)
                .expect("UTF-8")
                .trim_end()
                .to_string(),
            code,
        )
    };
    let mut block = format!("{shown}{text}\n");
    if status {
        block.push_str(&format!("$ echo $?\n{code}\n"));
    }
    block
}

/// Blocks another test writes, as it runs what they show: (name, where).
const ELSEWHERE: &[(&str, &str)] = &[("apt-hook", "tests/it/apt_hook.rs")];

/// README.md is read and rewritten by more than one test.
static README: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn update() -> bool {
    std::env::var_os("SOCLASH_README_UPDATE").is_some_and(|v| v == "1")
}

/// The example block `name` of README.md against `now`, what the test
/// that runs it saw: both through `normalise`, which masks only what
/// differs from run to run (timings, temporary paths, versions). With
/// `SOCLASH_README_UPDATE=1`, `now` is written into README.md instead.
pub(crate) fn check_block(name: &str, now: &str, normalise: impl Fn(&str) -> String) {
    let _lock = README.lock().unwrap_or_else(|e| e.into_inner());
    let path = repo().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let found = blocks(&readme);
    let Some((_, shown, range)) = found.iter().find(|(n, _, _)| n == name) else {
        panic!("README.md has no example {name:?}");
    };
    if update() {
        let mut updated = readme.clone();
        updated.replace_range(range.clone(), now);
        std::fs::write(&path, updated).expect("write README.md");
        return;
    }
    let (shown_n, now_n) = (normalise(shown), normalise(now));
    assert!(
        shown_n == now_n,
        "README.md's example {name:?} drifted from what the command prints (SOCLASH_README_UPDATE=1 writes it):\n--- README.md (normalised)\n{shown_n}+++ now (normalised)\n{now_n}"
    );
}

/// Removes the copied roots however the test ends.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(BASE);
    }
}

#[test]
fn the_readme_examples_are_what_the_commands_print() {
    let _cleanup = Cleanup;
    let web01 = copy("bind/sig-libedit-vs-libreadline-pos/root", "web01");
    let web02 = copy("bind/sig-libedit-vs-libreadline-neg/root", "web02");
    // An overlay that enables PHP's readline extension for Apache, as
    // `phpenmod -s apache2 readline` would.
    let overlay = Path::new(BASE).join("readline-enabled");
    let _ = std::fs::remove_dir_all(&overlay);
    let conf = overlay.join("etc/php/8.2/apache2/conf.d");
    std::fs::create_dir_all(&conf).expect("mkdir");
    std::fs::copy(
        web01.join("etc/php/8.2/apache2/conf.d/20-readline.ini"),
        conf.join("20-readline.ini"),
    )
    .expect("copy the ini");
    let (web01, web02, overlay) = (
        web01.display().to_string(),
        web02.display().to_string(),
        overlay.display().to_string(),
    );
    let expected = |name: &str| -> String {
        match name {
            "scan" => example(&["scan", "--cpu-level", "3", "--root", &web01], true, true),
            "explain" => example(
                &[
                    "explain",
                    "--root",
                    &web01,
                    "--process",
                    "apache",
                    "rl_line_buffer",
                ],
                true,
                false,
            ),
            "image" => example(&["image", "--root", &web01], true, false),
            "whatif" => example(
                &[
                    "scan",
                    "--cpu-level",
                    "3",
                    "--root",
                    &web02,
                    "--overlay",
                    &overlay,
                ],
                true,
                true,
            ),
            "deps" => example(
                &[
                    "deps",
                    "--root",
                    &web01,
                    "/usr/lib/php/20220829/readline.so",
                ],
                false,
                false,
            ),
            other => panic!("README.md: no command for the example {other:?}"),
        }
    };

    let _lock = README.lock().unwrap_or_else(|e| e.into_inner());

    let path = repo().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let found = blocks(&readme);
    let names: Vec<&str> = found.iter().map(|(n, _, _)| n.as_str()).collect();
    let elsewhere = ELSEWHERE.iter().map(|(n, _)| *n);
    for want in ["scan", "explain", "image", "whatif", "deps"]
        .into_iter()
        .chain(elsewhere)
    {
        assert!(
            names.contains(&want),
            "README.md has no example {want:?}: {names:?}"
        );
    }
    let update = update();
    let mut updated = readme.clone();
    let mut drifted = Vec::new();
    // From the end, so the earlier ranges stay valid.
    for (name, shown, range) in found.iter().rev() {
        if ELSEWHERE.iter().any(|(n, _)| n == name) {
            continue;
        }
        let now = expected(name);
        if *shown != now {
            drifted.push(format!("--- README.md ({name})\n{shown}+++ now\n{now}"));
            updated.replace_range(range.clone(), &now);
        }
    }
    if update {
        std::fs::write(&path, updated).expect("write README.md");
        return;
    }
    assert!(
        drifted.is_empty(),
        "README.md's examples drifted from what the commands print (SOCLASH_README_UPDATE=1 writes them):\n{}",
        drifted.join("\n")
    );
}
