//! mod_wsgi's processes as its configuration divides them: each
//! `WSGIDaemonProcess` group is a process of its own, forked from the Apache
//! parent, and every WSGI application runs either in one of them or
//! embedded in Apache's child processes. This module says which directives
//! concern which of those processes and where each one's Python finds its
//! modules; the process model (`image`) builds the processes from it.
//!
//! mod_wsgi's rules (6.0; `wsgi_config.c`, `wsgi_daemon.c`,
//! `wsgi_interp.c`, and docs/configuration-directives):
//!
//! - An application's process group is its `WSGIScriptAlias`'s (or
//!   `WSGIImportScript`'s) `process-group=` (request notes override the
//!   per-directory value), else the `WSGIProcessGroup` of the most specific
//!   section that covers its script, in Apache's merge order (a
//!   `<VirtualHost>` over the server, `<Directory>` by depth, then
//!   `<DirectoryMatch>`, `<Files>`, `<Location>`; the later of equals),
//!   else `%{GLOBAL}`.
//! - `%{GLOBAL}` (and an empty name) is embedded mode: the Apache child
//!   processes. A name no `WSGIDaemonProcess` defines is no process at all:
//!   mod_wsgi answers the application's requests with 500 ("No WSGI daemon
//!   process called '…' has been configured."), so its imports happen
//!   nowhere. `%{ENV:…}`, `%{RESOURCE}`, `%{SERVER}` and `%{HOST}` are
//!   chosen per request, which files cannot tell: such an application is
//!   placed nowhere, with a note.
//! - A daemon's Python home is its `python-home=`, else `WSGIPythonHome`
//!   (`wsgi_python_init`); its module path is its `python-path=` alone:
//!   `WSGIPythonPath` is for embedded mode (`wsgi_daemon.c` replaces
//!   `wsgi_python_path` by the group's, as the directive's documentation
//!   says). Of several `WSGIPythonHome` or `WSGIPythonPath`, the last
//!   counts (server config, each one overwrites).
//!
//! Which process a directive concerns: a `WSGIDaemonProcess` its own
//! group's; an application (`WSGIScriptAlias`, `WSGIScriptAliasMatch`,
//! `WSGIImportScript`, `AddHandler`/`SetHandler wsgi-script`) its group's;
//! a `WSGIProcessGroup` or `WSGIApplicationGroup` the processes of the
//! applications it is in effect for (the most specific of its kind that
//! covers them; one in effect for none stays with the Apache children); `WSGIPythonPath` the Apache children's; everything else
//! (`LoadModule`, `PHPINIDir`, `WSGIPythonHome`, …) is the parent's, so
//! every process's. Signatures that read directives thus see one group at
//! a time.
//!
//! Approximations: a daemon group defined in one `<VirtualHost>` is taken
//! as selectable from any (mod_wsgi allows only those of the same
//! ServerName, or the server's); `<If>`, `<Proxy>` and other sections are
//! taken to cover every application; the patterns of `<DirectoryMatch>`,
//! `<FilesMatch>`, `<LocationMatch>` and `<Directory ~>` are matched with
//! Rust's `regex` (PCRE's syntax for what configurations write); a
//! `WSGIScriptAliasMatch`'s URL is a pattern, so every `<Location>` is
//! taken to cover it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::budget::{self, WSGI_DAEMON_GROUPS, WSGI_SCOPE_WORK};
use crate::root::fnmatch;

use super::lex::getword_conf;
use super::{ApacheConfig, Directive, DirectiveKind};

/// Where one mod_wsgi interpreter imports from, besides its interpreter's
/// own modules: its home (`sys.prefix`, a virtualenv or an installation)
/// and the directories added to its path, each with what named it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PythonSetup {
    pub home: Option<(String, PathBuf)>,
    pub path: Vec<(String, PathBuf)>,
}

/// One `WSGIDaemonProcess` group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daemon {
    pub name: String,
    pub python: PythonSetup,
    /// Its directives: the parent's and its own.
    pub config: ProcessConfig,
    /// The applications that run in it.
    pub applications: usize,
}

/// The directives of one process, in configuration order: the parent's,
/// shared by every process Apache forks (one copy however many daemon
/// groups there are), and the process's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessConfig {
    shared: Arc<Vec<(usize, Directive)>>,
    own: Vec<(usize, Directive)>,
}

