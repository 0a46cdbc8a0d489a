//! soclash's private temporary directory, where `--overlay-deb` packages
//! are unpacked: the one place on the auditing host soclash writes to.
//!
//! It is `soclash-PID-XXXXXX` under `$TMPDIR` (else `/tmp`), mode 0700, and
//! removed on every way out: when dropped (normal exit, error, panic), on
//! SIGINT or SIGTERM ([`stop`], called by the binary's signal thread), and,
//! for a run that was SIGKILLed or lost its machine, by the next run that
//! makes one ([`Scratch::new`] sweeps directories whose process is gone).
//!
//! Writers take [`writing`] around each change, so a signal never races an
//! unpack that would recreate what [`stop`] just removed.

use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The live temporary directories of this process.
static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Set once a signal asked soclash to stop: no more writes.
static STOPPING: AtomicBool = AtomicBool::new(false);

fn dirs() -> MutexGuard<'static, Vec<PathBuf>> {
    DIRS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The private temporary directory; removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    dir: Option<tempfile::TempDir>,
}

impl Scratch {
    /// Sweeps what killed runs left behind, then makes this run's directory.
    pub fn new() -> io::Result<Scratch> {
        let tmp = std::env::temp_dir();
        sweep(&tmp);
        let mut live = writing()?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("soclash-{}-", std::process::id()))
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(&tmp)?;
        live.push(dir.path().to_path_buf());
        Ok(Scratch { dir: Some(dir) })
    }

    pub fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .map_or(Path::new("/nonexistent"), |d| d.path())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let mut live = dirs();
        if let Some(dir) = self.dir.take() {
            live.retain(|p| p != dir.path());
            // std's remove_dir_all never follows a symlink inside.
            let _ = dir.close();
        }
    }
}

/// Holds off [`stop`] while the caller writes into a temporary directory;
/// fails once soclash is stopping.
pub fn writing() -> io::Result<MutexGuard<'static, Vec<PathBuf>>> {
    let guard = dirs();
    if STOPPING.load(Ordering::SeqCst) {
        return Err(stopped());
    }
    Ok(guard)
}

/// Whether a signal is ending soclash (and [`stop`] has run or is running).
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

fn stopped() -> io::Error {
    io::Error::other("stopped by a signal")
}

/// Removes every temporary directory of this process and lets no writer
/// start again; for the signal thread, before the process ends.
pub fn stop() {
    STOPPING.store(true, Ordering::SeqCst);
    let mut live = dirs();
    for dir in live.drain(..) {
        let _ = std::fs::remove_dir_all(dir);
    }
    // The lock stays held: nothing may write from here on.
    std::mem::forget(live);
}

/// A reader that fails once soclash is stopping, so a long copy into the
/// temporary directory ends within one buffer.
pub struct Stoppable<R>(pub R);

impl<R: Read> Read for Stoppable<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if STOPPING.load(Ordering::SeqCst) {
            return Err(stopped());
        }
        self.0.read(buf)
    }
}

/// Removes `soclash-PID-*` directories in `tmp` whose process is gone and
/// that are soclash's: real directories (not symlinks) of this user with
/// mode 0700. Without `/proc` no process can be known gone: none is removed.
fn sweep(tmp: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(list) = std::fs::read_dir(tmp) else {
        return;
    };
    let uid = rustix::process::geteuid().as_raw();
    for e in list.flatten() {
        let name = e.file_name();
        let Some(pid) = owner_pid(name.as_encoded_bytes()) else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let path = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.file_type().is_dir() && meta.uid() == uid && meta.mode() & 0o7777 == 0o700 {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// The PID in a `soclash-PID-SUFFIX` name.
fn owner_pid(name: &[u8]) -> Option<u32> {
    let rest = name.strip_prefix(b"soclash-")?;
    let dash = rest.iter().position(|&b| b == b'-')?;
    let (digits, suffix) = (&rest[..dash], &rest[dash + 1..]);
    if digits.is_empty() || suffix.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pids_are_read_from_soclash_names_only() {
        assert_eq!(owner_pid(b"soclash-123-abc"), Some(123));
        assert_eq!(owner_pid(b"soclash-123-"), None);
        assert_eq!(owner_pid(b"soclash--abc"), None);
        assert_eq!(owner_pid(b"soclash-x1-abc"), None);
        assert_eq!(owner_pid(b"soclash-overlay-abc"), None);
        assert_eq!(owner_pid(b"other-123-abc"), None);
        assert_eq!(owner_pid(b"soclash-99999999999-abc"), None);
    }
}
