//! The pre-upgrade verdict: "will this upgrade break the web server?" is
//! answered by what the upgrade *introduces*, not by what the host
//! already has, which a what-if cannot change and a timer already
//! reports. So with overlays the exit code follows the introduced
//! findings that `--fail-on` counts (1) or their absence (0), and a
//! what-if that is not the host apt would leave (unmet dependencies) is
//! no answer (2). A finding a waiver accepts is not counted, introduced or
//! not: `judge` runs on the report after the waivers moved it.
//!
//! A library function, so that every caller (`scan --overlay-deb`, a
//! package manager's hook) gives the same answer from the same report.

use serde::{Deserialize, Serialize};

use super::{FindingKey, Report, certainty_word};
use crate::model::FailOn;

/// How the what-if ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It introduces findings `--fail-on` counts (exit 1).
    Introduces,
    /// It introduces none that `--fail-on` counts (exit 0).
    Nothing,
    /// Not judged: the what-if is not what apt would install (exit 2).
    Incomplete,
}

/// The verdict on one what-if, as the report records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Verdict {
    pub outcome: Outcome,
    /// `--fail-on` as given (`high`, `medium:certain`, `none`).
    pub fail_on: String,
    /// The introduced findings `--fail-on` counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counted: Vec<FindingKey>,
    /// The sentence the table opens with.
    pub summary: String,
}

/// Findings named in a summary; the rest are counted.
const NAMED: usize = 6;

