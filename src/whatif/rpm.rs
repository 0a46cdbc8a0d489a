//! The pre-upgrade what-if of an RPM-based host (`scan --overlay-rpm`):
//! the root as `rpm -U` (what `dnf upgrade` runs) would leave it once the
//! packages are installed, so that `dnf download` and soclash answer
//! "will this upgrade break the web server?" on RHEL as `--overlay-deb`
//! does on Debian.
//!
//! Modelled besides unpacking:
//!
//! - dependencies: each package's `Requires` against the root's rpm
//!   database and the what-if's packages
//!   ([`crate::host::packages::requires`]); what is missing is named, and
//!   the what-if is incomplete unless the caller chose to go on;
//! - replacement: a package of the name (and architecture, or `noarch`)
//!   of an installed one takes its place; the files the installed version
//!   lists that no package of the what-if lists are removed, as `rpm -U`
//!   erases them, unless another installed package lists them too, or
//!   they are directories (rpm removes only empty ones);
//! - the ld.so cache: rebuilt after the install when a package's `%post`
//!   runs ldconfig, or when a file trigger that runs it (glibc's
//!   `%transfiletriggerin` on `/lib /usr/lib /lib64 /usr/lib64`, of an
//!   installed package or one of the what-if) matches a file a package
//!   of the what-if installs.
//!
//! Not modelled, and said so with the verdict: the `%pre`, `%post`,
//! `%pretrans`, `%posttrans` scriptlets and triggers (what they enable or
//! write is not seen: a module a scriptlet enables stays disabled here),
//! `%config(noreplace)` files the host changed (the package's version is
//! audited), and `Obsoletes` (an obsoleted package stays).

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use super::{Overlaid, OverlayError, check_dirs};
use crate::budget::{self, WHATIF_REMOVALS};
use crate::host::packages::requires::{self, Candidate};
use crate::host::packages::{InstalledRpm, Package, installed_rpms};
use crate::root::deb;
use crate::root::rpm::{self, RpmPackage};
use crate::root::{Root, Virtual};

/// Lays `dirs`, then the packages `rpms` (unpacked into soclash's private
/// temporary directory, never by rpm), over the root at `root_dir`, and
/// models what rpm does besides unpacking (see the module's
/// documentation).
pub fn overlaid_rpm(
    root_dir: &Path,
    dirs: &[PathBuf],
    rpms: &[PathBuf],
) -> Result<Overlaid, OverlayError> {
    check_dirs(dirs)?;
    let lay = |error| OverlayError::Lay {
        root: root_dir.to_path_buf(),
        error,
    };
    let base = Root::new(root_dir).map_err(lay)?;
    let scratch = crate::root::scratch::Scratch::new().map_err(OverlayError::Scratch)?;
    let mut all = dirs.to_vec();
    let mut packages = Vec::new();
    let mut totals = deb::Unpacked::default();
    for (i, file) in rpms.iter().enumerate() {
        let dest = scratch.path().join(i.to_string());
        let cannot = |error: rpm::RpmError| OverlayError::UnpackRpm {
            rpm: file.clone(),
            error,
        };
        {
            let _w = crate::root::scratch::writing().map_err(|e| cannot(e.into()))?;
            std::fs::create_dir(&dest).map_err(|e| cannot(e.into()))?;
        }
        packages.push(rpm::unpack(file, &dest, &mut totals).map_err(cannot)?);
        all.push(dest);
    }
    let mut unmet = Vec::new();
    let installed = installed_rpms(&base).unwrap_or_else(|why| {
        unmet.push(format!("{why}: no Requires checked"));
        Vec::new()
    });
    let mut root = Root::with_overlays(root_dir, &all).map_err(lay)?;
    let listed_by_any: HashSet<&str> = packages
        .iter()
        .flat_map(|p| p.files.iter().map(String::as_str))
        .collect();
    let mut replaced_all: Vec<&InstalledRpm> = Vec::new();
    let mut layers: Vec<(String, Option<Package>)> = dirs
        .iter()
        .map(|d| (d.display().to_string(), None))
        .collect();
    for (i, (file, p)) in rpms.iter().zip(&packages).enumerate() {
        let layer = dirs.len() + i;
        for (path, why) in &p.left_out {
            root.add_overlay_error(
                PathBuf::from(format!("{}: {path}", file.display())),
                format!("package entry left out: {why}"),
            );
        }
        let mut label = format!("{} ({} {})", file.display(), p.name, p.evr);
        let old = replaced(&installed, p);
        for o in &old {
            label.push_str("; ");
            label.push_str(&replace(&mut root, layer, &installed, o, &listed_by_any));
        }
        replaced_all.extend(old);
        layers.push((
            label,
            Some(Package {
                name: p.name.clone(),
                version: p.evr.clone(),
            }),
        ));
    }
    let mut notes = Vec::new();
    if let Some(why) = ldconfig_runs(&installed, &replaced_all, &packages) {
        root.rebuild_ld_cache();
        notes.push(format!(
            "/etc/ld.so.cache as ldconfig rebuilds it after the install ({why})"
        ));
    }
    let present: Vec<Candidate> = installed
        .iter()
        .filter(|i| !replaced_all.iter().any(|r| std::ptr::eq(*r, *i)))
        .map(|i| Candidate {
            name: i.name.clone(),
            provides: i.provides.clone(),
            requires: Vec::new(),
            files: i.files.clone(),
        })
        .collect();
    let whatif: Vec<Candidate> = packages
        .iter()
        .map(|p| Candidate {
            name: p.name.clone(),
            provides: p.provides.clone(),
            requires: p.requires.clone(),
            files: p.files.iter().cloned().collect(),
        })
        .collect();
    let system = |kind: &str, name: &str| names_in(&base, kind, name);
    unmet.extend(requires::unmet(&present, &whatif, &system));
    Ok(Overlaid {
        root,
        layers,
        unmet,
        notes,
        unmodelled: unmodelled(&packages),
        _unpacked: Some(scratch),
    })
}

