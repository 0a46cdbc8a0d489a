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

/// Bytes read from one ELF file. The dynamic symbol, string, hash, version
/// and relocation tables of the largest shared library on a Debian host
/// (libLLVM, ~120 MB on disk) come to well under this; a file that asks for
/// more is corrupt or hostile. It also bounds the positional read cache,
/// which keeps what was read until the file is done.
pub const ELF_BYTES_PER_FILE: u64 = 256 << 20;
/// Bytes read from ELF files in one scan. A scan of a Debian LAMP host
/// reads a few hundred MiB; forty virtualenvs a few GiB.
pub const ELF_BYTES_PER_SCAN: u64 = 16 << 30;

// --- Package databases -----------------------------------------------------

/// Largest dpkg `status`, dpkg `info/*.list` or apk `installed` file read.
/// Debian's largest `.list` files (texlive, linux headers) are a few MiB.
pub const PACKAGE_DB_FILE: u64 = 64 << 20;
/// Bytes of dpkg `info/*.list` files read in one scan. All lists of a full
/// Debian desktop come to about 60 MiB.
pub const PACKAGE_LISTS_PER_SCAN: u64 = 256 << 20;
/// Largest `rpmdb.sqlite` opened. A Fedora workstation's is about 100 MiB.
pub const RPMDB_BYTES: u64 = 1 << 30;
/// SQLite virtual-machine steps for reading the rpm database (checked
/// every 10,000 steps by a progress handler). Reading 5,000 package
/// headers takes a few million.
pub const RPMDB_VM_STEPS: u64 = 1 << 30;
/// Memory SQLite may use for the rpm database, its cache and temporary
/// tables (which are kept in memory, never in a file).
pub const RPMDB_HEAP: u64 = 256 << 20;

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
/// Largest `control.tar` member read (it holds a few text files).
pub const DEB_CONTROL: u64 = 16 << 20;
/// Helper calls (`php_invoke enmod`, `apache2_invoke enmod`, after `for`
/// loops are expanded) modelled for one package's `postinst`. Debian's
/// PHP and Apache module packages make one to a dozen.
pub const MAINTSCRIPT_CALLS: usize = 256;
/// Modules one `a2enmod` may enable through `# Depends:` lines. Apache's
/// deepest chain is a handful.
pub const A2ENMOD_DEPENDS: usize = 64;
/// Largest PHP `.ini` or Apache `.load`/`.conf` snippet the maintainer
/// script model reads; real ones are under 1 KiB.
pub const MAINTSCRIPT_FILE: u64 = 1 << 20;

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
/// Largest archived report read. A report of a host with 40 virtualenvs is
/// about 10 MiB.
pub const REPORT_BYTES: u64 = 256 << 20;
/// Nesting of YAML collections accepted. A signature nests about 6 deep, a
/// report about 8; the YAML parser is quadratic in deep flow nesting.
pub const YAML_DEPTH: usize = 64;
/// YAML aliases (`*name`) accepted in a signature or report. soclash
/// writes none and a signature needs none; each alias would be expanded
/// in full, which is how a small file becomes gigabytes.
pub const YAML_ALIASES: usize = 0;
