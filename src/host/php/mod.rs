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
//! * **Ini syntax and the two lists**, in `ini`: each file is read as
//!   Zend's ini scanner and parser read it, and its `extension=` and
//!   `zend_extension=` entries go to two lists as `php_ini_parser_cb`
//!   puts them there.
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

use crate::budget::{self, PHP_INI_LINES, PHP_POOL_FILES, PHP_SCAN_FILES};

mod ini;

use ini::{IniState, RawEntry};

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

    let mut st = IniState::new(&hints.env, build.constants());
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

#[cfg(test)]
mod tests;
