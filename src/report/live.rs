//! Schema 1's optional `live` section (`scan --live`): the web server
//! processes found running, each held against its modelled process, and
//! the containers audited on their own roots.

use serde::{Deserialize, Serialize};

use super::Finding;

/// What `scan --live` read of the running processes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Live {
    /// The processes whose executable is the root's httpd or php-fpm, by
    /// pid.
    pub processes: Vec<LiveProcess>,
    /// Web server processes whose root is another directory than ours (a
    /// container, a chroot), each root audited on its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<Container>,
    /// What could not be read or decided, one line each (a maps file that
    /// could not be read, a budget reached).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One running process and how it compares with its model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LiveProcess {
    pub pid: u32,
    pub ppid: u32,
    /// The effective user, by name where the root's `/etc/passwd` has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// When it started (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// Its executable, inside the root.
    pub executable: String,
    /// Its command line or process title, as `ps` shows it.
    pub title: String,
    /// What it is to its server: `parent`, `child`, `daemon`, `master`,
    /// `pool NAME`.
    pub role: String,
    /// The modelled process it is (`apache`, `wsgi:GROUP`, `php-fpm`), when
    /// one matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// How it was matched with that process.
    pub matched_by: String,
    /// Its mount namespace, when it is not ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Why its maps could not be read; the rest is then empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maps: Option<String>,
    /// ELF objects it maps that the model has.
    pub confirmed: usize,
    /// Of those, the modules the model has as "may be imported": the
    /// application imported them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imported: Vec<String>,
    /// ELF objects it maps that the model lacks (loaded by a `dlopen` from
    /// code, an `LD_LIBRARY_PATH` or `LD_PRELOAD` of the service).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_modelled: Vec<NotModelled>,
    /// Members the model has as loaded that it does not map.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_mapped: Vec<String>,
    /// Members the model has as "may be imported" that it does not map.
    pub not_imported: usize,
    /// Files it maps that were deleted or replaced on disk since it started
    /// (each a `restart-needed` finding).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaced: Vec<String>,
}

/// A mapped object the model lacks, with the package that owns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NotModelled {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

/// Web server processes with a root of their own, audited against it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Container {
    /// The mount namespace (`mnt:[4026532…]`).
    pub namespace: String,
    /// The directory audited (`/proc/PID/root`).
    pub root: String,
    /// Its hostname and OS, as its root says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Objects of its inventory and files it could not audit.
    pub objects: usize,
    pub errors: usize,
    /// Its modelled processes.
    pub modelled: Vec<String>,
    pub processes: Vec<LiveProcess>,
    /// The findings of its root, as held against its processes.
    pub findings: Vec<Finding>,
}

impl Live {
    /// Whether a process was found whose maps could be read.
    pub fn any_readable(&self) -> bool {
        self.processes
            .iter()
            .chain(self.containers.iter().flat_map(|c| &c.processes))
            .any(|p| p.maps.is_none())
    }

    /// Whether processes were found at all.
    pub fn any_found(&self) -> bool {
        !self.processes.is_empty() || self.containers.iter().any(|c| !c.processes.is_empty())
    }

    /// The table's lines: the processes by modelled process and role, what
    /// they map that the model lacks, the containers, the notes.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.any_found() {
            out.push("live: no running httpd or php-fpm process of this root".into());
        } else {
            out.push(format!("live: {}", summary(&self.processes)));
        }
        for c in &self.containers {
            out.push(format!(
                "container {} ({}{}): {} · {} finding{}",
                c.namespace,
                c.root,
                c.os.as_deref()
                    .map(|o| format!(", {o}"))
                    .unwrap_or_default(),
                summary(&c.processes),
                c.findings.len(),
                if c.findings.len() == 1 { "" } else { "s" }
            ));
        }
        const SHOWN: usize = 5;
        for n in self.notes.iter().take(SHOWN) {
            out.push(format!("live: {n}"));
        }
        if self.notes.len() > SHOWN {
            out.push(format!(
                "live: … {} more notes (--format yaml lists them)",
                self.notes.len() - SHOWN
            ));
        }
        out
    }
}

