//! Every bound soclash puts on the work one input can cause, in one place.
//!
//! soclash runs as root over files it does not trust: an unpacked image, a
//! package about to be installed, an archived report, a signature file
//! from elsewhere. Each reader stops at its budget and reports it as an
//! error entry that names the budget ([`exceeded`]), and the scan goes on:
//! no input may cost unbounded time, memory or disk. The values are chosen
//! well above what a real host needs (the reason is given with each) and
//! well below what would hurt the auditing machine. docs/BUDGETS.md lists
//! them for users; a test keeps the two in step.

/// The text of an error entry for a budget that was reached: the budget's
/// name as docs/BUDGETS.md gives it, and its value.
pub fn exceeded(budget: &str, value: impl std::fmt::Display) -> String {
    format!("budget exceeded: {budget} ({value})")
}

/// A byte budget with its name, for a reader that enforces it on behalf
/// of its caller ([`crate::root::Root::read`]) and must name it when it
/// is reached. A bare number is a limit with no name, worded as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named {
    pub name: &'static str,
    pub value: u64,
}

impl From<u64> for Named {
    fn from(value: u64) -> Named {
        Named { name: "", value }
    }
}

/// The budget `NAME` of this module with its name: `named!(SMALL_FILE)`.
macro_rules! named {
    ($name:ident) => {
        $crate::budget::Named {
            name: stringify!($name),
            value: $crate::budget::$name as u64,
        }
    };
}
pub(crate) use named;

/// `n` bytes for humans: the budgets are powers of two.
pub fn bytes(n: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if n >= size && n % size == 0 {
            return format!("{} {unit}", n / size);
        }
    }
    format!("{n} bytes")
}

// --- ELF facts -------------------------------------------------------------

/// Bytes read from one ELF file, and copied out of it into its facts
/// (symbols, names, versions). The dynamic symbol, string, hash, version
/// and relocation tables of the largest shared library on a Debian host
/// (libLLVM, ~120 MB on disk) come to well under this; a file that asks for
/// more is corrupt or hostile. It also bounds the positional read cache,
/// which keeps what was read until the file is done.
pub const ELF_BYTES_PER_FILE: u64 = 256 << 20;
/// Bytes read and copied from ELF files by one run of soclash (one
/// process: a what-if scan reads the root twice, and both count). A scan
/// of a Debian LAMP host reads a few hundred MiB; forty virtualenvs a few
/// GiB. Counted per run, not per scan, because the count is one
/// process-wide counter rather than one threaded through every reader.
pub const ELF_BYTES_PER_RUN: u64 = 16 << 30;
/// Bytes of note segments (`PT_NOTE`, `PT_GNU_PROPERTY`) parsed in one ELF
/// file. Real files have two or three of a few hundred bytes (build-id,
/// ABI tag, properties, a package note); parsing costs time per byte, so
/// a file that repeats a large note segment thousands of times would
/// otherwise cost minutes.
pub const ELF_NOTE_BYTES: u64 = 1 << 20;
/// Longest string taken from a dynamic string table (a name, a version,
/// an RPATH). The longest real ones are C++ symbol names of a few KiB;
/// a longer one is treated as corrupt (a problem of the file, not an
/// error), and each is copied into the facts once per reference.
pub const ELF_STRING: u64 = 64 << 10;

/// Largest object read whole to look for the version string a signature's
/// `embedded_copy` matcher names (an OpenSSL or libxml2 compiled into
/// another object). libLLVM, the largest library on a Debian host, is
/// about 120 MB; a file over this is not searched, and the matcher does
/// not match it.
pub const VERSION_STRING_FILE: u64 = 256 << 20;

// --- Package databases -----------------------------------------------------

