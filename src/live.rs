//! `soclash scan --live`: the scan of `/` held against the running server.
//! The processes whose executable is the root's httpd or php-fpm are read
//! from `/proc` (`host::live`: links, `stat`, `cmdline`, `maps`; nothing
//! executed, traced or attached to), each matched with its modelled
//! process, and what it maps compared with the model: confirmed, mapped
//! but not modelled, modelled but not mapped. A finding all of whose
//! objects one process maps becomes certain; a likely one whose imports
//! no process made says so; a mapped file deleted or replaced since the
//! process started is `restart-needed` (`rules::live`). A web server whose
//! root is another directory (a container, a chroot) is audited against
//! its own root, `/proc/PID/root`.
//!
//! Matching, in this order:
//! - the executable: `exe`'s path (or, when the path now names another
//!   file, the identity of the file the process runs) is the executable
//!   of a modelled process; without access to `exe` (not root), `comm`,
//!   which is its file name cut to 15 bytes;
//! - Apache: the process whose parent is no such process is the parent;
//!   a child titled `(wsgi:GROUP)` (mod_wsgi's `display-name=%{GROUP}`) is
//!   that daemon group's process; an untitled child that maps a module
//!   only one daemon group's model has (its Python home's) is that
//!   group's; every other child is the `apache` child process;
//! - php-fpm: `php-fpm: master process (…)` is the master, `php-fpm: pool
//!   NAME` a worker of pool NAME; both are the `php-fpm` model.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use crate::budget;
use crate::host::live::{self as facts, Details, Exe, Listed, MapsError};
use crate::model::{Certainty, FindingId};
use crate::report::live::{Container, Live, LiveProcess, NotModelled};
use crate::report::process::{How, MemberEntry};
use crate::report::{ProcessEntry, Report};
use crate::root::{FileId, Root};
use crate::rules::live::{Replaced, restart_needed, service_command};
use crate::scan::{ScanOptions, scan, scan_configured};

/// Why the running processes could not be looked at at all.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("{}: cannot list the processes: {error}", dir.display())]
    List { dir: PathBuf, error: std::io::Error },
}

