//! Waivers: findings a sysadmin has reviewed and accepts for a while, so a
//! timer running `soclash scan` stays quiet about them without hiding
//! them. A waived finding moves from the report's `findings` to its
//! `waived` list, with the waiver's reason and expiry, and no longer
//! counts for the exit code; `diff` and `fleet` then see it as gone from
//! `findings`, as the sysadmin decided.
//!
//! The file is a YAML list (`--waivers FILE`, by default
//! `/etc/soclash/waivers.yaml` when it exists):
//!
//! ```yaml
//! - id: libedit-vs-libreadline        # the finding's id
//!   reason: no application imports readline (reviewed 2026-12-01)
//!   expires: 2027-06-30               # applies up to and including this UTC day
//!   host: "web-*"                     # optional: a glob on the report's hostname
//!   objects:                          # optional: each glob must match one of its objects
//!     - /usr/lib/python3*/lib-dynload/readline.*.so
//! ```
//!
//! Globs are fnmatch(3)'s, as Apache's `Include` reads them: `*`, `?` and
//! `[…]` within one path component (a `/` is matched only by a `/`), and a
//! leading `.` only by a pattern that starts with one. An expired waiver
//! does not apply and a waiver that matches no finding is reported, so a
//! waivers file does not silently outlive what it was written for.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Finding, Report};
use crate::model::FindingId;
use crate::root::glob::fnmatch;
use crate::{budget, yaml_guard};

/// Where `scan` looks for waivers when `--waivers` is not given.
pub const DEFAULT_FILE: &str = "/etc/soclash/waivers.yaml";

/// A finding of the report's `waived` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Waived {
    pub finding: Finding,
    /// The waiver's reason, as written.
    pub reason: String,
    /// The waiver's last day (YYYY-MM-DD, UTC).
    pub expires: String,
    /// Which waiver: `FILE entry N` (1-based).
    pub waiver: String,
}

/// The waivers of one file, checked.
#[derive(Debug, Clone, Default)]
pub struct Waivers {
    file: PathBuf,
    list: Vec<Waiver>,
}

#[derive(Debug, Clone)]
struct Waiver {
    id: FindingId,
    reason: String,
    expires: String,
    /// The first second after the expiry day, since the epoch.
    ends: u64,
    host: Option<String>,
    objects: Vec<String>,
}

/// One entry as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    reason: String,
    expires: String,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    objects: Vec<String>,
}

/// Why a waivers file cannot be used. The scan does not start: a timer
/// must not run an audit with the sysadmin's decisions silently dropped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{file}: {error}")]
    File {
        file: String,
        error: yaml_guard::Error,
    },
    #[error("{file}: {refusal}")]
    Refused {
        file: String,
        refusal: yaml_guard::Refusal,
    },
    #[error("{file}: not a list of waivers ({{id, reason, expires, host, objects}}): {error}")]
    Shape {
        file: String,
        error: serde_norway::Error,
    },
    #[error("{file} entry {index}: {message}")]
    Entry {
        file: String,
        index: usize,
        message: String,
    },
}

/// What applying the waivers left to say: each line names a waiver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Waivers past their expiry day (not applied).
    pub expired: Vec<String>,
    /// Waivers in force that matched no finding.
    pub unmatched: Vec<String>,
}

/// Reads and checks a waivers file (bounded as a signature file is).
pub fn read(path: &Path) -> Result<Waivers, Error> {
    let file = path.display().to_string();
    let text =
        yaml_guard::read_regular(path, budget::named!(SIGNATURE_BYTES)).map_err(|error| {
            Error::File {
                file: file.clone(),
                error,
            }
        })?;
    parse(path, &text)
}

/// Checks the text of a waivers file named `path`.
pub fn parse(path: &Path, text: &str) -> Result<Waivers, Error> {
    let file = path.display().to_string();
    yaml_guard::check(text).map_err(|refusal| Error::Refused {
        file: file.clone(),
        refusal,
    })?;
    // An empty file (or one of comments) waives nothing.
    let entries: Vec<Entry> = if text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#')
    }) {
        Vec::new()
    } else {
        serde_norway::from_str(text).map_err(|error| Error::Shape {
            file: file.clone(),
            error,
        })?
    };
    let mut list = Vec::with_capacity(entries.len());
    for (i, e) in entries.into_iter().enumerate() {
        let bad = |message: String| Error::Entry {
            file: file.clone(),
            index: i + 1,
            message,
        };
        if e.id.trim().is_empty() {
            return Err(bad("empty id".into()));
        }
        if e.reason.trim().is_empty() {
            return Err(bad(
                "empty reason: say why the finding is accepted, for whoever reads the report next"
                    .into(),
            ));
        }
        let ends = day_end(&e.expires)
            .ok_or_else(|| bad(format!("expires `{}` is not a date YYYY-MM-DD", e.expires)))?;
        if let Some(o) = e.objects.iter().find(|o| !o.starts_with('/')) {
            return Err(bad(format!(
                "object `{o}` is not an absolute path (as the report names objects)"
            )));
        }
        list.push(Waiver {
            id: FindingId::builtin(&e.id).unwrap_or(FindingId::Signature(e.id)),
            reason: e.reason,
            expires: e.expires,
            ends,
            host: e.host,
            objects: e.objects,
        });
    }
    Ok(Waivers {
        file: path.to_path_buf(),
        list,
    })
}

