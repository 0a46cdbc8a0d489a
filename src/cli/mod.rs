//! The binary's command-line layer, kept out of the library so the library
//! never parses arguments or looks at a terminal.

mod args;
pub mod terminal;

pub use args::*;