/// The verdict on `report`'s what-if at `fail_on`, or `None` for a report
/// without overlays. Call it after the waivers are applied.
pub fn judge(report: &Report, fail_on: FailOn) -> Option<Verdict> {
    let o = report.overlay.as_ref()?;
    let standing: Vec<&crate::model::Finding> = o
        .introduced
        .iter()
        .filter_map(|k| report.findings.iter().find(|f| k.names(f)))
        .collect();
    let waived = o
        .introduced
        .iter()
        .filter(|k| report.waived.iter().any(|w| k.names(&w.finding)))
        .count();
    let (counted, below): (Vec<_>, Vec<_>) = standing
        .into_iter()
        .partition(|f| fail_on.counts(f.severity, f.certainty));
    let describe = |fs: &[&crate::model::Finding]| {
        let mut s = fs
            .iter()
            .take(NAMED)
            .map(|f| format!("{} ({}, {})", f.id, f.severity, certainty_word(f.certainty)))
            .collect::<Vec<_>>()
            .join(", ");
        if fs.len() > NAMED {
            s.push_str(&format!(" and {} more", fs.len() - NAMED));
        }
        s
    };
    let threshold = match fail_on.severity {
        Some(_) => format!("at or above {fail_on}"),
        None => "that --fail-on none counts".to_string(),
    };
    let (outcome, mut summary) = if !o.unmet.is_empty() && !o.ignore_depends {
        (
            Outcome::Incomplete,
            format!(
                "this what-if is incomplete, not judged: {} (add the missing packages to the what-if, or --ignore-depends)",
                o.unmet.join("; ")
            ),
        )
    } else if counted.is_empty() {
        let mut s = format!("this upgrade introduces nothing {threshold}");
        if !below.is_empty() {
            s.push_str(&format!(" (below it: {})", describe(&below)));
        }
        (Outcome::Nothing, s)
    } else {
        (
            Outcome::Introduces,
            format!(
                "this upgrade introduces {} finding{} {threshold}: {}",
                counted.len(),
                if counted.len() == 1 { "" } else { "s" },
                describe(&counted)
            ),
        )
    };
    if waived > 0 {
        summary.push_str(&format!(
            "; {waived} introduced finding{} waived",
            if waived == 1 { "" } else { "s" }
        ));
    }
    if !o.unmodelled.is_empty() {
        summary.push_str(&format!("; {}", o.unmodelled.join("; ")));
    }
    if o.ignore_depends && !o.unmet.is_empty() {
        summary.push_str(&format!(
            "; judged with unmet dependencies (--ignore-depends): {}",
            o.unmet.join("; ")
        ));
    }
    Some(Verdict {
        outcome,
        fail_on: fail_on.to_string(),
        counted: counted.iter().map(|f| FindingKey::of(f)).collect(),
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Certainty, Finding, FindingId, Severity};
    use crate::report::{OverlayOutcome, waiver};

    fn finding(id: FindingId, severity: Severity, certainty: Certainty, object: &str) -> Finding {
        Finding {
            id,
            severity,
            certainty,
            title: String::new(),
            process: None,
            objects: vec![object.into()],
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

    fn report(findings: Vec<Finding>, introduced: &[&Finding], unmet: &[&str]) -> Report {
        let mut r: Report = serde_json::from_value(serde_json::json!({
            "schema": 1,
            "tool": {"name": "soclash", "version": "0"},
            "host": {"hostname": null, "root": "/", "os_release": {"id": null, "version_id": null, "pretty_name": null}, "glibc": null, "ld_cache": "new", "cpu_level": 3, "scanned_at": ""},
            "processes": [], "objects": [], "findings": [], "errors": [], "summary": {"objects": 0, "by_role": {}, "findings": {}, "errors": 0}
        }))
        .unwrap();
        r.findings = findings;
        r.overlay = Some(OverlayOutcome {
            introduced: introduced.iter().map(|f| FindingKey::of(f)).collect(),
            unmet: unmet.iter().map(|s| s.to_string()).collect(),
            ..OverlayOutcome::default()
        });
        r
    }

    /// Introduced findings at or above --fail-on decide; what was already
    /// there does not; below the threshold is named, not counted.
    #[test]
    fn introduced_findings_decide() {
        let old = finding(
            FindingId::UnresolvedDependency,
            Severity::Critical,
            Certainty::Certain,
            "/old",
        );
        let new = finding(
            FindingId::SymbolInterposition,
            Severity::High,
            Certainty::Likely,
            "/new",
        );
        let low = finding(
            FindingId::StaleLdCache,
            Severity::Medium,
            Certainty::Certain,
            "/c",
        );
        let r = report(
            vec![old.clone(), new.clone(), low.clone()],
            &[&new, &low],
            &[],
        );
        let v = judge(&r, FailOn::default()).unwrap();
        assert_eq!(v.outcome, Outcome::Introduces);
        assert_eq!(v.counted, vec![FindingKey::of(&new)]);
        assert_eq!(
            v.summary,
            "this upgrade introduces 1 finding at or above high: symbol-interposition (high, likely)"
        );
        let r = report(vec![old.clone(), low.clone()], &[&low], &[]);
        let v = judge(&r, FailOn::default()).unwrap();
        assert_eq!(v.outcome, Outcome::Nothing);
        assert_eq!(
            v.summary,
            "this upgrade introduces nothing at or above high (below it: stale-ld-cache (medium, certain))"
        );
        let v = judge(&r, "medium:certain".parse().unwrap()).unwrap();
        assert_eq!(v.outcome, Outcome::Introduces);
        assert_eq!(judge(&r, FailOn::NONE).unwrap().outcome, Outcome::Nothing);
        // A report without overlays has no verdict.
        let mut plain = r.clone();
        plain.overlay = None;
        assert_eq!(judge(&plain, FailOn::default()), None);
    }

    /// A waived introduced finding does not fail the what-if.
    #[test]
    fn waivers_apply() {
        let new = finding(
            FindingId::SymbolInterposition,
            Severity::High,
            Certainty::Likely,
            "/new",
        );
        let mut r = report(vec![new.clone()], &[&new], &[]);
        let w = waiver::parse(
            std::path::Path::new("w.yaml"),
            "- id: symbol-interposition\n  reason: reviewed\n  expires: 2999-01-01\n",
        )
        .unwrap();
        w.apply(&mut r, 0);
        let v = judge(&r, FailOn::default()).unwrap();
        assert_eq!(v.outcome, Outcome::Nothing);
        assert_eq!(
            v.summary,
            "this upgrade introduces nothing at or above high; 1 introduced finding waived"
        );
    }

    /// Unmet dependencies make it incomplete, unless --ignore-depends.
    #[test]
    fn unmet_dependencies_are_no_answer() {
        let new = finding(
            FindingId::SymbolInterposition,
            Severity::High,
            Certainty::Likely,
            "/new",
        );
        let unmet = ["m needs a, b: not installed and not part of this what-if"];
        let mut r = report(vec![new.clone()], &[&new], &unmet);
        let v = judge(&r, FailOn::default()).unwrap();
        assert_eq!(v.outcome, Outcome::Incomplete);
        assert!(
            v.summary.contains("m needs a, b: not installed"),
            "{}",
            v.summary
        );
        if let Some(o) = r.overlay.as_mut() {
            o.ignore_depends = true;
        }
        let v = judge(&r, FailOn::default()).unwrap();
        assert_eq!(v.outcome, Outcome::Introduces);
        assert!(
            v.summary.ends_with(
                "(--ignore-depends): m needs a, b: not installed and not part of this what-if"
            ),
            "{}",
            v.summary
        );
    }

    /// The table of a what-if opens with the verdict, then the introduced
    /// findings, what it resolves, what was already there.
    #[test]
    fn the_table_opens_with_the_verdict() {
        let old = finding(
            FindingId::UnresolvedDependency,
            Severity::Critical,
            Certainty::Certain,
            "/old",
        );
        let new = finding(
            FindingId::SymbolInterposition,
            Severity::High,
            Certainty::Likely,
            "/new",
        );
        let gone = finding(
            FindingId::StaleLdCache,
            Severity::Medium,
            Certainty::Certain,
            "/gone",
        );
        let mut r = report(vec![old, new.clone()], &[&new], &[]);
        if let Some(o) = r.overlay.as_mut() {
            o.resolved = vec![FindingKey::of(&gone)];
        }
        // Something was audited: an httpd.
        r.objects.push(
            serde_json::from_value(serde_json::json!({
                "path": "/usr/sbin/apache2", "role": "httpd", "soname": null, "needed": [],
                "resolved": {}, "loaded": true, "build_id": null, "size": 1,
                "class": "elf64", "machine": "x86_64"
            }))
            .unwrap(),
        );
        let v = judge(&r, FailOn::default());
        if let Some(o) = r.overlay.as_mut() {
            o.verdict = v;
        }
        let mut out = Vec::new();
        r.write_table(&mut out, &crate::report::TableStyle::default())
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("no {needle:?} in\n{text}"))
        };
        let order = [
            at(
                "this upgrade introduces 1 finding at or above high: symbol-interposition (high, likely)",
            ),
            at("introduced by this upgrade"),
            at("it resolves 1 finding:"),
            at("  medium stale-ld-cache (host): /gone"),
            at("already there before it: 1 finding"),
            at("unresolved-dependency · certain"),
        ];
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}\n{text}");
    }

    /// What the package manager does that the what-if does not model
    /// (rpm's scriptlets) is said with every verdict, after the answer.
    #[test]
    fn what_is_not_modelled_is_said() {
        let mut r = report(Vec::new(), &[], &[]);
        if let Some(o) = r.overlay.as_mut() {
            o.unmodelled = vec!["rpm's %pre/%post scriptlets are not modelled".into()];
        }
        let v = judge(&r, FailOn::default()).unwrap();
        assert_eq!(v.outcome, Outcome::Nothing);
        assert_eq!(
            v.summary,
            "this upgrade introduces nothing at or above high; rpm's %pre/%post scriptlets are not modelled"
        );
        let r = report(Vec::new(), &[], &["x needs y: not installed"]);
        let mut r = r;
        if let Some(o) = r.overlay.as_mut() {
            o.unmodelled = vec!["scriptlets".into()];
        }
        let v = judge(&r, FailOn::default()).unwrap();
        assert_eq!(v.outcome, Outcome::Incomplete);
        assert!(
            v.summary.ends_with("--ignore-depends); scriptlets"),
            "{}",
            v.summary
        );
    }
}
