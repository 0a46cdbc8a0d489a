//! APT's `DPkg::Pre-Install-Pkgs` protocol, as `soclash apt-hook` reads
//! it: apt runs each hook before it calls dpkg and stops when one exits
//! non-zero, so the hook sees exactly what apt resolved and can still say
//! no. apt-pkg/deb/dpkgpm.cc (`SendPkgsInfo`) writes, for version 2 or 3
//! (`DPkg::Tools::Options::CMD::Version`, apt.conf(5)):
//!
//! ```text
//! VERSION 3
//! KEY=VALUE             the whole configuration tree, %-encoded, one item a line
//! (blank line)
//! NAME OLD [ARCH MA] DIR NEW [ARCH MA] ACTION
//! ```
//!
//! one action line per package in the order dpkg will get them: versions
//! are `-` when there is none (`- - none` in version 3), `DIR` is `<`,
//! `>` or `=`, and `ACTION` the `.deb` about to be unpacked, `**CONFIGURE**`,
//! `**REMOVE**` (also for a purge) or `**ERROR**` (apt had no absolute
//! path for the file). Version 1 is only `.deb` paths: no removals, no
//! names, so it is refused with the setting that asks for version 3.
//!
//! The reading is strict where a mistake would change the answer (the
//! `VERSION` line, the separator, the direction, the action) and names
//! the line at fault; what soclash does not use is only checked for shape
//! (configuration items are not kept) and unknown `**WORD**` actions are
//! kept as such, so a later apt does not break the hook. Input is bounded
//! by [`APT_HOOK_INPUT`] however much apt (or anything else on stdin)
//! sends.

use std::ffi::OsStr;
use std::io::BufRead;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::budget::{self, APT_HOOK_INPUT};

/// One version of a package as an action line gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub version: String,
    /// Version 3 only; `None` in version 2.
    pub architecture: Option<String>,
    /// Version 3 only: `same`, `foreign`, `allowed`, or `none` (which
    /// apt.conf(5) says to read as "no").
    pub multi_arch: Option<String>,
}

/// What apt is about to do with one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// dpkg unpacks this `.deb`.
    Unpack(PathBuf),
    /// dpkg configures what is already unpacked: nothing new on disk.
    Configure,
    /// dpkg removes (or purges) the package.
    Remove,
    /// apt had no absolute path for the package's file (`**ERROR**`).
    Error,
    /// An action this reader does not know (`**WORD**`), kept so the
    /// caller can say it was not modelled.
    Other(String),
}

/// One action line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub package: String,
    /// The installed version it replaces or removes, if any.
    pub old: Option<Version>,
    /// `<` upgrade (or a first install), `>` downgrade, `=` same version.
    pub direction: char,
    /// The version it installs, if any (none for a removal).
    pub new: Option<Version>,
    pub action: Action,
}

/// What apt sent: the protocol version, how many configuration items, and
/// the action lines in apt's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub version: u32,
    pub config_items: usize,
    pub steps: Vec<Step>,
}

/// Why apt's input could not be read: the hook then cannot judge, and
/// says so without stopping apt.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read apt's input: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "apt sent no VERSION line (protocol version 1, .deb paths only, has no removals): set DPkg::Tools::Options::CMD::Version \"3\" for the hook's command CMD"
    )]
    Version1,
    #[error("apt's input, line {line}: {why}: {text:?}")]
    Malformed {
        line: usize,
        why: &'static str,
        text: String,
    },
    #[error("apt's input ended before {0}")]
    Truncated(&'static str),
    #[error(
        "{}",
        budget::exceeded("APT_HOOK_INPUT", budget::bytes(APT_HOOK_INPUT))
    )]
    Budget,
}

/// Longest piece of a malformed line quoted in an error.
const QUOTED: usize = 120;

fn malformed(line: usize, why: &'static str, text: &[u8]) -> Error {
    let text = String::from_utf8_lossy(&text[..text.len().min(QUOTED)]).into_owned();
    Error::Malformed { line, why, text }
}

