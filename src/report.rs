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
//! `findings`, `errors`, `summary`. Per object: `path`, `role`, `soname`,
//! `needed`, `resolved` (name → path, or null when not found), `loaded`
//! (true when the modelled Apache process loads it, false when nothing
//! does, null when it is loaded only if imported or no configuration was
//! found),
//! `build_id`, `size`, `class`, `machine`, `names` (other paths that reached
//! the same file). Per finding: `id`, `severity`, `certainty`, `title`,
//! `process`, `objects`, `symbols`, `bindings`, `evidence`, `remedy`,
//! `references`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

pub mod diff;

pub const SCHEMA: u32 = 1;

/// How bad a finding is. Ordered: `Info` < `Low` < … < `Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// How sure the finding is (DESIGN.md: certain, likely, latent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Certainty {
    /// Proven for what the configuration loads.
    Certain,
    /// Depends on what the application does at run time.
    Likely,
    /// An installed object no modelled process is known to load.
    Latent,
}

/// What an object is to the web server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Httpd,
    ApacheModule,
    PhpExtension,
    PythonExtension,
    Library,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Httpd,
        Role::ApacheModule,
        Role::PhpExtension,
        Role::PythonExtension,
        Role::Library,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Httpd => "httpd",
            Role::ApacheModule => "apache-module",
            Role::PhpExtension => "php-extension",
            Role::PythonExtension => "python-extension",
            Role::Library => "library",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub schema: u32,
    pub tool: Tool,
    pub host: Host,
    pub processes: Vec<serde_json::Value>,
    pub objects: Vec<Object>,
    pub findings: Vec<Finding>,
    pub errors: Vec<ErrorEntry>,
    pub summary: Summary,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    pub hostname: Option<String>,
    /// The root directory on the machine that ran the scan.
    pub root: String,
    pub os_release: OsRelease,
    /// glibc release of the root, e.g. "2.36", when known.
    pub glibc: Option<String>,
    /// `new`, `old`, `compat`, or `none` (then ldconfig was emulated).
    pub ld_cache: String,
    /// x86-64 ISA level used to choose glibc-hwcaps subdirectories.
    pub cpu_level: u8,
    /// RFC 3339, UTC.
    pub scanned_at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsRelease {
    pub id: Option<String>,
    pub version_id: Option<String>,
    pub pretty_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    pub path: String,
    pub role: Role,
    pub soname: Option<String>,
    pub needed: Vec<String>,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub symbol: String,
    pub from: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    pub certainty: Certainty,
    pub title: String,
    pub process: Option<String>,
    pub objects: Vec<String>,
    pub symbols: Vec<String>,
    pub bindings: Vec<Binding>,
    pub evidence: Vec<String>,
    pub remedy: String,
    pub references: Vec<String>,
    /// What users see when it bites (a signature's symptoms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symptoms: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ErrorEntry {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub objects: usize,
    pub by_role: BTreeMap<Role, usize>,
    pub findings: BTreeMap<Severity, usize>,
    pub errors: usize,
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

    /// The highest severity among the findings.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    pub fn write_yaml(&self, out: &mut dyn Write) -> io::Result<()> {
        let text = serde_yaml::to_string(self).map_err(io::Error::other)?;
        out.write_all(text.as_bytes())
    }

    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        // Keep an io::Error's kind (a closed pipe is not a failure).
        serde_json::to_writer_pretty(&mut *out, self).map_err(|e| match e.io_error_kind() {
            Some(kind) => io::Error::from(kind),
            None => io::Error::other(e),
        })?;
        out.write_all(b"\n")
    }

    /// The terminal view: a line per role, findings by severity with their
    /// remedy, then errors.
    pub fn write_table(&self, out: &mut dyn Write, width: Option<u16>) -> io::Result<()> {
        use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
        let host = self.host.hostname.as_deref().unwrap_or("?");
        let os = self
            .host
            .os_release
            .pretty_name
            .as_deref()
            .unwrap_or("unknown OS");
        writeln!(
            out,
            "soclash {} — {host} ({os}), root {}, glibc {}, ld.so.cache {}, x86-64-v{}",
            self.tool.version,
            self.host.root,
            self.host.glibc.as_deref().unwrap_or("?"),
            self.host.ld_cache,
            self.host.cpu_level
        )?;
        let table = |header: [&str; 4]| {
            let mut t = Table::new();
            t.load_style(UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_header(header);
            if let Some(w) = width {
                t.set_width(w);
            }
            t
        };
        let mut roles = table(["role", "objects", "unresolved", "examples"]);
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
        writeln!(out, "{roles}")?;
        if self.findings.is_empty() {
            writeln!(out, "No findings.")?;
        } else {
            let mut t = table(["severity", "finding", "evidence", "remedy"]);
            for f in &self.findings {
                let mut what = format!("{}\n[{}, {}]", f.title, f.id, certainty_word(f.certainty));
                for o in f.objects.iter().filter(|o| !f.title.contains(o.as_str())) {
                    what.push('\n');
                    what.push_str(o);
                }
                let mut evidence: Vec<String> = f.evidence.iter().take(3).cloned().collect();
                if f.evidence.len() > 3 {
                    evidence.push(format!("… {} more", f.evidence.len() - 3));
                }
                t.add_row([
                    f.severity.to_string(),
                    what,
                    evidence.join("\n"),
                    f.remedy.clone(),
                ]);
            }
            writeln!(out, "{t}")?;
        }
        if !self.errors.is_empty() {
            writeln!(
                out,
                "Errors ({}): files that could not be audited",
                self.errors.len()
            )?;
            for e in &self.errors {
                writeln!(out, "  {}: {}", e.path, e.reason)?;
            }
        }
        let counts: Vec<String> = self
            .summary
            .findings
            .iter()
            .rev()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        writeln!(
            out,
            "{} objects, {} findings{}{}, {} errors",
            self.summary.objects,
            self.findings.len(),
            if counts.is_empty() { "" } else { ": " },
            counts.join(", "),
            self.summary.errors
        )
    }
}

pub(crate) fn certainty_word(c: Certainty) -> &'static str {
    match c {
        Certainty::Certain => "certain",
        Certainty::Likely => "likely",
        Certainty::Latent => "latent",
    }
}

/// `e_machine` names for the report.
pub fn machine_name(machine: u16) -> String {
    match machine {
        3 => "i386".into(),
        8 => "mips".into(),
        20 => "ppc".into(),
        21 => "ppc64".into(),
        22 => "s390".into(),
        40 => "arm".into(),
        62 => "x86_64".into(),
        183 => "aarch64".into(),
        243 => "riscv".into(),
        258 => "loongarch".into(),
        m => format!("machine-{m}"),
    }
}
