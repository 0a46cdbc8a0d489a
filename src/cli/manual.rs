//! `soclash generate DIR`: shell completions and man pages from the clap
//! definitions, for `make install` and the Debian package. The pages are
//! clap_mangen's sections plus what a man page reader looks for and clap
//! does not know: EXIT STATUS, ENVIRONMENT, FILES and EXAMPLES. `help`
//! subcommands get no page (`soclash help scan` is `man soclash-scan`).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

/// Writes DIR/completions and DIR/man.
pub fn generate(dir: &Path) -> anyhow::Result<()> {
    use clap_complete::Shell;
    let completions = dir.join("completions");
    let man = dir.join("man");
    for d in [&completions, &man] {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let mut cmd = super::Cli::command();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd, "soclash", &completions)
            .with_context(|| format!("cannot write {shell} completions"))?;
    }
    let mut cmd = super::Cli::command().disable_help_subcommand(true);
    cmd.build();
    pages(&cmd, &man)
}

fn pages(cmd: &clap::Command, dir: &Path) -> anyhow::Result<()> {
    for sub in cmd.get_subcommands() {
        if !sub.is_hide_set() && sub.get_name() != "help" {
            pages(sub, dir)?;
        }
    }
    // Built, a subcommand's display name is its page's: soclash-scan.
    let name = cmd.get_display_name().unwrap_or(cmd.get_name()).to_string();
    let mut text = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut text)
        .and_then(|()| extra(&name, &mut text))
        .with_context(|| format!("cannot render {name}.1"))?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The sections clap has no place for, by page.
