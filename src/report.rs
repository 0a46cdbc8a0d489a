//! The `Report` (schema 1 of DESIGN.md) and how it is written: YAML, JSON,
//! and the table for the person at the terminal.
//!
//! The report is the contract scripts rely on, so it is plain data with
//! ordered maps and sorted lists: two scans of the same root give the same
//! bytes but for `host.scanned_at`. Paths are canonical paths inside the
//! root. ELF strings (sonames, `DT_NEEDED`) that are not UTF-8 appear with
//! U+FFFD in place of each invalid byte.
//!
//! Schema 1, top level: `schema`, `tool`, `host`, `processes`, `objects`,
//! `findings`, `errors`, `summary` (and `overlay` with `scan --overlay`,
//! `live` with `scan --live`).
//! Per process ([`process::ProcessEntry`], keys in alphabetical order as
//! schema 1 has always written them): `errors` (`[where, reason]` pairs),
//! `members` (each `brought_by` when known, `flags`, `global`, `how`,
//! `installed_only` when set, `may_be_imported`, `object`, `uncertain` when
//! set, `via`), `name`, `notes`, `scopes` (`global`). Per object: `path`, `role`, `soname`,
//! `needed`, `resolved` (name → path, or null when not found), `loaded`
//! (true when the modelled Apache process loads it, false when nothing
//! does, null when it is loaded only if imported or no configuration was
//! found),
//! `build_id`, `size`, `class`, `machine`, `names` (other paths that reached
//! the same file), `processes` (those it is a member of), `package`. Per
//! finding: `id`, `severity`, `certainty`, `title`, `process` (the first it
//! holds in), `processes` (all of them, when several), `objects`,
//! `symbols`, `bindings`, `evidence`, `remedy`, `references`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

pub mod diff;
pub mod dot;
pub mod fleet;
pub mod live;
pub mod process;
pub mod prometheus;
pub mod sarif;
pub mod verdict;
pub mod waiver;

// The shared vocabulary lives in `model`; re-exported here until every
// branch of issue 14 imports it from there.
use crate::layout;
pub use crate::model::{Binding, Finding};
use crate::model::{Certainty, FailOn, FindingId, Role, Severity};
pub use process::{MemberEntry, ProcessEntry};

pub const SCHEMA: u32 = 1;

/// The JSON Schema (draft 2020-12) of the report, derived from these
/// types so that it cannot drift from what soclash writes; `soclash
/// schema` prints it and docs/report.schema.json is a copy a test keeps
/// equal.
pub fn json_schema() -> schemars::Schema {
    let mut schema = schemars::schema_for!(Report);
    schema.insert(
        "title".into(),
        format!("soclash report, schema {SCHEMA}").into(),
    );
    schema
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    #[schemars(range(min = 1, max = 1))]
    pub schema: u32,
    pub tool: Tool,
    pub host: Host,
    /// Schema 1's process entries; read as leniently as when they were
    /// untyped (`process::read_entries`).
    #[serde(deserialize_with = "process::read_entries")]
    pub processes: Vec<ProcessEntry>,
    pub objects: Vec<Object>,
    pub findings: Vec<Finding>,
    /// Findings a waiver accepts (`--waivers`): kept, with its reason, but
    /// not counted for the exit code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waived: Vec<waiver::Waived>,
    pub errors: Vec<ErrorEntry>,
    pub summary: Summary,
    /// With `scan --overlay`: what the overlays change compared with the
    /// root alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay: Option<OverlayOutcome>,
    /// With `scan --live`: the running web server processes, held against
    /// the modelled ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<live::Live>,
}

/// The pre-upgrade answer: findings the overlays bring in or take away,
/// and the objects they add or change, from a second scan of the root
/// alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OverlayOutcome {
    /// The overlays, bottom first (a directory, or `FILE.deb (package
    /// version)`).
    pub layers: Vec<String>,
    /// Findings of this report that the root alone does not have (or has
    /// at a lower severity).
    pub introduced: Vec<FindingKey>,
    /// Findings of the root alone that the overlays make go away.
    pub resolved: Vec<FindingKey>,
    pub objects: diff::ObjectChanges,
    /// The packages' dependencies that neither the root's installed
    /// packages nor the what-if's satisfy, one line per package: apt would
    /// install more, so the what-if is incomplete (unless
    /// `ignore_depends`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmet: Vec<String>,
    /// `--ignore-depends`: judged although `unmet` is not empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_depends: bool,
    /// What apt and dpkg do besides unpacking that was modelled for the
    /// what-if as a whole (each package's own is in its layer's line).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What the package manager would do that the what-if does not model
    /// (rpm's `%pre`/`%post` scriptlets), said with the verdict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmodelled: Vec<String>,
    /// The answer, once waivers are applied ([`verdict::judge`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<verdict::Verdict>,
}

