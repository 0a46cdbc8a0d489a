//! The Python of a mod_wsgi linked against a static libpython (issue 16).
//!
//! Such a module needs no `libpythonX.Y.so`, so nothing in its load says
//! which interpreter it is or where that interpreter imports from; without
//! an answer the model would hold none of its extension modules, and the
//! clashes they take part in (`_ssl` and `_hashlib` against an OpenSSL
//! compiled into httpd, a database client) would go unseen on exactly the
//! source-built hosts that have them. The answer comes, in this order,
//! from the configured home (`python-home=`, `WSGIPythonHome`: what
//! `Py_SetPythonHome` makes `sys.prefix`), from the strings CPython
//! compiles into the interpreter (`PREFIX`, `EXEC_PREFIX` and the version
//! in `Modules/getpath.c`, the extension suffix of `Python/dynload_shlib.c`,
//! `PY_VERSION`), from a `python-path` entry that lies inside an
//! installation, and last from the root's one installation of that
//! version, a guess the process notes call one.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use bstr::ByteSlice;

use crate::budget;
use crate::host::{self, apache};
use crate::root::Root;

/// What the strings compiled into a static libpython say, as read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// `X.Y` named by the extension-module suffix
    /// (`.cpython-311-x86_64-linux-gnu.so`) or a `lib/pythonX.Y` path: only
    /// the interpreter itself carries these.
    pub strong: BTreeSet<String>,
    /// `X.Y` of release strings (`PY_VERSION`, `3.11.4`): a statically
    /// linked SQLite's `3.40.1` looks the same, so these only decide
    /// between strong ones, or stand alone.
    pub release: BTreeSet<String>,
    /// Bare `X.Y` (`VERSION` as getpath.c of 2.7 to 3.10 compiles it): an
    /// old mod_wsgi's own `3.4` looks the same, so last.
    pub bare: BTreeSet<String>,
    /// Absolute paths, in file order, each once: `PREFIX`, `EXEC_PREFIX`,
    /// the parts of a compiled-in `PYTHONPATH`, and whatever else the
    /// module holds (the root decides which is an installation).
    pub paths: Vec<PathBuf>,
    /// The budget reached while reading, if one was.
    pub truncated: Option<String>,
}

/// Longest string looked at: the kernel's `PATH_MAX`, as for any path.
const MAX_STRING: usize = budget::APACHE_PATH;

/// Reads at most `limit` bytes of `input` (the module's file) and keeps
/// the NUL-terminated printable strings that can name a Python: versions,
/// and absolute paths (at most `max_paths`). The whole file rather than
/// its `.rodata`: sections are not needed, and no other string of the
/// file can pass as a prefix, which the root must confirm anyway.
pub fn compiled_strings(
    mut input: impl Read,
    limit: u64,
    max_paths: usize,
) -> std::io::Result<Compiled> {
    let mut out = Compiled::default();
    let mut seen: std::collections::HashSet<PathBuf> = Default::default();
    let mut run: Vec<u8> = Vec::new();
    let mut overlong = false;
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        let want = usize::try_from((limit - total).min(buf.len() as u64)).unwrap_or(0);
        if want == 0 {
            let mut probe = [0u8; 1];
            if read_some(&mut input, &mut probe)? > 0 {
                out.truncated = Some(budget::exceeded(
                    "STATIC_PYTHON_BYTES",
                    budget::bytes(limit),
                ));
            }
            break;
        }
        let Some(chunk) = buf.get_mut(..want) else {
            break;
        };
        let n = read_some(&mut input, chunk)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        for &b in chunk.iter().take(n) {
            match b {
                0 => {
                    if !overlong && !run.is_empty() {
                        classify(&run, &mut out, &mut seen, max_paths);
                    }
                    run.clear();
                    overlong = false;
                }
                0x20..=0x7e if run.len() < MAX_STRING => run.push(b),
                0x20..=0x7e => overlong = true,
                _ => {
                    run.clear();
                    overlong = false;
                }
            }
        }
    }
    Ok(out)
}

