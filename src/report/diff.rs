//! Comparing two reports (drift over time, pre-upgrade checks) and the
//! per-server archive they are kept in.
//!
//! Findings are matched by a stable identity, never by position: id,
//! process, the objects' paths and the symbols, each sorted. Objects are
//! matched by path; one changed when its build-id, size or package (name
//! or version) did.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Finding, Object, Report, SCHEMA};
use crate::budget;
use crate::model::{FailOn, FindingId};
use crate::yaml_guard::{self, Refusal};

/// What changed between two reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub old: String,
    pub new: String,
    pub findings: FindingChanges,
    pub objects: ObjectChanges,
    /// The tool or signature set differs between the reports (findings may
    /// differ because of that, not the host).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FindingChanges {
    pub added: Vec<Finding>,
    pub resolved: Vec<Finding>,
    /// Same identity, other severity, certainty or title: (old, new).
    pub changed: Vec<(Finding, Finding)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ObjectChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Path and what changed (`build_id a -> b`, `size a -> b`).
    pub changed: Vec<(String, Vec<String>)>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.findings.added.is_empty()
            && self.findings.resolved.is_empty()
            && self.findings.changed.is_empty()
            && self.objects.added.is_empty()
            && self.objects.removed.is_empty()
            && self.objects.changed.is_empty()
    }

    /// Whether a finding `fail_on` counts was added, or a finding rose to
    /// be counted or to a higher severity.
    pub fn fails(&self, fail_on: FailOn) -> bool {
        let counts = |f: &Finding| fail_on.counts(f.severity, f.certainty);
        self.findings.added.iter().any(counts)
            || self
                .findings
                .changed
                .iter()
                .any(|(o, n)| counts(n) && (n.severity > o.severity || !counts(o)))
    }
}

/// A finding's identity across reports.
type Identity = (FindingId, Option<String>, Vec<String>, Vec<String>);

fn identity(f: &Finding) -> Identity {
    let k = super::FindingKey::of(f);
    (k.id, k.process, k.objects, k.symbols)
}

/// Compares two reports.
pub fn diff(old: &Report, new: &Report, names: (&str, &str)) -> Diff {
    let olds: BTreeMap<Identity, &Finding> =
        old.findings.iter().map(|f| (identity(f), f)).collect();
    let news: BTreeMap<Identity, &Finding> =
        new.findings.iter().map(|f| (identity(f), f)).collect();
    let mut out = Diff {
        old: names.0.to_string(),
        new: names.1.to_string(),
        ..Diff::default()
    };
    for (k, n) in &news {
        match olds.get(k) {
            None => out.findings.added.push((*n).clone()),
            Some(o)
                if o.severity != n.severity || o.certainty != n.certainty || o.title != n.title =>
            {
                out.findings.changed.push(((*o).clone(), (*n).clone()));
            }
            Some(_) => {}
        }
    }
    for (k, o) in &olds {
        if !news.contains_key(k) {
            out.findings.resolved.push((*o).clone());
        }
    }
    if old.tool != new.tool {
        let show = |t: &super::Tool| {
            format!(
                "{} {} ({})",
                t.name,
                t.version,
                t.signatures.as_deref().unwrap_or("signatures unknown")
            )
        };
        out.notes.push(format!(
            "made by {} and by {}",
            show(&old.tool),
            show(&new.tool)
        ));
    }
    // What runs now, when a report read it: a process that maps an old
    // file appears or goes with restart-needed; a report of the files
    // alone says nothing of processes.
    match (&old.live, &new.live) {
        (Some(_), None) => out
            .notes
            .push("the old report read the running server (--live), the new one did not".into()),
        (None, Some(_)) => out
            .notes
            .push("the new report read the running server (--live), the old one did not".into()),
        _ => {}
    }
    let restarts = |fs: &[Finding]| -> usize {
        fs.iter()
            .filter(|f| f.id == FindingId::RestartNeeded)
            .count()
    };
    let (appeared, gone) = (
        restarts(&out.findings.added),
        restarts(&out.findings.resolved),
    );
    if appeared > 0 {
        out.notes.push(format!(
            "restart-needed appeared for {appeared} file{}: a process maps what an upgrade replaced",
            if appeared == 1 { "" } else { "s" }
        ));
    }
    if gone > 0 {
        out.notes.push(format!(
            "restart-needed went away for {gone} file{}: the processes were restarted or have exited",
            if gone == 1 { "" } else { "s" }
        ));
    }
    let old_objects: BTreeMap<&str, &Object> =
        old.objects.iter().map(|o| (o.path.as_str(), o)).collect();
    let new_objects: BTreeMap<&str, &Object> =
        new.objects.iter().map(|o| (o.path.as_str(), o)).collect();
    for (path, n) in &new_objects {
        let Some(o) = old_objects.get(path) else {
            out.objects.added.push(path.to_string());
            continue;
        };
        let mut what = Vec::new();
        if o.build_id != n.build_id {
            what.push(format!(
                "build_id {} -> {}",
                o.build_id.as_deref().unwrap_or("none"),
                n.build_id.as_deref().unwrap_or("none")
            ));
        }
        if o.size != n.size {
            what.push(format!("size {} -> {}", o.size, n.size));
        }
        if o.package != n.package {
            let show = |p: &Option<crate::host::packages::Package>| {
                p.as_ref().map_or_else(
                    || "no package".to_string(),
                    |p| format!("{} {}", p.name, p.version),
                )
            };
            what.push(format!(
                "package {} -> {}",
                show(&o.package),
                show(&n.package)
            ));
        }
        if !what.is_empty() {
            out.objects.changed.push((path.to_string(), what));
        }
    }
    for path in old_objects.keys() {
        if !new_objects.contains_key(path) {
            out.objects.removed.push(path.to_string());
        }
    }
    out
}