/// Largest dpkg `status`, dpkg `info/*.list`, apk `installed` or wheel
/// `RECORD` file read. Debian's largest `.list` files (texlive, linux
/// headers) are a few MiB.
pub const PACKAGE_DB_FILE: u64 = 64 << 20;
/// Bytes of dpkg `info/*.list` files read in one scan, and of wheel
/// `RECORD` files. All lists of a full Debian desktop come to about 60 MiB.
pub const PACKAGE_LISTS_PER_SCAN: u64 = 256 << 20;
/// Paths listed by packages looked up in the root in one scan (each
/// listed directory once). Only paths whose name is that of a file the
/// scan asks about are looked up: on a real host a few thousand.
pub const PACKAGE_PATH_LOOKUPS: usize = 100_000;
/// Largest `rpmdb.sqlite` read. It is copied whole into SQLite's memory,
/// within [`RPMDB_HEAP`], so that SQLite opens no file of the root. A
/// Fedora workstation's is about 100 MiB.
pub const RPMDB_BYTES: u64 = 192 << 20;
/// SQLite virtual-machine steps for reading the rpm database (checked
/// every 10,000 steps by a progress handler). Reading a package takes
/// three, so 5,000 packages about 15,000; this is over a thousand times
/// that, and more rows than `RPMDB_BYTES` of real headers hold, yet a
/// statement that never ends (a recursive view) stops within a second
/// even in a debug build (2^30 steps took a minute there).
pub const RPMDB_VM_STEPS: u64 = 1 << 24;
/// Memory SQLite may use for the rpm database: the copy of the file (up
/// to [`RPMDB_BYTES`]), its cache and temporary tables (which are kept in
/// memory, never in a file). It is SQLite's hard heap limit, which is per
/// process; soclash uses SQLite for this database only.
pub const RPMDB_HEAP: u64 = 256 << 20;
// The largest copy leaves SQLite 64 MiB to read it with (its cache, one
// row's header, the schema): reading a real database takes a few.
const _: () = assert!(RPMDB_BYTES + (64 << 20) <= RPMDB_HEAP);

// --- Overlays and packages for the what-if ---------------------------------

