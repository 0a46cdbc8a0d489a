//! PHP's start-up configuration for one SAPI, from files alone: which ini
//! files PHP reads, the `extension_dir` it ends up with, and the
//! `zend_extension=` / `extension=` entries it `dlopen`s, in PHP's order
//! (rules H8 and H9 of research/loader-model.md §5.3). PHP is never run.
//!
//! The model follows php-src:
//!
//! * **Which ini files** (`php_init_config`, main/php_ini.c). The SAPI's
//!   override (Apache's `PHPIniDir`, the `-c` option) is used as is when it
//!   names a file and is the whole search path otherwise. Without one the
//!   search path is `$PHPRC`, the working directory (only mod_php: the CLI
//!   and FPM set `php_ini_ignore_cwd`), the directory of the binary (CLI and
//!   FPM, whose `PG(php_binary)` is set) and the compiled-in
//!   `PHP_CONFIG_FILE_PATH`. Every directory of the path is tried for
//!   `php-<sapi_module.name>.ini` before any is tried for `php.ini`. Then
//!   every `*.ini` of the scan directories (`$PHP_INI_SCAN_DIR`, else the
//!   compiled-in `PHP_CONFIG_FILE_SCAN_DIR`; an empty element of the list
//!   stands for the compiled-in one) in `alphasort` order, which is byte
//!   order because PHP never sets `LC_COLLATE`; names that are not regular
//!   files after following symlinks are skipped, as `php_init_config` does.
//! * **Ini syntax.** `Lexer` re-implements the states and the longest-match
//!   rules of Zend's ini scanner (`zend_ini_scanner.l`, normal mode) and
//!   `Parser` the grammar of `zend_ini_parser.y`: `[sections]`, `;`
//!   comments, quoted `"…"` (with `\"`, `\\`, `\$` escapes) and raw `'…'`
//!   values, unquoted values with constants, `${name}` (the configuration so
//!   far, then the environment, else empty; `${name:-fallback}` since PHP
//!   8.3), the `| & ^ ~ !` integer operators. `#` starts no comment (PHP 7
//!   removed that), so a `#` line is an entry with a strange name, or a
//!   syntax error when it holds one of the scanner's operator characters.
//!   The grammar has no error recovery: at the first syntax error PHP stops
//!   reading *that* file, keeps the entries read before it and goes on with
//!   the next file. So does this model. The rest of the file is still
//!   scanned so that further syntax errors, and extension lines that PHP
//!   will not see, are reported in [`PhpConfig::errors`].
//! * **The two lists** (`php_ini_parser_cb`). `extension` and
//!   `zend_extension` (names compared case-insensitively) are appended to
//!   two lists unless the current section is a `[PATH=…]` or `[HOST=…]` one
//!   (any section whose name starts with `PATH` or `HOST`, case-insensitive);
//!   every other section is flat. The section is reset for each file
//!   (`RESET_ACTIVE_INI_HASH`). Other entries go to the configuration hash,
//!   where `extension_dir` (exact name, last assignment wins) and `${name}`
//!   find them.
//! * **Loading** (`php_ini_register_extensions`, rule H9): every zend
//!   extension first, then every extension, each list in the order met.
//!   `php_load_zend_extension_cb` uses a name starting with `/` as is and
//!   otherwise tries `extension_dir/name`, then `extension_dir/name.so`;
//!   `php_load_extension` (ext/standard/dl.c) uses a name containing `/` as
//!   is and otherwise tries the same two (the `.so` retry exists since PHP
//!   7.2). Both `dlopen` with `DL_LOAD` (rule H8). A second entry for an
//!   object already loaded only makes PHP warn ("Module … is already
//!   loaded"), so it is kept once and noted.
//!
//! Known divergences: constants other than `PHP_EXTENSION_DIR`,
//! `PHP_SHLIB_SUFFIX`, `PHP_CONFIG_FILE_PATH` and `PHP_CONFIG_FILE_SCAN_DIR`
//! keep their name as value (PHP would substitute `E_ALL` and friends); a
//! relative path is taken relative to `/`, the working directory of a
//! daemonised httpd and of php-fpm under systemd; a candidate that exists
//! but is not loadable ELF counts as found (PHP would go on to the `.so`
//! candidate); `${X:-…}` with a one-character name reads as a syntax
//! error in php-src's scanner as written and works here; files larger than
//! [`budget::PHP_INI_BYTES`] are not read (an error entry).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use bstr::{BString, ByteSlice};

use crate::root::{Kind, Root};

use crate::budget::{
    self, ERRORS_PER_FILE, PHP_EXTENSIONS, PHP_INI_LINES, PHP_POOL_FILES, PHP_SCAN_FILES,
    PHP_VALUE_DEPTH,
};

/// A PHP server API: which binary PHP runs in, and so which ini it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sapi {
    /// mod_php (`apache2handler`), loaded into httpd: its extensions are
    /// members of the Apache process.
    Apache2,
    /// php-fpm (`fpm-fcgi`): its own process tree, never Apache's.
    Fpm,
    /// The command-line interpreter.
    Cli,
}

impl Sapi {
    /// `sapi_module.name`, which names the `php-<name>.ini` that
    /// `php_init_config` looks for before `php.ini`.
    pub fn module_name(self) -> &'static str {
        match self {
            Sapi::Apache2 => "apache2handler",
            Sapi::Fpm => "fpm-fcgi",
            Sapi::Cli => "cli",
        }
    }

    /// The per-SAPI directory name Debian and SUSE build into
    /// `PHP_CONFIG_FILE_PATH` (`/etc/php/8.2/apache2`, `/etc/php8/fpm`).
    pub fn dir_name(self) -> &'static str {
        match self {
            Sapi::Apache2 => "apache2",
            Sapi::Fpm => "fpm",
            Sapi::Cli => "cli",
        }
    }
}

/// Whose build of PHP: decides the compiled-in paths (`PHP_CONFIG_FILE_PATH`,
/// `PHP_CONFIG_FILE_SCAN_DIR`, `PHP_EXTENSION_DIR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layout {
    /// Debian/Ubuntu (and sury.org): `/etc/php/X.Y/<sapi>/php.ini`, scan
    /// directory `/etc/php/X.Y/<sapi>/conf.d`, `/usr/lib/php/<API>`.
    Debian,
    /// RHEL/Fedora/Rocky: `/etc/php.ini`, `/etc/php.d`,
    /// `/usr/lib64/php/modules`, for every SAPI.
    Rhel,
    /// The thread-safe RHEL/Fedora build (`libphp*-zts.so`): `/etc/php.ini`,
    /// `/etc/php-zts.d`, `/usr/lib64/php-zts/modules`.
    RhelZts,
    /// SUSE: `/etc/phpN/<sapi>/php.ini`, one scan directory `/etc/phpN/conf.d`
    /// for all SAPIs, `/usr/lib64/phpN/extensions`.
    Suse,
    /// Alpine: `/etc/phpXY/php.ini`, `/etc/phpXY/conf.d`,
    /// `/usr/lib/phpXY/modules`, for every SAPI.
    Alpine,
    /// The official Docker image: `/usr/local/etc/php/php.ini`,
    /// `/usr/local/etc/php/conf.d`,
    /// `/usr/local/lib/php/extensions/no-debug-non-zts-<API>`.
    Docker,
    /// A source build with PHP's defaults and prefix `/usr/local`:
    /// `/usr/local/lib/php.ini`, no scan directory.
    Source,
}

/// What the caller knows about the PHP in question.
#[derive(Debug, Clone, Default)]
pub struct PhpHints {
    /// `"8.2"`, from the `libphp8.2.so` or `php-fpm8.2` name; without it the
    /// version is taken from `libphp` or from the version directories found.
    pub version: Option<String>,
    /// Apache's `PHPIniDir` (or a `-c` argument): a php.ini file, or the
    /// directory (list) searched instead of the default path.
    pub ini_dir: Option<PathBuf>,
    /// The mod_php object the Apache configuration loads; its place tells
    /// the distribution layout.
    pub libphp: Option<PathBuf>,
    /// The service environment: `${NAME}` in ini values, `PHPRC`,
    /// `PHP_INI_SCAN_DIR`.
    pub env: BTreeMap<String, String>,
}

/// Which list an entry is on (rule H9: zend extensions load first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExtensionKind {
    /// `zend_extension=` (`php_load_zend_extension_cb`).
    Zend,
    /// `extension=` (`php_load_php_extension_cb` → `php_load_extension`).
    Extension,
}

impl ExtensionKind {
    /// The ini key.
    pub fn key(self) -> &'static str {
        match self {
            ExtensionKind::Zend => "zend_extension",
            ExtensionKind::Extension => "extension",
        }
    }
}

/// One object PHP `dlopen`s at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhpExtension {
    pub kind: ExtensionKind,
    /// The value as PHP read it (quotes removed, `${…}` expanded).
    pub name_as_written: BString,
    /// The inner path PHP passes to `dlopen`.
    pub path: PathBuf,
    /// `path` with every symlink resolved inside the root.
    pub canonical: PathBuf,
    /// The ini file and 1-based line of the entry.
    pub ini_file: PathBuf,
    pub line: usize,
}

/// PHP's start-up configuration for one SAPI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhpConfig {
    pub sapi: Sapi,
    /// `"8.2"`, `"8"` (SUSE), or unknown.
    pub version: Option<String>,
    pub layout: Layout,
    /// Every ini file read, in load order: php.ini, then the scan
    /// directories' files.
    pub ini_files: Vec<PathBuf>,
    /// The value in effect when extensions load (empty when set empty).
    pub extension_dir: PathBuf,
    /// `"/etc/php.ini:812"` for the assignment that won, or `"default"` for
    /// the build's `PHP_EXTENSION_DIR`.
    pub extension_dir_source: String,
    /// In `dlopen` order: zend extensions, then extensions (rule H9).
    pub extensions: Vec<PhpExtension>,
    /// (`path:line` or `path`, reason): syntax errors, unreadable files,
    /// extensions that cannot be found, lines PHP does not read.
    pub errors: Vec<(String, String)>,
    /// (`path:line` or `path`, remark): duplicates, assumptions, FPM pool
    /// extensions, choices made where the file system was ambiguous.
    pub notes: Vec<(String, String)>,
}

/// Models PHP's start-up for `sapi` on `root`: ini files, extension_dir and
/// the extensions in `dlopen` order (rule H9), never running PHP.
pub fn php_extensions(root: &Root, sapi: Sapi, hints: &PhpHints) -> PhpConfig {
    let mut errors = Vec::new();
    let mut notes = Vec::new();

    let mut version = hints.version.as_deref().and_then(Version::parse);
    if version.is_none() {
        version = hints.libphp.as_deref().and_then(version_from_path);
    }
    let from_module = hints
        .libphp
        .as_deref()
        .and_then(|p| layout_from_module(root, p));
    let (layout, version) = match from_module {
        Some(Layout::Debian) if version.is_none_or(|v| v.minor.is_none()) => {
            probe_debian(root, sapi, version, &mut notes)
                .map_or((Layout::Debian, version), |v| (Layout::Debian, Some(v)))
        }
        Some(layout) => (layout, version),
        None => probe(root, sapi, version, &mut notes),
    };
    let build = Build::new(root, layout, sapi, version, &mut errors, &mut notes);
    let fallback_syntax = at_least(version, 8, 3);

    let mut st = IniState {
        env: &hints.env,
        constants: build.constants(),
        config: BTreeMap::new(),
        special: false,
        shadow_special: false,
        zend: Vec::new(),
        ext: Vec::new(),
        extension_dir: None,
        errors: Vec::new(),
        full: false,
    };
    let mut ini_files = Vec::new();

    if let Some(ini) = locate_ini(root, sapi, &build, hints) {
        read_ini(root, &ini, &mut st, fallback_syntax);
        ini_files.push(ini);
    }
    for file in scan_files(root, &build, hints, &mut st.errors) {
        read_ini(root, &file, &mut st, fallback_syntax);
        ini_files.push(file);
    }
    errors.append(&mut st.errors);

    let (ext_dir, extension_dir_source) = match st.extension_dir.take() {
        Some((value, at)) => (value, at),
        None => match &build.extension_dir {
            Some(d) => (d.clone(), "default".to_string()),
            None => (Vec::new(), "default".to_string()),
        },
    };
    if !ext_dir.is_empty() && !ext_dir.starts_with(b"/") {
        notes.push((
            extension_dir_source.clone(),
            format!(
                "relative extension_dir \"{}\" taken relative to / ({})",
                ext_dir.as_bstr(),
                cwd_remark(sapi)
            ),
        ));
    }
    let extensions = resolve_entries(
        root,
        sapi,
        version,
        &ext_dir,
        &st.zend,
        &st.ext,
        &mut errors,
        &mut notes,
    );
    if sapi == Sapi::Fpm {
        pool_notes(root, &build, &mut notes);
    }
    let extension_dir = if ext_dir.is_empty() {
        PathBuf::new()
    } else {
        at_cwd(&ext_dir)
    };
    // At most ERRORS_PER_FILE per file, CONFIG_ERRORS in all; the summary
    // of the latter is put at the ini file PHP reads first.
    let end = ini_files
        .first()
        .map_or_else(|| "php".to_string(), |f| f.display().to_string());
    let errors = budget::cap_per_file(errors, |at: &String| at.as_bytes(), end);
    PhpConfig {
        sapi,
        version: version.map(|v| v.to_string()),
        layout,
        ini_files,
        extension_dir,
        extension_dir_source,
        extensions,
        errors,
        notes,
    }
}

