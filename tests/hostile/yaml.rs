//! Hostile yaml input (issue 13).

#[allow(unused_imports)]
use super::harness;
