//! musl's answers on x86-64, as its loader (ldso/dynlink.c,
//! `load_library`, `fixup_rpath`, `path_open`) decides: one loader file,
//! `/lib/ld-musl-x86_64.so.1`, that is also the C library; default
//! directories from `/etc/ld-musl-x86_64.path` under the loader's prefix,
//! else `/lib:/usr/local/lib:/usr/lib`; no cache, no `ldconfig`, no
//! subdirectories, and `$ORIGIN` the only dynamic string token.
//!
//! Its search *order* (`LD_LIBRARY_PATH`, then the RPATH-or-RUNPATH of the
//! requester and of each object up its chain of requesters, then the
//! default path) is [`crate::resolve::search`]'s, chosen by
//! [`Libc::search`].

use std::path::{Path, PathBuf};

use super::{Abi, CachePolicy, Libc, Search};
use crate::resolve::Cpu;
use crate::resolve::ldconfig::Emulated;
use crate::root::Root;

/// `Libc::name` of musl.
pub const NAME: &str = "musl";

/// The x86-64 loader, which is also `libc.so`: every musl program's
/// `PT_INTERP`.
pub const INTERPRETER: &str = "/lib/ld-musl-x86_64.so.1";

/// The search path when the path file is absent (`load_library`).
const DEFAULT_PATH: &[u8] = b"/lib:/usr/local/lib:/usr/lib";

/// The names musl's loader takes for itself (`load_library`'s `reserved`:
/// `lib` followed by one of these and a dot), whatever directory holds a
/// file of that name: a program linked against glibc's `libm.so.6` gets
/// musl's.
const RESERVED: &[&[u8]] = &[
    b"c.",
    b"pthread.",
    b"rt.",
    b"m.",
    b"dl.",
    b"util.",
    b"xnet.",
];

/// The musl build of one root.
#[derive(Debug, Clone)]
pub struct Musl {
    interpreter: PathBuf,
    dirs: Vec<PathBuf>,
    /// The path file, when it could not be read (see [`Libc::problems`]).
    problems: Vec<(PathBuf, String)>,
}

impl Musl {
    /// musl with `path_file`'s contents (`None`: the file is absent), as
    /// its loader reads them: elements separated by `:` or newlines, empty
    /// ones skipped (`path_open`).
    pub fn with_path_file(path_file: Option<&[u8]>) -> Musl {
        let text = path_file.unwrap_or(DEFAULT_PATH);
        let dirs = text
            .split(|&b| b == b':' || b == b'\n')
            .filter(|e| !e.is_empty())
            .map(|e| {
                use std::os::unix::ffi::OsStrExt;
                PathBuf::from(std::ffi::OsStr::from_bytes(e))
            })
            .collect();
        Musl {
            interpreter: PathBuf::from(INTERPRETER),
            dirs,
            problems: Vec::new(),
        }
    }

    /// The path file the loader at `interpreter` reads: `/etc/ld-musl-ARCH.path`
    /// under the directory above the one holding the loader (its "prefix":
    /// `/lib/ld-musl…` reads `/etc/…`, `/usr/lib/ld-musl…` reads `/usr/etc/…`).
    fn path_file(interpreter: &Path) -> PathBuf {
        let prefix = interpreter
            .parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("/"));
        prefix.join("etc/ld-musl-x86_64.path")
    }
}

impl Musl {
    /// [`Libc::detect`], callable where the trait is not in scope.
    pub fn detect_in(root: &Root) -> Option<Musl> {
        <Musl as Libc>::detect(root)
    }
}

/// Whether musl's loader answers `name` with itself.
pub fn is_reserved(name: &[u8]) -> bool {
    reserved_class(name).is_some()
}

/// Which of its reserved names `name` is (`libc.so` and `libc.so.6` are
/// both `c`): `ld-musl --list` prints one line per class, for the first
/// name of it asked for.
pub fn reserved_class(name: &[u8]) -> Option<usize> {
    let rest = name.strip_prefix(b"lib")?;
    RESERVED.iter().position(|r| rest.starts_with(r))
}