/// Entries in one `.deb`'s data, every tar header counted (also the ones
/// not unpacked, such as devices). Debian's packages with the most files
/// (documentation and header packages) have under 100,000.
pub const DEB_ENTRIES: usize = 200_000;
/// Bytes one `.deb` unpacks to, over all its members (only one data
/// member is accepted, and the control member is read within
/// [`DEB_CONTROL`]). Debian's largest packages install under 2 GiB.
pub const DEB_UNPACKED: u64 = 2 << 30;
/// `ar` members looked at in one `.deb`. dpkg-deb writes three
/// (`debian-binary`, `control.tar`, `data.tar`); signing tools add a few
/// `_`-named ones.
pub const DEB_MEMBERS: usize = 16;
/// Bytes of one tar entry's GNU long name, long link or pax header. Linux's
/// `PATH_MAX` is 4 KiB; the tar crate would otherwise hold a long name of
/// any size in memory.
pub const DEB_NAME_BYTES: u64 = 64 << 10;
/// Entries in one `.rpm`'s payload, every cpio header counted (also the
/// ones not unpacked). Fedora's and RHEL's packages with the most files
/// (texlive's documentation, kernel sources) have under 100,000.
pub const RPM_ENTRIES: usize = 200_000;
/// Bytes one `.rpm`'s payload unpacks to, as its cpio headers declare
/// them. RHEL's largest packages install under 2 GiB.
pub const RPM_UNPACKED: u64 = 2 << 30;
/// Bytes of one `.rpm`'s signature header, and of its main header (index
/// and data, read whole into memory). rpm refuses headers over 256 MiB;
/// real main headers are under 16 MiB even for packages of 100,000 files.
pub const RPM_HEADER_BYTES: u64 = 64 << 20;
/// Requires of one `.rpm` checked against the installed and overlaid
/// packages, the terms of rich dependencies (`(a or b)`) counted each.
/// Packages have a few dozen; past this the rest is not checked and the
/// what-if is incomplete (exit 2).
pub const RPM_REQUIRES: usize = 10_000;
/// Entries over all overlays and packages of one what-if, the links and
/// copies their maintainer scripts would make included. Every laid entry
/// is kept in memory: 500,000 entries of 100-byte paths measured 320 MiB
/// peak for the whole scan (1 Mi, the first value, would pass 512 MiB). A
/// what-if of a dozen large packages has under 300,000.
pub const WHATIF_ENTRIES: usize = 500_000;
/// Bytes of the paths (and link targets) of all entries of one what-if,
/// which the overlay keeps in memory about three times over. Debian's
/// paths average under 100 bytes: 300,000 entries come to 30 MiB.
pub const WHATIF_PATH_BYTES: u64 = 64 << 20;
/// Bytes unpacked over all packages of one what-if.
pub const WHATIF_UNPACKED: u64 = 4 << 30;
/// Largest `control.tar` member read, and largest file read from it (it
/// holds a few text files).
pub const DEB_CONTROL: u64 = 16 << 20;
/// Helper calls (`php_invoke enmod`, `phpenmod`, `apache2_invoke`,
/// `a2enmod`, `a2enconf`, `a2ensite`, after `for` loops are expanded)
/// modelled for one package's `postinst`. Debian's PHP and Apache module
/// packages make one to a dozen.
pub const MAINTSCRIPT_CALLS: usize = 256;
/// Modules one `a2enmod` may enable through `# Depends:` lines. Apache's
/// deepest chain is a handful.
pub const A2ENMOD_DEPENDS: usize = 64;
/// Largest PHP `.ini` or Apache `.load`/`.conf` snippet the maintainer
/// script model reads; real ones are under 1 KiB.
pub const MAINTSCRIPT_FILE: u64 = 1 << 20;
/// Alternatives of one package's `Pre-Depends` and `Depends` checked
/// against the installed and overlaid packages. Debian's packages with
/// the longest lists (metapackages) have a few hundred; past this the rest
/// is not checked and the what-if is incomplete.
pub const DEPENDS_ATOMS: usize = 10_000;
/// Largest conffile hashed to tell whether the administrator changed it
/// since its package installed it (dpkg keeps a changed one on upgrade).
/// Real ones are a few KiB; a larger one is taken as changed, and kept.
pub const CONFFILE_BYTES: u64 = 16 << 20;
/// Files an installed package lists that one `.deb` replacing it may
/// remove in the what-if (those the new version no longer ships). A
/// package upgrade drops a few dozen at most; every removal is kept in
/// memory as an overlay entry, within `WHATIF_ENTRIES` too.
pub const WHATIF_REMOVALS: usize = 100_000;
/// Bytes `soclash apt-hook` reads from apt (`DPkg::Pre-Install-Pkgs`,
/// protocol version 3): the configuration tree apt dumps (about 100 KiB on
/// a Debian host) and one line per package action (a dist-upgrade of 3,000
/// packages is under 1 MiB). What is read is held until it is parsed, so
/// a stream that never ends would otherwise take every byte of memory.
pub const APT_HOOK_INPUT: u64 = 64 << 20;

// --- Configuration ---------------------------------------------------------

