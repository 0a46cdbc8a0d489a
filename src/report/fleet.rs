//! The fleet view of a per-server archive (`DIR/<host>/<UTC stamp>.yaml`,
//! written by `scan --archive` or brought home by the Ansible role): the
//! newest report of every host, which findings affect how many hosts, the
//! hosts by their worst severity, hosts whose newest report is stale, and
//! what drifted since each host's previous report (by [`super::diff`]).
//!
//! Hosts are read in parallel (by at most [`budget::FLEET_READERS`]
//! threads) and each is reduced to a small summary at once, so memory
//! grows with the number of hosts and findings, never with the reports'
//! size. Two reports of a host that differ only in
//! `scanned_at` are not parsed twice: drift is then empty by definition.
//! A report of another schema is refused with its path and why, never
//! misread; reports of another tool version are read, and the view says
//! which tool versions and signature sets it mixes.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{ErrorEntry, Finding, Host, Object, OverlayOutcome, Report, SCHEMA, Tool};
use crate::budget;
use crate::layout;
use crate::model::{FailOn, Severity};
use crate::yaml_guard::{self, Refusal};

/// What `soclash fleet` reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Fleet {
    pub archive: String,
    /// Reports newer than this stamp were left out (`--at`).
    pub at: Option<String>,
    /// Hosts with a readable newest report.
    pub hosts: usize,
    /// Findings by id: how many hosts, which.
    pub findings: Vec<FleetFinding>,
    /// Host names by the worst severity of their newest report (`none`
    /// for hosts without findings).
    pub by_severity: BTreeMap<String, Vec<String>>,
    /// Hosts whose newest report is older than `--stale` days.
    pub stale: Vec<Stale>,
    /// Hosts whose newest report differs from their previous one.
    pub drift: Vec<Drift>,
    /// Hosts whose newest report read the running server (`scan --live`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub live: Vec<String>,
    /// Of those, the hosts where a process maps a file replaced since it
    /// started (`restart-needed`): the upgrades not yet in effect.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub restart_needed: Vec<String>,
    /// Tool and signature set of the newest reports, with how many hosts.
    pub tools: BTreeMap<String, usize>,
    /// Reports that could not be read (another schema, not a report).
    pub unreadable: Vec<ErrorEntry>,
    /// Hosts whose newest report has a finding `--fail-on` counts (the
    /// exit code's, not part of the view).
    #[serde(skip)]
    pub failing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetFinding {
    pub id: String,
    /// The worst severity it has on any host.
    pub severity: Severity,
    pub title: String,
    pub count: usize,
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stale {
    pub host: String,
    pub newest: String,
    pub age_days: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub host: String,
    pub old: String,
    pub new: String,
    pub findings_added: Vec<String>,
    pub findings_resolved: Vec<String>,
    pub findings_changed: usize,
    pub objects_added: usize,
    pub objects_removed: usize,
    pub objects_changed: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Settings of one fleet view.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Only reports stamped at or before this (`%Y%m%dT%H%M%SZ`).
    pub at: Option<String>,
    pub stale_days: u64,
    /// Now, as seconds since the epoch (the caller's clock).
    pub now: u64,
    /// Which findings make a host fail.
    pub fail_on: FailOn,
}

/// A report without its processes: what the fleet view and diff need.
#[derive(Deserialize)]
struct Light {
    tool: Tool,
    host: Host,
    objects: Vec<Object>,
    findings: Vec<Finding>,
    #[serde(default)]
    errors: Vec<ErrorEntry>,
    #[serde(default)]
    overlay: Option<OverlayOutcome>,
    #[serde(default)]
    live: Option<super::live::Live>,
}

/// One host's contribution, computed where it is read.
struct HostView {
    host: String,
    newest: String,
    tool: String,
    findings: Vec<(String, Severity, String)>,
    worst: Option<Severity>,
    /// Its newest report has a finding `--fail-on` counts.
    fails: bool,
    drift: Option<Drift>,
    unreadable: Vec<ErrorEntry>,
    /// Its newest report read the running server; a process there needs a
    /// restart.
    live: bool,
    restart_needed: bool,
}

/// Why one report of the archive is unreadable (listed in the view's
/// `unreadable` by this message, which is whole), or why `--at` is no
/// date.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not a regular file within [`budget::REPORT_BYTES`] of UTF-8.
    #[error("{0}")]
    File(yaml_guard::Error),
    /// Another schema, refused from its `schema:` line before parsing.
    #[error("report schema {found} is not {SCHEMA}, which this soclash reads")]
    Schema { found: String },
    #[error("not a soclash report (no top-level schema)")]
    NoSchema,
    /// Refused by [`yaml_guard::check_report`] before parsing.
    #[error("not a schema-{SCHEMA} report: {0}")]
    Refused(Refusal),
    #[error("not a schema-{SCHEMA} report: {0}")]
    Shape(serde_norway::Error),
    #[error("--at {at}: not YYYY-MM-DD or RFC 3339 ({error})")]
    At {
        at: String,
        error: humantime::TimestampError,
    },
}

