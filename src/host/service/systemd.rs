//! systemd's side of a service's start: the manager's
//! `DefaultEnvironment=`, the unit on its search path, drop-ins,
//! `Environment=`, `EnvironmentFile=`, `UnsetEnvironment=` and
//! `ExecStart=`, read as systemd reads them.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::host::text::{at, fnmatch_test, path_of};
use crate::root::{Kind, Root};

use super::envfile::read_env_file;
use super::{Log, env_name_ok, split_ws};

/// systemd's unit search path, highest priority first.
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// Where the manager's `DefaultEnvironment=` is set.
const MANAGER_CONFS: &[&str] = &["/etc/systemd/system.conf"];

const MANAGER_CONF_DIRS: &[&str] = &[
    "/etc/systemd/system.conf.d",
    "/run/systemd/system.conf.d",
    "/usr/local/lib/systemd/system.conf.d",
    "/usr/lib/systemd/system.conf.d",
    "/lib/systemd/system.conf.d",
];

/// The first of `names` on systemd's unit search path (a masked unit
/// too), with the name found.
pub(crate) fn find_unit<'n>(root: &Root, names: &[&'n str]) -> Option<(PathBuf, &'n str)> {
    names.iter().find_map(|name| {
        UNIT_DIRS
            .iter()
            .map(|d| Path::new(d).join(name))
            .find(|p| root.symlink_kind(p).is_some())
            .map(|p| (p, *name))
    })
}

/// The manager's `DefaultEnvironment=` assignments in order, from its
/// configuration file and drop-ins.
pub(crate) fn manager_environment(root: &Root, log: &mut Log) -> Vec<(String, String)> {
    let mut manager = UnitSettings::default();
    let mut manager_files: Vec<PathBuf> = MANAGER_CONFS.iter().map(PathBuf::from).collect();
    manager_files.extend(drop_ins(root, MANAGER_CONF_DIRS));
    for f in manager_files {
        if log.files_spent(&f, 0) {
            break;
        }
        if root.kind(&f) == Some(Kind::Regular) {
            read_unit_file(root, &f, "manager", &mut manager, log);
        }
    }
    manager.environment
}

/// A service unit as systemd starts it: the unit file (a masked one is
/// reported, and neither it nor its drop-ins are read), its drop-ins
/// (`NAME.d/` and `service.d/` in every unit directory); `Environment=`,
/// then the `EnvironmentFile=`s, over `env`, less `UnsetEnvironment=`.
/// Returns `ExecStart=` split into words with `env` expanded, if the unit
/// has one.
pub(crate) fn service_start(
    root: &Root,
    path: &Path,
    name: &str,
    env: &mut BTreeMap<String, String>,
    log: &mut Log,
) -> Option<Vec<String>> {
    let masked = match root.resolve(path) {
        Ok((canonical, Kind::Regular)) => canonical == Path::new("/dev/null"),
        _ => true,
    };
    let mut settings = UnitSettings::default();
    if masked {
        log.errors.push((
            path.to_path_buf(),
            "unit is masked or unreadable: the service does not start".into(),
        ));
    } else {
        read_unit_file(root, path, "service", &mut settings, log);
    }
    let dirs: Vec<String> = UNIT_DIRS.iter().map(|d| format!("{d}/{name}.d")).collect();
    let type_dirs: Vec<String> = UNIT_DIRS.iter().map(|d| format!("{d}/service.d")).collect();
    let mut all: Vec<&str> = dirs.iter().map(String::as_str).collect();
    all.extend(type_dirs.iter().map(String::as_str));
    if !masked {
        for f in drop_ins(root, &all) {
            if log.files_spent(&f, 0) {
                break;
            }
            read_unit_file(root, &f, "service", &mut settings, log);
        }
    }
    for (k, v) in settings.environment {
        env.insert(k, v);
    }
    // EnvironmentFile= overrides Environment=; later files win.
    'files: for (i, (pattern, optional, from)) in settings.env_files.into_iter().enumerate() {
        if log.files_spent(&from, i) {
            break;
        }
        let files: Vec<PathBuf> = if fnmatch_test(pattern.as_bytes()) {
            root.glob(pattern.as_bytes())
                .into_iter()
                .map(|p| path_of(&p))
                .collect()
        } else {
            vec![PathBuf::from(&pattern)]
        };
        if files.is_empty() && !optional {
            log.errors.push((
                from.clone(),
                format!("EnvironmentFile {pattern} matches nothing: the service does not start"),
            ));
        }
        for f in files {
            if log.files_spent(&from, i) {
                break 'files;
            }
            read_env_file(root, &f, optional, &from, env, log);
        }
    }
    for name in settings.unset {
        match name.split_once('=') {
            Some((k, v)) => {
                if env.get(k).is_some_and(|x| x == v) {
                    env.remove(k);
                }
            }
            None => {
                env.remove(&name);
            }
        }
    }
    settings.exec_start.map(|line| exec_words(&line, env))
}