fn read_some(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match input.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// `X.Y` from a major digit and the minor's digits, when it is a Python 2
/// or 3 version.
fn x_y(major: &[u8], minor: &[u8]) -> Option<String> {
    let ok = matches!(major, b"2" | b"3")
        && (1..=2).contains(&minor.len())
        && minor.iter().all(u8::is_ascii_digit);
    ok.then(|| format!("{}.{}", major.to_str_lossy(), minor.to_str_lossy()))
}

fn classify(
    s: &[u8],
    out: &mut Compiled,
    seen: &mut std::collections::HashSet<PathBuf>,
    max_paths: usize,
) {
    // `.cpython-311-x86_64-linux-gnu.so` (and `-311d-`, 3.7's `-37m-`).
    for at in s.find_iter(".cpython-") {
        let digits: Vec<u8> = s
            .get(at + 9..)
            .unwrap_or_default()
            .iter()
            .copied()
            .take_while(u8::is_ascii_digit)
            .collect();
        let v = match (digits.get(..1), digits.get(1..)) {
            (Some(major), Some(minor)) => x_y(major, minor),
            _ => None,
        };
        out.strong.extend(v);
    }
    // `pythonX.Y` as a path component: `lib/python2.7`, `python3.11`.
    for at in s.find_iter("python") {
        if at > 0 && s.get(at - 1) != Some(&b'/') {
            continue;
        }
        let rest = s.get(at + 6..).unwrap_or_default();
        let end = rest
            .iter()
            .position(|&b| b == b'/' || b == b':')
            .unwrap_or(rest.len());
        let v = rest
            .get(..end)
            .and_then(|v| v.split_once_str("."))
            .and_then(|(major, minor)| x_y(major, minor));
        out.strong.extend(v);
    }
    // `3.11.4`, `3.13.0rc2`, `2.7.18+`: PY_VERSION.
    let parts: Vec<&[u8]> = s.split_str(".").collect();
    match parts.as_slice() {
        [major, minor] => {
            if let Some(v) = x_y(major, minor) {
                out.bare.insert(v);
            }
        }
        [major, minor, micro] => {
            let micro = micro.strip_suffix(b"+").unwrap_or(micro);
            let digits = micro.iter().take_while(|b| b.is_ascii_digit()).count();
            let (num, tag) = micro.split_at(digits);
            let tag_ok = tag.is_empty()
                || [&b"a"[..], b"b", b"rc"].iter().any(|t| {
                    tag.strip_prefix(*t)
                        .is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit))
                });
            if (1..=2).contains(&num.len()) && tag_ok {
                out.release.extend(x_y(major, minor));
            }
        }
        _ => {}
    }
    // Absolute paths: `/usr/local`, `PYTHONPATH`'s `:`-separated parts.
    if s.starts_with(b"/") && !s.iter().any(|b| b.is_ascii_whitespace() || *b == b'%') {
        for part in s.split_str(":") {
            let part = part.strip_suffix(b"/").unwrap_or(part);
            if part.len() < 2 || !part.starts_with(b"/") {
                continue;
            }
            let p = PathBuf::from(part.to_str_lossy().into_owned());
            if out.paths.len() < max_paths && seen.insert(p.clone()) {
                out.paths.push(p);
            }
        }
    }
}

impl Compiled {
    /// The interpreter's `X.Y`: the one strong version (several are
    /// narrowed by the release strings); else the one release; else the
    /// one bare version. `Err` lists what is left when that is not one.
    pub fn version(&self) -> Result<Option<String>, Vec<String>> {
        let one = |set: &BTreeSet<String>| -> Result<Option<String>, Vec<String>> {
            match set.len() {
                0 => Ok(None),
                1 => Ok(set.iter().next().cloned()),
                _ => Err(set.iter().cloned().collect()),
            }
        };
        if !self.strong.is_empty() {
            return match one(&self.strong) {
                Err(_) => {
                    let both: BTreeSet<String> =
                        self.strong.intersection(&self.release).cloned().collect();
                    match one(&both) {
                        Ok(Some(v)) => Ok(Some(v)),
                        _ => Err(self.strong.iter().cloned().collect()),
                    }
                }
                r => r,
            };
        }
        match one(&self.release)? {
            Some(v) => Ok(Some(v)),
            None => one(&self.bare),
        }
    }
}

