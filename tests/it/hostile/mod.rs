//! Hostile input, as an attacker would craft it (issue 13): each case builds
//! its input here, runs the soclash binary under a deadline, and checks that
//! it ends by itself (exit 0, 1 or 2, never a signal) within time and
//! memory, names the budget it hit, and touches nothing outside its own
//! temporary directory.

pub(crate) mod harness;

mod fuzz;

mod apache;
mod elf;
mod overlay;
mod packages;
mod yaml;