/// Scans `root` (this machine's `/`) and holds the report against the
/// processes `proc_dir` (`/proc`) lists.
pub fn scan_live(root: &Root, opts: &ScanOptions, proc_dir: &Path) -> Result<Report, LiveError> {
    let listing = facts::list(proc_dir).map_err(|error| LiveError::List {
        dir: proc_dir.to_path_buf(),
        error,
    })?;
    let (own_ns, own_root) = facts::own(proc_dir);
    let mut notes = Vec::new();
    if listing.truncated {
        notes.push(format!(
            "{}: the processes after it were not looked at",
            budget::exceeded("LIVE_PROCESSES", budget::LIVE_PROCESSES)
        ));
    }
    if listing.unreadable_exe > 0 {
        notes.push(format!(
            "the executable of {} processes could not be read (not root, or another user namespace): those are matched by their name",
            listing.unreadable_exe
        ));
    }
    // The details of what looks like a web server by its executable's
    // name, before the model says which executables are the root's: the
    // running Apache's `-f`, and the containers.
    let mut details: BTreeMap<u32, Details> = BTreeMap::new();
    let fetch = |pid: u32, details: &mut BTreeMap<u32, Details>, notes: &mut Vec<String>| {
        if details.contains_key(&pid) {
            return;
        }
        if details.len() >= budget::LIVE_MATCHED {
            let line = format!(
                "{}: further processes not read",
                budget::exceeded("LIVE_MATCHED", budget::LIVE_MATCHED)
            );
            if !notes.contains(&line) {
                notes.push(line);
            }
            return;
        }
        if let Some(d) = facts::details(proc_dir, pid) {
            details.insert(pid, d);
        }
    };
    for l in &listing.processes {
        if looks_like_server(l.exe.file_name()) {
            fetch(l.pid, &mut details, &mut notes);
        }
    }
    let same_root = |d: &Details| match (d.root_id, own_root) {
        (Some(a), Some(b)) => a == b,
        _ => d.root_link.as_deref() == Some("/"),
    };
    let config = running_config(&listing, &details, &same_root);
    let mut report = scan_configured(root, opts, config.clone());
    if let Some(c) = &config {
        notes.push(format!(
            "Apache modelled from {}, the configuration the running parent was started with (-f)",
            c.display()
        ));
    }
    let execs = Executables::new(root, &report);
    for l in &listing.processes {
        if execs.of(&l.exe, None).is_some() {
            fetch(l.pid, &mut details, &mut notes);
        }
    }
    let ours: Vec<(Listed, Details)> = listing
        .processes
        .iter()
        .filter_map(|l| Some((l.clone(), details.get(&l.pid)?.clone())))
        .filter(|(_, d)| same_root(d))
        .collect();
    let ctx = Context {
        proc_dir,
        boot: facts::boot_time(proc_dir),
        ticks: facts::clock_ticks(),
        own_ns: own_ns.clone(),
    };
    let (processes, mut more) = hold(root, &mut report, &ours, &ctx);
    notes.append(&mut more);

    // Web servers with a root of their own: one scan per root.
    let mut roots: BTreeMap<String, Vec<(Listed, Details)>> = BTreeMap::new();
    for l in &listing.processes {
        let Some(d) = details.get(&l.pid) else {
            continue;
        };
        if same_root(d) || !looks_like_server(l.exe.file_name()) {
            continue;
        }
        let key = match d.root_id {
            Some(id) => format!("{}:{}", id.dev, id.ino),
            None => format!("pid {}", l.pid),
        };
        roots.entry(key).or_default().push((l.clone(), d.clone()));
    }
    let mut containers = Vec::new();
    for (i, procs) in roots.into_values().enumerate() {
        if i >= budget::LIVE_CONTAINERS {
            notes.push(format!(
                "{}: further roots not audited",
                budget::exceeded("LIVE_CONTAINERS", budget::LIVE_CONTAINERS)
            ));
            break;
        }
        let Some((first, d)) = procs.first() else {
            continue;
        };
        let dir = proc_dir.join(first.pid.to_string()).join("root");
        let croot = match Root::of_process(&dir) {
            Ok(r) => r,
            Err(e) => {
                notes.push(format!("{}: cannot open as a root: {e}", dir.display()));
                continue;
            }
        };
        let mut creport = scan(&croot, opts);
        let (cprocs, mut cnotes) = hold(&croot, &mut creport, &procs, &ctx);
        notes.extend(cnotes.drain(..).map(|n| format!("{}: {n}", dir.display())));
        containers.push(Container {
            namespace: d.mnt_ns.clone().unwrap_or_else(|| "unknown".into()),
            root: dir.display().to_string(),
            hostname: creport.host.hostname.clone(),
            os: creport.host.os_release.pretty_name.clone(),
            objects: creport.objects.len(),
            errors: creport.errors.len(),
            modelled: creport.processes.iter().map(|p| p.name.clone()).collect(),
            processes: cprocs,
            findings: creport.findings,
        });
    }
    report.live = Some(Live {
        processes,
        containers,
        notes,
    });
    report.finish();
    Ok(report)
}

/// Names of the executables `scan --live` looks at before the model
/// says which are the root's (and, in another root, instead of it):
/// httpd under its distributions' names, and php-fpm.
fn looks_like_server(name: &str) -> bool {
    (name.starts_with("httpd") || name.starts_with("apache2") || name.starts_with("php-fpm"))
        && !name.starts_with("apache2ctl")
}