impl ProcessConfig {
    /// The directives in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Directive> {
        let (mut a, mut b) = (self.shared.iter().peekable(), self.own.iter().peekable());
        std::iter::from_fn(move || match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if y.0 < x.0 => b.next(),
            (Some(_), _) => a.next(),
            (None, _) => b.next(),
        })
        .map(|(_, d)| d)
    }

    pub fn len(&self) -> usize {
        self.shared.len() + self.own.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Vec<Directive>> for ProcessConfig {
    /// Every directive as the process's own (a process with no siblings).
    fn from(directives: Vec<Directive>) -> ProcessConfig {
        ProcessConfig {
            shared: Arc::default(),
            own: directives.into_iter().enumerate().collect(),
        }
    }
}

/// mod_wsgi's division of Apache's processes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Processes {
    /// The Apache child processes' Python (`WSGIPythonHome`,
    /// `WSGIPythonPath`) and directives.
    pub embedded: PythonSetup,
    pub embedded_config: ProcessConfig,
    /// Every daemon group in configuration order, at most
    /// [`WSGI_DAEMON_GROUPS`].
    pub daemons: Vec<Daemon>,
    /// (`file:line`, why): an application that runs in no process, a
    /// budget reached.
    pub errors: Vec<(String, String)>,
    /// What could not be decided from files.
    pub notes: Vec<String>,
}

/// Which process a directive concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    Parent,
    Embedded,
    Daemon(usize),
    /// The processes of the applications it covers.
    Covered(Vec<Target>),
    /// No process: an application whose group is no daemon.
    Nowhere,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Embedded,
    Daemon(usize),
}

/// An application: where its script is, and its directive.
struct App {
    at: usize,
    url: Option<String>,
    /// The script, or for a handler the directory it serves.
    path: PathBuf,
    group: Option<String>,
}

/// The sections of a directive's context, as the merge order ranks them.
#[derive(Debug)]
enum Section {
    VirtualHost(String),
    Directory(Vec<Vec<u8>>),
    DirectoryRe(Option<regex::Regex>),
    Files(Vec<u8>),
    FilesRe(Option<regex::Regex>),
    Location(String),
    LocationRe(Option<regex::Regex>),
    /// `<If>`, `<Proxy>`, `<Limit>`…: taken to cover everything.
    Other,
}

/// How specific a covering scope is: Apache merges the server, then the
/// virtual host, then `<Directory>` sections shortest first, regex
/// directories, `<Files>`, `<Location>`; the last merged wins.
type Rank = (u8, usize);

/// A pattern of a `*Match` section, bounded like every input.
fn pattern(text: &str) -> Option<regex::Regex> {
    regex::RegexBuilder::new(text)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .ok()
}

fn sections(context: &[String]) -> Vec<Section> {
    context
        .iter()
        .map(|label| {
            let inner = label
                .strip_prefix('<')
                .map(|l| l.strip_suffix('>').unwrap_or(l))
                .unwrap_or(label);
            let (name, rest) = getword_conf(inner.as_bytes());
            let (arg, more) = getword_conf(rest);
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            // `<Directory ~ RE>`: the pattern is the next word.
            let tilde = arg == b"~";
            let (arg, _) = if tilde {
                getword_conf(more)
            } else {
                (arg, more)
            };
            match name.to_ascii_lowercase().as_slice() {
                b"virtualhost" => Section::VirtualHost(label.clone()),
                b"directory" if tilde => Section::DirectoryRe(pattern(&text(&arg))),
                b"directorymatch" => Section::DirectoryRe(pattern(&text(&arg))),
                b"directory" => Section::Directory(components(&arg)),
                b"files" if tilde => Section::FilesRe(pattern(&text(&arg))),
                b"filesmatch" => Section::FilesRe(pattern(&text(&arg))),
                b"files" => Section::Files(arg),
                b"location" if tilde => Section::LocationRe(pattern(&text(&arg))),
                b"locationmatch" => Section::LocationRe(pattern(&text(&arg))),
                b"location" => Section::Location(text(&arg)),
                _ => Section::Other,
            }
        })
        .collect()
}

