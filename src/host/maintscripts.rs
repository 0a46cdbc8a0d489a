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
//! the variable of a `for VAR in NAMES; do` loop) and lays what they would
//! make onto the overlaid root as data ([`Root::lay_virtual`]: links, and
//! ucf's copy as a file whose content is the shipped one), with the
//! package's layer, so nothing is written anywhere. Every read goes through
//! the overlaid root (the host with every package of the what-if unpacked,
//! as apt unpacks all before configuring any), so a package's symlinks
//! resolve inside the audited root, never on this machine. Any other
//! postinst effect is not modelled.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;

use crate::budget::{self, A2ENMOD_DEPENDS, MAINTSCRIPT_CALLS};
use crate::root::{Kind, Root, Virtual};

const PHP_ENMOD: &str = r"php_invoke\s+enmod\s+(\S+)\s+(\S+)\s+(\S+)";
const APACHE_ENMOD: &str = r"apache2_invoke\s+enmod\s+(\S+)";

/// Lays onto `root` (overlaid with every package of the what-if) what the
/// helper calls of `postinst`, the script of the package in overlay
/// `layer`, would enable, and says what in one line each.
pub fn enable(root: &mut Root, layer: usize, postinst: &str) -> Vec<String> {
    let mut notes = Vec::new();
    let php = calls(postinst, PHP_ENMOD, MAINTSCRIPT_CALLS + 1);
    let apache = calls(postinst, APACHE_ENMOD, MAINTSCRIPT_CALLS + 1);
    let over = php.len() + apache.len() > MAINTSCRIPT_CALLS;
    let mut budget = MAINTSCRIPT_CALLS;
    for call in php {
        if budget == 0 {
            break;
        }
        budget -= 1;
        if let [version, sapi, name] = call.as_slice() {
            notes.extend(php_enmod(root, layer, version, sapi, name));
        }
    }
    for call in apache {
        if budget == 0 {
            break;
        }
        budget -= 1;
        if let [name] = call.as_slice() {
            notes.extend(a2enmod(root, layer, name));
        }
    }
    if over {
        notes.push(format!(
            "postinst: {}; the rest is not modelled",
            budget::exceeded("MAINTSCRIPT_CALLS", MAINTSCRIPT_CALLS)
        ));
    }
    notes
}

/// The arguments of each helper call matching `pattern`, one call per
/// name when the last argument (the module name) is a `for` loop's
/// variable; at most `most`.
fn calls(script: &str, pattern: &str, most: usize) -> Vec<Vec<String>> {
    let Ok(call) = Regex::new(pattern) else {
        return Vec::new();
    };
    let loops = loops(script);
    let mut out = Vec::new();
    for c in call.captures_iter(script) {
        let mut args: Vec<String> = c
            .iter()
            .skip(1)
            .map(|m| m.map_or("", |m| m.as_str()).to_string())
            .collect();
        let Some(name) = args.pop() else { continue };
        for name in expand(&loops, &name) {
            if out.len() >= most {
                return out;
            }
            let mut call = args.clone();
            call.push(name);
            out.push(call);
        }
    }
    out
}

/// The words of each `for VAR in WORDS` loop by VAR (the first loop of
/// a name), found in one pass: a script of many calls must not be
/// searched once per call.
fn loops(script: &str) -> std::collections::HashMap<&str, &str> {
    let mut out = std::collections::HashMap::new();
    let Ok(re) = Regex::new(r"for\s+(\S+)\s+in\s+([^;\n]*)") else {
        return out;
    };
    for c in re.captures_iter(script) {
        if let (Some(var), Some(words)) = (c.get(1), c.get(2)) {
            out.entry(var.as_str()).or_insert(words.as_str());
        }
    }
    out
}