/// Where an interpreter imports its standard library's and site's
/// extension modules from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    /// `sys.prefix`: its `lib/pythonX.Y/site-packages`.
    pub prefix: PathBuf,
    /// `sys.exec_prefix`: its `lib/pythonX.Y/lib-dynload`.
    pub exec_prefix: PathBuf,
}

/// `PREFIX/lib/pythonX.Y` and `PREFIX/lib64/pythonX.Y`.
pub fn lib_dirs(prefix: &Path, version: &str) -> [PathBuf; 2] {
    let dir = format!("python{version}");
    [
        prefix.join("lib").join(&dir),
        prefix.join("lib64").join(&dir),
    ]
}

/// The installation prefix a path lies in: the part before its
/// `lib/pythonX.Y` (or `lib64/`), with that `X.Y`.
fn installation_of(path: &Path) -> Option<(PathBuf, String)> {
    let parts: Vec<&std::ffi::OsStr> = path.iter().collect();
    parts.windows(2).enumerate().find_map(|(i, w)| {
        let (lib, py) = (w.first()?.to_str()?, w.get(1)?.to_str()?);
        if lib != "lib" && lib != "lib64" {
            return None;
        }
        let (major, minor) = py.strip_prefix("python")?.split_once('.')?;
        let v = x_y(major.as_bytes(), minor.as_bytes())?;
        let prefix: PathBuf = parts.iter().take(i).collect();
        Some((prefix, v))
    })
}

/// The compiled-in prefixes the root has an installation of `version`
/// at: `PREFIX` the first with a standard library (`os.py`), `EXEC_PREFIX`
/// the first with a `lib-dynload`, each the other when only one is there.
fn compiled_prefix(root: &Root, compiled: &Compiled, version: &str) -> Option<Prefix> {
    let mut found: Vec<PathBuf> = Vec::new();
    for p in &compiled.paths {
        let candidate = match installation_of(p) {
            Some((prefix, v)) if v == version => prefix,
            Some(_) => continue,
            None => p.clone(),
        };
        if !found.contains(&candidate)
            && lib_dirs(&candidate, version).iter().any(|d| root.is_dir(d))
        {
            found.push(candidate);
        }
    }
    let has = |p: &&PathBuf, what: &str, dir: bool| {
        lib_dirs(p, version).iter().any(|d| {
            let x = d.join(what);
            if dir {
                root.is_dir(&x)
            } else {
                root.kind(&x).is_some()
            }
        })
    };
    let exec = found.iter().find(|p| has(p, "lib-dynload", true)).cloned();
    let pure = found.iter().find(|p| has(p, "os.py", false)).cloned();
    match (pure, exec) {
        (Some(prefix), Some(exec_prefix)) => Some(Prefix {
            prefix,
            exec_prefix,
        }),
        (Some(p), None) | (None, Some(p)) => Some(Prefix {
            prefix: p.clone(),
            exec_prefix: p,
        }),
        (None, None) => found.first().map(|p| Prefix {
            prefix: p.clone(),
            exec_prefix: p.clone(),
        }),
    }
}

/// The `X.Y` of a home: its virtualenv's `pyvenv.cfg` (`version = 3.11.2`,
/// or virtualenv's `version_info`), else its one `lib/pythonX.Y`.
fn home_version(root: &Root, home: &Path) -> Option<String> {
    if let Ok(cfg) = root.read(&home.join("pyvenv.cfg"), budget::named!(SMALL_FILE)) {
        let from_cfg = cfg.lines().find_map(|line| {
            let (k, v) = line.split_once_str("=")?;
            let k = k.trim();
            if !k.eq_ignore_ascii_case(b"version") && !k.eq_ignore_ascii_case(b"version_info") {
                return None;
            }
            let mut it = v.trim().split_str(".");
            x_y(it.next()?, it.next()?)
        });
        if from_cfg.is_some() {
            return from_cfg;
        }
    }
    let mut versions: BTreeSet<String> = BTreeSet::new();
    for lib in ["lib", "lib64"] {
        for name in root.read_dir(&home.join(lib)).unwrap_or_default() {
            let name = name.to_string_lossy();
            let v = name
                .strip_prefix("python")
                .and_then(|v| v.split_once('.'))
                .and_then(|(major, minor)| x_y(major.as_bytes(), minor.as_bytes()));
            versions.extend(v);
        }
    }
    (versions.len() == 1)
        .then(|| versions.into_iter().next())
        .flatten()
}

