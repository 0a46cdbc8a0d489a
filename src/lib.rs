//! soclash: audit Linux server hosts for shared-library conflicts in the
//! processes that matter (Apache httpd with mod_php and mod_wsgi), from ELF
//! files alone. See docs/ARCHITECTURE.md for the pipeline.

// Everything soclash reads is untrusted (roots, images, packages, reports),
// so a mistake in reading it must stay a Rust error, never memory
// corruption: no unsafe code, not even behind a safe wrapper (issue 14).
#![forbid(unsafe_code)]

pub mod apt_hook;
pub mod budget;
pub mod elf;
pub mod host;
pub mod image;
pub mod layout;
pub mod live;
pub mod model;
pub mod report;
pub mod resolve;
pub mod root;
pub mod rules;
pub mod scan;
pub mod whatif;
pub mod yaml_guard;
