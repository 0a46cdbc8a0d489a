//! `scan --format sarif`: the report as SARIF 2.1.0, for the code-scanning
//! dashboards that collect findings from many tools (GitHub code scanning,
//! DefectDojo, SonarQube imports).
//!
//! One rule per finding id that occurs (a signature's rule carries the
//! signature's title, symptoms and remedy; a built-in's its meaning), one
//! result per finding, its level from the severity (critical and high:
//! error, medium: warning, low and info: note), the objects as artifact
//! locations relative to the scanned root (`uriBaseId` ROOT, whose URI the
//! run gives), and a partial fingerprint from what `diff` matches findings
//! by, so a dashboard follows a finding across scans. A waived finding is
//! a result with an external suppression carrying the waiver's reason.
//! Files that could not be audited are tool execution notifications, and
//! the invocation is unsuccessful when there are any.

use std::collections::BTreeMap;

use serde_sarif::sarif;

use super::{Finding, Report};
use crate::model::{FindingId, Severity};
use crate::rules::signature::Signature;

const ROOT: &str = "ROOT";

/// The SARIF log of `report`; `signatures` give the rules of signature
/// findings their text (the catalogue the scan used).
pub fn sarif(report: &Report, signatures: &[Signature]) -> sarif::Sarif {
    let by_id: BTreeMap<&str, &Signature> =
        signatures.iter().map(|s| (s.id.0.as_str(), s)).collect();
    let all: Vec<(&Finding, Option<&super::waiver::Waived>)> = report
        .findings
        .iter()
        .map(|f| (f, None))
        .chain(report.waived.iter().map(|w| (&w.finding, Some(w))))
        .collect();
    let mut rule_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut rules = Vec::new();
    for (f, _) in &all {
        let id = f.id.to_string();
        if rule_index.contains_key(&id) {
            continue;
        }
        rule_index.insert(id.clone(), rules.len());
        rules.push(rule(f, by_id.get(id.as_str()).copied()));
    }
    let results: Vec<sarif::Result> = all
        .iter()
        .map(|(f, waived)| result(f, *waived, rule_index[&f.id.to_string()]))
        .collect();
    let notifications: Vec<sarif::Notification> = report
        .errors
        .iter()
        .map(|e| {
            sarif::Notification::builder()
                .message(text(&e.reason))
                .level(serde_json::Value::from("warning"))
                .locations(vec![location(&e.path)])
                .build()
        })
        .collect();
    let invocation = sarif::Invocation::builder()
        .execution_successful(report.errors.is_empty())
        .tool_execution_notifications(notifications)
        .end_time_utc(report.host.scanned_at.clone())
        .build();
    let root = if report.host.root.ends_with('/') {
        report.host.root.clone()
    } else {
        format!("{}/", report.host.root)
    };
    let driver = sarif::ToolComponent::builder()
        .name(report.tool.name.clone())
        .version(report.tool.version.clone())
        .semantic_version(report.tool.version.clone())
        .rules(rules)
        .build();
    let mut run_properties = BTreeMap::new();
    if let Some(h) = &report.host.hostname {
        run_properties.insert("hostname".to_string(), h.clone().into());
    }
    if let Some(s) = &report.tool.signatures {
        run_properties.insert("signatures".to_string(), s.clone().into());
    }
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .original_uri_base_ids(BTreeMap::from([(
            ROOT.to_string(),
            sarif::ArtifactLocation::builder()
                .uri(format!("file://{}", encode(&root)))
                .build(),
        )]))
        .properties(
            sarif::PropertyBag::builder()
                .additional_properties(run_properties)
                .build(),
        )
        .build();
    sarif::Sarif::builder()
        .version(serde_json::Value::from(sarif::Version::V2_1_0.to_string()))
        .schema(sarif::SCHEMA_URL)
        .runs(vec![run])
        .build()
}

fn rule(f: &Finding, sig: Option<&Signature>) -> sarif::ReportingDescriptor {
    let id = f.id.to_string();
    let b = sarif::ReportingDescriptor::builder()
        .id(id.clone())
        .name(id);
    match sig {
        Some(s) => {
            let mut full = s.title.clone();
            if !s.symptoms.is_empty() {
                full.push_str(". Symptoms: ");
                full.push_str(&s.symptoms.join("; "));
            }
            let mut help = s.remedy.clone();
            if !s.references.is_empty() {
                help.push_str("\nReferences: ");
                help.push_str(&s.references.join("; "));
            }
            b.short_description(message_string(&s.title))
                .full_description(message_string(&full))
                .help(message_string(&help))
                .default_configuration(
                    sarif::ReportingConfiguration::builder()
                        .level(serde_json::to_value(level(s.severity)).unwrap_or_default())
                        .build(),
                )
                .properties(
                    sarif::PropertyBag::builder()
                        .additional_properties(BTreeMap::from([(
                            "status".to_string(),
                            serde_json::to_value(s.status).unwrap_or_default(),
                        )]))
                        .build(),
                )
                .build()
        }
        None => {
            let meaning = builtin_meaning(&f.id).unwrap_or(&f.title);
            b.short_description(message_string(meaning))
                .help(message_string(&f.remedy))
                .build()
        }
    }
}