/// The PHP SAPIs installed on `root`, each with its version when the file
/// names tell it, sorted: mod_php objects (`libphp*.so`, `mod_php*.so`) in
/// Apache module directories, `php-fpm*` and `php*` executables. Evidence is
/// the binary, not a configuration directory (Debian keeps
/// `/etc/php/X.Y/<sapi>` after a package is removed but not purged). An
/// unversioned name is dropped where a versioned one of the same SAPI
/// exists (Debian's `/usr/bin/php` alternative for `/usr/bin/php8.2`).
pub fn installed_sapis(root: &Root) -> Vec<(Sapi, Option<String>)> {
    let mut found: Vec<(Sapi, Option<Version>)> = Vec::new();
    let regular = |p: &[u8]| root.kind(&bytes_path(p)) == Some(Kind::Regular);
    for pattern in super::MODULE_DIRS {
        for dir in root.glob(pattern.as_bytes()) {
            for prefix in [&b"libphp"[..], b"mod_php"] {
                let mut pat = dir.clone();
                pat.push(b'/');
                pat.extend_from_slice(prefix);
                pat.extend_from_slice(b"*.so");
                for path in root.glob(&pat) {
                    if regular(&path) {
                        let name = file_name(&path);
                        found.push((Sapi::Apache2, version_from_module_name(name)));
                    }
                }
            }
        }
    }
    let bins: [(Sapi, &[u8], &[&str]); 2] = [
        (
            Sapi::Fpm,
            b"php-fpm",
            &["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"],
        ),
        (Sapi::Cli, b"php", &["/usr/bin", "/usr/local/bin"]),
    ];
    for (sapi, prefix, dirs) in bins {
        for dir in dirs {
            let mut pat = dir.as_bytes().to_vec();
            pat.push(b'/');
            pat.extend_from_slice(prefix);
            pat.push(b'*');
            for path in root.glob(&pat) {
                let Some(suffix) = file_name(&path).strip_prefix(prefix) else {
                    continue;
                };
                if !is_version_suffix(suffix) || !regular(&path) {
                    continue;
                }
                let v = std::str::from_utf8(suffix).ok().and_then(Version::parse);
                found.push((sapi, v));
            }
        }
    }
    found.sort();
    found.dedup();
    let versioned: Vec<Sapi> = found
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(s, _)| *s)
        .collect();
    found.retain(|(s, v)| v.is_some() || !versioned.contains(s));
    found
        .into_iter()
        .map(|(s, v)| (s, v.map(|v| v.to_string())))
        .collect()
}

// ---------------------------------------------------------------------------
// Versions, layouts and the build's compiled-in paths

/// A PHP version as far as file names tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Version {
    major: u32,
    minor: Option<u32>,
}

impl Version {
    fn new(major: u32, minor: u32) -> Version {
        Version {
            major,
            minor: Some(minor),
        }
    }

    /// `"8.2"`, `"8.2.36"`, `"8"`, and Alpine's `"82"`.
    fn parse(s: &str) -> Option<Version> {
        let s = s.trim();
        let mut parts = s.split('.');
        let first = parts.next()?;
        if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        match parts.next() {
            Some(m) => Some(Version::new(first.parse().ok()?, m.parse().ok()?)),
            None if first.len() == 2 => Some(Version::new(
                first.get(..1)?.parse().ok()?,
                first.get(1..)?.parse().ok()?,
            )),
            None if first.len() == 1 => Some(Version {
                major: first.parse().ok()?,
                minor: None,
            }),
            None => None,
        }
    }

    /// Alpine's directory suffix: `82` for 8.2, `8` for a bare major.
    fn compact(self) -> String {
        match self.minor {
            Some(m) => format!("{}{}", self.major, m),
            None => self.major.to_string(),
        }
    }
}

/// Whether PHP is at least `major.minor`; what the file names do not tell
/// counts as new (RHEL 8's `libphp7.so` is PHP 7.2 to 7.4).
fn at_least(v: Option<Version>, major: u32, minor: u32) -> bool {
    v.is_none_or(|v| v.major > major || (v.major == major && v.minor.is_none_or(|m| m >= minor)))
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.minor {
            Some(m) => write!(f, "{}.{}", self.major, m),
            None => write!(f, "{}", self.major),
        }
    }
}

/// `ZEND_MODULE_API_NO` (Zend/zend_modules.h) per release: the last part of
/// the default `extension_dir` on Debian and in source builds. 7.2–8.2 as
/// Debian installs them (`/usr/lib/php/<API>`); 8.3 from `phpinfo()` of a
/// Debian 8.3; 8.4 and 8.5 from php-src's branches.
const MODULE_API: &[(u32, u32, &str)] = &[
    (5, 6, "20131226"),
    (7, 0, "20151012"),
    (7, 1, "20160303"),
    (7, 2, "20170718"),
    (7, 3, "20180731"),
    (7, 4, "20190902"),
    (8, 0, "20200930"),
    (8, 1, "20210902"),
    (8, 2, "20220829"),
    (8, 3, "20230831"),
    (8, 4, "20240924"),
    (8, 5, "20250925"),
];

fn module_api(v: Version) -> Option<&'static str> {
    let minor = v.minor?;
    MODULE_API
        .iter()
        .find(|(ma, mi, _)| *ma == v.major && *mi == minor)
        .map(|(_, _, api)| *api)
}

/// Version from a mod_php or binary path: `libphp8.2.so`, `libphp7-zts.so`,
/// `mod_php82.so` (Alpine), `mod_php8.so` (SUSE); `libphp.so` tells none.
fn version_from_path(p: &Path) -> Option<Version> {
    version_from_module_name(file_name(p.as_os_str().as_bytes()))
}

fn version_from_module_name(name: &[u8]) -> Option<Version> {
    let rest = name
        .strip_prefix(b"libphp")
        .or_else(|| name.strip_prefix(b"mod_php"))?;
    let rest = rest.strip_suffix(b".so")?;
    let rest = rest.strip_suffix(b"-zts").unwrap_or(rest);
    Version::parse(std::str::from_utf8(rest).ok()?)
}

/// `""`, `"8.2"`, `"82"`: what may follow `php` or `php-fpm` in an
/// executable's name.
fn is_version_suffix(s: &[u8]) -> bool {
    s.is_empty()
        || (s.first().is_some_and(u8::is_ascii_digit)
            && s.iter().all(|b| b.is_ascii_digit() || *b == b'.'))
}

/// The layout a mod_php object's directory implies.
fn layout_from_module(root: &Root, p: &Path) -> Option<Layout> {
    let s = p.as_os_str().as_bytes();
    let name = file_name(s);
    let zts = name.find(b"-zts").is_some();
    if s.starts_with(b"/usr/lib/apache2/modules/") {
        Some(Layout::Debian)
    } else if [
        &b"/usr/lib64/httpd/"[..],
        b"/usr/lib/httpd/",
        b"/etc/httpd/",
    ]
    .iter()
    .any(|d| s.starts_with(d))
    {
        Some(if zts { Layout::RhelZts } else { Layout::Rhel })
    } else if s.starts_with(b"/usr/lib64/apache2") {
        Some(Layout::Suse)
    } else if s.starts_with(b"/usr/lib/apache2/") {
        Some(Layout::Alpine)
    } else if s.starts_with(b"/usr/local/") || s.starts_with(b"/opt/") {
        Some(if root.is_dir(Path::new("/usr/local/etc/php")) {
            Layout::Docker
        } else {
            Layout::Source
        })
    } else {
        None
    }
}

/// Debian versions with a directory for `sapi`; the wanted one when given
/// with its minor, else the newest (matching the major when one is known).
fn probe_debian(
    root: &Root,
    sapi: Sapi,
    want: Option<Version>,
    notes: &mut Vec<(String, String)>,
) -> Option<Version> {
    if let Some(v) = want.filter(|v| v.minor.is_some()) {
        let dir = format!("/etc/php/{v}/{}", sapi.dir_name());
        return root.is_dir(Path::new(&dir)).then_some(v);
    }
    let pattern = format!("/etc/php/*/{}", sapi.dir_name());
    let mut found: Vec<Version> = root
        .glob(pattern.as_bytes())
        .into_iter()
        .filter(|p| root.is_dir(&bytes_path(p)))
        .filter_map(|p| {
            let parts: Vec<&[u8]> = p.split(|b| *b == b'/').collect();
            let v = std::str::from_utf8(parts.get(3)?).ok()?;
            // Only X.Y names: Debian's directories are always versioned so.
            v.contains('.').then(|| Version::parse(v)).flatten()
        })
        .filter(|v| want.is_none_or(|w| w.major == v.major))
        .collect();
    found.sort();
    let chosen = found.last().copied()?;
    if found.len() > 1 {
        let all: Vec<String> = found.iter().map(ToString::to_string).collect();
        notes.push((
            "/etc/php".to_string(),
            format!(
                "PHP version not known: {} found for {}, the newest ({chosen}) is modelled",
                all.join(", "),
                sapi.dir_name()
            ),
        ));
    }
    Some(chosen)
}

/// The layout of the root's PHP for `sapi` when no mod_php path tells it.
fn probe(
    root: &Root,
    sapi: Sapi,
    version: Option<Version>,
    notes: &mut Vec<(String, String)>,
) -> (Layout, Option<Version>) {
    if let Some(v) = probe_debian(root, sapi, version, notes) {
        return (Layout::Debian, Some(v));
    }
    if root.kind(Path::new("/etc/php.ini")) == Some(Kind::Regular)
        || root.is_dir(Path::new("/etc/php.d"))
    {
        return (Layout::Rhel, version);
    }
    // SUSE: /etc/phpN/<sapi>/; Alpine: /etc/phpXY/php.ini.
    let numbered = |pattern: String, depth: usize| -> Vec<Version> {
        let mut v: Vec<Version> = root
            .glob(pattern.as_bytes())
            .into_iter()
            .filter(|p| root.kind(&bytes_path(p)).is_some())
            .filter_map(|p| {
                let parts: Vec<&[u8]> = p.split(|b| *b == b'/').collect();
                let name = parts.get(depth)?.strip_prefix(b"php")?;
                Version::parse(std::str::from_utf8(name).ok()?)
            })
            .filter(|v| version.is_none_or(|w| w.major == v.major))
            .collect();
        v.sort();
        v
    };
    let suse = numbered(format!("/etc/php[0-9]/{}", sapi.dir_name()), 2);
    if let Some(v) = suse.last() {
        return (Layout::Suse, version.or(Some(*v)));
    }
    let alpine = numbered("/etc/php[0-9]*/php.ini".to_string(), 2);
    let wanted = version.filter(|v| alpine.contains(v));
    if let Some(v) = wanted.or_else(|| alpine.last().copied()) {
        if wanted.is_none() && alpine.len() > 1 {
            notes.push((
                "/etc".to_string(),
                format!("PHP version not known: several /etc/phpXY found, {v} is modelled"),
            ));
        }
        return (Layout::Alpine, Some(v));
    }
    if root.is_dir(Path::new("/usr/local/etc/php")) {
        return (Layout::Docker, version);
    }
    (Layout::Source, version)
}

/// The compiled-in paths of one build.
struct Build {
    /// `PHP_CONFIG_FILE_PATH`.
    config_path: Vec<u8>,
    /// `PHP_CONFIG_FILE_SCAN_DIR` (empty: none).
    scan_dir: Vec<u8>,
    /// `PHP_EXTENSION_DIR`, when the version tells it.
    extension_dir: Option<Vec<u8>>,
    /// Directory of the binary, which CLI and FPM search for php.ini.
    binary_dir: Option<&'static str>,
    /// FPM pool files.
    pool_globs: Vec<String>,
}

impl Build {
    fn new(
        root: &Root,
        layout: Layout,
        sapi: Sapi,
        version: Option<Version>,
        errors: &mut Vec<(String, String)>,
        notes: &mut Vec<(String, String)>,
    ) -> Build {
        let sd = sapi.dir_name();
        let usr_bin = match sapi {
            Sapi::Apache2 => None,
            Sapi::Fpm => Some("/usr/sbin"),
            Sapi::Cli => Some("/usr/bin"),
        };
        let local_bin = match sapi {
            Sapi::Apache2 => None,
            Sapi::Fpm => Some("/usr/local/sbin"),
            Sapi::Cli => Some("/usr/local/bin"),
        };
        let b = |config: String, scan: String, ext: Option<String>, pools: &[String]| Build {
            config_path: config.into_bytes(),
            scan_dir: scan.into_bytes(),
            extension_dir: ext.map(String::into_bytes),
            binary_dir: usr_bin,
            pool_globs: pools.to_vec(),
        };
        match layout {
            Layout::Debian => {
                let Some(v) = version.filter(|v| v.minor.is_some()) else {
                    errors.push((
                        "/etc/php".to_string(),
                        "Debian layout but the PHP version is not known: no ini files".to_string(),
                    ));
                    return b(String::new(), String::new(), None, &[]);
                };
                let api = module_api(v);
                if api.is_none() {
                    errors.push((
                        format!("/etc/php/{v}"),
                        format!(
                            "module API number of PHP {v} not known: default extension_dir unknown"
                        ),
                    ));
                }
                let config = format!("/etc/php/{v}/{sd}");
                b(
                    config.clone(),
                    format!("{config}/conf.d"),
                    api.map(|a| format!("/usr/lib/php/{a}")),
                    &[format!("/etc/php/{v}/fpm/pool.d/*.conf")],
                )
            }
            Layout::Rhel | Layout::RhelZts => {
                let (scan, ext) = if layout == Layout::RhelZts {
                    ("/etc/php-zts.d", "/usr/lib64/php-zts/modules")
                } else {
                    ("/etc/php.d", "/usr/lib64/php/modules")
                };
                b(
                    "/etc".to_string(),
                    scan.to_string(),
                    Some(ext.to_string()),
                    &["/etc/php-fpm.d/*.conf".to_string()],
                )
            }
            Layout::Suse => {
                let m = version.map_or(8, |v| v.major);
                b(
                    format!("/etc/php{m}/{sd}"),
                    format!("/etc/php{m}/conf.d"),
                    Some(format!("/usr/lib64/php{m}/extensions")),
                    &[format!("/etc/php{m}/fpm/php-fpm.d/*.conf")],
                )
            }
            Layout::Alpine => {
                let s = version.map_or_else(String::new, Version::compact);
                b(
                    format!("/etc/php{s}"),
                    format!("/etc/php{s}/conf.d"),
                    Some(format!("/usr/lib/php{s}/modules")),
                    &[format!("/etc/php{s}/php-fpm.d/*.conf")],
                )
            }
            Layout::Docker | Layout::Source => {
                let ext = local_extension_dir(root, version, notes);
                if ext.is_none() {
                    errors.push((
                        "/usr/local/lib/php/extensions".to_string(),
                        "module API number not known and no extension directory found: default extension_dir unknown".to_string(),
                    ));
                }
                let (config, scan) = if layout == Layout::Docker {
                    ("/usr/local/etc/php", "/usr/local/etc/php/conf.d")
                } else {
                    ("/usr/local/lib", "")
                };
                let mut build = b(
                    config.to_string(),
                    scan.to_string(),
                    ext,
                    &["/usr/local/etc/php-fpm.d/*.conf".to_string()],
                );
                build.binary_dir = local_bin;
                build
            }
        }
    }

