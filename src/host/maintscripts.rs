//! What installing a Debian package would enable, for `scan
//! --overlay-deb`: a what-if must model the package as `apt install` leaves
//! it, and Debian's web-stack packages enable themselves from their
//! `postinst` with two standard helpers:
//!
//! - `php_invoke enmod VERSION SAPI|ALL NAME` (dh_php, php-maintscript-helper)
//!   links `/etc/php/VERSION/SAPI/conf.d/PRIORITY-NAME.ini` to
//!   `mods-available/NAME.ini` for each SAPI, after ucf has put the shipped
//!   `/usr/share/PACKAGE/NAME/NAME.ini` in `mods-available`;
//! - `apache2_invoke enmod NAME` (dh_apache2, apache2-maintscript-helper)
//!   runs `a2enmod NAME`: `mods-enabled/NAME.load` (and `.conf`), with the
//!   modules its `# Depends:` line names.
//!
//! Both leave alone a module the administrator disabled (their
//! `disabled_by_admin` state files). soclash never runs the script: it
//! recognises these helper calls in its text (the name may be a literal or
//! the variable of a `for VAR in NAMES; do` loop) and writes the links
//! they would make into the package's temporary overlay directory. Any
//! other postinst effect is not modelled.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use regex::Regex;

use crate::root::Root;

/// Largest configuration snippet read.
const MAX_INI: u64 = 1 << 20;

const PHP_ENMOD: &str = r"php_invoke\s+enmod\s+(\S+)\s+(\S+)\s+(\S+)";
const APACHE_ENMOD: &str = r"apache2_invoke\s+enmod\s+(\S+)";

/// Most modules one `# Depends:` chain may enable.
const MAX_DEPENDS: usize = 64;

/// Lays into `layer` (the unpacked package, a directory on this machine)
/// what `postinst`'s helper calls would enable on `root`, and says what in
/// one line each.
pub fn enable(root: &Root, layer: &Path, postinst: &str) -> io::Result<Vec<String>> {
    let mut notes = Vec::new();
    for call in calls(postinst, PHP_ENMOD) {
        if let [version, sapi, name] = call.as_slice() {
            notes.extend(php_enmod(root, layer, version, sapi, name)?);
        }
    }
    for call in calls(postinst, APACHE_ENMOD) {
        if let [name] = call.as_slice() {
            notes.extend(a2enmod(root, layer, name)?);
        }
    }
    Ok(notes)
}

/// The arguments of each helper call matching `pattern`, one call per
/// name when the last argument (the module name) is a `for` loop's
/// variable.
fn calls(script: &str, pattern: &str) -> Vec<Vec<String>> {
    let Ok(call) = Regex::new(pattern) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in call.captures_iter(script) {
        let mut args: Vec<String> = c
            .iter()
            .skip(1)
            .map(|m| m.map_or("", |m| m.as_str()).to_string())
            .collect();
        let Some(name) = args.pop() else { continue };
        for name in expand(script, &name) {
            let mut call = args.clone();
            call.push(name);
            out.push(call);
        }
    }
    out
}

/// `$dsoname` / `${dsoname}` → the words of `for dsoname in WORDS; do`.
fn expand(script: &str, word: &str) -> Vec<String> {
    let var = word
        .trim_matches('"')
        .trim_start_matches('$')
        .trim_start_matches('{')
        .trim_end_matches('}');
    if !word.trim_matches('"').starts_with('$') {
        return vec![word.trim_matches('"').to_string()];
    }
    let Ok(re) = Regex::new(&format!(r"for\s+{}\s+in\s+([^;\n]*)", regex::escape(var))) else {
        return Vec::new();
    };
    re.captures(script)
        .and_then(|c| c.get(1))
        .map(|m| {
            m.as_str()
                .split_whitespace()
                .filter(|w| !w.starts_with('$'))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A file as the system would have it after install: the layer's copy,
/// else the root's.
fn read(root: &Root, layer: &Path, inner: &Path) -> Option<Vec<u8>> {
    let in_layer = layer.join(inner.strip_prefix("/").unwrap_or(inner));
    if let Ok(meta) = std::fs::symlink_metadata(&in_layer) {
        if meta.is_file() && meta.len() <= MAX_INI {
            return std::fs::read(&in_layer).ok();
        }
    }
    root.read(inner, MAX_INI).ok()
}

fn link(layer: &Path, inner: &Path, target: &Path) -> io::Result<()> {
    let at = layer.join(inner.strip_prefix("/").unwrap_or(inner));
    if let Some(dir) = at.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::os::unix::fs::symlink(target, &at) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        r => r,
    }
}

fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'+'))
        && name != "."
        && name != ".."
}