/// Configuration files read for one httpd configuration (`Include`d files,
/// also through directories and globs). A large Debian host has a few
/// hundred.
pub const APACHE_FILES: usize = 10_000;
/// Nested `Include`s: httpd's own `AP_MAX_INCLUDE_DEPTH` (server/core.c).
pub const APACHE_INCLUDE_DEPTH: usize = 128;
/// Nested included directories, and wildcard components of one `Include`
/// path: httpd's `AP_MAX_FNMATCH_DIR_DEPTH`.
pub const APACHE_DIR_DEPTH: usize = 128;
/// Directory entries, glob matches and `Include` lines looked at for one
/// httpd configuration: the work that symlink fan-out or a flood of
/// `IncludeOptional` globs would multiply. Debian's stock configuration
/// costs about 300; a host with 5,000 sites about 15,000. httpd itself has
/// no such bound (only `AP_MAX_FNMATCH_DIR_DEPTH`), so two symlinks per
/// level of a directory tree double its work per level.
pub const APACHE_INCLUDE_WORK: usize = 100_000;
/// Directives kept for one httpd configuration (`LoadModule`, one per file
/// of `LoadFile`, the mod_wsgi and mod_python ones): each `LoadModule` and
/// `LoadFile` file is also looked up in the root. Real configurations keep
/// a few hundred.
pub const APACHE_DIRECTIVES: usize = 100_000;
/// Sections (`<VirtualHost>`, `<IfModule>`, ...) open at once, across
/// `Include`s. Real configurations nest 4 or 5 deep; each open section's
/// label is part of the context of every directive inside it.
pub const APACHE_SECTION_DEPTH: usize = 128;
/// Largest httpd configuration file read; real ones are a few KiB.
pub const APACHE_FILE_BYTES: u64 = 16 << 20;
/// Configuration bytes read, produced by `${VAR}` expansion and kept as
/// the section context of directives, together, for one httpd
/// configuration. A host with 5,000 sites reads about 10 MiB. It was
/// 256 MiB each for reading and for expansion: a configuration could hold
/// half a GiB, and 32 MiB of the costliest lines (`<a>`/`</a>`) already
/// take about 5 s of a debug build's time.
pub const APACHE_TOTAL_BYTES: u64 = 32 << 20;
/// Longest logical configuration line, before and after `${VAR}`
/// expansion (httpd allows 16 MiB; no real line nears 1 MiB).
pub const APACHE_LINE: usize = 1 << 20;
/// Longest path httpd opens: the kernel's `PATH_MAX`. Longer `Include`
/// paths fail in httpd (`ENAMETOOLONG`) and here, and so no kept path is
/// longer.
pub const APACHE_PATH: usize = 4096;
/// mod_wsgi daemon process groups modelled as processes of their own.
/// Each is the Apache parent's image plus its own Python, bound on its
/// own; hosting servers run one group per site, some hundred at most.
/// The groups past it are reported and not modelled.
pub const WSGI_DAEMON_GROUPS: usize = 256;
/// Scope checks made to place WSGI applications in their process groups
/// (each application against each `WSGIProcessGroup` and
/// `WSGIApplicationGroup`): real configurations make a few thousand; a
/// flood of either directive in one scope squares the work.
pub const WSGI_SCOPE_WORK: usize = 10_000_000;
/// Bytes of an Apache module with a static libpython read for the strings
/// CPython compiles in (its `PREFIX`, version, extension suffix). A
/// stripped mod_wsgi with the interpreter in it is 5 to 10 MiB, one with
/// debugging information some 60 MiB; reading is sequential and costs
/// memory only for the strings kept.
pub const STATIC_PYTHON_BYTES: u64 = 256 << 20;
/// Absolute-path strings kept from such a module as candidates for its
/// `PREFIX` (each at most `APACHE_PATH` bytes): CPython carries a few
/// dozen; the rest of a crafted file's are counted and dropped.
pub const STATIC_PYTHON_PATHS: usize = 4096;
/// Plugins modelled from one plugin directory of a library (gconv,
/// ImageMagick's coders, SASL's mechanisms...): each is a `dlopen` bound
/// in every process that holds the library. glibc's gconv directory, the
/// largest real one, has some 250; past this the first in byte order are
/// modelled and the process notes say so.
pub const PLUGINS_PER_DIRECTORY: usize = 1024;
/// Largest envvars, unit, environment or `ld.so.preload` file read.
pub const SMALL_FILE: u64 = 1 << 20;
/// Files read for httpd's service environment (the unit, its drop-ins,
/// its `EnvironmentFile=`s, the manager's configuration), with the
/// `EnvironmentFile=` globs looked at. A host reads a handful; each may
/// be [`SMALL_FILE`] long.
pub const SERVICE_FILES: usize = 256;
/// Longest value a variable of Debian's `envvars` may get by expansion:
/// the kernel's `MAX_ARG_STRLEN`, past which httpd could not be started
/// with it. `A=$A$A` doubles a value at each line.
pub const ENVVARS_VALUE: usize = 128 << 10;
/// Bytes produced by expansion while interpreting `envvars` (Debian's
/// produces under 1 KiB).
pub const ENVVARS_EXPANDED: usize = 16 << 20;
/// `if`, `case`, loops and `{ }` open at once in `envvars` (Debian's
/// nests 1 deep); each command looks at all of them.
pub const ENVVARS_NESTING: usize = 64;
/// Errors (and httpd configuration warnings) kept for one configuration
/// file; the rest are counted in one "and N more" entry, so a broken file
/// cannot flood the report. A real broken file has a handful.
pub const ERRORS_PER_FILE: usize = 20;
/// Error entries kept for one httpd configuration, or for one PHP SAPI's
/// ini files (and, apart, httpd's warnings); the rest are counted in one
/// entry. [`ERRORS_PER_FILE`] alone would let 10,000 files say 200,000
/// things.
pub const CONFIG_ERRORS: usize = 1000;
/// Longest error text kept: texts quote paths and values from the files,
/// which may be a MiB long.
pub const CONFIG_ERROR_TEXT: usize = 4096;
/// Largest PHP ini file read (PHP's own php.ini-development is about
/// 75 KiB).
pub const PHP_INI_BYTES: u64 = 4 << 20;
/// Lines read from one PHP ini file; the rest is reported and not read.
pub const PHP_INI_LINES: usize = 200_000;
/// `*.ini` files read from one PHP scan directory (Debian's `conf.d` holds
/// a few dozen).
pub const PHP_SCAN_FILES: usize = 4096;
/// `extension=` plus `zend_extension=` entries kept over all ini files of
/// one SAPI (a PHP build has about 100 extensions to load).
pub const PHP_EXTENSIONS: usize = 10_000;
/// Nesting of `(…)`, `~`, `!` and `${…:-…}` in one PHP ini value: the
/// parser recurses on it.
pub const PHP_VALUE_DEPTH: usize = 64;
/// php-fpm pool files looked at for `php_admin_value[extension]` (a host
/// has one pool per site).
pub const PHP_POOL_FILES: usize = 256;
/// Nested `include`s of `ld.so.conf`. ldconfig recurses until it runs out
/// of file descriptors; real ones nest 2 deep.
pub const LDCONFIG_INCLUDE_DEPTH: usize = 32;
/// `ld.so.conf` files read for one ldconfig emulation (Debian has a
/// handful in `ld.so.conf.d`).
pub const LDCONFIG_FILES: usize = 4096;
/// Largest `ld.so.conf` file read; real ones are a few lines.
pub const LDCONFIG_FILE_BYTES: u64 = 1 << 20;

