//! `restart-needed`: a running server process (`scan --live`) maps a file
//! that was deleted or replaced on disk since it started, so it runs the
//! old code (often the old, vulnerable release) until its service is
//! restarted. The upgrade loop's other half: the what-if says what an
//! upgrade would bring, this says which processes have not taken it yet.
//!
//! The facts come from `crate::live` (the maps read, the path's identity
//! now, its package); this builds the finding from them and reads nothing.

use crate::model::{Certainty, Finding, FindingId, Severity};

/// A file one service's processes still map, though the path now holds
/// another file or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    /// The inner path mapped.
    pub path: String,
    /// The modelled processes they are (`apache`, `wsgi:app`, `php-fpm`),
    /// or the executable's name when no model matched.
    pub processes: Vec<String>,
    /// Each process that maps it: pid, role (`parent`, `pool www`), start.
    pub pids: Vec<(u32, String, Option<String>)>,
    /// Unlinked (`(deleted)` in maps), else replaced: the path names
    /// another file now.
    pub deleted: bool,
    /// What the path holds now (`inode 12 on 254:0`), for a replaced one.
    pub now: Option<String>,
    /// The package that owns the path now (`libapr1 1.7.2-3`).
    pub package: Option<String>,
    /// The command that restarts the service (`systemctl restart apache2`).
    pub command: String,
    /// Clash findings whose objects include the path (their ids).
    pub clashes: Vec<String>,
}

/// Pids named in a finding's evidence before the rest are counted.
const SHOWN_PIDS: usize = 10;

/// The finding for one file of one service: medium, high when a clash
/// finding involves the file (the clash the process runs with may be the
/// one the upgrade fixed, or one it brings at the restart); certain, as
/// the maps say what is mapped.
pub fn restart_needed(r: &Replaced) -> Finding {
    let pids: Vec<String> = r.pids.iter().map(|(p, _, _)| p.to_string()).collect();
    let shown = if pids.len() > SHOWN_PIDS {
        format!(
            "{} and {} more",
            pids[..SHOWN_PIDS].join(", "),
            pids.len() - SHOWN_PIDS
        )
    } else {
        pids.join(", ")
    };
    let what = if r.deleted { "deleted" } else { "replaced" };
    let mut evidence: Vec<String> = r
        .pids
        .iter()
        .take(SHOWN_PIDS)
        .map(|(pid, role, started)| {
            format!(
                "pid {pid} ({role}{}) maps {}{}",
                started
                    .as_deref()
                    .map(|s| format!(", started {s}"))
                    .unwrap_or_default(),
                r.path,
                if r.deleted { " (deleted)" } else { "" }
            )
        })
        .collect();
    if r.pids.len() > SHOWN_PIDS {
        evidence.push(format!(
            "… and {} more processes",
            r.pids.len() - SHOWN_PIDS
        ));
    }
    if let Some(now) = &r.now {
        evidence.push(format!(
            "the path names another file now ({now}) than the one mapped"
        ));
    }
    evidence.push(match &r.package {
        Some(p) => format!("the file at the path now is package {p}'s"),
        None if r.deleted => "no file is at the path now, or no package owns it".into(),
        None => "no package owns the file at the path now".into(),
    });
    if !r.clashes.is_empty() {
        evidence.push(format!(
            "a clash finding involves it: {}",
            r.clashes.join(", ")
        ));
    }
    let processes = r.processes.join(", ");
    Finding {
        id: FindingId::RestartNeeded,
        severity: if r.clashes.is_empty() {
            Severity::Medium
        } else {
            Severity::High
        },
        certainty: Certainty::Certain,
        title: format!(
            "{processes} (pid {shown}) still map{} {}, {what} on disk since {} started",
            if r.pids.len() == 1 { "s" } else { "" },
            r.path,
            if r.pids.len() == 1 { "it" } else { "they" }
        ),
        process: r.processes.first().cloned(),
        processes: if r.processes.len() > 1 {
            r.processes.clone()
        } else {
            Vec::new()
        },
        objects: vec![r.path.clone()],
        symbols: Vec::new(),
        bindings: Vec::new(),
        evidence,
        remedy: format!(
            "Restart the service so that its processes map the file now on disk: `{}`. \
             Until then they run the code of the old file.",
            r.command
        ),
        references: vec![
            "https://man7.org/linux/man-pages/man5/proc_pid_maps.5.html (a mapped file that was unlinked shows as (deleted))"
                .into(),
        ],
        symptoms: Vec::new(),
        status: None,
    }
}

/// The command that makes a service's processes map their files anew:
/// Apache must be restarted (a graceful restart keeps the parent, which
/// has the old files mapped); php-fpm's reload re-executes its master.
/// The unit is the cgroup's when the process runs in a service, else the
/// distribution's name from the executable (`apache2`, `httpd`,
/// Debian's `php8.2-fpm` for `php-fpm8.2`).
pub fn service_command(kind: &str, unit: Option<&str>, exe_name: &str) -> String {
    let unit = unit
        .map(|u| u.trim_end_matches(".service").to_string())
        .unwrap_or_else(|| match exe_name.strip_prefix("php-fpm") {
            Some(v) if !v.is_empty() => format!("php{v}-fpm"),
            _ => exe_name.to_string(),
        });
    let verb = if kind == "php-fpm" {
        "reload"
    } else {
        "restart"
    };
    format!("systemctl {verb} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replaced() -> Replaced {
        Replaced {
            path: "/usr/lib/x86_64-linux-gnu/libapr-1.so.0.7.2".into(),
            processes: vec!["apache".into()],
            pids: vec![
                (100, "parent".into(), Some("2026-01-01T00:00:00Z".into())),
                (101, "child".into(), None),
            ],
            deleted: true,
            now: None,
            package: Some("libapr1 1.7.2-3".into()),
            command: "systemctl restart apache2".into(),
            clashes: Vec::new(),
        }
    }

    /// Medium alone, high with a clash; names the pids, the package and
    /// the command.
    #[test]
    fn restart_needed_names_what_to_do() {
        let f = restart_needed(&replaced());
        assert_eq!(f.id, FindingId::RestartNeeded);
        assert_eq!(
            (f.severity, f.certainty),
            (Severity::Medium, Certainty::Certain)
        );
        assert!(f.title.contains("pid 100, 101"), "{}", f.title);
        assert!(f.evidence.iter().any(|e| e.contains("libapr1 1.7.2-3")));
        assert!(f.evidence[0].contains("started 2026-01-01"));
        assert!(f.remedy.contains("`systemctl restart apache2`"));
        let mut r = replaced();
        r.clashes = vec!["symbol-interposition".into()];
        r.pids = (0..25).map(|p| (p, "child".into(), None)).collect();
        let f = restart_needed(&r);
        assert_eq!(f.severity, Severity::High);
        assert!(f.title.contains("and 15 more"), "{}", f.title);
        assert!(f.evidence.iter().any(|e| e.contains("15 more processes")));
    }

    #[test]
    fn service_commands() {
        assert_eq!(
            service_command("apache", Some("apache2.service"), "apache2"),
            "systemctl restart apache2"
        );
        assert_eq!(
            service_command("apache", None, "httpd"),
            "systemctl restart httpd"
        );
        assert_eq!(
            service_command("php-fpm", None, "php-fpm8.2"),
            "systemctl reload php8.2-fpm"
        );
        assert_eq!(
            service_command("php-fpm", Some("php-fpm.service"), "php-fpm"),
            "systemctl reload php-fpm"
        );
    }
}