/// A finding's identity (as `diff` matches findings) and severity.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct FindingKey {
    pub id: FindingId,
    pub severity: Severity,
    pub process: Option<String>,
    pub objects: Vec<String>,
    pub symbols: Vec<String>,
}

impl FindingKey {
    pub fn of(f: &Finding) -> FindingKey {
        let mut objects = f.objects.clone();
        objects.sort();
        let mut symbols = f.symbols.clone();
        symbols.sort();
        FindingKey {
            id: f.id.clone(),
            severity: f.severity,
            process: f.process.clone(),
            objects,
            symbols,
        }
    }

    /// True when `f` is the finding this key names (any severity).
    pub fn names(&self, f: &Finding) -> bool {
        let k = FindingKey::of(f);
        (&k.id, &k.process, &k.objects, &k.symbols)
            == (&self.id, &self.process, &self.objects, &self.symbols)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tool {
    pub name: String,
    pub version: String,
    /// The signature set the findings come from (`30 signatures, fnv1a
    /// …`), so reports stay comparable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatures: Option<String>,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: "soclash".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            signatures: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Host {
    pub hostname: Option<String>,
    /// The root directory on the machine that ran the scan.
    pub root: String,
    pub os_release: OsRelease,
    /// glibc release of the root, e.g. "2.36", when known.
    pub glibc: Option<String>,
    /// The C library whose loader the scan modelled, with its release when
    /// known: `glibc 2.36`, `musl`. Absent in reports written before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libc: Option<String>,
    /// `new`, `old`, `compat`, or `none` (then ldconfig was emulated);
    /// `rebuilt` in a what-if whose packages activate the ldconfig
    /// trigger: the cache ldconfig writes after the install (emulated).
    pub ld_cache: String,
    /// x86-64 ISA level used to choose glibc-hwcaps subdirectories.
    pub cpu_level: u8,
    /// RFC 3339, UTC.
    pub scanned_at: String,
    /// The web stack found: Apache, PHP and Python, with their versions
    /// where the package database or the file names tell them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack: Vec<Software>,
    /// The package databases objects were attributed from (`dpkg`, `apk`,
    /// `rpm`), or why one was not read (`rpm: Berkeley DB …: packages
    /// unknown`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
}

/// A part of the web stack and how it was recognised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Software {
    /// `apache`, `php` or `python`.
    pub name: String,
    /// From the file name (`libphp8.2.so`, `python3.11/`), when it has one.
    pub version: Option<String>,
    /// The object it was recognised by.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<crate::host::packages::Package>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OsRelease {
    pub id: Option<String>,
    pub version_id: Option<String>,
    pub pretty_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Object {
    pub path: String,
    pub role: Role,
    pub soname: Option<String>,
    pub needed: Vec<String>,
    /// Its `DT_NEEDED` as it finds them loaded on its own (`ldd`), `null`
    /// for a name found nowhere. A process in `processes` found every
    /// name (often through its loaders' `DT_RPATH`): `unresolved-dependency`
    /// is only about what the processes that load it miss.
    pub resolved: BTreeMap<String, Option<String>>,
    pub loaded: Option<bool>,
    pub build_id: Option<String>,
    pub size: u64,
    /// `elf32` or `elf64`.
    pub class: String,
    /// `e_machine` by its usual name (`x86_64`, `i386`, `aarch64`, …).
    pub machine: String,
    /// Other paths by which the same file was reached (symlinks), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The modelled processes it is a member of (`apache`, `php-fpm`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<String>,
    /// The installed package that owns it, from the root's package
    /// database (dpkg).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<crate::host::packages::Package>,
}

#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct ErrorEntry {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    pub objects: usize,
    pub by_role: BTreeMap<Role, usize>,
    pub findings: BTreeMap<Severity, usize>,
    pub errors: usize,
    /// Findings moved to `waived`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub waived: usize,
}

impl Summary {
    /// `2 high, 1 low`: the findings by severity, worst first, as the
    /// table's last line and the quiet run's summary say them.
    pub fn by_severity(&self) -> Vec<String> {
        self.findings
            .iter()
            .rev()
            .map(|(s, n)| format!("{n} {s}"))
            .collect()
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Report {
    /// Sorts everything that has no meaningful order of its own and fills
    /// in the summary, so output is deterministic.
    pub fn finish(&mut self) {
        self.objects.sort_by(|a, b| a.path.cmp(&b.path));
        self.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.id.cmp(&b.id))
                .then_with(|| a.objects.cmp(&b.objects))
                .then_with(|| a.evidence.cmp(&b.evidence))
        });
        self.errors.sort();
        self.errors.dedup();
        let mut summary = Summary {
            objects: self.objects.len(),
            errors: self.errors.len(),
            waived: self.waived.len(),
            ..Summary::default()
        };
        for o in &self.objects {
            *summary.by_role.entry(o.role).or_default() += 1;
        }
        for f in &self.findings {
            *summary.findings.entry(f.severity).or_default() += 1;
        }
        self.summary = summary;
    }