/// Files `*.conf` in drop-in directories, ordered by file name across all
/// of them; a name in an earlier (higher-priority) directory masks the same
/// name in a later one.
fn drop_ins(root: &Root, dirs: &[&str]) -> Vec<PathBuf> {
    let mut by_name: BTreeMap<Vec<u8>, PathBuf> = BTreeMap::new();
    let mut seen_dirs: Vec<PathBuf> = Vec::new();
    for d in dirs {
        let dir = Path::new(d);
        let Ok((canonical, Kind::Directory)) = root.resolve(dir) else {
            continue;
        };
        if seen_dirs.contains(&canonical) {
            continue;
        }
        seen_dirs.push(canonical);
        let Ok(names) = root.read_dir(dir) else {
            continue;
        };
        for n in names {
            if n.as_bytes().ends_with(b".conf") {
                by_name
                    .entry(n.as_bytes().to_vec())
                    .or_insert_with(|| dir.join(&n));
            }
        }
    }
    by_name.into_values().collect()
}

/// What a unit (or the manager's configuration) says about the start.
#[derive(Debug, Default)]
struct UnitSettings {
    /// `Environment=` (or `DefaultEnvironment=`) assignments in order.
    environment: Vec<(String, String)>,
    /// `EnvironmentFile=`: (path or glob, optional, where it was set).
    env_files: Vec<(String, bool, PathBuf)>,
    /// The last `ExecStart=` (its raw value).
    exec_start: Option<String>,
    /// `UnsetEnvironment=` names or assignments.
    unset: Vec<String>,
}

/// Reads a unit file or drop-in: `[Service]` (`kind` "service") or
/// `[Manager]` (`kind` "manager") settings, with systemd's line syntax
/// (`#`/`;` comments, a trailing backslash joins the next line with a
/// space). An empty assignment resets the list it names.
fn read_unit_file(root: &Root, path: &Path, kind: &str, s: &mut UnitSettings, log: &mut Log) {
    let Some(bytes) = log.read(root, path) else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut section = String::new();
    let mut pending = String::new();
    let mut pending_line = 0usize;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if pending.is_empty() {
            pending_line = n + 1;
        }
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        let full = full.trim();
        if full.is_empty() {
            continue;
        }
        if full.starts_with('[') && full.ends_with(']') {
            section = full.to_string();
            continue;
        }
        let Some((key, value)) = full.split_once('=') else {
            log.errors.push((
                at(path, pending_line),
                format!("not an assignment, ignored: {full}"),
            ));
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let value = value.replace("%%", "%");
        let here = at(path, pending_line);
        match (kind, section.as_str(), key) {
            ("service", "[Service]", "Environment")
            | ("manager", "[Manager]", "DefaultEnvironment") => {
                if value.is_empty() {
                    s.environment.clear();
                    continue;
                }
                for word in unit_words(&value) {
                    match word.split_once('=') {
                        Some((k, v)) if env_name_ok(k) => {
                            s.environment.push((k.to_string(), v.to_string()))
                        }
                        _ => log.errors.push((
                            here.clone(),
                            format!("invalid environment assignment, ignoring: {word}"),
                        )),
                    }
                }
            }
            ("service", "[Service]", "EnvironmentFile") => {
                if value.is_empty() {
                    s.env_files.clear();
                    continue;
                }
                let (optional, file) = match value.strip_prefix('-') {
                    Some(f) => (true, f.to_string()),
                    None => (false, value.clone()),
                };
                if file.starts_with('/') {
                    s.env_files.push((file, optional, here));
                } else {
                    log.errors.push((
                        here,
                        format!("EnvironmentFile= path is not absolute, ignoring: {file}"),
                    ));
                }
            }
            ("service", "[Service]", "ExecStart") => {
                s.exec_start = (!value.is_empty()).then_some(value);
            }
            ("service", "[Service]", "UnsetEnvironment") => {
                if value.is_empty() {
                    s.unset.clear();
                } else {
                    s.unset.extend(unit_words(&value));
                }
            }
            _ => {}
        }
    }
}