    /// The constants that matter in an `extension_dir` or extension value.
    fn constants(&self) -> Vec<(&'static [u8], Vec<u8>)> {
        let mut c: Vec<(&'static [u8], Vec<u8>)> = vec![
            (b"PHP_SHLIB_SUFFIX", b"so".to_vec()),
            (b"PHP_CONFIG_FILE_PATH", self.config_path.clone()),
            (b"PHP_CONFIG_FILE_SCAN_DIR", self.scan_dir.clone()),
        ];
        if let Some(d) = &self.extension_dir {
            c.push((b"PHP_EXTENSION_DIR", d.clone()));
        }
        c
    }
}

/// `/usr/local/lib/php/extensions/no-debug-{non-zts,zts}-<API>`: by the API
/// number when known, else the last such directory found.
fn local_extension_dir(
    root: &Root,
    version: Option<Version>,
    notes: &mut Vec<(String, String)>,
) -> Option<String> {
    const BASE: &str = "/usr/local/lib/php/extensions";
    if let Some(api) = version.and_then(module_api) {
        let nts = format!("{BASE}/no-debug-non-zts-{api}");
        let zts = format!("{BASE}/no-debug-zts-{api}");
        if !root.is_dir(Path::new(&nts)) && root.is_dir(Path::new(&zts)) {
            return Some(zts);
        }
        return Some(nts);
    }
    let found: Vec<Vec<u8>> = root
        .glob(format!("{BASE}/no-debug-*").as_bytes())
        .into_iter()
        .filter(|p| root.is_dir(&bytes_path(p)))
        .collect();
    let last = found.last()?;
    let s = String::from_utf8_lossy(last).into_owned();
    if found.len() > 1 {
        notes.push((
            BASE.to_string(),
            format!(
                "PHP version not known: {} extension directories, {s} is taken as the default",
                found.len()
            ),
        ));
    }
    Some(s)
}

// ---------------------------------------------------------------------------
// Which files (php_init_config)

/// The php.ini PHP opens, if any (`php_init_config`: override file, else
/// `php-<sapi>.ini`, else `php.ini` along the search path).
fn locate_ini(root: &Root, sapi: Sapi, build: &Build, hints: &PhpHints) -> Option<PathBuf> {
    let mut file_name: Option<Vec<u8>> = None;
    let mut search: Vec<Vec<u8>> = Vec::new();
    if let Some(o) = &hints.ini_dir {
        let o = o.as_os_str().as_bytes().to_vec();
        file_name = Some(o.clone());
        search.push(o);
    } else {
        if let Some(rc) = hints.env.get("PHPRC").filter(|v| !v.is_empty()) {
            file_name = Some(rc.as_bytes().to_vec());
            search.push(rc.as_bytes().to_vec());
        }
        if sapi == Sapi::Apache2 {
            search.push(b".".to_vec());
        }
        if let Some(d) = build.binary_dir {
            search.push(d.as_bytes().to_vec());
        }
        if !build.config_path.is_empty() {
            search.push(build.config_path.clone());
        }
    }
    let regular = |p: &Path| root.kind(p) == Some(Kind::Regular);
    if let Some(f) = file_name.filter(|f| !f.is_empty()) {
        let p = clean(&at_cwd(&f));
        if regular(&p) {
            return Some(p);
        }
    }
    // php_fopen_with_path splits on ':'; an empty element means "/" except
    // at the very end, where its loop stops.
    let joined = search.join(&b':');
    let mut dirs: Vec<&[u8]> = joined.split(|b| *b == b':').collect();
    if dirs.last().is_some_and(|d| d.is_empty()) {
        dirs.pop();
    }
    let sapi_ini = format!("php-{}.ini", sapi.module_name());
    for name in [sapi_ini.as_str(), "php.ini"] {
        for dir in &dirs {
            let mut p = dir.to_vec();
            p.push(b'/');
            p.extend_from_slice(name.as_bytes());
            let p = clean(&at_cwd(&p));
            if regular(&p) {
                return Some(p);
            }
        }
    }
    None
}

/// The scan directories' `*.ini` files in PHP's order.
fn scan_files(
    root: &Root,
    build: &Build,
    hints: &PhpHints,
    errors: &mut Vec<(String, String)>,
) -> Vec<PathBuf> {
    let list: Vec<u8> = match hints.env.get("PHP_INI_SCAN_DIR") {
        Some(v) => v.as_bytes().to_vec(),
        None => build.scan_dir.clone(),
    };
    let mut out = Vec::new();
    if list.is_empty() {
        return out;
    }
    for dir in list.split(|b| *b == b':') {
        let dir: &[u8] = if dir.is_empty() { &build.scan_dir } else { dir };
        if dir.is_empty() {
            continue;
        }
        let dir_path = clean(&at_cwd(dir));
        let names = match root.read_dir(&dir_path) {
            Ok(n) => n,
            Err(e) if e.is_absent() => continue,
            Err(e) => {
                errors.push((
                    dir_path.display().to_string(),
                    format!("cannot list scan directory: {e}"),
                ));
                continue;
            }
        };
        let mut count = 0usize;
        for name in names {
            let n = name.as_bytes();
            if n.rfind_byte(b'.').and_then(|i| n.get(i..)) != Some(&b".ini"[..]) {
                continue;
            }
            let path = dir_path.join(&name);
            if root.kind(&path) != Some(Kind::Regular) {
                continue;
            }
            count += 1;
            if count > PHP_SCAN_FILES {
                errors.push((
                    dir_path.display().to_string(),
                    format!(
                        "{}: the rest of the ini files are not read",
                        budget::exceeded("PHP_SCAN_FILES", PHP_SCAN_FILES)
                    ),
                ));
                break;
            }
            out.push(path);
        }
    }
    out
}

fn read_ini(root: &Root, path: &Path, st: &mut IniState<'_>, fallback_syntax: bool) {
    match root.read(path, budget::named!(PHP_INI_BYTES)) {
        Ok(text) => st.parse_file(path, &text, fallback_syntax),
        Err(e) => st
            .errors
            .push((path.display().to_string(), format!("cannot read: {e}"))),
    }
}

// ---------------------------------------------------------------------------
// Entries to paths (php_load_zend_extension_cb, php_load_extension)

/// One `extension=` or `zend_extension=` as read.
#[derive(Debug, Clone)]
struct RawEntry {
    name: Vec<u8>,
    file: PathBuf,
    line: usize,
}

#[allow(clippy::too_many_arguments)]
fn resolve_entries(
    root: &Root,
    sapi: Sapi,
    version: Option<Version>,
    ext_dir: &[u8],
    zend: &[RawEntry],
    ext: &[RawEntry],
    errors: &mut Vec<(String, String)>,
    notes: &mut Vec<(String, String)>,
) -> Vec<PhpExtension> {
    // "extension=name" without ".so" is PHP 7.2's (both lists).
    let retry_so = at_least(version, 7, 2);
    let mut out: Vec<PhpExtension> = Vec::new();
    let entries = zend
        .iter()
        .map(|e| (ExtensionKind::Zend, e))
        .chain(ext.iter().map(|e| (ExtensionKind::Extension, e)));
    for (kind, e) in entries {
        let at = format!("{}:{}", e.file.display(), e.line);
        let name = e.name.as_slice();
        if name.is_empty() {
            errors.push((
                at,
                format!("empty {}= value: PHP cannot load it", kind.key()),
            ));
            continue;
        }
        let as_is = match kind {
            ExtensionKind::Zend => name.starts_with(b"/"),
            ExtensionKind::Extension => name.contains(&b'/'),
        };
        let mut tried: Vec<Vec<u8>> = Vec::new();
        if as_is {
            tried.push(name.to_vec());
        } else if kind == ExtensionKind::Extension && ext_dir.is_empty() {
            errors.push((
                at,
                format!(
                    "extension={}: extension_dir is empty, so PHP does not load a bare name",
                    name.as_bstr()
                ),
            ));
            continue;
        } else {
            tried.push(join_slash(ext_dir, name));
            if retry_so {
                let mut so = name.to_vec();
                so.extend_from_slice(b".so");
                tried.push(join_slash(ext_dir, &so));
            }
        }
        let hit = tried.iter().find_map(|t| {
            let p = at_cwd(t);
            match root.resolve(&p) {
                Ok((canonical, Kind::Regular)) => Some((t.clone(), p, canonical)),
                _ => None,
            }
        });
        let Some((written, path, canonical)) = hit else {
            let list: Vec<String> = tried
                .iter()
                .map(|t| at_cwd(t).display().to_string())
                .collect();
            errors.push((
                at,
                format!(
                    "{}={}: no such file (tried {})",
                    kind.key(),
                    name.as_bstr(),
                    list.join(", ")
                ),
            ));
            continue;
        };
        if !written.starts_with(b"/") {
            notes.push((
                at.clone(),
                format!(
                    "relative path {} taken relative to / ({})",
                    written.as_bstr(),
                    cwd_remark(sapi)
                ),
            ));
        }
        if let Some(first) = out.iter().find(|x| x.canonical == canonical) {
            notes.push((
                at,
                format!(
                    "{}={} names {}, already loaded by {}:{}; PHP warns (\"already loaded\") and does not load it again",
                    kind.key(),
                    name.as_bstr(),
                    canonical.display(),
                    first.ini_file.display(),
                    first.line
                ),
            ));
            continue;
        }
        out.push(PhpExtension {
            kind,
            name_as_written: BString::from(name),
            path,
            canonical,
            ini_file: e.file.clone(),
            line: e.line,
        });
    }
    out
}

fn cwd_remark(sapi: Sapi) -> &'static str {
    match sapi {
        Sapi::Cli => "the CLI's working directory is not known",
        Sapi::Apache2 | Sapi::Fpm => "the daemon's working directory",
    }
}

/// php-fpm loads `php_admin_value[extension]` / `php_value[extension]` of a
/// pool into that pool's workers after start-up (`fpm_php_apply_defines_ex`
/// → `php_dl`): worth knowing, but not part of the start-up list.
fn pool_notes(root: &Root, build: &Build, notes: &mut Vec<(String, String)>) {
    let mut files = 0usize;
    for pattern in &build.pool_globs {
        for path in root.glob(pattern.as_bytes()) {
            files += 1;
            if files > PHP_POOL_FILES {
                return;
            }
            let path = bytes_path(&path);
            let Ok(text) = root.read(&path, budget::named!(PHP_INI_BYTES)) else {
                continue;
            };
            for (i, line) in text.lines().enumerate().take(PHP_INI_LINES) {
                let line = line.trim_start();
                let Some(eq) = line.find_byte(b'=') else {
                    continue;
                };
                let key = line.get(..eq).unwrap_or_default().trim_end();
                let key = key.to_ascii_lowercase();
                if key == b"php_admin_value[extension]" || key == b"php_value[extension]" {
                    let value = line.get(eq + 1..).unwrap_or_default().trim();
                    notes.push((
                        format!("{}:{}", path.display(), i + 1),
                        format!(
                            "pool loads extension {} into its workers after start-up (fpm_php_apply_defines_ex); not in this list",
                            value.as_bstr()
                        ),
                    ));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Path helpers

fn bytes_path(b: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(b))
}

fn file_name(p: &[u8]) -> &[u8] {
    match p.rfind_byte(b'/') {
        Some(i) => p.get(i + 1..).unwrap_or_default(),
        None => p,
    }
}

/// An inner path for what PHP opens: relative paths are relative to the
/// working directory, taken as `/`.
fn at_cwd(p: &[u8]) -> PathBuf {
    let mut v = Vec::with_capacity(p.len() + 1);
    if !p.starts_with(b"/") {
        v.push(b'/');
    }
    v.extend_from_slice(p);
    PathBuf::from(OsString::from_vec(v))
}

/// Drops `.` components (`/./php.ini` → `/php.ini`).
fn clean(p: &Path) -> PathBuf {
    p.components().collect()
}

/// `dir` + `/` + `name`, without doubling a trailing slash of `dir` (the
/// `slash_suffix` of `php_load_extension`).
fn join_slash(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut v = dir.to_vec();
    if !v.ends_with(b"/") {
        v.push(b'/');
    }
    v.extend_from_slice(name);
    v
}

// ---------------------------------------------------------------------------
// The ini state shared by all files (php_ini_parser_cb)

struct IniState<'h> {
    env: &'h BTreeMap<String, String>,
    constants: Vec<(&'static [u8], Vec<u8>)>,
    /// `configuration_hash`: top-level entries other than the two lists.
    config: BTreeMap<Vec<u8>, Vec<u8>>,
    /// `is_special_section`: inside `[PATH=…]` / `[HOST=…]`.
    special: bool,
    /// The same, for the part of a file PHP does not read.
    shadow_special: bool,
    zend: Vec<RawEntry>,
    ext: Vec<RawEntry>,
    /// The winning `extension_dir` value and its `path:line`.
    extension_dir: Option<(Vec<u8>, String)>,
    errors: Vec<(String, String)>,
    /// [`PHP_EXTENSIONS`] reached and reported.
    full: bool,
}

/// Line numbers as PHP counts them (`\n`, `\r\n` and a lone `\r`).
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &[u8]) -> Lines {
        let mut starts = vec![0];
        let mut i = 0;
        while i < text.len() {
            match text.get(i) {
                Some(b'\r') if text.get(i + 1) == Some(&b'\n') => {
                    i += 2;
                    starts.push(i);
                }
                Some(b'\r' | b'\n') => {
                    i += 1;
                    starts.push(i);
                }
                _ => i += 1,
            }
        }
        Lines { starts }
    }

    /// 1-based line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|s| *s <= offset).max(1)
    }

    /// Byte offset where a 1-based line starts.
    fn start_of(&self, line: usize) -> Option<usize> {
        self.starts.get(line.checked_sub(1)?).copied()
    }
}

impl IniState<'_> {
    /// One file, as `zend_parse_ini_file` reads it with `php_ini_parser_cb`.
    fn parse_file(&mut self, file: &Path, text: &[u8], fallback_syntax: bool) {
        self.special = false; // RESET_ACTIVE_INI_HASH
        let lines = Lines::new(text);
        let mut text = text;
        if let Some(cut) = lines.start_of(PHP_INI_LINES + 1) {
            if cut < text.len() {
                self.errors.push((
                    file.display().to_string(),
                    format!(
                        "{}: the rest is not read",
                        budget::exceeded("PHP_INI_LINES", PHP_INI_LINES)
                    ),
                ));
                text = text.get(..cut).unwrap_or_default();
            }
        }
        let result = Parser {
            lx: Lexer::new(text, 0, fallback_syntax),
            peeked: None,
            depth: 0,
            st: self,
            file,
            lines: &lines,
            stopped_at: None,
        }
        .statements();
        let Err(e) = result else {
            return;
        };
        let stop_line = lines.line_of(e.at);
        self.errors.push((
            format!("{}:{stop_line}", file.display()),
            format!("{}; PHP does not read the rest of this file", e.msg),
        ));
        // What follows is not read by PHP: scan it for what that loses.
        self.shadow_special = self.special;
        let mut line = stop_line;
        // One more than is kept, so that "and N more" says there are more.
        for _ in 0..ERRORS_PER_FILE {
            let Some(start) = lines.start_of(line + 1).filter(|s| *s < text.len()) else {
                return;
            };
            let result = Parser {
                lx: Lexer::new(text, start, fallback_syntax),
                peeked: None,
                depth: 0,
                st: self,
                file,
                lines: &lines,
                stopped_at: Some(stop_line),
            }
            .statements();
            let Err(e) = result else {
                return;
            };
            let l = lines.line_of(e.at).max(line + 1);
            self.errors.push((
                format!("{}:{l}", file.display()),
                format!("{} (in the part PHP does not read)", e.msg),
            ));
            line = l;
        }
    }

    /// `${name}`: the configuration so far, then the environment, then the
    /// fallback, else empty (`zend_ini_get_var`).
    fn lookup(&self, name: &[u8], fallback: Option<Vec<u8>>) -> Vec<u8> {
        if let Some(v) = self.config.get(name) {
            return v.clone();
        }
        if let Some(v) = std::str::from_utf8(name).ok().and_then(|n| self.env.get(n)) {
            return v.as_bytes().to_vec();
        }
        fallback.unwrap_or_default()
    }

    /// An unquoted constant-like word (`zend_ini_get_constant`).
    fn constant(&self, name: Vec<u8>) -> Vec<u8> {
        if name.contains(&b':') {
            return name;
        }
        match self.constants.iter().find(|(n, _)| *n == name.as_slice()) {
            Some((_, v)) => v.clone(),
            None => name,
        }
    }
}