    /// Whether the root held nothing of a web stack to audit: no httpd,
    /// module or extension read, none found unreadable. Such a report has
    /// no findings because nothing was looked at, which a timer must not
    /// take for a clean host.
    pub fn audited_nothing(&self) -> bool {
        self.objects.iter().all(|o| o.role == Role::Library)
            && !self
                .findings
                .iter()
                .chain(self.waived.iter().map(|w| &w.finding))
                .any(|f| f.id == FindingId::UnreadableObject)
    }

    /// Whether a finding `fail_on` counts is left (waived ones are not).
    pub fn fails(&self, fail_on: FailOn) -> bool {
        self.findings
            .iter()
            .any(|f| fail_on.counts(f.severity, f.certainty))
    }

    pub fn write_yaml(&self, out: &mut dyn Write) -> io::Result<()> {
        let text = serde_norway::to_string(self).map_err(io::Error::other)?;
        out.write_all(text.as_bytes())
    }

    /// Generic over the writer: a report of forty daemons is millions of
    /// small writes, each a dynamic call through `dyn Write`.
    pub fn write_json<W: Write + ?Sized>(&self, out: &mut W) -> io::Result<()> {
        // Keep an io::Error's kind (a closed pipe is not a failure).
        serde_json::to_writer_pretty(&mut *out, self).map_err(|e| match e.io_error_kind() {
            Some(kind) => io::Error::from(kind),
            None => io::Error::other(e),
        })?;
        out.write_all(b"\n")
    }