/// Why a report could not be read back. Each message is whole, with the
/// path first, and is what `soclash diff` prints.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not a regular file within [`budget::REPORT_BYTES`] of UTF-8.
    #[error("{}: {error}", path.display())]
    File {
        path: PathBuf,
        error: yaml_guard::Error,
    },
    /// Refused by [`yaml_guard::check_report`] before parsing.
    #[error("{}: not a report: {refusal}", path.display())]
    Refused { path: PathBuf, refusal: Refusal },
    #[error("{}: not a report: {error}", path.display())]
    Yaml {
        path: PathBuf,
        error: serde_norway::Error,
    },
    /// Another schema (or none): refused rather than misread.
    #[error(
        "{}: {}",
        path.display(),
        found.map_or_else(
            || format!("no report schema (this soclash reads schema {SCHEMA})"),
            |s| format!("report schema {s} is not {SCHEMA}, which this soclash reads")
        )
    )]
    Schema { path: PathBuf, found: Option<u64> },
    /// Schema 1 in name, not in shape.
    #[error("{}: not a schema-{SCHEMA} report: {error}", path.display())]
    Shape {
        path: PathBuf,
        error: serde_norway::Error,
    },
}

/// Reads a report (YAML or JSON, which serde_norway reads as YAML),
/// refusing another schema rather than misreading it, and a file that is
/// not a regular one, is over [`budget::REPORT_BYTES`] or fails
/// [`yaml_guard::check_report`] before parsing it.
pub fn read_report(path: &Path) -> Result<Report, ReadError> {
    let path_buf = || path.to_path_buf();
    let text = yaml_guard::read_regular(path, budget::named!(REPORT_BYTES)).map_err(|error| {
        ReadError::File {
            path: path_buf(),
            error,
        }
    })?;
    yaml_guard::check_report(&text).map_err(|refusal| ReadError::Refused {
        path: path_buf(),
        refusal,
    })?;
    let value: serde_norway::Value =
        serde_norway::from_str(&text).map_err(|error| ReadError::Yaml {
            path: path_buf(),
            error,
        })?;
    let schema = value.get("schema").and_then(serde_norway::Value::as_u64);
    if schema != Some(u64::from(SCHEMA)) {
        return Err(ReadError::Schema {
            path: path_buf(),
            found: schema,
        });
    }
    serde_norway::from_value(value).map_err(|error| ReadError::Shape {
        path: path_buf(),
        error,
    })
}

