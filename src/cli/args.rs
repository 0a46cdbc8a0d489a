//! Command-line arguments (clap derive): the doc comments are the help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use soclash::model::FailOn;

/// Audit a Linux host for shared-library conflicts in its Apache, PHP and
/// Python processes, from the ELF files alone. Nothing audited is executed.
#[derive(Debug, Parser)]
#[command(name = "soclash", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the shared objects FILE loads, like `ldd`, without executing it.
    ///
    /// Lines follow ld.so's breadth-first load order: `NAME => PATH`,
    /// `NAME => not found`, or the interpreter's path; load addresses and
    /// linux-vdso are left out. With several FILEs each block starts with a
    /// `FILE:` line. Every name is resolved the way glibc's ld.so would
    /// (RPATH/RUNPATH, LD_LIBRARY_PATH, ld.so.cache, glibc-hwcaps, default
    /// directories) from the files and the root's own configuration; a musl
    /// program (PT_INTERP /lib/ld-musl-x86_64.so.1) the way musl's loader
    /// would, listed as `ld-musl-x86_64.so.1 --list` lists it, with its
    /// `Error loading shared library` lines on stderr and exit status 2
    /// where it would exit 127.
    Deps(DepsArgs),
    /// Audit this host (or --root) for shared-library conflicts.
    ///
    /// Finds the httpd binary, Apache modules, PHP extensions and Python
    /// extension modules of every common layout, resolves what each loads,
    /// and reports unresolved dependencies, modules of the wrong
    /// architecture and a stale ld.so.cache. Files that cannot be read are
    /// listed under errors; the scan goes on.
    Scan(ScanArgs),
    /// Show the modelled processes (Apache's children, each mod_wsgi
    /// daemon process group, php-fpm): their members in load order, how
    /// each came in (exec, needed, preload, dlopen), the dlopen mode and the
    /// directive, extension line or import that brought it, and the global
    /// scope. Nothing is started or loaded to find out.
    Image(ImageArgs),
    /// Explain one symbol: who defines it in each modelled process, who
    /// references it, where each reference binds and where its object
    /// expected it to bind (loaded on its own with its dependencies).
    ///
    /// `interposed` marks a reference that binds somewhere else than
    /// expected. Lazily bound PLT slots are shown as they bind once the
    /// process has loaded everything; `at_load` says where they would bind
    /// if called earlier.
    Explain(ExplainArgs),
    /// Compare two reports: findings added, resolved and changed (matched by
    /// id, process, objects and symbols), objects added, removed and
    /// changed. Exit 1 when a finding at or above --fail-on was added.
    ///
    /// `soclash diff OLD.yaml NEW.yaml`, or `soclash diff --archive DIR
    /// HOST` for the two newest reports of HOST in an archive written by
    /// `scan --archive`.
    Diff(DiffArgs),
    /// The fleet view of a per-server archive (DIR/<host>/<stamp>.yaml, from
    /// `scan --archive` or the Ansible role in contrib/ansible): findings by
    /// id with the hosts they affect, hosts by worst severity, stale hosts,
    /// and drift since each host's previous report. Exit 1 when a host's
    /// newest report has a finding at or above --fail-on.
    Fleet(FleetArgs),
    /// APT's pre-install hook: the what-if of exactly what apt is about to
    /// install and remove, judged before dpkg runs.
    ///
    /// apt runs it from `DPkg::Pre-Install-Pkgs` with
    /// `DPkg::Tools::Options::/usr/bin/soclash::Version "3"`
    /// (/usr/share/soclash/apt/50soclash) and gives on standard input the
    /// packages it resolved. It prints the verdict on standard error and
    /// exits 1, which stops apt before dpkg touches anything, when the
    /// upgrade introduces a finding at or above --fail-on (waivers
    /// applied). Its own failure never stops apt: an unreadable waivers
    /// file, apt input it cannot read, a crash or --timeout print a
    /// warning and exit 0, as does an incomplete what-if. Set
    /// SOCLASH_APT_HOOK=off to skip it for one apt run.
    AptHook(AptHookArgs),
    /// Write shell completions (bash, zsh, fish) and man pages generated
    /// from these definitions into DIR (`make install` uses it).
    #[command(hide = true)]
    Generate {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// The catalogue of known clash signatures: list it, or check
    /// signature files (exit 1 when one has an error).
    #[command(subcommand)]
    Signatures(SignaturesCommand),
    /// Print the JSON Schema (draft 2020-12) of the report `scan` writes
    /// (schema 1), as docs/report.schema.json holds it: validate archived
    /// reports with any JSON Schema validator.
    Schema,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Take the two newest reports of HOST from this archive.
    #[arg(long, value_name = "DIR")]
    pub archive: Option<PathBuf>,
    /// Output format; default: table.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Exit with status 1 when a finding was added, or rose, at or above this severity: critical,
    /// high, medium, low, info; or none, to never fail on findings (an
    /// audit that could not be done still exits 2). A severity alone counts
    /// certain and likely findings; SEVERITY:certain counts only certain
    /// ones, SEVERITY:latent also what-ifs of installed files nothing
    /// loads (`--fail-on low:latent`).
    #[arg(long, default_value = "high", value_name = "SEVERITY[:CERTAINTY]")]
    pub fail_on: FailOn,
    /// OLD.yaml NEW.yaml, or HOST with --archive.
    #[arg(required = true, num_args = 1..=2, value_name = "REPORT|HOST")]
    pub args: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Output format; default: table.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Exit with status 1 when a host's newest report has a finding at or above this severity: critical,
    /// high, medium, low, info; or none, to never fail on findings (an
    /// audit that could not be done still exits 2). A severity alone counts
    /// certain and likely findings; SEVERITY:certain counts only certain
    /// ones, SEVERITY:latent also what-ifs of installed files nothing
    /// loads (`--fail-on low:latent`).
    #[arg(long, default_value = "high", value_name = "SEVERITY[:CERTAINTY]")]
    pub fail_on: FailOn,
    /// A host whose newest report is older than DAYS is stale.
    #[arg(long, value_name = "DAYS", default_value_t = 8)]
    pub stale: u64,
    /// The fleet as it was at DATE (YYYY-MM-DD, RFC 3339 or a report
    /// stamp): newer reports are left out.
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,
    /// The archive directory.
    #[arg(value_name = "ARCHIVE")]
    pub archive: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum SignaturesCommand {
    /// A table of id, severity and title of every signature (the embedded
    /// catalogue, with --signatures directories added).
    List {
        /// A directory of signature files that adds to or overrides (same
        /// id) the embedded catalogue; may be repeated.
        #[arg(long, value_name = "DIR")]
        signatures: Vec<PathBuf>,
        /// Output format; default: table.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Validate signature files: the embedded catalogue, or the *.yaml of
    /// DIR. Errors are printed as FILE:LINE:COLUMN: what is wrong.
    Check {
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The audited system's root directory.
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub root: PathBuf,
    /// Only this process: apache (its child processes), wsgi:GROUP (the
    /// mod_wsgi daemon process group GROUP) or php-fpm; default: every
    /// modelled one. With it, the document is one object instead of a
    /// list.
    #[arg(long, value_name = "NAME", value_parser = ProcessName, hide_possible_values = true)]
    pub process: Option<String>,
    /// The main Apache configuration file (inside the root).
    #[arg(long, value_name = "FILE")]
    pub apache_config: Option<PathBuf>,
    /// Output format; default: table.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// x86-64 ISA level (1-4) for glibc-hwcaps; default: this machine's.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=4))]
    pub cpu_level: Option<u8>,
    /// The symbol name, without version (`MD5Init`, `cache_init`).
    #[arg(value_name = "SYMBOL")]
    pub symbol: String,
}

#[derive(Debug, Args)]
pub struct ImageArgs {
    /// The audited system's root directory.
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub root: PathBuf,
    /// Only this process: apache (its child processes), wsgi:GROUP (the
    /// mod_wsgi daemon process group GROUP: the Apache parent's image and
    /// the group's Python) or php-fpm (a process of its own); default:
    /// every modelled one, and apache for `dot`.
    #[arg(long, value_name = "NAME", value_parser = ProcessName, hide_possible_values = true)]
    pub process: Option<String>,
    /// The main Apache configuration file (inside the root); default: the
    /// service's or the distribution's.
    #[arg(long, value_name = "FILE")]
    pub apache_config: Option<PathBuf>,
    /// Output format; default: table. `dot` draws the process for
    /// Graphviz: `soclash image --format dot | dot -Tsvg > apache.svg`.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ImageFormat,
    /// What `--format dot` draws: `findings` (default) the objects the
    /// process's findings name and those they interpose with, `all` every
    /// member.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub focus: Option<Focus>,
    /// x86-64 ISA level (1-4) for glibc-hwcaps; default: this machine's.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=4))]
    pub cpu_level: Option<u8>,
}

/// `image` formats: the report formats and a Graphviz graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImageFormat {
    Table,
    Yaml,
    Json,
    Dot,
}

/// What `image --format dot` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Focus {
    /// The findings' objects and their interposition partners.
    Findings,
    /// Every member of the process.
    All,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Yaml,
    Json,
}

/// `scan` formats: the report formats and those of other tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    Table,
    Yaml,
    Json,
    Sarif,
    Prometheus,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The audited system's root directory (an unpacked image, a chroot);
    /// paths in the report are inside it.
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub root: PathBuf,
    /// Pre-upgrade what-if: lay DIR (a package tree unpacked with `dpkg-deb
    /// -x` or `rpm2cpio | cpio -id`) over the root as if installed; files
    /// replace or add to the root's, a later overlay wins. The report says
    /// which findings the overlays introduce. May be repeated.
    #[arg(long, value_name = "DIR")]
    pub overlay: Vec<PathBuf>,
    /// Like --overlay, for a .deb unpacked by soclash into a temporary
    /// directory (never by dpkg); laid over the --overlay directories, in
    /// the order given, as apt and dpkg would install it: its Depends and
    /// Pre-Depends checked against the root's installed packages and the
    /// other packages given, an installed version replaced (files it no
    /// longer ships removed), the host's changed conffiles kept, its
    /// postinst's Debian helpers and the ldconfig trigger modelled. With
    /// overlays the exit code is the verdict on what they introduce: 1
    /// for a finding at or above --fail-on, 0 for none, 2 when a
    /// dependency is unmet (the what-if is not what apt would install).
    #[arg(long, value_name = "FILE")]
    pub overlay_deb: Vec<PathBuf>,
    /// The same for an RPM-based host (`dnf download` fetches the .rpm):
    /// FILE.rpm unpacked by soclash into a temporary directory (never by
    /// rpm) and laid over the --overlay directories, in the order given,
    /// as `rpm -U` would install it: its Requires checked against the
    /// root's rpm database and the other packages given (rpmlib()
    /// requirements are rpm's own), an installed package of its name
    /// replaced (files it no longer lists removed), ld.so.cache rebuilt
    /// when its %post or glibc's file trigger runs ldconfig. Its %pre and
    /// %post scriptlets are not modelled, which the verdict says. The exit
    /// code is the verdict, as with --overlay-deb. Not with --overlay-deb.
    #[arg(long, value_name = "FILE", conflicts_with = "overlay_deb")]
    pub overlay_rpm: Vec<PathBuf>,
    /// Judge an --overlay-deb or --overlay-rpm what-if even though
    /// dependencies are unmet (they are still named in the report).
    #[arg(long)]
    pub ignore_depends: bool,
    /// Output format; default: table on a terminal, yaml otherwise. `sarif`
    /// is SARIF 2.1.0 for code-scanning dashboards, `prometheus` the text
    /// format of node_exporter's textfile collector.
    #[arg(long, value_enum)]
    pub format: Option<ScanFormat>,
    /// Also keep the report (YAML) as DIR/<hostname>/<UTC
    /// %Y%m%dT%H%M%SZ>.yaml; an existing report is never overwritten.
    #[arg(long, value_name = "DIR")]
    pub archive: Option<PathBuf>,
    /// No report on standard output (for a timer: with --archive or
    /// --output); a one-line summary goes to standard error, which the
    /// journal keeps.
    #[arg(short, long)]
    pub quiet: bool,
    /// The host's name in the report and the archive; default: the root's
    /// /etc/hostname, or the kernel's for /.
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Write the report to FILE instead of standard output; FILE is
    /// replaced at once (written beside it, then renamed), so a reader such
    /// as node_exporter never sees half of it.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with status 1 when a finding is at or above this severity: critical,
    /// high, medium, low, info; or none, to never fail on findings (an
    /// audit that could not be done still exits 2). A severity alone counts
    /// certain and likely findings; SEVERITY:certain counts only certain
    /// ones, SEVERITY:latent also what-ifs of installed files nothing
    /// loads (`--fail-on low:latent`).
    #[arg(long, default_value = "high", value_name = "SEVERITY[:CERTAINTY]")]
    pub fail_on: FailOn,
    /// Waivers: a YAML list of {id, reason, expires, host, objects} (see
    /// docs/waivers.md). A waived finding is listed under `waived` with
    /// its reason and does not count for the exit code; expired waivers
    /// and waivers that match nothing are named on standard error. Default:
    /// /etc/soclash/waivers.yaml when it exists.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// In the table: every object, error and evidence line of each
    /// finding, and its bindings.
    #[arg(short, long)]
    pub verbose: bool,
    /// Also audit installed Apache modules, PHP extensions and Python
    /// extension modules the configuration does not load, as if each were
    /// loaded last: their findings are `latent` and never above low.
    #[arg(long)]
    pub installed: bool,
    /// A directory of signature files that adds to or overrides (same id)
    /// the embedded catalogue; may be repeated.
    #[arg(long, value_name = "DIR")]
    pub signatures: Vec<PathBuf>,
    /// Also read the running httpd and php-fpm processes from /proc (as
    /// root; nothing is executed or attached to): what each maps against
    /// its modelled process, findings confirmed by what is mapped,
    /// restart-needed for files deleted or replaced since a process
    /// started, and containers audited against their own root. Audits /
    /// only; exit status 2 when processes were found but no maps could be
    /// read.
    #[arg(long)]
    pub live: bool,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub jobs: Option<usize>,
    /// x86-64 ISA level (1-4) that selects glibc-hwcaps subdirectories;
    /// default: this machine's.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=4))]
    pub cpu_level: Option<u8>,
}