/// The `-f` of the running Apache parent on our root (an absolute path,
/// or one relative to its `-d`), which the model must read instead of the
/// distribution's main file.
fn running_config(
    listing: &facts::Listing,
    details: &BTreeMap<u32, Details>,
    same_root: &dyn Fn(&Details) -> bool,
) -> Option<PathBuf> {
    let httpd: BTreeSet<u32> = listing
        .processes
        .iter()
        .filter(|l| {
            let n = l.exe.file_name();
            n.starts_with("httpd") || n.starts_with("apache2")
        })
        .map(|l| l.pid)
        .collect();
    httpd.iter().find_map(|pid| {
        let d = details.get(pid)?;
        if httpd.contains(&d.ppid) || !same_root(d) {
            return None;
        }
        let (mut file, mut server_root) = (None, None);
        let mut args = d.cmdline.iter().skip(1);
        while let Some(a) = args.next() {
            let (opt, inline) = match a.get(..2) {
                Some(o @ ("-f" | "-d")) => (o, a.get(2..).unwrap_or_default()),
                _ => continue,
            };
            let value = if inline.is_empty() {
                args.next()?.clone()
            } else {
                inline.to_string()
            };
            if opt == "-f" {
                file = Some(PathBuf::from(value));
            } else {
                server_root = Some(PathBuf::from(value));
            }
        }
        let file = file?;
        if file.is_absolute() {
            Some(file)
        } else {
            server_root
                .filter(|r| r.is_absolute())
                .map(|r| r.join(file))
        }
    })
}

/// What does not change from one process to the next.
struct Context<'a> {
    proc_dir: &'a Path,
    boot: Option<u64>,
    ticks: u64,
    own_ns: Option<String>,
}

/// The executables of the modelled processes: by canonical path (and the
/// other paths that reach them), and by file identity.
struct Executables {
    /// Path → (canonical path, modelled processes).
    by_path: BTreeMap<String, (String, Vec<String>)>,
    by_id: BTreeMap<FileId, String>,
}

impl Executables {
    fn new(root: &Root, report: &Report) -> Executables {
        let mut by_path: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
        for p in &report.processes {
            let Some(exe) = p.members.iter().find(|m| m.how == How::Exec) else {
                continue;
            };
            let e = by_path
                .entry(exe.object.clone())
                .or_insert_with(|| (exe.object.clone(), Vec::new()));
            e.1.push(p.name.clone());
        }
        for o in &report.objects {
            if let Some((canonical, names)) = by_path.get(&o.path).cloned() {
                for n in &o.names {
                    by_path.insert(n.clone(), (canonical.clone(), names.clone()));
                }
            }
        }
        let by_id = by_path
            .values()
            .filter_map(|(c, _)| Some((root.open(Path::new(c)).ok()?.id, c.clone())))
            .collect();
        Executables { by_path, by_id }
    }

    /// The canonical executable and its processes, if `exe` is one.
    fn of(&self, exe: &Exe, prefix: Option<&str>) -> Option<(String, Vec<String>)> {
        match exe {
            Exe::Link { path, id, .. } => {
                let inner = inner_path(path, prefix);
                self.by_path.get(&inner).cloned().or_else(|| {
                    let c = self.by_id.get(id.as_ref()?)?;
                    self.by_path.get(c).cloned()
                })
            }
            // `comm` is the file name cut to TASK_COMM_LEN - 1 bytes.
            Exe::Comm(comm) => self
                .by_path
                .values()
                .find(|(c, _)| {
                    let name = c.rsplit('/').next().unwrap_or(c).as_bytes();
                    name.get(..name.len().min(15)) == Some(comm.as_bytes())
                })
                .cloned(),
        }
    }
}

/// A path as a process's maps or `exe` give it, inside its root: the
/// kernel writes it from our root, so a chroot's paths begin with the
/// chroot's directory (its `root` link), which is cut off.
fn inner_path(path: &str, prefix: Option<&str>) -> String {
    match prefix.filter(|p| *p != "/") {
        Some(p) => match path.strip_prefix(p) {
            Some(rest) if rest.starts_with('/') => rest.to_string(),
            _ => path.to_string(),
        },
        None => path.to_string(),
    }
}

/// One mapped file, its mappings taken together.
struct Seen {
    path: String,
    deleted: bool,
    dev: u64,
    inode: u64,
    exec: bool,
    /// One of its ranges, for `map_files`.
    range: (u64, u64),
}