fn components(path: &[u8]) -> Vec<Vec<u8>> {
    path.split(|&c| c == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// How specifically a scope of `sections` covers `app`, or `None`.
fn covers(sections: &[Section], app_vhost: Option<&str>, app: &App) -> Option<Rank> {
    use std::os::unix::ffi::OsStrExt;
    let path = app.path.as_os_str().as_bytes();
    let dir: Vec<Vec<u8>> = {
        let mut c = components(path);
        c.pop();
        c
    };
    let file = app
        .path
        .file_name()
        .map(|f| f.as_bytes())
        .unwrap_or_default();
    let mut rank: Rank = (0, 0);
    for s in sections {
        match s {
            Section::VirtualHost(v) => {
                if app_vhost != Some(v.as_str()) {
                    return None;
                }
                rank = rank.max((1, 0));
            }
            Section::Directory(pat) => {
                let inside = pat.len() <= dir.len()
                    && pat.iter().zip(&dir).all(|(p, d)| fnmatch(p, d) || p == d);
                if !inside {
                    return None;
                }
                rank = rank.max((2, pat.len()));
            }
            Section::DirectoryRe(re) => {
                let d = format!("/{}", String::from_utf8_lossy(&dir.join(&b'/')));
                if !re.as_ref().is_some_and(|r| r.is_match(&d)) {
                    return None;
                }
                rank = rank.max((3, 0));
            }
            Section::Files(pat) => {
                if !(fnmatch(pat, file) || pat.as_slice() == file) {
                    return None;
                }
                rank = rank.max((4, 0));
            }
            Section::FilesRe(re) => {
                if !re
                    .as_ref()
                    .is_some_and(|r| r.is_match(&String::from_utf8_lossy(file)))
                {
                    return None;
                }
                rank = rank.max((4, 0));
            }
            Section::Location(l) => {
                if let Some(url) = &app.url {
                    let l = l.trim_end_matches('/');
                    let under = url
                        .strip_prefix(l)
                        .is_some_and(|r| r.is_empty() || r.starts_with('/'));
                    if !under {
                        return None;
                    }
                }
                rank = rank.max((5, 0));
            }
            Section::LocationRe(re) => {
                if let Some(url) = &app.url
                    && !re.as_ref().is_some_and(|r| r.is_match(url))
                {
                    return None;
                }
                rank = rank.max((5, 0));
            }
            Section::Other => {}
        }
    }
    Some(rank)
}

fn vhost_of(context: &[String]) -> Option<&str> {
    context
        .iter()
        .find(|c| {
            c.get(..12)
                .is_some_and(|p| p.eq_ignore_ascii_case("<virtualhost"))
        })
        .map(String::as_str)
}

fn at(d: &Directive) -> String {
    format!("{}:{}", d.file.display(), d.line)
}

/// mod_wsgi's processes of `config` (module comment).
pub fn processes(config: &ApacheConfig) -> Processes {
    let directives = &config.directives;
    let mut out = Processes::default();
    // The daemon groups, first of a name (the reader refuses a second).
    let mut names: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut daemon_of: Vec<Option<usize>> = vec![None; directives.len()];
    let mut dropped = 0usize;
    for (i, d) in directives.iter().enumerate() {
        let DirectiveKind::WsgiDaemonProcess { name, options } = &d.kind else {
            continue;
        };
        if names.contains_key(name.as_str()) {
            continue;
        }
        if out.daemons.len() >= WSGI_DAEMON_GROUPS {
            if dropped == 0 {
                out.errors.push((
                    at(d),
                    format!(
                        "{}: the daemon process groups from here on are not modelled",
                        budget::exceeded("WSGI_DAEMON_GROUPS", WSGI_DAEMON_GROUPS)
                    ),
                ));
            }
            dropped += 1;
            continue;
        }
        names.insert(name, out.daemons.len());
        if let Some(x) = daemon_of.get_mut(i) {
            *x = Some(out.daemons.len());
        }
        let path = options
            .get("python-path")
            .into_iter()
            .flat_map(|v| v.split(':'))
            .filter(|p| !p.is_empty())
            .map(|p| {
                (
                    format!("WSGIDaemonProcess {name} python-path={p}"),
                    PathBuf::from(p),
                )
            })
            .collect();
        let home = options.get("python-home").map(|h| {
            (
                format!("WSGIDaemonProcess {name} python-home={h}"),
                PathBuf::from(h),
            )
        });
        out.daemons.push(Daemon {
            name: name.clone(),
            python: PythonSetup { home, path },
            config: ProcessConfig::default(),
            applications: 0,
        });
    }
    // Embedded mode's Python; a daemon without python-home takes the home.
    for d in directives {
        match &d.kind {
            DirectiveKind::WsgiPythonHome(h) => {
                out.embedded.home = Some((format!("WSGIPythonHome {}", h.display()), h.clone()));
            }
            DirectiveKind::WsgiPythonPath(paths) => {
                out.embedded.path = paths
                    .iter()
                    .map(|p| (format!("WSGIPythonPath {}", p.display()), p.clone()))
                    .collect();
            }
            _ => {}
        }
    }
    for daemon in &mut out.daemons {
        if daemon.python.home.is_none() {
            daemon.python.home = out.embedded.home.clone();
        }
    }

    // Each application's group, then where each directive goes.
    let group_of = |name: &str| -> Result<Target, String> {
        let name = name.trim();
        if name.is_empty() || name == "%{GLOBAL}" {
            return Ok(Target::Embedded);
        }
        if name.starts_with("%{") {
            return Err(format!(
                "process group {name} is chosen per request; the application is modelled in no process"
            ));
        }
        names.get(name).map(|&i| Target::Daemon(i)).ok_or_else(|| {
            format!(
                "process group {name} names no WSGIDaemonProcess: mod_wsgi answers the application's requests with 500 (\"No WSGI daemon process called '{name}' has been configured.\"), so it runs in no process"
            )
        })
    };
    let apps: Vec<App> = directives
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match &d.kind {
            DirectiveKind::WsgiScriptAlias {
                url,
                path,
                regex,
                options,
            } => Some(App {
                at: i,
                url: (!regex).then(|| url.clone()),
                path: path.clone(),
                group: options.get("process-group").cloned(),
            }),
            DirectiveKind::WsgiImportScript { path, options } => Some(App {
                at: i,
                url: None,
                path: path.clone(),
                // mod_wsgi requires it; without it httpd refuses to start.
                group: Some(options.get("process-group").cloned().unwrap_or_default()),
            }),
            DirectiveKind::WsgiScriptHandler { .. } => Some(App {
                at: i,
                url: None,
                path: handler_dir(&d.context).join("*"),
                group: None,
            }),
            _ => None,
        })
        .collect();
    // The scopes that apply per application, ranked once each.
    let scoped: Vec<(usize, Vec<Section>)> = directives
        .iter()
        .enumerate()
        .filter(|(_, d)| {
            matches!(
                d.kind,
                DirectiveKind::WsgiProcessGroup(_) | DirectiveKind::WsgiApplicationGroup(_)
            )
        })
        .map(|(i, d)| (i, sections(&d.context)))
        .collect();
    let mut work = 0usize;
    let mut exhausted = false;
    let mut places: Vec<Place> = directives
        .iter()
        .map(|d| match &d.kind {
            DirectiveKind::WsgiPythonPath(_) => Place::Embedded,
            DirectiveKind::WsgiProcessGroup(_) | DirectiveKind::WsgiApplicationGroup(_) => {
                Place::Covered(Vec::new())
            }
            _ => Place::Parent,
        })
        .collect();
    for ((place, d), daemon) in places.iter_mut().zip(directives).zip(&daemon_of) {
        if let DirectiveKind::WsgiDaemonProcess { .. } = d.kind {
            // Past the budget (or a second of a name): in no process.
            *place = daemon.map_or(Place::Nowhere, Place::Daemon);
        }
    }
    for app in &apps {
        let Some(d) = directives.get(app.at) else {
            continue;
        };
        let vhost = vhost_of(&d.context);
        // Every scope that covers it, for the group and the places.
        let mut covering = Vec::new();
        for (j, secs) in &scoped {
            work += 1;
            if work > WSGI_SCOPE_WORK {
                exhausted = true;
                break;
            }
            if let Some(rank) = covers(secs, vhost, app) {
                covering.push((rank, *j));
            }
        }
        if exhausted {
            out.errors.push((
                at(d),
                format!(
                    "{}: this application and the ones after it are modelled in no process",
                    budget::exceeded("WSGI_SCOPE_WORK", WSGI_SCOPE_WORK)
                ),
            ));
            break;
        }
        let group = app.group.clone().or_else(|| {
            covering
                .iter()
                .filter_map(|&(rank, j)| match &directives.get(j)?.kind {
                    DirectiveKind::WsgiProcessGroup(g) => Some((rank, j, g.clone())),
                    _ => None,
                })
                .max_by_key(|(rank, j, _)| (*rank, *j))
                .map(|(_, _, g)| g)
        });
        let target = match group_of(group.as_deref().unwrap_or_default()) {
            Ok(t) => t,
            Err(why) => {
                if why.contains("per request") {
                    out.notes.push(format!("{}: {why}", at(d)));
                } else {
                    out.errors.push((at(d), why));
                }
                if let Some(p) = places.get_mut(app.at) {
                    *p = Place::Nowhere;
                }
                continue;
            }
        };
        if let Target::Daemon(k) = target
            && let Some(daemon) = out.daemons.get_mut(k)
        {
            daemon.applications += 1;
        }
        if let Some(p) = places.get_mut(app.at) {
            *p = match target {
                Target::Embedded => Place::Embedded,
                Target::Daemon(k) => Place::Daemon(k),
            };
        }
        // The group directives in effect for it go with it: the winner of
        // each kind.
        let winner = |process_group: bool| {
            covering
                .iter()
                .filter(|&&(_, j)| {
                    directives.get(j).is_some_and(|x| {
                        matches!(x.kind, DirectiveKind::WsgiProcessGroup(_)) == process_group
                    })
                })
                .max_by_key(|&&(rank, j)| (rank, j))
                .map(|&(_, j)| j)
        };
        // A `process-group=` of its own overrides every WSGIProcessGroup.
        let in_effect = [
            app.group.is_none().then(|| winner(true)).flatten(),
            winner(false),
        ];
        for j in in_effect.into_iter().flatten() {
            if let Some(Place::Covered(ts)) = places.get_mut(j)
                && !ts.contains(&target)
            {
                ts.push(target);
            }
        }
    }
    if exhausted {
        for app in &apps {
            if let Some(p @ Place::Parent) = places.get_mut(app.at) {
                *p = Place::Nowhere;
            }
        }
    }

    // Each process's directives.
    let mut shared = Vec::new();
    let mut embedded = Vec::new();
    let mut own: Vec<Vec<(usize, Directive)>> = vec![Vec::new(); out.daemons.len()];
    for (i, (d, place)) in directives.iter().zip(places).enumerate() {
        let mut to = |t: Target| match t {
            Target::Embedded => embedded.push((i, d.clone())),
            Target::Daemon(k) => {
                if let Some(o) = own.get_mut(k) {
                    o.push((i, d.clone()));
                }
            }
        };
        match place {
            Place::Parent => shared.push((i, d.clone())),
            Place::Embedded => to(Target::Embedded),
            Place::Daemon(k) => to(Target::Daemon(k)),
            Place::Covered(ts) if ts.is_empty() => to(Target::Embedded),
            Place::Covered(ts) => ts.into_iter().for_each(to),
            Place::Nowhere => {}
        }
    }
    let shared = Arc::new(shared);
    out.embedded_config = ProcessConfig {
        shared: Arc::clone(&shared),
        own: embedded,
    };
    for (daemon, own) in out.daemons.iter_mut().zip(own) {
        daemon.config = ProcessConfig {
            shared: Arc::clone(&shared),
            own,
        };
    }
    out
}

/// The directory an `AddHandler`/`SetHandler wsgi-script` serves: its
/// innermost `<Directory>`, else the root of the file system.
fn handler_dir(context: &[String]) -> PathBuf {
    context
        .iter()
        .rev()
        .find_map(|label| {
            let inner = label.strip_prefix('<')?.strip_suffix('>')?;
            let (name, rest) = getword_conf(inner.as_bytes());
            if !name.eq_ignore_ascii_case(b"directory") {
                return None;
            }
            let (arg, _) = getword_conf(rest);
            (arg.first() == Some(&b'/') && arg != b"~")
                .then(|| PathBuf::from(String::from_utf8_lossy(&arg).into_owned()))
        })
        .unwrap_or_else(|| Path::new("/").to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn d(line: usize, context: &[&str], kind: DirectiveKind) -> Directive {
        Directive {
            file: PathBuf::from("/etc/apache2/apps.conf"),
            line,
            context: context.iter().map(|c| c.to_string()).collect(),
            kind,
        }
    }

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn daemon(line: usize, name: &str, pairs: &[(&str, &str)]) -> Directive {
        d(
            line,
            &[],
            DirectiveKind::WsgiDaemonProcess {
                name: name.into(),
                options: opts(pairs),
            },
        )
    }

    fn alias(
        line: usize,
        context: &[&str],
        url: &str,
        path: &str,
        pairs: &[(&str, &str)],
    ) -> Directive {
        d(
            line,
            context,
            DirectiveKind::WsgiScriptAlias {
                url: url.into(),
                path: path.into(),
                regex: false,
                options: opts(pairs),
            },
        )
    }

    fn config(directives: Vec<Directive>) -> ApacheConfig {
        ApacheConfig {
            directives,
            ..ApacheConfig::default()
        }
    }

    /// The lines of a process's directives, in order.
    fn lines(c: &ProcessConfig) -> Vec<usize> {
        c.iter().map(|d| d.line).collect()
    }

    /// python-home falls back to WSGIPythonHome (the last of several);
    /// python-path does not fall back to WSGIPythonPath, which is the
    /// Apache children's alone.
    #[test]
    fn daemon_python_falls_back_to_the_home_only() {
        let p = processes(&config(vec![
            d(1, &[], DirectiveKind::WsgiPythonHome("/opt/old".into())),
            d(2, &[], DirectiveKind::WsgiPythonHome("/opt/py".into())),
            d(
                3,
                &[],
                DirectiveKind::WsgiPythonPath(vec!["/srv/shared".into(), "/srv/lib".into()]),
            ),
            daemon(
                4,
                "a",
                &[
                    ("python-home", "/srv/a/venv"),
                    ("python-path", "/srv/a:/srv/a/lib:"),
                ],
            ),
            daemon(5, "b", &[]),
        ]));
        assert_eq!(
            p.embedded.home,
            Some(("WSGIPythonHome /opt/py".into(), "/opt/py".into()))
        );
        let paths =
            |s: &PythonSetup| -> Vec<PathBuf> { s.path.iter().map(|(_, p)| p.clone()).collect() };
        assert_eq!(
            paths(&p.embedded),
            [PathBuf::from("/srv/shared"), "/srv/lib".into()]
        );
        let [a, b] = p.daemons.as_slice() else {
            panic!("{:?}", p.daemons)
        };
        assert_eq!(
            a.python.home,
            Some((
                "WSGIDaemonProcess a python-home=/srv/a/venv".into(),
                "/srv/a/venv".into()
            ))
        );
        assert_eq!(
            paths(&a.python),
            [PathBuf::from("/srv/a"), "/srv/a/lib".into()]
        );
        assert_eq!(b.python.home, p.embedded.home);
        assert!(b.python.path.is_empty(), "{:?}", b.python.path);
        // WSGIPythonPath is no daemon's directive; WSGIPythonHome everyone's.
        assert_eq!(lines(&p.embedded_config), [1, 2, 3]);
        assert_eq!(lines(&a.config), [1, 2, 4]);
        assert_eq!(lines(&b.config), [1, 2, 5]);
    }

    /// An application runs where its process group says: `process-group=`
    /// over the `WSGIProcessGroup` of the most specific section that covers
    /// its script, `%{GLOBAL}` and no group at all embedded; its
    /// `WSGIApplicationGroup` goes with it, and each daemon sees only its
    /// own `WSGIDaemonProcess`.
    #[test]
    fn applications_go_to_their_groups() {
        let p = processes(&config(vec![
            daemon(1, "app1", &[("display-name", "(x)")]),
            daemon(2, "app2", &[]),
            d(3, &[], DirectiveKind::WsgiProcessGroup("app2".into())),
            alias(4, &[], "/one", "/srv/app1/app.wsgi", &[]),
            d(
                5,
                &["<Directory /srv/app1>"],
                DirectiveKind::WsgiProcessGroup("app1".into()),
            ),
            d(
                6,
                &["<Directory /srv/app1>"],
                DirectiveKind::WsgiApplicationGroup("%{GLOBAL}".into()),
            ),
            alias(7, &[], "/two", "/srv/two/app.wsgi", &[]),
            alias(
                8,
                &[],
                "/three",
                "/srv/three/app.wsgi",
                &[("process-group", "%{GLOBAL}")],
            ),
            // A deeper directory wins over a shallower one, whatever the order.
            d(
                9,
                &["<Directory \"/srv/app1/sub\">"],
                DirectiveKind::WsgiProcessGroup("%{GLOBAL}".into()),
            ),
            alias(10, &[], "/sub", "/srv/app1/sub/app.wsgi", &[]),
            // A <Location> over a <Directory>.
            d(
                11,
                &["<Location /loc>"],
                DirectiveKind::WsgiProcessGroup("app2".into()),
            ),
            alias(12, &[], "/loc", "/srv/app1/loc.wsgi", &[]),
        ]));
        let [app1, app2] = p.daemons.as_slice() else {
            panic!("{:?}", p.daemons)
        };
        assert_eq!(lines(&app1.config), [1, 4, 5, 6]);
        assert_eq!(app1.applications, 1);
        // /loc's script lies in /srv/app1: that directory's application
        // group is in effect for it too.
        assert_eq!(lines(&app2.config), [2, 3, 6, 7, 11, 12]);
        assert_eq!(app2.applications, 2);
        // Line 3 is not in effect for /three, whose process-group= is its own.
        assert_eq!(lines(&p.embedded_config), [6, 8, 9, 10]);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
    }

    /// A group no application names is still a process (mod_wsgi starts
    /// it); an application whose group is no daemon runs nowhere (mod_wsgi
    /// answers 500) and says so; one whose group is chosen per request is
    /// noted and placed nowhere.
    #[test]
    fn unused_groups_and_groups_that_are_no_daemon() {
        let p = processes(&config(vec![
            daemon(1, "idle", &[]),
            alias(2, &[], "/x", "/srv/x.wsgi", &[("process-group", "nosuch")]),
            d(
                3,
                &["<VirtualHost *:80>"],
                DirectiveKind::WsgiProcessGroup("%{ENV:GROUP}".into()),
            ),
            alias(4, &["<VirtualHost *:80>"], "/y", "/srv/y.wsgi", &[]),
            // The group of another virtual host does not cover it.
            alias(5, &["<VirtualHost *:443>"], "/z", "/srv/z.wsgi", &[]),
        ]));
        assert_eq!(p.daemons.len(), 1);
        assert_eq!(p.daemons[0].applications, 0);
        assert_eq!(lines(&p.daemons[0].config), [1]);
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert_eq!(p.errors[0].0, "/etc/apache2/apps.conf:2");
        assert!(
            p.errors[0]
                .1
                .contains("No WSGI daemon process called 'nosuch'")
        );
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("%{ENV:GROUP} is chosen per request")),
            "{:?}",
            p.notes
        );
        // The per-request group stays with the children, where it is read.
        assert_eq!(lines(&p.embedded_config), [3, 5]);
    }

    /// A flood of daemon groups is bounded: the groups past the budget are
    /// an error entry, not processes.
    #[test]
    fn daemon_groups_are_budgeted() {
        let many: Vec<Directive> = (0..WSGI_DAEMON_GROUPS + 10)
            .map(|i| daemon(i + 1, &format!("g{i}"), &[]))
            .collect();
        let p = processes(&config(many));
        assert_eq!(p.daemons.len(), WSGI_DAEMON_GROUPS);
        assert_eq!(p.errors.len(), 1);
        assert!(
            p.errors[0]
                .1
                .starts_with("budget exceeded: WSGI_DAEMON_GROUPS (256)"),
            "{:?}",
            p.errors
        );
    }

    /// An `AddHandler wsgi-script` serves the files of its directory: the
    /// `WSGIProcessGroup` of that directory places it.
    #[test]
    fn handlers_are_applications_of_their_directory() {
        let p = processes(&config(vec![
            daemon(1, "h", &[]),
            d(
                2,
                &["<Directory /var/www/wsgi>"],
                DirectiveKind::WsgiProcessGroup("h".into()),
            ),
            d(
                3,
                &["<Directory /var/www/wsgi>"],
                DirectiveKind::WsgiScriptHandler {
                    directive: "AddHandler".into(),
                    extensions: vec![".wsgi".into()],
                },
            ),
        ]));
        assert_eq!(lines(&p.daemons[0].config), [1, 2, 3]);
        assert_eq!(p.daemons[0].applications, 1);
    }
}
