//! Running the soclash binary under a deadline and measuring what it cost.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::SOCLASH;

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

    /// The scan ran to its report: findings or not (0, 1), or, for a
    /// root with no web stack (what most hostile packages are laid over),
    /// exit 2 saying there was nothing to audit, never 2 for another
    /// reason.
    pub fn assert_scanned(&self) {
        let nothing = self.code == Some(2) && self.stderr.contains("nothing to audit");
        assert!(matches!(self.code, Some(0 | 1)) || nothing, "{self:#?}");
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
/// `timed_out`), with `env` added to its environment; its peak memory is
/// sampled every 5 ms.
pub fn run(dir: &Path, args: &[&str], env: &[(&str, &str)], deadline: Duration) -> Run {
    let mut cmd = Command::new(SOCLASH);
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
    // Polled, not waited for: the child's peak is its own VmHWM, sampled
    // until it ends. wait4's ru_maxrss would carry the test process's
    // memory at fork over into the child's figure.
    let mut status = 0;
    let mut peak_kb = 0u64;
    let mut timed_out = false;
    loop {
        // SAFETY: polling our own child with a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        assert_eq!(r, 0, "waitpid: {}", std::io::Error::last_os_error());
        peak_kb = peak_kb.max(vm_hwm_kb(pid));
        if !timed_out && start.elapsed() > deadline {
            // SAFETY: kill(2) on our own child's pid, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            timed_out = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let secs = start.elapsed().as_secs_f64();
    // The child was reaped by waitpid; std must not wait for it again.
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
        peak_rss_mb: peak_kb / 1024,
        stdout,
        stderr,
        timed_out,
    }
}

/// The high-water mark of a live process's resident memory, in KiB (0
/// once it has exited).
fn vm_hwm_kb(pid: libc::pid_t) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
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