fn php_enmod(
    root: &Root,
    layer: &Path,
    version: &str,
    sapi: &str,
    name: &str,
) -> io::Result<Option<String>> {
    if !safe_name(version) || !safe_name(name) || !(sapi == "ALL" || safe_name(sapi)) {
        return Ok(None);
    }
    let etc = PathBuf::from(format!("/etc/php/{version}"));
    let available = etc.join("mods-available").join(format!("{name}.ini"));
    // ucf installs the shipped ini as the conffile unless one exists.
    let ini = match read(root, layer, &available) {
        Some(text) => text,
        None => {
            let Some((shipped, text)) = shipped_ini(layer, name) else {
                return Ok(None);
            };
            let at = layer.join(available.strip_prefix("/").unwrap_or(&available));
            if let Some(dir) = at.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::copy(shipped, &at)?;
            text
        }
    };
    let priority = String::from_utf8_lossy(&ini)
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix(";")?
                .trim()
                .strip_prefix("priority=")
                .map(|p| p.trim().to_string())
        })
        .filter(|p| safe_name(p))
        .unwrap_or_else(|| "20".into());
    let sapis: Vec<String> = if sapi == "ALL" {
        root.read_dir(&etc)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|n| n.into_string().ok())
            .filter(|n| n != "mods-available" && root.is_dir(&etc.join(n).join("conf.d")))
            .collect()
    } else {
        vec![sapi.to_string()]
    };
    let mut enabled = Vec::new();
    for s in sapis {
        let state = format!("/var/lib/php/modules/{version}/{s}/disabled_by_admin/{name}");
        if root.kind(Path::new(&state)).is_some() {
            continue;
        }
        let conf = etc
            .join(&s)
            .join("conf.d")
            .join(format!("{priority}-{name}.ini"));
        link(layer, &conf, &available)?;
        enabled.push(s);
    }
    if enabled.is_empty() {
        return Ok(None);
    }
    Ok(Some(format!(
        "postinst `php_invoke enmod`: PHP {version} extension {name} enabled for {} (conf.d/{priority}-{name}.ini)",
        enabled.join(", ")
    )))
}

/// dh_php ships the ini as `/usr/share/PACKAGE/NAME/NAME.ini`.
fn shipped_ini(layer: &Path, name: &str) -> Option<(PathBuf, Vec<u8>)> {
    let share = layer.join("usr/share");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&share)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    dirs.sort();
    dirs.into_iter().find_map(|d| {
        let p = d.join(name).join(format!("{name}.ini"));
        let meta = std::fs::symlink_metadata(&p).ok()?;
        if !meta.is_file() || meta.len() > MAX_INI {
            return None;
        }
        let text = std::fs::read(&p).ok()?;
        Some((p, text))
    })
}

