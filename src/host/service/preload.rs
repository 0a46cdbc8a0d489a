//! `/etc/ld.so.preload`, which ld.so reads at the start of every process.

use std::path::Path;

use crate::budget;
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
    let bytes = match root.read(path, budget::named!(SMALL_FILE)) {
        Ok(b) => b,
        Err(e) => {
            log.errors
                .push((path.to_path_buf(), format!("cannot read: {e}")));
            return names;
        }
    };
    log.sources.push(path.to_path_buf());
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