/// Reads apt's hook input (versions 2 and 3) from `input`, at most
/// [`APT_HOOK_INPUT`] bytes.
pub fn read(input: impl BufRead) -> Result<Transaction, Error> {
    let mut input = input.take(APT_HOOK_INPUT + 1);
    let mut line = Vec::new();
    let mut number = 0usize;
    let mut next = |line: &mut Vec<u8>| -> Result<Option<usize>, Error> {
        line.clear();
        let n = input.read_until(b'\n', line)?;
        if input.limit() == 0 {
            return Err(Error::Budget);
        }
        if n == 0 {
            return Ok(None);
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        number += 1;
        Ok(Some(number))
    };
    let Some(n) = next(&mut line)? else {
        return Err(Error::Truncated("the VERSION line"));
    };
    let version = match line.strip_prefix(b"VERSION ") {
        Some(v) => match std::str::from_utf8(v).ok().and_then(|v| v.parse().ok()) {
            Some(v @ (2 | 3)) => v,
            _ => return Err(malformed(n, "a protocol version other than 2 or 3", &line)),
        },
        None if line.first() == Some(&b'/') => return Err(Error::Version1),
        None => return Err(malformed(n, "not a VERSION line", &line)),
    };
    let mut config_items = 0;
    loop {
        let Some(n) = next(&mut line)? else {
            return Err(Error::Truncated("the blank line after the configuration"));
        };
        if line.is_empty() {
            break;
        }
        // KEY=VALUE, the key %-encoded so it holds no `=`.
        match line.iter().position(|&b| b == b'=') {
            Some(0) | None => {
                return Err(malformed(n, "a configuration line without KEY=", &line));
            }
            Some(_) => config_items += 1,
        }
    }
    let mut steps = Vec::new();
    while let Some(n) = next(&mut line)? {
        if line.is_empty() {
            continue;
        }
        steps.push(step(version, n, &line)?);
    }
    Ok(Transaction {
        version,
        config_items,
        steps,
    })
}

/// One action line. The action is the rest of the line after the fixed
/// fields, so a `.deb` path with a space in it stays whole.
fn step(version: u32, n: usize, line: &[u8]) -> Result<Step, Error> {
    // NAME, then each version: VERSION (and ARCH MA in v3).
    let per_version = if version >= 3 { 3 } else { 1 };
    let fixed = 1 + per_version + 1 + per_version;
    let mut fields = Vec::with_capacity(fixed);
    let mut rest = line;
    for _ in 0..fixed {
        let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
        rest = &rest[start..];
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        if end == 0 {
            return Err(malformed(n, "an action line with too few fields", line));
        }
        fields.push(&rest[..end]);
        rest = &rest[end..];
    }
    let action = rest.strip_prefix(b" ").unwrap_or(rest);
    if action.is_empty() {
        return Err(malformed(n, "an action line without its action", line));
    }
    let text = |b: &[u8]| -> Result<String, Error> {
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| malformed(n, "a name or version that is not text", line))
    };
    let version_at = |i: usize| -> Result<Option<Version>, Error> {
        if fields[i] == b"-" {
            return Ok(None);
        }
        Ok(Some(Version {
            version: text(fields[i])?,
            architecture: (per_version == 3)
                .then(|| text(fields[i + 1]))
                .transpose()?,
            multi_arch: (per_version == 3)
                .then(|| text(fields[i + 2]))
                .transpose()?,
        }))
    };
    let package = text(fields[0])?;
    let old = version_at(1)?;
    let direction = match fields[1 + per_version] {
        b"<" => '<',
        b">" => '>',
        b"=" => '=',
        _ => return Err(malformed(n, "a direction other than <, > or =", line)),
    };
    let new = version_at(2 + per_version)?;
    let action = match action {
        b"**CONFIGURE**" => Action::Configure,
        b"**REMOVE**" => Action::Remove,
        b"**ERROR**" => Action::Error,
        a if a.first() == Some(&b'/') => Action::Unpack(PathBuf::from(OsStr::from_bytes(a))),
        a if a.starts_with(b"**") && a.ends_with(b"**") && a.len() > 4 => Action::Other(text(a)?),
        _ => return Err(malformed(n, "an action that is no path nor **WORD**", line)),
    };
    if matches!(action, Action::Unpack(_)) && new.is_none() {
        return Err(malformed(n, "a .deb to unpack without its version", line));
    }
    Ok(Step {
        package,
        old,
        direction,
        new,
        action,
    })
}