fn extra(page: &str, out: &mut Vec<u8>) -> std::io::Result<()> {
    let exit = match page {
        "soclash" | "soclash-scan" => Some(
            "0\tno finding that --fail-on counts (default: high, certain or likely).\n\
             1\ta finding --fail-on counts; with --overlay, one the overlays introduce.\n\
             2\tthe audit could not be done: the root cannot be used or holds nothing to audit, \
             a --signatures directory or the waivers file is missing or invalid, a report \
             could not be written.",
        ),
        "soclash-diff" => Some(
            "0\tnothing --fail-on counts was added.\n\
             1\ta finding --fail-on counts was added, or rose to it.\n\
             2\ta report could not be read.",
        ),
        "soclash-fleet" => Some(
            "0\tno host's newest report has a finding --fail-on counts.\n\
             1\tone has.\n\
             2\tthe archive has no readable report, or cannot be read.",
        ),
        "soclash-deps" => Some(
            "0\tevery FILE was read.\n\
             2\ta FILE could not be read, or ld.so would refuse to start it.",
        ),
        "soclash-apt-hook" => Some(
            "0\tapt goes on: the upgrade introduces nothing --fail-on counts, the what-if is \
             incomplete, SOCLASH_APT_HOOK=off, or the check itself failed (a warning says why).\n\
             1\tthe upgrade introduces a finding --fail-on counts: apt stops before dpkg runs.",
        ),
        "soclash-signatures-check" => Some(
            "0\tevery signature file is valid.\n\
             1\ta file has an error (printed as FILE:LINE:COLUMN).",
        ),
        _ => None,
    };
    if let Some(rows) = exit {
        writeln!(out, ".SH \"EXIT STATUS\"")?;
        for row in rows.lines() {
            let (code, what) = row.split_once('\t').unwrap_or((row, ""));
            writeln!(out, ".TP\n.B {code}\n{}", roff(what))?;
        }
    }
    let examples: &[(&str, &str)] = match page {
        "soclash" | "soclash-scan" => &[
            ("Audit this host; the table on a terminal:", "soclash scan"),
            (
                "A weekly timer's run: archive the report, node_exporter's textfile, one line for the journal:",
                "soclash scan --quiet --archive /var/lib/soclash --format prometheus --output /var/lib/soclash/soclash.prom",
            ),
            (
                "An unpacked image, failing only on certain high findings:",
                "soclash scan --root /srv/images/web01 --fail-on high:certain",
            ),
            (
                "Before an upgrade: what the packages would introduce:",
                "soclash scan --overlay-deb php8.2-imagick_3.7.0-4+b1_amd64.deb",
            ),
            (
                "For a code-scanning dashboard:",
                "soclash scan --format sarif --output soclash.sarif",
            ),
        ],
        "soclash-deps" => &[(
            "What httpd loads, as ldd would print it, with why each path:",
            "soclash deps --why /usr/sbin/apache2",
        )],
        "soclash-explain" => &[(
            "Who defines and who binds MD5Init in the Apache process:",
            "soclash explain --process apache MD5Init",
        )],
        "soclash-image" => &[(
            "The Apache process as a graph:",
            "soclash image --format dot | dot -Tsvg > apache.svg",
        )],
        "soclash-diff" => &[(
            "What changed between the two newest reports of web01:",
            "soclash diff --archive /var/lib/soclash web01",
        )],
        "soclash-fleet" => &[(
            "The fleet as it was on the first of November:",
            "soclash fleet /srv/soclash-archive --at 2026-11-01",
        )],
        "soclash-apt-hook" => &[
            (
                "Enable it for every apt run (removing soclash disables it):",
                "ln -s /usr/share/soclash/apt/50soclash /etc/apt/apt.conf.d/50soclash",
            ),
            (
                "Upgrade once without the check:",
                "SOCLASH_APT_HOOK=off apt upgrade",
            ),
        ],
        _ => &[],
    };
    if !examples.is_empty() {
        writeln!(out, ".SH EXAMPLES")?;
        for (what, command) in examples {
            writeln!(
                out,
                ".PP\n{}\n.PP\n.RS 4\n.B {}\n.RE",
                roff(what),
                roff(command)
            )?;
        }
    }
    if page == "soclash" || page == "soclash-scan" {
        writeln!(out, ".SH ENVIRONMENT")?;
        for (var, what) in [
            ("NO_COLOR", "when set, the table has no colour."),
            (
                "COLUMNS",
                "the table's width when standard output is not a terminal (default 120).",
            ),
            ("TERM", "dumb: no colour."),
        ] {
            writeln!(out, ".TP\n.B {var}\n{}", roff(what))?;
        }
        writeln!(out, ".SH FILES")?;
        for (file, what) in [
            (
                "/etc/soclash/waivers.yaml",
                "waivers scan reads when --waivers is not given (a YAML list of id, reason, expires, host, objects).",
            ),
            (
                "/var/lib/soclash",
                "the archive of the systemd unit: HOST/STAMP.yaml per run.",
            ),
        ] {
            writeln!(out, ".TP\n.B {file}\n{}", roff(what))?;
        }
    }
    if page == "soclash-apt-hook" {
        writeln!(out, ".SH ENVIRONMENT")?;
        for (var, what) in [
            (
                "SOCLASH_APT_HOOK",
                "off (or 0, no, false): skip the check for this apt run; apt goes on.",
            ),
            (
                "APT_HOOK_INFO_FD",
                "set by apt: the descriptor apt writes to, when DPkg::Tools::Options::CMD::InfoFD moved it from standard input.",
            ),
        ] {
            writeln!(out, ".TP\n.B {var}\n{}", roff(what))?;
        }
        writeln!(out, ".SH FILES")?;
        for (file, what) in [
            (
                "/usr/share/soclash/apt/50soclash",
                "the apt.conf.d snippet; link it into /etc/apt/apt.conf.d/ to enable the hook.",
            ),
            (
                "/etc/soclash/waivers.yaml",
                "waivers the hook applies when --waivers is not given.",
            ),
        ] {
            writeln!(out, ".TP\n.B {file}\n{}", roff(what))?;
        }
    }
    Ok(())
}

/// Text as roff reads it literally: backslashes doubled, and a line that
/// would start with `.` or `'` (a request) protected.
fn roff(text: &str) -> String {
    let t = text.replace('\\', "\\\\").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}