/// Builds the fleet view of `archive`.
pub fn fleet(archive: &Path, opts: &FleetOptions) -> io::Result<Fleet> {
    let mut hosts: Vec<PathBuf> = std::fs::read_dir(archive)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    hosts.sort();
    let read = || -> Vec<HostView> {
        hosts
            .par_iter()
            .filter_map(|dir| host_view(dir, opts))
            .collect()
    };
    // Each reader may hold one report's parser events at once (up to
    // YAML_NODES of them), so their number, not the machine's cores,
    // bounds the memory an archive of hostile reports can take.
    let readers = rayon::current_num_threads().min(budget::FLEET_READERS);
    let views = match rayon::ThreadPoolBuilder::new().num_threads(readers).build() {
        Ok(pool) => pool.install(read),
        Err(_) => hosts
            .iter()
            .filter_map(|dir| host_view(dir, opts))
            .collect(),
    };
    let mut out = Fleet {
        archive: archive.display().to_string(),
        at: opts.at.clone(),
        ..Fleet::default()
    };
    let mut by_id: BTreeMap<String, FleetFinding> = BTreeMap::new();
    // Ages count to the moment the view is of: `--at`'s, else now.
    let then = opts.at.as_deref().and_then(stamp_secs).unwrap_or(opts.now);
    for v in views {
        out.unreadable.extend(v.unreadable);
        if v.newest.is_empty() {
            continue;
        }
        out.hosts += 1;
        if v.fails {
            out.failing.push(v.host.clone());
        }
        *out.tools.entry(v.tool).or_default() += 1;
        let worst = v
            .worst
            .map_or_else(|| "none".to_string(), |s| s.to_string());
        out.by_severity
            .entry(worst)
            .or_default()
            .push(v.host.clone());
        if let Some(age) = age_days(&v.newest, then) {
            if age > opts.stale_days {
                out.stale.push(Stale {
                    host: v.host.clone(),
                    newest: v.newest.clone(),
                    age_days: age,
                });
            }
        }
        out.drift.extend(v.drift);
        if v.live {
            out.live.push(v.host.clone());
        }
        if v.restart_needed {
            out.restart_needed.push(v.host.clone());
        }
        // Per host, each id once, at its worst.
        let mut seen: BTreeMap<&String, (Severity, &String)> = BTreeMap::new();
        for (id, severity, title) in &v.findings {
            let e = seen.entry(id).or_insert((*severity, title));
            if *severity > e.0 {
                *e = (*severity, title);
            }
        }
        for (id, (severity, title)) in seen {
            let e = by_id.entry(id.clone()).or_insert_with(|| FleetFinding {
                id: id.clone(),
                severity,
                title: title.clone(),
                count: 0,
                hosts: Vec::new(),
            });
            e.severity = e.severity.max(severity);
            e.count += 1;
            e.hosts.push(v.host.clone());
        }
    }
    out.findings = by_id.into_values().collect();
    out.findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.count.cmp(&a.count))
            .then(a.id.cmp(&b.id))
    });
    out.unreadable.sort();
    Ok(out)
}

impl Fleet {
    /// Whether a host's newest report has a finding `--fail-on` counts.
    pub fn fails(&self) -> bool {
        !self.failing.is_empty()
    }
}