/// Why a report could not be archived, or the archive read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Empty, `.`, `..` or with a `/`: not a directory name to file it
    /// under.
    #[error(
        "the report has no usable hostname (the root has no /etc/hostname, or not a name a directory can have): give one with --hostname NAME"
    )]
    Hostname,
    #[error("scanned_at {scanned_at:?} is not RFC 3339 UTC")]
    Stamp { scanned_at: String },
    #[error("{}: {error}", dir.display())]
    CreateDir { dir: PathBuf, error: io::Error },
    /// Most often, a report of the same host and second is there.
    #[error("{}: {error} (archived reports are never overwritten)", path.display())]
    Create { path: PathBuf, error: io::Error },
    #[error("{}: {error}", path.display())]
    Write { path: PathBuf, error: io::Error },
    #[error("{}: {error}", dir.display())]
    ReadDir { dir: PathBuf, error: io::Error },
    #[error("{}: fewer than two reports", dir.display())]
    FewerThanTwo { dir: PathBuf },
}

/// `<archive>/<host>/<UTC %Y%m%dT%H%M%SZ>.yaml` for a report.
pub fn archive_path(dir: &Path, report: &Report) -> Result<PathBuf, ArchiveError> {
    let host = report
        .host
        .hostname
        .as_deref()
        .filter(|h| !h.is_empty() && !h.contains('/') && *h != "." && *h != "..")
        .ok_or(ArchiveError::Hostname)?;
    // scanned_at is RFC 3339 in UTC, to the second: 2026-11-24T00:32:23Z.
    let stamp: String = report
        .host
        .scanned_at
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T' || *c == 'Z')
        .collect();
    if stamp.len() != 16 {
        return Err(ArchiveError::Stamp {
            scanned_at: report.host.scanned_at.clone(),
        });
    }
    Ok(dir.join(host).join(format!("{stamp}.yaml")))
}

/// Writes a report into the archive; an existing report is never
/// overwritten.
pub fn archive(dir: &Path, report: &Report) -> Result<PathBuf, ArchiveError> {
    let path = archive_path(dir, report)?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|error| ArchiveError::CreateDir {
            dir: parent.to_path_buf(),
            error,
        })?;
    }
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(error) => return Err(ArchiveError::Create { path, error }),
    };
    match report.write_yaml(&mut file).and_then(|()| file.flush()) {
        Ok(()) => Ok(path),
        Err(error) => Err(ArchiveError::Write { path, error }),
    }
}

/// The two newest reports of a host in the archive, oldest first.
pub fn newest_two(dir: &Path, host: &str) -> Result<(PathBuf, PathBuf), ArchiveError> {
    let hdir = dir.join(host);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&hdir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect(),
        Err(error) => return Err(ArchiveError::ReadDir { dir: hdir, error }),
    };
    files.sort();
    match files.as_slice() {
        [.., a, b] => Ok((a.clone(), b.clone())),
        _ => Err(ArchiveError::FewerThanTwo { dir: hdir }),
    }
}

