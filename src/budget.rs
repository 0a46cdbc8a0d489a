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

// --- Package databases -----------------------------------------------------

/// Largest dpkg `status`, dpkg `info/*.list` or apk `installed` file read.
/// Debian's largest `.list` files (texlive, linux headers) are a few MiB.
pub const PACKAGE_DB_FILE: u64 = 64 << 20;
/// Bytes of dpkg `info/*.list` files read in one scan. All lists of a full
/// Debian desktop come to about 60 MiB.
pub const PACKAGE_LISTS_PER_SCAN: u64 = 256 << 20;
/// Paths listed by packages looked up in the root in one scan (each
/// listed directory once). Only paths whose name is that of a file the
/// scan asks about are looked up: on a real host a few thousand.
pub const PACKAGE_PATH_LOOKUPS: usize = 100_000;
/// Largest `rpmdb.sqlite` opened. A Fedora workstation's is about 100 MiB.
pub const RPMDB_BYTES: u64 = 1 << 30;
/// SQLite virtual-machine steps for reading the rpm database (checked
/// every 10,000 steps by a progress handler). Reading a package takes
/// three, so 5,000 packages about 15,000; this is over a thousand times
/// that, and more rows than `RPMDB_BYTES` of real headers hold, yet a
/// statement that never ends (a recursive view) stops within a second
/// even in a debug build (2^30 steps took a minute there).
pub const RPMDB_VM_STEPS: u64 = 1 << 24;
/// Memory SQLite may use for the rpm database, its cache and temporary
/// tables (which are kept in memory, never in a file). It is SQLite's
/// hard heap limit, which is per process; soclash uses SQLite for this
/// database only.
pub const RPMDB_HEAP: u64 = 256 << 20;

// --- Overlays and packages for the what-if ---------------------------------

/// Entries in one `.deb`'s data. Debian's packages with the most files
/// (documentation and header packages) have under 100,000.
pub const DEB_ENTRIES: usize = 200_000;
/// Bytes one `.deb` unpacks to, over all its members. Debian's largest
/// packages install under 2 GiB.
pub const DEB_UNPACKED: u64 = 2 << 30;
/// Entries over all overlays and packages of one what-if.
pub const WHATIF_ENTRIES: usize = 1 << 20;
/// Bytes unpacked over all packages of one what-if.
pub const WHATIF_UNPACKED: u64 = 4 << 30;
/// Largest `control.tar` member read (it holds a few text files).
pub const DEB_CONTROL: u64 = 16 << 20;

// --- Configuration ---------------------------------------------------------

/// Configuration files read for one httpd configuration (`Include`d files,
/// also through directories and globs). A large Debian host has a few
/// hundred.
pub const APACHE_FILES: usize = 10_000;
/// Nested `Include`s: httpd's own `AP_MAX_INCLUDE_DEPTH` (server/core.c).
pub const APACHE_INCLUDE_DEPTH: usize = 128;
/// Nested included directories: httpd's `AP_MAX_FNMATCH_DIR_DEPTH`.
pub const APACHE_DIR_DEPTH: usize = 128;
/// Directory entries, glob matches and `Include` lines looked at for one
/// httpd configuration: the work that symlink fan-out or a flood of
/// `IncludeOptional` globs would multiply.
pub const APACHE_INCLUDE_WORK: usize = 100_000;
/// Largest httpd configuration file read; real ones are a few KiB.
pub const APACHE_FILE_BYTES: u64 = 16 << 20;
/// Configuration bytes read and produced by `${VAR}` expansion for one
/// httpd configuration.
pub const APACHE_TOTAL_BYTES: u64 = 256 << 20;
/// Longest logical configuration line, before and after `${VAR}`
/// expansion (httpd allows 16 MiB; no real line nears 1 MiB).
pub const APACHE_LINE: usize = 1 << 20;
/// Largest envvars, unit, environment or `ld.so.preload` file read.
pub const SMALL_FILE: u64 = 1 << 20;
/// Errors kept for one configuration file; the rest are counted in one
/// "and N more" entry, so a broken file cannot flood the report.
pub const ERRORS_PER_FILE: usize = 20;

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
/// any, at about 150 bytes each, and a report's `serde_yaml::Value` as
/// much again: 1.5 million nodes peak at about 420 MB in `diff`. A real
/// report has a node per 13 to 15 bytes (770,000 in 10 MiB); a hostile one
/// packs one into 3 bytes, which at REPORT_BYTES would be 11 million.
pub const YAML_NODES: usize = 1_500_000;
/// Reports `fleet` parses at once. Each may take a few hundred MB while it
/// is parsed (see [`YAML_NODES`]), and an archive holds what every host
/// sent, compromised ones included; four keep 10,000 real reports to
/// about the time all cores of a small server would.
pub const FLEET_READERS: usize = 4;