/// Stamps of a host's reports, oldest first, up to `at`.
fn stamps(dir: &Path, at: Option<&str>) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stamp = name.strip_suffix(".yaml")?.to_string();
            is_stamp(&stamp).then(|| (stamp, e.path()))
        })
        .filter(|(s, _)| at.is_none_or(|at| s.as_str() <= at))
        .collect();
    out.sort();
    out
}

/// `%Y%m%dT%H%M%SZ`.
pub fn is_stamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)
}

fn host_view(dir: &Path, opts: &FleetOptions) -> Option<HostView> {
    let host = dir.file_name()?.to_string_lossy().into_owned();
    let stamps = stamps(dir, opts.at.as_deref());
    let (newest_stamp, newest_path) = stamps.last()?.clone();
    let mut view = HostView {
        host: host.clone(),
        newest: String::new(),
        tool: String::new(),
        findings: Vec::new(),
        worst: None,
        live: false,
        restart_needed: false,
        fails: false,
        drift: None,
        unreadable: Vec::new(),
    };
    let text = match read_text(&newest_path) {
        Ok(t) => t,
        Err(e) => {
            view.unreadable.push(unreadable(&newest_path, &e));
            return Some(view);
        }
    };
    let newest = match parse(&text) {
        Ok(r) => r,
        Err(e) => {
            view.unreadable.push(unreadable(&newest_path, &e));
            return Some(view);
        }
    };
    view.newest = newest_stamp;
    view.tool = format!(
        "{} {} ({})",
        newest.tool.name,
        newest.tool.version,
        newest
            .tool
            .signatures
            .as_deref()
            .unwrap_or("signatures unknown")
    );
    view.findings = newest
        .findings
        .iter()
        .map(|f| (f.id.to_string(), f.severity, f.title.clone()))
        .collect();
    view.worst = newest.findings.iter().map(|f| f.severity).max();
    view.live = newest.live.is_some();
    view.restart_needed = newest
        .findings
        .iter()
        .any(|f| f.id == crate::model::FindingId::RestartNeeded);
    view.fails = newest
        .findings
        .iter()
        .any(|f| opts.fail_on.counts(f.severity, f.certainty));
    if let Some((_, prev_path)) = stamps.len().checked_sub(2).and_then(|i| stamps.get(i)) {
        match read_text(prev_path) {
            // Identical but for the time of the scan: nothing drifted.
            Ok(prev) if without_time(&prev).eq(without_time(&text)) => {}
            Ok(prev) => match parse(&prev) {
                Ok(old) => {
                    let d = super::diff::diff(
                        &old,
                        &newest,
                        (
                            &prev_path.display().to_string(),
                            &newest_path.display().to_string(),
                        ),
                    );
                    if !d.is_empty() || !d.notes.is_empty() {
                        let ids = |l: &[Finding]| l.iter().map(|f| f.id.to_string()).collect();
                        view.drift = Some(Drift {
                            host,
                            old: stamp_of(prev_path),
                            new: view.newest.clone(),
                            findings_added: ids(&d.findings.added),
                            findings_resolved: ids(&d.findings.resolved),
                            findings_changed: d.findings.changed.len(),
                            objects_added: d.objects.added.len(),
                            objects_removed: d.objects.removed.len(),
                            objects_changed: d.objects.changed.len(),
                            notes: d.notes,
                        });
                    }
                }
                Err(e) => view.unreadable.push(unreadable(prev_path, &e)),
            },
            Err(e) => view.unreadable.push(unreadable(prev_path, &e)),
        }
    }
    Some(view)
}