/// `$dsoname` / `${dsoname}` → the words of `for dsoname in WORDS; do`.
fn expand(loops: &std::collections::HashMap<&str, &str>, word: &str) -> Vec<String> {
    let var = word
        .trim_matches('"')
        .trim_start_matches('$')
        .trim_start_matches('{')
        .trim_end_matches('}');
    if !word.trim_matches('"').starts_with('$') {
        return vec![word.trim_matches('"').to_string()];
    }
    loops
        .get(var)
        .map(|words| {
            words
                .split_whitespace()
                .filter(|w| !w.starts_with('$'))
                .take(MAINTSCRIPT_CALLS + 1)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A file as the system would have it after install.
fn read(root: &Root, inner: &Path) -> Option<Vec<u8>> {
    root.read(inner, budget::named!(MAINTSCRIPT_FILE)).ok()
}

/// Whether layer `layer` itself put the entry named `inner` (its parent
/// resolved, the name not followed).
fn ours(root: &Root, layer: usize, inner: &Path) -> bool {
    let (Some(parent), Some(name)) = (inner.parent(), inner.file_name()) else {
        return false;
    };
    match root.resolve(parent) {
        Ok((dir, Kind::Directory)) => root.overlay_of(&dir.join(name)) == Some(layer),
        _ => false,
    }
}

/// `ln -s target inner`, unless the package itself has a file there.
fn link(root: &mut Root, layer: usize, inner: &Path, target: &Path) -> bool {
    if ours(root, layer, inner) && root.symlink_kind(inner).is_some() {
        return true;
    }
    root.lay_virtual(layer, inner, Virtual::Link(target.to_path_buf()))
        .is_ok()
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
    root: &mut Root,
    layer: usize,
    version: &str,
    sapi: &str,
    name: &str,
) -> Option<String> {
    if !safe_name(version) || !safe_name(name) || !(sapi == "ALL" || safe_name(sapi)) {
        return None;
    }
    let etc = PathBuf::from(format!("/etc/php/{version}"));
    let available = etc.join("mods-available").join(format!("{name}.ini"));
    // ucf installs the shipped ini as the conffile unless one exists.
    let ini = match read(root, &available) {
        Some(text) => text,
        None => {
            let (shipped, text) = shipped_ini(root, layer, name)?;
            root.lay_virtual(layer, &available, Virtual::Copy(shipped))
                .ok()?;
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
        if link(root, layer, &conf, &available) {
            enabled.push(s);
        }
    }
    if enabled.is_empty() {
        return None;
    }
    Some(format!(
        "postinst `php_invoke enmod`: PHP {version} extension {name} enabled for {} (conf.d/{priority}-{name}.ini)",
        enabled.join(", ")
    ))
}

/// dh_php ships the ini as `/usr/share/PACKAGE/NAME/NAME.ini`: the first
/// such regular file (byte-wise by PACKAGE) that layer `layer` brings, as
/// its canonical inner path and content.
fn shipped_ini(root: &Root, layer: usize, name: &str) -> Option<(PathBuf, Vec<u8>)> {
    let share = Path::new("/usr/share");
    root.read_dir(share).ok()?.into_iter().find_map(|d| {
        let p = share.join(d).join(name).join(format!("{name}.ini"));
        let (canonical, kind) = root.resolve(&p).ok()?;
        if kind != Kind::Regular || root.overlay_of(&canonical) != Some(layer) {
            return None;
        }
        let text = read(root, &canonical)?;
        Some((canonical, text))
    })
}

fn a2enmod(root: &mut Root, layer: usize, name: &str) -> Option<String> {
    let mut pending = vec![name.to_string()];
    let mut seen = BTreeSet::new();
    let mut enabled = Vec::new();
    let mut over = false;
    while let Some(m) = pending.pop() {
        if !safe_name(&m) || seen.contains(&m) {
            continue;
        }
        if seen.len() >= A2ENMOD_DEPENDS {
            over = true;
            break;
        }
        seen.insert(m.clone());
        let available = PathBuf::from(format!("/etc/apache2/mods-available/{m}.load"));
        let Some(load) = read(root, &available) else {
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
                for d in deps.split_whitespace() {
                    // Never more pending than could be enabled.
                    if pending.len() >= A2ENMOD_DEPENDS {
                        over = true;
                        break;
                    }
                    pending.push(d.to_string());
                }
            }
        }
        let enabled_load = PathBuf::from(format!("/etc/apache2/mods-enabled/{m}.load"));
        if root.kind(&enabled_load).is_some() && !ours(root, layer, &enabled_load) {
            continue;
        }
        if !link(
            root,
            layer,
            &enabled_load,
            Path::new(&format!("../mods-available/{m}.load")),
        ) {
            continue;
        }
        let conf = PathBuf::from(format!("/etc/apache2/mods-available/{m}.conf"));
        if read(root, &conf).is_some() {
            link(
                root,
                layer,
                Path::new(&format!("/etc/apache2/mods-enabled/{m}.conf")),
                Path::new(&format!("../mods-available/{m}.conf")),
            );
        }
        enabled.push(m);
    }
    let over = if over {
        format!(
            " ({}; the rest is not modelled)",
            budget::exceeded("A2ENMOD_DEPENDS", A2ENMOD_DEPENDS)
        )
    } else {
        String::new()
    };
    if enabled.is_empty() {
        return (!over.is_empty()).then(|| format!("postinst `apache2_invoke enmod`:{over}"));
    }
    Some(format!(
        "postinst `apache2_invoke enmod`: Apache module{} {} enabled{over}",
        if enabled.len() > 1 { "s" } else { "" },
        enabled.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_variables_expand() {
        let script = "for dsoname in mbstring  iconv; do\n php_invoke enmod 8.2 ALL ${dsoname}\ndone\nfor conf in security2  ; do\n apache2_invoke enmod $conf || exit 1\ndone\n";
        assert_eq!(
            calls(script, PHP_ENMOD, 10),
            vec![["8.2", "ALL", "mbstring"], ["8.2", "ALL", "iconv"]]
        );
        assert_eq!(calls(script, APACHE_ENMOD, 10), vec![["security2"]]);
        assert_eq!(calls(script, PHP_ENMOD, 1).len(), 1);
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
        let mut root = Root::with_overlays(r.path(), &[l.path().to_path_buf()]).unwrap();
        let before = walk(l.path());
        let notes = enable(
            &mut root,
            0,
            "php_invoke enmod 8.2 ALL mbstring\napache2_invoke enmod security2\n",
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert_eq!(
            notes[0],
            "postinst `php_invoke enmod`: PHP 8.2 extension mbstring enabled for apache2 (conf.d/30-mbstring.ini)"
        );
        assert_eq!(
            notes[1],
            "postinst `apache2_invoke enmod`: Apache modules security2, unique_id enabled"
        );
        let target = |p: &str| root.read_link(Path::new(p));
        assert_eq!(
            target("/etc/php/8.2/apache2/conf.d/30-mbstring.ini"),
            Some(PathBuf::from("/etc/php/8.2/mods-available/mbstring.ini"))
        );
        assert_eq!(target("/etc/php/8.2/cli/conf.d/30-mbstring.ini"), None);
        assert_eq!(
            root.read(
                Path::new("/etc/php/8.2/apache2/conf.d/30-mbstring.ini"),
                100
            )
            .unwrap(),
            b"; priority=30\nextension=mbstring.so\n"
        );
        let (copy, _) = root
            .resolve(Path::new("/etc/php/8.2/mods-available/mbstring.ini"))
            .unwrap();
        assert_eq!(root.overlay_of(&copy), Some(0));
        assert_eq!(
            target("/etc/apache2/mods-enabled/security2.load"),
            Some(PathBuf::from("../mods-available/security2.load"))
        );
        assert_eq!(
            target("/etc/apache2/mods-enabled/unique_id.load"),
            Some(PathBuf::from("../mods-available/unique_id.load"))
        );
        // Data only: neither the package's directory nor the root changed.
        assert_eq!(walk(l.path()), before);
        assert!(
            !r.path()
                .join("etc/php/8.2/apache2/conf.d/30-mbstring.ini")
                .exists()
        );
    }

    /// Helper calls and `# Depends:` chains beyond their budgets are
    /// named in the notes, and what is modelled stays bounded.
    #[test]
    fn budgets_are_named() {
        let r = tempfile::tempdir().unwrap();
        let l = tempfile::tempdir().unwrap();
        let avail = l.path().join("etc/apache2/mods-available");
        std::fs::create_dir_all(&avail).unwrap();
        std::fs::create_dir_all(r.path().join("etc/apache2/mods-enabled")).unwrap();
        let names: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
        std::fs::write(
            avail.join("m.load"),
            format!("# Depends: {}\n", names.join(" ")),
        )
        .unwrap();
        for n in &names {
            std::fs::write(avail.join(format!("{n}.load")), "").unwrap();
        }
        let mut root = Root::with_overlays(r.path(), &[l.path().to_path_buf()]).unwrap();
        let notes = enable(&mut root, 0, "apache2_invoke enmod m\n");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("budget exceeded: A2ENMOD_DEPENDS (64)"),
            "{notes:?}"
        );
        let script: String = (0..300)
            .map(|i| format!("apache2_invoke enmod x{i}\n"))
            .collect();
        let notes = enable(&mut root, 0, &script);
        assert_eq!(
            notes.last().map(String::as_str),
            Some("postinst: budget exceeded: MAINTSCRIPT_CALLS (256); the rest is not modelled")
        );
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        walkdir::WalkDir::new(dir)
            .sort_by_file_name()
            .into_iter()
            .map(|e| e.unwrap().path().to_path_buf())
            .collect()
    }

    /// A package whose `mods-available/evil.ini` is a symlink to a file
    /// on this machine and whose `etc/apache2/mods-enabled` is a symlink to
    /// a directory on this machine: the links resolve inside the root, and
    /// the model writes nothing anywhere.
    #[test]
    fn package_symlinks_stay_inside_the_root() {
        let r = tempfile::tempdir().unwrap();
        let l = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("victim"), "victim").unwrap();
        for d in ["etc/php/8.2/apache2/conf.d", "etc/apache2/mods-available"] {
            std::fs::create_dir_all(r.path().join(d)).unwrap();
        }
        std::fs::create_dir_all(l.path().join("etc/php/8.2/mods-available")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("victim"),
            l.path().join("etc/php/8.2/mods-available/evil.ini"),
        )
        .unwrap();
        std::fs::create_dir_all(l.path().join("usr/share/php-evil/evil")).unwrap();
        std::fs::write(l.path().join("usr/share/php-evil/evil/evil.ini"), "x").unwrap();
        std::fs::create_dir_all(l.path().join("etc/apache2/mods-available")).unwrap();
        std::os::unix::fs::symlink(outside.path(), l.path().join("etc/apache2/mods-enabled"))
            .unwrap();
        std::fs::write(l.path().join("etc/apache2/mods-available/evil.load"), "x").unwrap();
        let mut root = Root::with_overlays(r.path(), &[l.path().to_path_buf()]).unwrap();
        let before = (walk(l.path()), walk(outside.path()));
        let notes = enable(
            &mut root,
            0,
            "php_invoke enmod 8.2 apache2 evil\napache2_invoke enmod evil\n",
        );
        assert_eq!((walk(l.path()), walk(outside.path())), before);
        assert_eq!(
            std::fs::read(outside.path().join("victim")).unwrap(),
            b"victim"
        );
        // The ini link dangles inside the root; the outside directory is
        // a missing one inside it, so mods-enabled cannot be made.
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("extension evil enabled for apache2"),
            "{notes:?}"
        );
        assert!(
            root.overlay_errors()
                .iter()
                .any(|(p, _)| p == Path::new("/etc/apache2/mods-enabled/evil.load")),
            "{:?}",
            root.overlay_errors()
        );
    }
}
