//! Command-line arguments (clap derive): the doc comments are the help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// directories) from the files and the root's own configuration.
    Deps(DepsArgs),
    /// Audit this host (or --root) for shared-library conflicts.
    ///
    /// Not available yet: the host crawler and the inventory report land
    /// with the next issue. Use `soclash deps` meanwhile.
    Scan(ScanArgs),
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The audited system's root directory.
    #[arg(long, default_value = "/", value_name = "DIR")]
    pub root: PathBuf,
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
    /// x86-64 ISA level (1-4) that selects glibc-hwcaps subdirectories;
    /// default: this machine's.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=4))]
    pub cpu_level: Option<u8>,
    /// Files to resolve.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}
