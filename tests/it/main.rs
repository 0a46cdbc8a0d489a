//! The integration tests, one binary (like ripgrep's tests/): each module is
//! a topic, and `common` holds what they share (the sample roots that
//! `make sample-libs` builds, the soclash binary under test).
//!
//! `cargo test --test it TOPIC::` runs one topic, e.g. `hostile::fuzz::`.

mod common;

mod ansible_role;
mod apache_oracle;
mod apt_hook;
mod architecture;
mod archive_diff;
mod bad_input;
mod bind_oracle;
mod deps_cli;
mod dlopen_model;
mod elf_oracle;
mod exit_codes;
mod explain_cli;
mod findings_roots;
mod fleet;
mod generate;
mod golden;
mod hostile;
mod image_dot;
mod image_roots;
mod ld_cache;
mod ldd_oracle;
mod live;
mod musl_oracle;
mod output_file;
mod overlay;
mod overlay_rpm;
mod packages_host;
mod packages_rpm;
mod plugins;
mod prometheus;
mod readme;
mod realistic;
mod report_schema;
mod sample_roots;
mod sarif;
mod scan_host;
mod scan_processes;
mod scan_roots;
mod signatures_check;
mod static_python;
mod table_tmux;
mod venvs;
mod whatif_debian;
mod wsgi_daemons;