/// The file an error entry's location names: `file:line` less `:line`.
pub fn file_of(at: &[u8]) -> &[u8] {
    match at.iter().rposition(|&c| c == b':') {
        Some(p)
            if p + 1 < at.len()
                && at
                    .get(p + 1..)
                    .is_some_and(|l| l.iter().all(u8::is_ascii_digit)) =>
        {
            at.get(..p).unwrap_or(at)
        }
        _ => at,
    }
}

/// The text of the one entry that stands for a file's errors past
/// [`ERRORS_PER_FILE`].
pub fn more_errors(n: usize) -> String {
    format!(
        "{}: and {n} more in this file, not listed",
        exceeded("ERRORS_PER_FILE", ERRORS_PER_FILE)
    )
}

/// Keeps error entries as they come: at most [`ERRORS_PER_FILE`] per file,
/// with one "and N more" entry ([`more_errors`]) in the place of the first
/// one past it, at most [`CONFIG_ERRORS`] in all, each text cut at
/// [`CONFIG_ERROR_TEXT`], so memory and report stay small whatever the
/// files hold. [`PerFile::finish`] writes the final counts.
#[derive(Debug, Default)]
pub struct PerFile {
    /// Per file: entries seen, and where its "and N more" entry is.
    seen: std::collections::BTreeMap<Vec<u8>, (usize, Option<usize>)>,
    /// Entries past [`CONFIG_ERRORS`].
    dropped: usize,
}