/// What rpm runs that the what-if does not model, for the verdict.
fn unmodelled(packages: &[RpmPackage]) -> Vec<String> {
    let with: Vec<String> = packages
        .iter()
        .filter(|p| !p.scriptlets.is_empty())
        .map(|p| format!("{} ({})", p.name, p.scriptlets.join(", ")))
        .collect();
    let mut out = vec![
        "rpm's %pre/%post scriptlets and triggers are not modelled: what they enable or write (a module turned on, a configuration changed) is not seen, nor %config(noreplace) files changed on the host, nor Obsoletes".to_string(),
    ];
    if !with.is_empty() {
        out.push(format!("packages with scriptlets: {}", with.join(", ")));
    }
    out
}

/// The installed packages `p` replaces: the same name, and the same
/// architecture or either `noarch` (rpm -U leaves another architecture
/// of a multilib package installed).
fn replaced<'a>(installed: &'a [InstalledRpm], p: &RpmPackage) -> Vec<&'a InstalledRpm> {
    installed
        .iter()
        .filter(|i| {
            i.name == p.name && (i.arch == p.arch || i.arch == "noarch" || p.arch == "noarch")
        })
        .collect()
}

/// Removes from the what-if, in layer `layer`, the files of the installed
/// `old` that no package of the what-if lists, nor another installed
/// package, except directories: what `rpm -U` erases of the old version.
/// Returns the layer's note.
fn replace(
    root: &mut Root,
    layer: usize,
    installed: &[InstalledRpm],
    old: &InstalledRpm,
    listed_by_any: &HashSet<&str>,
) -> String {
    let what = format!("replaces {} {}", old.name, old.evr);
    let mut gone: BTreeSet<&str> = BTreeSet::new();
    let mut over = false;
    for path in &old.files {
        if !path.starts_with('/') || listed_by_any.contains(path.as_str()) {
            continue;
        }
        if !super::removable(root, path) {
            continue;
        }
        if gone.len() >= WHATIF_REMOVALS {
            over = true;
            break;
        }
        gone.insert(path);
    }
    // A file another installed package lists stays (rpm counts its owners).
    for other in installed {
        if gone.is_empty() {
            break;
        }
        if std::ptr::eq(other, old) || other.name == old.name {
            continue;
        }
        for f in &other.files {
            gone.remove(f.as_str());
        }
    }
    let mut removed = 0usize;
    for path in gone {
        if root
            .lay_virtual(layer, Path::new(path), Virtual::Removed)
            .is_ok()
        {
            removed += 1;
        }
    }
    let mut note = match removed {
        0 => what,
        1 => format!("{what}: 1 file it no longer ships removed"),
        n => format!("{what}: {n} files it no longer ships removed"),
    };
    if over {
        note.push_str(&format!(
            " ({}: the rest kept)",
            budget::exceeded("WHATIF_REMOVALS", WHATIF_REMOVALS)
        ));
    }
    note
}

/// Why ldconfig rebuilds the cache after the install, if it does: a
/// package's `%post` runs it, or a file trigger that runs it (of an
/// installed package that stays, or of the what-if) covers a file a
/// package of the what-if installs.
fn ldconfig_runs(
    installed: &[InstalledRpm],
    replaced: &[&InstalledRpm],
    packages: &[RpmPackage],
) -> Option<String> {
    if let Some(p) = packages.iter().find(|p| p.runs_ldconfig) {
        return Some(format!("{}'s %post runs it", p.name));
    }
    let triggers = installed
        .iter()
        .filter(|i| !replaced.iter().any(|r| std::ptr::eq(*r, *i)))
        .map(|i| (&i.name, &i.ldconfig_triggers))
        .chain(packages.iter().map(|p| (&p.name, &p.ldconfig_triggers)));
    for (owner, prefixes) in triggers {
        for prefix in prefixes {
            let under = |f: &String| {
                f.strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.starts_with('/') || prefix.ends_with('/'))
            };
            if let Some(p) = packages.iter().find(|p| p.files.iter().any(under)) {
                return Some(format!(
                    "{owner}'s file trigger on {prefix}, for {}'s files",
                    p.name
                ));
            }
        }
    }
    None
}

/// Whether the root's `/etc/passwd` (`user`) or `/etc/group` (`group`)
/// has an entry `name`.
fn names_in(root: &Root, kind: &str, name: &str) -> bool {
    let file = if kind == "user" {
        "/etc/passwd"
    } else {
        "/etc/group"
    };
    root.read(Path::new(file), budget::named!(SMALL_FILE))
        .is_ok_and(|text| {
            text.split(|&b| b == b'\n')
                .any(|l| l.split(|&b| b == b':').next() == Some(name.as_bytes()))
        })
}
