//! Running the soclash binary under a deadline and measuring what it cost.

#![allow(dead_code)] // each topic uses part of it

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Peak resident memory allowed to any hostile case.
pub const MAX_RSS_MB: u64 = 512;
/// Time allowed to any hostile case but the `.deb` bombs.
pub const DEADLINE: Duration = Duration::from_secs(20);
/// Time allowed to a `.deb` bomb.
pub const DEB_DEADLINE: Duration = Duration::from_secs(30);

/// How one run of soclash ended.
#[derive(Debug)]
pub struct Run {
    /// The exit code, `None` when a signal ended the process.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub secs: f64,
    pub peak_rss_mb: u64,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Run {
    /// Ended by itself with one of soclash's exit codes, within `deadline`
    /// and [`MAX_RSS_MB`].
    pub fn assert_bounded(&self, deadline: Duration) {
        assert!(!self.timed_out, "killed after {deadline:?}: {self:#?}");
        assert!(
            matches!(self.code, Some(0..=2)),
            "exit code {:?}, signal {:?}: {self:#?}",
            self.code,
            self.signal
        );
        assert!(
            self.secs <= deadline.as_secs_f64(),
            "{:.1} s > {deadline:?}",
            self.secs
        );
        assert!(
            self.peak_rss_mb <= MAX_RSS_MB,
            "peak RSS {} MB > {MAX_RSS_MB} MB",
            self.peak_rss_mb
        );
    }

    /// stdout and stderr together, for "names the budget" checks.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The run names `budget` (as `budget::exceeded` words it).
    pub fn assert_names_budget(&self, budget: &str) {
        let out = self.output();
        assert!(
            out.contains(&format!("budget exceeded: {budget}")),
            "no 'budget exceeded: {budget}' in:\n{}",
            &out[..out.len().min(4000)]
        );
    }
}

/// Runs soclash with `args` in `dir`, killing it after `deadline` (then
/// `timed_out`), with `env` added to its environment.
pub fn run(dir: &Path, args: &[&str], env: &[(&str, &str)], deadline: Duration) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_soclash"));
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("the soclash binary runs");
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let read_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let read_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(deadline).is_err() {
            // SAFETY: kill(2) on our own child's pid, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            true
        } else {
            false
        }
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child with valid out-pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    let secs = start.elapsed().as_secs_f64();
    let _ = done_tx.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    // The child was reaped by wait4; std must not wait for it again.
    std::mem::forget(child);
    let stdout = String::from_utf8_lossy(&read_out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&read_err.join().unwrap_or_default()).into_owned();
    let (code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else {
        (None, Some(libc::WTERMSIG(status)))
    };
    Run {
        code,
        signal,
        secs,
        peak_rss_mb: usage.ru_maxrss as u64 / 1024,
        stdout,
        stderr,
        timed_out,
    }
}

/// Every entry below `dir` with its kind, size and mode, for "nothing
/// outside changed" checks (symlinks by their target, never followed).
pub fn listing(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.expect("the canary tree is listable");
        let m = e.path().symlink_metadata().expect("lstat");
        let link = std::fs::read_link(e.path())
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        out.push(format!(
            "{} {:o} {} {}",
            e.path().display(),
            m.mode(),
            if m.is_dir() { 0 } else { m.len() },
            link
        ));
    }
    out
}