impl Libc for Musl {
    /// A root holding musl's x86-64 loader. The path file is read as the
    /// loader reads it: absent gives the default path, present but
    /// unreadable gives an empty one (`sys_path = ""`); one soclash does
    /// not read (over its budget, not a regular file) is an error entry
    /// and searched as empty too.
    fn detect(root: &Root) -> Option<Musl> {
        let interpreter = Path::new(INTERPRETER);
        root.kind(interpreter)?;
        let file = Musl::path_file(interpreter);
        Some(match root.read(&file, crate::budget::named!(SMALL_FILE)) {
            Ok(bytes) => Musl::with_path_file(Some(&bytes)),
            Err(e) if e.is_absent() => Musl::with_path_file(None),
            Err(e) => {
                let mut m = Musl::with_path_file(Some(b""));
                m.problems
                    .push((file, format!("{e}; searched as an empty path")));
                m
            }
        })
    }

    fn problems(&self) -> &[(PathBuf, String)] {
        &self.problems
    }

    /// musl-gcc's (`libc.so`) and Alpine's (`libc.musl-x86_64.so.1`).
    fn libc_sonames(&self) -> &[&'static str] {
        &["libc.so", "libc.musl-x86_64.so.1"]
    }

    fn name(&self) -> &'static str {
        NAME
    }

    /// musl's loader carries its version only in its usage text; not read.
    fn version(&self) -> Option<String> {
        None
    }

    fn abi(&self) -> Abi {
        Abi::X86_64
    }

    fn interpreter(&self) -> &Path {
        &self.interpreter
    }

    fn default_dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// musl expands no `$LIB` (a list holding it is dropped whole).
    fn dst_lib(&self) -> &str {
        ""
    }

    fn dst_platform(&self, _cpu: &Cpu) -> &'static str {
        ""
    }

    /// No subdirectories: the directory itself only.
    fn search_subdirs(&self, _cpu: &Cpu) -> Vec<String> {
        vec![String::new()]
    }

    fn ld_cache(&self, _cpu: &Cpu) -> Option<CachePolicy> {
        None
    }

    fn ldconfig(&self, _root: &Root) -> Option<Emulated> {
        None
    }

    fn search(&self) -> Search {
        Search::Musl
    }

    fn is_itself(&self, name: &[u8]) -> bool {
        is_reserved(name) || name == self.interpreter.as_os_str().as_encoded_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_are_the_loader() {
        for n in [
            "libc.so",
            "libc.so.6",
            "libm.so.6",
            "libpthread.so.0",
            "libdl.so.2",
        ] {
            assert!(is_reserved(n.as_bytes()), "{n}");
        }
        for n in ["libcrypto.so.3", "libmagic.so.1", "libc", "liba.so", "c.so"] {
            assert!(!is_reserved(n.as_bytes()), "{n}");
        }
    }

    #[test]
    fn path_file_split_on_colons_and_newlines() {
        let m = Musl::with_path_file(Some(b"/a:/b\n\n/c::\n"));
        assert_eq!(
            m.default_dirs(),
            [
                PathBuf::from("/a"),
                PathBuf::from("/b"),
                PathBuf::from("/c")
            ]
        );
        let d = Musl::with_path_file(None);
        assert_eq!(
            d.default_dirs(),
            [
                PathBuf::from("/lib"),
                PathBuf::from("/usr/local/lib"),
                PathBuf::from("/usr/lib")
            ]
        );
        assert_eq!(
            Musl::path_file(Path::new("/usr/lib/ld-musl-x86_64.so.1")),
            PathBuf::from("/usr/etc/ld-musl-x86_64.path")
        );
        assert_eq!(
            Musl::path_file(Path::new(INTERPRETER)),
            PathBuf::from("/etc/ld-musl-x86_64.path")
        );
    }
}