fn a2enmod(root: &Root, layer: &Path, name: &str) -> io::Result<Option<String>> {
    let mut pending = vec![name.to_string()];
    let mut seen = BTreeSet::new();
    let mut enabled = Vec::new();
    while let Some(m) = pending.pop() {
        if !safe_name(&m) || !seen.insert(m.clone()) || seen.len() > MAX_DEPENDS {
            continue;
        }
        let available = PathBuf::from(format!("/etc/apache2/mods-available/{m}.load"));
        let Some(load) = read(root, layer, &available) else {
            continue;
        };
        if root
            .kind(Path::new(&format!(
                "/var/lib/apache2/module/disabled_by_admin/{m}"
            )))
            .is_some()
        {
            continue;
        }
        for l in String::from_utf8_lossy(&load).lines() {
            if let Some(deps) = l.trim().strip_prefix("# Depends:") {
                pending.extend(deps.split_whitespace().map(str::to_string));
            }
        }
        let enabled_load = PathBuf::from(format!("/etc/apache2/mods-enabled/{m}.load"));
        if root.kind(&enabled_load).is_some() {
            continue;
        }
        link(
            layer,
            &enabled_load,
            Path::new(&format!("../mods-available/{m}.load")),
        )?;
        let conf = PathBuf::from(format!("/etc/apache2/mods-available/{m}.conf"));
        if read(root, layer, &conf).is_some() {
            link(
                layer,
                Path::new(&format!("/etc/apache2/mods-enabled/{m}.conf")),
                Path::new(&format!("../mods-available/{m}.conf")),
            )?;
        }
        enabled.push(m);
    }
    if enabled.is_empty() {
        return Ok(None);
    }
    Ok(Some(format!(
        "postinst `apache2_invoke enmod`: Apache module{} {} enabled",
        if enabled.len() > 1 { "s" } else { "" },
        enabled.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_variables_expand() {
        let script = "for dsoname in mbstring  iconv; do\n php_invoke enmod 8.2 ALL ${dsoname}\ndone\nfor conf in security2  ; do\n apache2_invoke enmod $conf || exit 1\ndone\n";
        assert_eq!(
            calls(script, PHP_ENMOD),
            vec![["8.2", "ALL", "mbstring"], ["8.2", "ALL", "iconv"]]
        );
        assert_eq!(calls(script, APACHE_ENMOD), vec![["security2"]]);
    }

    /// A root with PHP's apache2 and cli SAPIs (cli disabled by the admin
    /// for `mbstring`) and Apache's unique_id module available.
    #[test]
    fn enables_as_the_helpers_would() {
        let r = tempfile::tempdir().unwrap();
        let l = tempfile::tempdir().unwrap();
        for d in [
            "etc/php/8.2/apache2/conf.d",
            "etc/php/8.2/cli/conf.d",
            "etc/php/8.2/mods-available",
            "var/lib/php/modules/8.2/cli/disabled_by_admin",
            "etc/apache2/mods-available",
            "etc/apache2/mods-enabled",
        ] {
            std::fs::create_dir_all(r.path().join(d)).unwrap();
        }
        std::fs::write(
            r.path()
                .join("var/lib/php/modules/8.2/cli/disabled_by_admin/mbstring"),
            "",
        )
        .unwrap();
        std::fs::write(
            r.path().join("etc/apache2/mods-available/unique_id.load"),
            "LoadModule unique_id_module /usr/lib/apache2/modules/mod_unique_id.so\n",
        )
        .unwrap();
        std::fs::create_dir_all(l.path().join("usr/share/php8.2-mbstring/mbstring")).unwrap();
        std::fs::write(
            l.path()
                .join("usr/share/php8.2-mbstring/mbstring/mbstring.ini"),
            "; priority=30\nextension=mbstring.so\n",
        )
        .unwrap();
        std::fs::create_dir_all(l.path().join("etc/apache2/mods-available")).unwrap();
        std::fs::write(
            l.path().join("etc/apache2/mods-available/security2.load"),
            "# Depends: unique_id\nLoadModule security2_module /usr/lib/apache2/modules/mod_security2.so\n",
        )
        .unwrap();
        let root = Root::new(r.path()).unwrap();
        let notes = enable(
            &root,
            l.path(),
            "php_invoke enmod 8.2 ALL mbstring\napache2_invoke enmod security2\n",
        )
        .unwrap();
        assert_eq!(notes.len(), 2, "{notes:?}");
        let target = |p: &str| std::fs::read_link(l.path().join(p)).ok();
        assert_eq!(
            target("etc/php/8.2/apache2/conf.d/30-mbstring.ini"),
            Some(PathBuf::from("/etc/php/8.2/mods-available/mbstring.ini"))
        );
        assert_eq!(target("etc/php/8.2/cli/conf.d/30-mbstring.ini"), None);
        assert!(
            l.path()
                .join("etc/php/8.2/mods-available/mbstring.ini")
                .is_file()
        );
        assert_eq!(
            target("etc/apache2/mods-enabled/security2.load"),
            Some(PathBuf::from("../mods-available/security2.load"))
        );
        assert_eq!(
            target("etc/apache2/mods-enabled/unique_id.load"),
            Some(PathBuf::from("../mods-available/unique_id.load"))
        );
    }
}
