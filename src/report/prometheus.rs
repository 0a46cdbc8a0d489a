//! `scan --format prometheus`: the scan's figures in Prometheus' text
//! exposition format, for node_exporter's textfile collector
//! (`--output /var/lib/prometheus/node-exporter/soclash.prom`, written
//! atomically so the collector never reads half a file), as needrestart
//! and similar host checks publish theirs. Alerting then works on what a
//! timer's scan found without parsing reports:
//! `soclash_findings{severity=~"high|critical",certainty!="latent"} > 0`.
//!
//! Every family is a gauge of the last scan. Findings are counted by id,
//! severity and certainty; waived ones apart, so an accepted finding does
//! not page anyone but stays visible.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::Report;

/// Writes the metrics of `report`; `duration` is how long the scan took,
/// in seconds, when the caller measured it.
pub fn write(report: &Report, duration: Option<f64>, out: &mut dyn Write) -> io::Result<()> {
    let mut findings: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for f in &report.findings {
        *findings
            .entry((
                f.id.to_string(),
                f.severity.to_string(),
                super::certainty_word(f.certainty).to_string(),
            ))
            .or_default() += 1;
    }
    let mut waived: BTreeMap<(String, String), usize> = BTreeMap::new();
    for w in &report.waived {
        *waived
            .entry((w.finding.id.to_string(), w.finding.severity.to_string()))
            .or_default() += 1;
    }
    family(
        out,
        "soclash_findings",
        "Findings of the last scan by id, severity and certainty (waived findings excluded).",
    )?;
    for ((id, severity, certainty), n) in &findings {
        writeln!(
            out,
            "soclash_findings{{id=\"{}\",severity=\"{}\",certainty=\"{}\"}} {n}",
            label(id),
            label(severity),
            label(certainty)
        )?;
    }
    family(
        out,
        "soclash_findings_waived",
        "Findings of the last scan that a waiver accepts, by id and severity.",
    )?;
    for ((id, severity), n) in &waived {
        writeln!(
            out,
            "soclash_findings_waived{{id=\"{}\",severity=\"{}\"}} {n}",
            label(id),
            label(severity)
        )?;
    }
    family(out, "soclash_objects", "Objects audited by role.")?;
    for (role, n) in &report.summary.by_role {
        writeln!(out, "soclash_objects{{role=\"{}\"}} {n}", role.as_str())?;
    }
    family(
        out,
        "soclash_audit_errors",
        "Files the last scan could not audit (a non-zero value means a partial audit).",
    )?;
    writeln!(out, "soclash_audit_errors {}", report.errors.len())?;
    family(
        out,
        "soclash_audited_nothing",
        "1 when the root held no httpd, module or extension to audit.",
    )?;
    writeln!(
        out,
        "soclash_audited_nothing {}",
        u8::from(report.audited_nothing())
    )?;
    if let Some(t) = humantime::parse_rfc3339(&report.host.scanned_at)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
    {
        family(
            out,
            "soclash_scan_timestamp_seconds",
            "When the last scan ran, as seconds since the epoch.",
        )?;
        writeln!(out, "soclash_scan_timestamp_seconds {}", t.as_secs())?;
    }
    if let Some(d) = duration {
        family(
            out,
            "soclash_scan_duration_seconds",
            "How long the last scan took.",
        )?;
        writeln!(out, "soclash_scan_duration_seconds {d:.3}")?;
    }
    family(
        out,
        "soclash_info",
        "The soclash version and signature set of the last scan.",
    )?;
    writeln!(
        out,
        "soclash_info{{version=\"{}\",signatures=\"{}\"}} 1",
        label(&report.tool.version),
        label(report.tool.signatures.as_deref().unwrap_or(""))
    )
}

fn family(out: &mut dyn Write, name: &str, help: &str) -> io::Result<()> {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} gauge")
}

/// A label value as the exposition format quotes it: backslash, double
/// quote and line feed escaped.
fn label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::label;

    /// A signature id from a --signatures directory is the user's text:
    /// it must not break the line it is a label of.
    #[test]
    fn labels_are_escaped() {
        assert_eq!(label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(label("a\nb"), "a\\nb");
    }
}