impl Waivers {
    /// Moves every finding of `report` that a waiver in force at `now`
    /// (seconds since the epoch) matches to `report.waived`; the first
    /// matching waiver of the file names it.
    pub fn apply(&self, report: &mut Report, now: u64) -> Applied {
        let mut applied = Applied::default();
        let mut used = vec![false; self.list.len()];
        let hostname = report.host.hostname.clone();
        let findings = std::mem::take(&mut report.findings);
        for f in findings {
            let hit = self
                .list
                .iter()
                .enumerate()
                .find(|(_, w)| now < w.ends && w.matches(&f, hostname.as_deref()));
            match hit {
                Some((i, w)) => {
                    used[i] = true;
                    report.waived.push(Waived {
                        finding: f,
                        reason: w.reason.clone(),
                        expires: w.expires.clone(),
                        waiver: self.name(i),
                    });
                }
                None => report.findings.push(f),
            }
        }
        for (i, w) in self.list.iter().enumerate() {
            if now >= w.ends {
                applied.expired.push(format!(
                    "{} ({}) expired on {}: not applied",
                    self.name(i),
                    w.id,
                    w.expires
                ));
            } else if !used[i] {
                applied
                    .unmatched
                    .push(format!("{} ({}) matches no finding", self.name(i), w.id));
            }
        }
        report.finish();
        applied
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn name(&self, i: usize) -> String {
        format!("{} entry {}", self.file.display(), i + 1)
    }
}

impl Waiver {
    fn matches(&self, f: &Finding, hostname: Option<&str>) -> bool {
        f.id == self.id
            && self
                .host
                .as_deref()
                .is_none_or(|h| hostname.is_some_and(|name| fnmatch(h.as_bytes(), name.as_bytes())))
            && self
                .objects
                .iter()
                .all(|pattern| f.objects.iter().any(|o| path_match(pattern, o)))
    }
}

/// fnmatch(3) with FNM_PATHNAME: component by component.
fn path_match(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let n: Vec<&str> = path.split('/').collect();
    p.len() == n.len()
        && p.iter()
            .zip(&n)
            .all(|(p, n)| fnmatch(p.as_bytes(), n.as_bytes()))
}

/// The first second after the UTC day `date` (YYYY-MM-DD), since the
/// epoch: a waiver applies up to and including its expiry day.
fn day_end(date: &str) -> Option<u64> {
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let start = humantime::parse_rfc3339(&format!("{date}T00:00:00Z")).ok()?;
    let secs = start.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(secs + 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Certainty, Severity};

    fn finding(id: &str, objects: &[&str]) -> Finding {
        Finding {
            id: FindingId::builtin(id).unwrap_or(FindingId::Signature(id.into())),
            severity: Severity::High,
            certainty: Certainty::Certain,
            title: format!("{id} title"),
            process: Some("apache".into()),
            objects: objects.iter().map(|s| s.to_string()).collect(),
            symbols: Vec::new(),
            bindings: Vec::new(),
            evidence: Vec::new(),
            remedy: String::new(),
            references: Vec::new(),
            symptoms: Vec::new(),
            status: None,
            processes: Vec::new(),
        }
    }

    fn report(hostname: &str, findings: Vec<Finding>) -> Report {
        let mut r: Report = serde_norway::from_str(&format!(
            "schema: 1\ntool: {{name: soclash, version: '0'}}\nhost: {{hostname: {hostname}, root: /, os_release: {{}}, glibc: null, ld_cache: new, cpu_level: 1, scanned_at: ''}}\nprocesses: []\nobjects: []\nfindings: []\nerrors: []\nsummary: {{objects: 0, by_role: {{}}, findings: {{}}, errors: 0}}\n"
        ))
        .expect("test report");
        r.findings = findings;
        r
    }

    const NOW: u64 = 1_796_000_000; // 2026-11-30T00:53:20Z

    const READLINE: &str =
        "/usr/lib/python3.11/lib-dynload/readline.cpython-311-x86_64-linux-gnu.so";

    fn waivers(text: &str) -> Waivers {
        parse(Path::new("w.yaml"), text).expect("valid waivers")
    }

    /// A waiver matches by id, host glob and object globs (each glob one
    /// of the finding's objects, `*` never across a `/`); the first
    /// matching waiver names the waived finding, and the summary no longer
    /// counts it.
    #[test]
    fn waivers_match_by_id_host_and_objects() {
        let w = waivers(
            "- id: libedit-vs-libreadline\n  reason: nobody imports readline\n  expires: 2027-06-30\n  host: 'web-*'\n  objects: ['/usr/lib/python3*/lib-dynload/readline.*.so']\n- id: symbol-interposition\n  reason: other\n  expires: 2027-06-30\n  objects: ['/usr/*.so']\n",
        );
        let mut r = report(
            "web-01",
            vec![
                finding(
                    "libedit-vs-libreadline",
                    &[READLINE, "/usr/lib/libedit.so.2"],
                ),
                finding("symbol-interposition", &["/usr/lib/x/libfoo.so"]),
            ],
        );
        r.finish();
        let applied = w.apply(&mut r, NOW);
        assert_eq!(r.waived.len(), 1);
        assert_eq!(r.waived[0].finding.id.as_str(), "libedit-vs-libreadline");
        assert_eq!(r.waived[0].reason, "nobody imports readline");
        assert_eq!(r.waived[0].waiver, "w.yaml entry 1");
        assert_eq!(r.findings.len(), 1, "`*` does not cross a `/`");
        assert_eq!(r.summary.findings.get(&Severity::High), Some(&1));
        assert_eq!(r.summary.waived, 1);
        assert_eq!(
            applied.unmatched,
            ["w.yaml entry 2 (symbol-interposition) matches no finding"]
        );
        assert!(applied.expired.is_empty());

        // Another host, or a report without a hostname: the host glob
        // does not match.
        for host in ["db-01", "null"] {
            let mut r = report(host, vec![finding("libedit-vs-libreadline", &[READLINE])]);
            w.apply(&mut r, NOW);
            assert!(r.waived.is_empty(), "{host}");
        }
        // Every object glob must match.
        let mut r = report(
            "web-01",
            vec![finding("libedit-vs-libreadline", &["/opt/x.so"])],
        );
        w.apply(&mut r, NOW);
        assert!(r.waived.is_empty());
    }

    /// A waiver applies through its expiry day (UTC) and not after; an
    /// expired one is named.
    #[test]
    fn expired_waivers_do_not_apply() {
        let w = waivers("- {id: md5, reason: r, expires: 2026-12-01}\n");
        let day = 1_796_083_200; // 2026-12-01T00:00:00Z
        for (now, waived) in [(day, true), (day + 86_399, true), (day + 86_400, false)] {
            let mut r = report("h", vec![finding("md5", &["/a.so"])]);
            let applied = w.apply(&mut r, now);
            assert_eq!(r.waived.len() == 1, waived, "{now}");
            assert_eq!(applied.expired.len() == 1, !waived, "{now}");
            assert!(applied.unmatched.is_empty());
        }
        let mut r = report("h", vec![finding("md5", &["/a.so"])]);
        let applied = w.apply(&mut r, day + 86_400);
        assert_eq!(
            applied.expired,
            ["w.yaml entry 1 (md5) expired on 2026-12-01: not applied"]
        );
    }

    /// A file with a mistake is refused whole, naming the entry: an
    /// unknown key (a typo would otherwise waive too much), a missing
    /// reason or expiry, a date that is no date, a relative object path.
    #[test]
    fn bad_waivers_are_refused_with_where() {
        let deep = format!("{}{}\n", "[".repeat(100), "]".repeat(100));
        for (text, says) in [
            (
                "- {id: md5, reason: r, expires: 2027-01-01, hosts: x}\n",
                "unknown field `hosts`",
            ),
            (
                "- {id: md5, expires: 2027-01-01}\n",
                "missing field `reason`",
            ),
            ("- {id: md5, reason: r}\n", "missing field `expires`"),
            (
                "- {id: md5, reason: ' ', expires: 2027-01-01}\n",
                "entry 1: empty reason",
            ),
            (
                "- {id: md5, reason: r, expires: 2027-13-01}\n",
                "entry 1: expires `2027-13-01`",
            ),
            (
                "- {id: md5, reason: r, expires: next year}\n",
                "is not a date",
            ),
            (
                "- {id: md5, reason: r, expires: 2027-01-01, objects: [lib.so]}\n",
                "not an absolute path",
            ),
            ("id: md5\n", "not a list of waivers"),
            (&deep, "YAML_DEPTH"),
        ] {
            let e = parse(Path::new("w.yaml"), text)
                .expect_err(text)
                .to_string();
            assert!(e.starts_with("w.yaml"), "{e}");
            assert!(e.contains(says), "{text}: {e}");
        }
        assert!(waivers("# nothing waived yet\n").is_empty());
        assert!(waivers("").is_empty());
        assert!(waivers("[]\n").is_empty());
    }
}