impl PerFile {
    /// Adds `entry` for `file` to `list`, or counts it.
    pub fn push<L>(&mut self, list: &mut Vec<(L, String)>, file: &[u8], entry: (L, String)) {
        if list.len() >= CONFIG_ERRORS {
            self.dropped += 1;
            return;
        }
        let (n, more) = self.seen.entry(file.to_vec()).or_insert((0, None));
        *n += 1;
        if *n <= ERRORS_PER_FILE {
            let (at, mut text) = entry;
            cut_text(&mut text);
            list.push((at, text));
        } else if more.is_none() {
            *more = Some(list.len());
            list.push((entry.0, String::new()));
        }
    }

    /// Writes each "and N more" entry's count, and one entry at `at` for
    /// the entries past [`CONFIG_ERRORS`].
    pub fn finish<L>(&self, list: &mut Vec<(L, String)>, at: L) {
        for (n, more) in self.seen.values() {
            if let Some(e) = more.and_then(|i| list.get_mut(i)) {
                e.1 = more_errors(n.saturating_sub(ERRORS_PER_FILE));
            }
        }
        if self.dropped > 0 {
            list.push((
                at,
                format!(
                    "{}: and {} more, not listed",
                    exceeded("CONFIG_ERRORS", CONFIG_ERRORS),
                    self.dropped
                ),
            ));
        }
    }
}

/// Cuts an error text longer than [`CONFIG_ERROR_TEXT`] at a character
/// boundary, saying how much was cut.
fn cut_text(text: &mut String) {
    if text.len() <= CONFIG_ERROR_TEXT {
        return;
    }
    let mut end = CONFIG_ERROR_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = text.len() - end;
    text.truncate(end);
    text.push_str(&format!(
        "… ({}: {cut} bytes cut)",
        exceeded("CONFIG_ERROR_TEXT", bytes(CONFIG_ERROR_TEXT as u64))
    ));
}

/// `list` through a [`PerFile`], for a reader whose entries are few enough
/// to be gathered first; `at` gives an entry's location (`file:line`),
/// `end` the location of the entry for those past [`CONFIG_ERRORS`].
pub fn cap_per_file<L>(
    list: Vec<(L, String)>,
    at: impl Fn(&L) -> &[u8],
    end: L,
) -> Vec<(L, String)> {
    let mut per_file = PerFile::default();
    let mut out = Vec::new();
    for entry in list {
        let file = file_of(at(&entry.0)).to_vec();
        per_file.push(&mut out, &file, entry);
    }
    per_file.finish(&mut out, end);
    out
}

// --- The running server (scan --live) ------------------------------------

/// Entries of `/proc` looked at by `scan --live` (each costs a `readlink`
/// of its `exe`). A busy host runs a few thousand processes; `pid_max` may
/// allow four million. Past this the rest are not looked at, and the live
/// section says so.
pub const LIVE_PROCESSES: usize = 100_000;
/// Processes whose maps are read: those whose executable is the root's
/// httpd or php-fpm. A prefork Apache has at most its `ServerLimit`
/// (20,000 at the most) children; a real one has tens or hundreds.
pub const LIVE_MATCHED: usize = 20_000;
/// Bytes of one process's `/proc/PID/maps` read. A Python web process with
/// its modules maps a few thousand ranges at about 100 bytes each; the
/// kernel's `vm.max_map_count` (65,530) lines of a full path each would
/// be about 16 MiB.
pub const LIVE_MAPS_BYTES: u64 = 16 << 20;
/// Bytes of one `/proc/PID/cmdline`, `stat`, `status` or `cgroup` read:
/// the kernel shows at most a page of `cmdline` beyond what `ps` needs,
/// and a process title is a line.
pub const LIVE_PROC_FILE: u64 = 64 << 10;
/// Roots of other mount namespaces (containers) audited, one scan each.
/// A host runs a few containers with a web server; each costs a whole scan.
pub const LIVE_CONTAINERS: usize = 64;

// --- YAML: signatures and archived reports ---------------------------------

