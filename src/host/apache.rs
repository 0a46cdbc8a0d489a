//! Apache httpd's configuration and the environment its service starts it
//! with, read from files alone (research/loader-model.md §5, rules H2–H4,
//! and §6 step 1).
//!
//! Which modules share the httpd process, in which order, is decided while
//! httpd *reads* its configuration: `LoadModule`, `LoadFile`, `Include`,
//! `Define`, `ServerRoot`, `<IfModule>` and `<IfDefine>` are `EXEC_ON_READ`
//! directives that act the moment `ap_build_config` meets them, in file
//! order, so [`read_config`] replays that reading instead of building a
//! tree: a line at a time (`ap_cfg_getline`: backslash-newline continues a
//! line, leading and trailing white space goes), `${VAR}` expanded over the
//! whole line before it is split (`ap_resolve_env`), words split as
//! `ap_getword_conf` splits them, `<If…>` sections evaluated when met
//! against what is defined and loaded *so far* (`start_cond_section`) and
//! skipped sections consumed without expansion (`ap_soak_end_container`),
//! `Include` expanded as `ap_process_fnmatch_configs` does (H3). Other
//! containers (`<VirtualHost>`, `<Directory>`, `<IfVersion>`, ...) do not
//! stop `EXEC_ON_READ` directives inside them, so a `LoadModule` in a
//! `<VirtualHost>` still loads; what they change is the context, which is
//! kept with each directive for the mod_wsgi ones that care.
//!
//! Where httpd would refuse to start (a missing `Include`, a module that is
//! not there, a section left open) this module writes an `errors` entry
//! and goes on, so the rest of the configuration is still modelled; where
//! httpd only warns (an undefined `${VAR}`, a module loaded twice) it
//! writes a `warnings` entry. Unknown directives are ignored.
//!
//! [`service_env`] finds what the service manager and the distribution's
//! start-up script hand to httpd: the systemd unit's `Environment=` and
//! `EnvironmentFile=`, Debian's `apache2ctl` with `/etc/apache2/envvars`
//! (interpreted, never executed), the `-D` defines, `-d`, `-f`, `-C` and `-c`
//! arguments, and `/etc/ld.so.preload`. Its [`ServiceEnv::config_options`]
//! feeds [`read_config`].
//!
//! Known approximations (each is a place where files alone cannot say what
//! httpd would do, or where this model is deliberately kinder than httpd):
//!
//! - `<IfModule mod_xxx.c>` needs a loaded module's *module name*, which
//!   httpd reads from the module structure; it is taken to be `mod_xxx.c`
//!   for `xxx_module` (`prefork.c`, `worker.c`, `event.c` for the MPMs).
//!   The file's base name does not count, as in httpd (`find_module`).
//! - Compiled-in modules are Debian's list when the root has
//!   `/usr/sbin/apache2`, else core, mod_so and http_core; a build with a
//!   static MPM or more static modules needs [`ConfigOptions::builtin`].
//! - `<IfDirective>` and `<IfSection>` are taken as true, with a warning;
//!   `Use` (mod_macro) is not expanded, with a warning.
//! - httpd stops at its first error; this model records it and goes on. An
//!   include cycle is reported and not followed (httpd recurses to depth
//!   128 and fails); a directory that links back into itself likewise.
//! - Wildcards match with the root's glibc-style `fnmatch` (leading dot
//!   only literally), not APR's own `apr_fnmatch`; they agree on `*`, `?`
//!   and bracket expressions as configurations use them.
//! - ServerRoot without `-d` is the installed layout's `HTTPD_ROOT`, derived
//!   from where its main file lives (for SUSE taken as /etc/apache2, where
//!   its configuration uses absolute paths anyway).
//! - systemd: specifiers other than `%%` are left as written,
//!   `PassEnvironment=` and the variables systemd sets itself are not
//!   modelled. `envvars`: no pathname or tilde expansion, no `${X:=y}`, no
//!   special parameters; `case`, loops, functions, command substitution,
//!   `&&`/`||`, pipes and `.` are reported and skipped.
//!
//! ```no_run
//! use soclash::host::apache;
//! let root = soclash::root::Root::new("/".as_ref()).unwrap();
//! let service = apache::service_env(&root);
//! let config = apache::read_config(&root, &service.config_options());
//! for (name, path) in config.loaded_modules() {
//!     println!("{name} {}", path.display());
//! }
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::root::{Kind, Root, RootError, fnmatch};

use crate::budget::{
    self, APACHE_DIR_DEPTH, APACHE_DIRECTIVES, APACHE_FILE_BYTES, APACHE_FILES,
    APACHE_INCLUDE_DEPTH, APACHE_INCLUDE_WORK, APACHE_LINE, APACHE_PATH, APACHE_SECTION_DEPTH,
    APACHE_TOTAL_BYTES, ENVVARS_EXPANDED, ENVVARS_NESTING, ENVVARS_VALUE, SERVICE_FILES,
};

/// A module compiled into the httpd binary (`httpd -l`): its symbol name
/// (`so_module`) and its module name, the source file (`mod_so.c`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinModule {
    pub symbol: String,
    pub source: String,
}

/// Debian 12's `/usr/sbin/apache2` (`apache2 -l`): the strings of the
/// binary hold exactly these `*_module` symbol names (checked by a test).
const DEBIAN_BUILTIN: &[(&str, &str)] = &[
    ("core_module", "core.c"),
    ("so_module", "mod_so.c"),
    ("watchdog_module", "mod_watchdog.c"),
    ("http_module", "http_core.c"),
    ("log_config_module", "mod_log_config.c"),
    ("logio_module", "mod_logio.c"),
    ("version_module", "mod_version.c"),
    ("unixd_module", "mod_unixd.c"),
];

/// RHEL/Fedora's `httpd -l` and a source build with shared modules and
/// MPMs: the three modules httpd cannot do without.
const GENERIC_BUILTIN: &[(&str, &str)] = &[
    ("core_module", "core.c"),
    ("so_module", "mod_so.c"),
    ("http_module", "http_core.c"),
];

/// Where distributions put the main configuration file, in the order they
/// are tried. ServerRoot defaults to the file's directory, or the
/// directory above a `conf/` directory ([`default_server_root`]).
const MAIN_CONFIGS: &[&str] = &[
    "/etc/apache2/apache2.conf",  // Debian, Ubuntu (HTTPD_ROOT /etc/apache2)
    "/etc/httpd/conf/httpd.conf", // RHEL, Fedora (HTTPD_ROOT /etc/httpd)
    "/etc/apache2/httpd.conf",    // SUSE, Alpine
    "/usr/local/apache2/conf/httpd.conf", // source build, default prefix
    "/usr/local/apache/conf/httpd.conf", // source build, cPanel-style prefix
    "/opt/*/apache2/conf/httpd.conf", // source build under /opt
];

/// `SERVER_CONFIG_FILE` of the layouts above, relative to a ServerRoot
/// given with `-d`.
const SERVER_CONFIG_FILES: &[&str] = &["apache2.conf", "conf/httpd.conf", "httpd.conf"];

/// What the caller knows about how httpd is started.
#[derive(Debug, Clone, Default)]
pub struct ConfigOptions {
    /// `-f FILE` / `--apache-config FILE`: the main configuration file
    /// (relative names are relative to ServerRoot, as httpd takes them).
    pub main: Option<PathBuf>,
    /// `-d DIR`: the ServerRoot before any `ServerRoot` directive.
    pub server_root: Option<PathBuf>,
    /// The environment httpd starts with, for `${VAR}`.
    pub env: BTreeMap<String, String>,
    /// `-D NAME` defines (also `DEBUG` for `-X`).
    pub defines: Vec<String>,
    /// `-C` directives, read before the main file.
    pub pre_directives: Vec<String>,
    /// `-c` directives, read after it.
    pub post_directives: Vec<String>,
    /// Modules compiled into httpd; `None` takes Debian's list when the root
    /// has Debian's `/usr/sbin/apache2`, else core, mod_so and http_core.
    pub builtin: Option<Vec<BuiltinModule>>,
}

/// The configuration as httpd reads it.
#[derive(Debug, Clone, Default)]
pub struct ApacheConfig {
    /// The main configuration file read (`None` when none was found).
    pub main: Option<PathBuf>,
    /// ServerRoot at the end of reading (the last `ServerRoot` directive,
    /// else `-d`, else the distribution's default).
    pub server_root: PathBuf,
    /// Every directive that matters, in configuration order, after
    /// `<IfDefine>`/`<IfModule>` evaluation and include expansion.
    pub directives: Vec<Directive>,
    /// Defines at the end of reading (`-D` and `Define`, less `UnDefine`).
    pub defines: BTreeSet<String>,
    /// Variables given a value by `Define NAME VALUE`.
    pub vars: BTreeMap<String, String>,
    /// Every configuration file read, in the order first read, by the name
    /// the configuration reached it.
    pub files: Vec<PathBuf>,
    /// Where httpd would refuse to start or fail to load something:
    /// (`file:line` or path, reason).
    pub errors: Vec<(PathBuf, String)>,
    /// What httpd only warns about, and what this model had to assume.
    pub warnings: Vec<(PathBuf, String)>,
}

/// One directive, where it was written and inside which containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The configuration file by the name the configuration reached it
    /// (`<-C>`/`<-c>` for command-line directives).
    pub file: PathBuf,
    /// The line httpd reports: the last physical line of a continued line.
    pub line: usize,
    /// Enclosing containers from the outside in, as written
    /// (`<VirtualHost *:80>`), across `Include`s; conditional sections
    /// that were taken are not listed.
    pub context: Vec<String>,
    pub kind: DirectiveKind,
}

/// The directives that decide what the process loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectiveKind {
    /// `LoadModule name file` (mod_so `load_module`, H2). `path` is the file
    /// made absolute against ServerRoot (`ap_server_root_relative`); when
    /// the file was written without a `/`, `fallback` holds it as written:
    /// `dso_load` retries `dlopen(fallback)` with the dynamic linker's search
    /// if `path` fails.
    LoadModule {
        name: String,
        path: PathBuf,
        fallback: Option<String>,
    },
    /// `LoadFile file...`, one entry per file, loaded like a module (H2).
    LoadFile {
        path: PathBuf,
        fallback: Option<String>,
    },
    /// mod_php's `PHPINIDir`, made absolute against ServerRoot; only the
    /// first one counts.
    PhpIniDir(PathBuf),
    /// `WSGIPythonHome DIR`, as written.
    WsgiPythonHome(PathBuf),
    /// `WSGIPythonPath DIR[:DIR...]`, split at `:`.
    WsgiPythonPath(Vec<PathBuf>),
    /// `WSGIDaemonProcess name option=value...` (python-home, python-path,
    /// display-name, processes, threads, ...), values as written.
    WsgiDaemonProcess {
        name: String,
        options: BTreeMap<String, String>,
    },
    WsgiProcessGroup(String),
    WsgiApplicationGroup(String),
    /// `WSGILazyInitialization On|Off` (mod_wsgi before 6.0; H7).
    WsgiLazyInitialization(bool),
    /// `WSGIScriptAlias url file [option=value...]`, or
    /// `WSGIScriptAliasMatch` (`regex` true), file as written.
    WsgiScriptAlias {
        url: String,
        path: PathBuf,
        regex: bool,
        options: BTreeMap<String, String>,
    },
    /// `WSGIImportScript file process-group=... application-group=...`.
    WsgiImportScript {
        path: PathBuf,
        options: BTreeMap<String, String>,
    },
    /// mod_python's directives (`PythonPath`, `PythonImport`,
    /// `PythonInterpreter`, ...) with their words, kept as written.
    ModPython {
        directive: String,
        args: Vec<String>,
    },
}

impl ApacheConfig {
    /// `LoadModule`s in the order httpd loads them (a module loaded twice
    /// appears once, H2): (module identifier, absolute path).
    pub fn loaded_modules(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.directives.iter().filter_map(|d| match &d.kind {
            DirectiveKind::LoadModule { name, path, .. } => Some((name.as_str(), path.as_path())),
            _ => None,
        })
    }
}

/// Reads the main configuration and everything it includes, as httpd's
/// `ap_read_config` does: `-C` directives, the main file, `-c` directives.
pub fn read_config(root: &Root, opts: &ConfigOptions) -> ApacheConfig {
    let builtin = opts.builtin.clone().unwrap_or_else(|| {
        let table = if root.kind(Path::new("/usr/sbin/apache2")) == Some(Kind::Regular) {
            DEBIAN_BUILTIN
        } else {
            GENERIC_BUILTIN
        };
        table
            .iter()
            .map(|(s, f)| BuiltinModule {
                symbol: (*s).to_string(),
                source: (*f).to_string(),
            })
            .collect()
    });
    let (main, server_root) = find_main(root, opts);
    let mut r = Reader {
        root,
        env: &opts.env,
        builtin,
        server_root,
        defines: opts.defines.iter().cloned().collect(),
        vars: BTreeMap::new(),
        loaded: Vec::new(),
        directives: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        files: Vec::new(),
        stack: Vec::new(),
        dir_stack: Vec::new(),
        bytes: 0,
        work: 0,
        exhausted: false,
        php_ini_dir: false,
        errors_per_file: budget::PerFile::default(),
        warnings_per_file: budget::PerFile::default(),
    };
    r.command_line(Path::new("<-C>"), &opts.pre_directives);
    // `ap_read_config` makes the file name absolute after the -C
    // directives, which may have changed ServerRoot.
    let main = match main {
        MainConfig::Named(p) => Some(r.server_root_relative(p.as_os_str().as_bytes())),
        MainConfig::Absolute(p) => Some(p),
        MainConfig::None(why) => {
            r.error(PathBuf::from("/"), why);
            None
        }
    };
    if let Some(main) = &main {
        r.process_file(main, &[], None);
    }
    r.command_line(Path::new("<-c>"), &opts.post_directives);
    if !r.files.is_empty() && !r.mpm_loaded() {
        // `ap_check_mpm`: httpd refuses to start without one. Only a
        // warning here: an MPM compiled in is not in the builtin list.
        r.warn(
            main.clone().unwrap_or_default(),
            "no MPM module is loaded (httpd: \"No MPM loaded\") unless one is compiled in",
        );
    }
    let end = main.clone().unwrap_or_else(|| PathBuf::from("/"));
    r.errors_per_file.finish(&mut r.errors, end.clone());
    r.warnings_per_file.finish(&mut r.warnings, end);
    ApacheConfig {
        main,
        server_root: r.server_root,
        directives: r.directives,
        defines: r.defines,
        vars: r.vars,
        files: r.files,
        errors: r.errors,
        warnings: r.warnings,
    }
}

enum MainConfig {
    /// `-f` as given: made absolute against ServerRoot after `-C`.
    Named(PathBuf),
    /// A distribution's default, already absolute.
    Absolute(PathBuf),
    None(String),
}

/// The main file and the ServerRoot httpd starts with.
fn find_main(root: &Root, opts: &ConfigOptions) -> (MainConfig, PathBuf) {
    if let Some(main) = &opts.main {
        // Without `-d`, ServerRoot is the compiled-in HTTPD_ROOT wherever
        // `-f` points: the installed layout's, else the file's own.
        let server_root = match &opts.server_root {
            Some(d) => normalize(Path::new("/"), d.as_os_str().as_bytes()),
            None => match installed_layout(root) {
                Some(p) => default_server_root(&p),
                None if main.is_absolute() => default_server_root(main),
                None => PathBuf::from("/"),
            },
        };
        return (MainConfig::Named(main.clone()), server_root);
    }
    if let Some(d) = &opts.server_root {
        let d = normalize(Path::new("/"), d.as_os_str().as_bytes());
        for name in SERVER_CONFIG_FILES {
            let p = d.join(name);
            if root.kind(&p).is_some() {
                return (MainConfig::Absolute(p), d);
            }
        }
        return (
            MainConfig::None(format!(
                "no main configuration file ({}) under ServerRoot {}",
                SERVER_CONFIG_FILES.join(", "),
                d.display()
            )),
            d,
        );
    }
    if let Some(p) = installed_layout(root) {
        let sr = default_server_root(&p);
        return (MainConfig::Absolute(p), sr);
    }
    (
        MainConfig::None(format!(
            "no Apache configuration found (looked for {})",
            MAIN_CONFIGS.join(", ")
        )),
        PathBuf::from("/etc/apache2"),
    )
}

/// The first of the distributions' main configuration files that exists.
fn installed_layout(root: &Root) -> Option<PathBuf> {
    MAIN_CONFIGS.iter().find_map(|pattern| {
        if pattern.contains('*') {
            root.glob(pattern.as_bytes())
                .into_iter()
                .map(|p| path_of(&p))
                .find(|p| root.kind(p).is_some())
        } else {
            Some(PathBuf::from(pattern)).filter(|p| root.kind(p).is_some())
        }
    })
}

/// The compiled-in ServerRoot (`HTTPD_ROOT`) of the layout a main file
/// belongs to: its directory, or the one above `conf/` (RHEL's /etc/httpd,
/// source builds' prefix).
pub fn default_server_root(main: &Path) -> PathBuf {
    let dir = main.parent().unwrap_or(Path::new("/"));
    if dir.file_name() == Some(OsStr::new("conf")) {
        dir.parent().unwrap_or(Path::new("/")).to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

fn path_of(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `file:line` for error entries, without a UTF-8 round trip.
fn at(file: &Path, line: usize) -> PathBuf {
    let mut s = file.as_os_str().to_os_string();
    s.push(format!(":{line}"));
    PathBuf::from(s)
}

/// `apr_filepath_merge(base, add, APR_FILEPATH_TRUENAME)` as
/// `ap_server_root_relative` uses it: an absolute `add` replaces `base`;
/// `.` and empty segments go, `..` removes the previous segment lexically
/// and stays at `/` above the root.
fn normalize(base: &Path, add: &[u8]) -> PathBuf {
    let mut parts: Vec<&[u8]> = Vec::new();
    if add.first() != Some(&b'/') {
        for c in base.as_os_str().as_bytes().split(|&c| c == b'/') {
            push_segment(&mut parts, c);
        }
    }
    for c in add.split(|&c| c == b'/') {
        push_segment(&mut parts, c);
    }
    let mut out = Vec::with_capacity(add.len() + 16);
    for p in &parts {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    path_of(&out)
}

fn push_segment<'a>(parts: &mut Vec<&'a [u8]>, seg: &'a [u8]) {
    match seg {
        b"" | b"." => {}
        b".." => {
            parts.pop();
        }
        s => parts.push(s),
    }
}

/// `apr_isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_space(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_space(*last) {
            break;
        }
        s = rest;
    }
    s
}

fn skip_space(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_space(*first) {
            break;
        }
        s = rest;
    }
    s
}

