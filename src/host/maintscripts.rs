//! What installing a Debian package would enable, for `scan
//! --overlay-deb`: a what-if must model the package as `apt install` leaves
//! it, and Debian's web-stack packages enable themselves from their
//! `postinst` with standard helpers, in every form dh_php and dh_apache2
//! write them and maintainers call them:
//!
//! - `php_invoke enmod VERSION SAPI NAME` (dh_php, php-maintscript-helper),
//!   VERSION and SAPI each a name or `ALL`, and `phpenmod [-v VERSION]
//!   [-s SAPI] NAME...` (both `ALL` when not given): for each version
//!   (`ALL`: phpquery's, the `/usr/lib/php/X.Y` directories) and SAPI
//!   (`ALL`: phpquery's, the entries of `/usr/lib/php/VERSION/sapi`, or,
//!   in a root without that registry, the SAPIs whose `conf.d` exists),
//!   links `/etc/php/VERSION/SAPI/conf.d/PRIORITY-NAME.ini` to
//!   `mods-available/NAME.ini`. For `php_invoke`, when the package's
//!   postinst has ucf put the shipped `/usr/share/PACKAGE/NAME/NAME.ini` in
//!   `mods-available` (php-src's extensions) that copy is made first;
//!   `phpenmod` needs the ini there;
//! - `apache2_invoke enmod|enconf|ensite NAME` (dh_apache2,
//!   apache2-maintscript-helper) and `a2enmod`, `a2enconf`, `a2ensite`
//!   called directly: `mods-enabled/NAME.load` (and `.conf`), with the
//!   modules its `# Depends:` line names; `conf-enabled/NAME.conf`;
//!   `sites-enabled/NAME.conf`.
//!
//! The helpers in maintainer mode (`php_invoke`, `apache2_invoke`, or an
//! `-m` flag) leave alone what the administrator disabled (their
//! `disabled_by_admin` state files). soclash never runs the script: it
//! recognises these helper calls in its text, at a command's place (line
//! start, after `;`, `&&`, `||`, `!`, `if`, `then`, `do`, `else`), each argument a
//! literal or the variable of a `for VAR in WORDS; do` loop (every
//! combination of nested loops' words), and lays what they would make
//! onto the overlaid root as data ([`Root::lay_virtual`]: links, and ucf's
//! copy as a file whose content is the shipped one), with the package's
//! layer, so nothing is written anywhere. Both branches of an `if` are
//! modelled (dh_php calls `php_invoke` when the helper is there and
//! `phpenmod` when not): the second makes nothing the first did not. Every
//! read goes through the overlaid root (the host with every package of
//! the what-if unpacked, as apt unpacks all before configuring any), so a
//! package's symlinks resolve inside the audited root, never on this
//! machine. Any other postinst effect is not modelled.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use regex::Regex;

use crate::budget::{self, A2ENMOD_DEPENDS, MAINTSCRIPT_CALLS};
use crate::root::{Kind, Root, Virtual};

/// A helper at a command's place, and the rest of its command.
const COMMAND: &str = r"(?m)(?:^|[;&|(){}!]|\b(?:then|do|else|if|elif|while|until)\b)[ \t]*(php_invoke|phpenmod|apache2_invoke|a2enmod|a2enconf|a2ensite)[ \t]+([^;&|\n#)]*)";

/// One helper call, its arguments expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Php {
        helper: &'static str,
        version: String,
        sapi: String,
        name: String,
        /// Maintainer mode: what the administrator disabled stays so.
        maint: bool,
        /// The postinst's ucf puts the shipped ini in `mods-available`.
        ucf: bool,
    },
    Apache {
        helper: &'static str,
        what: Apache,
        name: String,
        maint: bool,
    },
}

/// What an Apache helper enables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Apache {
    Module,
    Conf,
    Site,
}

impl Apache {
    /// (available dir, enabled dir, file suffix, state dir, noun).
    fn dirs(
        self,
    ) -> (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ) {
        match self {
            Apache::Module => (
                "mods-available",
                "mods-enabled",
                ".load",
                "module",
                "module",
            ),
            Apache::Conf => (
                "conf-available",
                "conf-enabled",
                ".conf",
                "conf",
                "configuration",
            ),
            Apache::Site => ("sites-available", "sites-enabled", ".conf", "site", "site"),
        }
    }
}

