//! The `soclash` binary: parses arguments and hands them to the library.

mod cli;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use rayon::prelude::*;

use soclash::resolve::{Cpu, Loader, Options};
use soclash::root::Root;

use cli::{Cli, Command, DepsArgs};

/// Exit codes of DESIGN.md: 0 clean, 1 findings at or above --fail-on,
/// 2 usage or I/O errors that prevented (part of) the audit.
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Deps(args) => deps(&args),
        Command::Scan(args) => Err(anyhow::anyhow!(
            "scan of {} is not available yet (the host crawler is the next issue); \
             `soclash deps FILE...` resolves dependencies today",
            args.root.display()
        )),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soclash: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn deps(args: &DepsArgs) -> anyhow::Result<u8> {
    use anyhow::Context;
    let root = Root::new(&args.root)
        .with_context(|| format!("cannot use {} as root", args.root.display()))?;
    let cwd = if root.is_host() {
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))
    } else {
        PathBuf::from("/")
    };
    let opts = Options {
        ld_library_path: args.ld_library_path.clone(),
        cpu: args.cpu_level.map_or_else(Cpu::detect, Cpu::with_level),
        cwd,
        profile: None,
    };
    let loader = Loader::new(&root, opts);
    for p in loader.problems() {
        eprintln!("soclash: {}: {}", p.path.display(), p.reason);
    }
    let several = args.files.len() > 1;
    let blocks: Vec<(String, Option<String>)> = args
        .files
        .par_iter()
        .map(|f| deps_block(&loader, f, args))
        .collect();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut failed = false;
    for (file, (text, err)) in args.files.iter().zip(blocks) {
        if several {
            writeln!(out, "{}:", file.display())?;
        }
        out.write_all(text.as_bytes())?;
        if let Some(err) = err {
            failed = true;
            out.flush()?;
            eprintln!("soclash: {}: {err}", file.display());
        }
    }
    out.flush()?;
    Ok(if failed { EXIT_ERROR } else { 0 })
}

/// The output block of one FILE, and the problem that stopped it, if any.
fn deps_block(loader: &Loader<'_>, file: &Path, args: &DepsArgs) -> (String, Option<String>) {
    match loader.load(file) {
        Ok(load) => {
            let lines = if args.tree {
                load.tree_lines(args.why)
            } else {
                load.lines(args.why)
            };
            let mut text = String::new();
            for l in lines {
                text.push_str(&l);
                text.push('\n');
            }
            let fatal = load.fatal().map(|(path, reason)| {
                format!("{}: {reason} (ld.so would refuse to start)", path.display())
            });
            (text, fatal)
        }
        Err(e) => (String::new(), Some(e.to_string())),
    }
}