impl Transaction {
    /// The `.deb` files apt is about to unpack, in its order, each once.
    pub fn debs(&self) -> Vec<PathBuf> {
        let mut seen = std::collections::HashSet::new();
        self.steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::Unpack(p) if seen.insert(p.clone()) => Some(p.clone()),
                _ => None,
            })
            .collect()
    }

    /// The packages apt is about to remove, with the architecture of the
    /// installed version when the protocol gives it; a package that is
    /// also unpacked (removed, then installed again) is the new version's
    /// replacement, not a removal.
    pub fn removals(&self) -> Vec<(String, Option<String>)> {
        let unpacked: std::collections::HashSet<&str> = self
            .steps
            .iter()
            .filter(|s| matches!(s.action, Action::Unpack(_)))
            .map(|s| s.package.as_str())
            .collect();
        let mut out: Vec<(String, Option<String>)> = Vec::new();
        for s in &self.steps {
            if s.action != Action::Remove || unpacked.contains(s.package.as_str()) {
                continue;
            }
            let arch = s.old.as_ref().and_then(|v| v.architecture.clone());
            if !out.iter().any(|(p, a)| *p == s.package && *a == arch) {
                out.push((s.package.clone(), arch));
            }
        }
        out
    }

    /// What the hook could not model, one line each (`**ERROR**` lines,
    /// unknown actions).
    pub fn not_modelled(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::Error => Some(format!(
                    "{}: apt gave no .deb path (**ERROR**): not part of the what-if",
                    s.package
                )),
                Action::Other(a) => {
                    Some(format!("{}: unknown action {a}: not modelled", s.package))
                }
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written as apt 2.6's `SendPkgsInfo` writes version 3 for `apt-get
    /// install ./soclash-test-bad.deb` with an upgrade, a removal and the
    /// configure steps (the configuration cut to a few items, as %-encoded).
    const V3: &str = "VERSION 3\n\
APT::Architecture=amd64\n\
APT::Build-Essential::=build-essential\n\
DPkg::Pre-Install-Pkgs::=/usr/bin/soclash%20apt-hook\n\
DPkg::Tools::Options::/usr/bin/soclash::Version=3\n\
Dir::Etc::SourceList=sources.list\n\
\n\
soclash-test-bad - - none < 1.0 amd64 none /tmp/x y/soclash-test-bad_1.0_amd64.deb\n\
libsqlite3-0 3.40.1-2 amd64 same < 3.40.1-2+deb12u2 amd64 same /var/cache/apt/archives/libsqlite3-0_3.40.1-2+deb12u2_amd64.deb\n\
php8.2-sqlite3 8.2.36-1~deb12u1 amd64 none > - - none **REMOVE**\n\
soclash-test-bad - - none < 1.0 amd64 none **CONFIGURE**\n\
libsqlite3-0 3.40.1-2 amd64 same < 3.40.1-2+deb12u2 amd64 same **CONFIGURE**\n";

    #[test]
    fn reads_version_3() {
        let t = read(V3.as_bytes()).unwrap();
        assert_eq!(t.version, 3);
        assert_eq!(t.config_items, 5);
        assert_eq!(t.steps.len(), 5);
        assert_eq!(
            t.steps[1],
            Step {
                package: "libsqlite3-0".into(),
                old: Some(Version {
                    version: "3.40.1-2".into(),
                    architecture: Some("amd64".into()),
                    multi_arch: Some("same".into()),
                }),
                direction: '<',
                new: Some(Version {
                    version: "3.40.1-2+deb12u2".into(),
                    architecture: Some("amd64".into()),
                    multi_arch: Some("same".into()),
                }),
                action: Action::Unpack(
                    "/var/cache/apt/archives/libsqlite3-0_3.40.1-2+deb12u2_amd64.deb".into()
                ),
            }
        );
        assert_eq!(
            t.debs(),
            vec![
                PathBuf::from("/tmp/x y/soclash-test-bad_1.0_amd64.deb"),
                PathBuf::from("/var/cache/apt/archives/libsqlite3-0_3.40.1-2+deb12u2_amd64.deb"),
            ]
        );
        assert_eq!(
            t.removals(),
            vec![("php8.2-sqlite3".to_string(), Some("amd64".to_string()))]
        );
        assert_eq!(t.steps[2].new, None);
        assert_eq!(t.steps[2].direction, '>');
        assert!(t.not_modelled().is_empty());
    }

    #[test]
    fn reads_version_2() {
        let t = read(
            "VERSION 2\nA::B=c\n\nhello 2.10-2 = 2.10-2 /var/cache/apt/archives/hello_2.10-2_amd64.deb\nold 1 > - **REMOVE**\nnew - < 1 **SOMETHING**\nx - < 1 **ERROR**\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(t.version, 2);
        assert_eq!(t.steps[0].old.as_ref().unwrap().architecture, None);
        assert_eq!(t.removals(), vec![("old".to_string(), None)]);
        assert_eq!(
            t.not_modelled(),
            vec![
                "new: unknown action **SOMETHING**: not modelled",
                "x: apt gave no .deb path (**ERROR**): not part of the what-if"
            ]
        );
    }

    /// Removed, then unpacked again: a replacement, not a removal.
    #[test]
    fn a_removal_that_is_reinstalled_is_a_replacement() {
        let t = read(
            "VERSION 3\n\np 1 amd64 none > - - none **REMOVE**\np 1 amd64 none = 1 amd64 none /p.deb\n"
                .as_bytes(),
        )
        .unwrap();
        assert!(t.removals().is_empty());
        assert_eq!(t.debs(), vec![PathBuf::from("/p.deb")]);
    }

    #[test]
    fn malformed_input_is_named() {
        let err = |s: &str| read(s.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            err("/var/cache/apt/archives/a.deb\n"),
            "apt sent no VERSION line (protocol version 1, .deb paths only, has no removals): set DPkg::Tools::Options::CMD::Version \"3\" for the hook's command CMD"
        );
        assert_eq!(err(""), "apt's input ended before the VERSION line");
        assert_eq!(
            err("VERSION 4\n"),
            "apt's input, line 1: a protocol version other than 2 or 3: \"VERSION 4\""
        );
        assert_eq!(
            err("VERSION 3\nA=b\n"),
            "apt's input ended before the blank line after the configuration"
        );
        assert_eq!(
            err("VERSION 3\nA=b\nno equals\n\n"),
            "apt's input, line 3: a configuration line without KEY=: \"no equals\""
        );
        assert_eq!(
            err("VERSION 3\n\np - - none < 1 amd64\n"),
            "apt's input, line 3: an action line with too few fields: \"p - - none < 1 amd64\""
        );
        assert_eq!(
            err("VERSION 3\n\np - - none ! 1 amd64 none /p.deb\n"),
            "apt's input, line 3: a direction other than <, > or =: \"p - - none ! 1 amd64 none /p.deb\""
        );
        assert_eq!(
            err("VERSION 3\n\np - - none < 1 amd64 none relative.deb\n"),
            "apt's input, line 3: an action that is no path nor **WORD**: \"p - - none < 1 amd64 none relative.deb\""
        );
        assert_eq!(
            err("VERSION 3\n\np 1 amd64 none > - - none /p.deb\n"),
            "apt's input, line 3: a .deb to unpack without its version: \"p 1 amd64 none > - - none /p.deb\""
        );
    }

    /// However much comes on stdin, at most the budget is read.
    #[test]
    fn input_is_bounded() {
        struct Endless;
        impl std::io::Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                buf.fill(b'x');
                Ok(buf.len())
            }
        }
        let e = read(std::io::BufReader::new(Endless)).unwrap_err();
        assert!(matches!(e, Error::Budget), "{e}");
        assert_eq!(e.to_string(), "budget exceeded: APT_HOOK_INPUT (64 MiB)");
        let mut big = String::from("VERSION 3\n");
        while big.len() <= APT_HOOK_INPUT as usize {
            big.push_str("Some::Long::Key=with a value that repeats\n");
        }
        assert!(matches!(read(big.as_bytes()), Err(Error::Budget)));
    }
}