fn stamp_of(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn unreadable(path: &Path, reason: &Error) -> ErrorEntry {
    ErrorEntry {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

fn read_text(path: &Path) -> Result<String, Error> {
    yaml_guard::read_regular(path, budget::named!(REPORT_BYTES)).map_err(Error::File)
}

/// The report text without its `scanned_at` line.
fn without_time(text: &str) -> impl Iterator<Item = &str> + '_ {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("scanned_at:"))
}

/// A report of schema 1, read without its processes; another schema (its
/// top-level `schema:` line) is refused before anything else is read.
fn parse(text: &str) -> Result<Report, Error> {
    let schema = text
        .lines()
        .find_map(|l| l.strip_prefix("schema:"))
        .map(str::trim);
    match schema {
        Some(s) if s == SCHEMA.to_string() => {}
        Some(s) => return Err(Error::Schema { found: s.into() }),
        None => return Err(Error::NoSchema),
    }
    yaml_guard::check_report(text).map_err(Error::Refused)?;
    let l: Light = serde_norway::from_str(text).map_err(Error::Shape)?;
    Ok(Report {
        schema: SCHEMA,
        tool: l.tool,
        host: l.host,
        processes: Vec::new(),
        objects: l.objects,
        findings: l.findings,
        waived: Vec::new(),
        errors: l.errors,
        summary: Default::default(),
        overlay: l.overlay,
        live: l.live,
    })
}

/// Whole days from a stamp to `now`.
fn age_days(stamp: &str, now: u64) -> Option<u64> {
    Some(now.saturating_sub(stamp_secs(stamp)?) / 86_400)
}

/// A stamp (`%Y%m%dT%H%M%SZ`) as seconds since the epoch.
fn stamp_secs(stamp: &str) -> Option<u64> {
    if !is_stamp(stamp) {
        return None;
    }
    let rfc = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &stamp[..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        &stamp[13..15]
    );
    let t = humantime::parse_rfc3339(&rfc).ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs())
}

/// `--at DATE`: a stamp, `YYYY-MM-DD` (the end of that day, UTC) or RFC
/// 3339, as the stamp it allows up to.
pub fn parse_at(at: &str) -> Result<String, Error> {
    if is_stamp(at) {
        return Ok(at.to_string());
    }
    let rfc = if at.len() == 10 {
        format!("{at}T23:59:59Z")
    } else {
        at.to_string()
    };
    let t = humantime::parse_rfc3339_weak(&rfc).map_err(|error| Error::At {
        at: at.into(),
        error,
    })?;
    Ok(humantime::format_rfc3339_seconds(t)
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T' || *c == 'Z')
        .collect())
}

/// The terminal view, `width` columns wide: its tables drawn by
/// [`layout::Grid`] and its lines wrapped by [`layout::wrap`], so no word
/// (a finding id, a host name) is split at any width.
pub fn write_table(f: &Fleet, out: &mut dyn Write, width: u16) -> io::Result<()> {
    let cols = usize::from(width);
    let line = |out: &mut dyn Write, text: &str, first: &str, rest: &str| -> io::Result<()> {
        for l in layout::wrap(text, cols, first, rest) {
            writeln!(out, "{l}")?;
        }
        Ok(())
    };
    let grid = |headers: &[&str]| {
        layout::Grid::new(headers.iter().map(|h| layout::Column::new(h)).collect())
    };
    let names = |hosts: &[String]| {
        let shown: Vec<&str> = hosts.iter().take(8).map(String::as_str).collect();
        let more = hosts.len().saturating_sub(8);
        if more > 0 {
            format!("{} … and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        }
    };
    line(
        out,
        &format!(
            "fleet {} · {} host{}{}",
            f.archive,
            f.hosts,
            if f.hosts == 1 { "" } else { "s" },
            f.at.as_deref()
                .map(|a| format!(" · as of {a}"))
                .unwrap_or_default()
        ),
        "",
        "  ",
    )?;
    for (tool, n) in &f.tools {
        line(
            out,
            &format!(
                "{n} newest report{} by {tool}",
                if *n == 1 { "" } else { "s" }
            ),
            "  ",
            "    ",
        )?;
    }
    writeln!(out)?;
    if f.hosts == 0 {
        writeln!(out, "No readable report: nothing to judge.")?;
    } else if f.findings.is_empty() {
        writeln!(out, "No findings on any host.")?;
    } else {
        let mut t = grid(&["severity", "finding", "hosts", "which"]);
        for x in &f.findings {
            t.add_row([
                x.severity.to_string(),
                format!("{}\n{}", x.id, x.title),
                x.count.to_string(),
                names(&x.hosts),
            ]);
        }
        writeln!(out, "{}", t.render(width, false))?;
    }
    writeln!(out)?;
    let mut t = grid(&["worst severity", "hosts", "which"]);
    for sev in ["critical", "high", "medium", "low", "info", "none"] {
        if let Some(h) = f.by_severity.get(sev) {
            t.add_row([sev.to_string(), h.len().to_string(), names(h)]);
        }
    }
    writeln!(out, "{}\n", t.render(width, false))?;
    if !f.live.is_empty() {
        line(
            out,
            &format!(
                "{} host{} read live (scan --live); restart needed on {}{}",
                f.live.len(),
                if f.live.len() == 1 { "" } else { "s" },
                f.restart_needed.len(),
                if f.restart_needed.is_empty() {
                    String::new()
                } else {
                    format!(": {}", names(&f.restart_needed))
                }
            ),
            "",
            "  ",
        )?;
        writeln!(out)?;
    }
    if f.drift.is_empty() {
        writeln!(out, "No drift since each host's previous report.")?;
    } else {
        let mut t = grid(&["host", "since", "findings", "objects"]);
        for d in &f.drift {
            let mut findings = Vec::new();
            if !d.findings_added.is_empty() {
                findings.push(format!("+ {}", d.findings_added.join(", ")));
            }
            if !d.findings_resolved.is_empty() {
                findings.push(format!("- {}", d.findings_resolved.join(", ")));
            }
            if d.findings_changed > 0 {
                findings.push(format!("{} changed", d.findings_changed));
            }
            findings.extend(d.notes.iter().map(|n| format!("note: {n}")));
            t.add_row([
                d.host.clone(),
                d.old.clone(),
                findings.join("\n"),
                format!(
                    "+{} -{} ~{}",
                    d.objects_added, d.objects_removed, d.objects_changed
                ),
            ]);
        }
        line(out, "Drift since each host's previous report:", "", "  ")?;
        writeln!(out, "{}", t.render(width, false))?;
    }
    if !f.stale.is_empty() {
        writeln!(out)?;
        line(
            out,
            &format!(
                "Stale ({} host{}):",
                f.stale.len(),
                if f.stale.len() == 1 { "" } else { "s" }
            ),
            "",
            "  ",
        )?;
        for s in &f.stale {
            line(
                out,
                &format!(
                    "{}: newest report {} ({} day{} old)",
                    s.host,
                    s.newest,
                    s.age_days,
                    if s.age_days == 1 { "" } else { "s" }
                ),
                "  ",
                "    ",
            )?;
        }
    }
    if !f.unreadable.is_empty() {
        writeln!(out, "\nUnreadable ({}):", f.unreadable.len())?;
        for e in &f.unreadable {
            line(out, &format!("{}: {}", e.path, e.reason), "  ", "    ")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_become_stamps() {
        assert_eq!(parse_at("2026-11-15").unwrap(), "20261115T235959Z");
        assert_eq!(
            parse_at("2026-11-15T08:30:00Z").unwrap(),
            "20261115T083000Z"
        );
        assert_eq!(parse_at("20261115T083000Z").unwrap(), "20261115T083000Z");
        assert_eq!(
            parse_at("last tuesday").unwrap_err().to_string(),
            "--at last tuesday: not YYYY-MM-DD or RFC 3339 (timestamp format is invalid)"
        );
        assert!(!is_stamp("20261115T0830Z"));
    }

    #[test]
    fn ages_are_whole_days() {
        let t = humantime::parse_rfc3339("2026-11-20T12:00:00Z")
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(age_days("20261120T120000Z", t + 86_399), Some(0));
        assert_eq!(age_days("20261120T120000Z", t + 3 * 86_400), Some(3));
        assert_eq!(age_days("nonsense", t), None);
    }

    #[test]
    fn another_schema_is_refused_before_it_is_read() {
        let e = parse("schema: 2\nanything: [at all\n").err().unwrap();
        assert!(matches!(&e, Error::Schema { found } if found == "2"), "{e}");
        assert!(e.to_string().contains("schema 2 is not 1"), "{e}");
        let e = parse("hello: world\n").err().unwrap();
        assert!(e.to_string().contains("no top-level schema"), "{e}");
    }
}