/// `substring_conf`: a backslash escapes a backslash, and inside quotes the
/// quote character; any other backslash is kept.
fn substring_conf(s: &[u8], quote: Option<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'\\' {
            if let Some(&n) = s.get(i + 1) {
                if n == b'\\' || Some(n) == quote {
                    out.push(n);
                    i += 2;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// `ap_getword_conf`: the next word (a quoted one may hold white space)
/// and the rest of the line with leading white space removed.
fn getword_conf(line: &[u8]) -> (Vec<u8>, &[u8]) {
    let s = skip_space(line);
    let Some(&first) = s.first() else {
        return (Vec::new(), s);
    };
    let (word, rest) = if first == b'"' || first == b'\'' {
        let mut i = 1;
        while let Some(&c) = s.get(i) {
            if c == first {
                break;
            }
            if c == b'\\' && matches!(s.get(i + 1), Some(&n) if n == first || n == b'\\') {
                i += 2;
            } else {
                i += 1;
            }
        }
        let end = i.min(s.len());
        let word = substring_conf(s.get(1..end).unwrap_or_default(), Some(first));
        let rest = s.get(end + 1..).unwrap_or_default();
        (word, rest)
    } else {
        let end = s.iter().position(|&c| is_space(c)).unwrap_or(s.len());
        let (w, rest) = s.split_at(end);
        (substring_conf(w, None), rest)
    };
    (word, skip_space(rest))
}

/// Every word of a line, as repeated `ap_getword_conf` calls give them.
fn words(mut rest: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (w, r) = getword_conf(rest);
        out.push(w);
        rest = r;
    }
    out
}

/// `apr_fnmatch_test`: `*` or `?`, or `[` with a later `]`; a backslash
/// quotes the next character.
fn fnmatch_test(pattern: &[u8]) -> bool {
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

/// Physical lines joined as `ap_cfg_getline` joins them (a backslash right
/// before a newline, or before CR LF, continues the line) and trimmed, each
/// numbered with its last physical line as httpd numbers it; `None` for a
/// line longer than [`APACHE_LINE`]. Lines are made one at a time, borrowed
/// from the file where not continued, so a file of millions of short lines
/// costs no more memory than the file.
struct Lines<'a> {
    rest: &'a [u8],
    line_no: usize,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Lines<'a> {
        Lines {
            rest: bytes,
            line_no: 0,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, Option<Cow<'a, [u8]>>);

    fn next(&mut self) -> Option<Self::Item> {
        let mut acc: Option<Cow<'a, [u8]>> = None;
        let mut overflow = false;
        while !self.rest.is_empty() {
            self.line_no += 1;
            let (phys, terminated, next) = match self.rest.iter().position(|&c| c == b'\n') {
                Some(p) => (
                    self.rest.get(..p).unwrap_or_default(),
                    true,
                    self.rest.get(p + 1..).unwrap_or_default(),
                ),
                None => (self.rest, false, &b""[..]),
            };
            self.rest = next;
            let mut content = phys;
            let mut continued = false;
            if terminated {
                if let [head @ .., b'\r'] = content {
                    content = head;
                }
                if let [head @ .., b'\\'] = content {
                    content = head;
                    continued = true;
                } else {
                    content = phys;
                }
            }
            if !overflow {
                let len = acc.as_ref().map_or(0, |a| a.len());
                if len + content.len() > APACHE_LINE {
                    overflow = true;
                    acc = None;
                } else {
                    acc = Some(match acc.take() {
                        None => Cow::Borrowed(content),
                        Some(mut a) => {
                            a.to_mut().extend_from_slice(content);
                            a
                        }
                    });
                }
            }
            if continued {
                continue;
            }
            return Some((self.line_no, (!overflow).then(|| trim_cow(acc))));
        }
        // A continuation on the last line: what was read counts.
        if overflow {
            return Some((self.line_no, None));
        }
        acc.filter(|a| !a.is_empty())
            .map(|a| (self.line_no, Some(trim_cow(Some(a)))))
    }
}

fn trim_cow(line: Option<Cow<'_, [u8]>>) -> Cow<'_, [u8]> {
    match line {
        None => Cow::Borrowed(&b""[..]),
        Some(Cow::Borrowed(b)) => Cow::Borrowed(trim(b)),
        Some(Cow::Owned(v)) => Cow::Owned(trim(&v).to_vec()),
    }
}

/// The module name (`module->name`, the source file) that `<IfModule>`
/// also accepts for a module loaded as `xxx_module`. httpd reads it from
/// the module structure (`STANDARD20_MODULE_STUFF` sets `__FILE__`); without
/// reading the object it is taken to be `mod_xxx.c`, which holds for the
/// modules httpd and the distributions ship (`php_module` → `mod_php.c`,
/// `wsgi_module` → `mod_wsgi.c`), except the MPMs, whose sources are
/// `prefork.c`, `worker.c` and `event.c`.
fn module_source_name(ident: &str) -> Option<String> {
    let stem = ident.strip_suffix("_module").filter(|s| !s.is_empty())?;
    Some(match stem {
        "mpm_prefork" => "prefork.c".to_string(),
        "mpm_worker" => "worker.c".to_string(),
        "mpm_event" => "event.c".to_string(),
        _ => format!("mod_{stem}.c"),
    })
}

/// An open section while a file is read.
enum Frame {
    /// A conditional section that was taken: its end is looked for as
    /// `ap_build_cont_config` does, it adds no context.
    Cond(Vec<u8>),
    /// Any other container: its label is part of the context.
    Container { name: Vec<u8> },
}

struct Reader<'a> {
    root: &'a Root,
    env: &'a BTreeMap<String, String>,
    builtin: Vec<BuiltinModule>,
    server_root: PathBuf,
    defines: BTreeSet<String>,
    vars: BTreeMap<String, String>,
    /// `LoadModule` identifiers so far with their assumed module names.
    loaded: Vec<(String, Option<String>)>,
    directives: Vec<Directive>,
    errors: Vec<(PathBuf, String)>,
    warnings: Vec<(PathBuf, String)>,
    files: Vec<PathBuf>,
    /// Files being read: (canonical path, name as reached).
    stack: Vec<(PathBuf, PathBuf)>,
    /// Directories being included (canonical).
    dir_stack: Vec<PathBuf>,
    /// Bytes read and produced by `${VAR}` expansion ([`APACHE_TOTAL_BYTES`]).
    bytes: u64,
    /// Directory entries, glob matches and `Include` lines looked at
    /// ([`APACHE_INCLUDE_WORK`]).
    work: usize,
    /// A budget was reached: nothing more is read.
    exhausted: bool,
    php_ini_dir: bool,
    errors_per_file: budget::PerFile,
    warnings_per_file: budget::PerFile,
}

impl Reader<'_> {
    /// An error entry, at most [`budget::ERRORS_PER_FILE`] per file.
    fn error(&mut self, at: PathBuf, msg: impl Into<String>) {
        let file = budget::file_of(at.as_os_str().as_bytes()).to_vec();
        self.errors_per_file
            .push(&mut self.errors, &file, (at, msg.into()));
    }

    /// A warning, at most [`budget::ERRORS_PER_FILE`] per file.
    fn warn(&mut self, at: PathBuf, msg: impl Into<String>) {
        let file = budget::file_of(at.as_os_str().as_bytes()).to_vec();
        self.warnings_per_file
            .push(&mut self.warnings, &file, (at, msg.into()));
    }

    /// A budget that stops the reading was reached: reported once, never
    /// folded into a file's "and N more".
    fn stop(&mut self, at: &Path, budget: &str, value: impl std::fmt::Display) {
        if !self.exhausted {
            self.exhausted = true;
            self.errors.push((
                at.to_path_buf(),
                format!(
                    "{}: the rest of the configuration is not read",
                    budget::exceeded(budget, value)
                ),
            ));
        }
    }

    /// Counts `n` units of include work; false (and reading stops) past
    /// [`APACHE_INCLUDE_WORK`].
    fn charge(&mut self, n: usize, at: &Path) -> bool {
        if self.exhausted {
            return false;
        }
        self.work = self.work.saturating_add(n);
        if self.work > APACHE_INCLUDE_WORK {
            self.stop(at, "APACHE_INCLUDE_WORK", APACHE_INCLUDE_WORK);
            return false;
        }
        true
    }

    fn server_root_relative(&self, name: &[u8]) -> PathBuf {
        normalize(&self.server_root, name)
    }

    /// Whether a work bound has been reached (reported once).
    fn over_budget(&mut self, at: &Path) -> bool {
        if self.files.len() >= APACHE_FILES {
            self.stop(at, "APACHE_FILES", APACHE_FILES);
        } else if self.bytes >= APACHE_TOTAL_BYTES {
            self.stop(at, "APACHE_TOTAL_BYTES", budget::bytes(APACHE_TOTAL_BYTES));
        }
        self.exhausted
    }

    /// `-C`/`-c` directives: one line each (`process_command_config`).
    fn command_line(&mut self, name: &Path, lines: &[String]) {
        if lines.is_empty() {
            return;
        }
        let mut lines = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (i + 1, Some(Cow::Borrowed(trim(l.as_bytes())))));
        self.process_lines(name, &mut lines, &[]);
    }

    /// Reads one configuration file (`ap_process_resource_config`).
    fn process_file(&mut self, named: &Path, ctx: &[String], from: Option<&Path>) {
        let here = from.map_or_else(|| named.to_path_buf(), Path::to_path_buf);
        if self.over_budget(&here) {
            return;
        }
        // `ap_pcfg_openfile` accepts /dev/null as the one non-regular file.
        if named == Path::new("/dev/null") {
            self.files.push(named.to_path_buf());
            return;
        }
        let (canonical, kind) = match self.root.resolve(named) {
            Ok(r) => r,
            Err(e) => {
                self.error(
                    here,
                    format!("Could not open configuration file {}: {e}", named.display()),
                );
                return;
            }
        };
        match kind {
            Kind::Regular => {}
            Kind::Directory => {
                self.error(
                    here,
                    format!(
                        "Access to file {} denied by server: not a regular file (directory)",
                        named.display()
                    ),
                );
                return;
            }
            Kind::Other(what) => {
                self.error(
                    here,
                    format!(
                        "Access to file {} denied by server: not a regular file ({what})",
                        named.display()
                    ),
                );
                return;
            }
        }
        if let Some(pos) = self.stack.iter().position(|(c, _)| *c == canonical) {
            let mut chain: Vec<String> = self
                .stack
                .get(pos..)
                .unwrap_or_default()
                .iter()
                .map(|(_, n)| n.display().to_string())
                .collect();
            chain.push(named.display().to_string());
            self.error(
                here,
                format!(
                    "Include cycle: {} (httpd gives up at include depth {APACHE_INCLUDE_DEPTH}); not read again",
                    chain.join(" -> ")
                ),
            );
            return;
        }
        let bytes = match self.root.read(&canonical, APACHE_FILE_BYTES) {
            Ok(b) => b,
            Err(RootError::Io(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                self.error(
                    here,
                    format!(
                        "{}: configuration file {} not read",
                        budget::exceeded("APACHE_FILE_BYTES", budget::bytes(APACHE_FILE_BYTES)),
                        named.display()
                    ),
                );
                return;
            }
            Err(e) => {
                self.error(
                    here,
                    format!("Could not open configuration file {}: {e}", named.display()),
                );
                return;
            }
        };
        // The file's bytes, and the context its lines start in.
        let ctx_bytes: usize = ctx.iter().map(String::len).sum();
        self.bytes = self.bytes.saturating_add((bytes.len() + ctx_bytes) as u64);
        if bytes.contains(&0) {
            self.error(
                here,
                format!(
                    "{} is not a text file (NUL bytes; httpd would stop at its first unknown word): not read",
                    named.display()
                ),
            );
            return;
        }
        self.files.push(named.to_path_buf());
        self.stack.push((canonical, named.to_path_buf()));
        self.process_lines(named, &mut Lines::new(&bytes), ctx);
        self.stack.pop();
    }

    /// `ap_resolve_env` over a whole line: `${NAME}` from `Define`d
    /// variables, then the environment; an unknown one stays as written
    /// (httpd warns unless the name has a `:`). httpd 2.4 has no
    /// `${NAME?=default}` (trunk only).
    fn expand<'l>(&mut self, file: &Path, line: usize, raw: &'l [u8]) -> Option<Cow<'l, [u8]>> {
        if !raw.contains(&b'$') {
            return Some(Cow::Borrowed(raw));
        }
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while let Some(&c) = raw.get(i) {
            if c == b'$' && raw.get(i + 1) == Some(&b'{') {
                let close = raw
                    .get(i + 2..)
                    .and_then(|r| r.iter().position(|&b| b == b'}'))
                    .map(|p| p + i + 2);
                if let Some(close) = close {
                    let name = raw.get(i + 2..close).unwrap_or_default();
                    let value = std::str::from_utf8(name)
                        .ok()
                        .and_then(|n| self.vars.get(n).or_else(|| self.env.get(n)));
                    match value {
                        Some(v) => out.extend_from_slice(v.as_bytes()),
                        None => {
                            if !name.contains(&b':') {
                                self.warn(
                                    at(file, line),
                                    format!("Config variable ${{{}}} is not defined", lossy(name)),
                                );
                            }
                            out.extend_from_slice(raw.get(i..=close).unwrap_or_default());
                        }
                    }
                    if out.len() > APACHE_LINE {
                        self.error(
                            at(file, line),
                            format!(
                                "{}: line after ${{}} expansion ignored",
                                budget::exceeded("APACHE_LINE", budget::bytes(APACHE_LINE as u64))
                            ),
                        );
                        return None;
                    }
                    i = close + 1;
                    continue;
                }
            }
            out.push(c);
            i += 1;
        }
        self.bytes = self.bytes.saturating_add(out.len() as u64);
        Some(Cow::Owned(out))
    }

    /// `ap_build_config` over the lines of one file (or of `-C`/`-c`).
    fn process_lines<'l>(
        &mut self,
        file: &Path,
        lines: &mut dyn Iterator<Item = (usize, Option<Cow<'l, [u8]>>)>,
        ctx: &[String],
    ) {
        let mut frames: Vec<Frame> = Vec::new();
        // `ctx` and the labels of the open containers, kept in step with
        // `frames` so that a line costs no copy of its context.
        let mut full: Vec<String> = ctx.to_vec();
        while let Some((line_no, raw)) = lines.next() {
            let Some(raw) = raw else {
                self.too_long(file, line_no);
                continue;
            };
            if raw.is_empty() || raw.first() == Some(&b'#') {
                continue;
            }
            if self.exhausted {
                return;
            }
            if self.bytes >= APACHE_TOTAL_BYTES {
                let total = budget::bytes(APACHE_TOTAL_BYTES);
                return self.stop(&at(file, line_no), "APACHE_TOTAL_BYTES", total);
            }
            if let Some(Frame::Cond(name)) = frames.last() {
                if is_end_of(&raw, name) {
                    frames.pop();
                    continue;
                }
            }
            if unmodelled(&raw) {
                continue;
            }
            let Some(line) = self.expand(file, line_no, &raw) else {
                continue;
            };
            let (cmd, rest) = getword_conf(&line);
            if cmd.starts_with(b"</") {
                self.close_section(file, line_no, &cmd, &mut frames);
                let open = frames
                    .iter()
                    .filter(|f| matches!(f, Frame::Container { .. }))
                    .count();
                full.truncate(ctx.len() + open);
                continue;
            }
            if cmd.starts_with(b"<") && ctx.len() + frames.len() >= APACHE_SECTION_DEPTH {
                return self.error(
                    at(file, line_no),
                    format!(
                        "{}: the rest of this file is not read",
                        budget::exceeded("APACHE_SECTION_DEPTH", APACHE_SECTION_DEPTH)
                    ),
                );
            }
            if let Some(name) = cmd.strip_prefix(b"<") {
                let ends = name.last() == Some(&b'>');
                let name = if ends {
                    name.get(..name.len() - 1).unwrap_or_default()
                } else {
                    name
                };
                let args: &[u8] = if rest.is_empty() && ends { b">" } else { rest };
                let lname = name.to_ascii_lowercase();
                match lname.as_slice() {
                    b"ifmodule" | b"ifdefine" | b"iffile" | b"ifdirective" | b"ifsection" => {
                        match self.condition(file, line_no, name, &lname, args) {
                            Some(true) => frames.push(Frame::Cond(name.to_vec())),
                            _ => {
                                if !self.soak(file, lines, line_no, name, ctx.len() + frames.len())
                                {
                                    return;
                                }
                            }
                        }
                    }
                    b"macro" => {
                        // mod_macro keeps the body for `Use`; nothing in it
                        // runs where it is written.
                        if !self.soak(file, lines, line_no, name, ctx.len() + frames.len()) {
                            return;
                        }
                    }
                    _ => {
                        let inner = match args.iter().rposition(|&c| c == b'>') {
                            Some(p) => trim(args.get(..p).unwrap_or_default()),
                            None => {
                                self.error(
                                    at(file, line_no),
                                    format!("<{}> directive missing closing '>'", lossy(name)),
                                );
                                trim(args)
                            }
                        };
                        let label = if inner.is_empty() {
                            format!("<{}>", lossy(name))
                        } else {
                            format!("<{} {}>", lossy(name), lossy(inner))
                        };
                        self.bytes = self.bytes.saturating_add(label.len() as u64);
                        full.push(label);
                        frames.push(Frame::Container {
                            name: name.to_vec(),
                        });
                    }
                }
                continue;
            }
            self.directive(file, line_no, &cmd, rest, &full);
        }
        // httpd accepts a taken conditional section left open at the end of
        // a file, but not a container.
        for f in frames {
            if let Frame::Container { name, .. } = f {
                self.error(
                    file.to_path_buf(),
                    format!("<{}> was not closed.", lossy(&name)),
                );
            }
        }
    }

    fn close_section(&mut self, file: &Path, line: usize, cmd: &[u8], frames: &mut Vec<Frame>) {
        let mut name = cmd.get(2..).unwrap_or_default();
        match name.strip_suffix(b">") {
            Some(n) => name = n,
            None => self.error(
                at(file, line),
                format!("</{}> directive missing closing '>'", lossy(name)),
            ),
        }
        let top = frames.last().map(|f| match f {
            Frame::Cond(n) | Frame::Container { name: n, .. } => n.clone(),
        });
        match top {
            None => self.error(
                at(file, line),
                format!("</{0}> without matching <{0}> section", lossy(name)),
            ),
            Some(t) if t.eq_ignore_ascii_case(name) => {
                frames.pop();
            }
            Some(t) => {
                self.error(
                    at(file, line),
                    format!("Expected </{}> but saw </{}>", lossy(&t), lossy(name)),
                );
                // Close up to the section it names, if one is open.
                if let Some(pos) = frames.iter().rposition(|f| match f {
                    Frame::Cond(n) | Frame::Container { name: n, .. } => {
                        n.eq_ignore_ascii_case(name)
                    }
                }) {
                    frames.truncate(pos);
                }
            }
        }
    }

    /// `start_cond_section`: `None` when the section is malformed (httpd
    /// refuses it; its body is skipped here).
    fn condition(
        &mut self,
        file: &Path,
        line: usize,
        name: &[u8],
        lname: &[u8],
        args: &[u8],
    ) -> Option<bool> {
        let Some(end) = args.iter().rposition(|&c| c == b'>') else {
            self.error(
                at(file, line),
                format!("<{}> directive missing closing '>'", lossy(name)),
            );
            return None;
        };
        let inner = args.get(..end).unwrap_or_default();
        let (not, inner) = match inner.strip_prefix(b"!") {
            Some(r) => (true, r),
            None => (false, inner),
        };
        let (arg, _) = getword_conf(inner);
        if arg.is_empty() {
            self.error(
                at(file, line),
                format!("<{}> directive requires additional arguments", lossy(name)),
            );
            return None;
        }
        let result = match lname {
            b"ifmodule" => self.module_known(&lossy(&arg)),
            b"ifdefine" => self.defines.contains(&lossy(&arg)),
            b"iffile" => self.root.kind(&self.server_root_relative(&arg)).is_some(),
            _ => {
                self.warn(
                    at(file, line),
                    format!(
                        "<{} {}> cannot be evaluated from files: taken as true",
                        lossy(name),
                        lossy(&arg)
                    ),
                );
                true
            }
        };
        Some(result != not)
    }

    /// `find_module`: a compiled-in module by module name (`core.c`) or
    /// symbol (`core_module`, `ap_prelinked_module_symbols`), a loaded one
    /// by its `LoadModule` identifier (`ap_find_loaded_module_symbol`) or
    /// its module name ([`module_source_name`]).
    fn module_known(&self, name: &str) -> bool {
        self.builtin
            .iter()
            .any(|b| b.symbol == name || b.source == name)
            || self
                .loaded
                .iter()
                .any(|(ident, source)| ident == name || source.as_deref() == Some(name))
    }

    fn mpm_loaded(&self) -> bool {
        let mpm =
            |s: &str| matches!(s, "prefork.c" | "worker.c" | "event.c") || s.starts_with("mpm_");
        self.builtin.iter().any(|b| mpm(&b.source))
            || self
                .loaded
                .iter()
                .any(|(ident, _)| ident.starts_with("mpm_"))
    }

    /// `ap_soak_end_container`: skips to the end of a section that is not
    /// taken, counting nested sections, without expanding anything. False
    /// when the rest of the file is not to be read: sections nest deeper
    /// than [`APACHE_SECTION_DEPTH`] (with the `depth` already open).
    fn soak<'l>(
        &mut self,
        file: &Path,
        lines: &mut dyn Iterator<Item = (usize, Option<Cow<'l, [u8]>>)>,
        start: usize,
        name: &[u8],
        depth: usize,
    ) -> bool {
        let mut open: Vec<Vec<u8>> = vec![name.to_vec()];
        for (line_no, raw) in &mut *lines {
            let Some(raw) = raw else {
                self.too_long(file, line_no);
                continue;
            };
            let (w, rest) = getword_conf(&raw);
            if w.first() != Some(&b'<') {
                continue;
            }
            if w.get(1) == Some(&b'/') {
                // httpd drops the last character, normally the '>'.
                let n = w
                    .get(2..w.len().saturating_sub(1).max(2))
                    .unwrap_or_default();
                let Some(top) = open.pop() else { return true };
                if !n.eq_ignore_ascii_case(&top) {
                    self.error(
                        at(file, line_no),
                        format!("Expected </{}> but saw </{}>", lossy(&top), lossy(n)),
                    );
                    return true;
                }
                if open.is_empty() {
                    return true;
                }
            } else {
                if depth + open.len() >= APACHE_SECTION_DEPTH {
                    self.error(
                        at(file, line_no),
                        format!(
                            "{}: the rest of this file is not read",
                            budget::exceeded("APACHE_SECTION_DEPTH", APACHE_SECTION_DEPTH)
                        ),
                    );
                    return false;
                }
                let mut n = w.get(1..).unwrap_or_default();
                if rest.is_empty() {
                    n = n.strip_suffix(b">").unwrap_or(n);
                }
                open.push(n.to_vec());
            }
        }
        self.error(
            at(file, start),
            format!("Expected </{}> before end of configuration", lossy(name)),
        );
        true
    }

    /// A line longer than [`APACHE_LINE`], which is not read.
    fn too_long(&mut self, file: &Path, line: usize) {
        self.error(
            at(file, line),
            format!(
                "{}: line ignored",
                budget::exceeded("APACHE_LINE", budget::bytes(APACHE_LINE as u64))
            ),
        );
    }

    /// Keeps a directive: at most [`APACHE_DIRECTIVES`], their contexts
    /// counted toward [`APACHE_TOTAL_BYTES`].
    fn push(&mut self, file: &Path, line: usize, ctx: &[String], kind: DirectiveKind) {
        if self.exhausted {
            return;
        }
        if self.directives.len() >= APACHE_DIRECTIVES {
            return self.stop(&at(file, line), "APACHE_DIRECTIVES", APACHE_DIRECTIVES);
        }
        let kept =
            ctx.iter().map(String::len).sum::<usize>() + file.as_os_str().len() + kind_bytes(&kind);
        self.bytes = self.bytes.saturating_add(kept as u64);
        self.directives.push(Directive {
            file: file.to_path_buf(),
            line,
            context: ctx.to_vec(),
            kind,
        });
    }

    /// One directive after expansion; `cmd` is its name as written.
    fn directive(&mut self, file: &Path, line: usize, cmd: &[u8], rest: &[u8], ctx: &[String]) {
        let lname = cmd.to_ascii_lowercase();
        if !MODELLED.contains(&lname.as_slice()) && !lname.starts_with(b"python") {
            // Nothing else changes what is loaded: a line of another
            // directive costs no more than reading it.
            return;
        }
        let here = at(file, line);
        let args = words(rest);
        // TAKE1: exactly one non-empty word (`invoke_cmd`).
        let take1 = |args: &[Vec<u8>]| match args {
            [w] if !w.is_empty() => Some(w.clone()),
            _ => None,
        };
        match lname.as_slice() {
            b"serverroot" => {
                let Some(w) = take1(&args) else {
                    return self.error(here, "ServerRoot takes one argument");
                };
                let dir = self.server_root_relative(&w);
                if self.root.is_dir(&dir) {
                    self.server_root = dir;
                } else {
                    self.error(
                        here,
                        format!("ServerRoot must be a valid directory ({})", dir.display()),
                    );
                }
            }
            b"define" => match args.as_slice() {
                [name] | [name, _] if !name.is_empty() => {
                    if name.contains(&b':') {
                        return self.error(here, "Variable name must not contain ':'");
                    }
                    let name = lossy(name);
                    self.defines.insert(name.clone());
                    if let [_, value] = args.as_slice() {
                        self.vars.insert(name, lossy(value));
                    }
                }
                _ => self.error(here, "Define takes one or two arguments"),
            },
            b"undefine" => {
                let Some(w) = take1(&args) else {
                    return self.error(here, "UnDefine takes one argument");
                };
                if w.contains(&b':') {
                    return self.error(here, "Variable name must not contain ':'");
                }
                let name = lossy(&w);
                self.defines.remove(&name);
                self.vars.remove(&name);
            }
            b"include" | b"includeoptional" => {
                let optional = lname == b"includeoptional";
                let Some(w) = take1(&args) else {
                    return self.error(here, format!("{} takes one argument", lossy(cmd)));
                };
                if self.charge(1, &here) {
                    self.include(&here, &w, optional, ctx);
                }
            }
            b"loadmodule" => self.load_module(file, line, &args, ctx),
            b"loadfile" => {
                // ITERATE: up to the first empty word.
                if args.first().is_none_or(|w| w.is_empty()) {
                    return self.error(here, "LoadFile takes one or more arguments");
                }
                for w in args.iter().take_while(|w| !w.is_empty()) {
                    if self.exhausted {
                        break;
                    }
                    let (path, fallback) = self.dso_path(w);
                    self.check_dso(&here, "LoadFile", w, &path, fallback.is_some());
                    self.push(file, line, ctx, DirectiveKind::LoadFile { path, fallback });
                }
            }
            b"phpinidir" => {
                let Some(w) = take1(&args) else {
                    return self.error(here, "PHPINIDir takes one argument");
                };
                if self.php_ini_dir {
                    return self.error(
                        here,
                        "Only first PHPINIDir directive honored per configuration tree - subsequent ones ignored",
                    );
                }
                self.php_ini_dir = true;
                let dir = self.server_root_relative(&w);
                self.push(file, line, ctx, DirectiveKind::PhpIniDir(dir));
            }
            b"wsgipythonhome" => match take1(&args) {
                Some(w) => self.push(file, line, ctx, DirectiveKind::WsgiPythonHome(path_of(&w))),
                None => self.error(here, "WSGIPythonHome takes one argument"),
            },
            b"wsgipythonpath" => match take1(&args) {
                Some(w) => {
                    let dirs = w
                        .split(|&c| c == b':')
                        .filter(|d| !d.is_empty())
                        .map(path_of)
                        .collect();
                    self.push(file, line, ctx, DirectiveKind::WsgiPythonPath(dirs));
                }
                None => self.error(here, "WSGIPythonPath takes one argument"),
            },
            b"wsgidaemonprocess" => {
                let (name, opts) = getword_conf(rest);
                if name.is_empty() {
                    return self.error(here, "Name of WSGI daemon process not supplied.");
                }
                let Some(options) = wsgi_options(opts) else {
                    return self.error(here, "Invalid option to WSGI daemon process definition.");
                };
                self.push(
                    file,
                    line,
                    ctx,
                    DirectiveKind::WsgiDaemonProcess {
                        name: lossy(&name),
                        options,
                    },
                );
            }
            b"wsgiprocessgroup" => match take1(&args) {
                Some(w) => self.push(file, line, ctx, DirectiveKind::WsgiProcessGroup(lossy(&w))),
                None => self.error(here, "WSGIProcessGroup takes one argument"),
            },
            b"wsgiapplicationgroup" => match take1(&args) {
                Some(w) => self.push(
                    file,
                    line,
                    ctx,
                    DirectiveKind::WsgiApplicationGroup(lossy(&w)),
                ),
                None => self.error(here, "WSGIApplicationGroup takes one argument"),
            },
            b"wsgilazyinitialization" => {
                let on = take1(&args).and_then(|w| match w.to_ascii_lowercase().as_slice() {
                    b"on" => Some(true),
                    b"off" => Some(false),
                    _ => None,
                });
                match on {
                    Some(on) => {
                        self.push(file, line, ctx, DirectiveKind::WsgiLazyInitialization(on))
                    }
                    None => self.error(here, "WSGILazyInitialization must be On or Off"),
                }
            }
            b"wsgiscriptalias" | b"wsgiscriptaliasmatch" => {
                let (url, r) = getword_conf(rest);
                let (script, mut opts) = getword_conf(r);
                if url.is_empty() || script.is_empty() {
                    return self.error(
                        here,
                        format!("{} requires at least two arguments", lossy(cmd)),
                    );
                }
                let mut options = BTreeMap::new();
                while !opts.is_empty() {
                    let Some((k, v, r)) = wsgi_option(opts) else {
                        return self.error(here, "Invalid option to WSGI script alias definition.");
                    };
                    options.insert(k, v);
                    opts = r;
                }
                self.push(
                    file,
                    line,
                    ctx,
                    DirectiveKind::WsgiScriptAlias {
                        url: lossy(&url),
                        path: path_of(&script),
                        regex: lname == b"wsgiscriptaliasmatch",
                        options,
                    },
                );
            }
            b"wsgiimportscript" => {
                let (script, opts) = getword_conf(rest);
                if script.is_empty() {
                    return self.error(here, "Location of import script not supplied.");
                }
                let Some(options) = wsgi_options(opts) else {
                    return self.error(here, "Invalid option to WSGI import script definition.");
                };
                self.push(
                    file,
                    line,
                    ctx,
                    DirectiveKind::WsgiImportScript {
                        path: path_of(&script),
                        options,
                    },
                );
            }
            b"error" => {
                // `Error` stops httpd wherever the walk reaches it.
                self.error(here, format!("Error directive: {}", lossy(rest)));
            }
            b"use" => self.warn(
                here,
                "mod_macro `Use` is not expanded: what the macro loads is not modelled",
            ),
            _ if lname.starts_with(b"python") => {
                self.push(
                    file,
                    line,
                    ctx,
                    DirectiveKind::ModPython {
                        directive: lossy(cmd),
                        args: args.iter().map(|a| lossy(a)).collect(),
                    },
                );
            }
            _ => {}
        }
    }

    /// mod_so `load_module`: a module already loaded is skipped with a
    /// warning, a compiled-in one refused; the identifier counts as loaded
    /// before the file is opened.
    fn load_module(&mut self, file: &Path, line: usize, args: &[Vec<u8>], ctx: &[String]) {
        let here = at(file, line);
        let [name, so] = args else {
            return self.error(
                here,
                "LoadModule takes two arguments, a module name and the name of a shared object file to load it from",
            );
        };
        if name.is_empty() || so.is_empty() {
            return self.error(
                here,
                "LoadModule takes two arguments, a module name and the name of a shared object file to load it from",
            );
        }
        let name = lossy(name);
        if self.loaded.iter().any(|(n, _)| *n == name) {
            return self.warn(here, format!("module {name} is already loaded, skipping"));
        }
        // `ap_preloaded_modules`: mod_FOO.c compiled in refuses FOO_module.
        let builtin = self.builtin.iter().any(|b| {
            let stem = b
                .source
                .strip_prefix("mod_")
                .and_then(|s| s.strip_suffix(".c"));
            stem.is_some() && stem == name.strip_suffix("_module")
        });
        if builtin {
            return self.error(
                here,
                format!("module {name} is built-in and can't be loaded"),
            );
        }
        let source = module_source_name(&name);
        self.loaded.push((name.clone(), source));
        let (path, fallback) = self.dso_path(so);
        self.check_dso(&here, "LoadModule", so, &path, fallback.is_some());
        self.push(
            file,
            line,
            ctx,
            DirectiveKind::LoadModule {
                name,
                path,
                fallback,
            },
        );
    }

    /// `dso_load`: the name made absolute against ServerRoot, and the bare
    /// name it falls back to when written without a `/`.
    fn dso_path(&self, written: &[u8]) -> (PathBuf, Option<String>) {
        let path = self.server_root_relative(written);
        let fallback = (!written.contains(&b'/')).then(|| lossy(written));
        (path, fallback)
    }

    fn check_dso(
        &mut self,
        here: &Path,
        what: &str,
        written: &[u8],
        path: &Path,
        has_fallback: bool,
    ) {
        let problem = match self.root.resolve(path) {
            Ok((_, Kind::Regular)) => return,
            Ok((_, Kind::Directory)) => "is a directory".to_string(),
            Ok((_, Kind::Other(k))) => format!("is not a regular file ({k})"),
            Err(e) => e.to_string(),
        };
        if has_fallback {
            // dlopen's own search may still find the bare name.
            self.warn(
                here.to_path_buf(),
                format!(
                    "{what}: {} {problem}; httpd retries `{}` with the dynamic linker's search",
                    path.display(),
                    lossy(written)
                ),
            );
        } else {
            self.error(
                here.to_path_buf(),
                format!(
                    "{what}: Cannot load {} into server: {problem}",
                    path.display()
                ),
            );
        }
    }

    /// `include_config` → `ap_process_fnmatch_configs` (H3).
    fn include(&mut self, here: &Path, arg: &[u8], optional: bool, ctx: &[String]) {
        if self.stack.len() > APACHE_INCLUDE_DEPTH {
            return self.error(
                here.to_path_buf(),
                format!(
                    "{}: Exceeded maximum include depth of {APACHE_INCLUDE_DEPTH}, There appears to be a recursion.",
                    budget::exceeded("APACHE_INCLUDE_DEPTH", APACHE_INCLUDE_DEPTH)
                ),
            );
        }
        let path = self.server_root_relative(arg);
        let bytes = path.as_os_str().as_bytes().to_vec();
        if !fnmatch_test(&bytes) {
            self.include_path(&path, None, optional, ctx, here, 0);
        } else {
            let comps: Vec<&[u8]> = bytes
                .split(|&c| c == b'/')
                .filter(|c| !c.is_empty())
                .collect();
            self.include_glob(Path::new("/"), &comps, optional, ctx, here, 0);
        }
    }

    /// `ap_dir_nofnmatch` with `AP_DIR_FLAG_RECURSIVE`: a directory brings
    /// every entry in it (hidden ones too) in byte-wise order, recursively;
    /// `IncludeOptional` tolerates a path that cannot be `stat`ed. Every
    /// entry looked at counts toward [`APACHE_INCLUDE_WORK`]: httpd follows
    /// symlinks to directories with no check but the nesting level, so
    /// two links per level double the work per level. `dir` is where
    /// `path`'s directory resolved to, when known: an entry is resolved
    /// from there, as the same lookup from `/` would end, without walking
    /// every link of `path` again.
    fn include_path(
        &mut self,
        path: &Path,
        dir: Option<&Path>,
        optional: bool,
        ctx: &[String],
        here: &Path,
        depth: usize,
    ) {
        if path.as_os_str().len() > APACHE_PATH {
            if !optional {
                self.error(here.to_path_buf(), too_long_path(path));
            }
            return;
        }
        let resolved = match (dir, path.file_name()) {
            (Some(d), Some(name)) => self.root.resolve(&d.join(name)),
            _ => self.root.resolve(path),
        };
        match resolved {
            Ok((canonical, Kind::Directory)) => {
                if depth >= APACHE_DIR_DEPTH {
                    return self.error(
                        here.to_path_buf(),
                        format!(
                            "{}: Directory '{}' exceeds the maximum include directory nesting level of {APACHE_DIR_DEPTH}",
                            budget::exceeded("APACHE_DIR_DEPTH", APACHE_DIR_DEPTH),
                            path.display()
                        ),
                    );
                }
                if self.dir_stack.contains(&canonical) {
                    return self.error(
                        here.to_path_buf(),
                        format!(
                            "Include of directory {} loops back into itself: not read again",
                            path.display()
                        ),
                    );
                }
                let names = match self.root.read_dir(&canonical) {
                    Ok(n) => n,
                    Err(e) => {
                        return self.error(
                            here.to_path_buf(),
                            format!("Could not open directory {}: {e}", path.display()),
                        );
                    }
                };
                self.dir_stack.push(canonical.clone());
                for n in names {
                    if !self.charge(1, here) {
                        break;
                    }
                    self.include_path(
                        &path.join(n),
                        Some(&canonical),
                        optional,
                        ctx,
                        here,
                        depth + 1,
                    );
                }
                self.dir_stack.pop();
            }
            Err(_) if optional => {}
            _ => self.process_file(path, ctx, Some(here)),
        }
    }

    /// `ap_dir_fnmatch`: one component at a time from `/`; a wildcard
    /// component matches names in byte-wise order (`fname_alphasort`), a
    /// leading `.` only literally (`APR_FNM_PERIOD`); inside the path only
    /// entries that are directories themselves (not symlinks to one: the
    /// type comes from `readdir`) are followed. Every name looked at counts
    /// toward [`APACHE_INCLUDE_WORK`]; wildcard components nest at most
    /// [`APACHE_DIR_DEPTH`] deep (`depth` of them so far).
    fn include_glob(
        &mut self,
        base: &Path,
        comps: &[&[u8]],
        optional: bool,
        ctx: &[String],
        here: &Path,
        depth: usize,
    ) {
        // Literal components are joined without recursing.
        let mut base = base.to_path_buf();
        let mut comps = comps;
        while let Some((first, rest)) = comps.split_first() {
            if fnmatch_test(first) {
                break;
            }
            base.push(OsStr::from_bytes(first));
            comps = rest;
        }
        let Some((first, rest)) = comps.split_first() else {
            return self.include_path(&base, None, optional, ctx, here, 0);
        };
        if base.as_os_str().len() > APACHE_PATH {
            return self.error(here.to_path_buf(), too_long_path(&base));
        }
        if depth >= APACHE_DIR_DEPTH {
            return self.error(
                here.to_path_buf(),
                format!(
                    "{}: wildcards nested deeper than {APACHE_DIR_DEPTH} directories in {}: not followed",
                    budget::exceeded("APACHE_DIR_DEPTH", APACHE_DIR_DEPTH),
                    base.display()
                ),
            );
        }
        let names = match self.root.entries(&base) {
            Ok(n) => n,
            Err(e) => {
                let enoent = match &e {
                    RootError::NotFound => true,
                    RootError::Io(io) => io.kind() == std::io::ErrorKind::NotFound,
                    _ => false,
                };
                if !(optional && enoent) {
                    self.error(
                        here.to_path_buf(),
                        format!(
                            "Include/IncludeOptional: Could not open directory {}: {e}",
                            base.display()
                        ),
                    );
                }
                return;
            }
        };
        let mut matched = Vec::new();
        for (n, kind) in names {
            if !self.charge(1, here) {
                return;
            }
            if !fnmatch(first, n.as_bytes()) {
                continue;
            }
            if !rest.is_empty() && kind != Kind::Directory {
                continue;
            }
            matched.push(base.join(&n));
        }
        if matched.is_empty() {
            if !optional {
                self.error(
                    here.to_path_buf(),
                    format!(
                        "Include/IncludeOptional: No matches for the wildcard '{}' in '{}', failing",
                        lossy(first),
                        base.display()
                    ),
                );
            }
            return;
        }
        for p in matched {
            if self.exhausted {
                break;
            }
            if rest.is_empty() {
                self.include_path(&p, None, optional, ctx, here, 0);
            } else {
                self.include_glob(&p, rest, optional, ctx, here, depth + 1);
            }
        }
    }
}

/// About the bytes a directive keeps from the configuration, toward
/// [`APACHE_TOTAL_BYTES`].
fn kind_bytes(kind: &DirectiveKind) -> usize {
    let path = |p: &Path| p.as_os_str().len();
    let map =
        |m: &BTreeMap<String, String>| m.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    match kind {
        DirectiveKind::LoadModule {
            name,
            path: p,
            fallback,
        } => name.len() + path(p) + fallback.as_ref().map_or(0, String::len),
        DirectiveKind::LoadFile { path: p, fallback } => {
            path(p) + fallback.as_ref().map_or(0, String::len)
        }
        DirectiveKind::PhpIniDir(p) | DirectiveKind::WsgiPythonHome(p) => path(p),
        DirectiveKind::WsgiPythonPath(ps) => ps.iter().map(|p| path(p)).sum(),
        DirectiveKind::WsgiDaemonProcess { name, options } => name.len() + map(options),
        DirectiveKind::WsgiProcessGroup(s) | DirectiveKind::WsgiApplicationGroup(s) => s.len(),
        DirectiveKind::WsgiLazyInitialization(_) => 0,
        DirectiveKind::WsgiScriptAlias {
            url,
            path: p,
            options,
            ..
        } => url.len() + path(p) + map(options),
        DirectiveKind::WsgiImportScript { path: p, options } => path(p) + map(options),
        DirectiveKind::ModPython { directive, args } => {
            directive.len() + args.iter().map(String::len).sum::<usize>()
        }
    }
}

/// What httpd says of a path longer than `PATH_MAX`, the path shown in
/// part.
fn too_long_path(path: &Path) -> String {
    let bytes = path.as_os_str().as_bytes();
    format!(
        "{}: {}… ({} bytes): File name too long",
        budget::exceeded("APACHE_PATH", APACHE_PATH),
        lossy(bytes.get(..256).unwrap_or(bytes)),
        bytes.len()
    )
}

/// A line of a plain directive that nothing here acts on (no `${VAR}`, not
/// a section): the common case, which then costs no more than finding it.
fn unmodelled(raw: &[u8]) -> bool {
    let end = raw.iter().position(|&c| is_space(c)).unwrap_or(raw.len());
    let word = raw.get(..end).unwrap_or_default();
    word.first().is_some_and(u8::is_ascii_alphabetic)
        && word.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
        && !raw.contains(&b'$')
        && !MODELLED.iter().any(|m| m.eq_ignore_ascii_case(word))
        && !word
            .get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"python"))
}

