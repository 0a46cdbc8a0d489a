//! What any daemon is started with, read from files alone: the service
//! manager's settings (systemd units, their drop-ins, `EnvironmentFile=`s
//! and the manager's own `DefaultEnvironment=`), env files, the POSIX sh
//! start-up scripts a distribution sources before starting a daemon
//! (interpreted, never run) and `/etc/ld.so.preload`. Nothing here knows a
//! particular daemon: `host::apache` names httpd's units, files and start-up
//! script and puts these pieces together.

use std::path::{Path, PathBuf};

use crate::budget::{self, SERVICE_FILES};
use crate::root::Root;

pub(crate) mod envfile;
pub(crate) mod preload;
pub(crate) mod sh;
pub(crate) mod systemd;

/// What reading a service's files came across: every file read, in order,
/// and what could not be read or interpreted there (`file:line` or path,
/// reason), in the order met.
#[derive(Debug, Default)]
pub(crate) struct Log {
    pub(crate) sources: Vec<PathBuf>,
    pub(crate) errors: Vec<(PathBuf, String)>,
}

impl Log {
    /// A file of the service, within [`SMALL_FILE`](budget::SMALL_FILE):
    /// listed among the sources once read; what keeps it from being read
    /// is an error entry at its path.
    pub(crate) fn read(&mut self, root: &Root, path: &Path) -> Option<Vec<u8>> {
        match root.read(path, budget::named!(SMALL_FILE)) {
            Ok(bytes) => {
                self.sources.push(path.to_path_buf());
                Some(bytes)
            }
            Err(e) => {
                self.errors
                    .push((path.to_path_buf(), format!("cannot read: {e}")));
                None
            }
        }
    }

    /// Whether [`SERVICE_FILES`] files were read for the service, with
    /// `patterns` `EnvironmentFile=` globs looked at (reported once, at `at`):
    /// the unit's drop-ins and globs could otherwise bring any number of
    /// files.
    pub(crate) fn files_spent(&mut self, at: &Path, patterns: usize) -> bool {
        if self.sources.len() + patterns < SERVICE_FILES {
            return false;
        }
        let text = format!(
            "{}: the rest of the service's files are not read",
            budget::exceeded("SERVICE_FILES", SERVICE_FILES)
        );
        if !self.errors.iter().any(|(_, e)| *e == text) {
            self.errors.push((at.to_path_buf(), text));
        }
        true
    }
}

/// A valid environment variable name (systemd's `env_name_is_valid`, bash
/// names).
pub(crate) fn env_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

pub(crate) fn split_ws(s: &str) -> Vec<String> {
    s.split_ascii_whitespace().map(str::to_string).collect()
}