// ---------------------------------------------------------------------------
// The scanner (zend_ini_scanner.l, ZEND_INI_SCANNER_NORMAL)

/// Scanner conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Initial,
    Value,
    SectionValue,
    Offset,
    DoubleQuotes,
    VarName,
    VarFallback,
}

/// Tokens of `zend_ini_parser.y`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Section,
    Label(Vec<u8>),
    Offset(Vec<u8>),
    Raw(Vec<u8>),
    Constant(Vec<u8>),
    Number(Vec<u8>),
    Str(Vec<u8>),
    Space(Vec<u8>),
    Quoted(Vec<u8>),
    DollarCurly,
    VarName(Vec<u8>),
    Fallback,
    True,
    False,
    Null,
    Eol,
    Ch(u8),
    End,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Section => "'['".to_string(),
        Tok::Label(s) => format!("name '{}'", s.as_bstr()),
        Tok::Offset(s) => format!("'{}['", s.as_bstr()),
        Tok::Raw(s) | Tok::Constant(s) | Tok::Number(s) | Tok::Str(s) | Tok::Quoted(s) => {
            format!("'{}'", s.as_bstr())
        }
        Tok::Space(_) => "whitespace".to_string(),
        Tok::DollarCurly => "'${'".to_string(),
        Tok::VarName(s) => format!("variable name '{}'", s.as_bstr()),
        Tok::Fallback => "':-'".to_string(),
        Tok::True => "boolean true (true/on/yes)".to_string(),
        Tok::False => "boolean false (false/off/no/none)".to_string(),
        Tok::Null => "null".to_string(),
        Tok::Eol => "end of line".to_string(),
        Tok::Ch(c) => format!("'{}'", [*c].as_bstr()),
        Tok::End => "end of file".to_string(),
    }
}

/// `TOKENS`: characters returned as themselves outside values.
const TOKEN_CHARS: &[u8] = b":,.[]\"'()&|^+-/*=%$!~<>?@{}";
/// `OPERATORS` inside values.
const OPERATOR_CHARS: &[u8] = b"&|^~()!";

/// `LABEL_CHAR`.
fn is_label_char(c: u8) -> bool {
    !b"=\n\r\t;&|^$~(){}!\"[]\0".contains(&c)
}

fn is_ts(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Which run of characters a string token is made of.
#[derive(Clone, Copy)]
enum Run {
    /// `VALUE_CHARS`.
    Value,
    /// `FALLBACK_CHARS`.
    Fallback,
    /// `SECTION_VALUE_CHARS`.
    Section,
}

/// Zend's ini scanner, state for state. Bytes past the end read as NUL, as
/// the scanner's `ZEND_MMAP_AHEAD` padding does.
struct Lexer<'a> {
    b: &'a [u8],
    pos: usize,
    st: St,
    stack: Vec<St>,
    /// `${name:-fallback}` (PHP ≥ 8.3).
    fallback_syntax: bool,
    /// Where the catch-all rule `<*>[^]` ended the input.
    halted_at: Option<usize>,
}