fn result(f: &Finding, waived: Option<&super::waiver::Waived>, index: usize) -> sarif::Result {
    let mut message = f.title.clone();
    if let Some(why) = f.symptoms.first().or_else(|| f.evidence.first()) {
        message.push_str(". ");
        message.push_str(why);
    }
    message.push_str(". Fix: ");
    message.push_str(&f.remedy);
    let mut properties = BTreeMap::from([
        ("severity".to_string(), f.severity.to_string().into()),
        (
            "certainty".to_string(),
            super::certainty_word(f.certainty).into(),
        ),
    ]);
    if let Some(p) = &f.process {
        properties.insert("process".to_string(), p.clone().into());
    }
    if !f.symbols.is_empty() {
        properties.insert("symbols".to_string(), f.symbols.clone().into());
    }
    if let Some(s) = f.status {
        properties.insert(
            "status".to_string(),
            serde_json::to_value(s).unwrap_or_default(),
        );
    }
    let key = super::FindingKey::of(f);
    let fingerprint = format!(
        "{}|{}|{}|{}",
        key.id,
        key.process.as_deref().unwrap_or(""),
        key.objects.join(","),
        key.symbols.join(",")
    );
    let b = sarif::Result::builder()
        .rule_id(f.id.to_string())
        .rule_index(index as i64)
        .level(level(f.severity))
        .message(text(&message))
        .locations(f.objects.iter().map(|o| location(o)).collect::<Vec<_>>())
        .partial_fingerprints(BTreeMap::from([("soclashFinding/v1".to_string(), {
            let mut h = crate::model::Fnv1a::new();
            h.feed(fingerprint.as_bytes());
            format!("{:016x}", h.0)
        })]))
        .properties(
            sarif::PropertyBag::builder()
                .additional_properties(properties)
                .build(),
        );
    match waived {
        Some(w) => b
            .suppressions(vec![
                sarif::Suppression::builder()
                    .kind(serde_json::Value::from("external"))
                    .justification(format!("{} (until {}; {})", w.reason, w.expires, w.waiver))
                    .build(),
            ])
            .build(),
        None => b.build(),
    }
}

fn level(s: Severity) -> sarif::ResultLevel {
    match s {
        Severity::Critical | Severity::High => sarif::ResultLevel::Error,
        Severity::Medium => sarif::ResultLevel::Warning,
        Severity::Low | Severity::Info => sarif::ResultLevel::Note,
    }
}

/// What a built-in finding means, for its rule.
fn builtin_meaning(id: &FindingId) -> Option<&'static str> {
    Some(match id {
        FindingId::SymbolInterposition => {
            "References bind to another object's copy of a symbol than the one their object was built and tested with"
        }
        FindingId::DuplicateSonameDifferentFile => {
            "Two different files with the same soname in one process"
        }
        FindingId::MissingSymbolVersion => {
            "A versioned reference whose version node no loaded object defines: ld.so refuses to load it"
        }
        FindingId::UnresolvedSymbol => "A reference no object of the process defines",
        FindingId::UnresolvedDependency => "A DT_NEEDED library the process cannot find",
        FindingId::WrongArchitecture => {
            "A module or extension of another ELF class or machine than httpd"
        }
        FindingId::StaleLdCache => "/etc/ld.so.cache disagrees with what ld.so.conf would give",
        FindingId::UnreadableObject => {
            "An object of the web stack that could not be read, so the audit of what it brings is partial"
        }
        FindingId::RestartNeeded => {
            "A running server process still maps a file deleted or replaced on disk since it started"
        }
        FindingId::Signature(_) => return None,
    })
}

fn text(s: &str) -> sarif::Message {
    sarif::Message::builder().text(s.to_string()).build()
}

fn message_string(s: &str) -> sarif::MultiformatMessageString {
    sarif::MultiformatMessageString::builder()
        .text(s.to_string())
        .build()
}

/// An object's place: its path inside the root, relative to ROOT.
fn location(path: &str) -> sarif::Location {
    sarif::Location::builder()
        .physical_location(
            sarif::PhysicalLocation::builder()
                .artifact_location(
                    sarif::ArtifactLocation::builder()
                        .uri(encode(path.trim_start_matches('/')))
                        .uri_base_id(ROOT)
                        .build(),
                )
                .build(),
        )
        .build()
}

/// A path as a URI reference (RFC 3986): every byte but the unreserved
/// ones and `/` percent-encoded, so a space or `#` in a file name stays
/// part of the path.
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paths become URI references that keep every byte of the name.
    #[test]
    fn paths_are_percent_encoded() {
        assert_eq!(encode("usr/lib/libx.so.1"), "usr/lib/libx.so.1");
        assert_eq!(encode("srv/my app/#1.so"), "srv/my%20app/%231.so");
        assert_eq!(encode("opt/é"), "opt/%C3%A9");
    }

    /// Severity decides the level a dashboard sorts by.
    #[test]
    fn levels_follow_severity() {
        assert!(matches!(level(Severity::High), sarif::ResultLevel::Error));
        assert!(matches!(
            level(Severity::Medium),
            sarif::ResultLevel::Warning
        ));
        assert!(matches!(level(Severity::Info), sarif::ResultLevel::Note));
    }
}