/// The directives [`Reader::directive`] acts on (lower case), besides
/// mod_python's `Python*`.
const MODELLED: &[&[u8]] = &[
    b"serverroot",
    b"define",
    b"undefine",
    b"include",
    b"includeoptional",
    b"loadmodule",
    b"loadfile",
    b"phpinidir",
    b"wsgipythonhome",
    b"wsgipythonpath",
    b"wsgidaemonprocess",
    b"wsgiprocessgroup",
    b"wsgiapplicationgroup",
    b"wsgilazyinitialization",
    b"wsgiscriptalias",
    b"wsgiscriptaliasmatch",
    b"wsgiimportscript",
    b"error",
    b"use",
];

/// The raw line is the end of the taken conditional section `name`
/// (`ap_build_cont_config` compares the whole line, before expansion).
fn is_end_of(raw: &[u8], name: &[u8]) -> bool {
    match raw.strip_prefix(b"</").and_then(|r| r.strip_suffix(b">")) {
        Some(n) => n.eq_ignore_ascii_case(name),
        None => false,
    }
}

/// mod_wsgi's `wsgi_parse_option`: `name=value`, the name up to `=` (no
/// white space), the value one `ap_getword_conf` word. Returns the rest.
/// Every `key=value` option of a mod_wsgi directive, or `None` at the
/// first malformed one (mod_wsgi refuses the directive).
fn wsgi_options(mut opts: &[u8]) -> Option<BTreeMap<String, String>> {
    let mut options = BTreeMap::new();
    while !opts.is_empty() {
        let (k, v, rest) = wsgi_option(opts)?;
        options.insert(k, v);
        opts = rest;
    }
    Some(options)
}

fn wsgi_option(line: &[u8]) -> Option<(String, String, &[u8])> {
    let s = skip_space(line);
    if s.is_empty() || s.first() == Some(&b'=') {
        return None;
    }
    let end = s.iter().position(|&c| c == b'=' || is_space(c))?;
    if s.get(end) != Some(&b'=') {
        return None;
    }
    let name = lossy(s.get(..end).unwrap_or_default());
    let (value, rest) = getword_conf(s.get(end + 1..).unwrap_or_default());
    Some((name, lossy(&value), rest))
}

// ---------------------------------------------------------------------
// The service environment
// ---------------------------------------------------------------------

/// systemd's unit search path, highest priority first.
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// Unit names of the distributions' httpd services (Debian and SUSE
/// `apache2`, RHEL `httpd`), tried in this order.
const UNIT_NAMES: &[&str] = &["apache2.service", "httpd.service"];

/// Where the manager's `DefaultEnvironment=` is set.
const MANAGER_CONFS: &[&str] = &["/etc/systemd/system.conf"];
const MANAGER_CONF_DIRS: &[&str] = &[
    "/etc/systemd/system.conf.d",
    "/run/systemd/system.conf.d",
    "/usr/local/lib/systemd/system.conf.d",
    "/usr/lib/systemd/system.conf.d",
    "/lib/systemd/system.conf.d",
];

/// What httpd is started with: its environment, program and arguments.
#[derive(Debug, Clone, Default)]
pub struct ServiceEnv {
    /// The systemd unit file used, if any.
    pub unit: Option<PathBuf>,
    /// The environment httpd starts with, as far as files tell it:
    /// the manager's `DefaultEnvironment=`, the unit's `Environment=` and
    /// `EnvironmentFile=`, less `UnsetEnvironment=`, then what Debian's
    /// `apache2ctl` and `envvars` export. Variables systemd adds by itself
    /// (`PATH`, `INVOCATION_ID`, ...) are not listed.
    pub vars: BTreeMap<String, String>,
    /// The httpd program started, when known.
    pub httpd: Option<PathBuf>,
    /// Its arguments (without the program name).
    pub args: Vec<String>,
    /// `-D NAME` defines in the arguments (and `DEBUG` for `-X`), in order.
    pub defines: Vec<String>,
    /// `-d DIR`.
    pub server_root: Option<PathBuf>,
    /// `-f FILE`.
    pub config_file: Option<PathBuf>,
    /// `-C DIRECTIVE`s and `-c DIRECTIVE`s.
    pub pre_directives: Vec<String>,
    pub post_directives: Vec<String>,
    /// Names in `/etc/ld.so.preload`, in order (ld.so preloads them into
    /// every process, after `LD_PRELOAD`).
    pub ld_so_preload: Vec<String>,
    /// Every file read, in order.
    pub sources: Vec<PathBuf>,
    /// What could not be read or interpreted: (`file:line` or path, reason).
    pub errors: Vec<(PathBuf, String)>,
}

impl ServiceEnv {
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub fn ld_library_path(&self) -> Option<&str> {
        self.var("LD_LIBRARY_PATH")
    }

