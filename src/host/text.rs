//! Byte strings as paths and text, shared by the readers of a host's
//! configuration (`apache`, `service`): none of them round-trips a file
//! name through UTF-8.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub(super) fn path_of(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

pub(super) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `file:line` for error entries, without a UTF-8 round trip.
pub(super) fn at(file: &Path, line: usize) -> PathBuf {
    let mut s = file.as_os_str().to_os_string();
    s.push(format!(":{line}"));
    PathBuf::from(s)
}

/// `apr_fnmatch_test`: `*` or `?`, or `[` with a later `]`; a backslash
/// quotes the next character.
pub(super) fn fnmatch_test(pattern: &[u8]) -> bool {
    let mut nesting = 0usize;
    let mut i = 0;
    while let Some(&c) = pattern.get(i) {
        match c {
            b'?' | b'*' => return true,
            b'\\' => {
                if pattern.get(i + 1).is_none() {
                    return false;
                }
                i += 1;
            }
            b'[' => nesting += 1,
            b']' if nesting > 0 => return true,
            _ => {}
        }
        i += 1;
    }
    false
}