/// Largest signature file read; a signature is a page of YAML.
pub const SIGNATURE_BYTES: u64 = 1 << 20;
/// Signature files read from one `--signatures` directory. The catalogue
/// has 30; a site adds a few of its own. Beyond this the directory is
/// refused whole, as any part of it would be an arbitrary one.
pub const SIGNATURE_FILES: usize = 1_000;
/// Largest archived report read. A report of a host with 40 virtualenvs is
/// about 10 MiB, and [`YAML_NODES`] stops a real one near 20 MiB. Not
/// more: a report is held as text, as parser events and as a value at
/// once, so one long scalar costs about three times this.
pub const REPORT_BYTES: u64 = 32 << 20;
/// Nesting of YAML collections accepted. A signature nests about 6 deep, a
/// report about 8; the YAML parser is quadratic in deep flow nesting, and
/// serde_norway's own limit (128) applies only after it has parsed all.
pub const YAML_DEPTH: usize = 64;
/// YAML aliases (`*name`) accepted in a signature or report. soclash
/// writes none in a report; the catalogue uses one, to give both
/// directions of a clash one symbol list. Not 0 for that reason; what the
/// aliases cost is bounded by [`YAML_ALIAS_BYTES`], since their number alone
/// bounds nothing (each level of aliases to aliases doubles).
pub const YAML_ALIASES: usize = 16;
/// Source bytes the aliases of one document stand for, an alias inside an
/// aliased node counted each time that node is used: serde_norway expands
/// every use in full, which is how 718 KB of aliases to aliases became
/// gigabytes. The catalogue's one alias stands for about 100 bytes.
pub const YAML_ALIAS_BYTES: u64 = 64 << 10;
/// Nodes (scalars, sequences, mappings, aliases) of one YAML document.
/// serde_norway keeps every event of a document before it deserializes
/// any, at about 150 bytes each, and a report's `serde_norway::Value` as
/// much again: 1.5 million nodes peak at about 420 MB in `diff`. A real
/// report has a node per 13 to 15 bytes (770,000 in 10 MiB); a hostile one
/// packs one into 3 bytes, which at REPORT_BYTES would be 11 million.
pub const YAML_NODES: usize = 1_500_000;
/// Reports `fleet` parses at once. Each may take a few hundred MB while it
/// is parsed (see [`YAML_NODES`]), and an archive holds what every host
/// sent, compromised ones included; four keep 10,000 real reports to
/// about the time all cores of a small server would.
pub const FLEET_READERS: usize = 4;

#[cfg(test)]
mod tests {
    /// docs/BUDGETS.md lists every budget of this file with its value, so
    /// the users' page cannot drift from the code.
    #[test]
    fn every_budget_is_documented_with_its_value() {
        let doc = include_str!("../docs/BUDGETS.md");
        let mut seen = 0;
        for line in include_str!("budget.rs").lines() {
            let Some(rest) = line.strip_prefix("pub const ") else {
                continue;
            };
            let (name, rest) = rest.split_once(':').expect("a typed const");
            let expr = rest
                .split_once('=')
                .expect("a value")
                .1
                .trim()
                .trim_end_matches(';')
                .replace('_', "");
            let value: u64 = match expr.split_once("<<") {
                Some((a, b)) => {
                    a.trim().parse::<u64>().unwrap() << b.trim().parse::<u32>().unwrap()
                }
                None => expr.parse().unwrap(),
            };
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| `{name}` |")))
                .unwrap_or_else(|| panic!("docs/BUDGETS.md has no row for {name}"));
            let digits = value.to_string();
            let grouped: Vec<&str> = digits
                .as_bytes()
                .rchunks(3)
                .rev()
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            let grouped = grouped.join(",");
            assert!(
                row.contains(&grouped),
                "{name} is {grouped}, docs say: {row}"
            );
            seen += 1;
        }
        assert!(seen > 50, "only {seen} budgets found");
    }

    #[test]
    fn a_named_read_names_its_budget() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("big"), vec![b'x'; 2 << 20]).unwrap();
        let root = crate::root::Root::new(t.path()).unwrap();
        let e = root
            .read(std::path::Path::new("/big"), named!(SMALL_FILE))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "budget exceeded: SMALL_FILE (1 MiB): the file is 2097152 bytes"
        );
        let e = root.read(std::path::Path::new("/big"), 10).unwrap_err();
        assert_eq!(e.to_string(), "file larger than 10 bytes");
    }
}
