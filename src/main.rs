//! The `soclash` binary: parses the arguments, runs the command, and turns
//! how it ended into the exit code.

// Everything soclash reads is untrusted (roots, images, packages, reports),
// so a mistake in reading it must stay a Rust error, never memory
// corruption: no unsafe code, not even behind a safe wrapper (issue 14).
#![forbid(unsafe_code)]

mod cli;

use std::io;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, Outcome, options, run};

/// Exit codes of DESIGN.md: 0 clean, 1 findings at or above --fail-on,
/// 2 usage or I/O errors that prevented (part of) the audit.
const EXIT_FINDINGS: u8 = 1;
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    on_signals_clean_up();
    let result = match Cli::parse().command {
        Command::Deps(args) => options::deps(args).and_then(run::deps),
        Command::Scan(args) => options::scan(args).and_then(run::scan),
        Command::Image(args) => options::image(args).and_then(run::image),
        Command::Explain(args) => options::explain(args).and_then(run::explain),
        Command::Signatures(cmd) => run::signatures(cmd),
        Command::Diff(args) => options::diff(args).and_then(run::diff),
        Command::Fleet(args) => options::fleet(args).and_then(run::fleet),
        // Never an error: the hook's own failure lets apt go on.
        Command::AptHook(args) => Ok(cli::hook::apt_hook(args)),
        Command::Generate { dir } => run::generate(&dir),
        Command::Schema => run::schema(),
    };
    if soclash::root::scratch::stopping() {
        // The signal thread is ending the process; an error this thread
        // met because of it is not the outcome.
        loop {
            std::thread::park();
        }
    }
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(EXIT_FINDINGS),
        Ok(Outcome::Incomplete) => ExitCode::from(EXIT_ERROR),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soclash: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// SIGINT and SIGTERM remove soclash's temporary directory (what
/// `--overlay-deb` unpacked), then end the process by the signal's default
/// action, so a shell or service manager sees it was interrupted.
fn on_signals_clean_up() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            soclash::root::scratch::stop();
            let _ = signal_hook::low_level::emulate_default_handler(signal);
            std::process::exit(128 + signal);
        }
    });
}

/// A reader that closed the pipe (`soclash scan | head`) has what it
/// wanted: not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    // serde_json's error hides the io::Error it wraps from `source()`.
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .map(io::Error::kind)
            .or_else(|| {
                c.downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            })
            == Some(io::ErrorKind::BrokenPipe)
    })
}