/// `apache: parent 100, child 101-103 · wsgi:app: daemon 104 · 2 objects
/// not modelled · 1 restart-needed`.
fn summary(processes: &[LiveProcess]) -> String {
    let mut groups: Vec<(String, Vec<(String, u32)>)> = Vec::new();
    for p in processes {
        let name = p.process.clone().unwrap_or_else(|| {
            format!(
                "{} (not modelled)",
                p.executable.rsplit('/').next().unwrap_or_default()
            )
        });
        let role = p.role.clone();
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push((role, p.pid)),
            None => groups.push((name, vec![(role, p.pid)])),
        }
    }
    let mut parts: Vec<String> = groups
        .into_iter()
        .map(|(name, members)| {
            let mut roles: Vec<(String, Vec<u32>)> = Vec::new();
            for (role, pid) in members {
                match roles.iter_mut().find(|(r, _)| *r == role) {
                    Some((_, v)) => v.push(pid),
                    None => roles.push((role, vec![pid])),
                }
            }
            let roles: Vec<String> = roles
                .into_iter()
                .map(|(r, pids)| format!("{r} {}", pid_list(&pids)))
                .collect();
            format!("{name}: {}", roles.join(", "))
        })
        .collect();
    let unreadable = processes.iter().filter(|p| p.maps.is_some()).count();
    if unreadable > 0 {
        parts.push(format!("{unreadable} maps unreadable"));
    }
    let not_modelled: std::collections::BTreeSet<&str> = processes
        .iter()
        .flat_map(|p| p.not_modelled.iter().map(|n| n.path.as_str()))
        .collect();
    if !not_modelled.is_empty() {
        parts.push(format!(
            "{} object{} mapped but not modelled",
            not_modelled.len(),
            if not_modelled.len() == 1 { "" } else { "s" }
        ));
    }
    let replaced: std::collections::BTreeSet<&str> = processes
        .iter()
        .flat_map(|p| p.replaced.iter().map(String::as_str))
        .collect();
    if !replaced.is_empty() {
        parts.push(format!(
            "{} file{} replaced since start",
            replaced.len(),
            if replaced.len() == 1 { "" } else { "s" }
        ));
    }
    parts.join(" · ")
}

/// `101-103, 107`: sorted pids with runs joined.
fn pid_list(pids: &[u32]) -> String {
    let mut pids = pids.to_vec();
    pids.sort_unstable();
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for p in pids {
        match runs.last_mut() {
            Some((_, end)) if end.checked_add(1) == Some(p) => *end = p,
            _ => runs.push((p, p)),
        }
    }
    runs.iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_line_groups_processes() {
        let p = |pid, process: Option<&str>, role: &str| LiveProcess {
            pid,
            process: process.map(String::from),
            role: role.into(),
            executable: "/usr/sbin/apache2".into(),
            ..LiveProcess::default()
        };
        let mut live = Live {
            processes: vec![
                p(100, Some("apache"), "parent"),
                p(101, Some("apache"), "child"),
                p(102, Some("apache"), "child"),
                p(104, Some("apache"), "child"),
                p(103, Some("wsgi:app"), "daemon"),
                p(200, None, "child"),
            ],
            ..Live::default()
        };
        live.processes[5].maps = Some("permission denied".into());
        live.processes[1].replaced = vec!["/x".into()];
        assert_eq!(
            live.lines(),
            [
                "live: apache: parent 100, child 101-102, 104 · wsgi:app: daemon 103 · \
              apache2 (not modelled): child 200 · 1 maps unreadable · 1 file replaced since start"
            ]
        );
        assert!(live.any_readable());
        assert_eq!(
            Live::default().lines(),
            ["live: no running httpd or php-fpm process of this root"]
        );
    }
}
