//! The binary's command-line layer, kept out of the library so the library
//! never parses arguments or looks at a terminal: `args` the clap
//! definitions (their doc comments are the help), `options` each command's
//! arguments turned into one validated value, `run` each command on it,
//! `output` the document writers, `hook` the APT hook (`soclash apt-hook`), `terminal` the width, colour and spinner,
//! `manual` the man pages and completions.

mod args;
pub mod hook;
mod manual;
pub mod options;
mod output;
pub mod run;
mod terminal;

pub use args::*;

/// How a command ended; `main` turns it into the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    /// A finding at or above `--fail-on`, or `signatures check` found a
    /// file in error.
    Findings,
    /// What could be done was printed, but part of it failed (a FILE of
    /// `deps`, a `--signatures` directory of `signatures list`).
    Incomplete,
}

impl Outcome {
    pub fn findings_if(found: bool) -> Outcome {
        if found {
            Outcome::Findings
        } else {
            Outcome::Clean
        }
    }
}
