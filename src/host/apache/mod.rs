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
//! Inside: `lex` makes the logical lines and words and merges paths,
//! `reader` replays the reading; `wsgi` divides the configuration among
//! mod_wsgi's processes (the Apache children and each daemon process
//! group); `service` puts together httpd's start
//! from the daemon-neutral readers of `host::service` (systemd units and
//! env files, the sh interpreter for `envvars`, `/etc/ld.so.preload`).
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

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::host::text::path_of;
use crate::root::{Kind, Root};

mod lex;
mod reader;
mod service;
#[cfg(test)]
mod tests;
pub mod wsgi;

use lex::normalize;
pub use service::{ServiceEnv, service_env};

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
    /// `AddHandler wsgi-script .ext...` or `SetHandler wsgi-script`: the
    /// files its section serves are WSGI applications (`directive` as
    /// written, `extensions` the words after the handler).
    WsgiScriptHandler {
        directive: String,
        extensions: Vec<String>,
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
    reader::read(root, opts, builtin, main, server_root)
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