/// systemd's `extract_first_word(…, EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE)`
/// over a whole value: words at white space, `"…"` and `'…'` quote,
/// C escapes (`\n`, `\t`, `\\`, `\"`, `\xNN`, ...) are decoded.
fn unit_words(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut started = false;
    let mut quote: Option<char> = None;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                started = true;
                match chars.next() {
                    Some('n') => cur.push('\n'),
                    Some('t') => cur.push('\t'),
                    Some('r') => cur.push('\r'),
                    Some('a') => cur.push('\x07'),
                    Some('b') => cur.push('\x08'),
                    Some('f') => cur.push('\x0c'),
                    Some('v') => cur.push('\x0b'),
                    Some('s') => cur.push(' '),
                    Some('x') => {
                        let hex: String = chars.by_ref().take(2).collect();
                        match u8::from_str_radix(&hex, 16) {
                            Ok(b) => cur.push(char::from(b)),
                            Err(_) => cur.push_str(&hex),
                        }
                    }
                    Some(other) => cur.push(other),
                    None => cur.push('\\'),
                }
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started {
                    out.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            (None, c) => {
                cur.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(cur);
    }
    out
}

/// `ExecStart=`: the prefixes `@-:+!|` go (with `@` the second word is
/// argv[0] and is dropped), then `$NAME` alone as a word becomes the
/// variable split at white space and `${NAME}` inside a word its value;
/// unknown variables are empty (systemd's `replace_env_argv`).
fn exec_words(line: &str, env: &BTreeMap<String, String>) -> Vec<String> {
    let mut words = unit_words(line);
    let mut at_sign = false;
    if let Some(first) = words.first_mut() {
        let stripped: String = first
            .trim_start_matches(|c| {
                if c == '@' {
                    at_sign = true;
                }
                matches!(c, '@' | '-' | ':' | '+' | '!' | '|')
            })
            .to_string();
        *first = stripped;
    }
    if at_sign && words.len() > 1 {
        words.remove(1);
    }
    let mut out = Vec::new();
    for w in words {
        if let Some(name) = w.strip_prefix('$').filter(|n| env_name_ok(n)) {
            out.extend(env.get(name).map(|v| split_ws(v)).unwrap_or_default());
            continue;
        }
        let mut s = String::new();
        let mut rest = w.as_str();
        while let Some(pos) = rest.find('$') {
            s.push_str(rest.get(..pos).unwrap_or_default());
            let after = rest.get(pos + 1..).unwrap_or_default();
            if let Some(r) = after.strip_prefix('$') {
                s.push('$');
                rest = r;
            } else if let Some((name, r)) = after.strip_prefix('{').and_then(|a| a.split_once('}'))
            {
                s.push_str(env.get(name).map(String::as_str).unwrap_or_default());
                rest = r;
            } else {
                s.push('$');
                rest = after;
            }
        }
        s.push_str(rest);
        out.push(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_words_and_exec() {
        assert_eq!(
            unit_words(r#"A=1 "B=2 3" 'C=4' D=\x41\n"#),
            ["A=1", "B=2 3", "C=4", "D=A\n"]
        );
        let env: BTreeMap<String, String> = [("O".to_string(), " -Da  -Db ".to_string())].into();
        assert_eq!(
            exec_words("-/usr/sbin/httpd $O ${O}x $$O $NONE", &env),
            ["/usr/sbin/httpd", "-Da", "-Db", " -Da  -Db x", "$O"]
        );
    }
}