/// The terminal view of a diff, `width` columns wide: each line wrapped
/// by [`crate::layout::wrap`], so no word (an id, a path) is split.
pub fn write_table(d: &Diff, out: &mut dyn Write, width: u16) -> io::Result<()> {
    let width = usize::from(width);
    let mut lines: Vec<String> = Vec::new();
    let mut say = |text: String, first: &str, rest: &str| {
        lines.extend(crate::layout::wrap(&text, width, first, rest));
    };
    say(format!("soclash diff {} -> {}", d.old, d.new), "", "  ");
    for n in &d.notes {
        say(format!("note: {n}"), "", "  ");
    }
    if d.is_empty() {
        say("No change.".into(), "", "");
    } else {
        for (what, list) in [
            ("added", &d.findings.added),
            ("resolved", &d.findings.resolved),
        ] {
            for f in list {
                say(
                    format!("{} {}: {}", f.severity, f.id, f.title),
                    &format!("{what:>9} finding  "),
                    "    ",
                );
            }
        }
        for (o, n) in &d.findings.changed {
            say(
                format!(
                    "{}: {} {} -> {} {}",
                    n.id,
                    o.severity,
                    super::certainty_word(o.certainty),
                    n.severity,
                    super::certainty_word(n.certainty)
                ),
                "  changed finding  ",
                "    ",
            );
        }
        for p in &d.objects.added {
            say(p.clone(), "    added object   ", "    ");
        }
        for p in &d.objects.removed {
            say(p.clone(), "  removed object   ", "    ");
        }
        for (p, what) in &d.objects.changed {
            say(
                format!("{p}: {}", what.join(", ")),
                "  changed object   ",
                "    ",
            );
        }
        let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        say(
            format!(
                "{} added, {} resolved, {} changed; {} added, {} removed, {} changed",
                count(d.findings.added.len(), "finding"),
                d.findings.resolved.len(),
                d.findings.changed.len(),
                count(d.objects.added.len(), "object"),
                d.objects.removed.len(),
                d.objects.changed.len()
            ),
            "",
            "  ",
        );
    }
    for l in lines {
        writeln!(out, "{l}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::packages::Package;
    use crate::model::Role;
    use crate::report::{Host, Summary, Tool};

    fn report(version: &str) -> Report {
        Report {
            schema: SCHEMA,
            tool: Tool::default(),
            host: Host::default(),
            processes: Vec::new(),
            objects: vec![Object {
                path: "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13".into(),
                role: Role::Library,
                soname: Some("libz.so.1".into()),
                needed: Vec::new(),
                resolved: Default::default(),
                loaded: Some(true),
                build_id: Some("ab".into()),
                size: 1,
                class: "elf64".into(),
                machine: "x86_64".into(),
                names: Vec::new(),
                processes: Vec::new(),
                package: Some(Package {
                    name: "zlib1g".into(),
                    version: version.into(),
                }),
            }],
            findings: Vec::new(),
            waived: Vec::new(),
            errors: Vec::new(),
            summary: Summary::default(),
            overlay: None,
            live: None,
        }
    }

    /// An upgrade that keeps the file's build-id and size still shows as
    /// a changed package version.
    #[test]
    fn package_version_change_is_an_object_change() {
        let d = diff(
            &report("1:1.2.13.dfsg-1"),
            &report("1:1.2.13.dfsg-1+deb12u1"),
            ("a", "b"),
        );
        assert_eq!(
            d.objects.changed,
            vec![(
                "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13".to_string(),
                vec![
                    "package zlib1g 1:1.2.13.dfsg-1 -> zlib1g 1:1.2.13.dfsg-1+deb12u1".to_string()
                ]
            )]
        );
        assert!(diff(&report("1"), &report("1"), ("a", "b")).is_empty());
    }

    /// A live report's restart-needed is said when it appears and when
    /// it goes; a live report read back keeps its section.
    #[test]
    fn restart_needed_appears_and_goes() {
        let files = report("1");
        let mut live = report("1");
        live.live = Some(crate::report::live::Live::default());
        live.findings.push(crate::rules::live::restart_needed(
            &crate::rules::live::Replaced {
                path: "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13".into(),
                processes: vec!["apache".into()],
                pids: vec![(7, "parent".into(), None)],
                deleted: true,
                now: None,
                package: None,
                command: "systemctl restart apache2".into(),
                clashes: Vec::new(),
            },
        ));
        let d = diff(&files, &live, ("a", "b"));
        assert_eq!(
            d.notes,
            [
                "the new report read the running server (--live), the old one did not",
                "restart-needed appeared for 1 file: a process maps what an upgrade replaced"
            ]
        );
        let d = diff(&live, &files, ("a", "b"));
        assert!(
            d.notes[1].starts_with("restart-needed went away for 1 file"),
            "{:?}",
            d.notes
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.yaml");
        let mut text = Vec::new();
        live.write_yaml(&mut text).unwrap();
        std::fs::write(&path, text).unwrap();
        assert_eq!(read_report(&path).unwrap().live, live.live);
    }

    /// A report of another schema is refused with a variant a caller can
    /// tell from an unreadable file, and the message `soclash diff` prints.
    #[test]
    fn another_schema_is_a_schema_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.yaml");
        std::fs::write(&path, "schema: 2\nfindings: []\n").unwrap();
        let e = read_report(&path).unwrap_err();
        assert!(
            matches!(&e, ReadError::Schema { path: p, found: Some(2) } if *p == path),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "{}: report schema 2 is not 1, which this soclash reads",
                path.display()
            )
        );
        std::fs::write(&path, "findings: []\n").unwrap();
        assert!(matches!(
            read_report(&path),
            Err(ReadError::Schema { found: None, .. })
        ));
        let e = read_report(&dir.path().join("none.yaml")).unwrap_err();
        assert!(
            matches!(
                &e,
                ReadError::File {
                    error: yaml_guard::Error::Open(_),
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