/// Lays onto `root` (overlaid with every package of the what-if) what the
/// helper calls of `postinst`, the script of the package in overlay
/// `layer`, would enable, and says what in one line each.
pub fn enable(root: &mut Root, layer: usize, postinst: &str) -> Vec<String> {
    let mut notes = Vec::new();
    let calls = calls(postinst, MAINTSCRIPT_CALLS + 1);
    let over = calls.len() > MAINTSCRIPT_CALLS;
    for call in calls.into_iter().take(MAINTSCRIPT_CALLS) {
        notes.extend(match call {
            Call::Php {
                helper,
                version,
                sapi,
                name,
                maint,
                ucf,
            } => php_enmod(root, layer, helper, (&version, &sapi, &name), maint, ucf),
            Call::Apache {
                helper,
                what: Apache::Module,
                name,
                maint,
            } => a2enmod(root, layer, helper, &name, maint)
                .into_iter()
                .collect(),
            Call::Apache {
                helper,
                what,
                name,
                maint,
            } => a2en(root, layer, helper, what, &name, maint)
                .into_iter()
                .collect(),
        });
    }
    if over {
        notes.push(format!(
            "postinst: {}; the rest is not modelled",
            budget::exceeded("MAINTSCRIPT_CALLS", MAINTSCRIPT_CALLS)
        ));
    }
    notes
}

/// Whether `postinst` runs `ldconfig` itself (what debhelper wrote before
/// the trigger, and some maintainers still do).
pub fn runs_ldconfig(postinst: &str) -> bool {
    Regex::new(r"(?m)(?:^|[;&|]|\bthen\b|\bdo\b)[ \t]*(?:/sbin/)?ldconfig\b[ \t]*(?:$|[;&|])")
        .is_ok_and(|re| re.is_match(postinst))
}

