//! `/etc/ld.so.preload`, which ld.so reads at the start of every process.

use std::path::Path;

use crate::host::text::lossy;
use crate::root::Root;

use super::Log;

/// `/etc/ld.so.preload` as rtld.c reads it: `#` starts a comment anywhere,
/// names are separated by spaces, tabs, newlines and colons, a NUL ends it.
/// The names in order: ld.so preloads them into every process, after
/// `LD_PRELOAD`.
pub(crate) fn read_ld_so_preload(root: &Root, log: &mut Log) -> Vec<String> {
    let mut names = Vec::new();
    let path = Path::new("/etc/ld.so.preload");
    if root.symlink_kind(path).is_none() {
        return names;
    }
    let Some(bytes) = log.read(root, path) else {
        return names;
    };
    let bytes = bytes.split(|&c| c == 0).next().unwrap_or_default();
    for line in bytes.split(|&c| c == b'\n') {
        let line = line.split(|&c| c == b'#').next().unwrap_or_default();
        for name in line.split(|&c| matches!(c, b' ' | b'\t' | b':')) {
            if !name.is_empty() {
                names.push(lossy(name));
            }
        }
    }
    names
}