#[derive(Debug, Args)]
pub struct DepsArgs {
    /// The audited system's root directory; FILE and printed paths are
    /// inside it.
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub root: PathBuf,
    /// Print a deduplicated tree instead of the load order; a subtree shown
    /// once is referenced, not printed again.
    #[arg(long)]
    pub tree: bool,
    /// Add why each object was found where it was (RPATH of X, RUNPATH,
    /// LD_LIBRARY_PATH, ld.so.cache, default directory) or where it was
    /// looked for.
    #[arg(long)]
    pub why: bool,
    /// LD_LIBRARY_PATH of the modelled process (never taken from soclash's
    /// own environment).
    #[arg(long, value_name = "PATHS")]
    pub ld_library_path: Option<String>,
    /// LD_PRELOAD of the modelled process: names or paths separated by
    /// spaces or colons, preloaded before the root's /etc/ld.so.preload
    /// (never taken from soclash's own environment).
    #[arg(long, value_name = "LIBS")]
    pub preload: Option<String>,
    /// x86-64 ISA level (1-4) that selects glibc-hwcaps subdirectories;
    /// default: this machine's.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=4))]
    pub cpu_level: Option<u8>,
    /// Files to resolve.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// `--process NAME`: any name is taken (a daemon group is `wsgi:` and the
/// group's name, which only the root knows), but shells complete the
/// fixed ones.
#[derive(Debug, Clone, Copy)]
pub struct ProcessName;

impl clap::builder::TypedValueParser for ProcessName {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        let kinds = soclash::image::PROCESSES.iter().map(|k| k.name);
        Some(Box::new(
            kinds
                .chain(["wsgi:"])
                .map(clap::builder::PossibleValue::new),
        ))
    }
}

#[derive(Debug, Args)]
pub struct AptHookArgs {
    /// The audited system's root directory (for tests; apt's hook audits /).
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub root: PathBuf,
    /// Stop apt (exit 1) when the upgrade introduces a finding at or above
    /// this severity: critical, high, medium, low, info; or none, to only
    /// print the verdict. SEVERITY:certain counts only certain findings.
    #[arg(long, default_value = "high", value_name = "SEVERITY[:CERTAINTY]")]
    pub fail_on: FailOn,
    /// Waivers (see docs/waivers.md); default: /etc/soclash/waivers.yaml
    /// when it exists. A file that cannot be read is the hook's failure:
    /// it warns and apt goes on.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// Let apt go on, with a warning, when the check has not ended after
    /// SECONDS.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub timeout: u64,
    /// Run the check in this process (the hook runs it in a child, so that
    /// even a crash lets apt go on).
    #[arg(long, hide = true)]
    pub inner: bool,
}