/// The helper calls of `script`, every argument that is a loop's
/// variable expanded; at most `most`.
fn calls(script: &str, most: usize) -> Vec<Call> {
    let Ok(command) = Regex::new(COMMAND) else {
        return Vec::new();
    };
    let loops = loops(script);
    let mut out = Vec::new();
    for c in command.captures_iter(script) {
        let (Some(helper), Some(rest)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let words: Vec<&str> = rest.as_str().split_whitespace().collect();
        for args in expand(&loops, &words, most.saturating_sub(out.len())) {
            out.extend(call(helper.as_str(), &args));
            if out.len() >= most {
                out.truncate(most);
                return out;
            }
        }
    }
    out
}

/// The call a helper's (expanded) arguments make, one per module name.
fn call(helper: &str, args: &[String]) -> Vec<Call> {
    let apache = |w: &str| match w {
        "enmod" => Some(Apache::Module),
        "enconf" => Some(Apache::Conf),
        "ensite" => Some(Apache::Site),
        _ => None,
    };
    match (helper, args) {
        ("php_invoke", [cmd, version, sapi, name]) if cmd == "enmod" => vec![Call::Php {
            helper: "php_invoke enmod",
            version: version.clone(),
            sapi: sapi.clone(),
            name: name.clone(),
            maint: true,
            ucf: true,
        }],
        ("apache2_invoke", [cmd, name]) => apache(cmd)
            .map(|what| Call::Apache {
                helper: match what {
                    Apache::Module => "apache2_invoke enmod",
                    Apache::Conf => "apache2_invoke enconf",
                    Apache::Site => "apache2_invoke ensite",
                },
                what,
                name: name.clone(),
                maint: true,
            })
            .into_iter()
            .collect(),
        ("phpenmod", _) => {
            let (mut version, mut sapi, mut maint) = ("ALL".to_string(), "ALL".to_string(), false);
            let mut names = Vec::new();
            let mut it = args.iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "-v" => version = it.next().cloned().unwrap_or_default(),
                    "-s" => sapi = it.next().cloned().unwrap_or_default(),
                    "-m" => maint = true,
                    f if f.starts_with('-') => {}
                    n => names.push(n.to_string()),
                }
            }
            names
                .into_iter()
                .map(|name| Call::Php {
                    helper: "phpenmod",
                    version: version.clone(),
                    sapi: sapi.clone(),
                    name,
                    maint,
                    ucf: false,
                })
                .collect()
        }
        ("a2enmod" | "a2enconf" | "a2ensite", _) => {
            let (what, helper) = match helper {
                "a2enmod" => (Apache::Module, "a2enmod"),
                "a2enconf" => (Apache::Conf, "a2enconf"),
                _ => (Apache::Site, "a2ensite"),
            };
            let maint = args.iter().any(|a| a == "-m");
            args.iter()
                .filter(|a| !a.starts_with('-'))
                .map(|name| Call::Apache {
                    helper,
                    what,
                    name: name.clone(),
                    maint,
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The words of each `for VAR in WORDS` loop by VAR (the first loop of
/// a name), found in one pass: a script of many calls must not be
/// searched once per call.
fn loops(script: &str) -> HashMap<&str, Vec<&str>> {
    let mut out = HashMap::new();
    let Ok(re) = Regex::new(r"for\s+(\S+)\s+in\s+([^;\n]*)") else {
        return out;
    };
    for c in re.captures_iter(script) {
        if let (Some(var), Some(words)) = (c.get(1), c.get(2)) {
            out.entry(var.as_str()).or_insert_with(|| {
                words
                    .as_str()
                    .split_whitespace()
                    .map(|w| w.trim_matches(['"', '\'']))
                    .filter(|w| !w.is_empty() && !w.contains(['$', '`', '*', '?']))
                    .take(MAINTSCRIPT_CALLS + 1)
                    .collect()
            });
        }
    }
    out
}

/// Every combination of the words' values (`$v`, `${v}`, `"$v"` are a
/// loop variable's words; other words themselves), at most `most`; a
/// word that names no loop, or is any other expansion, makes none.
fn expand(loops: &HashMap<&str, Vec<&str>>, words: &[&str], most: usize) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![Vec::new()];
    for w in words {
        let w = w.trim_matches(['"', '\'']);
        let values: Vec<&str> = match w.strip_prefix('$') {
            Some(var) => {
                let var = var
                    .strip_prefix('{')
                    .and_then(|v| v.strip_suffix('}'))
                    .unwrap_or(var);
                match loops.get(var) {
                    Some(words) => words.clone(),
                    None => return Vec::new(),
                }
            }
            None if w.contains(['$', '`']) => return Vec::new(),
            None => vec![w],
        };
        let mut next = Vec::new();
        'all: for prefix in &out {
            for v in &values {
                if next.len() >= most {
                    break 'all;
                }
                let mut args = prefix.clone();
                args.push(v.to_string());
                next.push(args);
            }
        }
        out = next;
    }
    out
}

/// A file as the system would have it after install.
fn read(root: &Root, inner: &Path) -> Option<Vec<u8>> {
    root.read(inner, budget::named!(MAINTSCRIPT_FILE)).ok()
}

/// What `ln -s` of a helper did.
#[derive(Debug, PartialEq, Eq)]
enum Linked {
    Made,
    /// There already (the host's, or an earlier call's of this package).
    There,
    Failed,
}

/// `ln -s target inner`, unless something is there already.
fn link(root: &mut Root, layer: usize, inner: &Path, target: &Path) -> Linked {
    if root.symlink_kind(inner).is_some() {
        return Linked::There;
    }
    match root.lay_virtual(layer, inner, Virtual::Link(target.to_path_buf())) {
        Ok(()) => Linked::Made,
        Err(_) => Linked::Failed,
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

/// The names in a directory of the overlaid root, sorted.
fn names(root: &Root, dir: &Path) -> Vec<String> {
    root.read_dir(dir)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|n| n.into_string().ok())
        .filter(|n| safe_name(n))
        .collect()
}

/// phpquery's versions: `/usr/lib/php/X.Y` (a name ending in digit, dot,
/// digit).
fn php_versions(root: &Root) -> Vec<String> {
    names(root, Path::new("/usr/lib/php"))
        .into_iter()
        .filter(|n| {
            let b = n.as_bytes();
            b.len() >= 3 && {
                let t = &b[b.len() - 3..];
                t[0].is_ascii_digit() && t[1] == b'.' && t[2].is_ascii_digit()
            }
        })
        .collect()
}

/// phpquery's SAPIs of a version: `/usr/lib/php/VERSION/sapi`'s entries;
/// in a root without that registry, those whose `conf.d` exists.
fn php_sapis(root: &Root, version: &str, etc: &Path) -> Vec<String> {
    let registry = PathBuf::from(format!("/usr/lib/php/{version}/sapi"));
    if root.is_dir(&registry) {
        return names(root, &registry);
    }
    names(root, etc)
        .into_iter()
        .filter(|n| n != "mods-available" && root.is_dir(&etc.join(n).join("conf.d")))
        .collect()
}

fn php_enmod(
    root: &mut Root,
    layer: usize,
    helper: &str,
    (version, sapi, name): (&str, &str, &str),
    maint: bool,
    ucf: bool,
) -> Vec<String> {
    if !safe_name(version) || !safe_name(name) || !safe_name(sapi) {
        return Vec::new();
    }
    let versions = if version == "ALL" {
        php_versions(root)
    } else {
        vec![version.to_string()]
    };
    let mut notes = Vec::new();
    for version in versions {
        let etc = PathBuf::from(format!("/etc/php/{version}"));
        let available = etc.join("mods-available").join(format!("{name}.ini"));
        // ucf installs the shipped ini as the conffile unless one exists.
        let ini = match read(root, &available) {
            Some(text) => text,
            None if ucf => {
                let Some((shipped, text)) = shipped_ini(root, layer, name) else {
                    continue;
                };
                if root
                    .lay_virtual(layer, &available, Virtual::Copy(shipped))
                    .is_err()
                {
                    continue;
                }
                text
            }
            None => continue,
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
        let sapis = if sapi == "ALL" {
            php_sapis(root, &version, &etc)
        } else {
            vec![sapi.to_string()]
        };
        let mut enabled = Vec::new();
        for s in sapis {
            let state = format!("/var/lib/php/modules/{version}/{s}/disabled_by_admin/{name}");
            if maint && root.kind(Path::new(&state)).is_some() {
                continue;
            }
            let conf = etc
                .join(&s)
                .join("conf.d")
                .join(format!("{priority}-{name}.ini"));
            if link(root, layer, &conf, &available) == Linked::Made {
                enabled.push(s);
            }
        }
        if !enabled.is_empty() {
            notes.push(format!(
                "postinst `{helper}`: PHP {version} extension {name} enabled for {} (conf.d/{priority}-{name}.ini)",
                enabled.join(", ")
            ));
        }
    }
    notes
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

/// `a2enconf NAME` / `a2ensite NAME`: one link, if the file is available.
fn a2en(
    root: &mut Root,
    layer: usize,
    helper: &str,
    what: Apache,
    name: &str,
    maint: bool,
) -> Option<String> {
    let (available, enabled, suffix, state, noun) = what.dirs();
    if !safe_name(name) {
        return None;
    }
    let file = format!("{name}{suffix}");
    read(root, &Path::new("/etc/apache2").join(available).join(&file))?;
    let disabled = format!("/var/lib/apache2/{state}/disabled_by_admin/{name}");
    if maint && root.kind(Path::new(&disabled)).is_some() {
        return None;
    }
    let at = Path::new("/etc/apache2").join(enabled).join(&file);
    let target = Path::new("..").join(available).join(&file);
    (link(root, layer, &at, &target) == Linked::Made)
        .then(|| format!("postinst `{helper}`: Apache {noun} {name} enabled"))
}

fn a2enmod(root: &mut Root, layer: usize, helper: &str, name: &str, maint: bool) -> Option<String> {
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
        if maint
            && root
                .kind(Path::new(&format!(
                    "/var/lib/apache2/module/disabled_by_admin/{m}"
                )))
                .is_some()
        {
            continue;
        }
        for l in String::from_utf8_lossy(&load).lines() {
            if let Some(deps) = l.trim().strip_prefix("# Depends:") {
                for d in deps.split([' ', ',']).filter(|d| !d.is_empty()) {
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
        if link(
            root,
            layer,
            &enabled_load,
            Path::new(&format!("../mods-available/{m}.load")),
        ) != Linked::Made
        {
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
        return (!over.is_empty()).then(|| format!("postinst `{helper}`:{over}"));
    }
    Some(format!(
        "postinst `{helper}`: Apache module{} {} enabled{over}",
        if enabled.len() > 1 { "s" } else { "" },
        enabled.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn php(helper: &'static str, v: &str, s: &str, n: &str, maint: bool, ucf: bool) -> Call {
        Call::Php {
            helper,
            version: v.into(),
            sapi: s.into(),
            name: n.into(),
            maint,
            ucf,
        }
    }

    fn apache(helper: &'static str, what: Apache, n: &str, maint: bool) -> Call {
        Call::Apache {
            helper,
            what,
            name: n.into(),
            maint,
        }
    }

    /// php8.2-imagick 3.7.0-4's postinst as Debian ships it: dh_php's
    /// nested loops over versions and names, quoted, then `phpenmod` in
    /// the branch for a host without the helper.
    const IMAGICK_POSTINST: &str = "#!/bin/sh\nset -e\n# Automatically added by dh_php/UNDECLARED\n\nif [ -e /usr/lib/php/php-maintscript-helper ] ; then\n    . /usr/lib/php/php-maintscript-helper\n    \n    for version in 8.2 ; do\n        for name in imagick ; do\n            php_invoke enmod \"$version\" ALL \"$name\" || exit 1\n\tdone\n    done\nelse\n    for name in imagick ; do\n        phpenmod \"$name\"\n    done\nfi\n";

    #[test]
    fn every_form_of_the_helpers() {
        let pi = "php_invoke enmod";
        assert_eq!(
            calls(IMAGICK_POSTINST, 10),
            vec![
                php(pi, "8.2", "ALL", "imagick", true, true),
                php("phpenmod", "ALL", "ALL", "imagick", false, false),
            ]
        );
        let script = "for dsoname in mbstring  iconv; do\n php_invoke enmod 8.2 ALL ${dsoname}\ndone\nfor conf in security2  ; do\n apache2_invoke enmod $conf || exit 1\ndone\n";
        assert_eq!(
            calls(script, 10),
            vec![
                php(pi, "8.2", "ALL", "mbstring", true, true),
                php(pi, "8.2", "ALL", "iconv", true, true),
                apache("apache2_invoke enmod", Apache::Module, "security2", true),
            ]
        );
        assert_eq!(calls(script, 1).len(), 1);
        // Nested loops: every combination, within the bound.
        let nested =
            "for v in 7.4 8.2; do for n in a b c; do php_invoke enmod $v cli $n; done; done\n";
        assert_eq!(calls(nested, 100).len(), 6);
        assert_eq!(calls(nested, 4).len(), 4);
        let direct = "if true; then a2enmod -q security2 headers; fi\nif ! apache2_invoke enconf javascript-common; then exit 1; fi\na2ensite -m default-ssl && phpenmod -v 8.2 -s apache2 -m x y\n[ -x /usr/sbin/phpenmod ] || true\necho a2enmod nothing\n# a2enmod comment\nphp_invoke dismod 8.2 ALL x\nphp_invoke enmod 8.2 ALL $unknown\n";
        assert_eq!(
            calls(direct, 100),
            vec![
                apache("a2enmod", Apache::Module, "security2", false),
                apache("a2enmod", Apache::Module, "headers", false),
                apache(
                    "apache2_invoke enconf",
                    Apache::Conf,
                    "javascript-common",
                    true
                ),
                apache("a2ensite", Apache::Site, "default-ssl", true),
                php("phpenmod", "8.2", "apache2", "x", true, false),
                php("phpenmod", "8.2", "apache2", "y", true, false),
            ]
        );
        assert!(runs_ldconfig(
            "set -e\nif [ \"$1\" = configure ]; then\n\tldconfig\nfi\n"
        ));
        assert!(runs_ldconfig("/sbin/ldconfig\n"));
        assert!(!runs_ldconfig(
            "# ldconfig is run by the trigger\necho ldconfig-x\n"
        ));
    }

    /// The imagick postinst on a root with PHP 8.2's apache2 and cli SAPIs
    /// registered: both enabled once (the `phpenmod` branch adds nothing),
    /// from the ini the package ships in `mods-available`.
    #[test]
    fn imagick_is_enabled_for_every_sapi() {
        let r = tempfile::tempdir().unwrap();
        let l = tempfile::tempdir().unwrap();
        for d in [
            "etc/php/8.2/apache2/conf.d",
            "etc/php/8.2/cli/conf.d",
            "etc/php/8.2/mods-available",
            "usr/lib/php/8.2/sapi",
            "usr/lib/php/20220829",
        ] {
            std::fs::create_dir_all(r.path().join(d)).unwrap();
        }
        for s in ["apache2", "cli"] {
            std::fs::write(r.path().join("usr/lib/php/8.2/sapi").join(s), "").unwrap();
        }
        std::fs::create_dir_all(l.path().join("etc/php/8.2/mods-available")).unwrap();
        std::fs::write(
            l.path().join("etc/php/8.2/mods-available/imagick.ini"),
            "; priority=20\nextension=imagick.so\n",
        )
        .unwrap();
        let mut root = Root::with_overlays(r.path(), &[l.path().to_path_buf()]).unwrap();
        let notes = enable(&mut root, 0, IMAGICK_POSTINST);
        assert_eq!(
            notes,
            vec![
                "postinst `php_invoke enmod`: PHP 8.2 extension imagick enabled for apache2, cli (conf.d/20-imagick.ini)"
            ]
        );
        for s in ["apache2", "cli"] {
            assert_eq!(
                root.read_link(Path::new(&format!(
                    "/etc/php/8.2/{s}/conf.d/20-imagick.ini"
                ))),
                Some(PathBuf::from("/etc/php/8.2/mods-available/imagick.ini"))
            );
        }
        // `ALL` versions: phpquery's, the /usr/lib/php/X.Y directories.
        assert_eq!(php_versions(&root), vec!["8.2"]);
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