/// The interpreter a static libpython runs in one process: its `X.Y`, and
/// its prefix unless the process's home decides it (then `None`, and
/// [`super::import_python`] takes the home as for a shared libpython).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embedded {
    pub version: String,
    pub prefix: Option<Prefix>,
}

/// Decides [`Embedded`] for one process of the module `module` whose
/// strings are `compiled`, with the process's Python setup, noting how.
pub fn embedded(
    root: &Root,
    module: &str,
    compiled: &Compiled,
    setup: &apache::wsgi::PythonSetup,
    installations: &[host::Installation],
    notes: &mut Vec<String>,
) -> Option<Embedded> {
    let what = format!(
        "{module} embeds a static libpython (it defines Python's C API and needs no libpython)"
    );
    if let Some(why) = &compiled.truncated {
        notes.push(format!("{what}: {why}; the strings read so far are used"));
    }
    let compiled_version = match compiled.version() {
        Ok(v) => v,
        Err(several) => {
            notes.push(format!(
                "{what}: its strings name Python {} alike; none is taken",
                several.join(", ")
            ));
            None
        }
    };
    // 1. The configured home: sys.prefix is the home, whatever was compiled in.
    if let Some((via, home)) = &setup.home {
        let version = compiled_version
            .clone()
            .or_else(|| home_version(root, home))?;
        notes.push(format!(
            "{what}: Python {version}, its home {} ({via})",
            home.display()
        ));
        return Some(Embedded {
            version,
            prefix: None,
        });
    }
    // 2. The PREFIX/EXEC_PREFIX compiled in, where the root has them.
    let found = compiled_version
        .as_ref()
        .and_then(|v| Some((v, compiled_prefix(root, compiled, v)?)));
    if let Some((version, prefix)) = found {
        notes.push(format!(
            "{what}: Python {version} with the prefix compiled into it, {} (exec-prefix {})",
            prefix.prefix.display(),
            prefix.exec_prefix.display()
        ));
        return Some(Embedded {
            version: version.clone(),
            prefix: Some(prefix),
        });
    }
    // 3. A python-path entry inside an installation.
    for (via, p) in &setup.path {
        let Some((prefix, v)) = installation_of(p) else {
            continue;
        };
        if compiled_version.as_ref().is_some_and(|c| *c != v)
            || !lib_dirs(&prefix, &v).iter().any(|d| root.is_dir(d))
        {
            continue;
        }
        notes.push(format!(
            "{what}: Python {v} of the installation {} that its path entry {} ({via}) lies in",
            prefix.display(),
            p.display()
        ));
        return Some(Embedded {
            version: v,
            prefix: Some(Prefix {
                prefix: prefix.clone(),
                exec_prefix: prefix,
            }),
        });
    }
    // 4. The root's one installation of that version: a guess.
    let matching: Vec<&host::Installation> = installations
        .iter()
        .filter(|i| compiled_version.as_ref().is_none_or(|v| *v == i.version))
        .collect();
    match matching.as_slice() {
        [one] => {
            notes.push(format!(
                "{what}: no home, no compiled-in prefix the root has, no path entry in an installation; Python {} at {}, the root's one installation{}, is a likely guess",
                one.version,
                one.prefix.display(),
                if compiled_version.is_some() { " of that version" } else { "" },
            ));
            Some(Embedded {
                version: one.version.clone(),
                prefix: Some(Prefix {
                    prefix: one.prefix.clone(),
                    exec_prefix: one.prefix.clone(),
                }),
            })
        }
        [] => {
            notes.push(format!(
                "{what}: no home, no compiled-in prefix, no path entry and no installation{} in the root: no Python extension module is modelled",
                compiled_version
                    .as_ref()
                    .map(|v| format!(" of Python {v}"))
                    .unwrap_or_default()
            ));
            None
        }
        several => {
            notes.push(format!(
                "{what}: no home, no compiled-in prefix the root has, no path entry in an installation, and {} installations it could be ({}): no Python extension module is modelled",
                several.len(),
                several
                    .iter()
                    .map(|i| format!("{} {}", i.prefix.display(), i.version))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(parts: &[&[u8]]) -> Compiled {
        let mut bytes = b"\x7fELF\x02\x01\x01\0junk\x01\x02".to_vec();
        for p in parts {
            bytes.extend_from_slice(p);
            bytes.push(0);
        }
        compiled_strings(bytes.as_slice(), 1 << 20, 100).expect("reads from memory")
    }

    /// A 3.11+ build: getpath.c's PREFIX/EXEC_PREFIX values and keys,
    /// dynload_shlib.c's suffixes, PY_VERSION and Py_GetVersion's format.
    #[test]
    fn a_modern_static_libpython() {
        let c = strings(&[
            b"PREFIX",
            b"/usr/local",
            b"EXEC_PREFIX",
            b"PLATLIBDIR",
            b"lib",
            b".cpython-311-x86_64-linux-gnu.so",
            b".abi3.so",
            b"3.11.4",
            b"%.80s (%.80s) %.80s",
            b"/usr/local/lib/python3.11/config-3.11-x86_64-linux-gnu",
        ]);
        assert_eq!(c.version(), Ok(Some("3.11".into())));
        assert_eq!(
            c.paths,
            [
                PathBuf::from("/usr/local"),
                PathBuf::from("/usr/local/lib/python3.11/config-3.11-x86_64-linux-gnu")
            ]
        );
        assert_eq!(c.truncated, None);
    }

    /// 2.7: `lib/python2.7` and a PYTHONPATH of `:`-separated parts.
    #[test]
    fn python_2_7_pythonpath_and_lib_python() {
        let c = strings(&[
            b"lib/python2.7",
            b"/opt/py27/lib/python2.7/:/opt/py27/lib/python2.7/plat-linux2",
            b"2.7",
            b"2.7.18",
        ]);
        assert_eq!(c.version(), Ok(Some("2.7".into())));
        assert_eq!(
            c.paths,
            [
                PathBuf::from("/opt/py27/lib/python2.7"),
                PathBuf::from("/opt/py27/lib/python2.7/plat-linux2")
            ]
        );
        assert_eq!(
            installation_of(&c.paths[1]),
            Some((PathBuf::from("/opt/py27"), "2.7".into()))
        );
    }

    /// A statically linked SQLite's `3.40.1` and an old mod_wsgi's `3.4`
    /// do not outvote the interpreter's own strings; alone, two releases
    /// are ambiguous.
    #[test]
    fn look_alikes_are_outvoted_or_ambiguous() {
        let c = strings(&[
            b"3.40.1",
            b"3.4",
            b".cpython-310-x86_64-linux-gnu.so",
            b"3.10.12",
        ]);
        assert_eq!(c.version(), Ok(Some("3.10".into())));
        let c = strings(&[b"3.40.1", b"3.10.12"]);
        assert!(c.version().is_err());
        let c = strings(&[b"3.4"]);
        assert_eq!(c.version(), Ok(Some("3.4".into())));
        // Not versions: libpython3.11.so (not a path component), 1.2.13,
        // 3.11.4 inside a sentence.
        let c = strings(&[b"libpython3.11.so.1.0", b"1.2.13", b"Python 3.11.4 (main)"]);
        assert_eq!(c.version(), Ok(None));
    }

    /// Strings are cut at non-printable bytes, overlong ones dropped, the
    /// paths kept within their budget, and the byte budget named.
    #[test]
    fn bounded_reading() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"\x01/usr/local\0");
        bytes.extend(std::iter::repeat_n(b'/', MAX_STRING + 10));
        bytes.push(0);
        for i in 0..10 {
            bytes.extend_from_slice(format!("/p{i}\0").as_bytes());
        }
        let c = compiled_strings(bytes.as_slice(), 1 << 20, 3).expect("reads");
        assert_eq!(
            c.paths,
            ["/usr/local", "/p0", "/p1"].map(PathBuf::from).to_vec()
        );
        let c = compiled_strings(bytes.as_slice(), 8, 3).expect("reads");
        assert_eq!(
            c.truncated.as_deref(),
            Some("budget exceeded: STATIC_PYTHON_BYTES (8 bytes)")
        );
        assert!(c.paths.is_empty());
    }
}