/// The live processes of `procs` that are `report`'s root's web server,
/// compared with its models; `report`'s findings adjusted and
/// `restart-needed` added. Returns the processes and notes.
fn hold(
    root: &Root,
    report: &mut Report,
    procs: &[(Listed, Details)],
    ctx: &Context<'_>,
) -> (Vec<LiveProcess>, Vec<String>) {
    let execs = Executables::new(root, report);
    let mut notes = Vec::new();
    let users = root
        .read(Path::new("/etc/passwd"), budget::named!(SMALL_FILE))
        .map(|b| facts::users(&b))
        .unwrap_or_default();
    let entries: BTreeMap<&str, &ProcessEntry> = report
        .processes
        .iter()
        .map(|p| (p.name.as_str(), p))
        .collect();
    let members: BTreeMap<&str, BTreeMap<&str, &MemberEntry>> = report
        .processes
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.members
                    .iter()
                    .filter(|m| !m.installed_only)
                    .map(|m| (m.object.as_str(), m))
                    .collect(),
            )
        })
        .collect();
    let aliases: BTreeMap<&str, &str> = report
        .objects
        .iter()
        .flat_map(|o| o.names.iter().map(move |n| (n.as_str(), o.path.as_str())))
        .collect();
    // Modules only one daemon group's model has, by group.
    let apache_members = members.get(crate::image::APACHE.name);
    let group_only: BTreeMap<&str, BTreeSet<&str>> = members
        .iter()
        .filter(|(n, _)| n.starts_with(crate::image::WSGI_PREFIX))
        .map(|(n, ms)| {
            let own: BTreeSet<&str> = ms
                .keys()
                .copied()
                .filter(|o| apache_members.is_none_or(|a| !a.contains_key(o)))
                .filter(|o| {
                    members
                        .iter()
                        .filter(|(other, _)| other != &n)
                        .all(|(_, m)| !m.contains_key(o))
                })
                .collect();
            (*n, own)
        })
        .collect();

    // Matched processes: (listed, details, canonical exe, kind).
    let mut matched: Vec<(&Listed, &Details, String, Vec<String>)> = Vec::new();
    for (l, d) in procs {
        let prefix = d.root_link.as_deref();
        if let Some((exe, names)) = execs.of(&l.exe, prefix) {
            matched.push((l, d, exe, names));
        }
    }
    let pids: BTreeSet<u32> = matched.iter().map(|(l, ..)| l.pid).collect();
    let mut out: Vec<LiveProcess> = Vec::new();
    let mut mapped_sets: Vec<(u32, BTreeSet<String>)> = Vec::new();
    let mut replaced: BTreeMap<(String, String), Replaced> = BTreeMap::new();
    let mut lookups: BTreeSet<PathBuf> = BTreeSet::new();
    let mut now_ids: BTreeMap<String, Option<FileId>> = BTreeMap::new();
    for (l, d, exe, names) in &matched {
        let prefix = d.root_link.as_deref();
        let apache = names.iter().any(|n| n == crate::image::APACHE.name);
        let title = d.cmdline.join(" ");
        let title = title.chars().take(200).collect::<String>();
        let maps = facts::read_maps(ctx.proc_dir, l.pid);
        let maps = match maps {
            Err(MapsError::Gone) => continue,
            other => other,
        };
        let seen: Vec<Seen> = match &maps {
            Ok(m) => {
                let mut by_path: BTreeMap<String, Seen> = BTreeMap::new();
                for x in &m.mappings {
                    let path = inner_path(&x.path, prefix);
                    let e = by_path.entry(path.clone()).or_insert(Seen {
                        path,
                        deleted: x.deleted,
                        dev: x.dev,
                        inode: x.inode,
                        exec: false,
                        range: (x.start, x.end),
                    });
                    e.exec |= x.exec;
                    e.deleted |= x.deleted;
                }
                by_path.into_values().collect()
            }
            Err(_) => Vec::new(),
        };
        let canonical = |p: &str| -> String { aliases.get(p).map_or(p, |c| c).to_string() };
        // Which modelled process it is.
        let mut role;
        let mut process: Option<String>;
        let mut matched_by;
        if apache {
            if pids.contains(&d.ppid) {
                role = "child".to_string();
                process = Some(crate::image::APACHE.name.to_string());
                matched_by = format!("its executable {exe}, a child of pid {}", d.ppid);
                let titled = title
                    .trim()
                    .strip_prefix('(')
                    .and_then(|t| t.split_once(')'))
                    .and_then(|(t, _)| t.strip_prefix(crate::image::WSGI_PREFIX));
                if let Some(group) = titled {
                    let name = crate::image::daemon_process(group);
                    role = "daemon".into();
                    if entries.contains_key(name.as_str()) {
                        matched_by = format!("its title ({name}), mod_wsgi's display-name");
                        process = Some(name);
                    } else {
                        matched_by = format!(
                            "its title ({name}); the model has no daemon process group {group}"
                        );
                        process = None;
                    }
                } else {
                    let mapped: BTreeSet<String> =
                        seen.iter().map(|s| canonical(&s.path)).collect();
                    let groups: Vec<(&str, &str)> = group_only
                        .iter()
                        .filter_map(|(g, own)| {
                            own.iter().find(|o| mapped.contains(**o)).map(|o| (*g, *o))
                        })
                        .collect();
                    if let [(g, o)] = groups.as_slice() {
                        role = "daemon".into();
                        process = Some(g.to_string());
                        matched_by = format!("it maps {o}, which only {g}'s model has");
                    }
                }
            } else {
                role = "parent".into();
                process = Some(crate::image::APACHE.name.to_string());
                matched_by = format!(
                    "its executable {exe}; the parent, modelled as the image its children fork from"
                );
            }
        } else {
            process = names.first().cloned();
            let t = title.trim();
            role = if t.starts_with("php-fpm: master") {
                "master".into()
            } else if let Some(pool) = t.strip_prefix("php-fpm: pool ") {
                format!("pool {}", pool.trim())
            } else {
                "process".into()
            };
            matched_by = format!("its executable {exe} and its title");
        }
        let started = match (ctx.boot, d.start_ticks) {
            (Some(b), Some(t)) => Some(
                humantime::format_rfc3339_seconds(
                    UNIX_EPOCH + Duration::from_secs(b.saturating_add(t / ctx.ticks)),
                )
                .to_string(),
            ),
            _ => None,
        };
        let mut lp = LiveProcess {
            pid: l.pid,
            ppid: d.ppid,
            user: d
                .uid
                .map(|u| users.get(&u).cloned().unwrap_or_else(|| u.to_string())),
            started: started.clone(),
            executable: exe.clone(),
            title,
            role: role.clone(),
            process: process.clone(),
            matched_by,
            namespace: d.mnt_ns.clone().filter(|n| Some(n) != ctx.own_ns.as_ref()),
            ..LiveProcess::default()
        };
        if let Err(e) = &maps {
            lp.maps = Some(match e {
                MapsError::Unreadable(why) => format!(
                    "/proc/{}/maps could not be read ({why}): run as root to compare it",
                    l.pid
                ),
                _ => format!(
                    "/proc/{}/maps: {}",
                    l.pid,
                    budget::exceeded("LIVE_MAPS_BYTES", budget::bytes(budget::LIVE_MAPS_BYTES))
                ),
            });
            notes.push(lp.maps.clone().unwrap_or_default());
            out.push(lp);
            continue;
        }
        if let Ok(m) = &maps {
            if m.bad_lines > 0 {
                notes.push(format!(
                    "/proc/{}/maps: {} lines not understood",
                    l.pid, m.bad_lines
                ));
            }
        }
        let empty = BTreeMap::new();
        let ms = process
            .as_deref()
            .and_then(|p| members.get(p))
            .unwrap_or(&empty);
        let mut mapped: BTreeSet<String> = BTreeSet::new();
        for s in &seen {
            let path = canonical(&s.path);
            let member = ms.get(path.as_str());
            if member.is_none() && !s.exec {
                // A data file (locale-archive, a cache): no object.
                continue;
            }
            if member.is_none() && !s.deleted && !is_elf(root, &path) {
                continue;
            }
            mapped.insert(path.clone());
            match member {
                Some(m) => {
                    lp.confirmed += 1;
                    if m.may_be_imported {
                        lp.imported.push(path.clone());
                    }
                }
                None => {
                    lookups.insert(PathBuf::from(&path));
                    lp.not_modelled.push(NotModelled {
                        path: path.clone(),
                        package: None,
                    });
                }
            }
            // Deleted, or the path names another file now.
            let now = *now_ids
                .entry(s.path.clone())
                .or_insert_with(|| root.open(Path::new(&s.path)).ok().map(|o| o.id));
            let changed = if s.deleted {
                Some(None)
            } else {
                match now {
                    Some(id) if id.dev == s.dev => (id.ino != s.inode).then_some(Some(id)),
                    // Another device number (overlayfs shows the layer's):
                    // the identity through map_files, which root may stat.
                    Some(id) => {
                        let link = ctx
                            .proc_dir
                            .join(l.pid.to_string())
                            .join("map_files")
                            .join(format!("{:x}-{:x}", s.range.0, s.range.1));
                        std::fs::metadata(link)
                            .ok()
                            .filter(|m| m.dev() != id.dev || m.ino() != id.ino)
                            .map(|_| Some(id))
                    }
                    None => None,
                }
            };
            if let Some(now) = changed {
                lp.replaced.push(s.path.clone());
                lookups.insert(PathBuf::from(&s.path));
                let kind = if apache {
                    crate::image::APACHE.name
                } else {
                    crate::image::PHP_FPM.name
                };
                let exe_name = exe.rsplit('/').next().unwrap_or(exe);
                let command = service_command(kind, d.unit.as_deref(), exe_name);
                let r = replaced
                    .entry((command.clone(), s.path.clone()))
                    .or_insert_with(|| Replaced {
                        path: s.path.clone(),
                        processes: Vec::new(),
                        pids: Vec::new(),
                        deleted: s.deleted,
                        now: now.map(|id| {
                            format!(
                                "inode {} on {}:{}, the process maps inode {} on {}:{}",
                                id.ino,
                                rustix::fs::major(id.dev),
                                rustix::fs::minor(id.dev),
                                s.inode,
                                rustix::fs::major(s.dev),
                                rustix::fs::minor(s.dev)
                            )
                        }),
                        package: None,
                        command,
                        clashes: Vec::new(),
                    });
                let name = process.clone().unwrap_or_else(|| exe_name.to_string());
                if !r.processes.contains(&name) {
                    r.processes.push(name);
                }
                r.pids.push((l.pid, role.clone(), started.clone()));
            }
        }
        for (object, m) in ms {
            if mapped.contains(*object) {
                continue;
            }
            if m.may_be_imported {
                lp.not_imported += 1;
            } else {
                lp.not_mapped.push(object.to_string());
            }
        }
        mapped_sets.push((l.pid, mapped));
        out.push(lp);
    }

    // Packages of what the model lacks and of the replaced paths.
    let owners = if lookups.is_empty() {
        BTreeMap::new()
    } else {
        crate::host::packages::owners(root, &lookups).by_file
    };
    let package = |p: &str| {
        owners
            .get(Path::new(p))
            .map(|p| format!("{} {}", p.name, p.version))
    };
    for lp in &mut out {
        for n in &mut lp.not_modelled {
            n.package = package(&n.path);
        }
    }

    // The findings held against what is mapped.
    let readable = mapped_sets.len();
    let importable: BTreeSet<&str> = report
        .processes
        .iter()
        .flat_map(|p| &p.members)
        .filter(|m| m.may_be_imported && !m.installed_only)
        .map(|m| m.object.as_str())
        .collect();
    let any_mapped: BTreeSet<&str> = mapped_sets
        .iter()
        .flat_map(|(_, s)| s.iter().map(String::as_str))
        .collect();
    let mut adjusted = Vec::new();
    for (i, f) in report.findings.iter().enumerate() {
        if f.objects.is_empty() || f.id == FindingId::RestartNeeded {
            continue;
        }
        let in_pids: Vec<String> = mapped_sets
            .iter()
            .filter(|(_, s)| f.objects.iter().all(|o| s.contains(o)))
            .map(|(p, _)| p.to_string())
            .collect();
        if !in_pids.is_empty() {
            adjusted.push((
                i,
                Some(Certainty::Certain),
                format!(
                    "live: every object of it is mapped in pid {}",
                    in_pids.join(", ")
                ),
            ));
        } else if f.certainty == Certainty::Likely && readable > 0 {
            let unseen: Vec<&str> = f
                .objects
                .iter()
                .map(String::as_str)
                .filter(|o| importable.contains(o) && !any_mapped.contains(o))
                .collect();
            if !unseen.is_empty() {
                let names: Vec<&str> = unseen
                    .iter()
                    .map(|o| o.rsplit('/').next().unwrap_or(o))
                    .collect();
                adjusted.push((
                    i,
                    None,
                    format!(
                        "live: not imported: no running process ({readable} read) maps {}",
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    for (i, certainty, line) in adjusted {
        if let Some(f) = report.findings.get_mut(i) {
            if let Some(c) = certainty {
                f.certainty = c;
            }
            f.evidence.push(line);
        }
    }
    let mut restart = Vec::new();
    for (_, mut r) in replaced {
        r.package = package(&r.path);
        r.clashes = report
            .findings
            .iter()
            .filter(|f| f.id != FindingId::RestartNeeded && f.objects.contains(&r.path))
            .map(|f| f.id.to_string())
            .collect();
        r.clashes.dedup();
        restart.push(restart_needed(&r));
    }
    report.findings.extend(restart);
    out.sort_by_key(|p| p.pid);
    (out, notes)
}

/// Whether the file at `path` begins as ELF does (the 4 bytes of its
/// identification; nothing else is read).
fn is_elf(root: &Root, path: &str) -> bool {
    let Ok(f) = root.open(Path::new(path)) else {
        return false;
    };
    let mut magic = [0u8; 4];
    (&f.file).read_exact(&mut magic).is_ok() && magic == *b"\x7fELF"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_a_chroot() {
        assert_eq!(
            inner_path("/srv/c/usr/lib/x.so", Some("/srv/c")),
            "/usr/lib/x.so"
        );
        assert_eq!(
            inner_path("/srv/cx/lib.so", Some("/srv/c")),
            "/srv/cx/lib.so"
        );
        assert_eq!(inner_path("/usr/lib/x.so", Some("/")), "/usr/lib/x.so");
        assert_eq!(inner_path("/usr/lib/x.so", None), "/usr/lib/x.so");
    }

    #[test]
    fn server_names() {
        for n in ["apache2", "httpd", "httpd.worker", "php-fpm8.2", "php-fpm"] {
            assert!(looks_like_server(n), "{n}");
        }
        for n in ["apache2ctl", "bash", "php8.2", "nginx"] {
            assert!(!looks_like_server(n), "{n}");
        }
    }

    /// `-f` as one word or two, relative to `-d`, only the parent's.
    #[test]
    fn the_running_parents_configuration() {
        let listed = |pid, path: &str| Listed {
            pid,
            exe: Exe::Link {
                path: path.into(),
                deleted: false,
                id: None,
            },
        };
        let listing = facts::Listing {
            processes: vec![
                listed(10, "/usr/sbin/apache2"),
                listed(11, "/usr/sbin/apache2"),
            ],
            ..Default::default()
        };
        let d = |ppid, args: &[&str]| Details {
            ppid,
            cmdline: args.iter().map(|s| s.to_string()).collect(),
            root_link: Some("/".into()),
            ..Details::default()
        };
        let yes = |_: &Details| true;
        let mut details = BTreeMap::new();
        details.insert(
            10,
            d(
                1,
                &[
                    "/usr/sbin/apache2",
                    "-f",
                    "/tmp/x/httpd.conf",
                    "-DFOREGROUND",
                ],
            ),
        );
        details.insert(11, d(10, &["/usr/sbin/apache2", "-f/elsewhere"]));
        assert_eq!(
            running_config(&listing, &details, &yes),
            Some(PathBuf::from("/tmp/x/httpd.conf"))
        );
        details.insert(
            10,
            d(1, &["/usr/sbin/apache2", "-d", "/srv/a", "-fconf/h.conf"]),
        );
        assert_eq!(
            running_config(&listing, &details, &yes),
            Some(PathBuf::from("/srv/a/conf/h.conf"))
        );
        details.insert(10, d(1, &["/usr/sbin/apache2", "-k", "start"]));
        assert_eq!(running_config(&listing, &details, &yes), None);
        details.insert(10, d(1, &["/usr/sbin/apache2", "-f"]));
        assert_eq!(running_config(&listing, &details, &yes), None);
    }
}