impl<'a> Lexer<'a> {
    fn new(b: &'a [u8], pos: usize, fallback_syntax: bool) -> Lexer<'a> {
        Lexer {
            b,
            pos,
            st: St::Initial,
            stack: Vec::new(),
            fallback_syntax,
            halted_at: None,
        }
    }

    fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    fn slice(&self, from: usize, to: usize) -> Vec<u8> {
        self.b.get(from..to).unwrap_or_default().to_vec()
    }

    fn push(&mut self, next: St) {
        self.stack.push(self.st);
        self.st = next;
    }

    fn pop(&mut self) {
        self.st = self.stack.pop().unwrap_or(St::Initial);
    }

    /// `{TABS_AND_SPACES}*`
    fn ts(&self, i: usize) -> usize {
        let mut j = i;
        while j < self.b.len() && is_ts(self.at(j)) {
            j += 1;
        }
        j - i
    }

    /// `{NEWLINE}`
    fn newline(&self, i: usize) -> usize {
        if i >= self.b.len() {
            return 0;
        }
        match (self.at(i), self.at(i + 1)) {
            (b'\r', b'\n') if i + 1 < self.b.len() => 2,
            (b'\r' | b'\n', _) => 1,
            _ => 0,
        }
    }

    /// `{TABS_AND_SPACES}*{NEWLINE}`
    fn eol(&self, i: usize) -> usize {
        let t = self.ts(i);
        match self.newline(i + t) {
            0 => 0,
            n => t + n,
        }
    }

    /// `{TABS_AND_SPACES}*[;][^\r\n]*{NEWLINE}`: needs the newline.
    fn comment(&self, i: usize) -> usize {
        let t = self.ts(i);
        if self.at(i + t) != b';' || i + t >= self.b.len() {
            return 0;
        }
        let mut j = i + t + 1;
        while j < self.b.len() && !matches!(self.at(j), b'\r' | b'\n') {
            j += 1;
        }
        match self.newline(j) {
            0 => 0,
            n => j + n - i,
        }
    }

    /// `{LABEL}`
    fn label(&self, i: usize) -> usize {
        let mut j = i;
        while j < self.b.len() && is_label_char(self.at(j)) {
            j += 1;
        }
        j - i
    }

    /// A case-insensitive keyword (the scanner is built with re2c
    /// `--case-inverted`) followed by `{TABS_AND_SPACES}*`.
    fn keyword(&self, i: usize, words: &[&str]) -> usize {
        let best = words
            .iter()
            .filter(|w| {
                self.b
                    .get(i..i + w.len())
                    .is_some_and(|s| s.eq_ignore_ascii_case(w.as_bytes()))
            })
            .map(|w| w.len())
            .max()
            .unwrap_or(0);
        if best == 0 {
            0
        } else {
            best + self.ts(i + best)
        }
    }

    /// `{CONSTANT}`
    fn constant(&self, i: usize) -> usize {
        let c = self.at(i);
        if i >= self.b.len() || !(c.is_ascii_alphabetic() || c == b'_') {
            return 0;
        }
        let mut j = i + 1;
        while j < self.b.len() && (self.at(j).is_ascii_alphanumeric() || self.at(j) == b'_') {
            j += 1;
        }
        j - i
    }

    fn digits(&self, i: usize) -> usize {
        let mut j = i;
        while j < self.b.len() && self.at(j).is_ascii_digit() {
            j += 1;
        }
        j - i
    }

    /// `{NUMBER}`: `[-]?{LNUM}|{DNUM}`.
    fn number(&self, i: usize) -> usize {
        let d0 = self.digits(i);
        let lnum = if self.at(i) == b'-' {
            match self.digits(i + 1) {
                0 => 0,
                d => d + 1,
            }
        } else {
            d0
        };
        let dnum = if self.at(i + d0) == b'.' && i + d0 < self.b.len() {
            match self.digits(i + d0 + 1) {
                0 if d0 > 0 => d0 + 1,
                0 => 0,
                d => d0 + 1 + d,
            }
        } else {
            0
        };
        lnum.max(dnum)
    }

    /// A run of `VALUE_CHARS`, `FALLBACK_CHARS` or `SECTION_VALUE_CHARS`,
    /// each with `LITERAL_DOLLAR` (`$` not followed by `{`).
    fn run(&self, i: usize, run: Run) -> usize {
        let len = self.b.len();
        let mut j = i;
        while j < len {
            let c = self.at(j);
            if c == b'$' {
                let n = self.at(j + 1);
                if j + 1 >= len || n == b'{' || n == 0 {
                    break;
                }
                j += if n == b'\\' && j + 2 < len { 3 } else { 2 };
                continue;
            }
            match run {
                Run::Value => {
                    if b"= \t\n\r;&|^~()!\"'\0".contains(&c) {
                        break;
                    }
                    j += 1;
                }
                Run::Fallback | Run::Section => {
                    if c == b'\\' {
                        if j + 1 < len {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    let stop: &[u8] = match run {
                        Run::Fallback => b"\n\r;\"'}",
                        _ => b"\n\r;\"']",
                    };
                    if stop.contains(&c) {
                        break;
                    }
                    j += 1;
                }
            }
        }
        j.min(len) - i
    }

    /// `'…'` (at least one character): its length.
    fn raw(&self, i: usize) -> usize {
        if self.at(i) != b'\'' || i >= self.b.len() {
            return 0;
        }
        match self.b.get(i + 1..).and_then(|r| r.find_byte(b'\'')) {
            Some(0) | None => 0,
            Some(k) => k + 2,
        }
    }

    /// `${`
    fn dollar_curly(&self, i: usize) -> usize {
        if self.at(i) == b'$' && self.at(i + 1) == b'{' && i + 1 < self.b.len() {
            2
        } else {
            0
        }
    }

    /// `{TABS_AND_SPACES}*["]`
    fn quote_start(&self, i: usize) -> usize {
        let t = self.ts(i);
        if self.at(i + t) == b'"' && i + t < self.b.len() {
            t + 1
        } else {
            0
        }
    }

    /// The next token and its offset.
    fn next(&mut self) -> (Tok, usize) {
        loop {
            let i = self.pos;
            if i >= self.b.len() {
                if self.st == St::Value {
                    self.st = St::Initial;
                    return (Tok::Eol, i);
                }
                return (Tok::End, i);
            }
            // A UTF-8 byte order mark at the very start is skipped.
            if i == 0 && self.b.len() > 3 && self.b.starts_with(b"\xef\xbb\xbf") {
                self.pos = 3;
                continue;
            }
            let tok = match self.st {
                St::Initial => self.initial(i),
                St::Value => Some(self.value(i)),
                St::SectionValue | St::Offset => Some(self.section_or_offset(i)),
                St::DoubleQuotes => Some(self.double_quotes(i)),
                St::VarName => Some(self.var_name(i)),
                St::VarFallback => Some(self.var_fallback(i)),
            };
            if let Some(t) = tok {
                return (t, i);
            }
        }
    }

    /// Longest match; on a tie the rule listed first wins, as in re2c.
    fn pick(lens: &[usize]) -> (usize, usize) {
        let mut best = (0, 0);
        for (rule, len) in lens.iter().enumerate() {
            if *len > best.1 {
                best = (rule, *len);
            }
        }
        best
    }

    fn halt(&mut self, i: usize) -> Tok {
        self.halted_at = Some(i);
        self.pos = self.b.len();
        Tok::End
    }

    /// `<INITIAL>`; `None` for skipped blanks.
    fn initial(&mut self, i: usize) -> Option<Tok> {
        let c = self.at(i);
        let label = self.label(i);
        let offset = if label > 0 && self.at(i + label) == b'[' && i + label < self.b.len() {
            label + 1 + self.ts(i + label + 1)
        } else {
            0
        };
        let eq = {
            let t = self.ts(i);
            if self.at(i + t) == b'=' && i + t < self.b.len() {
                t + 1 + self.ts(i + t + 1)
            } else {
                0
            }
        };
        let lens = [
            usize::from(c == b'['),                           // 0 "["
            offset,                                           // 1 {LABEL}"["
            self.keyword(i, &["true", "on", "yes"]),          // 2
            self.keyword(i, &["false", "off", "no", "none"]), // 3
            self.keyword(i, &["null"]),                       // 4
            label,                                            // 5 {LABEL}
            eq,                                               // 6 =
            usize::from(c != 0 && TOKEN_CHARS.contains(&c)),  // 7 {TOKENS}
            self.ts(i),                                       // 8 blanks
            self.eol(i),                                      // 9 newline
            self.comment(i),                                  // 10 comment
            1,                                                // 11 [^]
        ];
        let (rule, len) = Self::pick(&lens);
        let text = self.slice(i, i + len);
        self.pos = i + len;
        Some(match rule {
            0 => {
                self.st = St::SectionValue;
                Tok::Section
            }
            1 => {
                self.st = St::Offset;
                Tok::Offset(trim(&text, b"[\n\r\t "))
            }
            2 => Tok::True,
            3 => Tok::False,
            4 => Tok::Null,
            5 => Tok::Label(trim(&text, b"\n\r\t ")),
            6 => {
                self.st = St::Value;
                Tok::Ch(b'=')
            }
            7 => Tok::Ch(c),
            8 => return None,
            9 | 10 => Tok::Eol,
            _ => self.halt(i),
        })
    }

    /// `<ST_VALUE>`
    fn value(&mut self, i: usize) -> Tok {
        let c = self.at(i);
        let lens = [
            self.raw(i),                                      // 0
            self.dollar_curly(i),                             // 1
            self.keyword(i, &["true", "on", "yes"]),          // 2
            self.keyword(i, &["false", "off", "no", "none"]), // 3
            self.keyword(i, &["null"]),                       // 4
            self.eol(i),                                      // 5
            self.constant(i),                                 // 6
            self.number(i),                                   // 7
            if c != 0 && OPERATOR_CHARS.contains(&c) {
                1 + self.ts(i + 1)
            } else {
                0
            }, // 8
            usize::from(c == b'='),                           // 9
            self.run(i, Run::Value),                          // 10
            self.quote_start(i),                              // 11
            self.ts(i),                                       // 12
            self.comment(i),                                  // 13
            1,                                                // 14
        ];
        let (rule, len) = Self::pick(&lens);
        let text = self.slice(i, i + len);
        self.pos = i + len;
        match rule {
            0 => Tok::Raw(
                text.get(1..text.len().saturating_sub(1))
                    .unwrap_or_default()
                    .to_vec(),
            ),
            1 => {
                self.push(St::VarName);
                Tok::DollarCurly
            }
            2 => Tok::True,
            3 => Tok::False,
            4 => Tok::Null,
            6 => Tok::Constant(text),
            7 => Tok::Number(text),
            8 => Tok::Ch(c),
            9 => {
                // "=" inside a value ends it without being consumed, so
                // that the next statement starts with '=' and fails.
                self.pos = i;
                self.st = St::Initial;
                Tok::Eol
            }
            10 => Tok::Str(text),
            11 => {
                self.push(St::DoubleQuotes);
                Tok::Ch(b'"')
            }
            12 => Tok::Space(text),
            _ => {
                // 5 newline, 13 comment, 14 any other byte: end of value.
                self.st = St::Initial;
                Tok::Eol
            }
        }
    }

    /// `<ST_SECTION_VALUE>` and `<ST_OFFSET>`.
    fn section_or_offset(&mut self, i: usize) -> Tok {
        let end = if self.st == St::SectionValue {
            if self.at(i) == b']' && i < self.b.len() {
                let t = self.ts(i + 1);
                1 + t + self.newline(i + 1 + t)
            } else {
                0
            }
        } else {
            let t = self.ts(i);
            if self.at(i + t) == b']' && i + t < self.b.len() {
                t + 1
            } else {
                0
            }
        };
        let lens = [
            self.raw(i),
            end,
            self.dollar_curly(i),
            self.constant(i),
            self.number(i),
            self.run(i, Run::Section),
            self.quote_start(i),
            self.ts(i),
            1,
        ];
        let (rule, len) = Self::pick(&lens);
        let text = self.slice(i, i + len);
        self.pos = i + len;
        match rule {
            0 => Tok::Raw(
                text.get(1..text.len().saturating_sub(1))
                    .unwrap_or_default()
                    .to_vec(),
            ),
            1 => {
                self.st = St::Initial;
                Tok::Ch(b']')
            }
            2 => {
                self.push(St::VarName);
                Tok::DollarCurly
            }
            3 => Tok::Constant(text),
            4 => Tok::Number(text),
            5 => Tok::Str(text),
            6 => {
                self.push(St::DoubleQuotes);
                Tok::Ch(b'"')
            }
            7 => Tok::Space(text),
            _ => self.halt(i),
        }
    }

    /// `<ST_DOUBLE_QUOTES>`: up to the closing quote or `${`, with
    /// `zend_ini_escape_string`'s escapes.
    fn double_quotes(&mut self, i: usize) -> Tok {
        if self.dollar_curly(i) > 0 {
            self.pos = i + 2;
            self.push(St::VarName);
            return Tok::DollarCurly;
        }
        if self.at(i) == b'"' {
            self.pos = i + 1 + self.ts(i + 1);
            self.pop();
            return Tok::Ch(b'"');
        }
        let len = self.b.len();
        let mut s = i;
        while s < len {
            let c = self.at(s);
            s += 1;
            match c {
                b'"' => {
                    s -= 1;
                    break;
                }
                b'$' if s < len && self.at(s) == b'{' => {
                    s -= 1;
                    break;
                }
                b'\\' if s < len => {
                    let escaped = self.at(s);
                    s += 1;
                    // key="C:\path\" at the end of a line: the backslash
                    // stays and the quote closes the string.
                    if escaped == b'"' && (s >= len || matches!(self.at(s), b'\n' | b'\r')) {
                        s -= 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        self.pos = s;
        Tok::Quoted(unescape(self.b.get(i..s).unwrap_or_default()))
    }

    /// `<ST_VARNAME>`
    fn var_name(&mut self, i: usize) -> Tok {
        let c = self.at(i);
        if self.fallback_syntax && c == b':' && self.at(i + 1) == b'-' && i + 1 < self.b.len() {
            self.pos = i + 2;
            self.pop();
            self.push(St::VarFallback);
            return Tok::Fallback;
        }
        if is_label_char(c) {
            let mut j = i + 1;
            while j < self.b.len() {
                let d = self.at(j);
                if b"=\n\r\t;&|^$~(){}!\"[]".contains(&d)
                    || (self.fallback_syntax && d == b':' && self.at(j + 1) == b'-')
                {
                    break;
                }
                j += 1;
            }
            self.pos = j;
            return Tok::VarName(trim(&self.slice(i, j), b"\n\r\t "));
        }
        if c == b'}' {
            self.pos = i + 1;
            self.pop();
            return Tok::Ch(b'}');
        }
        self.halt(i)
    }

    /// `<ST_VAR_FALLBACK>`
    fn var_fallback(&mut self, i: usize) -> Tok {
        let lens = [
            self.dollar_curly(i),
            usize::from(self.at(i) == b'}'),
            self.constant(i),
            self.number(i),
            self.run(i, Run::Fallback),
            self.quote_start(i),
            self.ts(i),
            1,
        ];
        let (rule, len) = Self::pick(&lens);
        let text = self.slice(i, i + len);
        self.pos = i + len;
        match rule {
            0 => {
                self.push(St::VarName);
                Tok::DollarCurly
            }
            1 => {
                self.pop();
                Tok::Ch(b'}')
            }
            2 => Tok::Constant(text),
            3 => Tok::Number(text),
            4 => Tok::Str(text),
            5 => {
                self.push(St::DoubleQuotes);
                Tok::Ch(b'"')
            }
            6 => Tok::Space(text),
            _ => self.halt(i),
        }
    }
}

/// Leading blanks and trailing `trailing` bytes removed
/// (`EAT_LEADING_WHITESPACE`, `EAT_TRAILING_WHITESPACE_EX`).
fn trim(s: &[u8], trailing: &[u8]) -> Vec<u8> {
    let start = s.iter().position(|c| !is_ts(*c)).unwrap_or(s.len());
    let s = s.get(start..).unwrap_or_default();
    let end = s
        .iter()
        .rposition(|c| !trailing.contains(c))
        .map_or(0, |p| p + 1);
    s.get(..end).unwrap_or_default().to_vec()
}

/// `zend_ini_escape_string` for `"…"`: `\"`, `\\`, `\$` lose the backslash,
/// other escapes stay as written.
fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut it = s.iter().copied().peekable();
    while let Some(c) = it.next() {
        if c != b'\\' {
            out.push(c);
            continue;
        }
        match it.peek().copied() {
            None => out.push(b'\\'),
            Some(e @ (b'"' | b'\\' | b'$')) => {
                out.push(e);
                it.next();
            }
            Some(e) => {
                out.push(b'\\');
                out.push(e);
                it.next();
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The grammar (zend_ini_parser.y) and the callback (php_ini_parser_cb)

/// A syntax error: where, and bison's complaint.
struct SyntaxError {
    at: usize,
    msg: String,
}

struct Parser<'a, 's, 'h> {
    lx: Lexer<'a>,
    peeked: Option<(Tok, usize)>,
    depth: usize,
    st: &'s mut IniState<'h>,
    file: &'a Path,
    lines: &'a Lines,
    /// `Some(line)` when PHP stopped reading the file at `line`: entries
    /// are reported, not applied.
    stopped_at: Option<usize>,
}

type Parsed<T> = Result<T, SyntaxError>;

fn unexpected(t: &Tok, at: usize) -> SyntaxError {
    SyntaxError {
        at,
        msg: format!("syntax error, unexpected {}", describe(t)),
    }
}

impl Parser<'_, '_, '_> {
    fn next(&mut self) -> (Tok, usize) {
        match self.peeked.take() {
            Some(p) => p,
            None => self.lx.next(),
        }
    }

    fn peek(&mut self) -> Tok {
        if let Some((t, _)) = &self.peeked {
            return t.clone();
        }
        let p = self.lx.next();
        let t = p.0.clone();
        self.peeked = Some(p);
        t
    }

    fn expect(&mut self, c: u8) -> Parsed<()> {
        match self.next() {
            (Tok::Ch(d), _) if d == c => Ok(()),
            (t, at) => Err(unexpected(&t, at)),
        }
    }

    fn enter(&mut self, at: usize) -> Parsed<()> {
        self.depth += 1;
        if self.depth > PHP_VALUE_DEPTH {
            return Err(SyntaxError {
                at,
                msg: format!(
                    "{}: value not modelled",
                    budget::exceeded("PHP_VALUE_DEPTH", PHP_VALUE_DEPTH)
                ),
            });
        }
        Ok(())
    }

    /// `statement_list`
    fn statements(&mut self) -> Parsed<()> {
        loop {
            let (t, at) = self.next();
            match t {
                Tok::End => {
                    return match self.lx.halted_at {
                        Some(h) if h < self.lx.b.len() && self.lx.at(h) == 0 => Err(SyntaxError {
                            at: h,
                            msg: "NUL byte: PHP's ini scanner takes it for the end of the file"
                                .to_string(),
                        }),
                        _ => Ok(()),
                    };
                }
                Tok::Eol => {}
                Tok::Section => {
                    let name = if starts_value(&self.peek()) {
                        self.var_string_list(false)?
                    } else {
                        Vec::new()
                    };
                    self.expect(b']')?;
                    self.section(&name);
                }
                Tok::Label(key) => {
                    if self.peek() == Tok::Ch(b'=') {
                        self.next();
                        let value = self.string_or_value()?;
                        self.entry(key, value, at);
                    }
                    // A bare name is an entry without value: nothing to do.
                }
                Tok::Offset(_) => {
                    // name[offset] = value: an array entry, never an extension.
                    if starts_value(&self.peek()) {
                        self.var_string_list(true)?;
                    }
                    self.expect(b']')?;
                    self.expect(b'=')?;
                    self.string_or_value()?;
                }
                other => return Err(unexpected(&other, at)),
            }
        }
    }

    /// `string_or_value`
    fn string_or_value(&mut self) -> Parsed<Vec<u8>> {
        match self.peek() {
            Tok::True => {
                self.next();
                Ok(b"1".to_vec())
            }
            Tok::False | Tok::Null | Tok::Eol => {
                self.next();
                Ok(Vec::new())
            }
            _ => self.expr(),
        }
    }

    /// `expr`: `|`, `&`, `^` (left-associative, one level) over unary terms.
    fn expr(&mut self) -> Parsed<Vec<u8>> {
        let mut v = self.unary()?;
        loop {
            match self.peek() {
                Tok::Ch(op @ (b'|' | b'&' | b'^')) => {
                    self.next();
                    let r = self.unary()?;
                    v = int_op(op, &v, Some(&r));
                }
                _ => return Ok(v),
            }
        }
    }

    fn unary(&mut self) -> Parsed<Vec<u8>> {
        let (t, at) = self.next();
        self.enter(at)?;
        let v = match t {
            Tok::Ch(op @ (b'~' | b'!')) => {
                let v = self.unary()?;
                int_op(op, &v, None)
            }
            Tok::Ch(b'(') => {
                let v = self.expr()?;
                self.expect(b')')?;
                v
            }
            other => {
                self.peeked = Some((other, at));
                self.var_string_list(true)?
            }
        };
        self.depth -= 1;
        Ok(v)
    }

    /// `var_string_list` (constants looked up) or `var_string_list_section`.
    fn var_string_list(&mut self, constants: bool) -> Parsed<Vec<u8>> {
        let mut out = Vec::new();
        let mut first = true;
        loop {
            let (t, at) = self.next();
            match t {
                Tok::DollarCurly => out.extend(self.var_ref(at)?),
                Tok::Constant(name) if constants => out.extend(self.st.constant(name)),
                Tok::Constant(s) | Tok::Raw(s) | Tok::Number(s) | Tok::Str(s) | Tok::Space(s) => {
                    out.extend(s);
                }
                Tok::Ch(b'"') => out.extend(self.encapsed(at)?),
                other if first => return Err(unexpected(&other, at)),
                other => {
                    self.peeked = Some((other, at));
                    return Ok(out);
                }
            }
            first = false;
        }
    }

    /// `'"' encapsed_list '"'`, the opening quote read.
    fn encapsed(&mut self, open: usize) -> Parsed<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            match self.next() {
                (Tok::Quoted(s), _) => out.extend(s),
                (Tok::DollarCurly, at) => out.extend(self.var_ref(at)?),
                (Tok::Ch(b'"'), _) => return Ok(out),
                (Tok::End, _) => {
                    return Err(SyntaxError {
                        at: open,
                        msg:
                            "unterminated double quote: PHP reads to the end of the file and fails"
                                .to_string(),
                    });
                }
                (t, at) => return Err(unexpected(&t, at)),
            }
        }
    }

    /// `cfg_var_ref`, the `${` read.
    fn var_ref(&mut self, at: usize) -> Parsed<Vec<u8>> {
        self.enter(at)?;
        let name = match self.next() {
            (Tok::VarName(n), _) => n,
            (t, at) => return Err(unexpected(&t, at)),
        };
        let v = match self.next() {
            (Tok::Ch(b'}'), _) => self.st.lookup(&name, None),
            (Tok::Fallback, _) => {
                let fallback = if starts_value(&self.peek()) {
                    self.var_string_list(true)?
                } else {
                    Vec::new()
                };
                self.expect(b'}')?;
                self.st.lookup(&name, Some(fallback))
            }
            (t, at) => return Err(unexpected(&t, at)),
        };
        self.depth -= 1;
        Ok(v)
    }

    /// `ZEND_INI_PARSER_SECTION`: `[PATH…]` and `[HOST…]` are special.
    fn section(&mut self, name: &[u8]) {
        let special = starts_with_ci(name, b"PATH") || starts_with_ci(name, b"HOST");
        if self.stopped_at.is_some() {
            self.st.shadow_special = special;
        } else {
            self.st.special = special;
        }
    }

    /// `ZEND_INI_PARSER_ENTRY` with a value.
    fn entry(&mut self, key: Vec<u8>, value: Vec<u8>, at: usize) {
        let line = self.lines.line_of(at);
        let here = format!("{}:{line}", self.file.display());
        let kind = if key.eq_ignore_ascii_case(b"extension") {
            Some(ExtensionKind::Extension)
        } else if key.eq_ignore_ascii_case(b"zend_extension") {
            Some(ExtensionKind::Zend)
        } else {
            None
        };
        if let Some(stop) = self.stopped_at {
            if self.st.shadow_special {
                return;
            }
            let what = match kind {
                Some(k) => k.key(),
                None if key == b"extension_dir" => "extension_dir",
                None => return,
            };
            self.st.errors.push((
                here,
                format!(
                    "{what}={} is not seen by PHP: it stopped reading this file at line {stop}",
                    value.as_bstr()
                ),
            ));
            return;
        }
        if self.st.special {
            // Entries of [PATH=…] / [HOST=…] go to that section's own hash.
            return;
        }
        let Some(kind) = kind else {
            if key == b"extension_dir" {
                self.st.extension_dir = Some((value.clone(), here));
            }
            self.st.config.insert(key, value);
            return;
        };
        if self.st.zend.len() + self.st.ext.len() >= PHP_EXTENSIONS {
            if !self.st.full {
                self.st.full = true;
                self.st.errors.push((
                    here,
                    format!(
                        "{}: the rest of the extension entries are not modelled",
                        budget::exceeded("PHP_EXTENSIONS", PHP_EXTENSIONS)
                    ),
                ));
            }
            return;
        }
        let e = RawEntry {
            name: value,
            file: self.file.to_path_buf(),
            line,
        };
        match kind {
            ExtensionKind::Zend => self.st.zend.push(e),
            ExtensionKind::Extension => self.st.ext.push(e),
        }
    }
}

/// Tokens that can start a `var_string_list`.
fn starts_value(t: &Tok) -> bool {
    matches!(
        t,
        Tok::DollarCurly
            | Tok::Constant(_)
            | Tok::Raw(_)
            | Tok::Number(_)
            | Tok::Str(_)
            | Tok::Space(_)
            | Tok::Ch(b'"')
    )
}

fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

/// `zend_ini_do_op`: integer operators on `atoi` of the operands, printed
/// back as a decimal string.
fn int_op(op: u8, a: &[u8], b: Option<&[u8]>) -> Vec<u8> {
    let x = atoi(a);
    let y = b.map_or(0, atoi);
    let r = match op {
        b'|' => x | y,
        b'&' => x & y,
        b'^' => x ^ y,
        b'~' => !x,
        b'!' => i32::from(x == 0),
        _ => 0,
    };
    r.to_string().into_bytes()
}

/// C's `atoi`: optional blanks and sign, then digits, wrapping.
fn atoi(s: &[u8]) -> i32 {
    let mut it = s
        .iter()
        .copied()
        .skip_while(|c| c.is_ascii_whitespace())
        .peekable();
    let neg = match it.peek() {
        Some(b'-') => {
            it.next();
            true
        }
        Some(b'+') => {
            it.next();
            false
        }
        _ => false,
    };
    let mut v: i32 = 0;
    for c in it.take_while(u8::is_ascii_digit) {
        v = v.wrapping_mul(10).wrapping_add(i32::from(c - b'0'));
    }
    if neg { v.wrapping_neg() } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    /// A root made of `(inner path, content)` files and `(link, target)`
    /// symlinks.
    fn tree(files: &[(&str, &[u8])], links: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        for (p, content) in files {
            let host = t.path().join(p.trim_start_matches('/'));
            fs::create_dir_all(host.parent().unwrap()).unwrap();
            fs::write(host, content).unwrap();
        }
        for (link, target) in links {
            let host = t.path().join(link.trim_start_matches('/'));
            fs::create_dir_all(host.parent().unwrap()).unwrap();
            symlink(target, host).unwrap();
        }
        let root = Root::new(t.path()).unwrap();
        (t, root)
    }

    fn hints(version: &str) -> PhpHints {
        PhpHints {
            version: Some(version.to_string()),
            ..PhpHints::default()
        }
    }

    fn paths(c: &PhpConfig) -> Vec<String> {
        c.extensions
            .iter()
            .map(|e| e.path.display().to_string())
            .collect()
    }

    fn names(c: &PhpConfig) -> Vec<String> {
        c.extensions
            .iter()
            .map(|e| e.name_as_written.to_string())
            .collect()
    }

    /// One ini text parsed on its own: the two lists, the errors, the state.
    struct Outcome {
        zend: Vec<String>,
        ext: Vec<String>,
        errors: Vec<(String, String)>,
        st: IniState<'static>,
    }

    fn parse(text: &[u8]) -> Outcome {
        static ENV: std::sync::OnceLock<BTreeMap<String, String>> = std::sync::OnceLock::new();
        let env = ENV.get_or_init(|| {
            let mut m = BTreeMap::new();
            m.insert("HOME_EXT".to_string(), "/opt/ext".to_string());
            m
        });
        let mut st = IniState {
            env,
            constants: vec![(b"PHP_EXTENSION_DIR", b"/usr/lib/php/20220829".to_vec())],
            config: BTreeMap::new(),
            special: false,
            shadow_special: false,
            zend: Vec::new(),
            ext: Vec::new(),
            extension_dir: None,
            errors: Vec::new(),
            full: false,
        };
        st.parse_file(Path::new("/t.ini"), text, true);
        let list = |v: &[RawEntry]| v.iter().map(|e| e.name.as_bstr().to_string()).collect();
        Outcome {
            zend: list(&st.zend),
            ext: list(&st.ext),
            errors: st.errors.clone(),
            st,
        }
    }

    const DEB_SO: &[&str] = &["opcache", "mysqlnd", "mysqli", "readline", "xdebug", "pdo"];

    /// A Debian 8.2 root: apache2 and fpm share mods-available through
    /// absolute conf.d symlinks; xdebug is enabled for fpm only.
    fn debian() -> (tempfile::TempDir, Root) {
        let mut files: Vec<(String, Vec<u8>)> = vec![
            (
                "/etc/php/8.2/apache2/php.ini".into(),
                b"[PHP]\nengine = On\n;extension_dir = \"./\"\n; extension=bz2\nmemory_limit = 128M\n"
                    .to_vec(),
            ),
            (
                "/etc/php/8.2/fpm/php.ini".into(),
                b"[PHP]\n;extension_dir = \"ext\"\n".to_vec(),
            ),
            (
                "/etc/php/8.2/mods-available/opcache.ini".into(),
                b"; configuration for php opcache module\n; priority=10\nzend_extension=opcache.so\nopcache.jit=off\n"
                    .to_vec(),
            ),
            (
                "/etc/php/8.2/mods-available/mysqlnd.ini".into(),
                b"; priority=10\nextension=mysqlnd.so\n".to_vec(),
            ),
            (
                "/etc/php/8.2/mods-available/mysqli.ini".into(),
                b"; priority=20\nextension=mysqli.so\n".to_vec(),
            ),
            (
                "/etc/php/8.2/mods-available/readline.ini".into(),
                b"; priority=20\nextension=readline.so\n".to_vec(),
            ),
            (
                "/etc/php/8.2/mods-available/xdebug.ini".into(),
                b"zend_extension=xdebug.so\nxdebug.mode=debug\n".to_vec(),
            ),
            (
                "/etc/php/8.2/fpm/pool.d/www.conf".into(),
                b"[www]\nuser = www-data\n;php_admin_value[extension] = commented.so\nphp_admin_value[extension] = pool_only.so\n"
                    .to_vec(),
            ),
        ];
        for so in DEB_SO {
            files.push((
                format!("/usr/lib/php/20220829/{so}.so"),
                b"\x7fELF".to_vec(),
            ));
        }
        let files: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_slice()))
            .collect();
        let mut links = Vec::new();
        for sapi in ["apache2", "fpm"] {
            for (n, m) in [
                ("10-opcache.ini", "opcache"),
                ("10-mysqlnd.ini", "mysqlnd"),
                ("20-mysqli.ini", "mysqli"),
                ("20-readline.ini", "readline"),
            ] {
                links.push((
                    format!("/etc/php/8.2/{sapi}/conf.d/{n}"),
                    format!("/etc/php/8.2/mods-available/{m}.ini"),
                ));
            }
        }
        links.push((
            "/etc/php/8.2/fpm/conf.d/20-xdebug.ini".into(),
            "/etc/php/8.2/mods-available/xdebug.ini".into(),
        ));
        let links: Vec<(&str, &str)> = links
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        tree(&files, &links)
    }

    #[test]
    fn debian_apache2_and_fpm_lists_differ() {
        let (_t, root) = debian();
        let a = php_extensions(&root, Sapi::Apache2, &hints("8.2"));
        assert_eq!(a.layout, Layout::Debian);
        assert!(a.errors.is_empty(), "{:?}", a.errors);
        assert_eq!(a.extension_dir, Path::new("/usr/lib/php/20220829"));
        assert_eq!(a.extension_dir_source, "default");
        assert_eq!(
            a.ini_files,
            [
                "/etc/php/8.2/apache2/php.ini",
                "/etc/php/8.2/apache2/conf.d/10-mysqlnd.ini",
                "/etc/php/8.2/apache2/conf.d/10-opcache.ini",
                "/etc/php/8.2/apache2/conf.d/20-mysqli.ini",
                "/etc/php/8.2/apache2/conf.d/20-readline.ini",
            ]
            .map(PathBuf::from)
        );
        // Zend first although 10-mysqlnd.ini sorts before 10-opcache.ini.
        assert_eq!(
            paths(&a),
            [
                "/usr/lib/php/20220829/opcache.so",
                "/usr/lib/php/20220829/mysqlnd.so",
                "/usr/lib/php/20220829/mysqli.so",
                "/usr/lib/php/20220829/readline.so",
            ]
        );
        assert_eq!(a.extensions[0].kind, ExtensionKind::Zend);
        assert_eq!(
            a.extensions[0].ini_file,
            Path::new("/etc/php/8.2/apache2/conf.d/10-opcache.ini")
        );
        assert_eq!(a.extensions[0].line, 3);
        assert!(
            a.extensions[1..]
                .iter()
                .all(|e| e.kind == ExtensionKind::Extension)
        );
        assert!(!paths(&a).iter().any(|p| p.contains("xdebug")));
        assert!(a.notes.is_empty(), "{:?}", a.notes);

        let f = php_extensions(&root, Sapi::Fpm, &hints("8.2"));
        assert!(f.errors.is_empty(), "{:?}", f.errors);
        assert_eq!(f.ini_files[0], Path::new("/etc/php/8.2/fpm/php.ini"));
        assert_eq!(
            names(&f),
            [
                "opcache.so",
                "xdebug.so",
                "mysqlnd.so",
                "mysqli.so",
                "readline.so"
            ]
        );
        assert_eq!(f.extensions[1].kind, ExtensionKind::Zend);
        // The pool's extension is noted, the commented one is not.
        assert_eq!(f.notes.len(), 1, "{:?}", f.notes);
        assert!(f.notes[0].0.ends_with("www.conf:4"));
        assert!(f.notes[0].1.contains("pool_only.so"));

        // Version from the caller, from libphp's name, or from /etc/php/*.
        let by_lib = php_extensions(
            &root,
            Sapi::Apache2,
            &PhpHints {
                libphp: Some("/usr/lib/apache2/modules/libphp8.2.so".into()),
                ..PhpHints::default()
            },
        );
        assert_eq!(by_lib.version.as_deref(), Some("8.2"));
        assert_eq!(by_lib.extensions, a.extensions);
        let guessed = php_extensions(&root, Sapi::Apache2, &PhpHints::default());
        assert_eq!(guessed.version.as_deref(), Some("8.2"));
        assert_eq!(guessed.extensions, a.extensions);
    }

    #[test]
    fn debian_several_versions_newest_modelled() {
        let (_t, root) = tree(
            &[
                ("/etc/php/7.4/apache2/php.ini", b"extension=old.so\n"),
                ("/etc/php/8.1/apache2/php.ini", b"extension=new.so\n"),
                ("/usr/lib/php/20210902/new.so", b""),
            ],
            &[],
        );
        let c = php_extensions(&root, Sapi::Apache2, &PhpHints::default());
        assert_eq!(c.version.as_deref(), Some("8.1"));
        assert_eq!(paths(&c), ["/usr/lib/php/20210902/new.so"]);
        assert!(
            c.notes.iter().any(|n| n.1.contains("7.4, 8.1")),
            "{:?}",
            c.notes
        );
        let old = php_extensions(&root, Sapi::Apache2, &hints("7.4"));
        assert_eq!(
            old.ini_files,
            [PathBuf::from("/etc/php/7.4/apache2/php.ini")]
        );
        assert_eq!(old.extension_dir, Path::new("/usr/lib/php/20190902"));
        assert_eq!(old.errors.len(), 1, "{:?}", old.errors);
        assert!(old.errors[0].1.contains("no such file"));
    }

    #[test]
    fn rhel_layout_shares_php_d() {
        let (_t, root) = tree(
            &[
                ("/etc/php.ini", b"[PHP]\nengine = On\n"),
                ("/etc/php.d/10-opcache.ini", b"zend_extension=opcache\n"),
                ("/etc/php.d/20-mysqlnd.ini", b"extension=mysqlnd\n"),
                ("/etc/php.d/30-mysqli.ini", b"extension=mysqli\n"),
                ("/etc/php.d/30-mysqli.ini.rpmsave", b"extension=stale\n"),
                ("/etc/php.d/README", b"extension=readme\n"),
                ("/usr/lib64/php/modules/opcache.so", b""),
                ("/usr/lib64/php/modules/mysqlnd.so", b""),
                ("/usr/lib64/php/modules/mysqli.so", b""),
                ("/usr/lib64/httpd/modules/libphp.so", b""),
                (
                    "/etc/php-fpm.d/www.conf",
                    b"[www]\nphp_value[extension]=imagick.so\n",
                ),
            ],
            &[("/etc/php.d/40-dangling.ini", "/nowhere.ini")],
        );
        let h = PhpHints {
            libphp: Some("/usr/lib64/httpd/modules/libphp.so".into()),
            ..PhpHints::default()
        };
        let a = php_extensions(&root, Sapi::Apache2, &h);
        assert_eq!(a.layout, Layout::Rhel);
        assert_eq!(a.version, None);
        assert!(a.errors.is_empty(), "{:?}", a.errors);
        assert_eq!(a.ini_files.len(), 4);
        assert_eq!(a.ini_files[0], Path::new("/etc/php.ini"));
        assert_eq!(
            paths(&a),
            [
                "/usr/lib64/php/modules/opcache.so",
                "/usr/lib64/php/modules/mysqlnd.so",
                "/usr/lib64/php/modules/mysqli.so",
            ]
        );
        let f = php_extensions(&root, Sapi::Fpm, &PhpHints::default());
        assert_eq!(f.layout, Layout::Rhel);
        assert_eq!(f.extensions, a.extensions);
        assert!(
            f.notes.iter().any(|n| n.1.contains("imagick.so")),
            "{:?}",
            f.notes
        );
    }

    #[test]
    fn phpinidir_overrides_php_ini_only() {
        let (_t, root) = debian();
        fs::create_dir_all(root.host_dir().join("srv/phpini")).unwrap();
        fs::write(
            root.host_dir().join("srv/phpini/php.ini"),
            b"extension_dir = /opt/ext\nextension=custom\nzend_extension = /opt/abs/z.so\n",
        )
        .unwrap();
        fs::create_dir_all(root.host_dir().join("opt/ext")).unwrap();
        fs::create_dir_all(root.host_dir().join("opt/abs")).unwrap();
        fs::write(root.host_dir().join("opt/ext/custom.so"), b"").unwrap();
        fs::write(root.host_dir().join("opt/ext/opcache.so"), b"").unwrap();
        fs::write(root.host_dir().join("opt/abs/z.so"), b"").unwrap();
        let mut h = hints("8.2");
        h.ini_dir = Some("/srv/phpini".into());
        let c = php_extensions(&root, Sapi::Apache2, &h);
        assert_eq!(c.ini_files[0], Path::new("/srv/phpini/php.ini"));
        // The scan directory is the build's, whatever PHPIniDir says.
        assert_eq!(c.ini_files.len(), 5);
        assert_eq!(c.extension_dir, Path::new("/opt/ext"));
        assert_eq!(c.extension_dir_source, "/srv/phpini/php.ini:1");
        assert_eq!(
            paths(&c)[..3],
            ["/opt/abs/z.so", "/opt/ext/opcache.so", "/opt/ext/custom.so"]
        );
        // mysqlnd etc. are not in /opt/ext: errors, not entries.
        assert_eq!(c.errors.len(), 3, "{:?}", c.errors);

        // PHPIniDir naming a file uses that file.
        h.ini_dir = Some("/srv/phpini/php.ini".into());
        let f = php_extensions(&root, Sapi::Apache2, &h);
        assert_eq!(f.ini_files[0], Path::new("/srv/phpini/php.ini"));
        // php-apache2handler.ini beats php.ini in the searched directory.
        fs::write(
            root.host_dir().join("srv/phpini/php-apache2handler.ini"),
            b"extension_dir=/opt/ext\n",
        )
        .unwrap();
        h.ini_dir = Some("/srv/phpini".into());
        let s = php_extensions(&root, Sapi::Apache2, &h);
        assert_eq!(
            s.ini_files[0],
            Path::new("/srv/phpini/php-apache2handler.ini")
        );
    }

    #[test]
    fn errors_kept_per_file() {
        let mut ini = String::new();
        for i in 0..100 {
            ini.push_str(&format!("extension=missing{i}\n"));
        }
        let (_t, root) = tree(
            &[
                ("/etc/php/8.2/cli/php.ini", ini.as_bytes()),
                ("/etc/php/8.2/cli/conf.d/x.ini", b"extension=gone\n"),
            ],
            &[],
        );
        let c = php_extensions(&root, Sapi::Cli, &hints("8.2"));
        let in_ini: Vec<_> = c
            .errors
            .iter()
            .filter(|e| e.0.contains("cli/php.ini:"))
            .collect();
        assert_eq!(in_ini.len(), budget::ERRORS_PER_FILE + 1, "{:?}", c.errors);
        assert!(in_ini[0].1.contains("missing0"));
        assert_eq!(
            in_ini[budget::ERRORS_PER_FILE].1,
            budget::more_errors(100 - budget::ERRORS_PER_FILE)
        );
        // Another file's errors are its own.
        assert!(
            c.errors
                .iter()
                .any(|e| e.0.ends_with("x.ini:1") && e.1.contains("gone"))
        );
    }

    #[test]
    fn names_bare_with_so_absolute_and_relative() {
        let (_t, root) = tree(
            &[
                (
                    "/etc/php/8.2/cli/php.ini",
                    b"extension=bare\nextension=withso.so\nextension=/opt/x/abs.so\n\
                      extension=noext\nzend_extension=zbare\nzend_extension=sub/z.so\n\
                      extension=sub/rel.so\nextension=missing\nextension=\n",
                ),
                ("/usr/lib/php/20220829/bare.so", b""),
                ("/usr/lib/php/20220829/withso.so", b""),
                ("/usr/lib/php/20220829/noext", b""),
                ("/usr/lib/php/20220829/noext.so", b""),
                ("/usr/lib/php/20220829/zbare.so", b""),
                ("/usr/lib/php/20220829/sub/z.so", b""),
                ("/opt/x/abs.so", b""),
                ("/sub/rel.so", b""),
            ],
            &[],
        );
        let c = php_extensions(&root, Sapi::Cli, &hints("8.2"));
        assert_eq!(
            paths(&c),
            [
                "/usr/lib/php/20220829/zbare.so",
                // zend_extension: relative names are under extension_dir.
                "/usr/lib/php/20220829/sub/z.so",
                "/usr/lib/php/20220829/bare.so",
                "/usr/lib/php/20220829/withso.so",
                "/opt/x/abs.so",
                // The name as written is tried before name.so.
                "/usr/lib/php/20220829/noext",
                // extension=: a name with '/' is used as is (cwd-relative).
                "/sub/rel.so",
            ]
        );
        assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
        assert!(c.errors[0].0.ends_with("php.ini:8"));
        assert!(c.errors[0].1.contains("missing.so"));
        assert!(c.errors[1].1.contains("empty extension="));
        assert!(
            c.notes
                .iter()
                .any(|n| n.1.contains("relative path sub/rel.so"))
        );

        // Before PHP 7.2 there is no ".so" retry.
        let old = php_extensions(&root, Sapi::Cli, &hints("7.1"));
        assert!(old.extensions.is_empty());
    }

    #[test]
    fn garbage_lines_stop_their_file_only() {
        let (_t, root) = tree(
            &[
                (
                    "/etc/php/8.2/apache2/php.ini",
                    b"extension=first.so\nno equals sign here\n\x01\x02\xfe\xff binary\n\
                      extension=second.so\n=\nextension=third.so\n  = x\n",
                ),
                (
                    "/etc/php/8.2/apache2/conf.d/10-quote.ini",
                    b"extension=quoted.so\nextension=\"broken.so\nextension=after.so\n",
                ),
                (
                    "/etc/php/8.2/apache2/conf.d/20-nul.ini",
                    b"extension=a.so\n\x00junk\nextension=b.so\n",
                ),
                (
                    "/etc/php/8.2/apache2/conf.d/30-last.ini",
                    b"extension=last.so\n",
                ),
            ],
            &[],
        );
        for so in [
            "first", "second", "third", "quoted", "after", "a", "b", "last",
        ] {
            let p = root
                .host_dir()
                .join(format!("usr/lib/php/20220829/{so}.so"));
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, b"").unwrap();
        }
        let c = php_extensions(&root, Sapi::Apache2, &hints("8.2"));
        assert_eq!(
            names(&c),
            ["first.so", "second.so", "quoted.so", "a.so", "last.so"]
        );
        let e = |at: &str| {
            c.errors
                .iter()
                .filter(|(w, _)| w.ends_with(at))
                .map(|(_, r)| r.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(e("php.ini:5").len(), 1, "{:?}", c.errors);
        assert!(e("php.ini:5")[0].contains("unexpected '='"));
        assert!(e("php.ini:6")[0].contains("third.so is not seen"));
        assert!(e("php.ini:7")[0].contains("part PHP does not read"));
        assert!(e("10-quote.ini:2")[0].contains("unterminated double quote"));
        assert!(e("10-quote.ini:3")[0].contains("after.so is not seen"));
        assert!(e("20-nul.ini:2")[0].contains("NUL byte"));
        assert!(e("20-nul.ini:3")[0].contains("b.so is not seen"));
        assert_eq!(c.errors.len(), 7, "{:?}", c.errors);
        assert_eq!(c.ini_files.len(), 4);
    }

    #[test]
    fn duplicates_are_kept_once() {
        let (_t, root) = tree(
            &[
                ("/etc/php/8.2/apache2/php.ini", b"extension=mysqli\n"),
                (
                    "/etc/php/8.2/apache2/conf.d/20-mysqli.ini",
                    b"extension=mysqli.so\n",
                ),
                (
                    "/etc/php/8.2/apache2/conf.d/30-again.ini",
                    b"extension=/usr/lib/php/20220829/mysqli.so\nextension=/usr/lib/php/link.so\n",
                ),
                ("/usr/lib/php/20220829/mysqli.so", b""),
            ],
            &[("/usr/lib/php/link.so", "20220829/mysqli.so")],
        );
        let c = php_extensions(&root, Sapi::Apache2, &hints("8.2"));
        assert_eq!(paths(&c), ["/usr/lib/php/20220829/mysqli.so"]);
        assert_eq!(
            c.extensions[0].ini_file,
            Path::new("/etc/php/8.2/apache2/php.ini")
        );
        assert_eq!(c.notes.len(), 3, "{:?}", c.notes);
        assert!(c.notes.iter().all(|n| {
            n.1.contains("already loaded by /etc/php/8.2/apache2/php.ini:1")
        }));
    }

    #[test]
    fn env_and_config_references() {
        let (_t, root) = tree(
            &[
                (
                    "/etc/php/8.2/apache2/php.ini",
                    b"extension_dir = \"${EXT_BASE}/ext\"\nextension=${MYEXT}\n\
                      extension=${UNSET}plain\nextension=\"${extension_dir}/abs.so\"\n\
                      extension=${NOPE:-fallback}.so\nextension = PHP_EXTENSION_DIR\n",
                ),
                ("/base/ext/mine.so", b""),
                ("/base/ext/plain.so", b""),
                ("/base/ext/abs.so", b""),
                ("/base/ext/fallback.so", b""),
            ],
            &[],
        );
        let mut h = hints("8.3");
        h.env.insert("EXT_BASE".into(), "/base".into());
        h.env.insert("MYEXT".into(), "mine".into());
        fs::rename(
            root.host_dir().join("etc/php/8.2"),
            root.host_dir().join("etc/php/8.3"),
        )
        .unwrap();
        let c = php_extensions(&root, Sapi::Apache2, &h);
        assert_eq!(c.extension_dir, Path::new("/base/ext"));
        assert_eq!(c.extension_dir_source, "/etc/php/8.3/apache2/php.ini:1");
        assert_eq!(
            names(&c),
            ["mine", "plain", "/base/ext/abs.so", "fallback.so"]
        );
        // The constant is the build's default, which does not exist here.
        assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
        assert!(c.errors[0].1.contains("/usr/lib/php/20230831"));

        // Before PHP 8.3 "NOPE:-fallback" is just a variable name.
        fs::rename(
            root.host_dir().join("etc/php/8.3"),
            root.host_dir().join("etc/php/8.2"),
        )
        .unwrap();
        h.version = Some("8.2".into());
        let old = php_extensions(&root, Sapi::Apache2, &h);
        assert_eq!(names(&old), ["mine", "plain", "/base/ext/abs.so"]);
        assert_eq!(old.errors.len(), 2, "{:?}", old.errors);
        assert!(old.errors[0].1.contains("extension=.so"));
    }

    #[test]
    fn path_and_host_sections_do_not_load() {
        let Outcome {
            zend: z,
            ext: x,
            errors: errs,
            ..
        } = parse(
            b"[PHP]\nextension=a.so\n[PATH=/var/www]\nextension=path.so\nzend_extension=pz.so\n\
              [HOST=example.org]\nextension=host.so\n[mysqli]\nextension=b.so\n\
              [pathological]\nextension=c.so\n[ PATH ]\nextension=d.so\n",
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert!(z.is_empty());
        // "[ PATH ]" starts with a blank, so it is not special.
        assert_eq!(x, ["a.so", "b.so", "d.so"]);
    }

    #[test]
    fn section_resets_per_file() {
        let (_t, root) = tree(
            &[
                (
                    "/etc/php/8.2/apache2/php.ini",
                    b"[PATH=/x]\nextension=no.so\n",
                ),
                ("/etc/php/8.2/apache2/conf.d/a.ini", b"extension=yes.so\n"),
                ("/usr/lib/php/20220829/yes.so", b""),
                ("/usr/lib/php/20220829/no.so", b""),
            ],
            &[],
        );
        let c = php_extensions(&root, Sapi::Apache2, &hints("8.2"));
        assert_eq!(names(&c), ["yes.so"]);
    }

    #[test]
    fn scanner_details() {
        let Outcome {
            zend: z,
            ext: x,
            errors: errs,
            st,
        } = parse(
            b"\xef\xbb\xbf; comment\r\n# extension=hash.so\r\nExtension = Upper.so ; trailing\r\n\
              extension = \"quoted name.so\" ; c\r\nextension='single quoted'\r\n\
              extension=\"esc\\\"aped\\\\\"\nextension[]=array.so\nextension=on\n\
              extension=none\nzend_extension=\"C:\\path\\\"\nextension = spaced value \n\
              extension=${HOME_EXT}/x.so\nextension=PHP_EXTENSION_DIR\nextension_dir=1|2\n\
              extension\nextension=last",
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(z, ["C:\\path\\"]);
        assert_eq!(
            x,
            [
                "Upper.so",
                "quoted name.so",
                "single quoted",
                "esc\"aped\\",
                "1",
                "",
                "spaced value",
                "/opt/ext/x.so",
                "/usr/lib/php/20220829",
                "last",
            ]
        );
        assert_eq!(
            st.config.get(&b"# extension"[..]).map(Vec::as_slice),
            Some(&b"hash.so"[..])
        );
        assert_eq!(
            st.extension_dir.as_ref().map(|(v, _)| v.as_slice()),
            Some(&b"3"[..])
        );
        assert_eq!(st.zend[0].line, 10);
        assert_eq!(st.ext[0].line, 3);
    }

    #[test]
    fn scanner_errors() {
        for (text, line) in [
            (&b"a=1\n(x)\n"[..], 2),
            (b"a=1\nb=c=d\n", 2),
            (b"  [sec]\n", 1),
            (b"a = ${}\n", 1),
            (b"a = foo on\n", 1),
            (b"[unterminated\nb=1\n", 1),
            (b"yes\n", 1),
        ] {
            let errs = parse(text).errors;
            assert!(!errs.is_empty(), "{}", text.as_bstr());
            assert_eq!(errs[0].0, format!("/t.ini:{line}"), "{}", text.as_bstr());
        }
        // Not errors: PHP accepts these.
        for text in [
            &b"x='abc\n"[..],
            b"\t[sec]\n",
            b"a=1 ;no newline at end",
            b"\n\n",
        ] {
            let errs = parse(text).errors;
            assert!(errs.is_empty(), "{}: {errs:?}", text.as_bstr());
        }
    }

    #[test]
    fn extension_dir_last_assignment_wins() {
        let (_t, root) = tree(
            &[
                (
                    "/etc/php.ini",
                    b"extension_dir=/first\n[PATH=/srv]\nextension_dir=/path_only\n",
                ),
                (
                    "/etc/php.d/50-dir.ini",
                    b"\n\nextension_dir = \"/second/\"\nextension=e\n",
                ),
                ("/second/e.so", b""),
            ],
            &[],
        );
        let c = php_extensions(&root, Sapi::Cli, &PhpHints::default());
        assert_eq!(c.layout, Layout::Rhel);
        assert_eq!(c.extension_dir, Path::new("/second/"));
        assert_eq!(c.extension_dir_source, "/etc/php.d/50-dir.ini:3");
        // No doubled slash after an extension_dir ending in '/'.
        assert_eq!(paths(&c), ["/second/e.so"]);
    }

    #[test]
    fn scan_dir_and_phprc_from_environment() {
        let (_t, root) = tree(
            &[
                ("/etc/php.ini", b"extension=default_ini\n"),
                ("/etc/php.d/a.ini", b"extension=default_scan\n"),
                ("/custom/php.ini", b"extension=rc_ini\n"),
                ("/extra/b.ini", b"extension=extra_scan\n"),
            ],
            &[],
        );
        let mut h = PhpHints::default();
        h.env.insert("PHPRC".into(), "/custom".into());
        h.env.insert("PHP_INI_SCAN_DIR".into(), ":/extra".into());
        let c = php_extensions(&root, Sapi::Cli, &h);
        assert_eq!(
            c.ini_files,
            ["/custom/php.ini", "/etc/php.d/a.ini", "/extra/b.ini"].map(PathBuf::from)
        );
        h.env.insert("PHP_INI_SCAN_DIR".into(), String::new());
        let none = php_extensions(&root, Sapi::Cli, &h);
        assert_eq!(none.ini_files, [PathBuf::from("/custom/php.ini")]);
    }

    #[test]
    fn suse_alpine_docker_layouts() {
        let (_t, suse) = tree(
            &[
                ("/etc/php8/apache2/php.ini", b""),
                ("/etc/php8/conf.d/mysqli.ini", b"extension=mysqli.so\n"),
                ("/usr/lib64/php8/extensions/mysqli.so", b""),
            ],
            &[],
        );
        let h = PhpHints {
            libphp: Some("/usr/lib64/apache2/mod_php8.so".into()),
            ..PhpHints::default()
        };
        let c = php_extensions(&suse, Sapi::Apache2, &h);
        assert_eq!((c.layout, c.version.as_deref()), (Layout::Suse, Some("8")));
        assert_eq!(paths(&c), ["/usr/lib64/php8/extensions/mysqli.so"]);
        // Without the module's path the directories tell the same.
        assert_eq!(
            php_extensions(&suse, Sapi::Apache2, &PhpHints::default()),
            c
        );

        let (_t2, alpine) = tree(
            &[
                ("/etc/php82/php.ini", b""),
                (
                    "/etc/php82/conf.d/00_opcache.ini",
                    b"zend_extension=opcache\n",
                ),
                ("/usr/lib/php82/modules/opcache.so", b""),
            ],
            &[],
        );
        let c = php_extensions(&alpine, Sapi::Fpm, &hints("82"));
        assert_eq!(
            (c.layout, c.version.as_deref()),
            (Layout::Alpine, Some("8.2"))
        );
        assert_eq!(paths(&c), ["/usr/lib/php82/modules/opcache.so"]);

        let (_t3, docker) = tree(
            &[
                (
                    "/usr/local/etc/php/conf.d/docker-php-ext-sodium.ini",
                    b"extension=sodium\n",
                ),
                (
                    "/usr/local/lib/php/extensions/no-debug-non-zts-20230831/sodium.so",
                    b"",
                ),
            ],
            &[],
        );
        let c = php_extensions(&docker, Sapi::Cli, &PhpHints::default());
        assert_eq!(c.layout, Layout::Docker);
        assert_eq!(
            paths(&c),
            ["/usr/local/lib/php/extensions/no-debug-non-zts-20230831/sodium.so"]
        );
    }

    #[test]
    fn installed_sapis_by_binaries() {
        let (_t, deb) = tree(
            &[
                ("/usr/lib/apache2/modules/libphp8.2.so", b""),
                ("/usr/sbin/php-fpm8.2", b""),
                ("/usr/bin/php8.2", b""),
                ("/usr/bin/phpize8.2", b""),
                ("/usr/bin/php-config8.2", b""),
                ("/etc/php/7.4/apache2/php.ini", b""),
            ],
            &[("/usr/bin/php", "/usr/bin/php8.2")],
        );
        assert_eq!(
            installed_sapis(&deb),
            [
                (Sapi::Apache2, Some("8.2".to_string())),
                (Sapi::Fpm, Some("8.2".to_string())),
                (Sapi::Cli, Some("8.2".to_string())),
            ]
        );
        let (_t, rhel) = tree(
            &[
                ("/usr/lib64/httpd/modules/libphp.so", b""),
                ("/usr/sbin/php-fpm", b""),
                ("/usr/bin/php", b""),
                ("/usr/bin/php-cgi", b""),
            ],
            &[],
        );
        assert_eq!(
            installed_sapis(&rhel),
            [(Sapi::Apache2, None), (Sapi::Fpm, None), (Sapi::Cli, None)]
        );
        let (_t, alpine) = tree(
            &[
                ("/usr/lib/apache2/mod_php82.so", b""),
                ("/usr/sbin/php-fpm82", b""),
            ],
            &[],
        );
        assert_eq!(
            installed_sapis(&alpine),
            [
                (Sapi::Apache2, Some("8.2".to_string())),
                (Sapi::Fpm, Some("8.2".to_string())),
            ]
        );
    }

    #[test]
    fn versions_and_api_numbers() {
        assert_eq!(Version::parse("8.2"), Some(Version::new(8, 2)));
        assert_eq!(Version::parse("8.2.36"), Some(Version::new(8, 2)));
        assert_eq!(Version::parse("82"), Some(Version::new(8, 2)));
        assert_eq!(
            Version::parse("8").map(|v| v.to_string()),
            Some("8".to_string())
        );
        assert_eq!(Version::parse("x"), None);
        assert_eq!(Version::parse(""), None);
        assert_eq!(module_api(Version::new(8, 2)), Some("20220829"));
        assert_eq!(module_api(Version::new(8, 4)), Some("20240924"));
        assert_eq!(module_api(Version::new(9, 0)), None);
        let v = |s: &str| version_from_module_name(s.as_bytes()).map(|v| v.to_string());
        assert_eq!(v("libphp8.2.so").as_deref(), Some("8.2"));
        assert_eq!(v("libphp7-zts.so").as_deref(), Some("7"));
        assert_eq!(v("mod_php82.so").as_deref(), Some("8.2"));
        assert_eq!(v("libphp.so"), None);
        assert!(MODULE_API.windows(2).all(|w| w[0].2 < w[1].2));
        let v = |s: &str| Version::parse(s);
        assert!(at_least(v("7"), 7, 2));
        assert!(!at_least(v("7.1"), 7, 2));
        assert!(at_least(v("8.0"), 7, 2));
        assert!(!at_least(v("8.2"), 8, 3));
        assert!(at_least(None, 8, 3));
    }

    #[test]
    fn oversized_file_is_an_error() {
        let big = vec![b'a'; (budget::PHP_INI_BYTES + 1) as usize];
        let (_t, root) = tree(&[("/etc/php.ini", &big)], &[]);
        let c = php_extensions(&root, Sapi::Cli, &PhpHints::default());
        assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
        assert!(
            c.errors[0]
                .1
                .contains("budget exceeded: PHP_INI_BYTES (4 MiB)"),
            "{:?}",
            c.errors
        );
    }

    proptest::proptest! {
        /// Any bytes: no panic, the scanner always ends.
        #[test]
        fn arbitrary_bytes_never_panic(text in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = parse(&text);
        }

        /// Ini-looking noise built from the characters that matter.
        #[test]
        fn ini_noise_never_panics(text in "[a-z=;\"'$\\{}\\[\\]():\\- \t\r\n\\\\|&~!^0-9.]{0,200}") {
            let _ = parse(text.as_bytes());
        }
    }

    /// This machine's Debian PHP 8.2 for Apache, against a plain reading of
    /// its ini files: `key = value` lines of php.ini and conf.d/*.ini in name
    /// order, zend_extension first.
    #[test]
    fn this_machine_apache2_matches_a_plain_reading() {
        let dir = Path::new("/etc/php/8.2/apache2");
        if !dir.is_dir() {
            eprintln!("skipped: no {}", dir.display());
            return;
        }
        let mut files = vec![dir.join("php.ini")];
        let mut scan: Vec<PathBuf> = fs::read_dir(dir.join("conf.d"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "ini") && p.is_file())
            .collect();
        scan.sort();
        files.extend(scan);
        let mut ext_dir = "/usr/lib/php/20220829".to_string();
        let (mut zend, mut ext) = (Vec::new(), Vec::new());
        for f in &files {
            for line in fs::read_to_string(f).unwrap().lines() {
                let line = line.trim();
                if line.starts_with(';') || line.starts_with('[') {
                    continue;
                }
                let Some((k, v)) = line.split_once('=') else {
                    continue;
                };
                let v = v.split(';').next().unwrap().trim().trim_matches('"');
                match k.trim() {
                    "zend_extension" => zend.push(v.to_string()),
                    "extension" => ext.push(v.to_string()),
                    "extension_dir" => ext_dir = v.to_string(),
                    _ => {}
                }
            }
        }
        let expected: Vec<String> = zend
            .iter()
            .chain(&ext)
            .map(|n| {
                if n.starts_with('/') {
                    n.clone()
                } else if n.ends_with(".so") {
                    format!("{ext_dir}/{n}")
                } else {
                    format!("{ext_dir}/{n}.so")
                }
            })
            .collect();
        let root = Root::new(Path::new("/")).unwrap();
        let c = php_extensions(&root, Sapi::Apache2, &hints("8.2"));
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert_eq!(c.ini_files, files);
        assert_eq!(paths(&c), expected);
        assert!(
            expected.len() >= 5,
            "expected several extensions, got {expected:?}"
        );
        for e in &c.extensions {
            assert!(e.path.is_file(), "{} does not exist", e.path.display());
        }
        // And the SAPI is seen as installed with its version.
        assert!(installed_sapis(&root).contains(&(Sapi::Apache2, Some("8.2".to_string()))));
    }
}