    /// The terminal view, read top to bottom: what was audited (host, web
    /// stack, processes), the findings by severity, each with a one-line
    /// explanation and the remedy, then the counts.
    pub fn write_table(&self, out: &mut dyn Write, style: &TableStyle) -> io::Result<()> {
        use comfy_table::Color;
        let host = self.host.hostname.as_deref().unwrap_or("unknown host");
        let os = self
            .host
            .os_release
            .pretty_name
            .as_deref()
            .unwrap_or("unknown OS");
        let width = usize::from(style.width);
        // A line of its own, wrapped to the width.
        let say = |out: &mut dyn Write, text: String| -> io::Result<()> {
            for line in fit(&[text], width) {
                writeln!(out, "{line}")?;
            }
            Ok(())
        };
        let mut header = vec![
            vec![
                style.paint(host, "1"),
                os.to_string(),
                format!("soclash {}", self.tool.version),
            ],
            vec![
                format!("root {}", self.host.root),
                match &self.host.libc {
                    Some(l) if !l.starts_with("glibc") => l.clone(),
                    _ => format!("glibc {}", self.host.glibc.as_deref().unwrap_or("?")),
                },
                format!("ld.so.cache {}", self.host.ld_cache),
                format!("x86-64-v{}", self.host.cpu_level),
                format!(
                    "packages: {}",
                    if self.host.packages.is_empty() {
                        "no database".to_string()
                    } else {
                        self.host.packages.join(", ")
                    }
                ),
            ],
        ];
        let stack: Vec<String> = self.host.stack.iter().map(software_line).collect();
        header.push(if stack.is_empty() {
            vec!["web stack: none found".to_string()]
        } else {
            let mut s = stack;
            s[0] = format!("web stack: {}", s[0]);
            s
        });
        let processes: Vec<String> = self
            .processes
            .iter()
            .map(|p| {
                let n = p.members.len();
                format!("{} ({n} object{})", p.name, plural(n))
            })
            .collect();
        // Many daemon process groups: the first few, then how many.
        let processes = if processes.len() > SHOWN_PROCESSES {
            let mut few = processes[..SHOWN_PROCESSES - 1].to_vec();
            few.push(format!(
                "… {} more",
                processes.len() - (SHOWN_PROCESSES - 1)
            ));
            few
        } else {
            processes
        };
        header.push(vec![if processes.is_empty() {
            "processes modelled: none (no web server configuration found)".to_string()
        } else {
            format!("processes modelled: {}", processes.join(", "))
        }]);
        if let Some(live) = &self.live {
            for l in live.lines() {
                header.push(vec![l]);
            }
        }
        if let Some(o) = &self.overlay {
            for l in &o.layers {
                header.push(vec![format!("overlay: {l}")]);
            }
            for n in &o.notes {
                header.push(vec![format!("what-if: {n}")]);
            }
            header.push(vec![format!(
                "the overlays introduce {} finding{}, resolve {}; add {} object{}, change {}",
                o.introduced.len(),
                plural(o.introduced.len()),
                o.resolved.len(),
                o.objects.added.len(),
                plural(o.objects.added.len()),
                o.objects.changed.len()
            )]);
        }
        for parts in header {
            for line in fit(&parts, width) {
                writeln!(out, "{line}")?;
            }
        }
        writeln!(out)?;

        let row = |f: &Finding| {
            let introduced = self
                .overlay
                .as_ref()
                .is_some_and(|o| o.introduced.iter().any(|k| k.names(f)));
            let mut lines = vec![f.title.clone()];
            let mut tags = vec![
                f.id.to_string(),
                certainty_word(f.certainty).to_string(),
                processes_tag(f),
            ];
            if let Some(status) = f.status {
                tags.push(status.to_string());
            }
            if introduced {
                tags.push("introduced by the overlay".into());
            }
            lines.push(tags.join(" · "));
            if let Some(why) = f.symptoms.first().or_else(|| f.evidence.first()) {
                lines.push(format!("why: {why}"));
            }
            // A severity below the signature's says why (rules::consequence,
            // the matcher's `when_apart`): its evidence gives it first.
            if let Some(cap) = f
                .evidence
                .first()
                .filter(|e| !f.symptoms.is_empty() && e.starts_with("at most "))
            {
                lines.push(format!("severity: {cap}"));
            }
            lines.push(format!("fix: {}", f.remedy));
            let shown = if style.verbose { usize::MAX } else { 3 };
            for o in f.objects.iter().take(shown) {
                lines.push(format!("  {o}"));
            }
            if f.objects.len() > shown {
                lines.push(format!("  … {} more objects", f.objects.len() - shown));
            }
            if style.verbose {
                for e in f.evidence.iter().skip(usize::from(f.symptoms.is_empty())) {
                    lines.push(format!("evidence: {e}"));
                }
                for b in &f.bindings {
                    lines.push(format!(
                        "binds: {} from {} → {} (alone: {})",
                        b.symbol,
                        b.from,
                        b.actual.as_deref().unwrap_or("nothing"),
                        b.expected.as_deref().unwrap_or("nothing")
                    ));
                }
            }
            let colour = match f.severity {
                Severity::Critical => Color::Magenta,
                Severity::High => Color::Red,
                Severity::Medium => Color::Yellow,
                Severity::Low => Color::Cyan,
                Severity::Info => Color::Grey,
            };
            [
                layout::Cell {
                    text: f.severity.to_string(),
                    colour: Some(colour),
                },
                layout::Cell::from(lines.join("\n")),
            ]
        };
        let findings_table = |out: &mut dyn Write, heading: &str, fs: &[&Finding]| {
            // A finding's lines name themselves (why:, fix:); below
            // FINDING_COLUMN columns for them, one record per finding.
            let mut t = layout::Grid::new(vec![
                layout::Column::new("severity"),
                layout::Column {
                    labelled: false,
                    ..layout::Column::shortened(heading, FINDING_COLUMN)
                },
            ]);
            for f in fs {
                t.add_row(row(f));
            }
            writeln!(out, "{}", t.render(style.width, style.colour))
        };
        if self.findings.is_empty() && self.audited_nothing() {
            say(
                out,
                "Nothing audited: no web stack was found under this root.".into(),
            )?;
        } else if let Some(o) = &self.overlay {
            // The answer first, then what the upgrade introduces, what it
            // resolves, and what was already there.
            let summary = o.verdict.as_ref().map_or_else(
                || "not judged (no --fail-on was applied to this report)".to_string(),
                |v| v.summary.clone(),
            );
            for line in fit(&[style.paint(&summary, "1")], width) {
                writeln!(out, "{line}")?;
            }
            let (introduced, there): (Vec<&Finding>, Vec<&Finding>) = self
                .findings
                .iter()
                .partition(|f| o.introduced.iter().any(|k| k.names(f)));
            if !introduced.is_empty() {
                findings_table(out, "introduced by this upgrade", &introduced)?;
            }
            let mut resolved = vec![format!(
                "it resolves {} finding{}{}",
                o.resolved.len(),
                plural(o.resolved.len()),
                if o.resolved.is_empty() { "" } else { ":" }
            )];
            for k in &o.resolved {
                resolved.push(format!(
                    "  {} {} ({}){}",
                    k.severity,
                    k.id,
                    k.process.as_deref().unwrap_or("host"),
                    k.objects
                        .first()
                        .map(|p| format!(": {p}"))
                        .unwrap_or_default()
                ));
            }
            for r in &resolved {
                for line in fit(std::slice::from_ref(r), width) {
                    writeln!(out, "{line}")?;
                }
            }
            say(
                out,
                format!(
                    "already there before it: {} finding{}",
                    there.len(),
                    plural(there.len())
                ),
            )?;
            if !there.is_empty() {
                findings_table(out, "already there", &there)?;
            }
            if !self.findings.is_empty() && !style.verbose {
                writeln!(out, "(-v adds the evidence and the bindings)")?;
            }
        } else if self.findings.is_empty() {
            writeln!(out, "No findings.")?;
        } else {
            let all: Vec<&Finding> = self.findings.iter().collect();
            findings_table(out, "finding", &all)?;
            if !style.verbose {
                writeln!(out, "(-v adds the evidence and the bindings)")?;
            }
        }
        if !self.waived.is_empty() {
            say(
                out,
                format!(
                    "{} finding{} waived (not counted for the exit code):",
                    self.waived.len(),
                    plural(self.waived.len())
                ),
            )?;
            for w in &self.waived {
                let line = format!(
                    "  {} {} ({}): {}; until {} ({})",
                    w.finding.severity,
                    w.finding.id,
                    w.finding.process.as_deref().unwrap_or("host"),
                    w.reason,
                    w.expires,
                    w.waiver
                );
                for l in fit(&[line], width) {
                    writeln!(out, "{l}")?;
                }
            }
        }
        writeln!(out)?;

        let mut roles = layout::Grid::new(vec![
            layout::Column::new("role"),
            layout::Column::new("objects"),
            layout::Column::new("unresolved"),
            layout::Column::shortened("examples", 12),
        ]);
        for role in Role::ALL {
            let of_role: Vec<&Object> = self.objects.iter().filter(|o| o.role == role).collect();
            if of_role.is_empty() {
                continue;
            }
            let unresolved = of_role
                .iter()
                .filter(|o| o.resolved.values().any(Option::is_none))
                .count();
            let examples: Vec<&str> = of_role
                .iter()
                .take(3)
                .map(|o| o.path.rsplit('/').next().unwrap_or(&o.path))
                .collect();
            let more = if of_role.len() > 3 { ", …" } else { "" };
            roles.add_row([
                role.as_str().to_string(),
                of_role.len().to_string(),
                unresolved.to_string(),
                format!("{}{more}", examples.join(", ")),
            ]);
        }
        writeln!(out, "{}", roles.render(style.width, style.colour))?;
        if !self.errors.is_empty() {
            say(
                out,
                format!(
                    "{} file{} could not be audited:",
                    self.errors.len(),
                    plural(self.errors.len())
                ),
            )?;
            let shown = if style.verbose { usize::MAX } else { 5 };
            for e in self.errors.iter().take(shown) {
                for l in layout::wrap(&format!("{}: {}", e.path, e.reason), width, "  ", "    ") {
                    writeln!(out, "{l}")?;
                }
            }
            if self.errors.len() > shown {
                for l in layout::wrap(
                    &format!(
                        "… {} more (-v or --format yaml lists them all)",
                        self.errors.len() - shown
                    ),
                    width,
                    "  ",
                    "    ",
                ) {
                    writeln!(out, "{l}")?;
                }
            }
        }
        let counts = self.summary.by_severity();
        let mut parts = vec![
            format!(
                "{} object{}",
                self.summary.objects,
                plural(self.summary.objects)
            ),
            format!(
                "{} finding{}{}{}",
                self.findings.len(),
                plural(self.findings.len()),
                if counts.is_empty() { "" } else { ": " },
                counts.join(", ")
            ),
        ];
        if !self.waived.is_empty() {
            parts.push(format!("{} waived", self.waived.len()));
        }
        parts.push(format!(
            "{} error{}",
            self.summary.errors,
            plural(self.summary.errors)
        ));
        for line in fit(&parts, width) {
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}

/// How the terminal view is drawn: the caller decides from the terminal
/// (its width, whether it is one, `NO_COLOR`) so the writer stays pure.
#[derive(Debug, Clone, Copy)]
pub struct TableStyle {
    pub width: u16,
    /// ANSI colour (only on a terminal, never with `NO_COLOR`).
    pub colour: bool,
    /// `-v`: every object, error, evidence line and binding.
    pub verbose: bool,
}

impl Default for TableStyle {
    fn default() -> Self {
        TableStyle {
            width: 120,
            colour: false,
            verbose: false,
        }
    }
}

impl TableStyle {
    fn paint(&self, text: &str, sgr: &str) -> String {
        if self.colour {
            format!("\x1b[{sgr}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Lines of at most `width` columns: `parts` joined by ` · ` while they
/// fit, a part too long on its own wrapped at spaces and indented. Widths
/// are terminal columns (a CJK character takes two, a combining accent
/// none), not characters, ignoring colour escapes.
fn fit(parts: &[String], width: usize) -> Vec<String> {
    let visible = console::measure_text_width;
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for part in parts {
        let joined = if line.is_empty() {
            part.clone()
        } else {
            format!("{line} · {part}")
        };
        if visible(&joined) <= width {
            line = joined;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // Too long on its own: wrap at spaces, never inside a word.
        let mut wrapped = layout::wrap(part, width, "", "  ");
        line = wrapped.pop().unwrap_or_default();
        lines.extend(wrapped);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The finding column's narrowest: below it, a finding's paths and
/// remedy would be more `…` than text, so the findings become records.
const FINDING_COLUMN: usize = 30;

/// Processes named on the table's header line before the rest are counted.
const SHOWN_PROCESSES: usize = 8;

/// Where a finding holds, for the table: its process, or the first few of
/// its processes and how many there are; `host` for none.
fn processes_tag(f: &Finding) -> String {
    const SHOWN: usize = 4;
    match (&f.process, f.processes.len()) {
        (None, _) => "host".into(),
        (Some(p), 0 | 1) => p.clone(),
        (_, n) if n <= SHOWN => f.processes.join(", "),
        (_, n) => format!("{}, … ({n} processes)", f.processes[..SHOWN - 1].join(", ")),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `Apache 2.4.62 (apache2-bin 2.4.62-1)`, `PHP 8.2`, `Python 3.11 (…)`.
fn software_line(s: &Software) -> String {
    let name = match s.name.as_str() {
        "apache" => "Apache",
        "php" => "PHP",
        "python" => "Python",
        other => other,
    };
    let mut line = name.to_string();
    if let Some(v) = &s.version {
        line.push(' ');
        line.push_str(v);
    }
    if let Some(p) = &s.package {
        line.push_str(&format!(" ({} {})", p.name, p.version));
    }
    line
}

pub(crate) fn certainty_word(c: Certainty) -> &'static str {
    match c {
        Certainty::Certain => "certain",
        Certainty::Likely => "likely",
        Certainty::Latent => "latent",
    }
}

#[cfg(test)]
mod tests {
    use super::fit;

    /// Two columns per CJK character, none for a combining accent or a
    /// colour escape: what the terminal shows, not what `chars()` counts.
    #[test]
    fn fit_counts_terminal_columns() {
        let parts = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // 6 + 3 + 3 columns (9 characters): too wide for 9 columns.
        assert_eq!(
            fit(&parts(&["日本語", "abc"]), 9),
            ["日本語", "abc"].map(String::from)
        );
        assert_eq!(fit(&parts(&["日本語", "abc"]), 12), ["日本語 · abc"]);
        // "café" with a combining acute accent: 4 columns, 5 characters.
        assert_eq!(
            fit(&parts(&["cafe\u{301}", "abcd"]), 11),
            ["cafe\u{301} · abcd"]
        );
        assert_eq!(
            fit(&parts(&["\x1b[1mhost\x1b[0m", "os"]), 9),
            ["\x1b[1mhost\x1b[0m · os"]
        );
        assert_eq!(fit(&parts(&["host", "os"]), 8), ["host", "os"]);
    }
}