    /// `LD_PRELOAD` split as ld.so splits it (`handle_preload_list`: at
    /// spaces and colons, empty names skipped).
    pub fn ld_preload(&self) -> Vec<&str> {
        self.var("LD_PRELOAD")
            .map(|v| v.split([' ', ':']).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }

    /// ld.so binds everything at start-up when `LD_BIND_NOW` is set to a
    /// non-empty value (`process_envvars`).
    pub fn ld_bind_now(&self) -> bool {
        self.var("LD_BIND_NOW").is_some_and(|v| !v.is_empty())
    }

    /// `LD_DYNAMIC_WEAK` counts when it is set at all.
    pub fn ld_dynamic_weak(&self) -> bool {
        self.var("LD_DYNAMIC_WEAK").is_some()
    }

    /// The options [`read_config`] needs from the service.
    pub fn config_options(&self) -> ConfigOptions {
        ConfigOptions {
            main: self.config_file.clone(),
            server_root: self.server_root.clone(),
            env: self.vars.clone(),
            defines: self.defines.clone(),
            pre_directives: self.pre_directives.clone(),
            post_directives: self.post_directives.clone(),
            builtin: None,
        }
    }
}

/// Finds the service environment of httpd on a root: the systemd unit
/// (or, without one, Debian's SysV start through `apache2ctl`, or RHEL's
/// `/etc/sysconfig/httpd`), Debian's `envvars` when the service starts
/// httpd through `apache2ctl`, and `/etc/ld.so.preload`. Nothing is
/// executed: `envvars` is interpreted for the simple shell it holds.
pub fn service_env(root: &Root) -> ServiceEnv {
    let mut out = ServiceEnv::default();
    read_ld_so_preload(root, &mut out);

    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let mut manager = UnitSettings::default();
    let mut manager_files: Vec<PathBuf> = MANAGER_CONFS.iter().map(PathBuf::from).collect();
    manager_files.extend(drop_ins(root, MANAGER_CONF_DIRS));
    for f in manager_files {
        if service_files_spent(&mut out, &f, 0) {
            break;
        }
        if root.kind(&f) == Some(Kind::Regular) {
            read_unit_file(root, &f, "manager", &mut manager, &mut out);
        }
    }
    for (k, v) in manager.environment {
        env.insert(k, v);
    }

    let unit = UNIT_NAMES.iter().find_map(|name| {
        UNIT_DIRS
            .iter()
            .map(|d| Path::new(d).join(name))
            .find(|p| root.symlink_kind(p).is_some())
            .map(|p| (p, *name))
    });
    let mut exec: Option<Vec<String>> = None;
    match unit {
        Some((path, name)) => {
            let masked = match root.resolve(&path) {
                Ok((canonical, Kind::Regular)) => canonical == Path::new("/dev/null"),
                _ => true,
            };
            let mut settings = UnitSettings::default();
            if masked {
                out.errors.push((
                    path.clone(),
                    "unit is masked or unreadable: the service does not start".into(),
                ));
            } else {
                read_unit_file(root, &path, "service", &mut settings, &mut out);
            }
            let dirs: Vec<String> = UNIT_DIRS.iter().map(|d| format!("{d}/{name}.d")).collect();
            let type_dirs: Vec<String> =
                UNIT_DIRS.iter().map(|d| format!("{d}/service.d")).collect();
            let mut all: Vec<&str> = dirs.iter().map(String::as_str).collect();
            all.extend(type_dirs.iter().map(String::as_str));
            if !masked {
                for f in drop_ins(root, &all) {
                    if service_files_spent(&mut out, &f, 0) {
                        break;
                    }
                    read_unit_file(root, &f, "service", &mut settings, &mut out);
                }
            }
            out.unit = Some(path);
            for (k, v) in settings.environment {
                env.insert(k, v);
            }
            // EnvironmentFile= overrides Environment=; later files win.
            'files: for (i, (pattern, optional, from)) in settings.env_files.into_iter().enumerate()
            {
                if service_files_spent(&mut out, &from, i) {
                    break;
                }
                let files: Vec<PathBuf> = if fnmatch_test(pattern.as_bytes()) {
                    root.glob(pattern.as_bytes())
                        .into_iter()
                        .map(|p| path_of(&p))
                        .collect()
                } else {
                    vec![PathBuf::from(&pattern)]
                };
                if files.is_empty() && !optional {
                    out.errors.push((
                        from.clone(),
                        format!(
                            "EnvironmentFile {pattern} matches nothing: the service does not start"
                        ),
                    ));
                }
                for f in files {
                    if service_files_spent(&mut out, &from, i) {
                        break 'files;
                    }
                    read_env_file(root, &f, optional, &from, &mut env, &mut out);
                }
            }
            for name in settings.unset {
                match name.split_once('=') {
                    Some((k, v)) => {
                        if env.get(k).is_some_and(|x| x == v) {
                            env.remove(k);
                        }
                    }
                    None => {
                        env.remove(&name);
                    }
                }
            }
            exec = settings.exec_start.map(|line| exec_words(&line, &env));
        }
        None => {
            let sysconfig = Path::new("/etc/sysconfig/httpd");
            if root.kind(sysconfig) == Some(Kind::Regular) {
                read_env_file(root, sysconfig, true, sysconfig, &mut env, &mut out);
                let mut words = vec!["/usr/sbin/httpd".to_string()];
                words.extend(env.get("OPTIONS").map(|o| split_ws(o)).unwrap_or_default());
                exec = Some(words);
            }
        }
    }

    let program = exec.as_ref().and_then(|w| w.first().cloned());
    let is_ctl = |p: &str| {
        matches!(
            Path::new(p).file_name().and_then(OsStr::to_str),
            Some("apachectl" | "apache2ctl")
        )
    };
    let debian_ctl = match &program {
        Some(p) => is_ctl(p),
        None => out.unit.is_none() && root.kind(Path::new("/etc/apache2/envvars")).is_some(),
    };
    if debian_ctl {
        let argv: Vec<String> = match &exec {
            Some(w) => w.iter().skip(1).cloned().collect(),
            None => vec!["start".to_string()],
        };
        apache2ctl(root, &argv, &mut env, &mut out);
    } else if let Some(words) = exec {
        let mut it = words.into_iter();
        out.httpd = it.next().map(PathBuf::from);
        out.args = it.collect();
    }
    out.vars = env;
    parse_httpd_args(&mut out);
    let errors = std::mem::take(&mut out.errors);
    out.errors = budget::cap_per_file(
        errors,
        |at: &PathBuf| at.as_os_str().as_bytes(),
        PathBuf::from("/etc/apache2/envvars"),
    );
    out
}

/// Whether [`SERVICE_FILES`] files were read for the service, with
/// `patterns` `EnvironmentFile=` globs looked at (reported once, at `at`):
/// the unit's drop-ins and globs could otherwise bring any number of
/// files.
fn service_files_spent(out: &mut ServiceEnv, at: &Path, patterns: usize) -> bool {
    if out.sources.len() + patterns < SERVICE_FILES {
        return false;
    }
    let text = format!(
        "{}: the rest of the service's files are not read",
        budget::exceeded("SERVICE_FILES", SERVICE_FILES)
    );
    if !out.errors.iter().any(|(_, e)| *e == text) {
        out.errors.push((at.to_path_buf(), text));
    }
    true
}

/// `/etc/ld.so.preload` as rtld.c reads it: `#` starts a comment anywhere,
/// names are separated by spaces, tabs, newlines and colons, a NUL ends it.
fn read_ld_so_preload(root: &Root, out: &mut ServiceEnv) {
    let path = Path::new("/etc/ld.so.preload");
    if root.symlink_kind(path).is_none() {
        return;
    }
    let bytes = match root.read(path, budget::named!(SMALL_FILE)) {
        Ok(b) => b,
        Err(e) => {
            out.errors
                .push((path.to_path_buf(), format!("cannot read: {e}")));
            return;
        }
    };
    out.sources.push(path.to_path_buf());
    let bytes = bytes.split(|&c| c == 0).next().unwrap_or_default();
    for line in bytes.split(|&c| c == b'\n') {
        let line = line.split(|&c| c == b'#').next().unwrap_or_default();
        for name in line.split(|&c| matches!(c, b' ' | b'\t' | b':')) {
            if !name.is_empty() {
                out.ld_so_preload.push(lossy(name));
            }
        }
    }
}

/// Files `*.conf` in drop-in directories, ordered by file name across all
/// of them; a name in an earlier (higher-priority) directory masks the same
/// name in a later one.
fn drop_ins(root: &Root, dirs: &[&str]) -> Vec<PathBuf> {
    let mut by_name: BTreeMap<Vec<u8>, PathBuf> = BTreeMap::new();
    let mut seen_dirs: Vec<PathBuf> = Vec::new();
    for d in dirs {
        let dir = Path::new(d);
        let Ok((canonical, Kind::Directory)) = root.resolve(dir) else {
            continue;
        };
        if seen_dirs.contains(&canonical) {
            continue;
        }
        seen_dirs.push(canonical);
        let Ok(names) = root.read_dir(dir) else {
            continue;
        };
        for n in names {
            if n.as_bytes().ends_with(b".conf") {
                by_name
                    .entry(n.as_bytes().to_vec())
                    .or_insert_with(|| dir.join(&n));
            }
        }
    }
    by_name.into_values().collect()
}

/// What a unit (or the manager's configuration) says about the start.
#[derive(Debug, Default)]
struct UnitSettings {
    /// `Environment=` (or `DefaultEnvironment=`) assignments in order.
    environment: Vec<(String, String)>,
    /// `EnvironmentFile=`: (path or glob, optional, where it was set).
    env_files: Vec<(String, bool, PathBuf)>,
    /// The last `ExecStart=` (its raw value).
    exec_start: Option<String>,
    /// `UnsetEnvironment=` names or assignments.
    unset: Vec<String>,
}

/// Reads a unit file or drop-in: `[Service]` (`kind` "service") or
/// `[Manager]` (`kind` "manager") settings, with systemd's line syntax
/// (`#`/`;` comments, a trailing backslash joins the next line with a
/// space). An empty assignment resets the list it names.
fn read_unit_file(
    root: &Root,
    path: &Path,
    kind: &str,
    s: &mut UnitSettings,
    out: &mut ServiceEnv,
) {
    let bytes = match root.read(path, budget::named!(SMALL_FILE)) {
        Ok(b) => b,
        Err(e) => {
            out.errors
                .push((path.to_path_buf(), format!("cannot read: {e}")));
            return;
        }
    };
    out.sources.push(path.to_path_buf());
    let text = String::from_utf8_lossy(&bytes);
    let mut section = String::new();
    let mut pending = String::new();
    let mut pending_line = 0usize;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if pending.is_empty() {
            pending_line = n + 1;
        }
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        let full = full.trim();
        if full.is_empty() {
            continue;
        }
        if full.starts_with('[') && full.ends_with(']') {
            section = full.to_string();
            continue;
        }
        let Some((key, value)) = full.split_once('=') else {
            out.errors.push((
                at(path, pending_line),
                format!("not an assignment, ignored: {full}"),
            ));
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let value = value.replace("%%", "%");
        let here = at(path, pending_line);
        match (kind, section.as_str(), key) {
            ("service", "[Service]", "Environment")
            | ("manager", "[Manager]", "DefaultEnvironment") => {
                if value.is_empty() {
                    s.environment.clear();
                    continue;
                }
                for word in unit_words(&value) {
                    match word.split_once('=') {
                        Some((k, v)) if env_name_ok(k) => {
                            s.environment.push((k.to_string(), v.to_string()))
                        }
                        _ => out.errors.push((
                            here.clone(),
                            format!("invalid environment assignment, ignoring: {word}"),
                        )),
                    }
                }
            }
            ("service", "[Service]", "EnvironmentFile") => {
                if value.is_empty() {
                    s.env_files.clear();
                    continue;
                }
                let (optional, file) = match value.strip_prefix('-') {
                    Some(f) => (true, f.to_string()),
                    None => (false, value.clone()),
                };
                if file.starts_with('/') {
                    s.env_files.push((file, optional, here));
                } else {
                    out.errors.push((
                        here,
                        format!("EnvironmentFile= path is not absolute, ignoring: {file}"),
                    ));
                }
            }
            ("service", "[Service]", "ExecStart") => {
                s.exec_start = (!value.is_empty()).then_some(value);
            }
            ("service", "[Service]", "UnsetEnvironment") => {
                if value.is_empty() {
                    s.unset.clear();
                } else {
                    s.unset.extend(unit_words(&value));
                }
            }
            _ => {}
        }
    }
}

/// A valid environment variable name (systemd's `env_name_is_valid`, bash
/// names).
fn env_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// systemd's `extract_first_word(…, EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE)`
/// over a whole value: words at white space, `"…"` and `'…'` quote,
/// C escapes (`\n`, `\t`, `\\`, `\"`, `\xNN`, ...) are decoded.
fn unit_words(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut started = false;
    let mut quote: Option<char> = None;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                started = true;
                match chars.next() {
                    Some('n') => cur.push('\n'),
                    Some('t') => cur.push('\t'),
                    Some('r') => cur.push('\r'),
                    Some('a') => cur.push('\x07'),
                    Some('b') => cur.push('\x08'),
                    Some('f') => cur.push('\x0c'),
                    Some('v') => cur.push('\x0b'),
                    Some('s') => cur.push(' '),
                    Some('x') => {
                        let hex: String = chars.by_ref().take(2).collect();
                        match u8::from_str_radix(&hex, 16) {
                            Ok(b) => cur.push(char::from(b)),
                            Err(_) => cur.push_str(&hex),
                        }
                    }
                    Some(other) => cur.push(other),
                    None => cur.push('\\'),
                }
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started {
                    out.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            (None, c) => {
                cur.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(cur);
    }
    out
}

/// `ExecStart=`: the prefixes `@-:+!|` go (with `@` the second word is
/// argv[0] and is dropped), then `$NAME` alone as a word becomes the
/// variable split at white space and `${NAME}` inside a word its value;
/// unknown variables are empty (systemd's `replace_env_argv`).
fn exec_words(line: &str, env: &BTreeMap<String, String>) -> Vec<String> {
    let mut words = unit_words(line);
    let mut at_sign = false;
    if let Some(first) = words.first_mut() {
        let stripped: String = first
            .trim_start_matches(|c| {
                if c == '@' {
                    at_sign = true;
                }
                matches!(c, '@' | '-' | ':' | '+' | '!' | '|')
            })
            .to_string();
        *first = stripped;
    }
    if at_sign && words.len() > 1 {
        words.remove(1);
    }
    let mut out = Vec::new();
    for w in words {
        if let Some(name) = w.strip_prefix('$').filter(|n| env_name_ok(n)) {
            out.extend(env.get(name).map(|v| split_ws(v)).unwrap_or_default());
            continue;
        }
        let mut s = String::new();
        let mut rest = w.as_str();
        while let Some(pos) = rest.find('$') {
            s.push_str(rest.get(..pos).unwrap_or_default());
            let after = rest.get(pos + 1..).unwrap_or_default();
            if let Some(r) = after.strip_prefix('$') {
                s.push('$');
                rest = r;
            } else if let Some((name, r)) = after.strip_prefix('{').and_then(|a| a.split_once('}'))
            {
                s.push_str(env.get(name).map(String::as_str).unwrap_or_default());
                rest = r;
            } else {
                s.push('$');
                rest = after;
            }
        }
        s.push_str(rest);
        out.push(s);
    }
    out
}

fn split_ws(s: &str) -> Vec<String> {
    s.split_ascii_whitespace().map(str::to_string).collect()
}

/// An `EnvironmentFile=` (or RHEL's `/etc/sysconfig/httpd`), parsed as
/// systemd's `parse_env_file_internal` does: `#`/`;` comment lines, `KEY=`
/// with white space around the key, single quotes literal, double quotes
/// with `\"`, `\\`, `` \` ``, `\$` escapes, unquoted backslash escapes any
/// character, a backslash-newline continues, trailing white space of an
/// unquoted value goes. No variable expansion. Invalid names are dropped.
fn read_env_file(
    root: &Root,
    path: &Path,
    optional: bool,
    from: &Path,
    env: &mut BTreeMap<String, String>,
    out: &mut ServiceEnv,
) {
    let bytes = match root.read(path, budget::named!(SMALL_FILE)) {
        Ok(b) => b,
        Err(e) => {
            if !(optional && e.is_absent()) {
                out.errors.push((
                    from.to_path_buf(),
                    format!(
                        "EnvironmentFile {}: {e}{}",
                        path.display(),
                        if optional {
                            ""
                        } else {
                            ": the service does not start"
                        }
                    ),
                ));
            }
            return;
        }
    };
    out.sources.push(path.to_path_buf());
    for (line, key, value) in parse_env_file(&bytes) {
        if env_name_ok(&key) {
            env.insert(key, value);
        } else {
            out.errors.push((
                at(path, line),
                format!("invalid variable name, ignored: {key}"),
            ));
        }
    }
}

/// The state machine of systemd's env-file parser: (line, key, value).
fn parse_env_file(bytes: &[u8]) -> Vec<(usize, String, String)> {
    #[derive(Clone, Copy, PartialEq)]
    enum St {
        PreKey,
        Key,
        PreValue,
        Value,
        ValueEscape,
        Single,
        Double,
        DoubleEscape,
        Comment,
        CommentEscape,
    }
    let mut out = Vec::new();
    let mut st = St::PreKey;
    let mut key: Vec<u8> = Vec::new();
    let mut value: Vec<u8> = Vec::new();
    let mut key_ws: Option<usize> = None;
    let mut value_ws: Option<usize> = None;
    let mut line = 1usize;
    let finish = |key: &mut Vec<u8>,
                  value: &mut Vec<u8>,
                  key_ws: Option<usize>,
                  value_ws: Option<usize>,
                  line: usize,
                  out: &mut Vec<(usize, String, String)>| {
        if let Some(k) = key_ws {
            key.truncate(k);
        }
        if let Some(v) = value_ws {
            value.truncate(v);
        }
        out.push((line, lossy(key), lossy(value)));
        key.clear();
        value.clear();
    };
    for &c in bytes.iter().take_while(|&&c| c != 0) {
        let newline = c == b'\n' || c == b'\r';
        let ws = matches!(c, b' ' | b'\t' | b'\n' | b'\r');
        match st {
            St::PreKey => {
                if c == b'#' || c == b';' {
                    st = St::Comment;
                } else if !ws {
                    st = St::Key;
                    key_ws = None;
                    key.push(c);
                }
                if c == b'\n' {
                    line += 1;
                }
            }
            St::Key => {
                if newline {
                    st = St::PreKey;
                    key.clear();
                    if c == b'\n' {
                        line += 1;
                    }
                } else if c == b'=' {
                    st = St::PreValue;
                    value_ws = None;
                } else {
                    if !ws {
                        key_ws = None;
                    } else if key_ws.is_none() {
                        key_ws = Some(key.len());
                    }
                    key.push(c);
                }
            }
            St::PreValue => {
                if newline {
                    st = St::PreKey;
                    finish(&mut key, &mut value, key_ws, None, line, &mut out);
                    if c == b'\n' {
                        line += 1;
                    }
                } else if c == b'\'' {
                    st = St::Single;
                } else if c == b'"' {
                    st = St::Double;
                } else if c == b'\\' {
                    st = St::ValueEscape;
                } else if !ws {
                    st = St::Value;
                    value.push(c);
                }
            }
            St::Value => {
                if newline {
                    st = St::PreKey;
                    finish(&mut key, &mut value, key_ws, value_ws, line, &mut out);
                    if c == b'\n' {
                        line += 1;
                    }
                } else if c == b'\\' {
                    st = St::ValueEscape;
                    value_ws = None;
                } else {
                    if !ws {
                        value_ws = None;
                    } else if value_ws.is_none() {
                        value_ws = Some(value.len());
                    }
                    value.push(c);
                }
            }
            St::ValueEscape => {
                st = St::Value;
                if !newline {
                    value.push(c);
                } else if c == b'\n' {
                    line += 1;
                }
            }
            St::Single => {
                if c == b'\'' {
                    st = St::PreValue;
                } else {
                    value.push(c);
                }
            }
            St::Double => {
                if c == b'"' {
                    st = St::PreValue;
                } else if c == b'\\' {
                    st = St::DoubleEscape;
                } else {
                    value.push(c);
                }
            }
            St::DoubleEscape => {
                st = St::Double;
                if matches!(c, b'"' | b'\\' | b'`' | b'$') {
                    value.push(c);
                } else if c != b'\n' {
                    value.push(b'\\');
                    value.push(c);
                }
            }
            St::Comment => {
                if c == b'\\' {
                    st = St::CommentEscape;
                } else if newline {
                    st = St::PreKey;
                    if c == b'\n' {
                        line += 1;
                    }
                }
            }
            St::CommentEscape => {
                st = if newline { St::PreKey } else { St::Comment };
                if c == b'\n' {
                    line += 1;
                }
            }
        }
    }
    match st {
        St::PreValue | St::Single | St::Double | St::DoubleEscape | St::ValueEscape => {
            finish(&mut key, &mut value, key_ws, None, line, &mut out);
        }
        St::Value => finish(&mut key, &mut value, key_ws, value_ws, line, &mut out),
        _ => {}
    }
    out
}

/// Debian's `apache2ctl` (also `apachectl`): `APACHE_CONFDIR` defaults to
/// /etc/apache2, `$APACHE_CONFDIR/envvars` (or `APACHE_ENVVARS`) is sourced
/// if it is a file, then httpd (`APACHE_HTTPD`, else /usr/sbin/apache2)
/// runs with `APACHE_ARGUMENTS` (after `-d DIR` when the confdir is not
/// /etc/apache2) and `-k ACTION`; `start` first unsets
/// `APACHE_STARTED_BY_SYSTEMD`.
fn apache2ctl(
    root: &Root,
    argv: &[String],
    env: &mut BTreeMap<String, String>,
    out: &mut ServiceEnv,
) {
    let mut sh = Shell::new(root, env);
    let confdir = match sh.get("APACHE_CONFDIR") {
        Some(d) if !d.is_empty() => d.to_string(),
        _ => {
            sh.set("APACHE_CONFDIR", "/etc/apache2");
            "/etc/apache2".to_string()
        }
    };
    let envvars = match sh.get("APACHE_ENVVARS") {
        Some(e) if !e.is_empty() => e.to_string(),
        _ => {
            let e = format!("{confdir}/envvars");
            sh.set("APACHE_ENVVARS", &e);
            e
        }
    };
    let envvars = PathBuf::from(envvars);
    if root.kind(&envvars) == Some(Kind::Regular) {
        match root.read(&envvars, budget::named!(SMALL_FILE)) {
            Ok(bytes) => {
                out.sources.push(envvars.clone());
                sh.run(&envvars, &bytes);
            }
            Err(e) => out
                .errors
                .push((envvars.clone(), format!("cannot read: {e}"))),
        }
    }
    let mut arguments = sh.get("APACHE_ARGUMENTS").unwrap_or_default().to_string();
    if confdir != "/etc/apache2" {
        arguments = format!("-d {confdir} {arguments}");
    }
    let httpd = match sh.get("APACHE_HTTPD") {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => "/usr/sbin/apache2".to_string(),
    };
    let mut httpd_words = split_ws(&httpd).into_iter();
    out.httpd = httpd_words.next().map(PathBuf::from);
    let mut args: Vec<String> = httpd_words.collect();
    args.extend(split_ws(&arguments));
    let action = argv.join(" ");
    match action.as_str() {
        "start" => {
            sh.unset("APACHE_STARTED_BY_SYSTEMD");
            args.extend(["-k".to_string(), action]);
        }
        "stop" | "graceful-stop" | "restart" | "graceful" => {
            args.extend(["-k".to_string(), action])
        }
        "" => out.errors.push((
            PathBuf::from("/usr/sbin/apache2ctl"),
            "apache2ctl without an action does not start httpd".into(),
        )),
        _ => args.extend(argv.iter().cloned()),
    }
    out.args = args;
    out.errors.append(&mut sh.errors);
    *env = sh.exported();
}

/// httpd's own options (`AP_SERVER_BASEARGS` in server/main.c): `-D`, `-X`
/// (`DEBUG`), `-d`, `-f`, `-C`, `-c`; an option's argument is the rest of
/// its word or the next word.
fn parse_httpd_args(out: &mut ServiceEnv) {
    let mut i = 0;
    while let Some(a) = out.args.get(i) {
        i += 1;
        let Some(opt) = a.strip_prefix('-') else {
            continue;
        };
        let mut chars = opt.chars();
        let Some(c) = chars.next() else { continue };
        let takes_arg = matches!(c, 'C' | 'c' | 'D' | 'd' | 'E' | 'e' | 'f' | 'k');
        if c == 'X' {
            out.defines.push("DEBUG".into());
            continue;
        }
        if !takes_arg {
            continue;
        }
        let inline: String = chars.collect();
        let value = if inline.is_empty() {
            let v = out.args.get(i).cloned();
            i += 1;
            match v {
                Some(v) => v,
                None => continue,
            }
        } else {
            inline
        };
        match c {
            'D' => out.defines.push(value),
            'd' => out.server_root = Some(PathBuf::from(value)),
            'f' => out.config_file = Some(PathBuf::from(value)),
            'C' => out.pre_directives.push(value),
            'c' => out.post_directives.push(value),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------
// envvars: a small POSIX sh interpreter (assignments, export, unset, if)
// ---------------------------------------------------------------------

/// One simple command of a shell file: its raw words (quotes kept), the
/// line it starts on, and why it cannot be interpreted, if so.
#[derive(Debug)]
struct ShCmd {
    line: usize,
    words: Vec<Vec<u8>>,
    problem: Option<&'static str>,
}

/// Splits shell text into simple commands at unquoted newlines and `;`,
/// words at unquoted blanks; comments, quotes and `${...}` are respected,
/// a backslash-newline joins lines. Pipelines, `&&`/`||`, redirections,
/// subshells and command substitution mark the command as not
/// interpretable.
fn sh_commands(src: &[u8]) -> Vec<ShCmd> {
    let mut out = Vec::new();
    let mut cmd = ShCmd {
        line: 1,
        words: Vec::new(),
        problem: None,
    };
    let mut word: Vec<u8> = Vec::new();
    let mut in_word = false;
    let mut line = 1usize;
    let mut i = 0usize;
    let len = src.len();
    // Index of the byte that closes a run starting at `from`, or `len`.
    let find = |from: usize, b: u8| {
        src.get(from..)
            .and_then(|r| r.iter().position(|&c| c == b))
            .map_or(len, |p| p + from)
    };
    let lines_in = |a: usize, b: usize| {
        src.get(a..b.min(len))
            .map_or(0, |s| s.iter().filter(|&&c| c == b'\n').count())
    };
    macro_rules! start_word {
        () => {
            if !in_word {
                if cmd.words.is_empty() {
                    cmd.line = line;
                }
                in_word = true;
            }
        };
    }
    macro_rules! end_word {
        () => {
            if in_word {
                cmd.words.push(std::mem::take(&mut word));
                in_word = false;
            }
        };
    }
    while let Some(&c) = src.get(i) {
        match c {
            b'\\' => match src.get(i + 1) {
                Some(b'\n') => {
                    i += 2;
                    line += 1;
                }
                Some(&n) => {
                    start_word!();
                    word.extend_from_slice(&[c, n]);
                    i += 2;
                }
                None => {
                    start_word!();
                    word.push(c);
                    i += 1;
                }
            },
            b'\'' => {
                start_word!();
                let end = find(i + 1, b'\'');
                line += lines_in(i, end);
                word.extend_from_slice(src.get(i..(end + 1).min(len)).unwrap_or_default());
                i = end + 1;
            }
            b'"' => {
                start_word!();
                let mut j = i + 1;
                while let Some(&d) = src.get(j) {
                    match d {
                        b'"' => break,
                        b'\\' => j += 1,
                        b'`' => cmd.problem = Some("command substitution"),
                        b'$' if src.get(j + 1) == Some(&b'(') => {
                            cmd.problem = Some("command substitution")
                        }
                        _ => {}
                    }
                    j += 1;
                }
                let end = j.min(len);
                line += lines_in(i, end);
                word.extend_from_slice(src.get(i..(end + 1).min(len)).unwrap_or_default());
                i = end + 1;
            }
            b'`' => {
                start_word!();
                cmd.problem = Some("command substitution");
                let end = find(i + 1, b'`');
                line += lines_in(i, end);
                i = end + 1;
            }
            b'$' if src.get(i + 1) == Some(&b'(') => {
                start_word!();
                cmd.problem = Some("command substitution");
                let mut depth = 0usize;
                let mut j = i + 1;
                while let Some(&d) = src.get(j) {
                    match d {
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        b'\n' => line += 1,
                        _ => {}
                    }
                    j += 1;
                }
                i = j + 1;
            }
            b'$' if src.get(i + 1) == Some(&b'{') => {
                start_word!();
                let end = matching_brace(src, i + 2);
                line += lines_in(i, end);
                word.extend_from_slice(src.get(i..(end + 1).min(len)).unwrap_or_default());
                i = end + 1;
            }
            b'#' if !in_word => {
                i = find(i, b'\n');
            }
            b' ' | b'\t' => {
                end_word!();
                i += 1;
            }
            b'\n' | b';' => {
                end_word!();
                if !cmd.words.is_empty() || cmd.problem.is_some() {
                    out.push(std::mem::replace(
                        &mut cmd,
                        ShCmd {
                            line,
                            words: Vec::new(),
                            problem: None,
                        },
                    ));
                }
                if c == b'\n' {
                    line += 1;
                }
                i += 1;
            }
            b'&' | b'|' => {
                end_word!();
                cmd.problem = Some("pipelines and && / || lists");
                i += 1;
            }
            b'<' | b'>' | b'(' | b')' => {
                start_word!();
                cmd.problem = Some(if matches!(c, b'<' | b'>') {
                    "redirections"
                } else {
                    "subshells and functions"
                });
                word.push(c);
                i += 1;
            }
            _ => {
                start_word!();
                word.push(c);
                i += 1;
            }
        }
    }
    if in_word {
        cmd.words.push(word);
    }
    if !cmd.words.is_empty() || cmd.problem.is_some() {
        out.push(cmd);
    }
    out
}

/// Index of the `}` closing a `${` whose body starts at `from` (nested
/// `${` counted, quotes skipped), or the end.
fn matching_brace(src: &[u8], from: usize) -> usize {
    let mut depth = 0usize;
    let mut j = from;
    while let Some(&c) = src.get(j) {
        match c {
            b'\\' => j += 1,
            b'\'' => {
                j = src
                    .get(j + 1..)
                    .and_then(|r| r.iter().position(|&d| d == b'\''))
                    .map_or(src.len(), |p| p + j + 1);
            }
            b'$' if src.get(j + 1) == Some(&b'{') => {
                depth += 1;
                j += 1;
            }
            b'}' => {
                if depth == 0 {
                    return j;
                }
                depth -= 1;
            }
            _ => {}
        }
        j += 1;
    }
    src.len()
}

/// A conditional being interpreted.
#[derive(Debug)]
enum ShFrame {
    If {
        /// The enclosing code runs.
        outer: bool,
        /// A branch was taken already.
        taken: bool,
        /// A condition could not be evaluated: no branch runs.
        unknown: bool,
        /// The current branch runs.
        active: bool,
        /// The condition waiting for its `then`.
        cond: Option<bool>,
    },
    /// A construct not interpreted (`case`, loops, `{ }`): skipped to the
    /// word that closes it.
    Skip(&'static str),
}

/// Fields being built by word expansion.
struct Fields {
    fields: Vec<Vec<u8>>,
    cur: Vec<u8>,
    started: bool,
    split: bool,
    /// Bytes produced so far, and how many may be.
    size: usize,
    limit: usize,
    /// The budget `limit` comes from, as the error names it, once passed.
    over: Option<&'static str>,
    budget: &'static str,
}

/// [`budget::exceeded`] of the shell's budgets, as static error texts.
const ENVVARS_VALUE_TEXT: &str = "budget exceeded: ENVVARS_VALUE (128 KiB)";
const ENVVARS_EXPANDED_TEXT: &str = "budget exceeded: ENVVARS_EXPANDED (16 MiB)";
const ENVVARS_NESTING_TEXT: &str = "budget exceeded: ENVVARS_NESTING (64)";

impl Fields {
    /// Fields of at most [`ENVVARS_VALUE`] bytes, and at most `left` of the
    /// file's [`ENVVARS_EXPANDED`].
    fn new(split: bool, left: usize) -> Fields {
        let (limit, budget) = if left < ENVVARS_VALUE {
            (left, ENVVARS_EXPANDED_TEXT)
        } else {
            (ENVVARS_VALUE, ENVVARS_VALUE_TEXT)
        };
        Fields {
            fields: Vec::new(),
            cur: Vec::new(),
            started: false,
            split,
            size: 0,
            limit,
            over: None,
            budget,
        }
    }

    /// Whether `n` more bytes fit; once they do not, nothing more is added.
    fn room(&mut self, n: usize) -> bool {
        if self.over.is_some() || self.size.saturating_add(n) > self.limit {
            self.over = Some(self.budget);
            return false;
        }
        self.size += n;
        true
    }

    fn lit(&mut self, b: &[u8]) {
        if !self.room(b.len()) {
            return;
        }
        self.cur.extend_from_slice(b);
        self.started = true;
    }

    /// The result of an unquoted expansion: split at blanks and newlines
    /// (the default `IFS`) when splitting.
    fn unquoted(&mut self, v: &[u8]) {
        if !self.room(v.len()) {
            return;
        }
        if !self.split {
            self.cur.extend_from_slice(v);
            return;
        }
        for &c in v {
            if matches!(c, b' ' | b'\t' | b'\n') {
                if self.started {
                    self.fields.push(std::mem::take(&mut self.cur));
                    self.started = false;
                }
            } else {
                self.cur.push(c);
                self.started = true;
            }
        }
    }

    fn finish(mut self) -> Vec<Vec<u8>> {
        if !self.split {
            return vec![self.cur];
        }
        if self.started {
            self.fields.push(self.cur);
        }
        self.fields
    }
}

/// The state of the shell reading `envvars` for `apache2ctl`.
struct Shell<'a> {
    root: &'a Root,
    vars: BTreeMap<String, String>,
    exported: BTreeSet<String>,
    errors: Vec<(PathBuf, String)>,
    /// Bytes produced by expansion so far ([`ENVVARS_EXPANDED`]).
    expanded: std::cell::Cell<usize>,
}

type ShResult<T> = Result<T, &'static str>;

impl<'a> Shell<'a> {
    /// Starts with `env` as the exported environment.
    fn new(root: &'a Root, env: &BTreeMap<String, String>) -> Shell<'a> {
        Shell {
            root,
            vars: env.clone(),
            exported: env.keys().cloned().collect(),
            errors: Vec::new(),
            expanded: std::cell::Cell::new(0),
        }
    }

    /// Fields for an expansion, within what is left of the budgets.
    fn fields(&self, split: bool) -> Fields {
        Fields::new(split, ENVVARS_EXPANDED.saturating_sub(self.expanded.get()))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    fn set(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_string(), value.to_string());
    }

    fn unset(&mut self, name: &str) {
        self.vars.remove(name);
        self.exported.remove(name);
    }

    /// The environment a command started now would get.
    fn exported(&self) -> BTreeMap<String, String> {
        self.exported
            .iter()
            .filter_map(|k| self.vars.get(k).map(|v| (k.clone(), v.clone())))
            .collect()
    }

    fn active(frames: &[ShFrame]) -> bool {
        frames
            .iter()
            .all(|f| matches!(f, ShFrame::If { active: true, .. }))
    }

    /// Interprets a sourced file. What is not interpreted is an error entry
    /// and is skipped.
    fn run(&mut self, file: &Path, src: &[u8]) {
        let mut frames: Vec<ShFrame> = Vec::new();
        for cmd in sh_commands(src) {
            let here = at(file, cmd.line);
            if frames.len() >= ENVVARS_NESTING {
                // Each command looks at every open construct.
                self.errors.push((
                    here,
                    format!("{ENVVARS_NESTING_TEXT}: the rest of the file is not interpreted"),
                ));
                return;
            }
            let mut words: &[Vec<u8>] = &cmd.words;
            // Reserved words at the front of a command.
            while let Some(first) = words.first() {
                let rest = words.get(1..).unwrap_or_default();
                let skipping = frames.iter().any(|f| matches!(f, ShFrame::Skip(_)));
                let closer: Option<&'static str> = match first.as_slice() {
                    b"case" => Some("esac"),
                    b"for" | b"while" | b"until" => Some("done"),
                    b"{" => Some("}"),
                    b"if" if skipping => Some("fi"),
                    _ => None,
                };
                if let Some(closer) = closer {
                    if Self::active(&frames) {
                        self.errors.push((
                            here.clone(),
                            format!(
                                "`{}` is not interpreted: skipped to `{closer}`",
                                lossy(first)
                            ),
                        ));
                    }
                    frames.push(ShFrame::Skip(closer));
                    words = &[];
                    break;
                }
                if skipping {
                    if let Some(ShFrame::Skip(closer)) = frames.last() {
                        if first.as_slice() == closer.as_bytes() {
                            frames.pop();
                        }
                    }
                    words = &[];
                    break;
                }
                match first.as_slice() {
                    b"if" => {
                        let outer = Self::active(&frames);
                        let cond = if outer {
                            self.condition(&here, rest, cmd.problem)
                        } else {
                            Some(false)
                        };
                        frames.push(ShFrame::If {
                            outer,
                            taken: false,
                            unknown: cond.is_none(),
                            active: false,
                            cond,
                        });
                        words = &[];
                    }
                    b"then" => {
                        if let Some(ShFrame::If {
                            outer,
                            taken,
                            unknown,
                            active,
                            cond,
                        }) = frames.last_mut()
                        {
                            *active = *outer && !*unknown && !*taken && *cond == Some(true);
                            *taken |= *active;
                            *cond = None;
                        }
                        words = rest;
                        continue;
                    }
                    b"elif" => {
                        let probe = matches!(
                            frames.last(),
                            Some(ShFrame::If {
                                outer: true,
                                taken: false,
                                unknown: false,
                                ..
                            })
                        );
                        let c = if probe {
                            self.condition(&here, rest, cmd.problem)
                        } else {
                            Some(false)
                        };
                        if let Some(ShFrame::If {
                            unknown,
                            active,
                            cond,
                            ..
                        }) = frames.last_mut()
                        {
                            *active = false;
                            *unknown |= c.is_none();
                            *cond = c;
                        }
                        words = &[];
                    }
                    b"else" => {
                        if let Some(ShFrame::If {
                            outer,
                            taken,
                            unknown,
                            active,
                            ..
                        }) = frames.last_mut()
                        {
                            *active = *outer && !*taken && !*unknown;
                            *taken = true;
                        }
                        words = rest;
                        continue;
                    }
                    b"fi" => {
                        if matches!(frames.last(), Some(ShFrame::If { .. })) {
                            frames.pop();
                        }
                        words = rest;
                        continue;
                    }
                    _ => {}
                }
                break;
            }
            if words.is_empty() || !Self::active(&frames) {
                continue;
            }
            if let Some(why) = cmd.problem {
                self.errors
                    .push((here, format!("{why} are not interpreted: command skipped")));
                continue;
            }
            if let Err(why) = self.simple(words, &here) {
                self.errors
                    .push((here, format!("not interpreted ({why}): command skipped")));
            }
        }
        if frames.iter().any(|f| matches!(f, ShFrame::If { .. })) {
            self.errors
                .push((file.to_path_buf(), "`if` without `fi`".into()));
        }
    }

    /// A simple command: assignments, `export`, `unset`, `readonly`, `:`,
    /// `true`; `ulimit` and `umask` change no variable and are passed over.
    fn simple(&mut self, words: &[Vec<u8>], here: &Path) -> ShResult<()> {
        let n_assign = words.iter().take_while(|w| assignment(w).is_some()).count();
        let (assigns, rest) = words.split_at(n_assign);
        if rest.is_empty() {
            for w in assigns {
                self.assign(w, false)?;
            }
            return Ok(());
        }
        let name = self.expand(rest.first().map_or(&[][..], Vec::as_slice), false)?;
        let name = name.first().map(|n| lossy(n)).unwrap_or_default();
        let args = rest.get(1..).unwrap_or_default();
        if !assigns.is_empty() && !matches!(name.as_str(), "export" | "readonly" | ":") {
            return Err("assignments for one command");
        }
        match name.as_str() {
            "export" | "readonly" => {
                for w in args {
                    if w.as_slice() == b"-p" {
                        continue;
                    }
                    if assignment(w).is_some() {
                        self.assign(w, name == "export")?;
                    } else {
                        for n in self.expand(w, true)? {
                            let n = lossy(&n);
                            if !env_name_ok(&n) {
                                return Err("bad variable name");
                            }
                            if name == "export" {
                                self.exported.insert(n);
                            }
                        }
                    }
                }
            }
            "unset" => {
                for w in args {
                    match w.as_slice() {
                        b"-v" => continue,
                        b"-f" => break,
                        _ => {}
                    }
                    for n in self.expand(w, true)? {
                        self.unset(&lossy(&n));
                    }
                }
            }
            ":" | "true" => {}
            "ulimit" | "umask" => {}
            "." | "source" => {
                let what = args.first().map(|a| lossy(a)).unwrap_or_default();
                self.errors.push((
                    here.to_path_buf(),
                    format!("`. {what}` is not followed: what it sets is not modelled"),
                ));
            }
            _ => return Err("not an assignment, export, unset or if"),
        }
        Ok(())
    }

    fn assign(&mut self, word: &[u8], export: bool) -> ShResult<()> {
        let Some((name, value)) = assignment(word) else {
            return Err("not an assignment");
        };
        let v = self.expand(value, false)?;
        let v = v.first().map(|v| lossy(v)).unwrap_or_default();
        self.vars.insert(name.clone(), v);
        if export {
            self.exported.insert(name);
        }
        Ok(())
    }

    /// `if` conditions: `[ ... ]`, `test ...`, `true`, `false`, with `!`.
    fn condition(
        &mut self,
        here: &Path,
        words: &[Vec<u8>],
        problem: Option<&'static str>,
    ) -> Option<bool> {
        let result = match problem {
            Some(p) => Err(p),
            None => self.eval_condition(words),
        };
        match result {
            Ok(b) => Some(b),
            Err(why) => {
                self.errors.push((
                    here.to_path_buf(),
                    format!("condition not interpreted ({why}): none of its branches is applied"),
                ));
                None
            }
        }
    }

    fn eval_condition(&mut self, words: &[Vec<u8>]) -> ShResult<bool> {
        let (negate, words) = match words.split_first() {
            Some((first, rest)) if first.as_slice() == b"!" => (true, rest),
            _ => (false, words),
        };
        let mut fields: Vec<String> = Vec::new();
        for w in words {
            fields.extend(self.expand(w, true)?.iter().map(|f| lossy(f)));
        }
        let result = match fields.split_first() {
            Some((cmd, args)) if cmd == "[" => match args.split_last() {
                Some((last, inner)) if last == "]" => self.test(inner)?,
                _ => return Err("[ without ]"),
            },
            Some((cmd, args)) if cmd == "test" => self.test(args)?,
            Some((cmd, [])) if cmd == "true" || cmd == ":" => true,
            Some((cmd, [])) if cmd == "false" => false,
            _ => return Err("only [ ], test, true and false are evaluated"),
        };
        Ok(result != negate)
    }

    /// `test` with zero to four arguments (POSIX's rules by count).
    fn test(&self, args: &[String]) -> ShResult<bool> {
        let s = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
        match args.len() {
            0 => Ok(false),
            1 => Ok(!s(0).is_empty()),
            2 if s(0) == "!" => Ok(s(1).is_empty()),
            2 => self.unary(s(0), s(1)),
            3 if s(0) == "!" => self.unary(s(1), s(2)).map(|b| !b),
            3 => binary(s(0), s(1), s(2)),
            4 if s(0) == "!" => binary(s(1), s(2), s(3)).map(|b| !b),
            _ => Err("test expression too complex"),
        }
    }

    fn unary(&self, op: &str, arg: &str) -> ShResult<bool> {
        match op {
            "-z" => Ok(arg.is_empty()),
            "-n" => Ok(!arg.is_empty()),
            "-e" | "-f" | "-d" | "-r" | "-s" if arg.starts_with('/') => {
                let kind = self.root.kind(Path::new(arg));
                Ok(match op {
                    "-f" => kind == Some(Kind::Regular),
                    "-d" => kind == Some(Kind::Directory),
                    _ => kind.is_some(),
                })
            }
            _ => Err("unsupported test operator"),
        }
    }

    /// Word expansion: quotes, `\`, `$NAME`, `${NAME}` with `:-`, `-`,
    /// `:+`, `+`, `#`, `##`, `%`, `%%`, `${#NAME}`; field splitting of
    /// unquoted expansions when `split`. No pathname expansion, no tilde.
    fn expand(&self, raw: &[u8], split: bool) -> ShResult<Vec<Vec<u8>>> {
        let mut f = self.fields(split);
        let r = self.expand_into(raw, &mut f, 0);
        self.expanded
            .set(self.expanded.get().saturating_add(f.size));
        r?;
        Ok(f.finish())
    }

    /// Stops at the first byte past a budget (a value can be made to
    /// double at each line).
    fn expand_into(&self, raw: &[u8], f: &mut Fields, depth: usize) -> ShResult<()> {
        if depth > 8 {
            return Err("expansions nested too deeply");
        }
        let mut i = 0;
        while let Some(&c) = raw.get(i) {
            if let Some(over) = f.over {
                return Err(over);
            }
            match c {
                b'\\' => {
                    match raw.get(i + 1) {
                        Some(&n) => f.lit(&[n]),
                        None => f.lit(b"\\"),
                    }
                    i += 2;
                }
                b'\'' => {
                    let end = raw
                        .get(i + 1..)
                        .and_then(|r| r.iter().position(|&d| d == b'\''))
                        .map_or(raw.len(), |p| p + i + 1);
                    f.lit(raw.get(i + 1..end).unwrap_or_default());
                    i = end + 1;
                }
                b'"' => {
                    f.lit(b"");
                    i += 1;
                    while let Some(&d) = raw.get(i) {
                        if let Some(over) = f.over {
                            return Err(over);
                        }
                        match d {
                            b'"' => break,
                            b'\\' => match raw.get(i + 1) {
                                Some(&n) if matches!(n, b'$' | b'`' | b'"' | b'\\' | b'\n') => {
                                    if n != b'\n' {
                                        f.lit(&[n]);
                                    }
                                    i += 2;
                                    continue;
                                }
                                _ => f.lit(b"\\"),
                            },
                            b'$' => {
                                let (v, next) = self.param(raw, i, depth)?;
                                match v {
                                    Some(v) => f.lit(&v),
                                    None => f.lit(b"$"),
                                }
                                i = next;
                                continue;
                            }
                            b'`' => return Err("command substitution"),
                            _ => f.lit(&[d]),
                        }
                        i += 1;
                    }
                    i += 1;
                }
                b'$' => {
                    let (v, next) = self.param(raw, i, depth)?;
                    match v {
                        Some(v) => f.unquoted(&v),
                        None => f.lit(b"$"),
                    }
                    i = next;
                }
                b'`' => return Err("command substitution"),
                _ => {
                    f.lit(&[c]);
                    i += 1;
                }
            }
        }
        match f.over {
            Some(over) => Err(over),
            None => Ok(()),
        }
    }

    /// A parameter expansion at `raw[i] == '$'`: its value (`None` for a
    /// lone `$`) and the index after it.
    fn param(&self, raw: &[u8], i: usize, depth: usize) -> ShResult<(Option<Vec<u8>>, usize)> {
        match raw.get(i + 1) {
            Some(b'{') => {
                let end = matching_brace(raw, i + 2);
                if end >= raw.len() {
                    return Err("unterminated ${");
                }
                let inner = raw.get(i + 2..end).unwrap_or_default();
                Ok((Some(self.braced(inner, depth)?), end + 1))
            }
            Some(&c) if c == b'_' || c.is_ascii_alphabetic() => {
                let len = raw
                    .get(i + 1..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|&&c| c == b'_' || c.is_ascii_alphanumeric())
                    .count();
                let name = lossy(raw.get(i + 1..i + 1 + len).unwrap_or_default());
                Ok((
                    Some(self.get(&name).unwrap_or_default().as_bytes().to_vec()),
                    i + 1 + len,
                ))
            }
            Some(b'(') => Err("command substitution"),
            Some(&c) if c.is_ascii_digit() || b"@*#?$!-".contains(&c) => Err("special parameters"),
            _ => Ok((None, i + 1)),
        }
    }

    fn braced(&self, inner: &[u8], depth: usize) -> ShResult<Vec<u8>> {
        let name_len = |s: &[u8]| {
            s.iter()
                .take_while(|&&c| c == b'_' || c.is_ascii_alphanumeric())
                .count()
        };
        if let Some(rest) = inner.strip_prefix(b"#") {
            if !rest.is_empty() && name_len(rest) == rest.len() {
                let v = self.get(&lossy(rest)).unwrap_or_default();
                return Ok(v.chars().count().to_string().into_bytes());
            }
        }
        let n = name_len(inner);
        let name = inner.get(..n).unwrap_or_default();
        if name.is_empty() || name.first().is_some_and(u8::is_ascii_digit) {
            return Err("bad substitution");
        }
        let value = self.get(&lossy(name));
        let op_word = inner.get(n..).unwrap_or_default();
        if op_word.is_empty() {
            return Ok(value.unwrap_or_default().as_bytes().to_vec());
        }
        const OPS: &[&[u8]] = &[
            b":-", b":=", b":+", b":?", b"##", b"%%", b"-", b"=", b"+", b"?", b"#", b"%",
        ];
        let Some(op) = OPS.iter().find(|op| op_word.starts_with(op)) else {
            return Err("bad substitution");
        };
        let word = op_word.get(op.len()..).unwrap_or_default();
        let expand_word = || -> ShResult<Vec<u8>> {
            let mut f = self.fields(false);
            let r = self.expand_into(word, &mut f, depth + 1);
            self.expanded
                .set(self.expanded.get().saturating_add(f.size));
            r?;
            Ok(f.finish().into_iter().next().unwrap_or_default())
        };
        let set = value.is_some();
        let non_empty = value.is_some_and(|v| !v.is_empty());
        let v = value.unwrap_or_default().as_bytes().to_vec();
        match *op {
            b":-" => {
                if non_empty {
                    Ok(v)
                } else {
                    expand_word()
                }
            }
            b"-" => {
                if set {
                    Ok(v)
                } else {
                    expand_word()
                }
            }
            b":+" => {
                if non_empty {
                    expand_word()
                } else {
                    Ok(Vec::new())
                }
            }
            b"+" => {
                if set {
                    expand_word()
                } else {
                    Ok(Vec::new())
                }
            }
            b":?" | b"?" => {
                if non_empty || (set && *op == b"?") {
                    Ok(v)
                } else {
                    Err("${NAME?} of an unset variable")
                }
            }
            b":=" | b"=" => Err("assignments inside ${}"),
            _ => {
                if v.len() > 4096 {
                    return Err("pattern removal on a long value");
                }
                let pat = expand_word()?;
                Ok(remove_pattern(&v, &pat, op).to_vec())
            }
        }
    }
}

/// `NAME=value` with a valid unquoted name.
fn assignment(word: &[u8]) -> Option<(String, &[u8])> {
    let eq = word.iter().position(|&c| c == b'=')?;
    let name = std::str::from_utf8(word.get(..eq)?).ok()?;
    env_name_ok(name).then(|| (name.to_string(), word.get(eq + 1..).unwrap_or_default()))
}

/// `${v#p}`, `${v##p}`, `${v%p}`, `${v%%p}` with shell patterns.
fn remove_pattern<'v>(v: &'v [u8], pat: &[u8], op: &[u8]) -> &'v [u8] {
    // fnmatch without FNM_PERIOD: shell patterns here match a leading dot.
    let matches = |s: &[u8]| {
        let mut p = Vec::with_capacity(pat.len() + 1);
        p.push(b'x');
        p.extend_from_slice(pat);
        let mut n = Vec::with_capacity(s.len() + 1);
        n.push(b'x');
        n.extend_from_slice(s);
        fnmatch(&p, &n)
    };
    let len = v.len();
    let split = |k: usize| v.split_at(k.min(len));
    match op {
        b"#" => (0..=len)
            .find(|&k| matches(split(k).0))
            .map_or(v, |k| split(k).1),
        b"##" => (0..=len)
            .rev()
            .find(|&k| matches(split(k).0))
            .map_or(v, |k| split(k).1),
        b"%" => (0..=len)
            .rev()
            .find(|&k| matches(split(k).1))
            .map_or(v, |k| split(k).0),
        _ => (0..=len)
            .find(|&k| matches(split(k).1))
            .map_or(v, |k| split(k).0),
    }
}

fn binary(a: &str, op: &str, b: &str) -> ShResult<bool> {
    let num = |s: &str| s.trim().parse::<i64>().map_err(|_| "integer expected");
    Ok(match op {
        "=" | "==" => a == b,
        "!=" => a != b,
        "-eq" => num(a)? == num(b)?,
        "-ne" => num(a)? != num(b)?,
        "-lt" => num(a)? < num(b)?,
        "-le" => num(a)? <= num(b)?,
        "-gt" => num(a)? > num(b)?,
        "-ge" => num(a)? >= num(b)?,
        _ => return Err("unsupported test operator"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    /// A root in a temporary directory.
    struct Tree {
        dir: tempfile::TempDir,
    }

    impl Tree {
        fn new() -> Tree {
            Tree {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        fn host(&self, inner: &str) -> PathBuf {
            self.dir.path().join(inner.trim_start_matches('/'))
        }

        fn bytes(&self, inner: &str, content: &[u8]) -> &Tree {
            let p = self.host(inner);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, content).unwrap();
            self
        }

        fn file(&self, inner: &str, content: &str) -> &Tree {
            self.bytes(inner, content.as_bytes())
        }

        fn mkdir(&self, inner: &str) -> &Tree {
            fs::create_dir_all(self.host(inner)).unwrap();
            self
        }

        fn link(&self, target: &str, inner: &str) -> &Tree {
            let p = self.host(inner);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            symlink(target, p).unwrap();
            self
        }

        fn fifo(&self, inner: &str) -> &Tree {
            let p = self.host(inner);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            self
        }

        fn root(&self) -> Root {
            Root::new(self.dir.path()).unwrap()
        }
    }

    fn generic() -> Option<Vec<BuiltinModule>> {
        Some(
            GENERIC_BUILTIN
                .iter()
                .map(|(s, f)| BuiltinModule {
                    symbol: s.to_string(),
                    source: f.to_string(),
                })
                .collect(),
        )
    }

    fn opts_main(main: &str) -> ConfigOptions {
        ConfigOptions {
            main: Some(PathBuf::from(main)),
            builtin: generic(),
            ..ConfigOptions::default()
        }
    }

    fn modules(c: &ApacheConfig) -> Vec<(String, String)> {
        c.loaded_modules()
            .map(|(n, p)| (n.to_string(), p.display().to_string()))
            .collect()
    }

    fn names(c: &ApacheConfig) -> Vec<String> {
        c.loaded_modules().map(|(n, _)| n.to_string()).collect()
    }

    fn messages(v: &[(PathBuf, String)]) -> Vec<String> {
        v.iter()
            .map(|(p, m)| format!("{}: {m}", p.display()))
            .collect()
    }

    fn has(v: &[(PathBuf, String)], needle: &str) -> bool {
        messages(v).iter().any(|m| m.contains(needle))
    }

    const DEBIAN_CONF: &str = "\
# This is the main Apache server configuration file.
#ServerRoot \"/etc/apache2\"
DefaultRuntimeDir ${APACHE_RUN_DIR}
User ${APACHE_RUN_USER}
IncludeOptional mods-enabled/*.load
IncludeOptional mods-enabled/*.conf
Include ports.conf
<Directory />
\tOptions FollowSymLinks
</Directory>
IncludeOptional conf-enabled/*.conf
IncludeOptional sites-enabled/*.conf
";

    fn debian_tree() -> Tree {
        let t = Tree::new();
        t.file("/etc/apache2/apache2.conf", DEBIAN_CONF)
            .file(
                "/etc/apache2/mods-available/alias.load",
                "LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so\n",
            )
            .file(
                "/etc/apache2/mods-available/mpm_prefork.load",
                "# Conflicts: mpm_event mpm_worker\nLoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so\n",
            )
            .file(
                "/etc/apache2/mods-available/mpm_prefork.conf",
                "<IfModule mpm_prefork_module>\n\tStartServers 5\n</IfModule>\n",
            )
            .file(
                "/etc/apache2/mods-available/php8.2.load",
                "# Depends: mpm_prefork\nLoadModule php_module /usr/lib/apache2/modules/libphp8.2.so\n",
            )
            .file(
                "/etc/apache2/mods-available/php8.2.conf",
                "<IfModule mod_php.c>\n  PHPIniDir /etc/php/8.2/apache2\n</IfModule>\n",
            )
            .file(
                "/etc/apache2/mods-available/wsgi.load",
                "LoadModule wsgi_module /usr/lib/apache2/modules/mod_wsgi.so\n",
            )
            .file(
                "/etc/apache2/mods-available/wsgi.conf",
                "<IfModule mod_wsgi.c>\n  WSGIApplicationGroup %{GLOBAL}\n</IfModule>\n",
            )
            .file(
                "/etc/apache2/mods-available/ssl.load",
                "LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so\n",
            )
            .link("../mods-available/alias.load", "/etc/apache2/mods-enabled/alias.load")
            .link(
                "../mods-available/mpm_prefork.load",
                "/etc/apache2/mods-enabled/mpm_prefork.load",
            )
            .link(
                "../mods-available/mpm_prefork.conf",
                "/etc/apache2/mods-enabled/mpm_prefork.conf",
            )
            .link("../mods-available/php8.2.load", "/etc/apache2/mods-enabled/php8.2.load")
            .link("../mods-available/php8.2.conf", "/etc/apache2/mods-enabled/php8.2.conf")
            // Absolute links resolve inside the root.
            .link(
                "/etc/apache2/mods-available/wsgi.load",
                "/etc/apache2/mods-enabled/wsgi.load",
            )
            .link(
                "/etc/apache2/mods-available/wsgi.conf",
                "/etc/apache2/mods-enabled/wsgi.conf",
            )
            .file(
                "/etc/apache2/ports.conf",
                "Listen 80\n<IfModule ssl_module>\n\tListen 443\n\tLoadFile /usr/lib/libssl-extra.so\n</IfModule>\n",
            )
            .file("/etc/apache2/conf-available/security.conf", "ServerTokens OS\n")
            .link(
                "../conf-available/security.conf",
                "/etc/apache2/conf-enabled/security.conf",
            )
            .file(
                "/etc/apache2/sites-available/000-default.conf",
                "<VirtualHost *:80>\n\
                 \tWSGIDaemonProcess app python-home=/srv/venv python-path=/srv/app:/srv/lib processes=2 threads=15 display-name=%{GROUP}\n\
                 \tWSGIProcessGroup app\n\
                 \tWSGIScriptAlias / /srv/app/app.wsgi process-group=app application-group=%{GLOBAL}\n\
                 </VirtualHost>\n",
            )
            .link(
                "../sites-available/000-default.conf",
                "/etc/apache2/sites-enabled/000-default.conf",
            );
        for so in [
            "mod_alias",
            "mod_mpm_prefork",
            "libphp8.2",
            "mod_wsgi",
            "mod_ssl",
        ] {
            t.file(&format!("/usr/lib/apache2/modules/{so}.so"), "\x7fELF");
        }
        t
    }

    fn debian_env() -> BTreeMap<String, String> {
        [
            ("APACHE_RUN_DIR", "/var/run/apache2"),
            ("APACHE_RUN_USER", "www-data"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// H3: Debian's apache2.conf includes mods-enabled/*.load then *.conf;
    /// relative and absolute symlinks resolve inside the root; a module only
    /// in mods-available is not loaded; `<IfModule ssl_module>` is false.
    #[test]
    fn debian_layout() {
        let t = debian_tree();
        let opts = ConfigOptions {
            env: debian_env(),
            ..ConfigOptions::default()
        };
        let c = read_config(&t.root(), &opts);
        assert_eq!(
            c.main.as_deref(),
            Some(Path::new("/etc/apache2/apache2.conf"))
        );
        assert_eq!(c.server_root, Path::new("/etc/apache2"));
        assert_eq!(
            modules(&c),
            [
                ("alias_module", "/usr/lib/apache2/modules/mod_alias.so"),
                (
                    "mpm_prefork_module",
                    "/usr/lib/apache2/modules/mod_mpm_prefork.so"
                ),
                ("php_module", "/usr/lib/apache2/modules/libphp8.2.so"),
                ("wsgi_module", "/usr/lib/apache2/modules/mod_wsgi.so"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert!(
            !c.directives
                .iter()
                .any(|d| matches!(d.kind, DirectiveKind::LoadFile { .. }))
        );
        let files: Vec<String> = c.files.iter().map(|f| f.display().to_string()).collect();
        assert_eq!(
            files,
            [
                "/etc/apache2/apache2.conf",
                "/etc/apache2/mods-enabled/alias.load",
                "/etc/apache2/mods-enabled/mpm_prefork.load",
                "/etc/apache2/mods-enabled/php8.2.load",
                "/etc/apache2/mods-enabled/wsgi.load",
                "/etc/apache2/mods-enabled/mpm_prefork.conf",
                "/etc/apache2/mods-enabled/php8.2.conf",
                "/etc/apache2/mods-enabled/wsgi.conf",
                "/etc/apache2/ports.conf",
                "/etc/apache2/conf-enabled/security.conf",
                "/etc/apache2/sites-enabled/000-default.conf",
            ]
        );
        // The module name mod_php.c and mod_wsgi.c count for <IfModule>.
        let php_ini: Vec<&Directive> = c
            .directives
            .iter()
            .filter(|d| matches!(d.kind, DirectiveKind::PhpIniDir(_)))
            .collect();
        assert_eq!(php_ini.len(), 1);
        assert_eq!(
            php_ini[0].kind,
            DirectiveKind::PhpIniDir(PathBuf::from("/etc/php/8.2/apache2"))
        );
        assert!(
            c.directives
                .iter()
                .any(|d| d.kind == DirectiveKind::WsgiApplicationGroup("%{GLOBAL}".into()))
        );
        // mod_wsgi directives keep their <VirtualHost>.
        let daemon = c
            .directives
            .iter()
            .find(|d| matches!(d.kind, DirectiveKind::WsgiDaemonProcess { .. }))
            .unwrap();
        assert_eq!(daemon.context, ["<VirtualHost *:80>"]);
        assert_eq!(
            daemon.file,
            Path::new("/etc/apache2/sites-enabled/000-default.conf")
        );
        assert_eq!(daemon.line, 2);
        let DirectiveKind::WsgiDaemonProcess { name, options } = &daemon.kind else {
            unreachable!()
        };
        assert_eq!(name, "app");
        assert_eq!(options["python-home"], "/srv/venv");
        assert_eq!(options["python-path"], "/srv/app:/srv/lib");
        assert_eq!(options["processes"], "2");
        assert_eq!(options["threads"], "15");
        assert_eq!(options["display-name"], "%{GROUP}");
        let alias = c
            .directives
            .iter()
            .find(|d| matches!(d.kind, DirectiveKind::WsgiScriptAlias { .. }))
            .unwrap();
        let DirectiveKind::WsgiScriptAlias {
            url,
            path,
            regex,
            options,
        } = &alias.kind
        else {
            unreachable!()
        };
        assert_eq!(
            (url.as_str(), path.as_path(), *regex),
            ("/", Path::new("/srv/app/app.wsgi"), false)
        );
        assert_eq!(options["application-group"], "%{GLOBAL}");
    }

    /// `-f FILE` without `-d`: ServerRoot stays the installed layout's
    /// HTTPD_ROOT, wherever the file is.
    #[test]
    fn explicit_main_keeps_installed_server_root() {
        let t = debian_tree();
        t.file(
            "/tmp/x/test.conf",
            "Include ports.conf\nIncludeOptional mods-enabled/*.load\n",
        );
        let opts = ConfigOptions {
            main: Some("/tmp/x/test.conf".into()),
            ..ConfigOptions::default()
        };
        let c = read_config(&t.root(), &opts);
        assert_eq!(c.server_root, Path::new("/etc/apache2"));
        assert_eq!(names(&c).len(), 4);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert!(c.files.contains(&PathBuf::from("/etc/apache2/ports.conf")));
    }

    /// `${VAR}` that neither Define nor the environment knows stays as
    /// written, with httpd's warning.
    #[test]
    fn undefined_variable_warns() {
        let t = debian_tree();
        let c = read_config(&t.root(), &ConfigOptions::default());
        assert!(has(
            &c.warnings,
            "apache2.conf:3: Config variable ${APACHE_RUN_DIR} is not defined"
        ));
        assert!(has(
            &c.warnings,
            "apache2.conf:4: Config variable ${APACHE_RUN_USER} is not defined"
        ));
        assert_eq!(names(&c).len(), 4);
    }

    /// RHEL: ServerRoot "/etc/httpd", conf.modules.d/*.conf, relative module
    /// paths through the /etc/httpd/modules symlink, `<IfModule prefork.c>`
    /// false under the event MPM, `<IfModule !mod_wsgi.c>` true.
    #[test]
    fn rhel_layout() {
        let t = Tree::new();
        t.file(
            "/etc/httpd/conf/httpd.conf",
            "ServerRoot \"/etc/httpd\"\nListen 80\nInclude conf.modules.d/*.conf\nUser apache\nIncludeOptional conf.d/*.conf\n",
        )
        .file(
            "/etc/httpd/conf.modules.d/00-base.conf",
            "LoadModule access_compat_module modules/mod_access_compat.so\nLoadModule alias_module modules/mod_alias.so\n",
        )
        .file(
            "/etc/httpd/conf.modules.d/00-mpm.conf",
            "#LoadModule mpm_prefork_module modules/mod_mpm_prefork.so\nLoadModule mpm_event_module modules/mod_mpm_event.so\n",
        )
        .file(
            "/etc/httpd/conf.modules.d/10-wsgi-python3.conf",
            "<IfModule !wsgi_module>\n    LoadModule wsgi_module modules/mod_wsgi_python3.so\n</IfModule>\n",
        )
        .file(
            "/etc/httpd/conf.modules.d/15-php.conf",
            "<IfModule prefork.c>\n  LoadModule php_module modules/libphp.so\n</IfModule>\n",
        )
        .file(
            "/etc/httpd/conf.d/wsgi-app.conf",
            "<IfModule mod_wsgi.c>\nWSGIPythonHome /opt/py\n</IfModule>\n",
        )
        .link("../../usr/lib64/httpd/modules", "/etc/httpd/modules");
        for so in [
            "mod_access_compat",
            "mod_alias",
            "mod_mpm_event",
            "mod_mpm_prefork",
            "mod_wsgi_python3",
            "libphp",
        ] {
            t.file(&format!("/usr/lib64/httpd/modules/{so}.so"), "\x7fELF");
        }
        let opts = ConfigOptions {
            builtin: generic(),
            ..ConfigOptions::default()
        };
        let c = read_config(&t.root(), &opts);
        assert_eq!(
            c.main.as_deref(),
            Some(Path::new("/etc/httpd/conf/httpd.conf"))
        );
        assert_eq!(c.server_root, Path::new("/etc/httpd"));
        assert_eq!(
            modules(&c),
            [
                (
                    "access_compat_module",
                    "/etc/httpd/modules/mod_access_compat.so"
                ),
                ("alias_module", "/etc/httpd/modules/mod_alias.so"),
                ("mpm_event_module", "/etc/httpd/modules/mod_mpm_event.so"),
                ("wsgi_module", "/etc/httpd/modules/mod_wsgi_python3.so"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert!(
            c.directives
                .iter()
                .any(|d| d.kind == DirectiveKind::WsgiPythonHome("/opt/py".into()))
        );
        // The prefork MPM makes prefork.c known (its module name).
        let t2 = Tree::new();
        t2.file(
            "/etc/httpd/conf/httpd.conf",
            "LoadModule mpm_prefork_module modules/mod_mpm_prefork.so\n<IfModule prefork.c>\nLoadModule php_module modules/libphp.so\n</IfModule>\n",
        );
        let c = read_config(&t2.root(), &opts);
        assert_eq!(
            c.server_root,
            Path::new("/etc/httpd"),
            "default ServerRoot above conf/"
        );
        assert_eq!(names(&c), ["mpm_prefork_module", "php_module"]);
        assert_eq!(modules(&c)[1].1, "/etc/httpd/modules/libphp.so");
    }

    /// A source build: ServerRoot defaults to the prefix (above conf/), and
    /// a ServerRoot directive moves later relative names.
    #[test]
    fn source_build_layout() {
        let t = Tree::new();
        t.file(
            "/usr/local/apache2/conf/httpd.conf",
            "LoadModule x_module modules/mod_x.so\nServerRoot /opt/other\nLoadModule y_module modules/mod_y.so\nLoadModule z_module /abs/../abs/./mod_z.so\n",
        )
        .file("/usr/local/apache2/modules/mod_x.so", "x")
        .file("/opt/other/modules/mod_y.so", "y")
        .file("/abs/mod_z.so", "z")
        .file("/usr/local/apache2/modules/mod_mpm_event.so", "e");
        let opts = ConfigOptions {
            builtin: generic(),
            ..ConfigOptions::default()
        };
        let c = read_config(&t.root(), &opts);
        assert_eq!(
            c.main.as_deref(),
            Some(Path::new("/usr/local/apache2/conf/httpd.conf"))
        );
        assert_eq!(
            modules(&c),
            [
                ("x_module", "/usr/local/apache2/modules/mod_x.so"),
                ("y_module", "/opt/other/modules/mod_y.so"),
                ("z_module", "/abs/mod_z.so"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert_eq!(c.server_root, Path::new("/opt/other"));
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        // No MPM: httpd would refuse, unless one is compiled in.
        assert!(has(&c.warnings, "no MPM module is loaded"));
        // An invalid ServerRoot is an error and changes nothing.
        t.file(
            "/usr/local/apache2/conf/httpd.conf",
            "ServerRoot /nowhere\nLoadModule x_module modules/mod_x.so\n",
        );
        let c = read_config(&t.root(), &opts);
        assert!(has(
            &c.errors,
            "httpd.conf:1: ServerRoot must be a valid directory"
        ));
        assert_eq!(modules(&c)[0].1, "/usr/local/apache2/modules/mod_x.so");
    }

    /// `<IfModule>` against what is loaded so far: identifiers, module
    /// names, compiled-in modules; negated and nested; a skipped section
    /// skips what is nested in it.
    #[test]
    fn ifmodule_positive_negated_nested() {
        let t = Tree::new();
        t.file(
            "/c/httpd.conf",
            "LoadModule a_module /m/a.so
<IfModule a_module>
  <IfModule !mod_b.c>
    LoadModule b_module /m/b.so
  </IfModule>
  <IfModule mod_c.c>
    LoadModule d_module /m/d.so
    <IfModule !mod_zzz.c>
      LoadModule e_module /m/e.so
    </IfModule>
  </IfModule>
</IfModule>
<IfModule mod_b.c>
  LoadModule f_module /m/f.so
</IfModule>
<IfModule mod_so.c>
  LoadModule g_module /m/g.so
</IfModule>
<IFMODULE so_module>
  LoadModule h_module /m/h.so
</ifmodule>
<IfModule mod_later.c>
  LoadModule i_module /m/i.so
</IfModule>
LoadModule later_module /m/later.so
<IfModule ! mod_later.c>
  LoadModule j_module /m/j.so
</IfModule>
<IfModule !mod_later.c>
  LoadModule k_module /m/k.so
</IfModule>
",
        );
        for m in ["a", "b", "d", "e", "f", "g", "h", "i", "j", "k", "later"] {
            t.file(&format!("/m/{m}.so"), "x");
        }
        let c = read_config(&t.root(), &opts_main("/c/httpd.conf"));
        assert_eq!(
            names(&c),
            [
                "a_module",
                "b_module",
                "f_module",
                "g_module",
                "h_module",
                "later_module"
            ]
        );
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        // `<IfModule ! x>`: the `!` counts, the name after the blank is read.
        assert!(!names(&c).contains(&"j_module".to_string()));
    }

    /// `<IfDefine>` against `-D` defines and `Define`/`UnDefine` so far;
    /// `${NAME}` prefers a `Define`d value to the environment.
    #[test]
    fn ifdefine_define_and_cli() {
        let t = Tree::new();
        t.file(
            "/c/httpd.conf",
            "Define FOO
<IfDefine FOO>
  LoadModule a_module /m/a.so
</IfDefine>
<IfDefine !FOO>
  LoadModule b_module /m/b.so
</IfDefine>
<IfDefine SSL>
  LoadModule c_module /m/c.so
</IfDefine>
UnDefine FOO
<IfDefine FOO>
  LoadModule d_module /m/d.so
</IfDefine>
Define MODDIR /m
LoadModule e_module ${MODDIR}/e.so
LoadModule f_module ${ENVDIR}/f.so
<IfDefine !NOPE>
  <IfDefine SSL>
    LoadModule g_module /m/g.so
  </IfDefine>
</IfDefine>
Define bad:name x
",
        );
        for m in ["a", "b", "c", "d", "e", "f", "g"] {
            t.file(&format!("/m/{m}.so"), "x");
        }
        let mut o = opts_main("/c/httpd.conf");
        o.defines = vec!["SSL".into()];
        o.env = [("MODDIR", "/env"), ("ENVDIR", "/m")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let c = read_config(&t.root(), &o);
        assert_eq!(
            modules(&c),
            [
                ("a_module", "/m/a.so"),
                ("c_module", "/m/c.so"),
                ("e_module", "/m/e.so"),
                ("f_module", "/m/f.so"),
                ("g_module", "/m/g.so"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert!(
            c.defines.contains("SSL") && c.defines.contains("MODDIR") && !c.defines.contains("FOO")
        );
        assert_eq!(c.vars.get("MODDIR").map(String::as_str), Some("/m"));
        assert!(has(
            &c.errors,
            "httpd.conf:23: Variable name must not contain ':'"
        ));
    }

    /// Continuation lines, quotes with blanks and escapes, case-insensitive
    /// names, comments only at the start of a line (a comment ending in a
    /// backslash swallows the next line, as in httpd).
    #[test]
    fn lexical_rules() {
        let t = Tree::new();
        t.file(
            "/c/httpd.conf",
            "loadMODULE \\\n    alias_module \"/m/mod alias.so\"\r\n\
             \t  # a comment \\\n\
             LoadModule hidden_module /m/hidden.so\n\
             LoadFile '/opt/lib dir/libx.so'\n\
             lOaDfIlE \"/m/a\\\"b.so\" /m/c\\\\d.so /m/e\\f.so\n\
             LoadModule x_module /m/x.so # not a comment\n\
             LoadModule last_module \\\n/m/last.so\n\
             LoadModule eof_module /m/last.so \\",
        );
        for f in [
            "/m/mod alias.so",
            "/opt/lib dir/libx.so",
            "/m/a\"b.so",
            "/m/c\\d.so",
            "/m/e\\f.so",
            "/m/last.so",
        ] {
            t.file(f, "x");
        }
        let c = read_config(&t.root(), &opts_main("/c/httpd.conf"));
        assert_eq!(
            modules(&c),
            [
                ("alias_module", "/m/mod alias.so"),
                ("last_module", "/m/last.so")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let first = c.directives.first().unwrap();
        assert_eq!(
            first.line, 2,
            "httpd numbers a continued line by its last line"
        );
        let files: Vec<String> = c
            .directives
            .iter()
            .filter_map(|d| match &d.kind {
                DirectiveKind::LoadFile { path, .. } => Some(path.display().to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(
            files,
            [
                "/opt/lib dir/libx.so",
                "/m/a\"b.so",
                "/m/c\\d.so",
                "/m/e\\f.so"
            ]
        );
        // A `#` after a directive is a word: LoadModule gets four.
        assert!(has(
            &c.errors,
            "httpd.conf:7: LoadModule takes two arguments"
        ));
        // A backslash on the last line, with no newline after it, is kept
        // (no continuation without a newline) and is a third word.
        assert!(has(
            &c.errors,
            "httpd.conf:10: LoadModule takes two arguments"
        ));
        assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
    }

    /// An include cycle is reported once, naming the chain; everything
    /// else is still read, in order.
    #[test]
    fn include_cycle() {
        let t = Tree::new();
        t.file(
            "/c/httpd.conf",
            "LoadModule m0_module /m.so\nInclude /c/a.conf\nLoadModule m4_module /m.so\n",
        )
        .file(
            "/c/a.conf",
            "LoadModule m1_module /m.so\nInclude b.conf\nLoadModule m3_module /m.so\n",
        )
        .file(
            "/c/b.conf",
            "LoadModule m2_module /m.so\nInclude /c/./a.conf\n",
        )
        .file("/m.so", "x");
        let mut o = opts_main("/c/httpd.conf");
        o.server_root = Some("/c".into());
        let c = read_config(&t.root(), &o);
        assert_eq!(
            names(&c),
            [
                "m0_module",
                "m1_module",
                "m2_module",
                "m3_module",
                "m4_module"
            ]
        );
        assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
        assert!(has(
            &c.errors,
            "/c/b.conf:2: Include cycle: /c/a.conf -> /c/b.conf -> /c/a.conf"
        ));
        // A file including itself through a symlink is the same file.
        t.file(
            "/c/self.conf",
            "Include /c/link.conf\nLoadModule s_module /m.so\n",
        )
        .link("self.conf", "/c/link.conf");
        let c = read_config(&t.root(), &opts_main("/c/self.conf"));
        assert_eq!(names(&c), ["s_module"]);
        assert!(has(
            &c.errors,
            "Include cycle: /c/self.conf -> /c/link.conf"
        ));
    }

    /// `Include` of something missing is an error, `IncludeOptional` of it
    /// is silent; a wildcard with no match is an error for `Include` only.
    #[test]
    fn missing_includes() {
        let t = Tree::new();
        t.file(
            "/c/httpd.conf",
            "Include /c/nope.conf
IncludeOptional /c/nope.conf
IncludeOptional /c/nodir/*.conf
Include /c/nodir/*.conf
Include /c/empty/*.conf
IncludeOptional /c/empty/*.conf
IncludeOptional /c/file.conf/*.conf
Include /c/dangling.conf
IncludeOptional /c/dangling.conf
LoadModule after_module /m.so
",
        )
        .mkdir("/c/empty")
        .file("/c/file.conf", "")
        .link("/c/nothing", "/c/dangling.conf")
        .file("/m.so", "x");
        let c = read_config(&t.root(), &opts_main("/c/httpd.conf"));
        assert_eq!(names(&c), ["after_module"]);
        let m = messages(&c.errors);
        assert_eq!(m.len(), 5, "{m:?}");
        assert!(
            m[0].starts_with("/c/httpd.conf:1: Could not open configuration file /c/nope.conf")
        );
        assert!(m[1].starts_with(
            "/c/httpd.conf:4: Include/IncludeOptional: Could not open directory /c/nodir"
        ));
        assert!(m[2].starts_with("/c/httpd.conf:5: Include/IncludeOptional: No matches for the wildcard '*.conf' in '/c/empty'"));
        // Only a missing directory is tolerated: a file in its place is not.
        assert!(m[3].starts_with(
            "/c/httpd.conf:7: Include/IncludeOptional: Could not open directory /c/file.conf"
        ));
        assert!(
            m[4].starts_with("/c/httpd.conf:8: Could not open configuration file /c/dangling.conf")
        );
    }

    /// A LoadModule of a file that is not there stays in the model (httpd
    /// would refuse to start) with an error entry; a bare name falls back to
    /// the linker's search and is only a warning.
    #[test]
    fn loadmodule_of_missing_file() {
        let t = Tree::new();
        t.file(
            "/c/httpd.conf",
            "LoadModule gone_module modules/mod_gone.so\nLoadModule bare_module mod_bare.so\nLoadFile /usr/lib/libgone.so\nLoadModule dir_module /c\n",
        );
        let mut o = opts_main("/c/httpd.conf");
        o.server_root = Some("/srv/httpd".into());
        let c = read_config(&t.root(), &o);
        assert_eq!(
            modules(&c),
            [
                ("gone_module", "/srv/httpd/modules/mod_gone.so"),
                ("bare_module", "/srv/httpd/mod_bare.so"),
                ("dir_module", "/c"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let bare = &c.directives[1].kind;
        assert!(
            matches!(bare, DirectiveKind::LoadModule { fallback: Some(f), .. } if f == "mod_bare.so")
        );
        let m = messages(&c.errors);
        assert_eq!(m.len(), 3, "{m:?}");
        assert!(m[0].contains(
            "httpd.conf:1: LoadModule: Cannot load /srv/httpd/modules/mod_gone.so into server"
        ));
        assert!(m[1].contains("httpd.conf:3: LoadFile: Cannot load /usr/lib/libgone.so"));
        assert!(
            m[2].contains("httpd.conf:4: LoadModule: Cannot load /c into server: is a directory")
        );
        assert!(has(
            &c.warnings,
            "retries `mod_bare.so` with the dynamic linker's search"
        ));
    }

    /// A main configuration that is a directory or a FIFO is refused; an
    /// included FIFO or binary file is an error and the rest still counts;
    /// an included directory brings all its files, recursively, in byte
    /// order (H3, `ap_dir_nofnmatch`).
    #[test]
    fn directories_fifos_and_garbage() {
        let t = Tree::new();
        t.mkdir("/c/dir.conf")
            .fifo("/c/fifo.conf")
            .file("/m.so", "x");
        let c = read_config(&t.root(), &opts_main("/c/dir.conf"));
        assert!(c.directives.is_empty());
        assert!(has(
            &c.errors,
            "/c/dir.conf: Access to file /c/dir.conf denied by server: not a regular file (directory)"
        ));
        let c = read_config(&t.root(), &opts_main("/c/fifo.conf"));
        assert!(has(&c.errors, "not a regular file (FIFO)"));

        let mut garbage = b"LoadModule hidden_module /m.so\n\x00\x01\x02\xff\xfe".to_vec();
        garbage.extend((0..=255u8).cycle().take(4096));
        t.bytes("/c/garbage.conf", &garbage)
            .file(
                "/c/httpd.conf",
                "Include /c/fifo.conf\nInclude /c/garbage.conf\nInclude /c/conf.d\nInclude /dev/null\nLoadModule z_module /m.so\n",
            )
            .file("/c/conf.d/b.conf", "LoadModule b_module /m.so\n")
            .file("/c/conf.d/a/x.conf", "LoadModule ax_module /m.so\n")
            .file("/c/conf.d/.hidden", "LoadModule hidden2_module /m.so\n")
            .file("/c/conf.d/B", "LoadModule upper_module /m.so\n");
        let c = read_config(&t.root(), &opts_main("/c/httpd.conf"));
        assert_eq!(
            names(&c),
            [
                "hidden2_module",
                "upper_module",
                "ax_module",
                "b_module",
                "z_module"
            ]
        );
        let m = messages(&c.errors);
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m[0].starts_with("/c/httpd.conf:1: Access to file /c/fifo.conf denied by server: not a regular file (FIFO)"));
        assert!(m[1].starts_with("/c/httpd.conf:2: /c/garbage.conf is not a text file"));
    }

    /// Wildcards expand in byte-wise order (`B.conf` before `a.conf`), a
    /// leading dot only matches literally, and in the middle of a path only
    /// real directories are followed.
    #[test]
    fn include_order_is_bytewise() {
        let t = Tree::new();
        t.file(
            "/c/httpd.conf",
            "Include /c/conf.d/*.conf\nInclude /c/sites/*/conf/*.conf\n",
        )
        .file("/c/conf.d/a.conf", "LoadModule a_module /m.so\n")
        .file("/c/conf.d/B.conf", "LoadModule B_module /m.so\n")
        .file("/c/conf.d/_x.conf", "LoadModule x_module /m.so\n")
        .file("/c/conf.d/.dot.conf", "LoadModule dot_module /m.so\n")
        .file("/c/conf.d/10-z.conf", "LoadModule z10_module /m.so\n")
        .file("/c/conf.d/9-z.conf", "LoadModule z9_module /m.so\n")
        .file("/c/sites/s-b/conf/1.conf", "LoadModule sb_module /m.so\n")
        .file("/c/sites/s/conf/1.conf", "LoadModule s_module /m.so\n")
        .file("/c/sites/s/conf/2.conf", "LoadModule s2_module /m.so\n")
        .file("/c/sites/file", "")
        .link("s", "/c/sites/t-link")
        .file("/m.so", "x");
        let c = read_config(&t.root(), &opts_main("/c/httpd.conf"));
        assert_eq!(
            names(&c),
            [
                "z10_module",
                "z9_module",
                "B_module",
                "x_module",
                "a_module",
                // Per directory: s before s-b although "s-b/" < "s/".
                "s_module",
                "s2_module",
                "sb_module",
            ]
        );
        assert!(c.errors.is_empty(), "{:?}", c.errors);
    }

    /// Containers that are not conditions do not stop a LoadModule (it acts
    /// while the file is read), and their context follows directives into
    /// included files.
    #[test]
    fn containers_and_context() {
        let t = Tree::new();
        t.file(
            "/c/httpd.conf",
            "<VirtualHost *:443>\n  ServerName a\n  LoadModule v_module /m.so\n  <IfModule v_module>\n    Include /c/app.conf\n  </IfModule>\n</VirtualHost>\n<Directory /srv>\n<Location /x>\n</Directory>\n<Unclosed>\n",
        )
        .file(
            "/c/app.conf",
            "<Location /app>\nWSGIProcessGroup app\n</Location>\nWSGIImportScript /srv/app.wsgi process-group=app application-group=%{GLOBAL}\nWSGIDaemonProcess bad opt\n",
        )
        .file("/m.so", "x");
        let c = read_config(&t.root(), &opts_main("/c/httpd.conf"));
        assert_eq!(names(&c), ["v_module"]);
        assert_eq!(c.directives[0].context, ["<VirtualHost *:443>"]);
        let pg = c
            .directives
            .iter()
            .find(|d| matches!(d.kind, DirectiveKind::WsgiProcessGroup(_)))
            .unwrap();
        assert_eq!(pg.context, ["<VirtualHost *:443>", "<Location /app>"]);
        assert_eq!(pg.file, Path::new("/c/app.conf"));
        let imp = c
            .directives
            .iter()
            .find(|d| matches!(d.kind, DirectiveKind::WsgiImportScript { .. }))
            .unwrap();
        assert_eq!(imp.context, ["<VirtualHost *:443>"]);
        let m = messages(&c.errors);
        assert!(
            m.iter()
                .any(|e| e.starts_with("/c/app.conf:5: Invalid option to WSGI daemon process")),
            "{m:?}"
        );
        assert!(
            m.iter()
                .any(|e| e
                    .starts_with("/c/httpd.conf:10: Expected </Location> but saw </Directory>")),
            "{m:?}"
        );
        assert!(
            m.iter()
                .any(|e| e == "/c/httpd.conf: <Unclosed> was not closed."),
            "{m:?}"
        );
    }

    /// A module loaded twice is skipped with httpd's warning; a compiled-in
    /// one is refused (mod_so `load_module`).
    #[test]
    fn duplicate_and_builtin_modules() {
        let t = Tree::new();
        t.file(
            "/c/httpd.conf",
            "LoadModule a_module /m.so\nLoadModule a_module /other.so\nLoadModule log_config_module /m.so\n<IfModule mod_log_config.c>\nLoadModule b_module /m.so\n</IfModule>\n",
        )
        .file("/m.so", "x")
        .file("/other.so", "x");
        let mut o = opts_main("/c/httpd.conf");
        o.builtin = Some(
            DEBIAN_BUILTIN
                .iter()
                .map(|(s, f)| BuiltinModule {
                    symbol: s.to_string(),
                    source: f.to_string(),
                })
                .collect(),
        );
        let c = read_config(&t.root(), &o);
        assert_eq!(
            modules(&c),
            [
                ("a_module".to_string(), "/m.so".to_string()),
                ("b_module".into(), "/m.so".into())
            ]
        );
        assert!(has(
            &c.warnings,
            "httpd.conf:2: module a_module is already loaded, skipping"
        ));
        assert!(has(
            &c.errors,
            "httpd.conf:3: module log_config_module is built-in and can't be loaded"
        ));
    }

    /// `-C` directives come before the main file (and may move ServerRoot
    /// for its name), `-c` after; `-d` with no `-f` finds the layout's file.
    #[test]
    fn command_line_directives() {
        let t = Tree::new();
        t.file(
            "/srv/web/conf/httpd.conf",
            "<IfDefine PRE>\nLoadModule main_module modules/m.so\n</IfDefine>\n",
        )
        .file("/srv/web/modules/m.so", "x")
        .file("/srv/web/modules/post.so", "x");
        let o = ConfigOptions {
            main: Some("conf/httpd.conf".into()),
            server_root: Some("/nowhere".into()),
            pre_directives: vec!["Define PRE".into(), "ServerRoot /srv/web".into()],
            post_directives: vec!["LoadModule post_module modules/post.so".into()],
            builtin: generic(),
            ..ConfigOptions::default()
        };
        let c = read_config(&t.root(), &o);
        assert_eq!(
            c.main.as_deref(),
            Some(Path::new("/srv/web/conf/httpd.conf"))
        );
        assert_eq!(
            modules(&c),
            [
                ("main_module", "/srv/web/modules/m.so"),
                ("post_module", "/srv/web/modules/post.so")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert_eq!(c.directives[1].file, Path::new("<-c>"));
        let o = ConfigOptions {
            server_root: Some("/srv/web".into()),
            builtin: generic(),
            ..ConfigOptions::default()
        };
        let c = read_config(&t.root(), &o);
        assert_eq!(
            c.main.as_deref(),
            Some(Path::new("/srv/web/conf/httpd.conf"))
        );
        let c = read_config(&Tree::new().root(), &ConfigOptions::default());
        assert!(c.main.is_none() && has(&c.errors, "no Apache configuration found"));
    }

    /// Hostile input: include chains deeper than httpd's limit, a directory
    /// that contains a link to itself, a huge `${}` expansion and sections
    /// never closed end with errors, not hangs.
    #[test]
    fn hostile_configurations() {
        let t = Tree::new();
        for i in 0..200 {
            t.file(
                &format!("/deep/{i}.conf"),
                &format!("Include /deep/{}.conf\n", i + 1),
            );
        }
        t.file("/deep/200.conf", "LoadModule deep_module /m.so\n")
            .file("/m.so", "x");
        let c = read_config(&t.root(), &opts_main("/deep/0.conf"));
        assert!(has(&c.errors, "Exceeded maximum include depth of 128"));
        assert!(names(&c).is_empty());

        t.file("/loop/conf.d/a.conf", "LoadModule a_module /m.so\n")
            .link(".", "/loop/conf.d/self")
            .link("/loop/conf.d", "/loop/conf.d/abs")
            .file("/loop/httpd.conf", "Include /loop/conf.d\n");
        let c = read_config(&t.root(), &opts_main("/loop/httpd.conf"));
        assert_eq!(names(&c), ["a_module"]);
        assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
        assert!(has(&c.errors, "loops back into itself"));

        let big = "x".repeat(64 * 1024);
        let mut conf = format!("Define BIG {big}\n");
        conf.push_str(&"${BIG}".repeat(20));
        conf.push_str("\n<IfModule nope_module>\nLoadModule never_module /m.so\n");
        t.file("/big/httpd.conf", &conf);
        let c = read_config(&t.root(), &opts_main("/big/httpd.conf"));
        assert!(has(
            &c.errors,
            "httpd.conf:2: budget exceeded: APACHE_LINE (1 MiB): line after ${} expansion ignored"
        ));
        assert!(has(
            &c.errors,
            "httpd.conf:3: Expected </IfModule> before end of configuration"
        ));
        assert!(names(&c).is_empty());
    }

    #[test]
    fn envvars_budget_texts() {
        assert_eq!(
            ENVVARS_VALUE_TEXT,
            budget::exceeded("ENVVARS_VALUE", budget::bytes(ENVVARS_VALUE as u64))
        );
        assert_eq!(
            ENVVARS_EXPANDED_TEXT,
            budget::exceeded("ENVVARS_EXPANDED", budget::bytes(ENVVARS_EXPANDED as u64))
        );
        assert_eq!(
            ENVVARS_NESTING_TEXT,
            budget::exceeded("ENVVARS_NESTING", ENVVARS_NESTING)
        );
    }

    #[test]
    fn errors_kept_per_file() {
        let t = Tree::new();
        let mut conf = String::new();
        for i in 0..100 {
            conf.push_str(&format!("Include /missing/{i}.conf\n"));
        }
        t.file("/e/httpd.conf", &conf)
            .file("/e/other.conf", "LoadModule\n")
            .file(
                "/e/main.conf",
                "Include /e/httpd.conf\nInclude /e/other.conf\n",
            );
        let c = read_config(&t.root(), &opts_main("/e/main.conf"));
        let mine: Vec<_> = c
            .errors
            .iter()
            .filter(|e| e.0.to_string_lossy().starts_with("/e/httpd.conf:"))
            .collect();
        assert_eq!(mine.len(), budget::ERRORS_PER_FILE + 1, "{:?}", c.errors);
        assert!(mine[0].1.contains("/missing/0.conf"));
        assert_eq!(mine[20].0, Path::new("/e/httpd.conf:21"));
        assert_eq!(mine[20].1, budget::more_errors(80));
        // The next file's errors are its own, and come after.
        assert!(has(
            &c.errors,
            "other.conf:1: LoadModule takes two arguments"
        ));
    }

    #[test]
    fn include_work_is_bounded() {
        // Two links per level: 2^30 paths, as httpd would follow them.
        let t = Tree::new();
        t.file(
            "/f/httpd.conf",
            "Include /f/d0\nLoadModule late_module /m.so\n",
        )
        .file("/m.so", "x")
        .file("/f/d0/a.conf", "LoadModule first_module /m.so\n")
        .mkdir("/f/d30");
        for i in 0..30 {
            t.link(&format!("/f/d{}", i + 1), &format!("/f/d{i}/l1"))
                .link(&format!("/f/d{}", i + 1), &format!("/f/d{i}/l2"));
        }
        let c = read_config(&t.root(), &opts_main("/f/httpd.conf"));
        assert!(
            has(&c.errors, "budget exceeded: APACHE_INCLUDE_WORK (100000)"),
            "{:?}",
            c.errors
        );
        // What was read is kept; nothing after the budget is read.
        assert_eq!(names(&c), ["first_module"]);
    }

    #[test]
    fn getword_conf_matches_httpd() {
        let w = |s: &str| {
            words(s.as_bytes())
                .iter()
                .map(|w| lossy(w))
                .collect::<Vec<_>>()
        };
        assert_eq!(w("  a  b\t c "), ["a", "b", "c"]);
        assert_eq!(
            w(r#""a b" 'c "d"' "e\"f" 'g\'h'"#),
            ["a b", "c \"d\"", "e\"f", "g'h"]
        );
        assert_eq!(
            w(r#"a\\b a\"b "a\\b" "a\nb""#),
            ["a\\b", "a\\\"b", "a\\b", "a\\nb"]
        );
        assert_eq!(
            w(r#"x"y z" "unterminated"#),
            ["x\"y", "z\"", "unterminated"]
        );
        assert_eq!(w(r#""" x"#), ["", "x"]);
    }

    /// The lines of a file, and the numbers of those too long.
    fn logical_lines(bytes: &[u8]) -> (Vec<(usize, Vec<u8>)>, Vec<usize>) {
        let mut out = Vec::new();
        let mut too_long = Vec::new();
        for (n, l) in Lines::new(bytes) {
            match l {
                Some(l) => out.push((n, l.into_owned())),
                None => {
                    too_long.push(n);
                    out.push((n, Vec::new()));
                }
            }
        }
        (out, too_long)
    }

    #[test]
    fn logical_lines_join_and_trim() {
        let (l, long) = logical_lines(b"  a \\\n b\\\r\nc\r\n\n\\\nd\ne\\");
        let l: Vec<(usize, String)> = l.into_iter().map(|(n, s)| (n, lossy(&s))).collect();
        assert_eq!(
            l,
            [
                (3, "a  bc".to_string()),
                (4, String::new()),
                (6, "d".into()),
                (7, "e\\".into())
            ]
        );
        assert!(long.is_empty());
        let big = vec![b'a'; APACHE_LINE + 1];
        let (l, long) = logical_lines(&[&big[..], b"\nok\n"].concat());
        assert_eq!(long, [1]);
        assert_eq!(l[1], (2, b"ok".to_vec()));
    }

    #[test]
    fn fnmatch_test_and_normalize() {
        assert!(fnmatch_test(b"/a/*.conf"));
        assert!(fnmatch_test(b"/a/[ab].conf"));
        assert!(!fnmatch_test(b"/a/[ab.conf"));
        assert!(!fnmatch_test(b"/a/\\*.conf"));
        assert_eq!(
            normalize(Path::new("/etc/httpd"), b"conf/../modules/./x.so"),
            Path::new("/etc/httpd/modules/x.so")
        );
        assert_eq!(
            normalize(Path::new("/etc/httpd"), b"/../../x"),
            Path::new("/x")
        );
        assert_eq!(
            normalize(Path::new("/etc/httpd"), b""),
            Path::new("/etc/httpd")
        );
        assert_eq!(
            default_server_root(Path::new("/opt/x/apache2/conf/httpd.conf")),
            Path::new("/opt/x/apache2")
        );
        assert_eq!(
            module_source_name("php_module").as_deref(),
            Some("mod_php.c")
        );
        assert_eq!(
            module_source_name("mpm_event_module").as_deref(),
            Some("event.c")
        );
        assert_eq!(module_source_name("_module"), None);
    }

    // ---- the service environment ----

    const DEBIAN_ENVVARS: &str = r#"# envvars - default environment variables for apache2ctl

# this won't be correct after changing uid
unset HOME

# for supporting multiple apache2 instances
if [ "${APACHE_CONFDIR##/etc/apache2-}" != "${APACHE_CONFDIR}" ] ; then
	SUFFIX="-${APACHE_CONFDIR##/etc/apache2-}"
else
	SUFFIX=
fi

export APACHE_RUN_USER=www-data
export APACHE_RUN_GROUP=www-data
# temporary state file location. This might be changed to /run in Wheezy+1
export APACHE_PID_FILE=/var/run/apache2$SUFFIX/apache2.pid
export APACHE_RUN_DIR=/var/run/apache2$SUFFIX
export APACHE_LOCK_DIR=/var/lock/apache2$SUFFIX
# Only /var/log/apache2 is handled by /etc/logrotate.d/apache2.
export APACHE_LOG_DIR=/var/log/apache2$SUFFIX

## The locale used by some modules like mod_dav
export LANG=C
## Uncomment the following line to use the system default locale instead:
#. /etc/default/locale

export LANG

#export APACHE_ARGUMENTS=''
"#;

    const DEBIAN_UNIT: &str = "[Unit]\nDescription=The Apache HTTP Server\n\n[Service]\nType=forking\nEnvironment=APACHE_STARTED_BY_SYSTEMD=true\nExecStart=/usr/sbin/apachectl start\nExecStop=/usr/sbin/apachectl graceful-stop\n";

    fn var<'a>(s: &'a ServiceEnv, k: &str) -> Option<&'a str> {
        s.var(k)
    }

    /// Debian: systemd starts apachectl, which sources envvars (the `if`
    /// for multiple instances evaluated) and unsets
    /// APACHE_STARTED_BY_SYSTEMD before starting apache2 -k start.
    #[test]
    fn debian_service_env() {
        let t = Tree::new();
        t.file("/etc/apache2/envvars", DEBIAN_ENVVARS)
            .file("/usr/lib/systemd/system/apache2.service", DEBIAN_UNIT)
            .link("usr/lib", "/lib");
        let s = service_env(&t.root());
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        assert_eq!(
            s.unit.as_deref(),
            Some(Path::new("/usr/lib/systemd/system/apache2.service"))
        );
        let expected: BTreeMap<String, String> = [
            ("APACHE_LOCK_DIR", "/var/lock/apache2"),
            ("APACHE_LOG_DIR", "/var/log/apache2"),
            ("APACHE_PID_FILE", "/var/run/apache2/apache2.pid"),
            ("APACHE_RUN_DIR", "/var/run/apache2"),
            ("APACHE_RUN_GROUP", "www-data"),
            ("APACHE_RUN_USER", "www-data"),
            ("LANG", "C"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(s.vars, expected);
        assert_eq!(s.httpd.as_deref(), Some(Path::new("/usr/sbin/apache2")));
        assert_eq!(s.args, ["-k", "start"]);
        assert!(s.defines.is_empty());
        assert_eq!(
            s.sources,
            [
                Path::new("/usr/lib/systemd/system/apache2.service"),
                Path::new("/etc/apache2/envvars")
            ]
        );
        // A second instance's confdir sets SUFFIX through the `if`.
        t.file(
            "/etc/systemd/system/apache2.service.d/instance.conf",
            "[Service]\nEnvironment=APACHE_CONFDIR=/etc/apache2-two APACHE_ENVVARS=/etc/apache2/envvars\n",
        );
        let s = service_env(&t.root());
        assert_eq!(var(&s, "APACHE_RUN_DIR"), Some("/var/run/apache2-two"));
        assert_eq!(
            s.server_root.as_deref(),
            Some(Path::new("/etc/apache2-two"))
        );
        assert_eq!(s.args, ["-d", "/etc/apache2-two", "-k", "start"]);
        assert_eq!(var(&s, "APACHE_STARTED_BY_SYSTEMD"), None);
    }

    /// What the envvars interpreter does and what it refuses.
    #[test]
    fn envvars_shell_subset() {
        let t = Tree::new();
        t.file(
            "/etc/apache2/envvars",
            r#"BASE=/opt/web
export A=${BASE:-/x}/a B="$BASE/b c" C='${BASE}'
D=${NOPE:-def} E=${NOPE-} F=${BASE:+set}
export D E
G=not-exported
H=${BASE#/opt} I=${BASE%/*} J=${#BASE}
. /etc/default/locale
export K=$(hostname)
if [ -n "$BASE" ]; then L=then; else L=else; fi
if test "$BASE" = /other; then M=then
elif [ ! -z "$BASE" ]; then M=elif
fi
if [ "$(id -u)" = 0 ]; then N=unknown; else N=unknown2; fi
case "$BASE" in
  /opt/*) O=case ;;
esac
export L M N O
LD_LIBRARY_PATH=/opt/lib; export LD_LIBRARY_PATH
export APACHE_ARGUMENTS="-DFOO -D BAR -f /etc/apache2/alt.conf -C 'x'"
unset A
export H I J
"#,
        );
        let s = service_env(&t.root());
        let v = |k: &str| var(&s, k).map(str::to_string);
        assert_eq!(v("A"), None, "unset");
        assert_eq!(v("B").as_deref(), Some("/opt/web/b c"));
        assert_eq!(v("C").as_deref(), Some("${BASE}"));
        assert_eq!(v("D").as_deref(), Some("def"));
        assert_eq!(v("E").as_deref(), Some(""));
        assert_eq!(v("F"), None, "not exported");
        assert_eq!(v("G"), None, "not exported");
        assert_eq!(v("BASE"), None, "not exported");
        assert_eq!(v("H").as_deref(), Some("/web"));
        assert_eq!(v("I").as_deref(), Some("/opt"));
        assert_eq!(v("J").as_deref(), Some("8"));
        assert_eq!(v("K"), None, "command substitution is not run");
        assert_eq!(v("L").as_deref(), Some("then"));
        assert_eq!(v("M").as_deref(), Some("elif"));
        assert_eq!(v("N"), None, "neither branch of an unknown condition");
        assert_eq!(v("O"), None, "case is skipped");
        assert_eq!(s.ld_library_path(), Some("/opt/lib"));
        assert_eq!(s.defines, ["FOO", "BAR"]);
        assert_eq!(
            s.config_file.as_deref(),
            Some(Path::new("/etc/apache2/alt.conf"))
        );
        assert_eq!(s.pre_directives, ["'x'"]);
        let m = messages(&s.errors);
        assert_eq!(m.len(), 4, "{m:?}");
        assert!(
            m[0].starts_with("/etc/apache2/envvars:7: `. /etc/default/locale` is not followed")
        );
        assert!(
            m[1].starts_with("/etc/apache2/envvars:8: command substitution are not interpreted")
        );
        assert!(m[2].starts_with("/etc/apache2/envvars:13: condition not interpreted"));
        assert!(m[3].starts_with("/etc/apache2/envvars:14: `case` is not interpreted"));
        let opts = s.config_options();
        assert_eq!(opts.defines, ["FOO", "BAR"]);
        assert_eq!(opts.env.get("B").map(String::as_str), Some("/opt/web/b c"));
    }

    /// RHEL: the unit's Environment=, EnvironmentFile= (optional, '-'),
    /// `$OPTIONS` split into words, `-DFOREGROUND`, drop-ins in name order
    /// with resets, UnsetEnvironment=, and ld.so.preload.
    #[test]
    fn rhel_service_env() {
        let t = Tree::new();
        t.file(
            "/usr/lib/systemd/system/httpd.service",
            "[Unit]\nDescription=The Apache HTTP Server\n[Service]\nType=notify\nEnvironment=LANG=C\nEnvironmentFile=-/etc/sysconfig/httpd\nEnvironmentFile=-/etc/sysconfig/missing\nExecStart=/usr/sbin/httpd $OPTIONS -DFOREGROUND\nExecReload=/usr/sbin/httpd $OPTIONS -k graceful\n",
        )
        .file(
            "/etc/sysconfig/httpd",
            "# comment\nOPTIONS=\"-DSSL -f conf/alt.conf\"\n  LD_LIBRARY_PATH = /opt/lib  \nQUOTED='a b'\\\n  \nbad-name=1\n",
        )
        .file(
            "/etc/systemd/system/httpd.service.d/50-preload.conf",
            "[Service]\nEnvironment=\"LD_PRELOAD=/opt/a.so /opt/b.so:/opt/c.so\" LD_BIND_NOW=1 \\\n  LD_DYNAMIC_WEAK= GONE=x\nUnsetEnvironment=GONE\n",
        )
        .file(
            "/usr/lib/systemd/system/httpd.service.d/10-reset.conf",
            "[Service]\nExecStart=\nExecStart=@/usr/sbin/httpd httpd-argv0 $OPTIONS -DFOREGROUND -D${LANG}X\n",
        )
        .file("/etc/ld.so.preload", "/lib/a.so:/lib/b.so # comment: /lib/no.so\n  /lib/c.so\t/lib/d.so\n\0/lib/after-nul.so");
        let s = service_env(&t.root());
        assert!(
            has(
                &s.errors,
                "httpd:6: invalid variable name, ignored: bad-name"
            ),
            "{:?}",
            s.errors
        );
        assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
        assert_eq!(s.httpd.as_deref(), Some(Path::new("/usr/sbin/httpd")));
        assert_eq!(
            s.args,
            ["-DSSL", "-f", "conf/alt.conf", "-DFOREGROUND", "-DCX"]
        );
        assert_eq!(s.defines, ["SSL", "FOREGROUND", "CX"]);
        assert_eq!(s.config_file.as_deref(), Some(Path::new("conf/alt.conf")));
        assert_eq!(s.ld_library_path(), Some("/opt/lib"));
        assert_eq!(var(&s, "QUOTED"), Some("a b"));
        assert_eq!(var(&s, "LANG"), Some("C"));
        assert_eq!(var(&s, "GONE"), None);
        assert_eq!(s.ld_preload(), ["/opt/a.so", "/opt/b.so", "/opt/c.so"]);
        assert!(s.ld_bind_now());
        assert!(s.ld_dynamic_weak());
        assert_eq!(
            s.ld_so_preload,
            ["/lib/a.so", "/lib/b.so", "/lib/c.so", "/lib/d.so"]
        );
        // A masked unit is reported.
        t.link("/dev/null", "/etc/systemd/system/httpd.service");
        let s = service_env(&t.root());
        assert!(has(&s.errors, "unit is masked"));
        assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
        assert!(s.httpd.is_none() && s.args.is_empty());
    }

    #[test]
    fn env_file_parser() {
        let got = parse_env_file(b"A=1\n B = two words  \nC=\"x\\\"y\\n\"z\nD='q\\'\n#E=no\n;F=no\nG=a\\\nb\nH\nI=\"multi\nline\"\nJ=");
        let got: Vec<(String, String)> = got.into_iter().map(|(_, k, v)| (k, v)).collect();
        let want = [
            ("A", "1"),
            ("B", "two words"),
            ("C", "x\"y\\nz"),
            ("D", "q\\"),
            ("G", "ab"),
            ("I", "multi\nline"),
            ("J", ""),
        ];
        assert_eq!(got, want.map(|(k, v)| (k.to_string(), v.to_string())));
    }

    #[test]
    fn unit_words_and_exec() {
        assert_eq!(
            unit_words(r#"A=1 "B=2 3" 'C=4' D=\x41\n"#),
            ["A=1", "B=2 3", "C=4", "D=A\n"]
        );
        let env: BTreeMap<String, String> = [("O".to_string(), " -Da  -Db ".to_string())].into();
        assert_eq!(
            exec_words("-/usr/sbin/httpd $O ${O}x $$O $NONE", &env),
            ["/usr/sbin/httpd", "-Da", "-Db", " -Da  -Db x", "$O"]
        );
    }

    /// Token soup made of the syntax both parsers care about: neither
    /// panics nor loops, whatever the order.
    mod soup {
        use super::*;
        use proptest::prelude::*;

        const TOKENS: &[&str] = &[
            "<IfModule ",
            "<IfDefine !",
            ">",
            "</IfModule>",
            "</IfDefine>",
            "<VirtualHost *>",
            "</VirtualHost>",
            "<Macro x>",
            "\\\n",
            "\n",
            "\r\n",
            "\"",
            "'",
            "${",
            "}",
            "$",
            "\\",
            "Include ",
            "IncludeOptional ",
            "/c/*.conf",
            "/c",
            "*",
            "?",
            "[",
            "]",
            "LoadModule ",
            "a_module ",
            "/m.so",
            "Define ",
            "UnDefine ",
            "ServerRoot ",
            "WSGIDaemonProcess ",
            "=",
            "#",
            "!",
            " ",
            "\t",
            "(",
            ")",
            ";",
            "if ",
            "then ",
            "elif ",
            "else ",
            "fi",
            "&&",
            "`",
            "export ",
            "unset ",
            "case ",
            "esac",
            "[ ",
            " ]",
            "-n ",
            "${X:-",
            "${X#",
            "%%",
            "A=",
            "\u{0}",
            "\u{ff}",
            "é",
        ];

        fn soup() -> impl Strategy<Value = String> {
            proptest::collection::vec(0..TOKENS.len(), 0..200)
                .prop_map(|v| v.into_iter().map(|i| TOKENS[i]).collect())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]
            #[test]
            fn parsers_survive_token_soup(conf in soup(), other in soup()) {
                let t = Tree::new();
                t.file("/c/httpd.conf", &format!("Include /c/*.conf\n{conf}"))
                    .file("/c/b.conf", &other)
                    .file("/etc/apache2/envvars", &format!("{conf}\n{other}"))
                    .file("/m.so", "x");
                let c = read_config(&t.root(), &opts_main("/c/httpd.conf"));
                prop_assert!(c.files.len() <= APACHE_FILES);
                let _ = service_env(&t.root());
            }
        }
    }

    // ---- this machine ----

    /// This machine's Debian configuration, read-only: the LoadModule list
    /// equals, in order, the LoadModule lines of mods-enabled/*.load in
    /// byte order of their names.
    #[test]
    fn this_machines_debian_config() {
        if !Path::new("/etc/apache2/apache2.conf").exists()
            || !Path::new("/etc/apache2/envvars").exists()
        {
            eprintln!("no Debian Apache configuration on this machine: skipped");
            return;
        }
        let root = Root::new(Path::new("/")).unwrap();
        let mut loads: Vec<PathBuf> = fs::read_dir("/etc/apache2/mods-enabled")
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension() == Some(OsStr::new("load")))
            .collect();
        loads.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
        let mut expected = Vec::new();
        for f in &loads {
            for line in fs::read_to_string(f).unwrap().lines() {
                let mut w = line.split_whitespace();
                if w.next() == Some("LoadModule") {
                    let name = w.next().unwrap().to_string();
                    let path = w.next().unwrap().to_string();
                    expected.push((name, path));
                }
            }
        }
        assert!(!expected.is_empty());
        let service = service_env(&root);
        let config = read_config(&root, &service.config_options());
        assert_eq!(modules(&config), expected);
        assert!(
            expected.iter().any(|(n, _)| n.starts_with("mpm_")),
            "Debian enables an MPM"
        );
        assert!(config.errors.is_empty(), "{:?}", config.errors);
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        assert_eq!(config.server_root, Path::new("/etc/apache2"));
    }

    #[test]
    fn this_machines_envvars() {
        if !Path::new("/etc/apache2/envvars").exists() {
            eprintln!("no /etc/apache2/envvars on this machine: skipped");
            return;
        }
        let root = Root::new(Path::new("/")).unwrap();
        let s = service_env(&root);
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        assert_eq!(var(&s, "APACHE_RUN_USER"), Some("www-data"));
        assert_eq!(var(&s, "APACHE_RUN_GROUP"), Some("www-data"));
        assert_eq!(var(&s, "APACHE_RUN_DIR"), Some("/var/run/apache2"));
        assert_eq!(var(&s, "APACHE_LOG_DIR"), Some("/var/log/apache2"));
        assert_eq!(var(&s, "HOME"), None);
        assert!(s.sources.contains(&PathBuf::from("/etc/apache2/envvars")));
        assert_eq!(s.httpd.as_deref(), Some(Path::new("/usr/sbin/apache2")));
    }

    /// Debian's compiled-in module list is the `*_module` symbol names in
    /// the strings of /usr/sbin/apache2 (read, never run).
    #[test]
    fn debian_builtin_list_matches_binary() {
        let Ok(bytes) = fs::read("/usr/sbin/apache2") else {
            eprintln!("no /usr/sbin/apache2 on this machine: skipped");
            return;
        };
        let found: BTreeSet<String> = bytes
            .split(|&c| c == 0)
            .filter(|s| {
                s.len() > 7
                    && s.ends_with(b"_module")
                    && !s.starts_with(b"ap_")
                    && s.iter()
                        .all(|&c| c == b'_' || c.is_ascii_lowercase() || c.is_ascii_digit())
            })
            .map(lossy)
            .collect();
        let listed: BTreeSet<String> = DEBIAN_BUILTIN.iter().map(|(s, _)| s.to_string()).collect();
        assert_eq!(found, listed);
    }
}
